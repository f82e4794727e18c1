"""Adjudication, shared by `reader merge` and the review screen so they agree on what an item is (a tagged
sentence, or a group of overlapping entity spans), what a rule accepts (a whole version or nothing) and what gold
writes (`from` and `versions` on every record). Merge never overwrites an item gold decided."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reader.annotations import (
    GOLD,
    REVIEW,
    Annotation,
    AnnotatorWork,
    entity_id,
    merge_entities,
    quote_at,
    review_id,
    same_but_times,
    tag_id,
)
from reader.documents import Document
from reader.items import (
    AdjudicationError,
    EntityItem,
    EntityVersion,
    Item,
    Resolution,
    Rule,
    SentenceItem,
    Span,
    entity_items,
    is_adjudication,
    item_key,
    parse_rule,
    resolve,
    sentence_items,
    version_key,
    who_has,
)
from reader.session import AnnotationSession, Change

__all__ = ["AdjudicationError", "DocumentItems", "EntityItem", "EntityVersion", "Item", "MergeResult", "Resolution",
           "Rule", "SentenceItem", "document_items", "is_adjudication", "item_key", "merge", "merge_document",
           "parse_rule", "resolve", "take", "take_all", "take_none", "take_version"]

if TYPE_CHECKING:
    from reader.workspace import Workspace


@dataclass
class DocumentItems:
    """Everything adjudication needs of one document: its items, and what they were read from."""

    doc: Document
    sentences: list[tuple[int, int]]
    predicted: list[Span]
    annotators: list[str]  # the chosen annotators who touched the document, sorted
    sentence_items: list[SentenceItem] = field(default_factory=list)
    entity_items: list[EntityItem] = field(default_factory=list)
    works: dict[str, AnnotatorWork] = field(default_factory=dict)  # each touching annotator's, and `into`'s

    def items(self) -> list[Item]:
        return sorted([*self.sentence_items, *self.entity_items], key=item_key)

    def conflicts(self, rule: Rule) -> list[Item]:
        """Items gold has not decided that `rule` does not settle."""
        return [i for i in self.items() if i.gold is None and not resolve(i, rule).settled]

    def entities(self, name: str) -> set[Span]:
        """An annotator's entities on the whole document (the contract's definition)."""
        decisions = self.works[name].decisions if name in self.works else {}
        return {(s, e, label) for s, e, label, status, _, _ in merge_entities(self.predicted, decisions)
                if status != "rejected"}


def document_items(workspace: Workspace, doc_id: str, annotators: Iterable[str] | None = None,
                   into: str = GOLD, *, parts: tuple | None = None) -> DocumentItems:
    """The items of one document for the chosen annotators (default: all but the adjudicated sets) who touched it;
    `parts`: `Workspace.analysis_parts(doc)` when the caller has it (the slow read)."""
    doc = workspace.document(doc_id)
    stored = workspace.annotators(doc_id)
    tables = {name: workspace.records(doc_id, name) for name in (stored if annotators is None else annotators)
              if name in stored and name != into}
    if annotators is None:  # adjudicated sets (gold, another `--into`) are voters only when named
        tables = {name: table for name, table in tables.items() if not is_adjudication(name, table.values())}
    touching = sorted(name for name, table in tables.items() if table)
    gold_records = workspace.records(doc_id, into) if into in stored else {}
    if not touching and not gold_records:
        return DocumentItems(doc, [], [], [])
    if parts is None:
        parts = workspace.analysis_parts(doc)
    sentences = [tuple(s) for s in parts[3]]
    predicted = [(s, e, label) for s, e, label in parts[4]]
    labels = workspace.labels.names
    works = {name: AnnotatorWork(tables[name], sentences, labels) for name in touching}
    gold = AnnotatorWork(gold_records, sentences, labels) if gold_records else None
    return DocumentItems(doc, sentences, predicted, touching, sentence_items(sentences, works, gold),
                         entity_items(predicted, works, gold),
                         works if gold is None else {**works, into: gold})


def gold_session(workspace: Workspace, doc_id: str, into: str = GOLD,
                 sentences: Sequence[tuple[int, int]] | None = None) -> AnnotationSession:
    session = workspace.session(workspace.document(doc_id), into)
    if sentences is None and not session.sentences:
        sentences = workspace.analysis_parts(session.doc)[3]
    if sentences is not None:
        session.use_sentences([tuple(s) for s in sentences])
    return session


def versions_record(item: Item) -> tuple[dict, ...]:
    """The item's versions as kept on gold records (`versions`): who had what, most common first."""
    if isinstance(item, SentenceItem):
        return tuple({"annotators": list(names), "labels": sorted(labels)} for labels, names in item.groups())
    return tuple({"annotators": list(names),
                  "spans": [{"start": s, "end": e, "label": label} for s, e, label in sorted(version.spans)]}
                 for version, names in item.groups())


