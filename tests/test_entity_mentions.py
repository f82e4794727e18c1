"""Bulk entity decisions: the same decision for every mention of a surface in a document (the reader's keys,
one undo step) and across the library (`reader entity --surface ... --all`)."""

from __future__ import annotations

import re

import pytest

from reader.annotations import AnnotationError
from reader.documents import make_document
from reader.labels import load_labels
from reader.session import AnnotationSession
from tests.test_annotations import MemoryStore, clock

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
