"""Annotation operations: tags follow sentences, notes, entity decisions, undo/redo, re-anchoring."""

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reader.analysis import Span
from reader.annotations import (
    Annotation,
    AnnotationError,
    AnnotatorWork,
    entity_id,
    entity_states,
    note_id,
    note_order,
    sentence_of,
    tag_id,
)
from reader.documents import make_document
from reader.labels import Label, LabelSet, load_labels
from reader.session import AnnotationSession

TEXT = "Premier point. Le président Macron parle à Paris. Troisième phrase ici."
SENTS = [(0, 14), (15, 49), (50, 71)]


class MemoryStore:
    read_only = False

    def __init__(self):
        self.data: dict[tuple[str, str], dict[str, dict]] = {}
        self.writes = 0

    def records(self, doc_id, annotator):
        return self.data.setdefault((doc_id, annotator), {})

    def write(self, doc_id, annotator, upsert=(), delete=()):
        table = self.records(doc_id, annotator)
        for r in upsert:
            table[r["id"]] = dict(r)
        for i in delete:
            table.pop(i, None)
        self.writes += 1


def clock():
    counter = itertools.count()
    return lambda: f"2026-01-01T00:00:{next(counter):02d}Z"


@pytest.fixture
def session():
    doc = make_document(TEXT)
    s = AnnotationSession(MemoryStore(), doc, "alice", load_labels(), clock=clock())
    s.use_sentences(SENTS)
    return s


def test_sentences_fixture_matches_text():
    assert [TEXT[s:e] for s, e in SENTS][1] == "Le président Macron parle à Paris."


def test_toggle_tag_and_undo_redo(session):
    session.toggle_tag(1, "quote")
    session.toggle_tag(1, "claim")
    assert session.sentence_tags() == {1: ["claim", "quote"]}
    session.toggle_tag(1, "quote")
    assert session.sentence_tags() == {1: ["claim"]}
    session.undo()
    assert session.sentence_tags() == {1: ["claim", "quote"]}
    session.undo()
    session.undo()
    assert session.sentence_tags() == {}
    assert session.undo() is None
    session.redo()
    assert session.sentence_tags() == {1: ["quote"]}
    session.toggle_tag(0, "event")
    assert session.redo() is None, "a new action clears the redo stack"


def test_tag_records_carry_offsets_quote_annotator_and_times(session):
    session.set_tag(1, "quote", on=True)
    [tag] = session.annotations("tag")
    assert (tag.start, tag.end) == SENTS[1]
    assert tag.quote.exact == TEXT[15:49] and tag.quote.prefix == TEXT[:15]
    assert tag.annotator == "alice" and tag.created and tag.updated == tag.created


def test_exclusive_labels_replace_each_other():
    labels = LabelSet((Label("a", 1, 0), Label("b", 2, 1)), exclusive=True)
    s = AnnotationSession(MemoryStore(), make_document(TEXT), "bob", labels)
    s.use_sentences(SENTS)
    s.toggle_tag(0, "a")
    s.toggle_tag(0, "b")
    assert s.sentence_tags() == {0: ["b"]}
    s.undo()
    assert s.sentence_tags() == {0: ["a"]}


def test_unknown_label_and_sentence(session):
    with pytest.raises(AnnotationError, match="unknown label 'nope'"):
        session.toggle_tag(0, "nope")
    with pytest.raises(AnnotationError, match="no sentence 7"):
        session.set_tag(7, "event", on=True)


def test_tags_follow_resegmentation(session):
    session.toggle_tag(1, "quote")
    session.toggle_tag(2, "event")
    # another model merges the first two sentences and splits the last one
    other = [(0, 49), (50, 60), (61, 71)]
    session.use_sentences(other)
    assert session.sentence_tags() == {0: ["quote"], 1: ["event"]}


