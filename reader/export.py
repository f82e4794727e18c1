"""Export: the store as datasets (native JSONL, Prodigy tasks, doccano JSONL, spaCy DocBin), and back.

One code path for the CLI, the TUI and the tests; the record shapes are the contract (CONTRACT.md). Tokens come
from the cached analysis, so exporting never loads a trained pipeline: a blank vocab is enough to build spaCy
Docs, and the JSON formats do not import spaCy at all. Every span is checked against those tokens before
anything is written: spaCy trains only on spans made of whole tokens (others are dropped with warning W030),
and Prodigy and doccano users would see a span that starts mid-word.

Several annotators: a record is one annotator's view of a document (or of one of its sentences), named by
`meta.annotator` (`_annotator_id` for Prodigy). Every analyst who annotated a document gets their own records,
in name order; `annotator=NAME` keeps only that analyst's. A document nobody (or not NAME) annotated gets one
record with `annotator: null`: model predictions, no labels (`annotated_only` leaves it out). Nothing is
merged: two analysts' labels and entity decisions can disagree (`reader stats` measures it), so training data
is best exported with `--annotator` and `--annotated-only`, the way Prodigy keeps one answer per annotator
until a review merges them.

Documents are in store order (source, then id); output depends only on the store (stable hashes, timestamps
from the annotations), so the same store gives the same bytes.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import itertools
import json
import operator
import re
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from reader.annotations import Annotation, _digest, quote_at, sentence_of
from reader.documents import Document, document_id
from reader.untrusted import UntrustedError, check_name, clean_line, clean_meta, clean_text

if TYPE_CHECKING:
    from reader.workspace import Workspace

FORMATS = ("jsonl", "prodigy", "doccano", "spacy")
UNITS = ("document", "sentence")
ALIGN_MODES = ("strict", "expand", "contract")
DEFAULT_UNIT = {"jsonl": "document", "prodigy": "sentence", "doccano": "sentence", "spacy": "sentence"}
REVIEWED = frozenset({"accepted", "relabelled", "added", "rejected"})
META_ORDER = ("source", "title", "date", "lang")
"""Native document meta starts with these keys (null when unknown), then the others sorted, then `annotator`."""


class ExportError(Exception):
    """An export or import that cannot be done; the message is meant for the user as is."""

    def __init__(self, message: str, misaligned: Iterable[Misaligned] = ()) -> None:
        super().__init__(message)
        self.misaligned = list(misaligned)


@dataclass(frozen=True)
class Misaligned:
    """A span whose offsets cut a token (or, for a sentence unit, leave its sentence)."""

    doc_id: str
    annotator: str | None
    start: int
    end: int
    label: str
    text: str
    sentence: int | None = None

    def __str__(self) -> str:
        where = f"{self.doc_id}" + ("" if self.sentence is None else f" sentence {self.sentence}")
        who = f" ({self.annotator})" if self.annotator else ""
        return f"{where} [{self.start}:{self.end}] {self.label} {self.text!r}{who}"


@dataclass
class ExportResult:
    format: str
    unit: str
    lines: list[bytes] | None = field(default=None, repr=False)
    """The JSON records serialised, one line each without its newline (None for `spacy`): the formats built as
    JSON fragments (`prodigy`, sentence `jsonl`) are never held as dicts, `records` parses these on demand."""
    docbin: bytes | None = None
    """The serialised DocBin (`spacy` only)."""
    count: int = 0
    """Records (or Docs) exported."""
    documents: int = 0
    """Distinct documents exported."""
    spans: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    """Sentence labels exported, per label name."""
    notes: int = 0
    adjusted: int = 0
    """Misaligned spans moved onto token boundaries (`align` expand or contract)."""
    dropped: int = 0
    """Misaligned spans that contracted to nothing."""

    _records: list[dict] | None = field(default=None, repr=False)

    @property
    def records(self) -> list[dict]:
        """The JSON records (empty for `spacy`)."""
        if self._records is None:
            self._records = [json.loads(line) for line in self.lines] if self.lines is not None else []
        return self._records

    @records.setter
    def records(self, records: list[dict]) -> None:
        self._records, self.lines = records, None

    def to_bytes(self) -> bytes:
        if self.docbin is not None:
            return self.docbin
        if self.lines is not None:
            return b"\n".join([*self.lines, b""]) if self.lines else b""
        with _no_gc():
            return _json_lines(self.records)

    def summary(self) -> str:
        what = "docs" if self.format == "spacy" else "records"
        labels = ", ".join(f"{name} {n}" for name, n in self.labels.items() if n) or "none"
        text = (f"exported {self.count} {what} ({self.format}, {self.unit}) from {self.documents} documents: "
                f"{self.spans} spans, {self.notes} notes, labels: {labels}")
        if self.adjusted or self.dropped:
            text += f"; {self.adjusted} misaligned spans adjusted, {self.dropped} dropped"
        return text


@dataclass(frozen=True)
class ImportSummary:
    records: int
    documents: tuple[str, ...]
    """Ids of the documents of the records, in order, once each."""
    added: tuple[str, ...]
    """Those that were not in the store yet."""
    annotations: int
    """Annotation records written (the same ones again change nothing on disk)."""


# --- options -------------------------------------------------------------------------------------------


def check_options(fmt: str, unit: str | None = None, align: str = "strict", output: object = None, *,
                  need_output: bool = True) -> str:
    """Validate the options before any work; returns the unit (the format's default when None).

    `output` is the destination (None or "-" = stdout), which the binary `spacy` format cannot use; pass
    `need_output=False` to check the rest only.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})")
    unit = unit or DEFAULT_UNIT[fmt]
    if unit not in UNITS:
        raise ExportError(f"unknown unit {unit!r} (units: {', '.join(UNITS)})")
    if align not in ALIGN_MODES:
        raise ExportError(f"unknown alignment mode {align!r} (modes: {', '.join(ALIGN_MODES)})")
    if need_output and fmt == "spacy" and (output is None or output == "-"):
        raise ExportError("the spacy format is a binary DocBin: give --output FILE.spacy")
    return unit


# --- tokens --------------------------------------------------------------------------------------------


class Tokens:
    """A document's stored tokens indexed once, so that spans are checked and tokens listed without spaCy.

    The stored tokens leave out whitespace; `units` puts it back the way spaCy does (one trailing space on
    the previous token, anything more as a whitespace token), so a Doc built from them has the exact text.
    """

    __slots__ = ("ends", "starts", "text")

    def __init__(self, text: str, starts: list[int], ends: list[int]) -> None:
        self.text = text
        self.starts = starts
        """Token starts, ascending (tokens do not overlap, so the ends are ascending too)."""
        self.ends = ends

    @classmethod
    def from_pairs(cls, text: str, pairs: Iterable[tuple[int, int]]) -> Tokens:
        pairs = list(pairs)
        return cls(text, [s for s, _ in pairs], [e for _, e in pairs])

    def aligned(self, start: int, end: int) -> bool:
        """What spaCy's strict `char_span` accepts, except spans that begin or end with whitespace."""
        if start >= end:
            return False
        starts, ends = self.starts, self.ends
        i = bisect_left(starts, start)
        if i == len(starts) or starts[i] != start:
            return False
        j = bisect_left(ends, end, i)
        return j < len(ends) and ends[j] == end

    def units(self, start: int, end: int) -> list[list]:
        """[start, end, trailing space] of every token of text[start:end], whitespace tokens included."""
        text, starts, ends = self.text, self.starts, self.ends
        out: list[list] = []
        pos = start
        i = bisect_left(starts, start)
        n = len(starts)
        while i < n and ends[i] <= end:
            s = starts[i]
            if s > pos:
                if s == pos + 1 and out and text[pos] == " ":  # the usual gap: one space
                    out[-1][2] = True
                else:
                    _gap(out, text, pos, s)
            pos = ends[i]
            out.append([s, pos, False])
            i += 1
        if pos < end:
            _gap(out, text, pos, end)
        return out


