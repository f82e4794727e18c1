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

    Recognised: `---` front matter (see `front_matter`), leading `key: value` lines followed by a blank
    line, and a bare leading `date 2023-09` (as in the seed articles) before the first sentence.
    """
    meta: dict[str, str] = {}
    stripped = text.lstrip()
    if stripped.startswith("---\n"):
        end = stripped.find("\n---", 4)
        if end != -1:
            meta.update(front_matter(stripped[4:end]))
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


_KEY = re.compile(r"([A-Za-z_][\w.-]*)[ \t]*:(?:[ \t]+(.*))?\Z")
_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r",
            "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028",
            "P": "\u2029"}


def front_matter(block: str) -> dict[str, str]:
    """The top-level `key: value` pairs of YAML front matter, values as YAML reads them.

    No YAML parser is a dependency, and meta values are one-line strings, so this reads the part of YAML front
    matter holds: plain scalars (a ` #` comment cut), `'single'` (`''` is a quote) and `"double"` quoted ones
    (backslash escapes), `|`/`>` block scalars, and lists (`[a, "b"]` or `- a` lines) joined with `, `. Nested
    mappings are skipped: they are not one value.
    """
    meta: dict[str, str] = {}
    lines = block.split("\n")
    i = 0
    while i < len(lines):
        m = _KEY.match(lines[i].rstrip())
        i += 1
        if not m:
            continue
        key, value = m.group(1).lower(), (m.group(2) or "").strip()
        nested = []
        while i < len(lines) and (not lines[i].strip() or lines[i][:1] in " \t-"):
            nested.append(lines[i])
            i += 1
        if value[:1] and value[0] in "|>":
            text = [line.strip() for line in nested]
            meta[key] = ("\n" if value[0] == "|" else " ").join(text).strip()
        elif value:
            meta[key] = yaml_scalar(value + "".join(" " + line.strip() for line in nested if line.strip()))
        else:
            items = [line.strip()[1:].strip() for line in nested if line.strip().startswith("-")]
            if items and all(line.strip().startswith("-") for line in nested if line.strip()):
                meta[key] = ", ".join(filter(None, map(yaml_scalar, items)))
    return {key: value for key, value in meta.items() if value}


def yaml_scalar(value: str) -> str:
    """One YAML flow value as text: quotes and escapes resolved, a flow list joined with `, `."""
    value = value.strip()
    if value.startswith('"'):
        out, i = [], 1
        while i < len(value) and value[i] != '"':
            c = value[i]
            if c == "\\" and i + 1 < len(value):
                nxt = value[i + 1]
                width = {"x": 2, "u": 4, "U": 8}.get(nxt)
                if width and re.fullmatch(r"[0-9A-Fa-f]+", value[i + 2 : i + 2 + width] or "-"):
                    out.append(chr(int(value[i + 2 : i + 2 + width], 16)))
                    i += 2 + width
                    continue
                out.append(_ESCAPES.get(nxt, "\\" + nxt))
                i += 2
                continue
            out.append(c)
            i += 1
        return "".join(out)
    if value.startswith("'"):
        out, i = [], 1
        while i < len(value):
            if value[i] == "'":
                if value[i + 1 : i + 2] != "'":
                    break
                i += 1
            out.append(value[i])
            i += 1
        return "".join(out)
    if value.startswith("[") and value.endswith("]"):
        items = re.findall(r"""\s*("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^,]*)\s*(?:,|\Z)""", value[1:-1])
        return ", ".join(filter(None, (yaml_scalar(item) for item in items)))
    return re.split(r"[ \t]#", value, maxsplit=1)[0].strip()


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


def make_document(raw: str, meta: dict[str, Any] | None = None, *, where: str = "input",
                  markdown: bool = False) -> Document:
    """Sanitise, strip the header and build the document; `where` names the origin in error messages.

    `markdown`: the body is Markdown, stored as its plain text (`reader.markdown`), titled by its first `#`
    heading unless the header names a title. The text follows the text rule, every meta key and value (header,
    file name, `.jsonl` meta) the one-line rule of `reader.untrusted`: cleaned, not refused, since none of them
    is an identity.
    """
    body, header = split_header(sanitize(raw))
    if markdown:
        from reader.markdown import to_text

        converted = to_text(body)
        body = sanitize(converted.text)  # character references (`&#27;`) can make controls: the rule again
        if converted.title:
            header.setdefault("title", converted.title)
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
Refuse = Callable[[DocumentError], None]
"""Where an input that cannot be a document goes when the others go on (see `load_inputs`)."""


def _raise(exc: DocumentError) -> None:
    raise exc


def load_file(path: Path, *, stored: Stored | None = None, report: Report | None = None,
              refuse: Refuse = _raise) -> list[Document]:
    """Documents of one file: one for .txt/.md and saved pages, one per non-blank line for .jsonl, one per item
    for a feed (told by its content: any suffix but the text ones). A bad `.jsonl` line goes to `refuse` (by
    default raised) and the file's other lines are read; a bad file raises."""
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
    if suffix != ".jsonl":
        if not raw.strip():
            raise DocumentError(f"{path}: the file is empty")
        return [make_document(raw, {"source": source}, where=str(path), markdown=suffix == ".md")]
    docs = []
    lines = 0
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        lines += 1
        try:
            docs.append(jsonl_document(line, source=f"{source}:{number}", where=f"{path}:{number}"))
        except DocumentError as exc:
            refuse(exc)
    if not lines:
        raise DocumentError(f"{path}: the file is empty")
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


@dataclass(frozen=True)
class Loaded:
    documents: list[Document]
    """Every document read, in a stable order, without duplicates."""
    refused: list[str]
    """One line per input (a file, a URL, a `.jsonl` line) that could not become a document: which, and why.
    Messages, not the exceptions: a kept traceback would keep the caller's frames (and its store) alive."""


def load_inputs(paths: Iterable[Path | str], *, stored: Stored | None = None,
                report: Report | None = None) -> Loaded:
    """Every document under the given files, folders and URLs (pages or feeds), and every input refused.

    One bad input never costs the others: an analyst's folder with an empty or mis-encoded file still imports
    the rest, and the refusals are listed, one each. `stored` and `report` serve feeds (see `Stored`, `Report`).
    """
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
                root = Path(root)
                files = list(iter_files(root))
                if root.is_dir() and not files:
                    raise DocumentError(f"{root}: no .txt, .md, .jsonl or .html files in this folder")
                for file in files:
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
    """`load_inputs`' documents, all or nothing: the first refusal is raised (for callers with no way to say
    more than one thing)."""
    loaded = load_inputs(paths, stored=stored, report=report)
    if loaded.refused:
        raise DocumentError(loaded.refused[0])
    return loaded.documents
