"""The native format (`jsonl`): document records hold everything an analyst wrote (rejected spans included), so
export → import gives the same store; the import is here, beside the shape it reads."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reader import annotations as ann
from reader.documents import Document, document_id
from reader.export import jsonlines
from reader.export.result import ExportError
from reader.export.tokens import Tokens, blank_vocab, doc_from_units
from reader.export.units import META_ORDER, Unit, document_meta, snap
from reader.untrusted import UntrustedError, check_name, clean_line, clean_meta, clean_text

if TYPE_CHECKING:
    from reader.workspace import Workspace

REVIEWED = frozenset({"accepted", "relabelled", "added", "rejected"})


def document_record(u: Unit) -> dict:
    v = u.view
    text = v.doc.text
    sentences = [{"start": start, "end": end, "labels": v.tags.get(i, []), "notes": v.notes.get(i, [])}
                 for i, (start, end) in enumerate(v.sentences)]
    record = {"id": v.doc.id, "text": text, "meta": document_meta(v.doc, v.annotator), "model": v.model,
              "spans": _spans(u, text), "sentences": sentences, "notes": v.doc_notes}
    if v.annotator is not None and v.work.done:  # only then, so other records keep their bytes
        record["done"] = True
    _audit_trail(v, record)
    return record


def _audit_trail(v: Any, record: dict) -> None:
    """An adjudicated set's `from` and `versions`, and the model of each accepted or dismissed suggestion, so that
    an import restores them; nothing is added to anyone else's records."""
    audited = [r for r in v.records.values() if "versions" in r or "from" in r]
    marked = [r for r in v.records.values() if r.get("model") and r.get("kind") in ("tag", ann.DISMISSAL)]
    sentences = record["sentences"]
    spans = {(x["start"], x["end"]): x for x in record["spans"]} if audited else {}
    for r in sorted(audited, key=_by_time):
        kind = r.get("kind")
        target = spans.get((r["start"], r["end"])) if kind == "entity" else None
        if target is not None:
            target["from"] = list(r.get("from", []))
            target["versions"] = list(r.get("versions", []))
        elif kind in ("tag", ann.REVIEW) and sentences:
            target = sentences[v.work.sentence_of(r["start"], r["end"])]
            if kind == "tag":
                target.setdefault("from", {})[r.get("label", "")] = list(r.get("from", []))
            target["versions"] = list(r.get("versions", []))
    for r in sorted(marked, key=_by_time) if sentences else ():
        target = sentences[v.work.sentence_of(r["start"], r["end"])]
        target.setdefault("models" if r["kind"] == "tag" else "dismissed", {})[r.get("label", "")] = r["model"]


def _by_time(record: dict) -> tuple[str, str]:
    return record.get("updated", ""), record.get("id", "")


def sentence_record(u: Unit, universe: list[str]) -> dict:
    text = u.view.doc.text[u.start:u.end]
    labels = u.labels
    return {"id": f"{u.view.doc.id}:{u.index}", "text": text,
            "cats": {name: 1.0 if name in labels else 0.0 for name in u.view.universe or universe},
            "spans": _spans(u, text, u.start), "notes": u.notes, "meta": u.meta}


def _spans(u: Unit, text: str, o: int = 0) -> list[dict]:
    """A relabelled span keeps the label it replaced (`predicted_label`)."""
    return [{"start": s.start - o, "end": s.end - o, "label": s.label, "text": text[s.start - o:s.end - o],
             "status": s.status, **({"predicted_label": s.predicted} if s.predicted else {})} for s in u.spans]


def write(units: Iterable[Unit], labels: list[str]) -> bytes:
    return jsonlines.lines([document_record(u) if u.index is None else sentence_record(u, labels) for u in units])


def is_native_record(record: Any) -> bool:
    """Whether a JSON object is a native document record (as `export(fmt="jsonl", unit="document")` writes)."""
    return (isinstance(record, dict) and isinstance(record.get("text"), str) and isinstance(record.get("id"), str)
            and isinstance(record.get("sentences"), list) and isinstance(record.get("spans"), list)
            and "model" in record)


def read_native(path: Path | str) -> list[dict] | None:
    """The records of a native JSONL export, or None when its first line says it is something else (documents)."""
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


@dataclass(frozen=True)
class ImportSummary:
    records: int
    documents: tuple[str, ...]
    added: tuple[str, ...]  # those of `documents` not in the store yet
    annotations: int  # records written (the same ones again change nothing on disk)
    snapped: int = 0  # spans that cut a token, moved onto tokens; `dropped`: those that contracted to nothing
    dropped: int = 0


