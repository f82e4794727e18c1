"""Stats: progress per annotator and agreement between annotators, for `reader stats`.

A team lead needs to know who did what and whether the label definitions are understood the same way, so
agreement is measured on sentence labels: for every pair of annotators, over the sentences of the documents
both tagged (at least one tag each: an analyst who only reviewed entities has not made the tagging pass),
Cohen's kappa per label (each label a yes/no decision per sentence) and the share of sentences given exactly
the same labels. Adjudicated sets (`gold`, see `reader.adjudication.is_adjudication`) have their progress
counted but are not compared: they copy the annotators. Read-only; the model is loaded only for a document
that has no cached analysis.

Returns data only: drawing it is the front end's job (`reader.tables.render_stats`), which keeps every value
out of markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING

from reader.adjudication import is_adjudication
from reader.annotations import DISMISSAL, AnnotatorWork

if TYPE_CHECKING:
    from reader.workspace import Workspace

DECISIONS = ("accepted", "relabelled", "added", "rejected")


@dataclass
class AnnotatorStats:
    name: str
    documents: int = 0
    """Documents with at least one annotation by this annotator."""
    tagged_sentences: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    """Sentences tagged with each label."""
    notes: int = 0
    decisions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DECISIONS, 0))
    """Entity decisions by status."""


@dataclass
class Agreement:
    first: str
    second: str
    documents: int
    """Documents both annotators tagged."""
    sentences: int
    """Sentences of those documents: the items compared."""
    percent: float | None
    """Share (0-1) of sentences given exactly the same set of labels; None without shared sentences."""
    kappa: dict[str, float | None]
    """Cohen's kappa per label; None where it is undefined (neither or both used the label everywhere)."""


@dataclass
class ModelStats:
    """What one annotator did with one trained model's suggestions (`reader.suggest`), in sentences."""

    model: str
    annotator: str
    accepted: int = 0
    """Sentences holding the model's accepted tags and no hand tag."""
    dismissed: int = 0
    """Sentences where the model's suggestion was dismissed and nothing was tagged by hand."""
    corrected: int = 0
    """Sentences the model suggested (accepted or dismissed) that the analyst tagged with other labels by hand."""


@dataclass
class Stats:
    documents: int
    labels: list[str]
    annotators: list[AnnotatorStats]
    agreement: list[Agreement]
    models: list[ModelStats] = field(default_factory=list)
    """Per model and annotator, sorted; empty when nobody accepted or dismissed a suggestion."""


def suggestion_outcomes(records: Iterable[dict]) -> dict[str, tuple[int, int, int]]:
    """{model: (accepted, dismissed, corrected)} over one annotator's records of one document.

    Tags and dismissals are grouped by their offsets, which are their sentence's (an accepted suggestion, a hand
    tag and a dismissal of one sentence share them): no analysis is read, so the library can count in the UI
    process without the model."""
    by_sentence: dict[tuple[int, int], list[dict]] = {}
    for r in records:
        if r.get("kind") in ("tag", DISMISSAL):
            by_sentence.setdefault((r["start"], r["end"]), []).append(r)
    out: dict[str, list[int]] = {}
    for group in by_sentence.values():
        suggested = {r["model"] for r in group if r.get("model")}
        if not suggested:
            continue
        by_hand = any(r["kind"] == "tag" and not r.get("model") for r in group)
        for model in suggested:
            accepted = any(r["kind"] == "tag" and r.get("model") == model for r in group)
            out.setdefault(model, [0, 0, 0])[2 if by_hand else 0 if accepted else 1] += 1
    return {model: (a, d, c) for model, (a, d, c) in out.items()}


def suggestion_stats(workspace: Workspace, doc_ids: Iterable[str] | None = None) -> list[ModelStats]:
    """Accepted, dismissed and corrected sentences per model and annotator, sorted (see `ModelStats`)."""
    models: dict[tuple[str, str], ModelStats] = {}
    for doc_id in workspace.document_ids() if doc_ids is None else doc_ids:
        for name in workspace.annotators(doc_id):
            add_outcomes(models, name, workspace.records(doc_id, name).values())
    return [models[key] for key in sorted(models)]