def test_notes_add_edit_delete(session):
    session.add_note("sentence", *SENTS[1], "vérifier la citation")
    [note] = session.annotations("note")
    assert session.sentence_notes() == {1: [note]}
    session.edit_note(note.id, "citation vérifiée")
    [edited] = session.annotations("note")
    assert edited.text == "citation vérifiée" and edited.updated > edited.created
    session.add_note("document", 5, 9, "article partial")
    assert [n.target for n in session.annotations("note")] == ["document", "sentence"]
    session.delete_note(note.id)
    assert [n.target for n in session.annotations("note")] == ["document"]
    session.undo()
    assert len(session.annotations("note")) == 2
    with pytest.raises(AnnotationError, match="empty"):
        session.add_note("sentence", 0, 14, "   ")


def test_entity_decisions(session):
    predicted = [Span(28, 34, "PER"), Span(43, 48, "LOC"), Span(0, 7, "MISC")]
    states = session.entities(predicted)
    assert [s.status for s in states] == ["predicted"] * 3
    macron, paris = states[1], states[2]
    session.decide(macron, "accepted")
    session.decide(paris, "relabelled", "ORG")
    session.decide(states[0], "rejected")
    session.add_entity(15, 27, "MISC")
    states = session.entities(predicted)
    assert [(s.start, s.label, s.status) for s in states] == [
        (0, "MISC", "rejected"), (15, "MISC", "added"), (28, "PER", "accepted"), (43, "ORG", "relabelled")]
    assert states[3].predicted == "LOC"
    # the same decision twice takes it back
    session.decide(states[2], "accepted")
    assert session.entities(predicted)[2].status == "predicted"
    # rejecting an added entity removes it
    session.decide(session.entities(predicted)[1], "rejected")
    assert [s.status for s in session.entities(predicted)] == ["rejected", "predicted", "relabelled"]
    session.undo()
    assert len(session.entities(predicted)) == 4


def test_relabel_back_to_the_model_label_is_an_accept(session):
    [state] = session.entities([Span(28, 34, "PER")])
    session.decide(state, "relabelled", "PER")
    assert session.entities([Span(28, 34, "PER")])[0].status == "accepted"


def test_record_round_trip(session):
    session.add_note("entity", 28, 34, "qui ?")
    [note] = session.annotations("note")
    assert Annotation.from_record(note.to_record()) == note


def test_entity_states_keep_added_ones():
    decisions = [Annotation("x", "entity", 2, 4, "a", "t", "t", label="ORG", status="added")]
    assert entity_states([], decisions)[0].status == "added"


@given(st.lists(st.integers(0, 200), min_size=2, max_size=30, unique=True), st.integers(0, 199), st.integers(1, 30))
def test_sentence_of_picks_an_overlapping_sentence(cuts, start, length):
    cuts = sorted(set(cuts) | {0, 200})
    sentences = list(itertools.pairwise(cuts))
    starts = [s for s, _ in sentences]
    end = min(start + length, 200)
    index = sentence_of(start, end, sentences, starts)
    s, e = sentences[index]
    assert s < max(end, start + 1) and e > start


@given(st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["event", "claim", "quote"]), st.booleans()),
                max_size=25))
def test_tag_index_matches_a_full_recount(operations):
    doc = make_document(TEXT)
    store = MemoryStore()
    s = AnnotationSession(store, doc, "alice", load_labels(), clock=clock())
    s.use_sentences(SENTS)
    for index, label, undo in operations:
        s.toggle_tag(index, label)
        if undo:
            s.undo()
    fresh = AnnotationSession(store, doc, "alice", load_labels())
    fresh.use_sentences(SENTS)
    brute: dict[int, set[str]] = {}
    starts = [a for a, _ in SENTS]
    for record in store.records(doc.id, "alice").values():
        brute.setdefault(sentence_of(record["start"], record["end"], SENTS, starts), set()).add(record["label"])
    assert {k: set(v) for k, v in s.sentence_tags().items()} == brute
    assert fresh.sentence_tags() == s.sentence_tags()


