"""Annotations: sentence tags, notes and entity decisions, and the operations that change them.

Every annotation is anchored by character offsets into the stored text plus a quote selector (the exact text
and ~32 characters either side), never by sentence number: sentence boundaries move when the model changes,
and text moves when an article is re-imported after an edit. Each operation is one durable write to the
store and one step of undo history.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from reader.documents import Document
from reader.labels import LabelSet
from reader.untrusted import UntrustedError, check_name, clean_text

CONTEXT = 32
ENTITY_STATUSES = ("predicted", "accepted", "relabelled", "added", "rejected")


class AnnotationError(Exception):
    """An operation that cannot be done (unknown label, nothing under the cursor...); message for the user."""


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


def quote_at(text: str, start: int, end: int, context: int = CONTEXT) -> Quote:
    return Quote(text[start:end], text[max(0, start - context) : start], text[end : end + context])


@dataclass(frozen=True)
class Annotation:
    id: str
    kind: str
    """`tag`, `note` or `entity`."""
    start: int
    end: int
    annotator: str
    created: str
    updated: str
    quote: Quote = field(default_factory=lambda: Quote(""))
    label: str = ""
    """The sentence label of a tag, the entity label of an entity decision."""
    status: str = ""
    """Entity decisions: accepted, relabelled, added or rejected."""
    predicted: str = ""
    """Entity decisions: the model's label, when there was one."""
    text: str = ""
    """Notes: what the analyst wrote."""
    target: str = ""
    """Notes: `sentence`, `entity` or `document`."""

    def to_record(self) -> dict[str, Any]:
        record = {k: v for k, v in asdict(self).items() if v != "" or k in ("id", "kind")}
        record["quote"] = asdict(self.quote)
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Annotation:
        quote = record.get("quote") or {}
        fields = {k: record[k] for k in cls.__dataclass_fields__ if k in record and k != "quote"}
        fields.setdefault("created", "")
        fields.setdefault("updated", fields["created"])
        fields.setdefault("annotator", "")
        return cls(quote=Quote(**quote), **fields)


@dataclass(frozen=True)
class EntityState:
    """An entity as the analyst sees it: the model's prediction merged with their decision."""

    start: int
    end: int
    label: str
    status: str = "predicted"
    predicted: str = ""
    decision: str | None = None
    """Id of the decision record, if any."""


class PredictedSpan(Protocol):
    start: int
    end: int
    label: str


def sentence_of(start: int, end: int, sentences: Sequence[tuple[int, int]], starts: Sequence[int]) -> int:
    """The sentence that now holds a span: the one it overlaps most (so tags follow re-segmentation)."""
    i = max(0, bisect_right(starts, start) - 1)
    best, best_overlap = i, -1
    j = i
    while j < len(sentences) and sentences[j][0] < max(end, start + 1):
        overlap = min(end, sentences[j][1]) - max(start, sentences[j][0])
        if overlap > best_overlap:
            best, best_overlap = j, overlap
        j += 1
    return best


def entity_states(predicted: Iterable[PredictedSpan], decisions: Iterable[Annotation]) -> list[EntityState]:
    """Merge the model's entities with the analyst's decisions (decisions are keyed by offsets)."""
    by_span = {(d.start, d.end): d for d in decisions if d.kind == "entity"}
    states: list[EntityState] = []
    for span in predicted:
        decision = by_span.pop((span.start, span.end), None)
        if decision is None:
            states.append(EntityState(span.start, span.end, span.label, "predicted", span.label))
        else:
            states.append(EntityState(span.start, span.end, decision.label or span.label, decision.status,
                                      span.label, decision.id))
    for d in by_span.values():
        states.append(EntityState(d.start, d.end, d.label, d.status, d.predicted, d.id))
    return sorted(states, key=lambda s: (s.start, s.end))