def take(session: AnnotationSession, item: Item, name: str) -> Change | None:
    if name not in item.versions:
        raise AdjudicationError(f"{name!r} has no version of this item (annotators: {', '.join(item.versions)})")
    key = version_key(item.versions[name])
    return take_version(session, item, key, who_has(item, key))


def take_all(session: AnnotationSession, item: Item) -> Change | None:
    """Take the union of every annotator's version (labels, or spans: overlapping spans may result)."""
    union = frozenset().union(*map(version_key, item.versions.values()))
    return take_version(session, item, union, tuple(item.versions))


def take_none(session: AnnotationSession, item: Item) -> Change | None:
    """No label on the sentence, or no entity in the item (the model's included)."""
    return take_version(session, item, frozenset(), who_has(item, frozenset()))


def take_version(session: AnnotationSession, item: Item, version: Iterable, sources: Sequence[str]) -> Change | None:
    """Make gold's version of the item exactly `version` in one undo step (None: it is); `sources` go in `from`."""
    upsert, delete, description = plan_version(session, item, frozenset(version), tuple(sources), explicit=True)
    return session.apply(description, upsert=upsert, delete=delete) if upsert or delete else None


def plan_version(session: AnnotationSession, item: Item, version: frozenset, sources: tuple[str, ...], *,
                 explicit: bool) -> tuple[list[Annotation], list[str], str]:
    """(records to write, ids to delete, description) that make gold's version of `item` equal `version`; a
    reviewer's (`explicit`) decides every span and an empty sentence, merge only what differs from the model."""
    stamp = session.clock()
    records = session.records()
    kept = versions_record(item)
    upsert: list[Annotation] = []
    delete: list[str] = []

    def write(kind: str, start: int, end: int, ident: str, who: Sequence[str], was: str | None = None,
              **fields) -> None:
        """Upsert the record unless the one stored as `was` (default: `ident`) is the same but for its times."""
        created = (records.get(ident) or {}).get("created", stamp)
        new = Annotation(ident, kind, start, end, session.annotator, created, stamp,
                         quote_at(session.doc.text, start, end), sources=tuple(sorted(who)), versions=kept, **fields)
        if not same_but_times(new.to_record(), records.get(was or ident)):
            upsert.append(new)

    if isinstance(item, SentenceItem):
        existing = {r["label"]: ident for ident, r in session.work.tags.get(item.index, {}).items()}
        for label in sorted(version):
            who = [n for n, labels in item.versions.items() if label in labels] or list(sources)
            ident = tag_id(item.start, item.end, label)
            write("tag", item.start, item.end, ident, who, existing.get(label, ident), label=label)
        delete += [ident for label, ident in existing.items() if label not in version]
        review = review_id(item.start, item.end)
        if explicit and not version:
            write(REVIEW, item.start, item.end, review, (), target="sentence")  # who: in `versions`
        elif review in records:
            delete.append(review)
        names = ", ".join(sorted(version)) or "no label"
        return upsert, delete, f"gold: {names} on sentence {item.index + 1}"
    model = {(s, e): label for s, e, label in item.predicted}
    chosen = {(s, e): label for s, e, label in version}
    every = set(model) | set(chosen) | {(s, e) for v in item.versions.values() for s, e, _ in v.spans}
    gold_decisions = session.work.decisions
    every |= {span for span in gold_decisions if item.start <= span[0] and span[1] <= item.end}
    for span in sorted(every):
        s, e = span
        ident = (gold_decisions.get(span) or {}).get("id") or entity_id(s, e)
        predicted = model.get(span, "")
        if span in chosen:
            label = chosen[span]
            if not predicted:
                status = "added"
            elif label != predicted:
                status = "relabelled"
            else:
                status = "accepted" if explicit else ""
        elif predicted:
            label, status = predicted, "rejected"
        else:  # an added span left out: a reviewer rejects it, merge leaves it undecided
            label = next((lb for v in item.versions.values() for x, y, lb in sorted(v.spans) if (x, y) == span),
                         (gold_decisions.get(span) or {}).get("label", "")) if explicit else ""
            status = "rejected" if label else ""
        if not status:
            if span in gold_decisions:
                delete.append(ident)
            continue
        write("entity", s, e, ident, sources, label=label, status=status,
              predicted=predicted or (label if status == "rejected" else ""))
    shown = ", ".join(f"{label} {s}-{e}" for s, e, label in sorted(version)) or "no entity"
    return upsert, delete, f"gold: {shown}"


