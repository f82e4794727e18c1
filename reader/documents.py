"""Documents: loading article files, sanitising their text and deriving stable ids.

The stored text is what every offset points into, so everything that changes characters (control codes,
line endings, header metadata) happens here, once, before analysis.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from reader.untrusted import UntrustedError, clean_line, clean_meta, clean_text

SUFFIXES = (".txt", ".md", ".jsonl", ".html", ".htm")
TEXT_SUFFIXES = (".txt", ".md", ".jsonl")
"""Read as text; saved pages (`.html`) and feeds (by content, any other suffix) go to `reader.web`."""
MAX_BYTES = 50 * 1024 * 1024
"""Larger files are refused with a clear message rather than freezing the terminal."""

DEFAULT_LANG = "fr"


class DocumentError(Exception):
    """A file that cannot become a document; the message is meant for the user as is."""


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    meta: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def create(cls, text: str, meta: dict[str, Any] | None = None) -> Document:
        return cls(document_id(text), text, MappingProxyType(dict(meta or {})))

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or derive_title(self.text))

    @property
    def lang(self) -> str:
        return str(self.meta.get("lang") or DEFAULT_LANG)

    def to_record(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "meta": dict(self.meta)}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Document:
        return cls(record["id"], record["text"], MappingProxyType(dict(record.get("meta") or {})))


def document_id(text: str) -> str:
    """First 12 hex digits of the SHA-256 of the stored text: the same text is the same document anywhere."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def sanitize(text: str) -> str:
    """Document text as stored: the text rule of `reader.untrusted` (BOM, line endings, controls, surrogates).

    Done before analysis so that the stored text, its id and every offset agree with what is displayed.
    """
    return clean_text(text)


_LEADING_DATE = re.compile(r"\A\s*date\s*[:=]?\s*(\d{4}-\d{2}(?:-\d{2})?)\b[ \t]*")
_HEADER_LINE = re.compile(r"\A(title|source|date|lang|author|url)\s*:\s*(.+)\Z", re.IGNORECASE)


def split_header(text: str) -> tuple[str, dict[str, str]]:
    """Separate header metadata from the body.

    Recognised: `---` front matter with `key: value` lines, leading `key: value` lines followed by a blank
    line, and a bare leading `date 2023-09` (as in the seed articles) before the first sentence.
    """
    meta: dict[str, str] = {}
    stripped = text.lstrip()
    if stripped.startswith("---\n"):
        end = stripped.find("\n---", 4)
        if end != -1:
            for line in stripped[4:end].splitlines():
                key, sep, value = line.partition(":")
                if sep and key.strip():
                    meta[key.strip().lower()] = value.strip()
            text = stripped[end + 4 :]
    else:
        lines = stripped.split("\n")
        header: dict[str, str] = {}
        for i, line in enumerate(lines):
            m = _HEADER_LINE.match(line.strip())
            if m:
                header[m.group(1).lower()] = m.group(2).strip()
                continue
            if header and not line.strip():
                meta.update(header)
                text = "\n".join(lines[i + 1 :])
            break
    m = _LEADING_DATE.match(text)
    if m:
        meta.setdefault("date", m.group(1))
        text = text[m.end() :]
    return text.strip(), meta


def derive_title(text: str, limit: int = 90) -> str:
    first = clean_line(text.strip().split("\n", 1)[0].lstrip("#"))
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


_STOPWORDS = {
    "fr": {"le", "la", "les", "des", "est", "une", "et", "du", "que", "qui", "dans", "pour", "pas", "sur", "au"},
    "en": {"the", "and", "is", "of", "to", "in", "that", "it", "for", "was", "on", "with", "as", "by", "are"},
    "de": {"der", "die", "und", "das", "ist", "nicht", "ein", "eine", "mit", "auf", "den", "von", "sich", "zu"},
    "es": {"el", "los", "las", "es", "una", "y", "que", "del", "por", "con", "para", "como", "se", "su", "lo"},
    "it": {"il", "della", "che", "di", "è", "per", "gli", "una", "sono", "con", "non", "nel", "alla", "del"},
}