def _gap(out: list[list], text: str, start: int, end: int) -> None:
    if out and text[start] == " ":
        out[-1][2] = True
        start += 1
    if start < end:
        out.append([start, end, False])


def doc_from_units(vocab: Any, text: str, units: list[list]) -> Any:
    """A spaCy Doc whose text is exactly the slice of `text` covered by `units` (from `Tokens.units`)."""
    from spacy.tokens import Doc

    return Doc(vocab, words=[text[s:e] for s, e, _ in units], spaces=[ws for _, _, ws in units])


# --- reading the store ---------------------------------------------------------------------------------


class _Span:
    __slots__ = ("end", "label", "sentence", "start", "status")

    def __init__(self, start: int, end: int, label: str, status: str, sentence: int) -> None:
        self.start, self.end, self.label, self.status, self.sentence = start, end, label, status, sentence


@dataclass
class _View:
    """One annotator's view of one document: everything the records are built from."""

    doc: Document
    model: str
    tokens: Tokens
    sentences: list[tuple[int, int]]
    annotator: str | None
    tags: dict[int, list[str]]
    notes: dict[int, list[dict]]
    doc_notes: list[dict]
    spans: list[_Span]
    touched: dict[int, str]
    """Sentences with a tag, a note or an entity decision -> latest `updated` time among them."""
    updated: str


@dataclass
class _Unit:
    view: _View
    index: int | None
    start: int
    end: int
    spans: list[_Span]


def analysis_parts(workspace: Workspace, doc: Document, keys: dict[str, str]) -> tuple[str, Tokens, list, list]:
    """(model, tokens, sentences, [start, end, label] entities) from the cache, or from the model when not cached.

    Reads the cached record directly (no Analysis objects) and looks the cache key up once per language in
    `keys`, a dict the caller keeps across documents: this is the export's hot path.
    """
    key = keys.get(doc.lang)
    if key is None:
        key = keys[doc.lang] = workspace.cache_key(doc)  # the pipeline version lookup is slow: once per lang
    record = workspace.store.cached_analysis(doc.id, key)
    try:
        if record is None:
            raise KeyError("tokens")
        flat = record["tokens"]
        sentences = [(s, e) for s, e in record["sentences"]]
        entities = record["entities"]
        if len(flat) % 2:
            raise ValueError("odd token list")
        return record["model"], Tokens(doc.text, flat[::2], flat[1::2]), sentences, entities
    except (KeyError, TypeError, ValueError):
        analysis, _ = workspace.analysis(doc)
        return (analysis.model, Tokens.from_pairs(doc.text, analysis.tokens), list(analysis.sentences),
                [(e.start, e.end, e.label) for e in analysis.entities])


def _note(record: dict, sentence: tuple[int, int] | None = None) -> dict:
    """A note as exported: text, author, time, plus what an import needs to rebuild the same record.

    A note listed under a `sentence` whose target or offsets are not that sentence's (an entity note, or a
    note from another segmentation) carries `target`, `start`, `end`; an edited note carries `updated`; a note
    whose id cannot be recomputed from these fields carries its `id`.
    """
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
    if ident and ident != _note_id(target, start, end, created, text):
        note["id"] = ident
    return note


def _note_id(target: str, start: int, end: int, created: str, text: str) -> str:
    """The id `AnnotationSession.add_note` gives a note created at `created` (when its clock ticked once)."""
    if target == "document":
        start = end = 0
    return f"note-{_digest(target, start, end, created, text)}"


def _note_key(note: dict) -> tuple:
    return note["created"], note["annotator"], note["text"]


def _sentence_index(start: int, end: int, sentences: list, starts: list[int]) -> int:
    """`sentence_of`, with a fast path for the usual case of a span inside one sentence."""
    i = bisect_right(starts, start) - 1
    if i >= 0 and end <= sentences[i][1]:
        return i
    return sentence_of(start, end, sentences, starts)


def _view(doc: Document, model: str, tokens: Tokens, sentences: list, predicted: list, annotator: str | None,
          records: dict[str, dict], order: dict[str, int]) -> _View:
    """Tags, notes and entity states by sentence, as AnnotationSession computes them, from the raw records.

    Same rules as `sentence_tags`, `sentence_notes` and `entity_states` (a decision replaces the prediction
    with the same offsets), without building Annotation objects: this runs for every record of the store.
    """
    starts = [s for s, _ in sentences]
    tags: dict[int, list[str]] = {}
    notes: dict[int, list[dict]] = {}
    doc_notes: list[dict] = []
    touched: dict[int, str] = {}
    decisions: dict[tuple[int, int], dict] = {}
    updated = ""
    n = len(sentences)
    for record in records.values():
        get = record.get
        kind = get("kind")
        stamp = get("updated") or get("created") or ""
        if stamp > updated:
            updated = stamp
        if kind == "entity":
            decisions[record["start"], record["end"]] = record
            continue
        if kind == "note" and get("target") == "document":
            doc_notes.append(_note(record))
            continue
        if not n or (kind != "tag" and kind != "note"):
            continue
        start, end = record["start"], record["end"]
        index = bisect_right(starts, start) - 1  # `_sentence_index`, inlined: this loop sees every record
        if index < 0 or end > sentences[index][1]:
            index = sentence_of(start, end, sentences, starts)
        if stamp > touched.get(index, ""):
            touched[index] = stamp
        if kind == "tag":
            label = get("label")
            names = tags.get(index)
            if names is None:
                names = tags[index] = []
            if label and label not in names:
                names.append(label)
        else:
            notes.setdefault(index, []).append(_note(record, sentences[index]))
    for names in tags.values():
        if len(names) > 1:
            names.sort(key=lambda n: (order.get(n, len(order)), n))
    for items in notes.values():
        items.sort(key=_note_key)
    doc_notes.sort(key=_note_key)
    spans = []
    sentence = _sentence_index if sentences else lambda *_: 0
    for start, end, label in predicted:
        decision = decisions.pop((start, end), None)
        index = sentence(start, end, sentences, starts)
        if decision is None:
            spans.append(_Span(start, end, label, "predicted", index))
            continue
        spans.append(_Span(start, end, decision.get("label") or label, decision.get("status", ""), index))
        stamp = decision.get("updated") or decision.get("created") or ""
        if stamp > touched.get(index, ""):
            touched[index] = stamp
    if decisions:
        for (start, end), decision in decisions.items():
            index = sentence(start, end, sentences, starts)
            spans.append(_Span(start, end, decision.get("label", ""), decision.get("status", ""), index))
            stamp = decision.get("updated") or decision.get("created") or ""
            if stamp > touched.get(index, ""):
                touched[index] = stamp
        spans.sort(key=lambda x: (x.start, x.end))
    return _View(doc, model, tokens, sentences, annotator, tags, notes, doc_notes, spans, touched, updated)


