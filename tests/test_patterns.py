"""Entity patterns (issue 21): made from added, relabelled and rejected entities only, the newer decision winning;
a removal sticks; applied by spaCy's span ruler, case-insensitively, on token boundaries; `reader patterns`."""

from __future__ import annotations

import pickle

import pytest
from conftest import TEST_MODEL

from reader import patterns
from reader.analysis import analyse, load_pipeline
from reader.patterns import Pattern, PatternError

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


def test_patterns_come_from_added_relabelled_and_rejected_entities_only():
    alice = records(decision(*span("ministre des Affaires étrangères"), "added", "FONCTION"),
                    decision(*span("Paris"), "accepted", "LOC", "LOC"),
                    {"id": "tag-1", "kind": "tag", "start": 0, "end": 20, "label": "claim"})
    bob = records(decision(*span("Corée du Nord"), "relabelled", "ORG", "LOC"),
                  decision(*span("Reuters"), "rejected", "MISC", "MISC"))
    found = patterns.collect([(TEXT, "alice", alice), (TEXT, "bob", bob)])
    assert [(p.label, p.surface, p.negative, p.annotators, p.count) for p in found] == [
        ("FONCTION", "ministre des Affaires étrangères", False, ("alice",), 1),
        ("MISC", "Reuters", True, ("bob",), 1),
        ("ORG", "Corée du Nord", False, ("bob",), 1),
    ]
    assert len({p.id for p in found}) == 3 and all(len(p.id) == 8 for p in found)
    assert patterns.collect([(TEXT, "alice", alice), (TEXT, "bob", bob)]) == found  # stable ids


def test_the_newer_decision_wins_and_corrections_add_up():
    other = "REUTERS a publié la dépêche."
    kept = (other, "carol", records(decision(*span("REUTERS", other), "added", "MISC", stamp="2026-02-01T00:00:00Z",
                                             text=other)))
    rejected = (TEXT, "bob", records(decision(*span("Reuters"), "rejected", "MISC", "MISC")))
    [p] = patterns.collect([rejected, kept])
    assert (p.negative, p.surface, p.annotators) == (False, "REUTERS", ("carol",))
    later = (TEXT, "bob", records(decision(*span("Reuters"), "rejected", "MISC", "MISC", stamp="2026-03-01T00:00:00Z")))
    [p] = patterns.collect([later, kept])
    assert p.negative and p.label == "MISC"
    again = (other, "alice", records(decision(*span("REUTERS", other), "added", "MISC", stamp="2026-02-02T00:00:00Z",
                                              text=other)))
    [p] = patterns.collect([kept, again])
    assert (p.count, p.annotators, p.created, p.updated) == (2, ("alice", "carol"), "2026-02-01T00:00:00Z",
                                                             "2026-02-02T00:00:00Z")


def test_the_digest_names_the_set_whatever_its_order():
    found = patterns.collect([(TEXT, "bob", records(decision(*span("Corée du Nord"), "relabelled", "ORG", "LOC"),
                                                     decision(*span("Reuters"), "rejected", "MISC", "MISC")))])
    assert patterns.digest([]) == ""
    assert patterns.digest(found) == patterns.digest(found[::-1]) != patterns.digest(found[:1])


def test_a_removal_sticks_until_a_newer_correction(tmp_path):
    alice = (TEXT, "alice", records(decision(*span("Paris"), "added", "LOC")))
    [p] = patterns.collect([alice])
    patterns.remove(tmp_path, p)
    assert patterns.in_use(patterns.collect([alice]), patterns.read_removed(tmp_path)) == []
    newer = (TEXT, "bob", records(decision(*span("Paris"), "added", "LOC", stamp="2999-01-01T00:00:00Z")))
    assert [q.id for q in patterns.in_use(patterns.collect([alice, newer]), patterns.read_removed(tmp_path))] == [p.id]


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


def test_count_matches_counts_mentions_on_token_boundaries():
    text = "Paris et PARIS, les Parisiens."
    tokens = [(0, 5), (6, 8), (9, 14), (14, 15), (16, 19), (20, 29), (29, 30)]
    [p] = patterns.collect([(text, "alice", records(decision(0, 5, "added", "LOC", text=text)))])
    assert patterns.count_matches([p], [(text, tokens), (text, [])]) == {p.id: 2}


# --- in the pipeline --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def nlp():
    return load_pipeline(TEST_MODEL)


def entities(nlp, text: str) -> dict[str, str]:
    result = analyse(nlp, text)
    starts, ends = {s for s, _ in result.tokens}, {e for _, e in result.tokens}
    assert all(e.start in starts and e.end in ends for e in result.entities)  # on token boundaries
    return {text[e.start:e.end]: e.label for e in result.entities}


def test_a_surface_corrected_in_one_text_is_found_in_the_next_any_case(nlp):
    text = "Hier, le ministre des affaires Étrangères a rencontré des diplomates à Berlin. La Corée du Nord a répondu."
    assert entities(nlp, text) == {"Étrangères": "LOC", "Berlin": "LOC", "Corée du Nord": "LOC"}
    found = patterns.collect([(TEXT, "alice", records(
        decision(*span("ministre des Affaires étrangères"), "added", "FONCTION"),
        decision(*span("Corée du Nord"), "relabelled", "ORG", "LOC")))])
    patterns.add_to_pipeline(nlp, found)
    try:  # the analysts' spans and labels over the model's, the model's other entities kept
        assert entities(nlp, text) == {"ministre des affaires Étrangères": "FONCTION", "Berlin": "LOC",
                                       "Corée du Nord": "ORG"}
        assert entities(nlp, "Un communiqué de la CORÉE DU NORD.") == {"CORÉE DU NORD": "ORG"}
    finally:
        patterns.add_to_pipeline(nlp, [])
    assert patterns.RULER not in nlp.pipe_names


def test_a_negative_pattern_removes_the_models_span(nlp):
    text = "Emmanuel Macron est arrivé à Paris avec Olaf Scholz."
    assert entities(nlp, text)["Paris"] == "LOC"
    found = patterns.collect([(TEXT, "bob", records(decision(*span("Paris"), "rejected", "LOC", "LOC")))])
    patterns.add_to_pipeline(nlp, found)
    try:
        after = entities(nlp, text.replace("Paris", "PARIS"))
        assert "PARIS" not in after and after.get("Olaf Scholz") == "PER"
        assert pickle.loads(pickle.dumps(nlp)).pipe_names[-1] == patterns.NOT_RULER  # nlp.pipe in child processes
    finally:
        patterns.add_to_pipeline(nlp, [])
    assert nlp.pipe_names == ["senter", "ner"]  # as loaded


def test_patterns_apply_to_a_pipeline_without_ner():
    blank = load_pipeline(None, "fr")
    patterns.add_to_pipeline(blank, patterns.collect([(TEXT, "alice", records(decision(*span("Paris"), "added", "LOC"),
                                                                             decision(*span("Reuters"), "rejected",
                                                                                      "ORG", "ORG")))]))
    assert entities(blank, "Il vit à PARIS.") == {"PARIS": "LOC"}


# --- reader patterns -------------------------------------------------------------------------------------------
