"""Search across the library and its entities (issue 22): words folded as a person types them, phrases, prefixes,
labels, notes and entity mentions; each hit is a sentence at its exact stored offsets; spellings of one actor
grouped; the analysts' decisions count over the model's."""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from reader.cli import app
from reader.documents import make_document
from reader.library import Search, entity_key, fts_query, parse_search
from reader.search import fold
from reader.workspace import Workspace
from tests.test_stats import synthetic_analysis

TOKEN = re.compile(r"\w+|[^\w\s]")


def add(ws: Workspace, text: str, entities=(), analysed: bool = True, **meta) -> str:
    """A document with one sentence per full stop and the model's `entities` (surface, label), first mentions."""
    doc = make_document(text, {"title": text[:20], "date": "2026-01-01", "source": f"{len(text)}-{text[:9]}.txt",
                               **meta})
    ws.add_documents([doc])
    if analysed:
        record = synthetic_analysis(doc.text)
        record["entities"] = [[text.index(s), text.index(s) + len(s), label] for s, label in entities]
        ws.store.cache_analysis(doc.id, ws.cache_key(doc), record)
    return doc.id


def hits(ws: Workspace, search: Search) -> list[str]:
    """The text of every hit, checked against its document's sentences."""
    library = ws.library()
    library.refresh()
    out = []
    for hit in library.search(search):
        text = ws.document(hit.doc_id).text
        if hit.sentence is not None:
            assert (hit.start, hit.end) == ws.sentences(hit.doc_id)[hit.sentence], "the analysis's own offsets"
        out.append(text[hit.start:hit.end])
    return out


def words(ws: Workspace, typed: str, **fields) -> list[str]:
    return hits(ws, Search(fts_query(typed), **fields))


def test_words_are_folded_as_a_person_types_them_and_phrases_keep_their_order(tmp_path):
    ws = Workspace.open(tmp_path, annotator="alice")
    add(ws, "Selon l’ONU, la Corée du Nord ment. Un cœur de ministre. La ministre parle.")
    add(ws, "Les ministres votent. Rien ici.", date="2026-02-01")
    assert words(ws, "l'onu") == ["Selon l’ONU, la Corée du Nord ment."]
    assert words(ws, "COREE nord") == ["Selon l’ONU, la Corée du Nord ment."], "every word, anywhere in it"
    assert words(ws, "coeur") == ["Un cœur de ministre."]
    assert words(ws, '"la ministre"') == ["La ministre parle."], "a phrase in its order"
    assert words(ws, "ministre") == ["Un cœur de ministre.", "La ministre parle."]
    assert words(ws, "minis*") == ["Les ministres votent.", "Un cœur de ministre.", "La ministre parle."], \
        "newest document first"
    assert words(ws, "nord ministre") == [], "the words of one sentence, not of one document"
    assert fts_query('  "  " * ;') is None and words(ws, 'AND "OR" NEAR(') == [], "no operator from the typist"
    ws.close()


SENTENCE = st.lists(st.sampled_from(["paris", "Lyon", "mère", "été", "l’ONU", "Corée", "vote", "NORD"]),
                    min_size=1, max_size=5).map(lambda ws: " ".join(ws) + ".")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.lists(SENTENCE, min_size=1, max_size=4).map(" ".join), min_size=1, max_size=4,
                      unique=True),
       word=st.sampled_from(["paris", "lyon", "mere", "ete", "l'onu", "coree", "vote", "nord"]))
def test_a_word_finds_exactly_the_sentences_that_hold_it_at_their_offsets(tmp_path_factory, texts, word):
    ws = Workspace.open(tmp_path_factory.mktemp("store"), annotator="alice")
    ids = [add(ws, text) for text in texts]
    expected = sorted(text[s:e] for doc_id in ids for text in [ws.document(doc_id).text]
                      for s, e in ws.sentences(doc_id)
                      if re.search(rf"(?<!\w){re.escape(fold(word))}(?!\w)", fold(text[s:e])))
    assert sorted(words(ws, word)) == expected
    assert ws.library().search_count(Search(fts_query(word))) == (
        len(expected), len({d for d in ids for s, e in ws.sentences(d) if ws.document(d).text[s:e] in expected}))
    ws.close()