def add_outcomes(models: dict[tuple[str, str], ModelStats], annotator: str, records: Iterable[dict]) -> None:
    for model, (accepted, dismissed, corrected) in suggestion_outcomes(records).items():
        m = models.setdefault((model, annotator), ModelStats(model, annotator))
        m.accepted += accepted
        m.dismissed += dismissed
        m.corrected += corrected


def cohen_kappa(a: list[bool], b: list[bool]) -> float | None:
    """Cohen's kappa of two binary ratings of the same items; None when chance agreement is total."""
    n = len(a)
    if n == 0 or n != len(b):
        return None
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    if expected >= 1:
        return None
    return (observed - expected) / (1 - expected)


def stats(workspace: Workspace) -> Stats:
    """Read through `AnnotatorWork`, as export and the session read: the same sentence for every tag. A
    document's analysis is read only when one of its annotators tagged or noted a sentence."""
    names = list(workspace.labels.names)
    per: dict[str, AnnotatorStats] = {}
    tags: dict[str, dict[str, dict[int, frozenset[str]]]] = {}
    """doc id -> annotator -> sentence -> labels (only annotators who tagged the document)."""
    sentence_counts: dict[str, int] = {}
    models: dict[tuple[str, str], ModelStats] = {}
    adjudicated: set[str] = set()
    """Adjudicated sets (gold, merge and review targets): progress like anyone, but not compared."""
    doc_ids = workspace.document_ids()
    for doc_id in doc_ids:
        sentences: list | None = None

        def load(doc_id: str = doc_id) -> list:
            nonlocal sentences
            if sentences is None:
                sentences = workspace.analysis_parts(workspace.document(doc_id))[3]
            return sentences

        for name in workspace.annotators(doc_id):
            records = workspace.records(doc_id, name)
            if not records:
                continue
            if is_adjudication(name, records.values()):
                adjudicated.add(name)
            work = AnnotatorWork(records, load, names)
            who = per.setdefault(name, AnnotatorStats(name, labels=dict.fromkeys(names, 0)))
            who.documents += 1
            who.notes += work.counts.get("note", 0)
            for decision in work.decisions.values():
                status = decision.get("status", "")
                who.decisions[status] = who.decisions.get(status, 0) + 1
            add_outcomes(models, name, records.values())
            tagged = work.tagged()
            if tagged:
                sentence_counts[doc_id] = len(load())
                who.tagged_sentences += len(tagged)
                for labels in tagged.values():
                    for label in labels:
                        who.labels[label] = who.labels.get(label, 0) + 1
                tags.setdefault(doc_id, {})[name] = {i: frozenset(x) for i, x in tagged.items()}
    annotators = [per[name] for name in sorted(per)]
    extra = sorted({label for a in annotators for label in a.labels} - set(names))
    labels = names + extra
    for a in annotators:
        a.labels = {label: a.labels.get(label, 0) for label in labels}
    agreement = [_agreement(a, b, tags, sentence_counts, labels)
                 for a, b in combinations([a.name for a in annotators if a.name not in adjudicated], 2)]
    return Stats(len(doc_ids), labels, annotators, [x for x in agreement if x.documents],
                 [models[key] for key in sorted(models)])


def _agreement(first: str, second: str, tags: dict, sentence_counts: dict[str, int], labels: list[str]) -> Agreement:
    pairs: list[tuple[frozenset[str], frozenset[str]]] = []
    documents = 0
    empty: frozenset[str] = frozenset()
    for doc_id, by_annotator in tags.items():
        if first not in by_annotator or second not in by_annotator:
            continue
        documents += 1
        a, b = by_annotator[first], by_annotator[second]
        pairs.extend((a.get(i, empty), b.get(i, empty)) for i in range(sentence_counts[doc_id]))
    percent = sum(x == y for x, y in pairs) / len(pairs) if pairs else None
    kappa = {label: cohen_kappa([label in x for x, _ in pairs], [label in y for _, y in pairs]) for label in labels}
    return Agreement(first, second, documents, len(pairs), percent, kappa)


def percent_text(value: float | None, percent: bool = False) -> str:
    """A figure as shown in `reader stats`: two decimals, or a whole percentage; – when undefined."""
    if value is None:
        return "–"
    return f"{value:.0%}" if percent else f"{value:.2f}"
