"""The review screen (`reader review`): three annotators who disagree on sentence labels and entities, every review
key in Pilot at 80×24 and wide, and what lands in `gold` on disk (with `from` and the versions behind it)."""

from __future__ import annotations

import json

import pytest

from reader.ui.app import ReaderApp
from reader.ui.keymap import ACTIONS
from reader.ui.screens.review import ReviewScreen, VersionPicker
from reader.worklist import ReviewOptions

SIZES = [(80, 24), (120, 36)]

TAGS = {
    "alice": {0: ["event"], 1: ["event", "claim"], 2: ["quote"], 3: ["claim"]},
    "bob": {0: ["event"], 1: ["event"], 3: ["claim"]},
    "carol": {0: ["event"], 1: ["claim"], 3: ["claim", "figure"]},
}
"""Sentence 0 is agreed; 1, 2 and 3 are conflicts under the unanimous rule (under majority, three annotators
settle every sentence label: each is set or left out by at least two)."""


def three_annotators(ws) -> str:
    """alice, bob and carol on the seed, through the normal session operations: the tags above; Vladimir Poutine
    accepted / rejected / relabelled ORG (a conflict under any rule); Kim Jong Un accepted by all (agreed);
    "Mercredi" added by bob alone. Returns the document id."""
    doc = ws.document(ws.document_ids()[0])
    analysis = ws.cached_analysis(doc, any_pipeline=True)
    for name, by_sentence in TAGS.items():
        session = ws.session(doc, name)
        session.use_sentences(analysis.sentences)
        for index, labels in by_sentence.items():
            for label in labels:
                session.set_tag(index, label, True)
    for name, (status, label) in {"alice": ("accepted", None), "bob": ("rejected", None),
                                  "carol": ("relabelled", "ORG")}.items():
        session = ws.session(doc, name)
        entities = session.entities(analysis.entities)
        poutine = next(e for e in entities if doc.text[e.start:e.end] == "Vladimir Poutine")
        kim = next(e for e in entities if doc.text[e.start:e.end] == "Kim Jong Un")
        session.decide(poutine, status, label)
        session.decide(kim, "accepted")
    start = analysis.sentences[1][0]
    ws.session(doc, "bob").add_entity(start, start + len("Mercredi"), "MISC")
    return doc.id


@pytest.fixture
def review_ws(workspace):
    three_annotators(workspace)
    return workspace


def gold(ws) -> list[dict]:
    path = ws.store.root / "annotations" / ws.document_ids()[0] / "gold.json"
    if not path.exists():
        return []
    return list(json.loads(path.read_text(encoding="utf-8"))["_default"].values())


def gold_tags(ws, start: int) -> dict[str, dict]:
    return {r["label"]: r for r in gold(ws) if r["kind"] == "tag" and r["start"] == start}


async def open_review(ws, pilot_size, rule="unanimous", **options):
    app = ReaderApp(ws, ws.document_ids(), review=ReviewOptions(rule=rule, **options))
    return app


async def ready(app, pilot):
    import time

    deadline = time.monotonic() + 30
    await pilot.pause()
    while time.monotonic() < deadline and app.screen.items is None:
        await pilot.pause(0.02)
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert isinstance(app.screen, ReviewScreen) and app.screen.items is not None


def status(app) -> str:
    return str(app.screen.query_one("#status").render())


def panel(app) -> str:
    return str(app.screen.query_one("#versions").render())


@pytest.mark.parametrize("size", SIZES)
async def test_opening_merges_what_is_agreed_and_starts_at_the_first_conflict(review_ws, size):
    ws = review_ws
    app = await open_review(ws, size)
    async with app.run_test(size=size) as pilot:
        await ready(app, pilot)
        screen = app.screen
        sentences = screen.analysis.sentences
        assert [(c.kind, getattr(c, "index", None)) for c in screen.conflicts] == [
            ("sentence", 1), ("entity", None), ("entity", None), ("sentence", 2), ("sentence", 3)]
        merged = gold_tags(ws, sentences[0][0])
        assert list(merged) == ["event"] and merged["event"]["from"] == ["alice", "bob", "carol"]
        assert screen.view.cursor == 1
        assert "conflict 1/5" in status(app)
        if size[0] >= 100:
            assert "5 open" in status(app)
        text = panel(app)
        assert "Sentence 2 · conflict 1/5" in text
        assert "alice  claim, event" in text and "bob    event" in text and "carol  claim" in text
        assert "gold   not decided" in text
        assert screen.view.conflict_sentences == {1: True, 2: True, 3: True}