def test_labels_and_notes_by_anyone_or_by_one_annotator(tmp_path):
    ws = Workspace.open(tmp_path, annotator="alice")
    bob = Workspace.open(tmp_path, annotator="bob")
    doc_id = add(ws, "Premier fait. Deuxième fait. Troisième fait.")
    alice = ws.session(ws.document(doc_id))
    alice.use_sentences(ws.sentences(doc_id))
    alice.set_tag(0, "event", on=True)
    start, end = alice.sentences[2]
    alice.add_note("sentence", start, end, "Pourquoi ? À vérifier")
    alice.add_note("document", 0, 0, "Source douteuse")
    other = bob.session(bob.document(doc_id))
    other.use_sentences(bob.sentences(doc_id))
    other.set_tag(1, "event", on=True)
    assert hits(ws, Search(labels=("event",))) == ["Premier fait.", "Deuxième fait."]
    assert hits(ws, Search(labels=("event",), annotator="bob")) == ["Deuxième fait."]
    assert hits(ws, Search(fts_query("fait"), labels=("event",), annotator="alice")) == ["Premier fait."]
    found = ws.library().search(Search(fts_query("verifier"), notes=True))
    assert [(h.sentence, h.note) for h in found] == [(2, "Pourquoi ? À vérifier")]
    found = ws.library().search(Search(fts_query("douteuse"), notes=True))
    assert [(h.sentence, h.start, h.note) for h in found] == [(None, 0, "Source douteuse")], "on the document"
    assert ws.library().search(Search(fts_query("douteuse"), notes=True, annotator="bob")) == []
    ws.close()
    bob.close()


def test_entities_group_spellings_and_count_the_analysts_decisions(tmp_path):
    ws = Workspace.open(tmp_path, annotator="alice")
    first = add(ws, "Kim Jong-un arrive à Paris. Il repart.", [("Kim Jong-un", "PER"), ("Paris", "LOC")])
    second = add(ws, "Kim Jong Un parle. Paris attend.", [("Paris", "LOC")], date="2026-02-01")
    assert entity_key("Kim Jong-un") == entity_key("KIM  JONG UN") == "kim jong un"
    library = ws.library()
    session = ws.session(ws.document(second))
    session.use_sentences(ws.sentences(second))
    text = ws.document(second).text
    tokens = [(m.start(), m.end()) for m in TOKEN.finditer(text)]
    predicted = {(text.index("Paris"), text.index("Paris") + 5): "LOC"}
    session.set_entity(0, len("Kim Jong Un"), "add", "PER", predicted=predicted, tokens=tokens)
    library.refresh()
    kim = library.entities("jong")[0]
    assert (kim.key, kim.mentions, kim.docs) == ("kim jong un", 2, 2)
    assert dict(kim.surfaces) == {"Kim Jong-un": 1, "Kim Jong Un": 1} and kim.labels == (("PER", 2),)
    assert hits(ws, Search(keys=library.entity_keys("Kim Jong-Un"))) == ["Kim Jong Un parle.",
                                                                          "Kim Jong-un arrive à Paris."]
    assert library.entity_keys("jong") == ("kim jong un",), "a part of the name finds the whole one"
    start = text.index("Paris")
    session.set_entity(start, start + 5, "reject", None, predicted=predicted, tokens=tokens)
    library.refresh()
    paris = library.entities("paris")[0]
    assert (paris.mentions, paris.docs) == (1, 1), "rejected by the only one who decided: no entity"
    bob = Workspace.open(tmp_path, annotator="bob")
    theirs = bob.session(bob.document(second))
    theirs.use_sentences(bob.sentences(second))
    theirs.set_entity(start, start + 5, "relabel", "ORG", predicted=predicted, tokens=tokens)
    library.refresh()
    paris = library.entities("paris")[0]
    assert (paris.mentions, dict(paris.labels)) == (2, {"LOC": 1, "ORG": 1}), "bob keeps it, as ORG"
    assert [e.key for e in library.entities()] == ["kim jong un", "paris"] and library.entity_count() == 2
    assert library.entity_count("absent") == 0 and library.entities("absent") == []
    del first
    ws.close()
    bob.close()


