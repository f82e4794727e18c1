"""The formats, in one table: what differs between them is decided here, once, and nowhere else.

Each entry names its default unit, whether its output is binary (then it needs a file), whether rejected
entities stay in its records (only the native format keeps the review trail), and its writer: the module
that holds the one builder of its record shape. Harlequin keeps its export formats the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from reader.export import docbin, doccano, native, prodigy
from reader.export.result import ExportError
from reader.export.tokens import ALIGN_MODES
from reader.export.units import Unit

UNITS = ("document", "sentence")


@dataclass(frozen=True)
class Format:
    name: str
    default_unit: str
    binary: bool
    """Binary output (a DocBin) is never written to stdout: it needs --output."""
    keeps_rejected: bool
    """Rejected entities stay in the records, with their status (the native format's review trail)."""
    write: Callable[[Iterable[Unit], list[str]], bytes]
    """(units, label universe) -> the file: one JSON line per unit, or the DocBin of one Doc per unit."""


FORMATS: dict[str, Format] = {
    "jsonl": Format("jsonl", "document", binary=False, keeps_rejected=True, write=native.write),
    "prodigy": Format("prodigy", "sentence", binary=False, keeps_rejected=False, write=prodigy.write),
    "doccano": Format("doccano", "sentence", binary=False, keeps_rejected=False, write=doccano.write),
    "spacy": Format("spacy", "sentence", binary=True, keeps_rejected=False, write=docbin.write),
}


def get_format(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise ExportError(f"unknown format {name!r} (formats: {', '.join(FORMATS)})") from None


def check_options(fmt: str, unit: str | None = None, align: str = "strict", output: object = None, *,
                  need_output: bool = True) -> str:
    """Validate the options before any work; returns the unit (the format's default when None).

    `output` is the destination (None or "-" = stdout), which a binary format cannot use; pass
    `need_output=False` to check the rest only.
    """
    found = get_format(fmt)
    unit = unit or found.default_unit
    if unit not in UNITS:
        raise ExportError(f"unknown unit {unit!r} (units: {', '.join(UNITS)})")
    if align not in ALIGN_MODES:
        raise ExportError(f"unknown alignment mode {align!r} (modes: {', '.join(ALIGN_MODES)})")
    if need_output and found.binary and (output is None or output == "-"):
        raise ExportError(f"the {fmt} format is a binary DocBin: give --output FILE.spacy")
    return unit
