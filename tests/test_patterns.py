"""Entity patterns (issue 21): made from added, relabelled and rejected entities only, the newer decision winning;
a removal sticks; applied over the model's entities on token boundaries, any case, in the next document opened, with
nothing cached changed; `reader patterns` lists and removes them."""

from __future__ import annotations

import json
import re

import pytest
from conftest import TEST_MODEL
from typer.testing import CliRunner

from reader import patterns
from reader.cli import app
from reader.documents import Document
from reader.patterns import Matcher, Pattern, PatternError
from reader.workspace import Workspace

TEXT = "Le ministre des Affaires étrangères a reçu Reuters à Paris, puis la Corée du Nord."


def decision(start: int, end: int, status: str, label: str, predicted: str = "", stamp: str = "2026-01-01T10:00:00Z",
             text: str = TEXT) -> dict:
    return {"id": f"ent-{start}-{end}", "kind": "entity", "start": start, "end": end, "label": label,
            "status": status, "predicted": predicted, "created": stamp, "updated": stamp,
            "quote": {"exact": text[start:end]}}


def span(surface: str, text: str = TEXT) -> tuple[int, int]:
    start = text.index(surface)
    return start, start + len(surface)


def records(*items: dict) -> dict[str, dict]:
    return {r["id"]: r for r in items}


def made(files) -> list[Pattern]:
    """The patterns of (text, annotator, records) files."""
    return patterns.collect(e for text, who, found in files
                            for e in patterns.entries(text[:6], text, who, found.values()))


def test_patterns_come_from_added_relabelled_and_rejected_entities_only():
    alice = records(decision(*span("ministre des Affaires étrangères"), "added", "FONCTION"),
                    decision(*span("Paris"), "accepted", "LOC", "LOC"),
                    {"id": "tag-1", "kind": "tag", "start": 0, "end": 20, "label": "claim"})
    bob = records(decision(*span("Corée du Nord"), "relabelled", "ORG", "LOC"),
                  decision(*span("Reuters"), "rejected", "MISC", "MISC"))
    found = made([(TEXT, "alice", alice), (TEXT, "bob", bob)])
    assert [(p.label, p.surface, p.negative, p.annotators, p.count) for p in found] == [
        ("FONCTION", "ministre des Affaires étrangères", False, ("alice",), 1),
        ("MISC", "Reuters", True, ("bob",), 1),
        ("ORG", "Corée du Nord", False, ("bob",), 1),
    ]
    assert len({p.id for p in found}) == 3 and all(len(p.id) == 8 for p in found)
    assert made([(TEXT, "alice", alice), (TEXT, "bob", bob)]) == found  # stable ids


def test_the_newer_decision_wins_and_corrections_add_up():
    other = "REUTERS a publié la dépêche."
    kept = (other, "carol", records(decision(*span("REUTERS", other), "added", "MISC", stamp="2026-02-01T00:00:00Z",
                                             text=other)))
    rejected = (TEXT, "bob", records(decision(*span("Reuters"), "rejected", "MISC", "MISC")))
    [p] = made([rejected, kept])
    assert (p.negative, p.surface, p.annotators) == (False, "REUTERS", ("carol",))
    later = (TEXT, "bob", records(decision(*span("Reuters"), "rejected", "MISC", "MISC", stamp="2026-03-01T00:00:00Z")))
    [p] = made([later, kept])
    assert p.negative and p.label == "MISC"
    again = (other, "alice", records(decision(*span("REUTERS", other), "added", "MISC", stamp="2026-02-02T00:00:00Z",
                                              text=other)))
    [p] = made([kept, again])
    assert (p.count, p.annotators, p.created, p.updated) == (2, ("alice", "carol"), "2026-02-01T00:00:00Z",
                                                             "2026-02-02T00:00:00Z")


def test_a_removal_sticks_until_a_newer_correction(tmp_path):
    alice = (TEXT, "alice", records(decision(*span("Paris"), "added", "LOC")))
    [p] = made([alice])
    patterns.remove(tmp_path, p)
    assert patterns.in_use(made([alice]), patterns.read_removed(tmp_path)) == []
    newer = (TEXT, "bob", records(decision(*span("Paris"), "added", "LOC", stamp="2999-01-01T00:00:00Z")))
    assert [q.id for q in patterns.in_use(made([alice, newer]), patterns.read_removed(tmp_path))] == [p.id]


