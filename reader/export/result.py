"""What an export gives back: the result (records or DocBin, counts for the summary) and its errors."""

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
        where = f"{self.doc_id}" + ("" if self.sentence is None else f" sentence {self.sentence}")
        who = f" ({self.annotator})" if self.annotator else ""
        return f"{where} [{self.start}:{self.end}] {self.label} {self.text!r}{who}"


@dataclass(kw_only=True)
class Tally:
    """What an export's summary counts: of the whole export, or of one chunk of its documents (added up)."""

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
    skipped: list[str] = field(default_factory=list)
    """Damaged annotation files left out, one line each (`reader.workspace.Damage`)."""

    def add(self, other: Tally) -> None:
        for name, n in other.labels.items():
            self.labels[name] = self.labels.get(name, 0) + n
        self.count += other.count
        self.documents += other.documents
        self.spans += other.spans
        self.notes += other.notes
        self.adjusted += other.adjusted
        self.dropped += other.dropped
        self.skipped += [line for line in other.skipped if line not in self.skipped]


@dataclass
class ExportResult(Tally):
    format: str
    unit: str
    blocks: list[bytes] | None = field(default=None, repr=False)
    """The JSON records serialised, as blocks of whole lines each ending in a newline (one block per chunk
    of documents exported; None for a binary format): the file is their concatenation."""
    docbin: bytes | None = None
    """The serialised DocBin (`spacy` only)."""

    _records: list[dict] | None = field(default=None, repr=False)

    @property
    def lines(self) -> list[bytes] | None:
        """The JSON records serialised, one line each without its newline (None for a binary format)."""
        if self.blocks is None:
            return None
        return [line for block in self.blocks for line in bytes(block).split(b"\n")[:-1]]

    @property
    def records(self) -> list[dict]:
        """The JSON records (empty for `spacy`)."""
        if self._records is None:
            self._records = [json.loads(line) for line in self.lines] if self.lines is not None else []
        return self._records

    def to_bytes(self) -> bytes:
        if self.docbin is not None:
            return self.docbin
        return b"".join(self.blocks or ())

    def summary(self) -> str:
        what = "docs" if self.format == "spacy" else "records"
        labels = ", ".join(f"{name} {n}" for name, n in self.labels.items() if n) or "none"
        text = (f"exported {self.count} {what} ({self.format}, {self.unit}) from {self.documents} documents: "
                f"{self.spans} spans, {self.notes} notes, labels: {labels}")
        if self.adjusted or self.dropped:
            text += f"; {self.adjusted} misaligned spans adjusted, {self.dropped} dropped"
        return text