def test_a_document_before_its_analysis_is_found_by_paragraph_then_by_sentence(tmp_path):
    ws = Workspace.open(tmp_path, annotator="alice")
    doc_id = add(ws, "Une ligne sur Lyon. Encore Lyon.\nUne autre ligne.", analysed=False)
    found = ws.library().search(Search(fts_query("lyon")))
    assert [(h.sentence, h.start, h.end) for h in found] == [(None, 0, 32)], "the paragraph, until sentences come"
    doc = ws.document(doc_id)
    ws.store.cache_analysis(doc_id, ws.cache_key(doc), synthetic_analysis(doc.text))
    assert words(ws, "lyon") == ["Une ligne sur Lyon.", "Encore Lyon."]
    ws.close()


def test_a_superseded_version_is_neither_searched_nor_counted(tmp_path):
    ws = Workspace.open(tmp_path, annotator="alice")
    add(ws, "Paris vote.", [("Paris", "LOC")], source="vote.txt")
    add(ws, "Paris vote encore.", [("Paris", "LOC")], source="vote.txt")
    assert words(ws, "vote") == ["Paris vote encore."]
    assert [(e.key, e.mentions) for e in ws.library().entities()] == [("paris", 1)]
    (tmp_path / "documents" / f"{ws.library().search(Search(fts_query('encore')))[0].doc_id}.json").unlink()
    library = ws.library()
    library.sweep()
    assert words(ws, "vote") == ["Paris vote."], "the newer one gone, the older one is shown again"
    assert [(e.key, e.mentions) for e in library.entities()] == [("paris", 1)]
    ws.close()


def test_the_typed_search_reads_labels_entities_annotators_and_notes():
    search = parse_search('label:claim entity:"Kim Jong-un" by:bob in:notes "la ministre" coree')
    assert search.labels == ("claim",) and search.annotator == "bob" and search.notes
    assert search.match == '"la ministre" "coree"' and search.entity == "Kim Jong-un"
    assert parse_search("label: by:").match is None and parse_search("label:").labels == (), "a key alone: nothing"


def test_reader_search_and_entities_on_the_command_line(tmp_path):
    ws = Workspace.open(tmp_path, annotator="alice")
    add(ws, "Kim Jong-un arrive à Paris. Il repart.", [("Kim Jong-un", "PER"), ("Paris", "LOC")])
    add(ws, "Kim Jong Un parle. [bold]Paris[/bold] attend.", [("Paris", "LOC")], date="2026-02-01")
    ws.close()
    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(app, ["--store", str(tmp_path), *args])
        assert result.exit_code == 0, result.output
        return result.output

    lines = [json.loads(line) for line in run("search", "paris", "--json").splitlines()]
    assert [(h["sentence"], h["text"]) for h in lines] == [(1, "[bold]Paris[/bold] attend."),
                                                           (0, "Kim Jong-un arrive à Paris.")]
    assert list(lines[0]) == ["doc", "sentence", "start", "end", "text", "title"]
    shown = run("search", "paris")
    assert "2 sentences in 2 documents" in shown and "[bold]Paris[/bold] attend." in shown, "literal text"
    assert len(run("search", "paris", "--limit", "1", "--json").splitlines()) == 1
    found = [json.loads(line)["text"] for line in run("search", "--entity", "kim jong-un", "--json").splitlines()]
    assert found == ["Kim Jong-un arrive à Paris."], "the model found one; nobody added the other"
    entities = [json.loads(line) for line in run("entities", "--json").splitlines()]
    assert [(e["name"], e["mentions"], e["documents"], e["labels"]) for e in entities] == [
        ("Paris", 2, 2, {"LOC": 2}), ("Kim Jong-un", 1, 1, {"PER": 1})]
    assert "Paris" in run("entities", "par")
    result = runner.invoke(app, ["--store", str(tmp_path), "search"])
    assert result.exit_code == 2 and "error: nothing to search for" in result.output


