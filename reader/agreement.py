"""Agreement between annotators, for `reader agree`: where and how much analysts disagree before adjudication.

The definitions are the contract's (CONTRACT.md, "Agreement and adjudication"):

- Documents count when at least two of the chosen annotators touched them (any record: a tag, a note, an
  entity decision); their sentences are the items. Every annotator who touched a document says yes or no to
  each label on each of its sentences (no tag = no), so an analyst who only reviewed entities still counts as
  having set no label.
- Sentence labels: per label, Krippendorff's alpha (nominal) over every chosen annotator (the `krippendorff`
  package; a document an annotator did not touch is missing data for them) and Cohen's kappa per pair over the
  sentences of the documents both touched.
- Entities: an annotator's entities are what their export would hold, the model's entities they did not
  reject (relabelled as they relabelled them) plus the ones they added; so the model's entities nobody reviewed
  count for everyone who touched the document, as agreement. Per pair (`a` the reference): precision, recall and
  F1 of exact matches (start, end, label), and every span of either side without its match classed: `label`
  (the other side has the same offsets with another label), `boundary` (it overlaps a span of the other side
  with other offsets), `missing` (nothing of the other side overlaps it). So boundary + label + missing =
  unmatched spans of a + unmatched spans of b, and a relabel counts 2 (one on each side).
  F1 is 2·matches / (|a| + |b|), defined whenever either side has an entity. Per label, F1 over every pair.

A figure that is undefined (no item, or no variation for chance agreement to be measured against) is None,
never 0. Returns data only: `reader.cli` draws it and writes the JSON.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING

from reader.adjudication import is_adjudication
from reader.annotations import AnnotatorWork, merge_entities
from reader.stats import cohen_kappa

if TYPE_CHECKING:
    from reader.workspace import Workspace

Span = tuple[int, int, str]


@dataclass
class EntityPair:
    a: str
    b: str
    matches: int = 0
    in_a: int = 0
    in_b: int = 0
    boundary: int = 0
    label: int = 0
    missing: int = 0

    @property
    def precision(self) -> float | None:
        return figure(self.matches / self.in_b) if self.in_b else None

    @property
    def recall(self) -> float | None:
        return figure(self.matches / self.in_a) if self.in_a else None

    @property
    def f1(self) -> float | None:
        total = self.in_a + self.in_b
        return figure(2 * self.matches / total) if total else None


@dataclass
class LabelAgreement:
    alpha: float | None
    kappa: dict[tuple[str, str], float | None]
    """(a, b) -> Cohen's kappa of the pair on this label."""


@dataclass
class Agreement:
    annotators: list[str]
    documents: int
    sentences: int
    labels: dict[str, LabelAgreement]
    pairs: list[tuple[str, str]]
    entities: list[EntityPair]
    entity_f1: dict[str, float | None] = field(default_factory=dict)
    """Per entity label: F1 over every pair (matches and spans summed)."""

    def to_json(self) -> dict:
        """The contract's `reader agree --json` object (keys in its order)."""
        return {
            "annotators": self.annotators,
            "documents": self.documents,
            "sentences": self.sentences,
            "labels": {name: {"alpha": x.alpha,
                              "pairs": [{"a": a, "b": b, "kappa": x.kappa.get((a, b))} for a, b in self.pairs]}
                       for name, x in self.labels.items()},
            "entities": {
                "pairs": [{"a": p.a, "b": p.b, "precision": p.precision, "recall": p.recall, "f1": p.f1,
                           "boundary": p.boundary, "label": p.label, "missing": p.missing} for p in self.entities],
                "labels": {name: {"f1": f1} for name, f1 in self.entity_f1.items()},
            },
        }


def agreement(workspace: Workspace, annotators: Iterable[str] | None = None,
              doc_ids: Iterable[str] | None = None) -> Agreement:
    """Agreement of the chosen annotators (default: everyone but the adjudicated sets, `is_adjudication`) over
    the chosen documents (ids)."""
    with workspace.bulk_reads():
        return _agreement(workspace, annotators, doc_ids)