@pytest.mark.parametrize("content", [b"{not json", b'{"removed": [1]}', b"[]"])
def test_a_damaged_removals_file_is_refused_in_one_line_and_left_untouched(tmp_path, content):
    path = tmp_path / patterns.REMOVED_FILE
    path.write_bytes(content)
    with pytest.raises(PatternError) as caught:
        patterns.read_removed(tmp_path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)
    with pytest.raises(PatternError):
        patterns.remove(tmp_path, Pattern("abcd1234", "LOC", "Paris", False, ("alice",), 1, "", ""))
    assert path.read_bytes() == content


# --- over the model's entities --------------------------------------------------------------------------------

def test_mentions_on_token_boundaries_any_case_and_spacing_the_longest_first():
    text = "Paris et PARIS, les Parisiens. La Corée  du\nNord et la Corée."
    tokens = [m.span() for m in re.finditer(r"\w+|[^\w\s]", text)]
    matcher = Matcher(made([(TEXT, "alice", records(decision(*span("Paris"), "added", "LOC"),
                                                    decision(*span("Corée du Nord"), "relabelled", "ORG", "LOC"))),
                            ("la Corée", "bob", records(decision(3, 8, "added", "GPE", text="la Corée")))]))
    counts = {}
    spans = matcher.apply(text, tokens, [(0, 5, "LOC"), (34, 39, "LOC"), (55, 60, "LOC")], counts)
    assert [(text[s:e], label) for s, e, label in spans] == [
        ("Paris", "LOC"), ("PARIS", "LOC"), ("Corée  du\nNord", "ORG"), ("Corée", "GPE")]  # « Parisiens »: no
    by_surface = {p.surface: counts.get(p.id, 0) for p in matcher.patterns}
    assert by_surface == {"Paris": 1, "Corée du Nord": 1, "Corée": 1}  # changed something, not just matched


def test_a_negative_pattern_drops_its_label_only_and_the_newest_label_wins_a_surface():
    text = "Reuters et REUTERS."
    tokens = [(0, 7), (8, 10), (11, 18), (18, 19)]
    matcher = Matcher(made([(TEXT, "bob", records(decision(*span("Reuters"), "rejected", "ORG", "ORG")))]))
    assert matcher.apply(text, tokens, [(0, 7, "ORG"), (11, 18, "MISC")]) == [(11, 18, "MISC")]
    both = Matcher(made([(TEXT, "bob", records(decision(*span("Reuters"), "added", "ORG"))),
                         (TEXT, "eve", records(decision(*span("Reuters"), "added", "MISC", stamp="2026-05-01")))]))
    assert both.apply(text, tokens, []) == [(0, 7, "MISC"), (11, 18, "MISC")]
    assert not Matcher() and Matcher().apply(text, tokens, [(0, 7, "ORG")]) == [(0, 7, "ORG")]


# --- in the workspace: the next document, at once, in the reader and the CLI ------------------------------------

NEXT = "Hier, la Corée du Nord a répondu à Reuters depuis Pyongyang."


@pytest.fixture
def two(tmp_path):
    """A store with TEXT and NEXT analysed; alice relabels « Corée du Nord » and rejects « Reuters » in TEXT."""
    ws = Workspace.open(tmp_path / "s", model=TEST_MODEL, annotator="alice")
    first, second = Document.create(TEXT, {"title": "one"}), Document.create(NEXT, {"title": "two"})
    ws.add_documents([first, second])
    ws.analyse_many([first, second])
    return ws, first, second


def shown(ws, doc) -> dict[str, str]:
    analysis, _ = ws.analysis(doc)
    return {doc.text[e.start:e.end]: e.label for e in analysis.entities}


def test_a_correction_shows_in_the_next_document_without_changing_its_cached_analysis(two):
    ws, first, second = two
    before = shown(ws, second)
    assert before.get("Reuters") not in (None, "MISC") and before.get("Corée du Nord") != "FONCTION"
    cached = {k: ws.store.cached_analysis(second.id, k) for k in ws.store.analysis_keys(second.id)}
    session = ws.session(first)
    session.add_entity(*span("Corée du Nord"), "FONCTION")  # live: this process's own save
    session.add_entity(*span("Reuters"), "MISC")
    assert shown(ws, second) == {**before, "Corée du Nord": "FONCTION", "Reuters": "MISC"}
    assert {k: ws.store.cached_analysis(second.id, k) for k in ws.store.analysis_keys(second.id)} == cached
    ws.close()
    again = Workspace.open(ws.store.root, model=TEST_MODEL, annotator="bob")  # another process: read from the files
    assert shown(again, second)["Corée du Nord"] == "FONCTION"
    [p] = [p for p in again.patterns().patterns if p.label == "MISC"]
    again.remove_pattern(p.id[:5])
    model = shown(again, second)["Reuters"]
    assert model == before["Reuters"] != "MISC"  # the model's label again
    reuters = span("Reuters", NEXT)
    again.session(second).set_entity(*reuters, "reject", None, predicted={reuters: model},
                                     tokens=again.analysis(second)[0].tokens)
    assert "Reuters" not in shown(again, first)  # a rejection is a negative pattern, for the other documents
    assert shown(again, second)["Reuters"] == model  # where it was made, the analyst's own decision stands
    assert shown(again, first)["Corée du Nord"] == "LOC"
    again.session(second).undo()
    assert [p.id for p in again.patterns().patterns if p.label == "MISC"] == []  # removed, and no newer one