def guess_language(text: str, default: str = DEFAULT_LANG) -> str:
    """A cheap function-word vote, enough to pick a pipeline; metadata `lang` always wins over it."""
    words = re.findall(r"\w+", text[:5000].lower())
    if not words:
        return default
    scores = {lang: sum(w in stop for w in words) for lang, stop in _STOPWORDS.items()}
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] >= max(3, len(words) // 50) and scores[best] > scores[default] else default


def make_document(raw: str, meta: dict[str, Any] | None = None, *, where: str = "input") -> Document:
    """Sanitise, strip the header and build the document; `where` names the origin in error messages.

    The text follows the text rule, every meta key and value (header, file name, `.jsonl` meta) the one-line
    rule of `reader.untrusted`: cleaned, not refused, since none of them is an identity.
    """
    body, header = split_header(sanitize(raw))
    if not body.strip():
        raise DocumentError(f"{where}: the document is empty")
    try:
        merged: dict[str, Any] = clean_meta({**header, **(meta or {})})
    except UntrustedError as exc:
        raise DocumentError(f"{where}: {exc}") from None
    merged.setdefault("title", derive_title(body))
    merged.setdefault("lang", guess_language(body))
    return Document.create(body, merged)


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if size > MAX_BYTES:
        raise DocumentError(f"{path}: too large ({size // (1024 * 1024)} MB; the limit is {MAX_BYTES >> 20} MB)")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _read_text(path: Path, data: bytes | None = None) -> str:
    data = _read_bytes(path) if data is None else data
    if b"\x00" in data[:8192]:
        raise DocumentError(f"{path}: looks like a binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{path}: not valid UTF-8 (byte {exc.start}); convert it with iconv first") from None


Stored = Callable[[], Iterable[Document]]
"""The documents already in the store, asked for only when a feed is read (its known items are not fetched)."""
Report = Callable[[str], None]
"""Where a feed says which item failed (one line each) while the others are imported."""


def load_file(path: Path, *, stored: Stored | None = None, report: Report | None = None) -> list[Document]:
    """Documents of one file: one for .txt/.md and saved pages, one per non-blank line for .jsonl, one per item
    for a feed (told by its content: any suffix but the text ones)."""
    suffix = path.suffix.lower()
    data = _read_bytes(path)
    if suffix not in TEXT_SUFFIXES:
        from reader import web

        if suffix in web.PAGE_SUFFIXES or (not web.is_feed(data) and web.looks_like_html(data)):
            return [web.load_page_file(path, data)]
        if web.is_feed(data):
            return web.load_feed(data, where=str(path), stored=stored, report=report)
    raw = _read_text(path, data)
    source = path.name
    if path.suffix.lower() != ".jsonl":
        if not raw.strip():
            raise DocumentError(f"{path}: the file is empty")
        return [make_document(raw, {"source": source}, where=str(path))]
    docs = []
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DocumentError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise DocumentError(f"{where}: each line needs a \"text\" string")
        meta = record.get("meta") or {}
        if not isinstance(meta, dict):
            raise DocumentError(f"{where}: \"meta\" must be an object")
        docs.append(make_document(record["text"], {"source": f"{source}:{number}", **meta}, where=where))
    if not docs:
        raise DocumentError(f"{path}: the file is empty")
    return docs


def iter_files(path: Path) -> Iterator[Path]:
    if path.is_dir():
        yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    elif path.exists():
        yield path
    else:
        raise DocumentError(f"{path}: no such file or folder")


def is_url(value: str | Path) -> bool:
    """A command-line argument naming a web address (a `Path` would have collapsed its `//`: pass strings)."""
    return isinstance(value, str) and re.match(r"https?://", value, re.IGNORECASE) is not None


def load_paths(paths: Iterable[Path | str], *, stored: Stored | None = None,
               report: Report | None = None) -> list[Document]:
    """All documents under the given files, folders and URLs (pages or feeds), in a stable order, without
    duplicates; `stored` and `report` serve feeds (see `Stored`, `Report`)."""
    seen: dict[str, Document] = {}
    for root in paths:
        if is_url(root):
            from reader import web

            docs = web.load_url(str(root), stored, report)
        else:
            root = Path(root)
            files = list(iter_files(root))
            if root.is_dir() and not files:
                raise DocumentError(f"{root}: no .txt, .md, .jsonl or .html files in this folder")
            docs = [doc for file in files for doc in load_file(file, stored=stored, report=report)]
        for doc in docs:
            seen.setdefault(doc.id, doc)
    return list(seen.values())

