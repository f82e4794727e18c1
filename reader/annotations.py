"""Annotations: sentence tags, notes and entity decisions as records, their ids, and one analyst's read model.
Anchored by character offsets plus a quote selector, never by sentence number: sentences move when the model
changes, text when an article is re-imported."""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any, Protocol, TypeVar

CONTEXT = 32
DISMISSAL = "dismissal"  # the kind of the record of a suggested label turned down (`reader.suggest`)
GOLD = "gold"  # the adjudicated set `reader merge` and `reader review` write by default
REVIEW = "review"  # the kind of the record that says gold decided a sentence with no label
DONE = "done"  # the kind of the record that says an annotator finished (so reviewed) a whole document


class AnnotationError(Exception):
    """An operation that cannot be done; the message is for the user."""


class RecordStore(Protocol):
    """What annotations need from the store (see reader.store.Store)."""

    read_only: bool

    def records(self, doc_id: str, annotator: str) -> dict[str, dict]: ...

    def write(self, doc_id: str, annotator: str, upsert: Iterable[dict] = (), delete: Iterable[str] = ()) -> None: ...


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Quote:
    exact: str = ""
    prefix: str = ""
    suffix: str = ""


def quote_at(text: str, start: int, end: int) -> Quote:
    return Quote(text[start:end], text[max(0, start - CONTEXT) : start], text[end : end + CONTEXT])


@dataclass(frozen=True)
class Annotation:
    id: str
    kind: str
    start: int
    end: int
    annotator: str
    created: str
    updated: str
    quote: Quote = field(default_factory=Quote)
    label: str = ""
    status: str = ""  # entity decisions: accepted, relabelled, added or rejected; `predicted`: the model's label
    predicted: str = ""
    text: str = ""
    target: str = ""  # notes: `sentence`, `entity` or `document`
    sources: tuple[str, ...] = ()  # adjudicated records: who had the version taken (`from`)
    versions: tuple[dict, ...] = ()
    model: str = ""  # tags accepted from a suggestion, and dismissals: the model that suggested the label

    def to_record(self) -> dict[str, Any]:
        """The store record, empty values left out (files keep their bytes); not `asdict`: it deep-copies `versions`."""
        record = {name: value for name in _RECORD_FIELDS
                  if (value := getattr(self, name)) != "" or name in ("id", "kind")}
        record["quote"] = dict(vars(self.quote))  # in its place among the fields
        if self.sources:
            record["from"] = list(self.sources)
        if self.versions:
            record["versions"] = [dict(v) for v in self.versions]
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Annotation:
        fields = {"created": "", "annotator": "",
                  **{k: record[k] for k in _RECORD_FIELDS if k in record and k != "quote"}}
        fields.setdefault("updated", fields["created"])
        return cls(quote=Quote(**(record.get("quote") or {})), sources=tuple(record.get("from") or ()),
                   versions=tuple(record.get("versions") or ()), **fields)


_RECORD_FIELDS = tuple(name for name in Annotation.__dataclass_fields__ if name not in ("sources", "versions"))
"""Record keys in field order (`from` and `versions` are added under their record names)."""

READ_KEYS = (*(name for name in _RECORD_FIELDS if name != "quote"), "from", "versions")
"""Every key but the quote (needed only to re-anchor): what readers of a whole store read."""


def sentence_of(start: int, end: int, sentences: Sequence[tuple[int, int]], starts: Sequence[int]) -> int:
    """The sentence that now holds a span: the one it overlaps most (so tags follow re-segmentation)."""
    i = bisect_right(starts, start) - 1
    if i >= 0 and end <= sentences[i][1]:  # the usual span, inside one sentence
        return i
    i = max(0, i)
    after = bisect_left(starts, max(end, start + 1), i)  # the sentences that start before the span ends
    return max(range(i, after), key=lambda j: min(end, sentences[j][1]) - max(start, sentences[j][0]), default=i)


def _digest(*parts: object) -> str:
    return hashlib.sha1("\x1f".join(map(str, parts)).encode()).hexdigest()[:12]


def tag_id(start: int, end: int, label: str) -> str:
    """One tag per (offsets, label): tagging twice, or importing the same tag again, writes the same record."""
    return f"tag-{_digest(start, end, label)}"