def test_a_match_far_into_a_long_sentence_is_brought_forward():
    from reader.ui.screens.finding import MATCH, shown

    cell = shown("Le gouvernement a présenté mardi devant la presse la réforme des retraites.", [("retraites", False)])
    assert cell.plain == "…réforme des retraites." and cell.cell_len < 40
    assert [cell.plain[s.start:s.end] for s in cell.spans if s.style == MATCH] == ["retraites"]
    assert shown("Un mot [bold]ici[/bold].", [("ici", False)]).plain == "Un mot [bold]ici[/bold].", "shown literally"


async def wait_for(pilot, condition, what: str) -> None:
    for _ in range(200):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(what)


async def test_the_search_and_entity_screens_at_80_columns(tmp_path):
    from reader.ui.app import ReaderApp
    from reader.ui.screens.finding import MATCH, EntitiesScreen, SearchScreen
    from reader.ui.screens.library import LibraryScreen
    from reader.ui.screens.reading import ReadingScreen

    ws = Workspace.open(tmp_path, annotator="alice")
    ids = [add(ws, f"Article {i}. La ministre parle à Lyon {i}. Fin {i}.", [("Lyon", "LOC")], date=f"2026-0{i + 1}-01")
           for i in range(3)]
    app = ReaderApp(ws, None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("f", *"lyon q?")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SearchScreen) and screen.box.value == "lyon q?", "every printable key is text"
        table = screen.table
        header = lambda: str(screen.query_one("#header").render())  # noqa: E731
        assert table.row_count == 0 and "0 sentences in 0 documents" in header()
        await pilot.press("backspace", "backspace", "backspace")
        await pilot.pause()
        assert table.row_count == 3 and "3 sentences in 3 documents, newest first" in header()
        first = table.get_row_at(0)
        assert (first[0].plain, first[1].plain) == ("La ministre parle à Lyon 2.", "2"), "newest first, from 1"
        assert [first[0].plain[s.start:s.end] for s in first[0].spans if s.style == MATCH] == ["Lyon"]
        await pilot.press("down", "j", "enter")  # Down gives the keys to the rows, j the next hit, Enter opens it
        await wait_for(pilot, lambda: isinstance(app.screen, ReadingScreen) and app.screen.analysis is not None,
                       "the reader, analysed")
        reading = app.screen
        assert reading.doc.id == ids[1] and reading.view.cursor == 1, "on the hit's sentence"
        assert [reading.doc.text[s:e] for s, e in reading.view.matches] == ["Lyon"]
        await pilot.press("o")
        await pilot.pause()
        assert app.screen is screen and table.cursor_row == 1, "o comes back to the hits, on the same row"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LibraryScreen)
        await pilot.press("e")
        await pilot.pause()
        entities = app.screen
        assert isinstance(entities, EntitiesScreen) and app.focused is entities.table
        assert [c.plain for c in entities.table.get_row_at(0)[:4]] == ["Lyon", "3", "3", "LOC 3"]
        await pilot.press("slash", *"zz")
        await pilot.pause()
        assert entities.table.row_count == 0 and "Entities · 0" in str(entities.query_one("#header").render())
        await pilot.press("escape")  # the box's text goes first
        await pilot.pause()
        assert entities.table.row_count == 1 and app.screen is entities
        await pilot.press("enter", "enter")  # to the rows, then the sentences mentioning the first
        await pilot.pause()
        hits = app.screen
        assert isinstance(hits, SearchScreen) and hits.box.value == 'entity:"Lyon"' and hits.table.row_count == 3
    ws.close()