def test_a_damaged_removals_file_stops_the_patterns_in_one_line_and_is_kept(two):
    ws, first, second = two
    ws.session(first).add_entity(*span("Corée du Nord"), "FONCTION")
    path = ws.store.root / patterns.REMOVED_FILE
    path.write_bytes(b"{oops")
    assert shown(ws, second).get("Corée du Nord") != "FONCTION"
    assert str(path) in ws.patterns_problem and "\n" not in ws.patterns_problem and path.read_bytes() == b"{oops"


def test_cli_lists_and_removes_patterns(two):
    ws, first, _ = two
    ws.session(first).add_entity(*span("Corée du Nord"), "FONCTION")
    ws.close()
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, ["--store", str(ws.store.root), *args])

    lines = [json.loads(line) for line in run("patterns", "--json").output.splitlines()]
    assert [(x["label"], x["surface"], x["negative"], x["annotators"], x["corrections"], x["matches"])
            for x in lines] == [("FONCTION", "Corée du Nord", False, ["alice"], 1, 1)]  # not where it was made
    table = run("patterns")
    assert table.exit_code == 0 and "Corée du Nord" in table.output and lines[0]["id"] in table.output
    for args, message in [(("patterns", "--remove", "zzzz"), "no pattern 'zzzz'"),
                          (("patterns", "--remove", ""), "no pattern ''")]:
        result = run(*args)
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    removed = run("patterns", "--remove", lines[0]["id"])
    assert removed.exit_code == 0 and "removed pattern" in removed.output
    assert run("patterns").output.startswith("no entity pattern")
    (ws.store.root / patterns.REMOVED_FILE).write_text("[]")
    result = run("patterns")
    assert result.exit_code == 2 and "damaged" in result.output and "Traceback" not in result.output


async def test_in_the_reader_a_relabel_shows_on_the_next_document_opened(workspace):
    """At 80x24: relabel the seed's first entity, go to the library, open another article that names it."""
    from reader.ui.screens.reading import ReadingScreen
    from reader.ui.widgets.article_view import ArticleView
    from tests.test_app import open_app, ready, seed_id
    from tests.test_app_narrow import NARROW

    seed = workspace.document(seed_id(workspace))
    first = min(workspace.analysis(seed)[0].entities, key=lambda e: e.start)
    surface = seed.text[first.start:first.end]
    other = Document.create(f"Deuxième article. Hier, {surface.upper()} a répondu.", {"title": "Zzz suite"})
    workspace.add_documents([other])
    app = await open_app(workspace)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#documents")
        table.move_cursor(row=next(i for i in range(2) if "Zzz" not in str(table.get_row_at(i)[0])))
        await pilot.press("enter")
        await ready(app, pilot)
        view = app.screen.query_one(ArticleView)
        await pilot.press("e")
        assert (view.current_mark.start, view.current_mark.end) == (first.start, first.end)
        labels = app.screen.entity_labels()
        choice = next(label for label in labels[:9] if label != first.label)
        await pilot.press("r", str(labels.index(choice) + 1))
        await pilot.pause()
        assert "pattern" not in app.screen.model_status  # made here: none applies to this document
        await pilot.press("o")
        await pilot.pause()
        table = app.screen.query_one("#documents")
        table.move_cursor(row=next(i for i in range(2) if "Zzz" in str(table.get_row_at(i)[0])))
        await pilot.press("enter")
        await ready(app, pilot)
        assert isinstance(app.screen, ReadingScreen) and app.screen.doc.id == other.id
        shown = {other.text[m.start:m.end]: m.label for m in app.screen.query_one(ArticleView).marks}
        assert shown.get(surface.upper()) == choice
        assert app.screen.model_status.endswith("(analysed) · 1 pattern")  # the status line cuts it at 80 columns