def _agreement(workspace: Workspace, annotators: Iterable[str] | None, doc_ids: Iterable[str] | None) -> Agreement:
    chosen = set(annotators) if annotators is not None else None
    label_names = list(workspace.labels.names)
    votes: list[tuple[int, dict[str, int]]] = []
    """One entry per sentence: (annotators who rated it, label -> how many of them set it)."""
    pair_items: dict[tuple[str, str], list[tuple[frozenset, frozenset]]] = {}
    pair_entities: dict[tuple[str, str], EntityPair] = {}
    per_label: dict[str, list[int]] = {}
    """Entity label -> [matches, in a, in b] summed over pairs."""
    seen: set[str] = set()
    documents = sentences_total = 0
    empty: frozenset[str] = frozenset()
    read = [(doc_id, {n: workspace.records(doc_id, n) for n in workspace.annotators(doc_id)
                      if chosen is None or n in chosen})
            for doc_id in (doc_ids if doc_ids is not None else workspace.document_ids())]
    adjudicated = {n for _, tables in read for n, t in tables.items() if is_adjudication(n, t.values())} \
        if chosen is None else set()
    """Names that hold an adjudicated set in any document read: never compared unless chosen."""
    for doc_id, tables in read:
        tables = {n: t for n, t in tables.items() if n not in adjudicated}
        touching = sorted(n for n, t in tables.items() if t)
        seen.update(touching)
        if len(touching) < 2:
            continue
        documents += 1
        _, _, _, sentences, predicted = workspace.analysis_parts(workspace.document(doc_id))
        sentences_total += len(sentences)
        predicted = [(s, e, label) for s, e, label in predicted]
        works = {n: AnnotatorWork(tables[n], sentences, label_names) for n in touching}
        tags = {n: {i: frozenset(x) for i, x in w.tagged().items()} for n, w in works.items()}
        for i in range(len(sentences)):
            yes: dict[str, int] = {}
            for n in touching:
                for name in tags[n].get(i, empty):
                    yes[name] = yes.get(name, 0) + 1
            votes.append((len(touching), yes))
        entities = {n: {(s, e, label) for s, e, label, status, _, _ in merge_entities(predicted, w.decisions)
                        if status != "rejected"} for n, w in works.items()}
        for a, b in combinations(touching, 2):
            items = pair_items.setdefault((a, b), [])
            items.extend((tags[a].get(i, empty), tags[b].get(i, empty)) for i in range(len(sentences)))
            pair = pair_entities.setdefault((a, b), EntityPair(a, b))
            _compare(pair, entities[a], entities[b], per_label)
    names = sorted(seen) if chosen is None else sorted(chosen)
    pairs = [pair for pair in combinations(names, 2) if pair in pair_items]
    """Only the pairs that touched a document together: another pair has nothing to agree on."""
    label_names += sorted({name for _, yes in votes for name in yes} - set(label_names))
    labels = {}
    for name in label_names:
        rows = [(voters - yes.get(name, 0), yes.get(name, 0)) for voters, yes in votes]
        kappa = {}
        for pair in pairs:
            items = pair_items.get(pair, [])
            kappa[pair] = figure(cohen_kappa([name in x for x, _ in items], [name in y for _, y in items]))
        labels[name] = LabelAgreement(alpha_nominal(rows), kappa)
    entity_pairs = [pair_entities.get(pair) or EntityPair(*pair) for pair in pairs]
    entity_f1 = {label: (figure(2 * m / (x + y)) if x + y else None) for label, (m, x, y) in sorted(per_label.items())}
    return Agreement(names, documents, sentences_total, labels, pairs, entity_pairs, entity_f1)


def _compare(pair: EntityPair, a: set[Span], b: set[Span], per_label: dict[str, list[int]]) -> None:
    matched = a & b
    pair.matches += len(matched)
    pair.in_a += len(a)
    pair.in_b += len(b)
    for s, e, label in a:
        row = per_label.setdefault(label, [0, 0, 0])
        row[1] += 1
        if (s, e, label) in b:
            row[0] += 1
    for _, _, label in b:
        per_label.setdefault(label, [0, 0, 0])[2] += 1
    for mine, other in ((a - matched, b), (b - matched, a)):
        if not mine:
            continue
        offsets = {(s, e) for s, e, _ in other}
        for s, e, _ in mine:
            if (s, e) in offsets:
                pair.label += 1
            elif any(x < e and s < y for x, y in offsets):
                pair.boundary += 1
            else:
                pair.missing += 1


def alpha_nominal(rows: list[tuple[int, int]]) -> float | None:
    """Krippendorff's alpha (nominal) of yes/no ratings given as (no, yes) counts per item; None when undefined
    (no item with two ratings, or one value everywhere: no disagreement to expect)."""
    rows = [r for r in rows if r[0] + r[1] >= 2]
    if not rows or all(r[1] == 0 for r in rows) or all(r[0] == 0 for r in rows):
        return None
    import krippendorff  # numpy: imported when there is something to measure
    import numpy as np

    value = float(krippendorff.alpha(value_counts=np.array(rows, dtype=float), level_of_measurement="nominal"))
    return None if math.isnan(value) else figure(value)


def figure(value: float | None) -> float | None:
    """A figure rounded to 12 decimals, so float noise never shows (a kappa of -3e-16 is 0, not "-0.00")."""
    return None if value is None else round(value, 12) + 0.0
