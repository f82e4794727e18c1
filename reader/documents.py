"""Documents: what a document is, its text rule and its stable id; every offset points into the stored text, so
everything that changes characters happens here, once, before analysis."""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from reader.untrusted import UntrustedError, clean_line, clean_meta, clean_text

DEFAULT_LANG = "fr"
sanitize = clean_text  # document text as stored: the text rule of `reader.untrusted`

_LEADING_DATE = re.compile(r"\A\s*date\s*[:=]?\s*(\d{4}-\d{2}(?:-\d{2})?)\b[ \t]*")
_HEADER_LINE = re.compile(r"\A(title|source|date|lang|author|url)\s*:\s*(.+)\Z", re.IGNORECASE)
_KEY = re.compile(r"[A-Za-z_][\w.-]*")
_FLAT_LINE = re.compile(r"([A-Za-z_][\w.-]*)[ \t]*:[ \t]+(.+)")
_STOPWORDS = {
    "fr": {"le", "la", "les", "des", "est", "une", "et", "du", "que", "qui", "dans", "pour", "pas", "sur", "au"},
    "en": {"the", "and", "is", "of", "to", "in", "that", "it", "for", "was", "on", "with", "as", "by", "are"},
    "de": {"der", "die", "und", "das", "ist", "nicht", "ein", "eine", "mit", "auf", "den", "von", "sich", "zu"},
    "es": {"el", "los", "las", "es", "una", "y", "que", "del", "por", "con", "para", "como", "se", "su", "lo"},
    "it": {"il", "della", "che", "di", "è", "per", "gli", "una", "sono", "con", "non", "nel", "alla", "del"},
}


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


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Non-empty lines as stand-in sentences until the model's sentences arrive."""
    return [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text) if m.group().strip()] or [(0, len(text))]


def document_id(text: str) -> str:
    """First 12 hex digits of the SHA-256 of the stored text: the same text is the same document anywhere."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def split_header(text: str) -> tuple[str, dict[str, str]]:
    """Header metadata apart from the body: `---` front matter, `key: value` lines, or a leading `date 2023-09`."""
    meta: dict[str, str] = {}
    stripped = text.lstrip()
    if stripped.startswith("---\n"):
        end = stripped.find("\n---", 4)
        if end != -1:
            meta.update(front_matter(stripped[4:end]))
            text = stripped[end + 4 :]
    else:  # `key: value` lines, then a blank line
        lines = stripped.split("\n")
        header = list(itertools.takewhile(bool, (_HEADER_LINE.match(line.strip()) for line in lines)))
        if header and len(header) < len(lines) and not lines[len(header)].strip():
            meta.update((m.group(1).lower(), m.group(2).strip()) for m in header)
            text = "\n".join(lines[len(header) + 1 :])
    if m := _LEADING_DATE.match(text):
        meta.setdefault("date", m.group(1))
        text = text[m.end() :]
    return text.strip(), meta


def front_matter(block: str) -> dict[str, str]:
    """Top-level text values of YAML front matter (`BaseLoader`: every scalar stays text), lists joined with `, `."""
    import yaml

    try:
        data = yaml.load(block, Loader=yaml.BaseLoader)
    except (yaml.YAMLError, RecursionError):  # `titre : sous-titre` (French typography) is no YAML: its lines
        data = dict(m.groups() for line in block.split("\n") if (m := _FLAT_LINE.fullmatch(line.rstrip())))
    meta: dict[str, str] = {}
    for key, value in (data.items() if isinstance(data, dict) else ()):
        if isinstance(value, list):
            value = ", ".join(item.strip() for item in value if isinstance(item, str) and item.strip())
        if isinstance(key, str) and _KEY.fullmatch(key) and isinstance(value, str) and value.strip():
            meta[key.lower()] = value.strip()
    return meta


def derive_title(text: str, limit: int = 90) -> str:
    first = clean_line(text.strip().split("\n", 1)[0].lstrip("#"))
    if len(first) <= limit:
        return first
    return first[:limit].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"  # cut at a word


def guess_language(text: str) -> str:
    """A cheap function-word vote, enough to pick a pipeline; metadata `lang` always wins over it."""
    words = re.findall(r"\w+", text[:5000].lower())  # none: every score 0, below the bar
    scores = {lang: sum(w in stop for w in words) for lang, stop in _STOPWORDS.items()}
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] >= max(3, len(words) // 50) and scores[best] > scores[DEFAULT_LANG] else DEFAULT_LANG


def make_document(raw: str, meta: dict[str, Any] | None = None, *, where: str = "input",
                  markdown: bool = False) -> Document:
    """Sanitise, split the header, build; `markdown`: its plain text, titled by its first `#` heading."""
    body, header = split_header(sanitize(raw))
    if markdown:
        from reader.markdown import to_text

        converted = to_text(body)
        body = sanitize(converted.text)  # character references (`&#27;`) can make controls: the rule again
        if converted.title:
            header.setdefault("title", converted.title)
    if not body.strip():
        raise DocumentError(f"{where}: the document is empty")
    return build_document(body, {**header, **(meta or {})}, where)


def build_document(text: str, meta: dict[str, Any], where: str) -> Document:
    """Meta one-line cleaned (not refused: no value is an identity), with a title and language when it has none."""
    try:
        clean: dict[str, Any] = clean_meta(meta)
    except UntrustedError as exc:
        raise DocumentError(f"{where}: {exc}") from None
    clean.setdefault("title", derive_title(text))
    clean.setdefault("lang", guess_language(text))
    return Document.create(text, clean)


def is_url(value: str | Path) -> bool:
    """A command-line argument naming a web address (a `Path` would have collapsed its `//`: pass strings)."""
    return isinstance(value, str) and re.match(r"https?://", value, re.IGNORECASE) is not None