def import_native(workspace: Workspace, records: Iterable[dict], *, analyse: bool = False,
                  clock: Callable[[], str] = ann.now, align: str = "strict") -> ImportSummary:
    """Recreate documents and annotations with the ids the operations use (re-importing is idempotent), all
    validated first: a door for untrusted strings, where a text must already be clean since its id is its hash."""
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
    analyses = workspace.analyse_many(docs) if analyse and docs else [workspace.cached_analysis(d) for d in docs]
    snapped = _align_spans(plan, dict(zip((d.id for d in docs), analyses, strict=True)), align)
    added = tuple(doc.id for doc in docs if workspace.add_document(doc))
    predicted = {doc.id: {(e.start, e.end): e.label for e in analysis.entities}
                 for doc, analysis in zip(docs, analyses, strict=True) if analysis is not None}
    written = 0
    for doc, annotator, record in plan:
        name = annotator or workspace.annotator
        by_annotator: dict[str, list[dict]] = {}
        stamp = clock()
        models = predicted.get(doc.id, {})
        add = functools.partial(_add, by_annotator, doc, name, created=stamp, updated=stamp)

        for sentence in record["sentences"]:
            start, end = sentence["start"], sentence["end"]
            sources, versions = sentence.get("from") or {}, tuple(sentence.get("versions") or ())
            suggested_by = sentence.get("models") or {}
            for label in sentence.get("labels") or []:
                add(ann.tag_id(start, end, label), "tag", start, end, label=label,
                    sources=tuple(sources.get(label, ())), versions=versions, model=suggested_by.get(label, ""))
            for label, model in (sentence.get("dismissed") or {}).items():
                add(ann.dismissal_id(start, end, label), ann.DISMISSAL, start, end, label=label, model=model)
            if versions and not sentence.get("labels"):  # an adjudicated sentence with no label
                add(ann.review_id(start, end), ann.REVIEW, start, end, target="sentence", versions=versions)
            for note in sentence.get("notes") or []:
                _add_note(by_annotator, doc, name, note, "sentence", start, end)
        for note in record.get("notes") or []:
            _add_note(by_annotator, doc, name, note, "document", 0, 0)
        if record.get("done"):  # as `AnnotationSession.set_done` writes it: no quote
            done = ann.Annotation(ann.done_id(doc.id), ann.DONE, 0, 0, name, stamp, stamp)
            by_annotator.setdefault(name, []).append(done.to_record())
        for span in record["spans"]:
            status = span.get("status", "predicted")
            if status == "predicted":
                continue
            start, end, label = span["start"], span["end"], span["label"]
            model_label = models.get((start, end), "") or span.get("predicted_label", "")
            if status in ("accepted", "rejected") and not model_label:
                model_label = label  # both keep the model's label
            add(ann.entity_id(start, end), "entity", start, end, label=label, status=status,
                predicted="" if status == "added" else model_label, sources=tuple(span.get("from") or ()),
                versions=tuple(span.get("versions") or ()))
        for who, items in sorted(by_annotator.items()):
            workspace.write(doc.id, who, upsert=items)
            written += len(items)
    return ImportSummary(len(plan), tuple(d.id for d in docs), added, written, *snapped)


def _align_spans(plan: list[tuple[Document, str | None, dict]], analyses: dict, align: str) -> tuple[int, int]:
    """(snapped, dropped): a store never holds a span its exports reject, so spans that cut a token refuse the
    import or are snapped as export's --align does."""
    bad = []
    for number, (doc, _, record) in enumerate(plan, 1):
        analysis = analyses.get(doc.id)
        if analysis is None:
            continue
        tokens = Tokens.from_pairs(doc.text, analysis.tokens)
        for span in record["spans"]:
            if span.get("status", "predicted") != "predicted" and not tokens.aligned(span["start"], span["end"]):
                bad.append((number, doc, tokens, span, record))
    if not bad:
        return 0, 0
    if align == "strict":
        lines = [f"record {n} ({doc.id}) [{s['start']}:{s['end']}] {s['label']} "
                 f"{doc.text[s['start']:s['end']]!r} cuts a token" for n, doc, _, s, _ in bad]
        raise ExportError(f"{len(bad)} span(s) do not align with the tokens, nothing was imported "
                          "(use --align expand or --align contract to snap them):\n  " + "\n  ".join(lines))
    dropped = 0
    docs: dict[str, Any] = {}
    for _, doc, tokens, span, record in bad:
        if doc.id not in docs:
            docs[doc.id] = doc_from_units(blank_vocab(), doc.text, tokens.units(0, len(doc.text)))
        found = snap(docs[doc.id], span["start"], span["end"], align)
        if found is None:
            record["spans"] = [s for s in record["spans"] if s is not span]
            dropped += 1
        else:
            span["start"], span["end"] = found
    return len(bad) - dropped, dropped