def note_id(target: str, start: int, end: int, created: str, text: str) -> str:
    """A note's id from what it is and when it was written, so an exported note imports as the same record."""
    if target == "document":
        start = end = 0
    return f"note-{_digest(target, start, end, created, text)}"


def dismissal_id(start: int, end: int, label: str) -> str:
    """One dismissal per (sentence, label), whichever model suggested it: a label dismissed once stays hidden."""
    return f"dismiss-{_digest(start, end, label)}"


def entity_id(start: int, end: int) -> str:
    """One decision per entity, keyed by its offsets (the model's label may change, the span is the entity)."""
    return f"ent-{start}-{end}"


def done_id(doc_id: str) -> str:
    """The one `DONE` record of a document's annotator file: marking it done on two machines writes one record."""
    return f"done-{_digest(doc_id)}"


def review_id(start: int, end: int) -> str:
    """One `REVIEW` record per sentence decided with no label."""
    return f"review-{_digest(start, end)}"


def note_order(note: Mapping[str, Any]) -> tuple[str, str, str]:
    """Oldest first, then author and text, never ids or file order: export's bytes depend on it."""
    return note.get("created", ""), note.get("annotator", ""), note.get("text", "")


def merge_entities(predicted: Iterable[tuple[int, int, str]], decisions: Mapping[tuple[int, int], dict]
                   ) -> list[tuple[int, int, str, str, str, str | None]]:
    """(start, end, label, status, model's label, decision id) in span order: a decision replaces the prediction
    with its offsets, the others are added spans. Plain tuples: export merges every entity of the store."""
    left = dict(decisions)
    out = []
    for start, end, label in predicted:
        d = left.pop((start, end), None)
        out.append((start, end, label, "predicted", label, None) if d is None
                   else (start, end, d.get("label") or label, d.get("status", ""), label, d.get("id")))
    out.extend((start, end, d.get("label", ""), d.get("status", ""), d.get("predicted", ""), d.get("id"))
               for (start, end), d in left.items())
    out.sort(key=lambda item: (item[0], item[1]))
    return out


