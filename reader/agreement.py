"""Agreement between annotators, measured once for `reader agree` and `reader stats`, on the contract's units
(CONTRACT.md, "Agreement and adjudication"); an undefined figure is None, never 0."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING

from reader.adjudication import is_adjudication
from reader.annotations import AnnotatorWork

if TYPE_CHECKING:
    from reader.workspace import Workspace

Span = tuple[int, int, str]
Tags = frozenset[str]


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
        return ratio(self.matches, self.in_b)

    @property
    def recall(self) -> float | None:
        return ratio(self.matches, self.in_a)

    @property
    def f1(self) -> float | None:
        return ratio(2 * self.matches, self.in_a + self.in_b)


@dataclass
class PairAgreement:
    """Sentence labels of one pair over the documents both touched: the one kappa `stats` and `agree` show."""

    first: str
    second: str
    documents: int = 0
    items: list[tuple[Tags, Tags]] = field(default_factory=list, repr=False)  # (first's, second's) per sentence
    kappa: dict[str, float | None] = field(default_factory=dict)  # per label

    @property
    def sentences(self) -> int:
        return len(self.items)

    @property
    def percent(self) -> float | None:
        """Share (0-1) of sentences given exactly the same labels."""
        return sum(x == y for x, y in self.items) / len(self.items) if self.items else None


@dataclass
class LabelAgreement:
    alpha: float | None
    kappa: dict[tuple[str, str], float | None]  # (a, b) -> the pair's kappa on this label


@dataclass
class Agreement:
    annotators: list[str]
    documents: int
    sentences: int
    labels: dict[str, LabelAgreement]
    pairs: list[tuple[str, str]]
    entities: list[EntityPair]
    entity_f1: dict[str, float | None] = field(default_factory=dict)  # per label, matches and spans of all pairs
    tag_pairs: list[PairAgreement] = field(default_factory=list)

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
    """Agreement of the chosen annotators (default: everyone but the adjudicated sets) over the documents."""
    chosen = set(annotators) if annotators is not None else None
    label_names = list(workspace.labels.names)
    votes: list[tuple[int, Counter[str]]] = []  # per sentence: (annotators who rated it, label -> how many set it)
    tag_pairs: dict[tuple[str, str], PairAgreement] = {}
    pair_entities: dict[tuple[str, str], EntityPair] = {}
    per_label: tuple[Counter[str], ...] = (Counter(), Counter(), Counter())  # entity labels matched, in a, in b
    seen: set[str] = set()
    documents = sentences_total = 0
    with workspace.bulk_reads():
        read = [(doc_id, {n: workspace.records(doc_id, n) for n in workspace.annotators(doc_id)
                          if chosen is None or n in chosen})
                for doc_id in (doc_ids if doc_ids is not None else workspace.document_ids())]
        adjudicated = {n for _, tables in read for n, t in tables.items() if is_adjudication(n, t.values())} \
            if chosen is None else set()  # in any document read: never compared unless chosen
        for doc_id, tables in read:
            touching = sorted(n for n, t in tables.items() if t and n not in adjudicated)
            seen.update(touching)
            if len(touching) < 2:
                continue
            documents += 1
            _, _, _, sentences, predicted = workspace.analysis_parts(workspace.document(doc_id))
            sentences_total += len(sentences)
            works = {n: AnnotatorWork(tables[n], sentences, label_names) for n in touching}
            tags = {n: [frozenset(w.labels(i)) for i in range(len(sentences))] for n, w in works.items()}
            votes += [(len(touching), Counter(name for n in touching for name in tags[n][i]))
                      for i in range(len(sentences))]
            entities = {n: {(s, e, label) for s, e, label, status, _, _ in w.entities(map(tuple, predicted))
                            if status != "rejected"} for n, w in works.items()}
            for a, b in combinations(touching, 2):
                pair = tag_pairs.setdefault((a, b), PairAgreement(a, b))
                pair.documents += 1
                pair.items.extend(zip(tags[a], tags[b], strict=True))
                _compare(pair_entities.setdefault((a, b), EntityPair(a, b)), entities[a], entities[b], per_label)
    names = sorted(seen) if chosen is None else sorted(chosen)
    pairs = [pair for pair in combinations(names, 2) if pair in tag_pairs]  # those that touched a document together
    label_names += sorted({name for _, yes in votes for name in yes} - set(label_names))
    for pair in tag_pairs.values():
        pair.kappa = {name: figure(cohen_kappa([name in x for x, _ in pair.items], [name in y for _, y in pair.items]))
                      for name in label_names}
    labels = {name: LabelAgreement(alpha_nominal([(n - yes[name], yes[name]) for n, yes in votes]),
                                   {pair: tag_pairs[pair].kappa[name] for pair in pairs})
              for name in label_names}
    matches, in_a, in_b = per_label
    entity_f1 = {label: ratio(2 * matches[label], in_a[label] + in_b[label]) for label in sorted(in_a | in_b)}
    return Agreement(names, documents, sentences_total, labels, pairs, [pair_entities[pair] for pair in pairs],
                     entity_f1, [tag_pairs[pair] for pair in pairs])


def _compare(pair: EntityPair, a: set[Span], b: set[Span], per_label: tuple[Counter[str], ...]) -> None:
    matched = a & b
    pair.matches += len(matched)
    pair.in_a += len(a)
    pair.in_b += len(b)
    for counts, spans in zip(per_label, (matched, a, b), strict=True):
        counts.update(label for _, _, label in spans)
    for mine, other in ((a - matched, b), (b - matched, a)):
        offsets = {(s, e) for s, e, _ in other}
        for s, e, _ in mine:
            if (s, e) in offsets:
                pair.label += 1
            elif any(x < e and s < y for x, y in offsets):
                pair.boundary += 1
            else:
                pair.missing += 1


def cohen_kappa(a: list[bool], b: list[bool]) -> float | None:
    """Cohen's kappa of two binary ratings of the same items; None when chance agreement is total."""
    n = len(a)
    if n == 0 or n != len(b):
        return None
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    return None if expected >= 1 else (observed - expected) / (1 - expected)


def alpha_nominal(rows: list[tuple[int, int]]) -> float | None:
    """Krippendorff's alpha (nominal) of (no, yes) counts per item; None with nothing to measure."""
    rows = [r for r in rows if r[0] + r[1] >= 2]
    if not rows or all(r[1] == 0 for r in rows) or all(r[0] == 0 for r in rows):
        return None
    import krippendorff  # numpy: imported when there is something to measure
    import numpy as np

    value = float(krippendorff.alpha(value_counts=np.array(rows, dtype=float), level_of_measurement="nominal"))
    return None if math.isnan(value) else figure(value)


def ratio(part: float, whole: float) -> float | None:
    return figure(part / whole) if whole else None


def figure(value: float | None) -> float | None:
    """A figure rounded to 12 decimals, so float noise never shows (a kappa of -3e-16 is 0, not "-0.00")."""
    return None if value is None else round(value, 12) + 0.0