def _views(workspace: Workspace, ids: list[str], annotator: str | None, annotated_only: bool,
           progress: Callable[[int], None] | None) -> Iterator[_View]:
    store = workspace.store
    order = {name: i for i, name in enumerate(workspace.labels.names)}
    keys: dict[str, str] = {}
    for doc_id in ids:
        names = store.annotators(doc_id)
        if annotator is not None:
            names = [n for n in names if n == annotator]
        tables = [(name, store.records(doc_id, name)) for name in names]
        tables = [(name, table) for name, table in tables if table]
        if annotated_only and not tables:
            if progress:
                progress(1)
            continue
        if not tables:
            tables = [(None, {})]
        doc = workspace.document(doc_id)
        model, tokens, sentences, predicted = analysis_parts(workspace, doc, keys)
        for name, table in tables:
            yield _view(doc, model, tokens, sentences, predicted, name, table, order)
        if progress:
            progress(1)


def _select(workspace: Workspace, doc_ids: list[str] | None) -> list[str]:
    all_ids = workspace.document_ids()
    if not doc_ids:
        return all_ids
    wanted = {workspace.resolve(ref) for ref in doc_ids}
    return [i for i in all_ids if i in wanted]


# --- units and alignment -------------------------------------------------------------------------------


def _units(views: list[_View], unit: str, native: bool, annotated_only: bool) -> list[_Unit]:
    out: list[_Unit] = []
    for view in views:
        spans = view.spans if native else [s for s in view.spans if s.status != "rejected"]
        if unit == "document":
            out.append(_Unit(view, None, 0, len(view.doc.text), spans))
            continue
        by_sentence: dict[int, list[_Span]] = {}
        for span in spans:
            by_sentence.setdefault(span.sentence, []).append(span)
        for index, (start, end) in enumerate(view.sentences):
            if annotated_only and index not in view.touched:
                continue
            out.append(_Unit(view, index, start, end, by_sentence.get(index, [])))
    return out


def _misaligned(units: list[_Unit]) -> list[tuple[_Unit, _Span]]:
    """Spans outside their unit or not `Tokens.aligned`: as tokens do not overlap, a span is aligned when it is
    not empty, starts where a token starts and ends where one ends (binary searches in the ascending token
    starts and ends: a few spans per document, hundreds of tokens)."""
    bad = []
    for u in units:
        tokens = u.view.tokens
        starts, ends = tokens.starts, tokens.ends
        lo, hi = u.start, u.end
        for span in u.spans:
            start, end = span.start, span.end
            if lo <= start < end <= hi:
                i = bisect_left(starts, start)
                if i < len(starts) and starts[i] == start:
                    j = bisect_left(ends, end)
                    if j < len(ends) and ends[j] == end:
                        continue
            bad.append((u, span))
    return bad


def _describe(bad: list[tuple[_Unit, _Span]]) -> list[Misaligned]:
    return [Misaligned(u.view.doc.id, u.view.annotator, s.start, s.end, s.label, u.view.doc.text[s.start:s.end],
                       u.index) for u, s in bad]


def _adjust(bad: list[tuple[_Unit, _Span]], mode: str, vocab: Any) -> tuple[int, int]:
    """Move misaligned spans onto token boundaries with spaCy's char_span; (adjusted, dropped)."""
    docs: dict[tuple[str, int, int], Any] = {}
    adjusted = dropped = 0
    drop: dict[int, set[int]] = {}
    for u, span in bad:
        key = (u.view.doc.id, u.start, u.end)
        doc = docs.get(key)
        if doc is None:
            doc = docs[key] = doc_from_units(vocab, u.view.doc.text, u.view.tokens.units(u.start, u.end))
        lo, hi = max(span.start, u.start) - u.start, min(span.end, u.end) - u.start
        found = doc.char_span(lo, hi, alignment_mode=mode) if lo < hi else None
        first, last = (found.start, found.end) if found is not None else (0, 0)
        while first < last and doc[first].is_space:
            first += 1
        while last > first and doc[last - 1].is_space:
            last -= 1
        if first == last:
            drop.setdefault(id(u), set()).add(id(span))
            dropped += 1
            continue
        span.start, span.end = doc[first].idx + u.start, doc[last - 1].idx + len(doc[last - 1]) + u.start
        adjusted += 1
    for u in {id(u): u for u, _ in bad}.values():
        gone = drop.get(id(u), ())
        u.spans = sorted((s for s in u.spans if id(s) not in gone), key=lambda s: (s.start, s.end))
    return adjusted, dropped


def _vocab() -> Any:
    """A blank multi-language vocab: enough for Docs built from our tokens (words, spaces, entities, cats).

    `spacy.blank("fr")` would cost 2.3 s here (it compiles the French tokenizer exceptions, which are never
    used: the tokens are ours) and gives byte-identical DocBins, since a DocBin keeps the strings, not the
    vocab; `spacy train` rebuilds every Doc with the training pipeline's own French vocab.
    """
    import spacy

    return spacy.blank("xx").vocab


# --- records -------------------------------------------------------------------------------------------


def _meta(doc: Document, annotator: str | None) -> dict:
    meta = {key: doc.meta.get(key) for key in META_ORDER}
    for key in sorted(k for k in doc.meta if k not in META_ORDER):
        meta[key] = doc.meta[key]
    meta["annotator"] = annotator
    return meta


def _native_document(u: _Unit) -> dict:
    v = u.view
    text = v.doc.text
    return {
        "id": v.doc.id,
        "text": text,
        "meta": _meta(v.doc, v.annotator),
        "model": v.model,
        "spans": [{"start": s.start, "end": s.end, "label": s.label, "text": text[s.start:s.end],
                   "status": s.status} for s in u.spans],
        "sentences": [{"start": start, "end": end, "labels": v.tags.get(i, []), "notes": v.notes.get(i, [])}
                      for i, (start, end) in enumerate(v.sentences)],
        "notes": v.doc_notes,
    }


def _labels_of(u: _Unit) -> list[str]:
    v = u.view
    if u.index is not None:
        return v.tags.get(u.index, [])
    names: list[str] = []
    for i in sorted(v.tags):
        names.extend(n for n in v.tags[i] if n not in names)
    return names


def _notes_of(u: _Unit) -> list[dict]:
    v = u.view
    if u.index is not None:
        return v.notes.get(u.index, [])
    return [*v.doc_notes, *(n for i in sorted(v.notes) for n in v.notes[i])]


def _unit_meta(u: _Unit) -> dict:
    v = u.view
    return {"doc_id": v.doc.id, "sentence": u.index, "start": u.start, "end": u.end,
            "source": v.doc.meta.get("source"), "annotator": v.annotator}


