"""What every format is built from: one annotator's view of a document, cut into units (documents or sentences),
and the spans that cut a token, found and fixed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import msgspec

from reader.annotations import READ_KEYS, AnnotatorWork, note_id, note_order, without_overlaps
from reader.documents import Document
from reader.export.tokens import Tokens, doc_from_units

if TYPE_CHECKING:
    from reader.workspace import Workspace

META_ORDER = ("source", "title", "date", "lang")  # native meta: these (null when unknown), the rest sorted


class Span(msgspec.Struct, gc=False):
    """An entity as exported: mutable, since alignment may move it onto token boundaries."""

    start: int
    end: int
    label: str
    status: str
    sentence: int
    predicted: str = ""  # a relabelled entity's model label


@dataclass
class View:
    """One annotator's view of one document (None: the model's); what only some formats read is built lazily."""

    doc: Document
    model: str
    tokens: Tokens
    sentences: list[tuple[int, int]]
    annotator: str | None
    spans: list[Span]
    work: AnnotatorWork
    records: dict[str, dict]  # as stored: the native format reads an adjudicated record's `from`/`versions`
    universe: list[str] = field(default_factory=list)  # its cats: the label set, then this annotator's extras

    @cached_property
    def tags(self) -> dict[int, list[str]]:
        return self.work.tagged()

    @cached_property
    def notes(self) -> dict[int, list[dict]]:
        return {i: [note_entry(r, self.sentences[i]) for r in self.work.sentence_notes(i)] for i in self.work.notes}

    @cached_property
    def doc_notes(self) -> list[dict]:
        return [note_entry(r) for r in sorted(self.work.document_notes.values(), key=note_order)]

    @cached_property
    def times(self) -> tuple[dict[int, str], str]:
        return self.work.changed()


@dataclass
class Unit:
    view: View
    index: int | None  # the sentence, or None for a whole document
    start: int
    end: int
    spans: list[Span]
    reviewed: bool = True  # else it holds model output nobody read
    first: bool = False  # the first sentence unit of its view carries the document's notes

    @cached_property
    def entities(self) -> list[Span]:
        """Read once alignment is done."""
        return without_overlaps(self.spans)[0]

    @property
    def labels(self) -> list[str]:
        tags = self.view.tags
        if self.index is not None:
            return tags.get(self.index, [])
        return list(dict.fromkeys(n for i in sorted(tags) for n in tags[i]))

    @property
    def notes(self) -> list[dict]:
        """Offsets relative to the unit, as its spans; the first sentence also carries the document's notes."""
        v = self.view
        if self.index is None:
            return [*v.doc_notes, *(n for i in sorted(v.notes) for n in v.notes[i])]
        notes = [{**n, "start": n["start"] - self.start, "end": n["end"] - self.start} if "start" in n else n
                 for n in v.notes.get(self.index, [])]
        return [*({**n, "target": "document"} for n in v.doc_notes), *notes] if self.first else notes

    @property
    def note_count(self) -> int:
        """len(notes), without building them."""
        work = self.view.work
        if self.index is None:
            return len(work.document_notes) + sum(map(len, work.notes.values()))
        return len(work.notes.get(self.index, ())) + (len(work.document_notes) if self.first else 0)

    @property
    def meta(self) -> dict:
        v = self.view
        return {"doc_id": v.doc.id, "sentence": self.index, "start": self.start, "end": self.end,
                "source": v.doc.meta.get("source"), "annotator": v.annotator}


def note_entry(record: dict, sentence: tuple[int, int] | None = None) -> dict:
    """Text, author and time, plus only what an import needs to rebuild the same record."""
    get = record.get
    text, created = get("text", ""), get("created", "")
    note = {"text": text, "annotator": get("annotator", ""), "created": created}
    target = get("target") or ("document" if sentence is None else "sentence")
    start, end = get("start", 0), get("end", 0)
    if sentence is not None and (target != "sentence" or (start, end) != tuple(sentence)):
        note["target"], note["start"], note["end"] = target, start, end
    updated = get("updated")
    if updated and updated != created:
        note["updated"] = updated
    ident = get("id")
    if ident and ident != note_id(target, start, end, created, text):
        note["id"] = ident
    return note


