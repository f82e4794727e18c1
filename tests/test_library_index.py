"""The library's index (issue 22): rows derived from the files match them after any writes, kills and damage;
several writers; a deleted or damaged index is rebuilt; the filter; the library screen over it at 80x24."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reader.annotations import AnnotationError
from reader.documents import make_document
from reader.library import Library, Query, Search, parse_filter
from reader.store import Store
from reader.store.index import INDEX_FILE
from reader.ui.app import ReaderApp
from reader.ui.screens.library import LibraryScreen
from reader.ui.screens.reading import ReadingScreen
from reader.workspace import Workspace
from tests.test_stats import synthetic_analysis

NARROW = (80, 24)
TEXTS = [f"Article {i} sur Paris. La ministre parle à Lyon. Kim Jong-un répond {i}." for i in range(6)]


MODEL_ENTITIES = (("Paris", "LOC"), ("Lyon", "LOC"), ("Kim Jong-un", "PER"))


def add(ws: Workspace, n: int, **meta) -> str:
    doc = make_document(TEXTS[n], {"title": f"Titre {n}", "date": f"2026-0{n + 1}-01", "source": f"{n}.txt", **meta})
    ws.add_documents([doc])
    analysis = synthetic_analysis(doc.text)
    analysis["entities"] = [[doc.text.index(s), doc.text.index(s) + len(s), label] for s, label in MODEL_ENTITIES]
    ws.store.cache_analysis(doc.id, ws.cache_key(doc), analysis)
    return doc.id


SEARCHES = [Search("paris"), Search('"la ministre"'), Search("pourquoi", notes=True), Search(labels=("event",)),
            Search(labels=("claim",), annotator="bob"), Search(keys=("kim jong un",)), Search(keys=("lyon",))]


def everything(library: Library, annotator: str) -> tuple:
    """What the library shows: rows, every search's hits and count, and the entities."""
    return (library.rows(Query(annotator, "source", all_versions=True)),
            library.rows(Query(annotator, "source", conflicts=True)),
            [(library.search(s), library.search_count(s)) for s in SEARCHES],
            library.entities(), library.entity_count())


def rows(root: Path, annotator: str) -> list:
    """Every row a fresh index of the same files gives: what the kept index must show."""
    fresh = root.parent / f"{root.name}-fresh"
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.copytree(root, fresh, ignore=shutil.ignore_patterns(".lock", ".locks", f"{INDEX_FILE}*"))
    ws = Workspace.open(fresh, read_only=True, annotator=annotator)
    library = ws.library()
    library.sweep()
    found = everything(library, annotator)
    ws.close()
    return found


def listed(ws: Workspace, annotator: str) -> list:
    """What the library shows once it has checked every file's version, as the screen does after its first paint
    (a file damaged in place changes no folder's time): rows derived at each write must already be right, since
    the check derives again only the rows whose files' versions differ."""
    library = ws.library()
    library.refresh()
    library.sweep()
    return everything(library, annotator)