class AnnotatorWork:
    """One annotator's work on one document, read once, so export, stats and the session share its rules; `add`
    and `remove` keep it current at a keypress's cost. `sentences` may be a function, called when needed."""

    __slots__ = ("_decided", "_order", "_sentences", "_starts", "counts", "decisions", "dismissals", "document_notes",
                 "notes", "reviews", "tags")

    def __init__(self, records: Mapping[str, dict] = {},
                 sentences: Sequence[tuple[int, int]] | Callable[[], Sequence[tuple[int, int]]] = (),
                 labels: Sequence[str] = ()) -> None:
        self._sentences = sentences
        self._starts: list[int] | None = None
        self._decided: dict[tuple[int, int], int | None] | None = None
        self._order = {name: i for i, name in enumerate(labels)}
        self.tags: dict[int, dict[str, dict]] = {}  # sentence index -> {id: record}, as the next three
        self.notes: dict[int, dict[str, dict]] = {}  # entity notes included
        self.dismissals: dict[int, dict[str, dict]] = {}
        self.reviews: dict[int, dict[str, dict]] = {}
        self.document_notes: dict[str, dict] = {}
        self.decisions: dict[tuple[int, int], dict] = {}  # (start, end) -> the entity decision's record
        self.counts: dict[str, int] = {}  # records per kind, whether or not a sentence holds them
        placed = [(table, ident, r) for ident, r in records.items() if (table := self._file(ident, r, 1)) is not None]
        where = self.sentences_of((r["start"], r["end"]) for _, _, r in placed)  # at once: export reads every file
        for (table, ident, record), index in zip(placed, where, strict=True):
            if index is not None:
                table.setdefault(index, {})[ident] = record

    def _file(self, ident: str, record: dict, step: int) -> dict[int, dict[str, dict]] | None:
        """Count a record in (`step` 1) or out (-1) and file an entity decision or document note; returns the table
        by sentence that holds the others, None for those."""
        kind = record.get("kind")
        if step > 0 or self.counts.get(kind):
            self.counts[kind] = self.counts.get(kind, 0) + step
        if kind == "entity":
            span, self._decided = (record["start"], record["end"]), None
            if step > 0:
                self.decisions[span] = record
            elif (found := self.decisions.get(span)) is not None and (found is record or found.get("id") == ident):
                del self.decisions[span]
        elif kind == "note" and record.get("target") == "document":
            if step > 0:
                self.document_notes[ident] = record
            else:
                self.document_notes.pop(ident, None)
        else:
            return {"tag": self.tags, "note": self.notes, DISMISSAL: self.dismissals, REVIEW: self.reviews}.get(kind)
        return None

    @property
    def done(self) -> bool:
        """Whether the annotator marked the document done (a `DONE` record)."""
        return self.counts.get(DONE, 0) > 0

    @property
    def sentences(self) -> Sequence[tuple[int, int]]:
        if self._starts is None:
            if callable(self._sentences):
                self._sentences = self._sentences()
            self._starts = [s for s, _ in self._sentences]
        return self._sentences  # type: ignore[return-value]

    def sentence_of(self, start: int, end: int) -> int | None:
        """The sentence holding a span (None without sentences)."""
        return self.sentences_of([(start, end)])[0]

    def sentences_of(self, spans: Iterable[tuple]) -> list[int | None]:
        """`sentence_of` of many spans (tuples that start with start, end), the usual span inline: export builds a
        read model per document."""
        spans = list(spans)
        sentences = self.sentences if spans else ()
        if not sentences:
            return [None] * len(spans)
        starts = self._starts
        out: list[int | None] = []
        for span in spans:
            start, end = span[0], span[1]
            i = bisect_right(starts, start) - 1  # type: ignore[arg-type]
            out.append(i if i >= 0 and end <= sentences[i][1] else sentence_of(start, end, sentences, starts))  # type: ignore[arg-type]
        return out

    def add(self, ident: str, record: dict) -> int | None:
        """Take a record in; returns the sentence whose tags or notes it changed, if any."""
        if (table := self._file(ident, record, 1)) is None:
            return None
        if (index := self.sentence_of(record["start"], record["end"])) is not None:
            table.setdefault(index, {})[ident] = record
        return index

    def remove(self, ident: str, record: dict) -> int | None:
        """Take a record out (`record` as it was added); returns the sentence it changed, if any."""
        if (table := self._file(ident, record, -1)) is None:
            return None
        index = self.sentence_of(record["start"], record["end"])
        if (entries := table.get(index)) is not None:  # type: ignore[arg-type]
            entries.pop(ident, None)
            if not entries:
                del table[index]  # type: ignore[arg-type]
        return index

    def reviewed(self) -> set[int]:
        """The one rule of what an annotator reviewed: every sentence of a done document, else those holding their
        tag, note, entity decision, dismissal or no-label decision (the others may never have been read)."""
        if self.done:
            return set(range(len(self.sentences)))
        return {*self.tags, *self.notes, *self.dismissals, *self.reviews, *self.decided().values()} - {None}  # type: ignore[return-value]

    def decided(self) -> dict[tuple[int, int], int | None]:
        """The sentence of each entity decision, kept until a decision changes (`reviewed` and `changed` ask)."""
        if self._decided is None:
            self._decided = dict(zip(self.decisions, self.sentences_of(self.decisions), strict=True))
        return self._decided

    def labels(self, index: int) -> list[str]:
        """The labels of one sentence, in label-set order (unknown labels after, by name)."""
        names = {name for record in self.tags.get(index, {}).values() if (name := record.get("label"))}
        return sorted(names, key=lambda n: (self._order.get(n, len(self._order)), n))

    def dismissed(self, index: int) -> set[str]:
        """The suggested labels the analyst dismissed on one sentence."""
        return {r.get("label", "") for r in self.dismissals.get(index, {}).values()}

    def tagged(self) -> dict[int, list[str]]:
        """Labels per sentence, for the sentences that have any."""
        return {index: names for index in self.tags if (names := self.labels(index))}

    def sentence_notes(self, index: int) -> list[dict]:
        """The notes of one sentence (its own and its entities'), in `note_order`."""
        return sorted(self.notes.get(index, {}).values(), key=note_order)

    def changed(self) -> tuple[dict[int, str], str]:
        """(sentence -> the latest `updated` of its tags, notes and entity decisions; the latest of all this work)."""
        placed = [(index, r) for table in (self.tags, self.notes) for index, entries in table.items()
                  for r in entries.values()]
        placed += [(self.decided()[span], r) for span, r in self.decisions.items()]
        touched: dict[int, str] = {}
        latest = ""
        for index, record in [*placed, *((None, r) for r in self.document_notes.values())]:
            latest = max(latest, stamp := record.get("updated") or record.get("created") or "")
            if index is not None:
                touched[index] = max(stamp, touched.get(index, ""))
        return touched, latest

    def entities(self, predicted: Iterable[tuple[int, int, str]]) -> list[tuple[int, int, str, str, str, str | None]]:
        return merge_entities(predicted, self.decisions)


