"""The operations that change one analyst's annotations of one document, shared by the TUI and the CLI: each is
one durable write and one undo step, and a batch of them (`reader tag --from`) is one step too."""

from __future__ import annotations

import contextlib
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from reader.annotations import (
    DISMISSAL,
    DONE,
    Annotation,
    AnnotationError,
    AnnotatorWork,
    EntityState,
    PredictedSpan,
    RecordStore,
    dismissal_id,
    done_id,
    entity_id,
    merge_entities,
    note_id,
    now,
    quote_at,
    same_but_times,
    tag_id,
)
from reader.documents import Document
from reader.labels import LabelSet
from reader.untrusted import UntrustedError, check_name, clean_text


@dataclass(frozen=True)
class Change:
    """One undoable step: the records before and after (None = absent), and the sentences a screen repaints."""

    description: str
    before: tuple[tuple[str, dict | None], ...]
    after: tuple[tuple[str, dict | None], ...]
    sentences: frozenset[int] = frozenset()

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(r.get("kind", "") for _, r in self.before + self.after if r is not None)


@dataclass
class Batch:
    """What `AnnotationSession.batch` changed (or would have, in a dry run), and its undo step."""

    records: int = 0
    change: Change | None = None


@dataclass(frozen=True)
class MentionsDecided:
    """What `AnnotationSession.decide_mentions` changed (or would have, in a dry run) in one document."""

    changed: tuple[tuple[int, int], ...]  # the spans of the mentions it decided or added
    unchanged: int  # mentions already so
    change: Change | None = None
    records: int = 0


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
        self._sentences: Sequence[tuple[int, int]] = ()
        self._work: AnnotatorWork | None = None
        self._file_version: object = None  # `_stat()` when `records()` read the file
        self._batch: dict[str, dict | None] | None = None  # in `batch`: each id changed -> its record before
        self.version = 0  # bumped by every change: work computed off the UI thread from an older one is stale
        self.on_save: Callable[[str, str, str, dict[str, dict]], None] | None = None  # (id, text, annotator, records)

    def _stat(self) -> object:
        """`Store.file_version` of this session's file; None from a store without versions."""
        version = getattr(self.store, "file_version", None)
        return version(self.doc.id, self.annotator) if version else None

    def refresh(self) -> bool:
        """Read the file again if another process wrote it since (a `git pull`); undo starts afresh."""
        if self._records is None or self._stat() == self._file_version:
            return False
        self._records, self._parsed, self._work = None, {}, None
        self._undo.clear()
        self._redo.clear()
        return True

    def use_sentences(self, sentences: Sequence[tuple[int, int]]) -> None:
        """The document's sentences: tags and notes are by sentence index from then on."""
        if sentences is not self._sentences:
            self._sentences = sentences
            self._work = None

    @property
    def sentences(self) -> Sequence[tuple[int, int]]:
        return self._sentences

    @property
    def work(self) -> AnnotatorWork:
        if self._work is None:
            self._work = AnnotatorWork(self.records(), self._sentences, self.labels.names)
        return self._work

    def records(self) -> dict[str, dict]:
        """This session's records by id (loaded once: the session is its file's only writer)."""
        if self._records is None:
            self._file_version = self._stat()
            self.version += 1
            self._records = dict(self.store.records(self.doc.id, self.annotator))
            self._parsed, self._work = {}, None
        return self._records

    def _annotation(self, ident: str) -> Annotation:
        if ident not in self._parsed:
            if ident not in self.records():
                raise AnnotationError(f"no annotation {ident!r}")
            self._parsed[ident] = Annotation.from_record(self.records()[ident])
        return self._parsed[ident]

    def annotations(self, kind: str | None = None) -> list[Annotation]:
        """In document order; notes under one anchor in `note_order`."""
        items = (self._annotation(i) for i, r in self.records().items() if kind is None or r.get("kind") == kind)
        return sorted(items, key=lambda a: (a.start, a.end, a.created, a.annotator, a.text, a.id))

    def labels_on(self, index: int) -> list[str]:
        return self.work.labels(index)

    def sentence_tags(self) -> dict[int, list[str]]:
        return self.work.tagged()

    def notes_on(self, index: int) -> list[Annotation]:
        return [self._annotation(r["id"]) for r in self.work.sentence_notes(index)]

    def sentence_notes(self) -> dict[int, list[Annotation]]:
        return {index: self.notes_on(index) for index in self.work.notes}

    def entities(self, predicted: Iterable[PredictedSpan]) -> list[EntityState]:
        return [EntityState(*item) for item in self.work.entities((p.start, p.end, p.label) for p in predicted)]

    def progress(self) -> tuple[int, int]:
        """(tagged sentences, sentences): counted per keypress, so without parsing."""
        return len(self.work.tags), len(self._sentences)  # a sentence's entry goes with its last tag

    def _new(self, kind: str, start: int, end: int, ident: str, **fields: Any) -> Annotation:
        stamp = self.clock()
        return Annotation(ident, kind, start, end, self.annotator, stamp, stamp,
                          quote_at(self.doc.text, start, end), **fields)

    def apply(self, description: str, upsert: Sequence[Annotation] = (), delete: Sequence[str] = ()) -> Change:
        current = self.records()
        before = tuple((i, current.get(i)) for i in [a.id for a in upsert] + list(delete))
        after = tuple([(a.id, a.to_record()) for a in upsert] + [(i, None) for i in delete])
        change = Change(description, before, after, self._write(after))
        self._undo.append(change)
        self._redo.clear()
        return change

    def _write(self, state: Sequence[tuple[str, dict | None]]) -> frozenset[int]:
        """Write durably (in a `batch`: at its end), then update the view; returns the sentences that changed."""
        records = self.records()
        if self._batch is not None:
            for ident, _ in state:
                self._batch.setdefault(ident, records.get(ident))
        else:
            self._save([(i, r) for i, r in state if r is not None or i in records])
        touched = self._remember(state)
        if self._batch is None:
            self._saved()
        return touched

    def _save(self, state: Sequence[tuple[str, dict | None]]) -> None:
        self.store.write(self.doc.id, self.annotator, upsert=[r for _, r in state if r is not None],
                         delete=[i for i, r in state if r is None])
        self._file_version = self._stat()  # our own write is not news (`refresh`)

    def _saved(self) -> None:
        """Tell `on_save` what the file holds now that it is on disk."""
        if self.on_save is not None:
            self.on_save(self.doc.id, self.doc.text, self.annotator, self.records())

    def _remember(self, state: Sequence[tuple[str, dict | None]]) -> frozenset[int]:
        """Bring the in-memory records and read model to `state`; returns the sentences it changed."""
        self.version += 1
        records = self.records()
        work = self.work
        touched = set()
        for ident, record in state:
            old = records.pop(ident, None)
            self._parsed.pop(ident, None)
            if old is not None:
                touched.add(work.remove(ident, old))
            if record is not None:
                records[ident] = record
                touched.add(work.add(ident, record))
        touched.discard(None)
        return frozenset(touched)  # type: ignore[arg-type]

    @contextlib.contextmanager
    def batch(self, description: str, *, dry_run: bool = False) -> Iterator[Batch]:
        """Many operations, one durable write of the net change and one undo step (`reader tag --from`); a block
        that raises, a failed write or `dry_run` leave session and file as they were."""
        result = Batch()
        if self._batch is not None:  # nested: part of the outer batch
            yield result
            return
        undo, redo = len(self._undo), list(self._redo)
        self._batch = {}
        done = False
        try:
            yield result
            before = tuple(self._batch.items())
            records = self.records()
            same = [(i, old) for i, old in before if old is not None and same_but_times(records.get(i), old)]
            self._remember(same)  # taken off and put back (a tag, then its removal, then the tag): kept as it was
            changed = tuple((i, old) for i, old in before if records.get(i) != old)
            after = tuple((i, records.get(i)) for i, _ in changed)
            result.records = len(changed)
            if changed and not dry_run:
                self._save(after)
                self._saved()
            done = not dry_run
        finally:
            if not done:
                self._remember(tuple(self._batch.items()))
            self._batch = None
            touched = frozenset().union(*(c.sentences for c in self._undo[undo:]))
            del self._undo[undo:]
            if done and changed:
                result.change = Change(description, changed, after, touched)
                self._undo.append(result.change)
            else:
                self._redo = redo

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> Change | None:
        return self._step(self._undo, self._redo, "before")

    def redo(self) -> Change | None:
        return self._step(self._redo, self._undo, "after")

    def _step(self, source: list[Change], target: list[Change], state: str) -> Change | None:
        if not source:
            return None
        touched = self._write(getattr(source[-1], state))  # moved only once the write succeeded
        target.append(source.pop())
        return replace(target[-1], sentences=touched)

    def _label(self, name: str) -> str:
        if self.labels.get(name) is None:
            raise AnnotationError(f"unknown label {name!r} (labels: {', '.join(self.labels.names)})")
        return name

    def _tags_on(self, index: int) -> list[Annotation]:
        return [self._annotation(i) for i in self.work.tags.get(index, {})]

    def _sentence(self, index: int) -> tuple[int, int]:
        if not 0 <= index < len(self._sentences):
            raise AnnotationError(f"no sentence {index} (the document has {len(self._sentences)}, numbered from 0)")
        return self._sentences[index]

    def _labelled(self, kind: str, index: int, labels: Iterable[str], known: set[str], ident: Callable[..., str],
                  model: str) -> list[Annotation]:
        """A record of `kind` on sentence `index` for each of `labels` not `known` there yet."""
        start, end = self._sentence(index)
        return [self._new(kind, start, end, ident(start, end, n), label=n, model=model)
                for n in dict.fromkeys(labels) if n not in known]

    def set_tag(self, index: int, label: str, on: bool) -> Change | None:
        """Put a label on sentence `index` (or take it off); None when there was nothing to do."""
        if on:
            return self.accept_suggestion(index, [label])
        label = self._label(label)
        self._sentence(index)
        same = [t.id for t in self._tags_on(index) if t.label == label]
        return self.apply(f"untag {label}", delete=same) if same else None

    def accept_suggestion(self, index: int, labels: Sequence[str], model: str = "") -> Change | None:
        """Tag a sentence, each tag naming the `model` that suggested it ("" by hand), in one step of undo; an
        exclusive label set keeps the first; labels already there stay as they are (a hand tag stays a hand tag)."""
        labels = [self._label(n) for n in labels][: 1 if self.labels.exclusive else None]
        existing = self._tags_on(index)
        new = self._labelled("tag", index, labels, {t.label for t in existing}, tag_id, model)
        if not new:
            return None
        names = ", ".join(a.label for a in new)
        others = [t.id for t in existing] if self.labels.exclusive else []
        return self.apply(f"accept {names} ({model})" if model else f"tag {names}", upsert=new, delete=others)

    def toggle_tag(self, index: int, label: str) -> Change | None:
        return self.set_tag(index, label, on=label not in self.labels_on(index))

    def dismiss_suggestion(self, index: int, labels: Sequence[str], model: str) -> Change | None:
        """The analyst turned these labels down on the sentence (no model suggests them there again)."""
        new = self._labelled(DISMISSAL, index, labels, self.work.dismissed(index), dismissal_id, model)
        return self.apply(f"dismiss {', '.join(a.label for a in new)} ({model})", upsert=new) if new else None

    @property
    def done(self) -> bool:
        return self.work.done

    def set_done(self, on: bool) -> Change | None:
        """Mark the document done for this annotator, or not (the record is deleted); None when it already is so."""
        if self.done == on:
            return None
        if not on:
            return self.apply("not done", delete=[i for i, r in self.records().items() if r.get("kind") == DONE])
        stamp = self.clock()
        return self.apply("done", upsert=[Annotation(done_id(self.doc.id), DONE, 0, 0, self.annotator, stamp, stamp)])

    def toggle_done(self) -> Change | None:
        return self.set_done(not self.done)

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
        note = self._new("note", start, end, note_id(target, start, end, stamp, text), text=text, target=target)
        return self.apply(f"note on the {target}", upsert=[note])

    def edit_note(self, note_id: str, text: str) -> Change:
        text = clean_text(text)
        if not text.strip():
            return self.delete_note(note_id)
        note = self._annotation(note_id)
        return self.apply("edit note", upsert=[replace(note, text=text, updated=self.clock())])

    def delete_note(self, note_id: str) -> Change:
        self._annotation(note_id)
        return self.apply("delete note", delete=[note_id])

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
                old = self._annotation(entity.decision or "")
                return self.apply(f"relabel {label}", upsert=[replace(old, label=label, updated=self.clock())])
            return self.apply("keep added entity", upsert=[])
        if entity.decision and status == entity.status and (status != "relabelled" or label == entity.label):
            return self.apply(f"undo {status}", delete=[entity.decision])
        new_label = label or entity.predicted or entity.label
        if status == "relabelled" and new_label == entity.predicted:
            status = "accepted"
        ident = entity.decision or entity_id(entity.start, entity.end)
        record = self._new("entity", entity.start, entity.end, ident, label=new_label, status=status,
                           predicted=entity.predicted)
        if entity.decision:
            record = replace(record, created=self._annotation(entity.decision).created)
        return self.apply(f"{status} {new_label}", upsert=[record])

    def add_entity(self, start: int, end: int, label: str) -> Change:
        label = _entity_label(label)
        if not (0 <= start < end <= len(self.doc.text)) or not self.doc.text[start:end].strip():
            raise AnnotationError("select some text first")
        entity = self._new("entity", start, end, entity_id(start, end), label=label, status="added")
        return self.apply(f"add {label}", upsert=[entity])

    def entity_at(self, start: int, end: int, predicted: Mapping[tuple[int, int], str]) -> EntityState | None:
        """The entity on exactly these offsets as the analyst sees it, or None (`predicted`: labels by span)."""
        label = predicted.get((start, end))
        decision = self.work.decisions.get((start, end))
        merged = merge_entities([] if label is None else [(start, end, label)],
                                {} if decision is None else {(start, end): decision})
        return EntityState(*merged[0]) if merged else None

    def set_entity(self, start: int, end: int, action: str, label: str | None, *,
                   predicted: Mapping[tuple[int, int], str], tokens: Sequence[tuple[int, int]]) -> Change | None:
        """An entity decision stated, not toggled (a script run twice changes nothing); None when the entity is
        already so. `add` needs offsets on `tokens` boundaries; the other actions need an entity there."""
        if action not in ("accept", "reject", "relabel", "add"):
            raise AnnotationError(f"unknown action {action!r} (accept, reject, relabel LABEL or add LABEL)")
        if action in ("relabel", "add"):
            if not label:
                raise AnnotationError(f"{action} needs a label ({action} LABEL)")
            label = _entity_label(label)
        elif label:
            raise AnnotationError(f"{action} takes no label (got {label!r})")
        where = f"{start}-{end} “{self.doc.text[start:end]}”" if 0 <= start < end <= len(self.doc.text) \
            else f"{start}-{end}"
        entity = self.entity_at(start, end, predicted)
        if action == "add":
            if entity is not None and entity.status == "added" and entity.label == label:
                return None
            if entity is not None:
                raise AnnotationError(f"{where} is already an entity ({entity.label}, {entity.status}): "
                                      "accept, reject or relabel it")
            check_token_span(start, end, tokens, self.doc.text)
            return self.add_entity(start, end, label or "")
        if entity is None:
            raise AnnotationError(f"no entity at {where}{nearby_entities(start, end, predicted, self.work.decisions)}")
        status, already = {
            "accept": ("accepted", entity.status in ("accepted", "added")),
            "reject": ("rejected", entity.status == "rejected"),
            "relabel": ("relabelled", entity.label == label and entity.status in ("accepted", "relabelled", "added")),
        }[action]
        return None if already else self.decide(entity, status, label)

    def mentions(self, surface: str, predicted: Mapping[tuple[int, int], str],
                 tokens: Sequence[tuple[int, int]]) -> list[EntityState]:
        """Every entity the analyst sees (the model's or one they added) whose text is `surface`, case and
        whitespace aside, on token boundaries (`check_token_span`): what a bulk decision acts on."""
        pattern, aligned = surface_pattern(surface), token_boundaries(tokens, self.doc.text)
        return [e for e in self._states(predicted)
                if pattern.fullmatch(self.doc.text, e.start, e.end) and aligned(e.start, e.end)]

    def _states(self, predicted: Mapping[tuple[int, int], str]) -> list[EntityState]:
        return [EntityState(*item) for item in self.work.entities((s, e, lb) for (s, e), lb in predicted.items())]

    def occurrences(self, surface: str, predicted: Mapping[tuple[int, int], str],
                    tokens: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
        """Where `surface` occurs in the text on token boundaries and is no entity yet (nor overlaps one that
        is not rejected): what a bulk `add` tags."""
        states = self._states(predicted)
        spans = {(e.start, e.end) for e in states}
        kept = [(e.start, e.end) for e in states if e.status != "rejected"]
        aligned = token_boundaries(tokens, self.doc.text)
        return [(m.start(), m.end()) for m in surface_pattern(surface).finditer(self.doc.text)
                if (m.start(), m.end()) not in spans and aligned(m.start(), m.end())
                and not any(s < m.end() and m.start() < e for s, e in kept)]

    def decide_mentions(self, surface: str, action: str, label: str | None = None, *,
                        predicted: Mapping[tuple[int, int], str], tokens: Sequence[tuple[int, int]],
                        having: str | None = None, dry_run: bool = False) -> MentionsDecided:
        """`set_entity` on every mention of `surface` (`mentions`; `having`: only those with that label now), or
        `add` on every `occurrences` (mentions with that label already count as unchanged): one durable write and
        one undo step, whose description counts them."""
        shown = " ".join(surface.split())
        label = check_mentions_decision(shown, action, label, having)
        mentions = self.mentions(shown, predicted, tokens)
        if action == "add":
            spans = self.occurrences(shown, predicted, tokens)
            already = sum(m.label == label and m.status != "rejected" for m in mentions)
        else:
            spans = [(m.start, m.end) for m in mentions if having is None or m.label == having]
            already = 0
        changed = []
        with self.batch(f"{action} “{shown}”", dry_run=dry_run) as result:
            for start, end in spans:
                if self.set_entity(start, end, action, label, predicted=predicted, tokens=tokens) is not None:
                    changed.append((start, end))
        if result.change is not None:  # the count is known once the batch ran: the undo step names it
            verb = f"{action} {label}" if label else action
            plural = "" if len(changed) == 1 else "s"
            result.change = replace(result.change, description=f"{verb}: {len(changed)} mention{plural} of “{shown}”")
            self._undo[-1] = result.change
        return MentionsDecided(tuple(changed), already + len(spans) - len(changed), result.change, result.records)


def check_token_span(start: int, end: int, tokens: Sequence[tuple[int, int]], text: str) -> None:
    """Refuse offsets that cut a token or lie outside the text; the message names the whole-token span."""
    if not 0 <= start < end <= len(text):
        raise AnnotationError(f"no span {start}-{end} in the document ({len(text)} characters)")
    starts = [s for s, _ in tokens]
    ends = [e for _, e in tokens]
    i = bisect_right(starts, start) - 1
    j = bisect_left(ends, end)
    if i >= 0 and j < len(ends) and starts[i] == start and ends[j] == end:
        return
    a = starts[i] if i >= 0 else start
    b = ends[j] if j < len(ends) else end
    raise AnnotationError(f"{start}-{end} “{text[start:end]}” does not fall on token boundaries (whole tokens: "
                          f"{a}-{b} “{text[a:b]}”)")


def check_mentions_decision(surface: str, action: str, label: str | None, having: str | None) -> str | None:
    """The label of a decision on every mention (`decide_mentions`), or the one-line error; checked before any
    document is read, so a bad command line fails the same whether or not the surface occurs."""
    if not surface.strip():
        raise AnnotationError("the surface is empty")
    if action not in ("accept", "reject", "relabel", "add"):
        raise AnnotationError(f"unknown action {action!r} (accept, reject, relabel LABEL or add LABEL)")
    if action in ("relabel", "add") and not label:
        raise AnnotationError(f"{action} needs a label ({action} LABEL)")
    if action in ("accept", "reject") and label:
        raise AnnotationError(f"{action} takes no label (got {label!r})")
    if having is not None:
        if action == "add":
            raise AnnotationError("add tags text that is no entity yet: --label only narrows accept, reject and "
                                  "relabel")
        _entity_label(having)
    return label and _entity_label(label)


def token_boundaries(tokens: Sequence[tuple[int, int]], text: str) -> Callable[[int, int], bool]:
    """Whether a span passes `check_token_span`, for many spans of one text: the boundaries gathered once."""
    starts = {s for s, _ in tokens}
    ends = {e for _, e in tokens}
    return lambda start, end: 0 <= start < end <= len(text) and start in starts and end in ends


def surface_pattern(surface: str) -> re.Pattern[str]:
    """The text of an entity's mentions: `surface` with any whitespace between its words, in any case."""
    words = surface.split()
    if not words:
        raise AnnotationError("the surface is empty")
    return re.compile(r"\s+".join(map(re.escape, words)), re.IGNORECASE)


def nearby_entities(start: int, end: int, predicted: Mapping[tuple[int, int], str],
                    decisions: Mapping[tuple[int, int], dict]) -> str:
    """`(entities there: 12-16 LOC, ...)` for a span that is not an entity, so the fix is in the message."""
    spans = sorted({*predicted, *decisions})
    close = [(s, e) for s, e in spans if s < end + 20 and e > start - 20][:3]
    if not close:
        return ""
    labels = {**predicted, **{k: v.get("label", "") for k, v in decisions.items()}}
    return " (entities there: " + ", ".join(f"{s}-{e} {labels[s, e]}" for s, e in close) + ")"


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