def _native_sentence(u: _Unit, universe: list[str]) -> dict:
    text = u.view.doc.text[u.start:u.end]
    labels = set(_labels_of(u))
    o = u.start
    return {
        "id": f"{u.view.doc.id}:{u.index}",
        "text": text,
        "cats": {name: 1.0 if name in labels else 0.0 for name in universe},
        "spans": [{"start": s.start - o, "end": s.end - o, "label": s.label, "text": text[s.start - o:s.end - o],
                   "status": s.status} for s in u.spans],
        "notes": _notes_of(u),
        "meta": _unit_meta(u),
    }


def _hash32(text: str) -> int:
    """A stable signed 32-bit hash, like Prodigy's `_input_hash`/`_task_hash` (but not Python's hash())."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


@functools.lru_cache(maxsize=4096)
def _epoch(stamp: str) -> int:
    if not stamp:
        return 0
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return 0
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


def _prodigy(u: _Unit, universe: list[str]) -> dict:
    v = u.view
    o = u.start
    text = v.doc.text[u.start:u.end]
    units = v.tokens.units(u.start, u.end)
    tokens = [{"text": text[s - o:e - o], "start": s - o, "end": e - o, "id": i, "ws": ws}
              for i, (s, e, ws) in enumerate(units)]
    spans = []
    if u.spans:
        first = {s: i for i, (s, _, _) in enumerate(units)}
        last = {e: i for i, (_, e, _) in enumerate(units)}
        spans = [{"start": s.start - o, "end": s.end - o, "token_start": first[s.start], "token_end": last[s.end],
                  "label": s.label} for s in u.spans]
    input_hash = _hash32(text)
    task = "\x1f".join([str(input_hash), *(f"{s.start - o},{s.end - o},{s.label}" for s in u.spans), *universe])
    stamp = v.touched.get(u.index, "") if u.index is not None else v.updated
    return {
        "text": text,
        "tokens": tokens,
        "spans": spans,
        "accept": _labels_of(u),
        "options": [{"id": name, "text": name} for name in universe],
        "meta": _unit_meta(u),
        "notes": _notes_of(u),
        "_input_hash": input_hash,
        "_task_hash": _hash32(task),
        "answer": "accept",
        "_annotator_id": v.annotator,
        "_timestamp": _epoch(stamp or v.updated),
    }


def _doccano(u: _Unit) -> dict:
    o = u.start
    return {
        "text": u.view.doc.text[u.start:u.end],
        "label": [[s.start - o, s.end - o, s.label] for s in u.spans],
        "cats": _labels_of(u),
        "Comments": [n["text"] for n in _notes_of(u)],
        "meta": _unit_meta(u),
    }


def _spacy_doc(u: _Unit, universe: list[str], vocab: Any) -> Any:
    v = u.view
    doc = doc_from_units(vocab, v.doc.text, v.tokens.units(u.start, u.end))
    spans = []
    for s in u.spans:  # in (start, end) order
        span = doc.char_span(s.start - u.start, s.end - u.start, label=s.label)
        if span is None:  # cannot happen after the alignment check; never export a wrong dataset
            raise ExportError(f"internal error: span {s.start}-{s.end} of {v.doc.id} does not align")
        spans.append(span)
    ents = spans
    if any(a.end > b.start for a, b in itertools.pairwise(spans)):  # sorted: overlaps are neighbours
        ents = _without_overlaps(u.spans, spans)
    doc.ents = ents
    doc.spans["sc"] = spans
    labels = _labels_of(u)
    doc.cats = {name: 1.0 if name in labels else 0.0 for name in universe}
    doc.user_data.update({"doc_id": v.doc.id, "sentence": u.index, "annotator": v.annotator,
                          "notes": _notes_of(u)})
    return doc


class _DocBinWriter:
    """Fills a DocBin's arrays directly, as `DocBin.add(_spacy_doc(...))` would, without building Docs.

    DocBin.add reads every token of a Doc back through Python (nine strings each) and serialises its span
    groups and user data: most of the export's time. Here each distinct word's row of attributes and its
    strings are computed once, from a one-token Doc (so the values are spaCy's own), and a unit's rows are
    those rows plus its position-dependent columns (entity IOB and type, sentence start). The result is the
    same bytes as adding the Docs. Exports with a unit this does not cover (no tokens, an entity without a
    label) add `_spacy_doc` Docs instead (`covers`).
    """

    def __init__(self, docbin: Any, vocab: Any) -> None:
        from spacy.attrs import ENT_IOB, ENT_TYPE, SENT_START

        self.docbin = docbin
        self.vocab = vocab
        self.attrs = list(docbin.attrs)
        self.iob = self.attrs.index(ENT_IOB)
        self.type = self.attrs.index(ENT_TYPE)
        self.sent = self.attrs.index(SENT_START)
        self.rows: dict[str, int] = {}
        self.table: list[Any] = []
        self.hashes: dict[str, int] = {}

    def _row(self, word: str) -> int:
        from spacy.tokens import Doc

        doc = Doc(self.vocab, words=[word], spaces=[False])
        token = doc[0]
        self.docbin.strings.update((token.text, token.tag_, token.lemma_, token.norm_, str(token.morph),
                                    token.dep_, token.ent_type_, token.ent_kb_id_, token.ent_id_))
        row = self.rows[word] = len(self.table)
        self.table.append(doc.to_array(self.attrs)[0])
        return row

    def _label(self, label: str) -> int:
        key = self.hashes.get(label)
        if key is None:
            key = self.hashes[label] = self.vocab.strings.add(label)
            self.docbin.strings.add(label)
        return key

    def add_all(self, units: list[_Unit], universe: list[str]) -> None:
        import struct

        import numpy
        import srsly

        docbin = self.docbin
        try:  # what srsly.msgpack_dumps does, with one Packer instead of one per call
            dumps = srsly.msgpack.Packer(use_bin_type=True).pack
        except AttributeError:
            dumps = srsly.msgpack_dumps
        pack = struct.Struct(">QQQllll").pack
        rows, row_of, label_of = self.rows, self._row, self._label
        flat: list[int] = []
        spaces: list[bool] = []
        marks: list[tuple[int, int, int]] = []
        """(flat token index, IOB, type hash) for entity tokens (everything else is O)."""
        starts: list[int] = []
        empty = None
        for u in units:
            v = u.view
            units_ = v.tokens.units(u.start, u.end)
            text, o = v.doc.text, u.start
            base = len(flat)
            starts.append(base)
            words = [text[s:e] for s, e, _ in units_]
            found = [rows.get(w) for w in words]
            if None in found:
                found = [row_of(w) if r is None else r for w, r in zip(words, found, strict=True)]
            flat.extend(found)
            spaces.extend([ws for _, _, ws in units_])
            spans = []
            if u.spans:
                first = {s: i for i, (s, _, _) in enumerate(units_)}
                last = {e: i for i, (_, e, _) in enumerate(units_)}
                for s in u.spans:
                    i, j = first.get(s.start), last.get(s.end)
                    if i is None or j is None or j < i:
                        raise ExportError(f"internal error: span {s.start}-{s.end} of {v.doc.id} does not align")
                    spans.append((i, j + 1, label_of(s.label), s.start - o, s.end - o))
            ents = spans
            if any(a[1] > b[0] for a, b in itertools.pairwise(spans)):
                ents = _without_overlaps(u.spans, spans, lambda x: x[0], lambda x: x[1])
            for i, j, key, _, _ in ents:
                marks.append((base + i, 3, key))
                marks.extend((base + k, 1, key) for k in range(i + 1, j))
            if spans:
                group = dumps({"name": "sc", "attrs": {}, "spans": [pack(0, 0, key, i, j, a, b)
                                                                    for i, j, key, a, b in spans]})
                docbin.span_groups.append(dumps({group: ["sc"]}))
            else:
                if empty is None:
                    empty = dumps({dumps({"name": "sc", "attrs": {}, "spans": []}): ["sc"]})
                docbin.span_groups.append(empty)
            labels = _labels_of(u)
            docbin.cats.append({name: 1.0 if name in labels else 0.0 for name in universe})
            docbin.user_data.append(dumps({"doc_id": v.doc.id, "sentence": u.index, "annotator": v.annotator,
                                           "notes": _notes_of(u)}))
            docbin.flags.append({"has_unknown_spaces": False})
        if flat:
            table = numpy.asarray(self.table, dtype="uint64")
            tokens = table[numpy.asarray(flat, dtype="intp")]
            tokens[:, self.iob] = 2
            tokens[:, self.sent] = 0
            tokens[numpy.asarray(starts, dtype="intp"), self.sent] = 1
            if marks:
                where = numpy.asarray([m[0] for m in marks], dtype="intp")
                tokens[where, self.iob] = [m[1] for m in marks]
                tokens[where, self.type] = numpy.asarray([m[2] for m in marks], dtype="uint64")
            space = numpy.asarray(spaces, dtype=bool).reshape((-1, 1))
            docbin.tokens.extend(numpy.split(tokens, starts[1:]))
            docbin.spaces.extend(numpy.split(space, starts[1:]))

    @staticmethod
    def covers(units: list[_Unit]) -> bool:
        """Whether every unit has tokens and every span a label (else: DocBin.add of `_spacy_doc`)."""
        return all(u.start < u.end and all(s.label for s in u.spans) for u in units)


def _without_overlaps(states: list[_Span], spans: list, first: Callable[[Any], int] = lambda s: s.start,
                      end: Callable[[Any], int] = lambda s: s.end) -> list:
    """Entities for doc.ents: reviewed spans first, then the longest, then the earliest; no two overlap.

    `first` and `end` read a span's token start and end (Span attributes, or a tuple's items)."""
    ranked = sorted(zip(states, spans, strict=True),
                    key=lambda p: (p[0].status == "predicted", -(end(p[1]) - first(p[1])), first(p[1])))
    taken: set[int] = set()
    ents = []
    for _, span in ranked:
        tokens = range(first(span), end(span))
        if taken.isdisjoint(tokens):
            taken.update(tokens)
            ents.append(span)
    return sorted(ents, key=first)


# --- export --------------------------------------------------------------------------------------------


def export(
    workspace: Workspace,
    fmt: str = "jsonl",
    unit: str | None = None,
    doc_ids: list[str] | None = None,
    annotated_only: bool = False,
    annotator: str | None = None,
    align: str = "strict",
    progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Build a dataset from the store; nothing is written (see `write_export`).

    `doc_ids`: ids or unique prefixes (None: every document). `annotated_only`: documents with at least one
    annotation of the chosen annotator(s) and, for sentence units, sentences with a tag, a note or an entity
    decision. Misaligned spans raise ExportError listing them unless `align` is `expand` or `contract`.
    `progress(1)` is called once per document read.
    """
    unit = check_options(fmt, unit, align, need_output=False)
    with _no_gc():
        return _export(workspace, fmt, unit, doc_ids, annotated_only, annotator, align, progress)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: an export allocates millions of small dicts and lists that live until
    it returns and hold no cycles, and the collector walking them again and again doubled the time to read
    the store (measured with bench/bench_export.py)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # Everything allocated meanwhile is still in the youngest generation: re-enabling as is would
            # scan it all at the next allocation. Moving it to the oldest one first (freeze + unfreeze are
            # list splices) leaves it to the next full collection, as if it had been collected gradually.
            gc.freeze()
            gc.unfreeze()
            gc.enable()


