"""Export: the store as datasets (native JSONL, Prodigy tasks, doccano JSONL, spaCy DocBin), and back.

One code path for the CLI, the TUI and the tests; the record shapes are the contract (CONTRACT.md), and the
same store and versions (of reader, spaCy, msgspec) give the same bytes, which spaCy's DocBin and srsly read
back (tests/test_export_differential.py). The modules:

    formats.py    the table of formats: default unit, binary or not, keeps rejected spans, writer
    units.py      one annotator's view of a document (the read model, `reader.annotations.AnnotatorWork`,
                  in export form) cut into units: documents or sentences
    tokens.py     the analysis' tokens, and the alignment check and fixes every span goes through
    native.py     the native records (`jsonl`) and the native import
    prodigy.py, doccano.py, docbin.py   one writer of each record shape: `write(units, labels) -> bytes`
    jsonlines.py  records serialised (msgspec) and written

Several annotators: a record is one annotator's view of a document (or of one of its sentences), named by
`meta.annotator` (`_annotator_id` for Prodigy). Every analyst who annotated a document gets their own records,
in name order; `annotator=NAME` keeps only that analyst's. A document nobody (or not NAME) annotated gets one
record with `annotator: null`: model predictions, no labels (`annotated_only` leaves it out). Nothing is
merged: two analysts' labels and entity decisions can disagree (`reader stats` measures it), so training data
is best exported with `--annotator` and `--annotated-only`, the way Prodigy keeps one answer per annotator
until a review merges them.

Documents are in store order (source, then id); output depends only on the store (stable hashes, timestamps
from the annotations), so the same store gives the same bytes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from reader.export.align import adjust, describe, misaligned
from reader.export.docbin import msgpack_lookups_cached
from reader.export.formats import FORMATS, UNITS, Format, check_options, get_format
from reader.export.jsonlines import write_export
from reader.export.native import ImportSummary, import_native, is_native_record, read_native
from reader.export.result import ExportError, ExportResult, Misaligned
from reader.export.tokens import ALIGN_MODES, Tokens, blank_vocab, doc_from_units
from reader.export.units import Unit, labels_of, notes_of, select, units, views

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

    `doc_ids`: ids or unique prefixes (None: every document). `annotated_only`: documents with at least one
    annotation of the chosen annotator(s) and, for sentence units, sentences with a tag, a note or an entity
    decision. Misaligned spans raise ExportError listing them unless `align` is `expand` or `contract`.
    `progress(n)` is called as documents are read (n of them), then again as they are written: 2 per document.
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
    """The units, a document reported once its units are written (counted in `done`), but the last one."""
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