def views(workspace: Workspace, ids: list[str], annotator: str | None, annotated_only: bool,
          progress: Callable[[int], None] | None) -> Iterator[View]:
    """Documents in store order, annotators in name order; a document nobody annotated gives one view with
    annotator None, unless `annotated_only`."""
    labels = workspace.labels.names
    for doc_id in ids:
        names = [n for n in workspace.annotators(doc_id) if annotator is None or n == annotator]
        tables = [(name, table) for name in names if (table := workspace.records(doc_id, name, READ_KEYS))]
        if not tables and not annotated_only:
            tables = [(None, {})]
        if tables:
            doc = workspace.document(doc_id)
            model, starts, ends, sentences, predicted = workspace.analysis_parts(doc)
            tokens = Tokens(doc.text, starts, ends)
        for name, records in tables:
            work = AnnotatorWork(records, sentences, labels)
            merged = work.entities(predicted)
            spans = [Span(s, e, label, status, index or 0, was if status == "relabelled" else "")
                     for (s, e, label, status, was, _), index in zip(merged, work.sentences_of(merged), strict=True)]
            yield View(doc, model, tokens, sentences, name, spans, work, records)
        if progress:
            progress(1)


def select(workspace: Workspace, doc_ids: list[str] | None, all_versions: bool = False) -> list[str]:
    """The documents to export in store order: those asked for (any version), else the current versions."""
    all_ids = workspace.document_ids(all_versions=all_versions or bool(doc_ids))
    if not doc_ids:
        return all_ids
    wanted = {workspace.resolve(ref) for ref in doc_ids}
    return [i for i in all_ids if i in wanted]


def units(views: list[View], unit: str, keeps_rejected: bool, annotated_only: bool, reviewed_only: bool = False
          ) -> tuple[list[Unit], int]:
    """(the units, how many unreviewed ones `reviewed_only` left out); a document is reviewed once marked done."""
    out: list[Unit] = []
    left_out = 0
    for v in views:
        spans = v.spans if keeps_rejected else [s for s in v.spans if s.status != "rejected"]
        if unit == "document":
            done = v.annotator is not None and v.work.done
            if reviewed_only and not done:
                left_out += 1
            else:
                out.append(Unit(v, None, 0, len(v.doc.text), spans, done))
            continue
        reviewed = v.work.reviewed() if v.annotator is not None else set()
        by_sentence: dict[int, list[Span]] = {}
        for span in spans:
            by_sentence.setdefault(span.sentence, []).append(span)
        first = True
        for index, (start, end) in enumerate(v.sentences):
            if index not in reviewed and (annotated_only or reviewed_only):
                left_out += reviewed_only
                continue
            out.append(Unit(v, index, start, end, by_sentence.get(index, []), index in reviewed, first))
            first = False
    return out, left_out


def misaligned(units: list[Unit]) -> list[tuple[Unit, Span]]:
    return [(u, s) for u in units for s in u.spans
            if not (u.start <= s.start and s.end <= u.end and u.view.tokens.aligned(s.start, s.end))]


def snap(doc: Any, start: int, end: int, mode: str) -> tuple[int, int] | None:
    """A span moved onto the tokens of `doc` by spaCy's `char_span`, whitespace off; None when nothing is left."""
    found = doc.char_span(start, end, alignment_mode=mode) if start < end else None
    kept = [t for t in found if not t.is_space] if found is not None else []
    return (kept[0].idx, kept[-1].idx + len(kept[-1])) if kept else None


def adjust(bad: list[tuple[Unit, Span]], mode: str, vocab: Any) -> tuple[int, int]:
    """Move misaligned spans onto token boundaries with spaCy's char_span; (adjusted, dropped)."""
    docs: dict[tuple[str, int, int], Any] = {}
    gone: set[int] = set()
    for u, span in bad:
        key = (u.view.doc.id, u.start, u.end)
        if key not in docs:
            docs[key] = doc_from_units(vocab, u.view.doc.text, u.view.tokens.units(u.start, u.end))
        snapped = snap(docs[key], max(span.start, u.start) - u.start, min(span.end, u.end) - u.start, mode)
        if snapped is None:
            gone.add(id(span))
        else:
            span.start, span.end = snapped[0] + u.start, snapped[1] + u.start
    for u in {id(u): u for u, _ in bad}.values():
        u.spans = sorted((s for s in u.spans if id(s) not in gone), key=lambda s: (s.start, s.end))
    return len(bad) - len(gone), len(gone)


def document_meta(doc: Document, annotator: str | None) -> dict:
    rest = {key: doc.meta[key] for key in sorted(doc.meta) if key not in META_ORDER}
    return {**{key: doc.meta.get(key) for key in META_ORDER}, **rest, "annotator": annotator}