@contextlib.contextmanager
def msgpack_lookups_cached() -> Iterator[None]:
    """Look srsly's msgpack encoders and decoders up once instead of on every call.

    srsly searches the whole catalogue registry and the package entry points on every msgpack call (about
    0.5 ms once spaCy is imported), and DocBin calls it three times per Doc, when adding and when reading:
    26,000 sentences took 30 s to serialise instead of 2. The registries do not change meanwhile; they are
    restored afterwards.
    """
    try:
        from srsly.msgpack import msgpack_decoders, msgpack_encoders
    except ImportError:  # another srsly: nothing to speed up
        yield
        return
    saved = []
    for registry in (msgpack_encoders, msgpack_decoders):
        found = registry.get_all()
        saved.append((registry, registry.__dict__.get("get_all")))
        registry.get_all = lambda found=found: found
    try:
        yield
    finally:
        for registry, previous in saved:
            if previous is None:
                del registry.get_all
            else:
                registry.get_all = previous


def _export(workspace: Workspace, fmt: str, unit: str, doc_ids: list[str] | None, annotated_only: bool,
            annotator: str | None, align: str, progress: Callable[[int], None] | None) -> ExportResult:
    ids = _select(workspace, doc_ids)
    views = list(_views(workspace, ids, annotator, annotated_only, progress))
    native = fmt == "jsonl"
    units = _units(views, unit, native, annotated_only)
    result = ExportResult(fmt, unit)
    bad = _misaligned(units)
    vocab = _vocab() if fmt == "spacy" or (bad and align != "strict") else None
    if bad:
        if align == "strict":
            listed = _describe(bad)
            shown = "; ".join(map(str, listed[:10])) + (f"; … {len(listed) - 10} more" if len(listed) > 10 else "")
            raise ExportError(f"{len(listed)} span(s) do not align with token boundaries, nothing was written: "
                              f"{shown} (use --align expand or --align contract to fix them)", listed)
        result.adjusted, result.dropped = _adjust(bad, align, vocab)
    universe = list(workspace.labels.names)
    extra = {name for v in views for names in v.tags.values() for name in names} - set(universe)
    universe.extend(sorted(extra))
    result.labels = dict.fromkeys(universe, 0)
    result.documents = len({v.doc.id for v in views})
    for u in units:
        result.spans += len(u.spans)
        for name in _labels_of(u):
            result.labels[name] += 1
        result.notes += len(_notes_of(u))
    if fmt == "spacy":
        from spacy.tokens import DocBin

        docbin = DocBin(store_user_data=True)
        with msgpack_lookups_cached():
            if _DocBinWriter.covers(units):
                _DocBinWriter(docbin, vocab).add_all(units, universe)
            else:
                for u in units:
                    docbin.add(_spacy_doc(u, universe, vocab))
            result.docbin = docbin.to_bytes()
        result.count = len(units)
        return result
    if fmt == "jsonl" and unit == "document":
        result.records = [_native_document(u) for u in units]
    elif fmt == "jsonl":
        result.lines = _native_sentence_lines(units, universe)
    elif fmt == "prodigy":
        result.lines = _prodigy_lines(units, universe)
    else:
        result.records = [_doccano(u) for u in units]
    result.count = len(units)
    return result