@pytest.mark.parametrize("size", SIZES)
async def test_next_and_previous_conflict_step_through_conflicts_only(review_ws, size):
    app = await open_review(review_ws, size)
    async with app.run_test(size=size) as pilot:
        await ready(app, pilot)
        screen = app.screen
        seen = []
        for _ in range(5):
            seen.append(screen.conflict_index(screen.item_here()))
            await pilot.press("c")
        assert seen == [0, 1, 2, 3, 4]
        assert "conflict 5/5" in status(app)
        assert any("No conflict after this one" in str(n.message) for n in app._notifications)
        await pilot.press("C", "C")
        assert screen.conflict_index(screen.item_here()) == 2
        assert "Entity “Vladimir Poutine” · conflict 3/5" in panel(app)
        assert "carol  ORG “Vladimir Poutine” relabelled from PER" in panel(app)
        assert "bob    rejected PER “Vladimir Poutine”" in panel(app)
        await pilot.press("G")  # the last sentence holds no conflict
        assert "conflict –/5" in status(app)
        await pilot.press("C")
        assert "conflict 5/5" in status(app)


async def test_take_one_version_with_the_picker(review_ws):
    ws = review_ws
    app = await open_review(ws, (80, 24))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await pilot.press("c", "c")  # Vladimir Poutine
        await pilot.press("t")
        assert isinstance(app.screen, VersionPicker)
        await pilot.press("3")
        await pilot.pause()
        record = next(r for r in gold(ws) if r["kind"] == "entity" and r["start"] == 213)
        assert (record["label"], record["status"], record["from"]) == ("ORG", "relabelled", ["carol"])
        assert {tuple(v["annotators"]) for v in record["versions"]} == {("alice",), ("bob",), ("carol",)}
        assert "✓ saved: gold: ORG" in status(app)
        assert "→ gold   ORG “Vladimir Poutine” relabelled from PER" in panel(app)
        assert sum(c.gold is None for c in app.screen.conflicts) == 4
        await pilot.press("t", "enter")  # Enter takes the most common version (all differ: alice, by name)
        await pilot.pause()
        record = next(r for r in gold(ws) if r["kind"] == "entity" and r["start"] == 213)
        assert (record["label"], record["status"], record["from"]) == ("PER", "accepted", ["alice"])
        await pilot.press("t", "escape")
        assert isinstance(app.screen, ReviewScreen)


@pytest.mark.parametrize("size", SIZES)
async def test_take_all_and_take_none_then_undo_and_redo(review_ws, size):
    ws = review_ws
    app = await open_review(ws, size)
    async with app.run_test(size=size) as pilot:
        await ready(app, pilot)
        screen = app.screen
        s1, s2 = screen.analysis.sentences[1][0], screen.analysis.sentences[2][0]
        await pilot.press("T")
        tags = gold_tags(ws, s1)
        assert sorted(tags) == ["claim", "event"]
        assert tags["claim"]["from"] == ["alice", "carol"] and tags["event"]["from"] == ["alice", "bob"]
        assert screen.view.tags[1] and [t.name for t in screen.view.tags[1]] == ["event", "claim"]
        await pilot.press("c", "c", "c")  # sentence 3: alice quote, bob and carol nothing
        assert screen.item_here().index == 2
        await pilot.press("0")
        assert not gold_tags(ws, s2)
        review = next(r for r in gold(ws) if r["kind"] == "review" and r["start"] == s2)
        assert {"annotators": ["bob", "carol"], "labels": []} in review["versions"], "who had no label"
        assert screen.view.conflict_sentences[2] is False, "decided: = in the gutter"
        await pilot.press("u")
        assert "✓ undone" in status(app)
        assert not any(r["kind"] == "review" for r in gold(ws))
        assert screen.view.conflict_sentences[2] is True
        await pilot.press("ctrl+r")
        assert "✓ redone" in status(app)
        assert any(r["kind"] == "review" for r in gold(ws))
        await pilot.press("0")
        assert any("Gold already holds that version" in str(n.message) for n in app._notifications)


async def test_take_all_refuses_two_labels_on_one_span(review_ws):
    ws = review_ws
    app = await open_review(ws, (80, 24))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await pilot.press("c", "c", "T")  # Poutine: PER and ORG on the same offsets
        assert not any(r["kind"] == "entity" for r in gold(ws))
        assert any("one label per span" in str(n.message) for n in app._notifications)


