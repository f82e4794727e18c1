"""What an export gives back: the dataset's bytes, the counts for the summary, and its errors."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field


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
        where = self.doc_id + ("" if self.sentence is None else f" sentence {self.sentence}")
        who = f" ({self.annotator})" if self.annotator else ""
        return f"{where} [{self.start}:{self.end}] {self.label} {self.text!r}{who}"


@dataclass
class ExportResult:
    format: str
    unit: str
    binary: bool = False
    data: bytes = field(default=b"", repr=False)
    count: int = 0  # records or Docs
    documents: int = 0
    spans: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    notes: int = 0
    adjusted: int = 0  # misaligned spans moved onto tokens; `dropped`: those that contracted to nothing
    dropped: int = 0
    skipped: list[str] = field(default_factory=list)  # the damaged files left out, one line each
    unreviewed: int = 0  # units left out because nobody reviewed them
    warnings: list[str] = field(default_factory=list)
    overlaps: str = ""  # `Format.overlaps`; `overlapping`: the spans the overlap rule left out there
    overlapping: int = 0
    entity_labels: list[str] = field(default_factory=list)  # sorted: a BIO format's tag set

    @property
    def docbin(self) -> bytes | None:
        return self.data if self.binary else None

    @property
    def records(self) -> list[dict]:
        """json, not msgspec: msgspec does not read the escaped lone surrogates we write."""
        return [] if self.binary else [json.loads(line) for line in self.data.splitlines()]

    def to_bytes(self) -> bytes:
        return self.data

    def summary(self) -> str:
        labels = ", ".join(f"{name} {n}" for name, n in self.labels.items() if n) or "none"
        text = (f"exported {self.count} {'docs' if self.binary else 'records'} ({self.format}, {self.unit}) from "
                f"{self.documents} documents: {self.spans} spans, {self.notes} notes, labels: {labels}")
        if self.format in ("conll", "hf"):
            text += f"; entity labels: {', '.join(self.entity_labels) or 'none'}"
        if self.adjusted or self.dropped:
            text += f"; {self.adjusted} misaligned spans adjusted, {self.dropped} dropped"
        if self.overlapping:
            kept = "; every span is in doc.spans[\"sc\"]" if self.format == "spacy" else ""
            text += (f"; {self.overlapping} overlapping spans left out of {self.overlaps} (the analyst's span first, "
                     f"then the longer{kept})")
        if self.unreviewed:
            what = "documents not marked done" if self.unit == "document" else "unreviewed sentences"
            text += (f"; {self.unreviewed} {what} left out (mark documents done with D or `reader done`, or "
                     "pass --unreviewed include)")
        return text