# --- writing -------------------------------------------------------------------------------------------

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_ASCII_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)


def _dumps() -> Callable[[Any], str]:
    """srsly's ujson (a dependency of spaCy and of ours) is about 1.5x faster than the json module."""
    try:
        from srsly import ujson
    except ImportError:
        return _ENCODER.encode
    return functools.partial(ujson.dumps, ensure_ascii=False, escape_forward_slashes=False)


def _line(record: dict, dumps: Callable[[Any], str]) -> bytes:
    """One record as `_json_lines` writes it."""
    try:
        return dumps(record).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates in a text: escaped, still valid JSON
        return _ASCII_ENCODER.encode(record).encode("ascii")


_ESCAPED = re.compile(r'[\x00-\x1f"\\]')
"""Characters the JSON writers escape (with ensure_ascii off): a text without them is its own JSON string body."""


_TOKEN = '{"text":"%s","start":%s,"end":%s,"id":%s,"ws":%s}'
_TOKEN_ESCAPED = '{"text":%s,"start":%s,"end":%s,"id":%s,"ws":%s}'
_JSON_BOOL = ("false", "true")


@functools.lru_cache(maxsize=1024)
def _token_template(n: int, escaped: bool) -> str:
    return "[" + ",".join([_TOKEN_ESCAPED if escaped else _TOKEN] * n) + "]"


def _prodigy_tokens(text: str, tokens: Tokens, start: int, end: int,
                    dumps: Callable[[Any], str]) -> tuple[str, Sequence[int], Sequence[int]]:
    """The `tokens` list of `_prodigy` as JSON text, for the sentence `text` = text[start:end]: one %-format of
    a template instead of a dict per token. Also the token starts and ends (document offsets, ascending).

    The usual sentence, whose tokens are separated by nothing or one space and cover it from end to end, is
    read from the token offsets directly (no `Tokens.units`, which loops in Python over every token).
    """
    starts, ends = tokens.starts, tokens.ends
    i = bisect_left(starts, start)
    j = bisect_right(ends, end, i)
    if i == j or starts[i] != start or ends[j - 1] != end:
        return _prodigy_tokens_units(text, tokens, start, end, dumps)
    firsts, lasts = starts[i:j], ends[i:j]
    gaps = list(map(operator.sub, firsts[1:], lasts))
    if max(gaps, default=0) > 1 or min(gaps, default=0) < 0 or sum(gaps) != text.count(" "):
        return _prodigy_tokens_units(text, tokens, start, end, dumps)
    rel_starts = list(map(operator.sub, firsts, itertools.repeat(start)))
    rel_ends = list(map(operator.sub, lasts, itertools.repeat(start)))
    words = list(map(text.__getitem__, map(slice, rel_starts, rel_ends)))
    if " " in "".join(words):  # a space inside a token: the spaces are not all between tokens
        return _prodigy_tokens_units(text, tokens, start, end, dumps)
    spaces = list(map(_JSON_BOOL.__getitem__, gaps))
    spaces.append("false")
    return _format_tokens(text, words, rel_starts, rel_ends, spaces, dumps), firsts, lasts


def _prodigy_tokens_units(text: str, tokens: Tokens, start: int, end: int,
                          dumps: Callable[[Any], str]) -> tuple[str, Sequence[int], Sequence[int]]:
    """`_prodigy_tokens` through `Tokens.units`, whatever the sentence."""
    units = tokens.units(start, end)
    if not units:
        return "[]", (), ()
    firsts, lasts, flags = zip(*units, strict=True)
    rel_starts = list(map(operator.sub, firsts, itertools.repeat(start)))
    rel_ends = list(map(operator.sub, lasts, itertools.repeat(start)))
    words = map(text.__getitem__, map(slice, rel_starts, rel_ends))
    return (_format_tokens(text, words, rel_starts, rel_ends, map(_JSON_BOOL.__getitem__, flags), dumps),
            firsts, lasts)


def _format_tokens(text: str, words: Iterable[str], starts: list[int], ends: list[int], spaces: Iterable[str],
                   dumps: Callable[[Any], str]) -> str:
    escaped = _ESCAPED.search(text) is not None
    values = tuple(itertools.chain.from_iterable(
        zip(map(dumps, words) if escaped else words, starts, ends, range(len(starts)), spaces, strict=True)))
    return _token_template(len(starts), escaped) % values


def _token_index(offsets: Sequence[int], offset: int) -> int:
    """The index of the last token at `offset` in ascending `offsets` (what a dict {offset: index} gives)."""
    i = bisect_right(offsets, offset) - 1
    if i < 0 or offsets[i] != offset:  # cannot happen after the alignment check
        raise KeyError(offset)
    return i


def _prodigy_lines(units: list[_Unit], universe: list[str]) -> list[bytes]:
    """`_json_lines` of the `_prodigy` records, one bytes line each, built from JSON fragments.

    A sentence's token list is most of a Prodigy record and the same for every annotator: it is written once
    per (document, sentence) as JSON text, straight from the token offsets, and spliced into each record's
    line, like the `options` (the same for every record) and the meta's strings (the same for every record of
    a view); the other values are serialised one by one, keys in the same order. A record with lone
    surrogates (which only the ASCII writer accepts) is written from `_prodigy` as before. The token list
    alone was half the time of this export, a dict per token built and then serialised.
    """
    dumps = _dumps()
    options = dumps([{"id": name, "text": name} for name in universe])
    cache: dict[tuple[int, int, int], tuple[str, Sequence[int], Sequence[int]]] = {}
    per_view: dict[int, tuple[str, str, str]] = {}
    out = []
    append = out.append
    for u in units:
        v = u.view
        o = u.start
        text = v.doc.text[o:u.end]
        key = (id(v.tokens), o, u.end)
        found = cache.get(key)
        try:
            if found is None:
                found = cache[key] = _prodigy_tokens(text, v.tokens, o, u.end, dumps)
            tokens, firsts, lasts = found
            meta, annotator = _unit_meta_json(u, dumps, per_view)
            spans = "[]"
            if u.spans:
                spans = dumps([{"start": s.start - o, "end": s.end - o, "token_start": _token_index(firsts, s.start),
                                "token_end": _token_index(lasts, s.end), "label": s.label} for s in u.spans])
            input_hash = _hash32(text)
            task = "\x1f".join([str(input_hash), *(f"{s.start - o},{s.end - o},{s.label}" for s in u.spans),
                                *universe])
            stamp = v.touched.get(u.index, "") if u.index is not None else v.updated
            accept = _labels_of(u)
            notes = _notes_of(u)
            append((f'{{"text":{dumps(text)},"tokens":{tokens},"spans":{spans},'
                    f'"accept":{dumps(accept) if accept else "[]"},"options":{options},'
                    f'"meta":{meta},'
                    f'"notes":{dumps(notes) if notes else "[]"},"_input_hash":{input_hash},'
                    f'"_task_hash":{_hash32(task)},"answer":"accept","_annotator_id":{annotator},'
                    f'"_timestamp":{_epoch(stamp or v.updated)}}}').encode())
        except UnicodeEncodeError:
            append(_line(_prodigy(u, universe), dumps))
    return out


