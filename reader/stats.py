"""Stats for `reader stats`: who did what, and agreement from `reader.agreement` (the kappa `reader agree` shows)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, partial
from typing import TYPE_CHECKING

from reader.agreement import PairAgreement, agreement
from reader.annotations import AnnotatorWork, ModelStats, add_outcomes

if TYPE_CHECKING:
    from reader.workspace import Workspace

DECISIONS = ("accepted", "relabelled", "added", "rejected")


@dataclass
class AnnotatorStats:
    name: str
    documents: int = 0  # with at least one annotation by this annotator
    tagged_sentences: int = 0
    labels: dict[str, int] = field(default_factory=Counter)  # sentences tagged with each label
    notes: int = 0
    decisions: Counter[str] = field(default_factory=lambda: Counter(dict.fromkeys(DECISIONS, 0)))


@dataclass
class Stats:
    documents: int
    labels: list[str]
    annotators: list[AnnotatorStats]
    agreement: list[PairAgreement]
    models: list[ModelStats] = field(default_factory=list)


def suggestion_stats(workspace: Workspace, doc_ids: Iterable[str] | None = None) -> list[ModelStats]:
    """Accepted, dismissed and corrected sentences per model and annotator, sorted (see `ModelStats`)."""
    models: dict[tuple[str, str], ModelStats] = {}
    for doc_id in workspace.document_ids() if doc_ids is None else doc_ids:
        for name in workspace.annotators(doc_id):
            add_outcomes(models, name, workspace.records(doc_id, name).values())
    return [models[key] for key in sorted(models)]


def stats(workspace: Workspace) -> Stats:
    """A document's analysis is read only when one of its annotators tagged or noted a sentence."""
    names = list(workspace.labels.names)
    per: dict[str, AnnotatorStats] = {}
    models: dict[tuple[str, str], ModelStats] = {}
    doc_ids = workspace.document_ids()
    sentences = cache(lambda doc_id: workspace.analysis_parts(workspace.document(doc_id))[3])
    with workspace.bulk_reads():
        for doc_id in doc_ids:
            for name in workspace.annotators(doc_id):
                records = workspace.records(doc_id, name)
                if not records:
                    continue
                work = AnnotatorWork(records, partial(sentences, doc_id), names)
                who = per.setdefault(name, AnnotatorStats(name, labels=Counter(dict.fromkeys(names, 0))))
                who.documents += 1
                who.notes += work.counts.get("note", 0)
                who.decisions.update(decision.get("status", "") for decision in work.decisions.values())
                add_outcomes(models, name, records.values())
                tagged = work.tagged()
                who.tagged_sentences += len(tagged)
                who.labels.update(label for labels in tagged.values() for label in labels)
        pairs = agreement(workspace, doc_ids=doc_ids).tag_pairs
    annotators = [per[name] for name in sorted(per)]
    labels = names + sorted({label for a in annotators for label in a.labels} - set(names))
    for a in annotators:
        a.labels = {label: a.labels.get(label, 0) for label in labels}
    for pair in pairs:
        pair.kappa = {label: pair.kappa.get(label) for label in labels}
    return Stats(len(doc_ids), labels, annotators, pairs, [models[key] for key in sorted(models)])


def percent_text(value: float | None, percent: bool = False) -> str:
    """A figure as shown in `reader stats`: two decimals, or a whole percentage; – when undefined."""
    if value is None:
        return "–"
    return f"{value:.0%}" if percent else f"{value:.2f}"