async def test_the_usual_keys_edit_gold(review_ws):
    ws = review_ws
    app = await open_review(ws, (80, 24))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        screen = app.screen
        s3 = screen.analysis.sentences[3][0]
        await pilot.press("c", "c", "c", "c")  # sentence 4: claim for all, figure for carol
        assert screen.item_here().index == 3
        await pilot.press("2", "6")  # claim, then figure: carol's version, with who set each label
        tags = gold_tags(ws, s3)
        assert sorted(tags) == ["claim", "figure"]
        assert tags["claim"]["from"] == ["alice", "bob", "carol"] and tags["figure"]["from"] == ["carol"]
        await pilot.press("6")
        assert sorted(gold_tags(ws, s3)) == ["claim"]
        assert "gold   claim" in panel(app)
        # an entity only bob has: not in gold, but the cursor reaches it and `a` adds it
        await pilot.press("home", "c", "c")
        assert "Entity “Mercredi”" in panel(app)
        assert screen.entities[screen.view.entity_cursor].status == "proposed"
        await pilot.press("a")
        record = next(r for r in gold(ws) if r["kind"] == "entity" and r["status"] == "added")
        assert (record["label"], ws.document(ws.document_ids()[0]).text[record["start"]:record["end"]]) == \
            ("MISC", "Mercredi")
        # like `t`: who had that version, and the versions behind the decision
        assert record["from"] == ["bob"]
        assert [v["annotators"] for v in record["versions"]] == [["alice", "carol"], ["bob"]]
        assert screen.entities[screen.view.entity_cursor].status == "added"
        await pilot.press("x")  # rejecting gold's added entity takes it out again
        assert not any(r["kind"] == "entity" and r["status"] == "added" for r in gold(ws))
        refusal = next(r for r in gold(ws) if r["kind"] == "entity" and r["start"] == record["start"])
        assert refusal["status"] == "rejected" and refusal["from"] == ["alice", "carol"]
        await pilot.press("u")  # one undo step each
        assert next(r for r in gold(ws) if r["id"] == record["id"])["status"] == "added"


async def test_majority_settles_sentences_and_label_filter_narrows(review_ws):
    ws = review_ws
    app = await open_review(ws, (80, 24), rule="majority")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        assert [c.kind for c in app.screen.conflicts] == ["entity"], "only Vladimir Poutine is left"
        sentences = app.screen.analysis.sentences
        assert sorted(gold_tags(ws, sentences[1][0])) == ["claim", "event"]
        assert sorted(gold_tags(ws, sentences[3][0])) == ["claim"]
    app = await open_review(ws, (80, 24), label="figure")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        assert [(c.kind, c.index) for c in app.screen.conflicts] == [("sentence", 3)]


async def test_help_and_palette_list_the_review_keys(review_ws):
    from reader.ui.screens.help import HelpScreen

    app = await open_review(review_ws, (80, 24))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert all(a.description in titles for a in ACTIONS if a.scope in ("reading", "review"))
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-table")
        ids = {str(table.get_row_at(i)[2]) for i in range(table.row_count)}
        assert {"next-conflict", "take-version", "take-all", "take-none", "next-sentence"} <= ids


@pytest.mark.parametrize("size", SIZES)
async def test_the_footer_shows_the_review_keys_and_quit(review_ws, size):
    from textual.widgets import Footer

    app = await open_review(review_ws, size)
    async with app.run_test(size=size) as pilot:
        await ready(app, pilot)
        keys = [item.description for item in app.screen.query_one(Footer).query("FooterKey")]
        assert {"Conflict", "Take", "Quit", "Keys"} <= set(keys)
        footer = app.screen.query_one(Footer)
        assert sum(item.size.width for item in footer.query("FooterKey")) <= size[0]


# --- the command line ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "message"), [
    (["review", "nope"], "error: no document with id 'nope'"),
    (["review", "--rule", "most"], "error: unknown rule 'most'"),
    (["review", "--only", "gold"], "error: --only gold: the annotations are reviewed into 'gold'"),
    (["review", "--label", "x\x1b"], "error: "),
])
def test_review_bad_input_is_one_line(workspace, capsys, args, message):
    from reader.cli import run

    root = workspace.store.root
    workspace.store.close()
    assert run(["--store", str(root), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and len(err.strip().splitlines()) == 1


def test_review_says_when_there_is_nothing_to_review(workspace, capsys):
    from reader.cli import run

    ws = workspace
    doc_id = ws.document_ids()[0]
    root = ws.store.root
    doc = ws.document(doc_id)
    analysis = ws.cached_analysis(doc, any_pipeline=True)
    ws.store.close()
    assert run(["--store", str(root), "review", doc_id]) == 2
    assert "no annotations on" in capsys.readouterr().err
    assert run(["--store", str(root), "review"]) == 2
    assert "nothing to review: no document has annotations by two annotators" in capsys.readouterr().err
    from reader.store import Store
    from reader.workspace import Workspace

    for name in ("alice", "bob"):
        ws = Workspace(Store(root), annotator=name)
        session = ws.session(doc, name)
        session.use_sentences(analysis.sentences)
        session.set_tag(0, "event", True)
        ws.store.close()
        assert run(["--store", str(root), "review", doc_id[:6]]) == 2
        err = capsys.readouterr().err
        if name == "alice":
            assert err.startswith(f"error: only alice annotated {doc_id}: review needs two annotators")
    assert err.startswith(f"error: nothing to review in {doc_id}: alice, bob agree on every item under the majority")
    assert len(err.strip().splitlines()) == 1