def _add(by_annotator: dict[str, list[dict]], doc: Document, name: str, ident: str, kind: str, start: int,
         end: int, created: str, updated: str, **fields: Any) -> None:
    by_annotator.setdefault(name, []).append(ann.Annotation(
        ident, kind, start, end, name, created, updated, ann.quote_at(doc.text, start, end), **fields).to_record())


def _add_note(by_annotator: dict[str, list[dict]], doc: Document, name: str, note: dict, target: str, start: int,
              end: int) -> None:
    """A note under its own author, if it names one; offsets default to its sentence's."""
    target = note.get("target") or target
    start, end = (0, 0) if target == "document" else (note.get("start", start), note.get("end", end))
    created, text = note.get("created") or "", note.get("text") or ""
    ident = note.get("id") or ann.note_id(target, start, end, created, text)
    _add(by_annotator, doc, note.get("annotator") or name, ident, "note", start, end, created,
         note.get("updated") or created, text=text, target=target)


def _checked(record: dict, where: str) -> dict:
    """A validated copy, names in NFC, note texts and times cleaned; UntrustedError for a name off the grammar."""
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
        cleaned = {key: clean_line(note[key]) for key in ("created", "updated") if key in note}
        if note.get("annotator"):
            cleaned["annotator"] = check_name(note["annotator"], "note author")
        return {**note, "text": clean_text(note["text"]), **cleaned}

    def listed(value: Any, kind: type, message: str) -> list:
        if not isinstance(value, list) or not all(isinstance(x, kind) for x in value):
            raise ExportError(f"{where}: {message}")
        return value

    def notes_of(item: dict) -> list[dict]:
        return [note_of(x) for x in listed(item.get("notes") or [], object, "\"notes\" must be a list")]

    def strings(value: Any, message: str, kind: str) -> list[str]:
        return [check_name(x, kind) for x in listed(value, str, message)]

    def names(value: Any, what: str) -> list[str]:
        return strings(value, f"{what} must be a list of annotator names", "annotator")

    def versions_of(item: dict) -> dict:
        if "versions" not in item:
            return item
        checked = []
        for version in listed(item["versions"], dict, "\"versions\" must be a list of objects"):
            entry: dict[str, Any] = {"annotators": names(version.get("annotators"), "a version's annotators")}
            if "labels" in version:
                entry["labels"] = strings(version["labels"], "a version's labels must be strings", "sentence label")
            if "spans" in version:
                for x in listed(version["spans"], object, "a version's spans must be a list"):
                    offsets(x, "version span")
                entry["spans"] = [{"start": x["start"], "end": x["end"],
                                   "label": check_name(str(x.get("label", "")), "entity label")}
                                  for x in version["spans"]]
            checked.append(entry)
        return {**item, "versions": checked}

    sentences = []
    for sentence in record["sentences"]:
        offsets(sentence, "sentence")
        labels = strings(sentence.get("labels") or [], "sentence labels must be strings", "sentence label")
        sentence = {**sentence, "labels": labels, "notes": notes_of(sentence)}
        for key in ("from", "models", "dismissed"):  # label -> who agreed, or the model that suggested it
            if key not in sentence:
                continue
            what = "annotator" if key == "from" else "model"
            if not isinstance(sentence[key], dict):
                raise ExportError(f"{where}: a sentence's \"{key}\" must map labels to {what} names")
            sentence[key] = {check_name(str(k), "sentence label"): names(v, "\"from\"") if key == "from"
                             else check_name(str(v), "model name") for k, v in sentence[key].items()}
        sentences.append(versions_of(sentence))
    if not isinstance(record.get("done", False), bool):
        raise ExportError(f"{where}: \"done\" must be true or false")
    spans = []
    for span in record["spans"]:
        offsets(span, "span")
        if span.get("status", "predicted") not in ("predicted", *REVIEWED):
            raise ExportError(f"{where}: unknown span status {span.get('status')!r:.40}")
        if not isinstance(span.get("label"), str) or not span["label"]:
            raise ExportError(f"{where}: a span needs a label")
        span = {**span, "label": check_name(span["label"], "entity label")}
        if "predicted_label" in span:
            span["predicted_label"] = check_name(str(span["predicted_label"]), "entity label")
        if "from" in span:
            span["from"] = names(span["from"], "\"from\"")
        spans.append(versions_of(span))
    return {**record, "sentences": sentences, "spans": spans, "notes": notes_of(record)}


_NOTE_ID = re.compile(r"note-[\w-]{1,64}", re.ASCII)
