"""Loading: files, folders and URLs as documents (pages and feeds through `reader.web`), each refused input one
line while the others go on."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reader.documents import Document, DocumentError, is_url, make_document

if TYPE_CHECKING:
    from reader.web import Report, Stored

SUFFIXES = (".txt", ".md", ".jsonl", ".html", ".htm")
TEXT_SUFFIXES = (".txt", ".md", ".jsonl")  # others: saved pages, or feeds by content
MAX_BYTES = 50 * 1024 * 1024  # refused with a message rather than freezing the terminal

Refuse = Callable[[DocumentError], None]


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size <= MAX_BYTES:
            return path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read ({exc.strerror or exc})") from None
    raise DocumentError(f"{path}: too large ({size // (1024 * 1024)} MB; the limit is {MAX_BYTES >> 20} MB)")


def _read_text(path: Path, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise DocumentError(f"{path}: looks like a binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{path}: not valid UTF-8 (byte {exc.start}); convert it with iconv first") from None


def _raise(exc: DocumentError) -> None:
    raise exc


def load_file(path: Path, *, stored: Stored | None = None, report: Report | None = None,
              refuse: Refuse = _raise) -> list[Document]:
    """One document per .txt/.md file or page, per `.jsonl` line or feed item; a bad line goes to `refuse`."""
    suffix = path.suffix.lower()
    data = _read_bytes(path)
    if suffix not in TEXT_SUFFIXES:
        from reader import web

        if suffix in web.PAGE_SUFFIXES or (not web.is_feed(data) and web.looks_like_html(data)):
            return [web.page_document(data, where=str(path), source=path.name)]  # `url`: the page's canonical one
        if web.is_feed(data):
            return web.load_feed(data, where=str(path), stored=stored, report=report)
    raw = _read_text(path, data)
    if not raw.strip():  # for a `.jsonl` too: not one line that is not blank
        raise DocumentError(f"{path}: the file is empty")
    if suffix != ".jsonl":
        return [make_document(raw, {"source": path.name}, where=str(path), markdown=suffix == ".md")]
    docs = []
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            docs.append(jsonl_document(line, source=f"{path.name}:{number}", where=f"{path}:{number}"))
        except DocumentError as exc:
            refuse(exc)
    return docs


def jsonl_document(line: str, *, source: str, where: str) -> Document:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise DocumentError(f"{where}: each line needs a \"text\" string")
    meta = record.get("meta") or {}
    if not isinstance(meta, dict):
        raise DocumentError(f"{where}: \"meta\" must be an object")
    return make_document(record["text"], {"source": source, **meta}, where=where)


def iter_files(path: Path) -> list[Path]:
    if path.is_dir():
        if files := sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES):
            return files
        raise DocumentError(f"{path}: no .txt, .md, .jsonl or .html files in this folder")
    if path.exists():
        return [path]
    raise DocumentError(f"{path}: no such file or folder")


@dataclass(frozen=True)
class Loaded:
    documents: list[Document]  # in a stable order, without duplicates
    refused: list[str]  # one line per input refused; not the exceptions, whose tracebacks hold the caller's frames


def load_inputs(paths: Iterable[Path | str], *, stored: Stored | None = None,
                report: Report | None = None) -> Loaded:
    """Every document under the given files, folders and URLs, and a line per input refused (the others go on)."""
    seen: dict[str, Document] = {}
    refused: list[str] = []

    def refuse(exc: DocumentError) -> None:
        refused.append(str(exc))
    for root in paths:
        docs: list[Document] = []
        try:
            if is_url(root):
                from reader import web

                docs = web.load_url(str(root), stored, report)
            else:
                for file in iter_files(Path(root)):
                    try:
                        docs.extend(load_file(file, stored=stored, report=report, refuse=refuse))
                    except DocumentError as exc:
                        refuse(exc)
        except DocumentError as exc:
            refuse(exc)
        for doc in docs:
            seen.setdefault(doc.id, doc)
    return Loaded(list(seen.values()), refused)


def load_paths(paths: Iterable[Path | str], *, stored: Stored | None = None,
               report: Report | None = None) -> list[Document]:
    """`load_inputs`' documents, all or nothing: the first refusal is raised."""
    loaded = load_inputs(paths, stored=stored, report=report)
    if loaded.refused:
        raise DocumentError(loaded.refused[0])
    return loaded.documents