def test_entity_labels_follow_the_name_grammar_from_any_front_end(tmp_path):
    from reader.annotations import AnnotationError
    from reader.documents import make_document
    from reader.labels import load_labels
    from reader.session import AnnotationSession
    from reader.store import Store

    doc = make_document("Emmanuel Macron est à Berlin.")
    store = Store(tmp_path / "store")
    store.add_document(doc.to_record())
    session = AnnotationSession(store, doc, "tester", load_labels())
    for bad in ("[/]", "PER\x1b[2J", " PER", ""):
        with pytest.raises(AnnotationError):
            session.add_entity(0, 15, bad)
    assert session.add_entity(0, 15, "PERSONNE") is not None
    store.close()


# --- a change says what it changed; one read model; one note order; ids made in one place -----------------


def test_a_change_names_its_kinds_and_sentences(session):
    change = session.toggle_tag(1, "quote")
    assert change.kinds == {"tag"} and change.sentences == {1}
    note = session.add_note("sentence", *SENTS[2], "à vérifier")
    assert note.kinds == {"note"} and note.sentences == {2}
    assert session.add_note("document", 0, 0, "daté").sentences == frozenset()
    [entity] = session.entities([Span(18, 27, "PER")])
    decision = session.decide(entity, "accepted")
    assert decision.kinds == {"entity"} and decision.sentences == frozenset()
    session.undo()
    session.undo()
    undone = session.undo()
    assert undone.kinds == {"note"} and undone.sentences == {2}, "undo says what it repainted too"
    assert session.redo().sentences == {2}


def test_the_session_owns_its_sentences(session):
    """The TUI gives the session its sentences once; later calls name a sentence by its index only."""
    session.toggle_tag(0, "event")
    assert session.sentences == SENTS
    assert session.labels_on(0) == ["event"] and session.progress() == (1, 3)
    with pytest.raises(AnnotationError, match="no sentence 3"):
        session.toggle_tag(3, "event")


def test_the_read_model_is_what_the_session_shows(session):
    session.toggle_tag(1, "quote")
    session.toggle_tag(1, "claim")
    session.add_note("sentence", *SENTS[1], "b")
    session.add_note("entity", 18, 27, "a")
    session.add_note("document", 0, 0, "doc")
    session.add_entity(28, 34, "PER")
    work = AnnotatorWork(session.store.records(session.doc.id, "alice"), SENTS, session.labels.names)
    assert work.tagged() == session.sentence_tags() == {1: ["claim", "quote"]}
    assert [r["id"] for r in work.sentence_notes(1)] == [n.id for n in session.notes_on(1)]
    assert work.counts == {"tag": 2, "note": 3, "entity": 1}
    assert list(work.decisions) == [(28, 34)]
    touched, latest = work.changed()
    assert set(touched) == {1} and latest == max(r["created"] for r in session.records().values())


def test_notes_under_one_anchor_are_in_the_order_they_were_written(session):
    """One note order everywhere (export's bytes depend on it): created, then author, then text, never ids."""
    texts = ["zèbre", "abeille", "mouche"]
    for text in texts:
        session.add_note("sentence", *SENTS[1], text)
    assert [n.text for n in session.notes_on(1)] == texts
    assert [n.text for n in session.annotations("note")] == texts
    assert sorted([{"created": "2", "annotator": "a", "text": "x"}, {"created": "1", "annotator": "b"}],
                  key=note_order)[0]["created"] == "1"


def test_record_ids_are_made_in_one_place():
    session = AnnotationSession(MemoryStore(), make_document(TEXT), "alice", load_labels(),
                                clock=lambda: "2026-01-01T00:00:00Z")
    session.use_sentences(SENTS)
    session.toggle_tag(1, "quote")
    session.add_note("document", 4, 9, "daté")
    session.add_entity(28, 34, "PER")
    ids = {a.kind: a.id for a in session.annotations()}
    [note] = session.annotations("note")
    assert ids == {"tag": tag_id(*SENTS[1], "quote"), "note": note_id("document", 0, 0, note.created, "daté"),
                   "entity": entity_id(28, 34)}
