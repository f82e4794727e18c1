"""Export: the store as datasets (native JSONL, Prodigy tasks, doccano JSONL, spaCy DocBin), and back.

One code path for the CLI, the TUI and the tests. The same store and versions give the same bytes, which spaCy's
DocBin and srsly read back (tests/test_export_differential.py). A record is one annotator's view of a document or
sentence (`units.py`); nothing is merged, since two analysts can disagree (`reader stats` measures it), so training
data is best exported with `--annotator` and `--annotated-only`, as Prodigy keeps one answer per annotator until a
review merges them. Each format has one writer `write(units, labels) -> bytes`, on the libraries' own API.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reader.export import brat, docbin, doccano, labelstudio, native, prodigy
from reader.export.docbin import msgpack_lookups_cached
from reader.export.jsonlines import write_export
from reader.export.native import ImportSummary, import_native, is_native_record, read_native
from reader.export.result import ExportError, ExportResult, Misaligned
from reader.export.tokens import ALIGN_MODES, Tokens, blank_vocab, doc_from_units
from reader.export.units import Unit, adjust, describe, labels_of, misaligned, notes_of, select, units, views

if TYPE_CHECKING:
    from reader.workspace import Workspace

__all__ = [
    "ALIGN_MODES",
    "FORMATS",
    "UNITS",
    "ExportError",
    "ExportResult",
    "Format",
    "ImportSummary",
    "Misaligned",
    "Tokens",
    "check_options",
    "doc_from_units",
    "export",
    "import_native",
    "is_native_record",
    "msgpack_lookups_cached",
    "read_native",
    "write_export",
]


UNITS = ("document", "sentence")


@dataclass(frozen=True)
class Format:
    name: str
    default_unit: str
    binary: bool
    """A DocBin: never written to stdout."""
    keeps_rejected: bool
    """Rejected entities stay in the records (the native format's review trail)."""
    write: Callable[[Iterable[Unit], list[str]], bytes]
    """(units, label universe) -> the file: one JSON line or one Doc per unit."""


FORMATS: dict[str, Format] = {
    "jsonl": Format("jsonl", "document", binary=False, keeps_rejected=True, write=native.write),
    "prodigy": Format("prodigy", "sentence", binary=False, keeps_rejected=False, write=prodigy.write),
    "doccano": Format("doccano", "sentence", binary=False, keeps_rejected=False, write=doccano.write),
    "spacy": Format("spacy", "sentence", binary=True, keeps_rejected=False, write=docbin.write),
    "labelstudio": Format("labelstudio", "sentence", binary=False, keeps_rejected=False, write=labelstudio.write),
    "brat": Format("brat", "document", binary=True, keeps_rejected=False, write=brat.write),
}


def get_format(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise ExportError(f"unknown format {name!r} (formats: {', '.join(FORMATS)})") from None


def check_options(fmt: str, unit: str | None = None, align: str = "strict", output: object = None, *,
                  need_output: bool = True) -> str:
    """Validate the options before any work; returns the unit. `output` None or "-" is stdout."""
    found = get_format(fmt)
    unit = unit or found.default_unit
    if unit not in UNITS:
        raise ExportError(f"unknown unit {unit!r} (units: {', '.join(UNITS)})")
    if align not in ALIGN_MODES:
        raise ExportError(f"unknown alignment mode {align!r} (modes: {', '.join(ALIGN_MODES)})")
    if need_output and found.binary and (output is None or output == "-"):
        raise ExportError(f"the {fmt} format is a binary DocBin: give --output FILE.spacy")
    return unit


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

    `doc_ids`: ids or unique prefixes. Misaligned spans raise ExportError listing them unless `align` is `expand`
    or `contract`. `progress(n)` is called as documents are read, then as they are written: 2 per document.
    """
    unit = check_options(fmt, unit, align, need_output=False)
    found = get_format(fmt)
    with workspace.bulk_reads():  # the writers too: their Docs and records join the read model on the heap
        ids = select(workspace, doc_ids)
        every = list(views(workspace, ids, annotator, annotated_only, progress))
        written = [0]
        result = _build(found, unit, every, annotated_only, align, list(workspace.labels.names),
                        progress and functools.partial(_reported, progress=progress, done=written))
    if progress:  # the last document, and those read but not exported (annotated_only)
        progress(len(ids) - written[0])
    damaged = [d for d in workspace.damage() if not d.annotator]  # documents left out by `select`
    damaged += [d for doc_id in ids for d in workspace.damage(doc_id)]
    result.skipped = list(dict.fromkeys(map(str, damaged)))
    return result


def _reported(parts: list[Unit], progress: Callable[[int], None], done: list[int]) -> Iterator[Unit]:
    """The units, each document reported once its units are written (but the last one)."""
    last = None
    for u in parts:
        if u.view.doc.id != last:
            if last is not None:
                progress(1)
                done[0] += 1
            last = u.view.doc.id
        yield u


def _build(found: Format, unit: str, every: list, annotated_only: bool, align: str, names: list[str],
           reported: Callable[[list[Unit]], Iterable[Unit]] | None) -> ExportResult:
    parts = units(every, unit, found.keeps_rejected, annotated_only)
    result = ExportResult(found.name, unit, found.binary)
    bad = misaligned(parts)
    if bad and align == "strict":
        listed = describe(bad)
        shown = "; ".join(map(str, listed[:10])) + (f"; … {len(listed) - 10} more" if len(listed) > 10 else "")
        raise ExportError(f"{len(listed)} span(s) do not align with token boundaries, nothing was written: "
                          f"{shown} (use --align expand or --align contract to fix them)", listed)
    if bad:
        result.adjusted, result.dropped = adjust(bad, align, blank_vocab())
    universe = [*names, *sorted({name for v in every for labels in v.tags.values() for name in labels} - set(names))]
    result.data = found.write(parts if reported is None else reported(parts), universe)
    result.labels = dict.fromkeys(universe, 0)
    for u in parts:
        result.spans += len(u.spans)
        for name in labels_of(u):
            result.labels[name] += 1
        result.notes += len(notes_of(u))
    result.documents = len({v.doc.id for v in every})
    result.count = len(parts)
    return result
