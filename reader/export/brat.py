"""brat standoff for brat and INCEpTION (README, Export): a deterministic zip (sorted names, fixed times) of a
`.txt` (the stored text, exactly) and an `.ann` per document and annotator, and `annotation.conf`; an entity
holding a tab or a line break is cut there into brat's discontinuous fragments, since a brat line holds none."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

from reader.export.result import ExportError
from reader.export.units import Unit, View

SENTENCE = "Sentence"
_FRAGMENT = re.compile(r"[^\t\n\r]+")
_UNSAFE = re.compile(r"[^\w/-]")
_BREAK = re.compile(r"[\t\n\r]")


def type_name(label: str) -> str:
    return _UNSAFE.sub("_", label)


def fragments(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """text[start:end] without its edge whitespace, cut at tabs and line breaks (fragments of spaces left out)."""
    piece = text[start:end]
    start += len(piece) - len(piece.lstrip())
    end -= len(piece) - len(piece.rstrip())
    return [(m.start(), m.end()) for m in _FRAGMENT.finditer(text, start, end)
            if m.group().strip()] if start < end else []


def annotations(v: View, parts: list[Unit]) -> str:
    """The `.ann` of one annotator's document, from its units (the whole document, or some of its sentences)."""
    text = v.doc.text
    lines: list[str] = []

    def span(label: str, start: int, end: int) -> str | None:
        found = fragments(text, start, end)
        if not found:
            return None
        ident = f"T{len(lines) + 1}"
        where = ";".join(f"{s} {e}" for s, e in found)
        lines.append(f"{ident}\t{type_name(label)} {where}\t{' '.join(text[s:e] for s, e in found)}")
        return ident

    notes: list[tuple[str, str]] = []
    attributes: list[tuple[str, str]] = []
    entities: dict[tuple[int, int], str] = {}
    for u in parts:
        for s in u.spans:
            ident = span(s.label, s.start, s.end)
            if ident is not None:
                entities.setdefault((s.start, s.end), ident)
    pending = v.doc_notes  # on the first sentence written
    for i in sorted({i for u in parts for i in (range(len(v.sentences)) if u.index is None else (u.index,))}):
        targets = [(entities.get((n.get("start"), n.get("end"))) if n.get("target") == "entity" else None, n["text"])
                   for n in (*pending, *v.notes.get(i, ()))]
        names = v.tags.get(i, [])
        ident = span(SENTENCE, *v.sentences[i]) if names or any(t is None for t, _ in targets) else None
        notes.extend((t, text) for t, text in targets if t)
        if ident is None:
            continue
        pending = []
        attributes.extend((type_name(name), ident) for name in names)
        notes.extend((ident, text) for t, text in targets if not t)
    lines += [f"A{n}\t{name} {ident}" for n, (name, ident) in enumerate(attributes, 1)]
    lines += [f"#{n}\tAnnotatorNotes {ident}\t{_BREAK.sub(' ', note)}" for n, (ident, note) in enumerate(notes, 1)]
    return "".join(line + "\n" for line in lines)


def configuration(entity_types: set[str], sentence_labels: set[str]) -> str:
    entities = "\n".join(sorted(entity_types | {SENTENCE}))
    attributes = "\n".join(f"{name}\tArg:{SENTENCE}" for name in sorted(sentence_labels))
    return f"[entities]\n{entities}\n\n[relations]\n\n[events]\n\n[attributes]\n{attributes}\n"


def write(units: Iterable[Unit], labels: list[str]) -> bytes:
    """A zip of the `.txt`, `.ann` and `annotation.conf` files; `labels` (every sentence label) are attributes."""
    views: dict[int, tuple[View, list[Unit]]] = {}
    for u in units:
        views.setdefault(id(u.view), (u.view, []))[1].append(u)
    files: dict[str, bytes] = {}
    entity_types: set[str] = set()
    for v, parts in views.values():
        stem = v.doc.id if v.annotator is None else f"{v.annotator.replace('/', '_')}/{v.doc.id}"
        files[f"{stem}.txt"] = v.doc.text.encode("utf-8", "surrogatepass")
        files[f"{stem}.ann"] = annotations(v, parts).encode("utf-8", "surrogatepass")
        entity_types.update(type_name(s.label) for u in parts for s in u.spans)
    files["annotation.conf"] = configuration(entity_types, {type_name(name) for name in labels}).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name], zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def write_folder(data: bytes, folder: Path) -> int:
    """Unpack the zip into `folder` (made if missing, its parent must exist); returns the bytes written."""
    if folder.exists() and not folder.is_dir():
        raise ExportError(f"{folder} is a file: give a folder or a .zip name for --output")
    if not folder.parent.is_dir():
        raise ExportError(f"cannot write {folder}: the folder {folder.parent} does not exist")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.extractall(folder)
            return sum(info.file_size for info in archive.infolist())
    except OSError as exc:
        raise ExportError(f"cannot write {folder}: {exc.strerror or exc}") from None