OPS = st.lists(st.tuples(st.sampled_from(["add", "tag", "untag", "done", "note", "other", "kill", "damage",
                                          "repair", "remove", "reject", "relabel", "entity"]),
                         st.integers(0, 5), st.integers(0, 2)), max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_the_index_matches_the_files_after_random_writes_kills_and_damage(tmp_path_factory, ops):
    root = tmp_path_factory.mktemp("store")
    ws = Workspace.open(root, annotator="alice")
    bob = Workspace.open(root, annotator="bob")  # a second writer, another process's store
    ids = [add(ws, 0)]
    kept: dict[Path, bytes] = {}
    for op, n, sentence in ops:
        doc_id = ids[n % len(ids)]
        session = ws.session(ws.document(doc_id))
        session.use_sentences(ws.sentences(doc_id))
        path = ws.store.annotation_path(doc_id, "alice")
        if op == "add" and n < len(TEXTS) and len(ids) < len(TEXTS):
            ids.append(add(ws, len(ids)))
        elif op in ("tag", "untag") and path not in kept:
            session.set_tag(sentence, "event", on=op == "tag")
        elif op == "done" and path not in kept:
            session.set_done(not session.done)
        elif op == "note" and path not in kept:
            start, end = session.sentences[sentence]
            session.add_note("sentence", start, end, "Pourquoi ? q")
        elif op in ("reject", "relabel", "entity") and path not in kept:
            doc = ws.document(doc_id)
            surface, label = MODEL_ENTITIES[sentence]
            start = doc.text.index(surface)
            predicted = {(start, start + len(surface)): label}
            tokens = [(m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", doc.text)]
            with contextlib.suppress(AnnotationError):
                if op == "entity":  # "Jong-un" alone, a span the model does not have
                    session.set_entity(start + 4, start + len(surface), "add", "PER", predicted=predicted,
                                       tokens=tokens)
                else:
                    session.set_entity(start, start + len(surface), op, "ORG" if op == "relabel" else None,
                                       predicted=predicted, tokens=tokens)
        elif op == "other":
            other = bob.session(bob.document(doc_id))
            other.use_sentences(bob.sentences(doc_id))
            other.set_tag(sentence, "claim", on=True)
        elif op == "kill" and path not in kept:  # a writer killed between its file and its row
            ws.store.watch(None)
            session.set_tag(sentence, "quote", on=True)
            ws.store.watch(ws.library())
        elif op == "damage" and path.exists() and path not in kept:
            kept[path] = path.read_bytes()
            path.write_bytes(b"{ not json")
        elif op == "repair" and kept:
            damaged, data = kept.popitem()
            tmp = damaged.with_suffix(".new")
            tmp.write_bytes(data)
            os.replace(tmp, damaged)  # as git checks a file out
        elif op == "remove" and len(ids) > 1 and n == 5:
            gone = ids.pop()
            (root / "documents" / f"{gone}.json").unlink()
        ws._sessions.clear()
        bob._sessions.clear()
    for name in ("alice", "bob"):
        assert listed(ws, name) == rows(root, name)
        assert listed(bob, name) == rows(root, name)
    ws.close()
    bob.close()


def test_a_kill_between_the_file_and_its_row_is_repaired_by_the_next_reader(tmp_path):
    ws = Workspace.open(tmp_path, annotator="alice")
    doc_id = add(ws, 0)
    ws.store.watch(None)  # the row is never derived: as if killed right after the file's rename
    session = ws.session(ws.document(doc_id))
    session.use_sentences(ws.sentences(doc_id))
    session.set_tag(0, "event", on=True)
    ws.close()
    again = Workspace.open(tmp_path, read_only=True, annotator="alice")
    assert again.store.index.marked(), "the mark made before the write is there"
    library = again.library()
    assert not library.index.marked()
    assert library.rows(Query("alice"))[0].tagged == 1


@pytest.mark.parametrize("damage", [None, b"", b"not a database at all" * 100])
def test_a_deleted_or_damaged_index_is_rebuilt_from_the_files(tmp_path, damage):
    ws = Workspace.open(tmp_path, annotator="alice")
    ids = [add(ws, n) for n in range(3)]
    session = ws.session(ws.document(ids[1]))
    session.use_sentences(ws.sentences(ids[1]))
    session.set_done(True)
    before = ws.library().rows(Query("alice"))
    ws.close()
    index = tmp_path / INDEX_FILE
    index.unlink()
    if damage is not None:
        index.write_bytes(damage)
    again = Workspace.open(tmp_path, read_only=True, annotator="alice")
    assert again.opening_ids() is None, "three documents: the library"
    assert again.library().rows(Query("alice")) == before
    assert [r.date for r in before] == ["2026-03-01", "2026-02-01", "2026-01-01"], "newest first"
    assert (tmp_path / ".gitignore").read_text().count(INDEX_FILE) == 1


def test_a_pull_that_replaces_files_is_seen_by_the_next_list(tmp_path):
    """git writes files beside the store's writers: its own index file's time says so."""
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "index").write_bytes(b"")
    store = tmp_path / "annotations-store"
    ws = Workspace.open(store, annotator="alice")
    doc_id = add(ws, 0)
    other = Workspace.open(store.parent / "elsewhere", annotator="alice")
    other.add_documents([ws.document(doc_id)])
    session = other.session(other.document(doc_id))
    session.use_sentences([(0, 21), (22, 47)])
    session.set_tag(1, "event", on=True)
    other.close()
    assert ws.library().rows(Query("alice"))[0].tagged == 0
    shutil.copy(store.parent / "elsewhere" / "annotations" / doc_id / "alice.json", tmp_path / "pulled")
    (store / "annotations" / doc_id).mkdir(parents=True, exist_ok=True)
    os.replace(tmp_path / "pulled", store / "annotations" / doc_id / "alice.json")
    os.utime(tmp_path / ".git" / "index", ns=(1, 1))  # the checkout rewrote git's index
    assert listed(ws, "alice")[0][0].tagged == 1
    ws.close()


def test_superseded_damaged_and_named_documents(tmp_path):
    ws = Workspace.open(tmp_path, annotator="alice")
    first = add(ws, 0)
    second = add(ws, 1, supersedes=first)
    third = add(ws, 2)
    library = ws.library()
    assert [r.doc_id for r in library.rows(Query("alice", "source"))] == [second, third]
    assert [r.doc_id for r in library.rows(Query("alice", "source", all_versions=True))] == [first, second, third]
    assert [r.doc_id for r in library.rows(Query("alice", ids=(third, first)))] == [third]
    path = tmp_path / "documents" / f"{third}.json"
    path.write_bytes(path.read_bytes()[:30])
    ws.close()
    library = Workspace.open(tmp_path, annotator="alice").library()
    library.sweep()
    assert [r.doc_id for r in library.rows(Query("alice"))] == [second]
    assert [(d, a) for d, a, _ in library.damaged()] == [(third, "")]


def test_the_filter_reads_words_labels_annotators_and_done(tmp_path):
    base = Query("alice")
    q = parse_filter('Kim "Jong-Un répond" label:claim by:bob todo', base)
    assert q.words == ("kim", "jong-un repond") and q.labels == ("claim",) and q.by == ("bob",)
    assert q.done is False and parse_filter("done", base).done is True
    ws = Workspace.open(tmp_path, annotator="alice")
    bob = Workspace.open(tmp_path, annotator="bob")
    ids = [add(ws, n, sitename="Le Monde" if n == 2 else "") for n in range(4)]
    session = bob.session(bob.document(ids[1]))
    session.use_sentences(bob.sentences(ids[1]))
    session.set_tag(0, "claim", on=True)
    mine = ws.session(ws.document(ids[3]))
    mine.use_sentences(ws.sentences(ids[3]))
    mine.set_done(True)
    library = ws.library()
    library.refresh()

    def found(text: str) -> set[str]:
        return {r.doc_id for r in library.rows(parse_filter(text, base))}

    assert found("titre 2") == {ids[2]} and found("le monde") == {ids[2]} and found("TITRÉ") == set(ids)
    assert found("label:claim") == {ids[1]} == found("by:bob") and found("by:alice") == {ids[3]}
    assert found("done") == {ids[3]} and found("todo") == set(ids[:3])
    assert found("100%") == set() and found("titre_") == set(), "LIKE's wildcards are text"
    assert library.count(parse_filter("todo", base)) == (3, 0)


def test_the_conflicts_filter_keeps_what_review_would_show(tmp_path):
    ws = Workspace.open(tmp_path, annotator="alice")
    bob = Workspace.open(tmp_path, annotator="bob")
    gold = Workspace.open(tmp_path, annotator="gold")
    first, second = add(ws, 0), add(ws, 1)
    library = ws.library()

    def conflicted() -> list[str]:
        library.refresh()
        return [r.doc_id for r in library.rows(parse_filter("conflicts", Query("alice")))]

    for who, label in ((ws, "event"), (bob, "claim")):
        session = who.session(who.document(first))
        session.use_sentences(who.sentences(first))
        session.set_tag(0, label, on=True)
    session = bob.session(bob.document(second))
    session.use_sentences(bob.sentences(second))
    session.set_tag(0, "claim", on=True)
    assert conflicted() == [first], "two annotators, two labels on one sentence; one annotator is no conflict"
    assert [r.doc_id for r in library.rows(parse_filter("no:conflicts", Query("alice")))] == [second]
    decided = gold.session(gold.document(first))
    decided.use_sentences(gold.sentences(first))
    decided.set_tag(0, "event", on=True)
    assert conflicted() == [], "gold decided it"
    for name in (ws, bob, gold):
        name.close()


def test_a_second_writer_sees_the_first_ones_saves(tmp_path):
    alice = Workspace.open(tmp_path, annotator="alice")
    doc_id = add(alice, 0)
    bob = Workspace.open(tmp_path, annotator="bob")
    assert bob.library().rows(Query("alice"))[0].tagged == 0
    session = alice.session(alice.document(doc_id))
    session.use_sentences(alice.sentences(doc_id))
    session.set_tag(0, "event", on=True)
    assert bob.summary(doc_id, "alice").tagged == 1
    assert bob.library().rows(Query("alice"))[0].tagged == 1


def test_a_store_that_cannot_be_written_keeps_its_index_in_memory(tmp_path, monkeypatch):
    ws = Workspace.open(tmp_path, annotator="alice")
    add(ws, 0)
    add(ws, 1)
    ws.close()
    (tmp_path / INDEX_FILE).unlink()
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    again = Workspace.open(tmp_path, read_only=True, annotator="alice")
    assert again.opening_ids() is None and again.library().count(Query("alice")) == (2, 0)
    assert not (tmp_path / INDEX_FILE).exists()


async def test_the_library_filters_as_you_type_sorts_and_opens_at_80_columns(tmp_path):
    ws = Workspace.open(tmp_path, annotator="alice")
    ids = [add(ws, n) for n in range(5)]
    app = ReaderApp(ws, None)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LibraryScreen)
        table = screen.query_one("#documents")
        assert table.row_count == 5 and table.get_row_at(0)[0].plain == "Titre 4", "newest first"
        await pilot.press("slash", *"titre 2 q?")
        await pilot.pause()
        assert screen.query_one("#filter").value == "titre 2 q?", "every printable key is text"
        assert table.row_count == 0 and "0 of 5 documents" in str(screen.query_one("#header").render())
        await pilot.press("backspace", "backspace", "backspace")
        await pilot.press("enter", "j")  # Enter gives the keys back to the table
        await pilot.pause()
        assert table.row_count == 1 and app.focused is table
        assert "1 of 5 documents" in str(screen.query_one("#header").render())
        await pilot.press("escape")  # the filter goes first
        await pilot.pause()
        assert table.row_count == 5 and screen.query_one("#filter").has_class("hidden")
        await pilot.press("s")
        await pilot.pause()
        assert "by title" in str(screen.query_one("#header").render())
        assert [table.get_row_at(i)[0].plain for i in range(5)] == [f"Titre {n}" for n in range(5)]
        assert table.cursor_row == 2, "the cursor stays on its document (Titre 2) through the filter and the sort"
        await pilot.press("greater_than_sign")  # the next match: every row matches, the next row
        await pilot.pause()
        assert table.cursor_row == 3
        await pilot.press("less_than_sign", "k", "k", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ReadingScreen) and app.screen.doc.id == ids[0]
    ws.close()


def test_store_level_listeners_and_marks(tmp_path):
    """The store marks a row before each of its writes and tells the library after; with no library the mark
    stays for the next reader."""
    store = Store(tmp_path)
    doc = make_document(TEXTS[0], {"title": "x"})
    store.add_document(doc.to_record())
    assert [(d, a) for _, d, a in store.index.marked()] == [(doc.id, "")]
    library = Library(store, ("event",), lambda doc_id, keep: None)
    library.refresh()
    assert store.index.marked() == []
    store.write(doc.id, "alice", upsert=[{"id": "n1", "kind": "note", "start": 0, "end": 5, "text": "t",
                                          "created": "2026-01-01T00:00:00Z"}])
    assert [(d, a) for _, d, a in store.index.marked()] == [(doc.id, "alice")], "a save leaves its row pending"
    assert library.rows(Query("alice"))[0].notes == 1 and store.index.marked() == [], "derived as it is read"
    store.close()


async def test_help_on_the_library_lists_its_movement_and_filter_keys(tmp_path):
    from reader.ui.screens.help import HelpScreen

    ws = Workspace.open(tmp_path, annotator="alice")
    for n in range(2):
        add(ws, n)
    app = ReaderApp(ws, None)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-table")
        rows = {table.get_row_at(i)[1].plain: table.get_row_at(i)[0].plain for i in range(table.row_count)}
        assert "j" in rows["Next sentence"].split(", ")
        assert "/" in rows["Filter the library (words, label:, by:, done, todo, conflicts)"]
        assert "s" in rows["Sort the library (date, title, source, progress, done)"]
        assert "f" in rows["Search every sentence (words, label:, entity:, by:, in:notes)"]
        assert "e" in rows["Every entity of the library, with its mentions"]
    ws.close()