@dataclass(frozen=True)
class MergeResult:
    doc_id: str
    title: str
    annotators: tuple[str, ...]
    agreed: int  # items the rule settles; `conflicts` it leaves for review; `kept` gold had decided already
    conflicts: int
    kept: int
    written: int  # gold records written or deleted
    skipped: tuple = ()  # damaged files: nothing is merged, as a vote without one of them would make gold lie


def merge_document(workspace: Workspace, doc_id: str, rule: Rule, annotators: Iterable[str] | None = None,
                   into: str = GOLD, *, session: AnnotationSession | None = None,
                   items: DocumentItems | None = None) -> MergeResult:
    """Write what `rule` accepts of every item gold has not decided, in one undo step; a second run writes nothing."""
    if items is None:
        items = document_items(workspace, doc_id, annotators, into)
    damaged = tuple(workspace.damage(doc_id))
    if damaged:
        return MergeResult(doc_id, items.doc.title, tuple(items.annotators), 0, 0, 0, 0, damaged)
    every = items.items()
    undecided = [item for item in every if item.gold is None]
    settled = [(item, result) for item in undecided if (result := resolve(item, rule)).settled]
    upsert: list[Annotation] = []
    delete: list[str] = []
    if settled and session is None:
        session = gold_session(workspace, doc_id, into, items.sentences)
    for item, result in settled:
        version = frozenset(result.labels) if isinstance(item, SentenceItem) else result.spans
        more, gone, _ = plan_version(session, item, version or frozenset(), result.sources, explicit=False)
        upsert += more
        delete += gone
    if upsert or delete:
        session.apply(f"merge ({rule})", upsert=upsert, delete=delete)
    return MergeResult(doc_id, items.doc.title, tuple(items.annotators), len(settled), len(undecided) - len(settled),
                       len(every) - len(undecided), len(upsert) + len(delete))


def merge(workspace: Workspace, rule: Rule, annotators: Iterable[str] | None = None,
          doc_ids: Iterable[str] | None = None, into: str = GOLD) -> list[MergeResult]:
    chosen = list(annotators) if annotators is not None else None
    if chosen is not None and into in chosen:
        raise AdjudicationError(f"{into!r} cannot be merged into itself: leave it out of --only")
    with workspace.bulk_reads():
        return [merge_document(workspace, doc_id, rule, chosen, into)
                for doc_id in (doc_ids if doc_ids is not None else workspace.document_ids())]
