"""The generated entity corpus (tests/ner_corpus.py) is what bench/bench_ner.py and the entity-model tests
learn from: its spans must be exact and token-aligned, and the base model must really make its errors."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import pytest
import spacy
from ner_corpus import LABELS, documents


def test_deterministic_and_exact() -> None:
    first, again = documents(30, seed=3), documents(30, seed=3)
    assert first == again
    assert first != documents(30, seed=4)
    tokenizer = spacy.blank("fr")
    for doc in first:
        spans = sorted(doc.entities)
        assert all(end <= start for (_, end, _), (start, _, _) in pairwise(spans))
        tokens = tokenizer(doc.text)
        for start, end, label in spans:
            assert label in LABELS
            assert doc.text[start:end] == doc.text[start:end].strip() != ""
            assert tokens.char_span(start, end) is not None, (doc.text[start:end], label)


def test_enough_examples_of_every_label() -> None:
    """About 150 FONCTION examples in 40 documents: the issue's "new label from ~150 examples"."""
    counts = Counter(label for doc in documents(40, seed=1) for *_, label in doc.entities)
    assert set(counts) == set(LABELS)
    assert 120 <= counts["FONCTION"] <= 200
    assert counts["MISC"] >= 80


@pytest.mark.slow
def test_the_base_model_makes_the_errors_analysts_correct() -> None:
    from reader import analysis

    nlp = spacy.load(analysis.choose_pipeline("fr"))
    found, missed, taxes = Counter(), Counter(), 0
    for doc in documents(15, seed=2):
        predicted = {(ent.start_char, ent.end_char, ent.label_) for ent in nlp(doc.text).ents}
        taxes += sum(ent.text in {"TVA", "CSG", "CRDS", "TICPE"} for ent in nlp(doc.text).ents)
        for span in doc.entities:
            (found if span in predicted else missed)[span[2]] += 1
    recall = {label: found[label] / (found[label] + missed[label]) for label in LABELS}
    assert recall["FONCTION"] == 0  # a label the model lacks
    assert recall["MISC"] < 0.7  # weapon systems as PER/ORG or with their common noun
    assert recall["PER"] > 0.9 and recall["LOC"] > 0.9  # what it knows, it knows
    assert taxes > 0  # fiscal acronyms taken for organisations