def _digest(*parts: object) -> str:
    return hashlib.sha1("\x1f".join(map(str, parts)).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Change:
    """One undoable step: the records it touched, before and after (None = absent)."""

    description: str
    before: tuple[tuple[str, dict | None], ...]
    after: tuple[tuple[str, dict | None], ...]


class AnnotationSession:
    """One analyst's annotations of one document, and the operations the TUI and the CLI share."""

    def __init__(self, store: RecordStore, doc: Document, annotator: str, labels: LabelSet,
                 clock: Callable[[], str] = now) -> None:
        self.store = store
        self.doc = doc
        self.annotator = annotator
        self.labels = labels
        self.clock = clock
        self._undo: list[Change] = []
        self._redo: list[Change] = []
        self._records: dict[str, dict] | None = None
        self._parsed: dict[str, Annotation] = {}
        self._index_for: Sequence[tuple[int, int]] | None = None
        self._index_starts: list[int] = []
        self._by_sentence: dict[str, dict[int, dict[str, str]]] = {"tag": {}, "note": {}}
        """kind -> sentence -> {id: label}, for the sentences it was built for; kept up to date by writes so
        that a keypress costs the same with 100 or 10,000 annotations in the document."""

    # --- reading -------------------------------------------------------------------------------------

    def records(self) -> dict[str, dict]:
        """This session's records by id (loaded once; this session is the only writer of its file)."""
        if self._records is None:
            self._records = dict(self.store.records(self.doc.id, self.annotator))
            self._parsed = {}
        return self._records

    def _annotation(self, ident: str) -> Annotation:
        ann = self._parsed.get(ident)
        if ann is None:
            ann = self._parsed[ident] = Annotation.from_record(self.records()[ident])
        return ann

    def annotations(self, kind: str | None = None) -> list[Annotation]:
        items = (self._annotation(i) for i, r in self.records().items() if kind is None or r.get("kind") == kind)
        return sorted(items, key=lambda a: (a.start, a.end, a.id))

    def _index(self, sentences: Sequence[tuple[int, int]], kind: str = "tag") -> dict[int, dict[str, str]]:
        if self._index_for is not sentences:
            self._index_for = sentences
            self._index_starts = [s for s, _ in sentences]
            self._by_sentence = {"tag": {}, "note": {}}
            for ident, record in self.records().items():
                self._index_record(ident, record, add=True)
        return self._by_sentence[kind]

    def _index_record(self, ident: str, record: dict, *, add: bool) -> int | None:
        """Add or remove one record in the per-sentence index; returns the sentence it belongs to."""
        kind = record.get("kind")
        if self._index_for is None or kind not in self._by_sentence or record.get("target") == "document":
            return None
        index = sentence_of(record["start"], record["end"], self._index_for, self._index_starts)
        entries = self._by_sentence[kind].setdefault(index, {})
        if add:
            entries[ident] = record.get("label", "")
        else:
            entries.pop(ident, None)
        return index

    def labels_on(self, sentences: Sequence[tuple[int, int]], index: int) -> list[str]:
        """The labels of one sentence, in label-set order."""
        order = {name: i for i, name in enumerate(self.labels.names)}
        names = set(self._index(sentences, "tag").get(index, {}).values())
        return sorted(names, key=lambda n: (order.get(n, len(order)), n))

    def sentence_tags(self, sentences: Sequence[tuple[int, int]]) -> dict[int, list[str]]:
        """Labels per sentence index, in label-set order. Pass the same sentences object to reuse the index."""
        return {index: self.labels_on(sentences, index) for index, tags in self._index(sentences).items() if tags}

    def notes_on(self, sentences: Sequence[tuple[int, int]], index: int) -> list[Annotation]:
        ids = self._index(sentences, "note").get(index, {})
        return sorted((self._annotation(i) for i in ids), key=lambda a: (a.start, a.end, a.id))

    def sentence_notes(self, sentences: Sequence[tuple[int, int]]) -> dict[int, list[Annotation]]:
        return {index: self.notes_on(sentences, index) for index, ids in self._index(sentences, "note").items()
                if ids}

    def touched_sentences(self, change: Change, sentences: Sequence[tuple[int, int]]) -> set[int]:
        """Sentences whose tags or notes a change affected (to repaint only those)."""
        self._index(sentences)
        starts = self._index_starts
        return {
            sentence_of(r["start"], r["end"], sentences, starts)
            for _, r in change.before + change.after
            if r is not None and r.get("kind") in ("tag", "note") and r.get("target") != "document"
        }

    def entities(self, predicted: Iterable[PredictedSpan]) -> list[EntityState]:
        return entity_states(predicted, self.annotations("entity"))

    def progress(self, sentences: Sequence[tuple[int, int]]) -> tuple[int, int]:
        """(tagged sentences, sentences): counted per keypress, so kept O(tagged sentences) without parsing."""
        return sum(1 for tags in self._index(sentences).values() if tags), len(sentences)

    # --- writing -------------------------------------------------------------------------------------

    def _new(self, kind: str, start: int, end: int, ident: str, **fields: Any) -> Annotation:
        stamp = self.clock()
        return Annotation(ident, kind, start, end, self.annotator, stamp, stamp,
                          quote_at(self.doc.text, start, end), **fields)

    def apply(self, description: str, upsert: Sequence[Annotation] = (), delete: Sequence[str] = ()) -> Change:
        """Write one change durably, then record it for undo."""
        current = self.records()
        ids = [a.id for a in upsert] + list(delete)
        before = tuple((i, current.get(i)) for i in ids)
        after = tuple([(a.id, a.to_record()) for a in upsert] + [(i, None) for i in delete])
        change = Change(description, before, after)
        self._write(after)
        self._undo.append(change)
        self._redo.clear()
        return change

    def _write(self, state: Sequence[tuple[str, dict | None]]) -> None:
        """Write durably, then bring the in-memory view up to date (only if the write succeeded)."""
        records = self.records()
        upsert = [r for _, r in state if r is not None]
        delete = [i for i, r in state if r is None and i in records]
        self.store.write(self.doc.id, self.annotator, upsert=upsert, delete=delete)
        for ident, record in state:
            old = records.pop(ident, None)
            self._parsed.pop(ident, None)
            if old is not None:
                self._index_record(ident, old, add=False)
            if record is not None:
                records[ident] = record
                self._index_record(ident, record, add=True)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> Change | None:
        if not self._undo:
            return None
        change = self._undo[-1]
        self._write(change.before)
        self._redo.append(self._undo.pop())
        return change

    def redo(self) -> Change | None:
        if not self._redo:
            return None
        change = self._redo[-1]
        self._write(change.after)
        self._undo.append(self._redo.pop())
        return change

    # --- tags ----------------------------------------------------------------------------------------

    def _label(self, name: str) -> str:
        if self.labels.get(name) is None:
            raise AnnotationError(f"unknown label {name!r} (labels: {', '.join(self.labels.names)})")
        return name

    def _tags_on(self, sentences: Sequence[tuple[int, int]], index: int) -> list[Annotation]:
        return [self._annotation(i) for i in self._index(sentences).get(index, {})]

    def set_tag(self, sentences: Sequence[tuple[int, int]], index: int, label: str, on: bool) -> Change | None:
        """Put a label on sentence `index` (or take it off); None when there was nothing to do."""
        label = self._label(label)
        if not 0 <= index < len(sentences):
            raise AnnotationError(f"no sentence {index} (the document has {len(sentences)}, numbered from 0)")
        existing = self._tags_on(sentences, index)
        same = [t.id for t in existing if t.label == label]
        if not on:
            return self.apply(f"untag {label}", delete=same) if same else None
        if same:
            return None
        start, end = sentences[index]
        tag = self._new("tag", start, end, f"tag-{_digest(start, end, label)}", label=label)
        others = [t.id for t in existing if t.label != label] if self.labels.exclusive else []
        return self.apply(f"tag {label}", upsert=[tag], delete=others)

    def toggle_tag(self, sentences: Sequence[tuple[int, int]], index: int, label: str) -> Change | None:
        present = any(t.label == label for t in self._tags_on(sentences, index))
        return self.set_tag(sentences, index, label, on=not present)

    # --- notes ---------------------------------------------------------------------------------------

    def add_note(self, target: str, start: int, end: int, text: str) -> Change:
        """Notes follow the text rule of `reader.untrusted` here, so every front end's note is cleaned."""
        text = clean_text(text)
        if target not in ("sentence", "entity", "document"):
            raise AnnotationError(f"a note is attached to a sentence, an entity or the document, not {target!r}")
        if not text.strip():
            raise AnnotationError("the note is empty")
        if target == "document":
            start = end = 0
        stamp = self.clock()
        note = self._new("note", start, end, f"note-{_digest(target, start, end, stamp, text)}",
                         text=text, target=target)
        return self.apply(f"note on the {target}", upsert=[note])

    def edit_note(self, note_id: str, text: str) -> Change:
        text = clean_text(text)
        if not text.strip():
            return self.delete_note(note_id)
        note = self._get(note_id)
        return self.apply("edit note", upsert=[replace(note, text=text, updated=self.clock())])

    def delete_note(self, note_id: str) -> Change:
        self._get(note_id)
        return self.apply("delete note", delete=[note_id])

    def _get(self, ident: str) -> Annotation:
        record = self.records().get(ident)
        if record is None:
            raise AnnotationError(f"no annotation {ident!r}")
        return Annotation.from_record(record)

    # --- entities ------------------------------------------------------------------------------------

    def decide(self, entity: EntityState, status: str, label: str | None = None) -> Change:
        """Accept, reject or relabel an entity; the same decision twice takes it back."""
        if status not in ("accepted", "rejected", "relabelled"):
            raise AnnotationError(f"unknown decision {status!r}")
        if label is not None:
            label = _entity_label(label)
        if entity.status == "added":
            if status == "rejected":
                return self.apply("remove added entity", delete=[entity.decision or ""])
            if status == "relabelled" and label:
                old = self._get(entity.decision or "")
                return self.apply(f"relabel {label}", upsert=[replace(old, label=label, updated=self.clock())])
            return self.apply("keep added entity", upsert=[])
        if entity.decision and status == entity.status and (status != "relabelled" or label == entity.label):
            return self.apply(f"undo {status}", delete=[entity.decision])
        new_label = label or entity.predicted or entity.label
        if status == "relabelled" and new_label == entity.predicted:
            status = "accepted"
        ident = entity.decision or f"ent-{entity.start}-{entity.end}"
        record = self._new("entity", entity.start, entity.end, ident, label=new_label, status=status,
                           predicted=entity.predicted)
        if entity.decision:
            old = self._get(entity.decision)
            record = replace(record, created=old.created)
        return self.apply(f"{status} {new_label}", upsert=[record])

    def add_entity(self, start: int, end: int, label: str) -> Change:
        label = _entity_label(label)
        if not (0 <= start < end <= len(self.doc.text)) or not self.doc.text[start:end].strip():
            raise AnnotationError("select some text first")
        entity = self._new("entity", start, end, f"ent-{start}-{end}", label=label, status="added")
        return self.apply(f"add {label}", upsert=[entity])


def reanchor(annotations: Iterable[Annotation], new_text: str) -> tuple[list[Annotation], list[Annotation]]:
    """Move annotations onto an edited text by their quotes: (re-anchored, not found)."""
    moved: list[Annotation] = []
    lost: list[Annotation] = []
    for ann in annotations:
        if ann.kind == "note" and ann.target == "document":
            moved.append(ann)
            continue
        position = find_quote(ann.quote, ann.start, new_text)
        if position is None:
            lost.append(ann)
            continue
        start = position
        end = start + len(ann.quote.exact)
        moved.append(replace(ann, start=start, end=end, quote=quote_at(new_text, start, end)))
    return moved, lost


def find_quote(quote: Quote, hint: int, text: str) -> int | None:
    """Where the quote is in the text: the occurrence whose context matches best, nearest the old offset."""
    if not quote.exact:
        return None
    best: tuple[int, int] | None = None
    position = text.find(quote.exact)
    while position != -1:
        before = text[max(0, position - len(quote.prefix)) : position]
        after = text[position + len(quote.exact) : position + len(quote.exact) + len(quote.suffix)]
        score = _common_suffix(before, quote.prefix) + _common_prefix(after, quote.suffix)
        key = (score, -abs(position - hint))
        if best is None or key > (best[0], -abs(best[1] - hint)):
            best = (score, position)
        position = text.find(quote.exact, position + 1)
    return None if best is None else best[1]


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _common_suffix(a: str, b: str) -> int:
    return _common_prefix(a[::-1], b[::-1])


LABEL_SCHEMES = {
    "wikiner": ("PER", "LOC", "ORG", "MISC"),
    "ontonotes": ("PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW",
                  "LANGUAGE", "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"),
}


def entity_label_choices(present: Iterable[str]) -> list[str]:
    """Labels offered when relabelling or adding: the scheme the model's labels come from, then any others."""
    present = list(dict.fromkeys(present))
    scheme = LABEL_SCHEMES["ontonotes"] if {"PERSON", "GPE"} & set(present) else LABEL_SCHEMES["wikiner"]
    return [*scheme, *(label for label in present if label not in scheme)]


def _entity_label(label: str) -> str:
    """Entity labels are names (`reader.untrusted`), whichever front end typed them."""
    try:
        return check_name(label, "entity label")
    except UntrustedError as exc:
        raise AnnotationError(str(exc)) from None