def _unit_meta_json(u: _Unit, dumps: Callable[[Any], str], per_view: dict) -> tuple[str, str]:
    """(`_unit_meta` as JSON text, the annotator as JSON); the view's strings are serialised once per view."""
    v = u.view
    fixed = per_view.get(id(v))
    if fixed is None:
        fixed = per_view[id(v)] = (dumps(v.doc.id), dumps(v.doc.meta.get("source")), dumps(v.annotator))
    doc_id, source, annotator = fixed
    sentence = "null" if u.index is None else u.index
    return (f'{{"doc_id":{doc_id},"sentence":{sentence},"start":{u.start},"end":{u.end},"source":{source},'
            f'"annotator":{annotator}}}'), annotator


def _native_sentence_lines(units: list[_Unit], universe: list[str]) -> list[bytes]:
    """`_json_lines` of the `_native_sentence` records, one bytes line each, built from JSON fragments like
    `_prodigy_lines`: `cats` is written once per label set, the meta's strings once per view."""
    dumps = _dumps()
    cats_of: dict[tuple[str, ...], str] = {}
    per_view: dict[int, tuple[str, str, str]] = {}
    out = []
    append = out.append
    for u in units:
        v = u.view
        o = u.start
        text = v.doc.text[o:u.end]
        try:
            meta, _ = _unit_meta_json(u, dumps, per_view)
            labels = _labels_of(u)
            key = tuple(labels)
            cats = cats_of.get(key)
            if cats is None:
                cats = cats_of[key] = dumps({name: 1.0 if name in labels else 0.0 for name in universe})
            spans = "[]"
            if u.spans:
                spans = dumps([{"start": s.start - o, "end": s.end - o, "label": s.label,
                                "text": text[s.start - o:s.end - o], "status": s.status} for s in u.spans])
            notes = _notes_of(u)
            append((f'{{"id":{dumps(f"{v.doc.id}:{u.index}")},"text":{dumps(text)},"cats":{cats},"spans":{spans},'
                    f'"notes":{dumps(notes) if notes else "[]"},"meta":{meta}}}').encode())
        except UnicodeEncodeError:
            append(_line(_native_sentence(u, universe), dumps))
    return out


def _json_lines(records: list[dict]) -> bytes:
    """One compact JSON object per line, UTF-8, keys in insertion order."""
    dumps = _dumps()
    out = []
    for record in records:
        try:
            out.append(dumps(record).encode("utf-8"))
        except UnicodeEncodeError:  # lone surrogates in a text: escaped, still valid JSON
            out.append(_ASCII_ENCODER.encode(record).encode("ascii"))
    out.append(b"")
    return b"\n".join(out) if records else b""


_RAW_CONTROL = re.compile(rb"\x7f|\xc2[\x80-\x9f]")
"""DEL and C1 controls as UTF-8: JSON may carry them raw, but stdout may be a terminal, so there they are
written as `\\u0080`-style escapes (the same JSON value; ESC and other C0 controls are always escaped)."""


def write_export(result: ExportResult, output: Path | str | BinaryIO | None = None) -> int:
    """Write the dataset to a file (atomically), a binary stream, or stdout (None or "-"); returns bytes written."""
    if result.docbin is not None and (output is None or output == "-"):
        raise ExportError("the spacy format is a binary DocBin: give --output FILE.spacy")
    data = result.to_bytes()
    if output is None or output == "-":
        if _RAW_CONTROL.search(data):  # only a store written before reader.untrusted holds any
            data = _RAW_CONTROL.sub(lambda m: b"\\u%04x" % ord(m.group().decode("utf-8")), data)
        stream = sys.stdout.buffer
        stream.write(data)
        stream.flush()
    elif isinstance(output, str | Path):
        path = Path(output)
        if path.is_dir():
            raise ExportError(f"{path} is a folder: give a file name for --output")
        if not path.parent.is_dir():
            raise ExportError(f"cannot write {path}: the folder {path.parent} does not exist")
        try:
            from reader.store import atomic_write

            atomic_write(path, data)
        except OSError as exc:
            raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    else:
        output.write(data)
        output.flush()
    return len(data)


# --- importing native records ---------------------------------------------------------------------------


def is_native_record(record: Any) -> bool:
    """Whether a JSON object is a native document record (as `export(fmt="jsonl", unit="document")` writes)."""
    return (isinstance(record, dict) and isinstance(record.get("text"), str) and isinstance(record.get("id"), str)
            and isinstance(record.get("sentences"), list) and isinstance(record.get("spans"), list)
            and "model" in record)