@dataclass(frozen=True)
class EntityState:
    """An entity as the analyst sees it: the model's prediction merged with their decision."""

    start: int
    end: int
    label: str
    status: str = "predicted"
    predicted: str = ""
    decision: str | None = None  # the id of the decision record, if any


class PredictedSpan(Protocol):
    start: int
    end: int
    label: str


def entity_states(predicted: Iterable[PredictedSpan], decisions: Iterable[Annotation] = ()) -> list[EntityState]:
    """Merge the model's entities with the analyst's decisions (decisions are keyed by offsets)."""
    by_span = {(d.start, d.end): d.to_record() for d in decisions if d.kind == "entity"}
    return [EntityState(*item) for item in merge_entities(((p.start, p.end, p.label) for p in predicted), by_span)]


def same_but_times(record: dict | None, old: dict | None) -> bool:
    """Whether a record is `old` written again: the same but for its created/updated times."""
    if record is None or old is None or record is old:
        return record is old
    return {**record, "created": None, "updated": None} == {**old, "created": None, "updated": None}


class _HasSpan(Protocol):
    start: int
    end: int
    status: str


_Ranked = TypeVar("_Ranked", bound=_HasSpan)


def without_overlaps(spans: Iterable[_Ranked]) -> tuple[list[_Ranked], int]:
    """The one overlap rule, for every layer that cannot hold overlapping spans (`doc.ents`, Prodigy `spans`,
    doccano spans, BIO tags; native, `doc.spans["sc"]`, brat and Label Studio keep every span): (kept, left out),
    the analyst's reviewed spans first, then the longest, then the earliest; no two overlap. Kept spans come in
    text order. Spans are aligned on tokens, so overlapping characters means sharing a token."""
    spans = list(spans)
    if all(a.end <= b.start for a, b in pairwise(spans)):  # in text order, none overlapping: the usual unit
        return spans, 0
    ranked = sorted(spans, key=lambda s: (s.status == "predicted", s.start - s.end, s.start))
    starts: list[int] = []
    kept: list[_Ranked] = []
    for span in ranked:
        i = bisect_left(starts, span.start)
        if (i and kept[i - 1].end > span.start) or (i < len(kept) and kept[i].start < span.end):
            continue
        starts.insert(i, span.start)
        kept.insert(i, span)
    return kept, len(ranked) - len(kept)


@dataclass
class ModelStats:
    """What one annotator did with one trained model's suggestions (`reader.suggest`), in sentences."""

    model: str
    annotator: str
    accepted: int = 0  # sentences with the model's tags accepted (or `dismissed`), and no hand tag
    dismissed: int = 0
    corrected: int = 0  # sentences the model suggested that the analyst tagged by hand


def add_outcomes(models: dict[tuple[str, str], ModelStats], annotator: str, records: Iterable[dict]) -> None:
    """Count one annotator's records of a document by their sentence's offsets: no analysis (nor model) is read."""
    by_sentence: dict[tuple[int, int], list[dict]] = {}
    for r in records:
        if r.get("kind") in ("tag", DISMISSAL):
            by_sentence.setdefault((r["start"], r["end"]), []).append(r)
    for group in by_sentence.values():
        by_hand = any(r["kind"] == "tag" and not r.get("model") for r in group)
        for model in {r["model"] for r in group if r.get("model")}:
            m = models.setdefault((model, annotator), ModelStats(model, annotator))
            if by_hand:
                m.corrected += 1
            elif any(r["kind"] == "tag" and r.get("model") == model for r in group):
                m.accepted += 1
            else:
                m.dismissed += 1