def read_native(path: Path | str) -> list[dict] | None:
    """The records of a native JSONL export, or None when the file is something else (plain documents).

    Decided on the first non-blank line, so `reader import` can send an export back through `import_native`
    and any other .jsonl through the document loader.
    """
    path = Path(path)
    if path.suffix.lower() != ".jsonl" or not path.is_file():
        return None
    records: list[dict] = []
    try:
        with path.open("rb") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    if not records:
                        return None
                    raise ExportError(f"{path}:{number}: not valid JSON") from None
                if not records and not is_native_record(record):
                    return None
                records.append(record)
    except OSError as exc:
        raise ExportError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return records or None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def import_native(workspace: Workspace, records: Iterable[dict], *, analyse: bool = False,
                  clock: Callable[[], str] = _now, default_annotator: str | None = None) -> ImportSummary:
    """Recreate documents and annotations from native document records (the inverse of the jsonl export).

    Each record's document is stored with its meta (without `annotator`); its tags, notes and entity
    decisions are written for `meta.annotator` (or `default_annotator`, else the workspace's annotator), with
    the same record ids the annotation operations use, so re-importing is idempotent. Notes keep their id,
    target (an entity note stays on its entity), offsets, author and times; tags and decisions get `clock()`.
    Predicted spans need no record: they come from the analysis. Decisions remember the model's label when the
    document has an analysis (with `analyse` the documents are analysed first).
    Everything is validated before anything is written.

    A native file is a door for untrusted strings (`reader.untrusted`), with one rule per kind of value:
    - the text must already be what sanitising produces, else the record is refused: its id is a hash of that
      text, and annotations point into it by offsets, so a cleaned text would be another document with shifted
      offsets — `reader import` of the source file is the way to get a cleaned copy;
    - labels (sentence and entity), `meta.annotator` and note authors must follow the name grammar, else the
      record is refused (they are identities: files and records are keyed by them);
    - meta keys and values, note texts and times are cleaned, as every other door cleans them (nothing but
      control characters is lost, and nothing is keyed by them).
    """
    plan: list[tuple[Document, str | None, dict]] = []
    for number, record in enumerate(records, 1):
        where = f"record {number}"
        if isinstance(record, dict) and isinstance(record.get("meta"), dict) and "doc_id" in record["meta"]:
            raise ExportError(f"{where}: a sentence record cannot be imported (export with --unit document)")
        if not is_native_record(record):
            raise ExportError(f"{where}: not a native document record (id, text, model, spans, sentences)")
        text = record["text"]
        if clean_text(text) != text:
            raise ExportError(f"{where} (id {record['id']!r:.20}): the text holds control characters, a BOM or "
                              "CR line endings; refused, since the id is a hash of the text (import the source "
                              "document instead)")
        if document_id(text) != record["id"]:
            raise ExportError(f"{where}: the id {record['id']!r:.40} does not match its text (edited after export?)")
        if not isinstance(record.get("meta") or {}, dict):
            raise ExportError(f"{where}: \"meta\" must be an object")
        meta = dict(record.get("meta") or {})
        annotator = meta.pop("annotator", None)
        meta = {k: v for k, v in meta.items() if not (k in META_ORDER and v is None)}
        try:
            if annotator is not None:
                annotator = check_name(annotator, "meta.annotator")
            meta = clean_meta(meta)
            record = _checked(record, where)
        except UntrustedError as exc:
            raise ExportError(f"{where}: {exc}") from None
        plan.append((Document.create(text, meta), annotator, record))
    docs = list({doc.id: doc for doc, _, _ in plan}.values())
    if analyse:  # load (or fail on) every pipeline needed before the store changes
        for doc in {workspace.pipeline_for(d): d for d in docs if workspace.cached_analysis(d) is None}.values():
            workspace.pipeline(doc)
    added = tuple(doc.id for doc in docs if workspace.store.add_document(doc.to_record()))
    analyses = workspace.analyse_many(docs) if analyse and docs else [workspace.cached_analysis(d) for d in docs]
    predicted = {doc.id: {(e.start, e.end): e.label for e in analysis.entities}
                 for doc, analysis in zip(docs, analyses, strict=True) if analysis is not None}
    written = 0
    for doc, annotator, record in plan:
        name = annotator or default_annotator or workspace.annotator
        by_annotator: dict[str, list[dict]] = {}
        stamp = clock()
        models = predicted.get(doc.id, {})
        for sentence in record["sentences"]:
            start, end = sentence["start"], sentence["end"]
            for label in sentence.get("labels") or []:
                tag = Annotation(f"tag-{_digest(start, end, label)}", "tag", start, end, name, stamp, stamp,
                                 quote_at(doc.text, start, end), label=label)
                by_annotator.setdefault(name, []).append(tag.to_record())
            for note in sentence.get("notes") or []:
                by_annotator.setdefault(note.get("annotator") or name, []).append(
                    _note_record(doc, note.get("target") or "sentence", note.get("start", start),
                                 note.get("end", end), note, name))
        for note in record.get("notes") or []:
            by_annotator.setdefault(note.get("annotator") or name, []).append(
                _note_record(doc, note.get("target") or "document", note.get("start", 0), note.get("end", 0),
                             note, name))
        for span in record["spans"]:
            status = span.get("status", "predicted")
            if status == "predicted":
                continue
            start, end, label = span["start"], span["end"], span["label"]
            model_label = models.get((start, end), "")
            if status in ("accepted", "rejected") and not model_label:
                model_label = label  # both keep the model's label
            decision = Annotation(f"ent-{start}-{end}", "entity", start, end, name, stamp, stamp,
                                  quote_at(doc.text, start, end), label=label, status=status,
                                  predicted="" if status == "added" else model_label)
            by_annotator.setdefault(name, []).append(decision.to_record())
        for who, items in sorted(by_annotator.items()):
            workspace.store.write(doc.id, who, upsert=items)
            written += len(items)
    return ImportSummary(len(plan), tuple(d.id for d in docs), added, written)


def _note_record(doc: Document, target: str, start: int, end: int, note: dict, annotator: str) -> dict:
    """The store record of an exported note: same id, target, offsets and times as the one exported."""
    if target == "document":
        start = end = 0
    created = note.get("created") or ""
    text = note.get("text") or ""
    ident = note.get("id") or _note_id(target, start, end, created, text)
    return Annotation(ident, "note", start, end, note.get("annotator") or annotator, created,
                      note.get("updated") or created, quote_at(doc.text, start, end),
                      text=text, target=target).to_record()


def _checked(record: dict, where: str) -> dict:
    """The record validated, with names in NFC and note texts and times cleaned (a copy: the caller's is kept).

    Raises ExportError for a malformed record, UntrustedError for a name outside the grammar.
    """
    n = len(record["text"])

    def offsets(item: Any, what: str) -> None:
        if not (isinstance(item, dict) and isinstance(item.get("start"), int) and isinstance(item.get("end"), int)
                and 0 <= item["start"] <= item["end"] <= n):
            raise ExportError(f"{where}: a {what} has no valid start/end offsets into the text: {item!r:.80}")

    def note_of(note: Any) -> dict:
        if not isinstance(note, dict) or not isinstance(note.get("text"), str):
            raise ExportError(f"{where}: a note needs a \"text\" string")
        if note.get("target", "sentence") not in ("sentence", "entity", "document"):
            raise ExportError(f"{where}: unknown note target {note.get('target')!r:.40}")
        if "start" in note or "end" in note:
            offsets(note, "note")
        for key in ("id", "updated", "created", "annotator"):
            if key in note and not isinstance(note[key], str):
                raise ExportError(f"{where}: a note's {key!r} must be a string")
        if "id" in note and not _NOTE_ID.fullmatch(note["id"]):
            raise ExportError(f"{where}: a note id is 'note-' and letters, digits, - or _, not {note['id']!r:.40}")
        note = {**note, "text": clean_text(note["text"])}
        for key in ("created", "updated"):
            if key in note:
                note[key] = clean_line(note[key])
        if note.get("annotator"):
            note["annotator"] = check_name(note["annotator"], "note author")
        return note

    def notes_of(item: dict) -> list[dict]:
        notes = item.get("notes") or []
        if not isinstance(notes, list):
            raise ExportError(f"{where}: \"notes\" must be a list")
        return [note_of(x) for x in notes]

    sentences = []
    for sentence in record["sentences"]:
        offsets(sentence, "sentence")
        labels = sentence.get("labels") or []
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise ExportError(f"{where}: sentence labels must be strings")
        sentences.append({**sentence, "labels": [check_name(x, "sentence label") for x in labels],
                          "notes": notes_of(sentence)})
    spans = []
    for span in record["spans"]:
        offsets(span, "span")
        if span.get("status", "predicted") not in ("predicted", *REVIEWED):
            raise ExportError(f"{where}: unknown span status {span.get('status')!r:.40}")
        if not isinstance(span.get("label"), str) or not span["label"]:
            raise ExportError(f"{where}: a span needs a label")
        spans.append({**span, "label": check_name(span["label"], "entity label")})
    return {**record, "sentences": sentences, "spans": spans, "notes": notes_of(record)}


_NOTE_ID = re.compile(r"note-[\w-]{1,64}", re.ASCII)
