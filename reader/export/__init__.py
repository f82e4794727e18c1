"""Export: the store as datasets (native JSONL, Prodigy tasks, doccano JSONL, spaCy DocBin), and back.

One code path for the CLI, the TUI and the tests; the record shapes are the contract (CONTRACT.md), and the
same store gives the same bytes (tests/test_export_differential.py holds every format's output from before
this was a package). The modules:

    formats.py    the table of formats: default unit, binary or not, keeps rejected spans, writer
    units.py      one annotator's view of a document (the read model, `reader.annotations.AnnotatorWork`,
                  in export form) cut into units: documents or sentences
    tokens.py     the analysis' tokens, and the alignment check and fixes every span goes through
    native.py     the native records (`jsonl`) and the native import
    prodigy.py, doccano.py, docbin.py   one builder of each record shape
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

import contextlib
import gc
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from reader.export.docbin import msgpack_lookups_cached
from reader.export.formats import FORMATS, UNITS, Format, check_options, get_format
from reader.export.jsonlines import write_export
from reader.export.native import ImportSummary, import_native, is_native_record, read_native
from reader.export.result import ExportError, ExportResult, Misaligned
from reader.export.tokens import ALIGN_MODES, Tokens, adjust, blank_vocab, describe, doc_from_units, misaligned
from reader.export.units import labels_of, notes_of, select, units, views

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
    `progress(1)` is called once per document read.
    """
    unit = check_options(fmt, unit, align, need_output=False)
    with _no_gc(), workspace.bulk_reads():
        return _export(workspace, get_format(fmt), unit, doc_ids, annotated_only, annotator, align, progress)


def _export(workspace: Workspace, fmt: Format, unit: str, doc_ids: list[str] | None, annotated_only: bool,
            annotator: str | None, align: str, progress: Callable[[int], None] | None) -> ExportResult:
    chosen = views(workspace, select(workspace, doc_ids), annotator, annotated_only, progress)
    every = list(chosen)
    parts = units(every, unit, fmt.keeps_rejected, annotated_only)
    result = ExportResult(fmt.name, unit)
    bad = misaligned(parts)
    if bad:
        if align == "strict":
            listed = describe(bad)
            shown = "; ".join(map(str, listed[:10])) + (f"; … {len(listed) - 10} more" if len(listed) > 10 else "")
            raise ExportError(f"{len(listed)} span(s) do not align with token boundaries, nothing was written: "
                              f"{shown} (use --align expand or --align contract to fix them)", listed)
        result.adjusted, result.dropped = adjust(bad, align, blank_vocab())
    universe = list(workspace.labels.names)
    extra = {name for v in every for names in v.tags.values() for name in names} - set(universe)
    universe.extend(sorted(extra))
    result.labels = dict.fromkeys(universe, 0)
    result.documents = len({v.doc.id for v in every})
    for u in parts:
        result.spans += len(u.spans)
        for name in labels_of(u):
            result.labels[name] += 1
        result.notes += len(notes_of(u))
    output = fmt.write(parts, universe, unit)
    if fmt.binary:
        result.docbin = output  # type: ignore[assignment]
    else:
        result.lines = output  # type: ignore[assignment]
    result.count = len(parts)
    return result


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: an export allocates millions of small dicts and lists that live until
    it returns and hold no cycles, and the collector walking them again and again doubled the time to read
    the store (measured with bench/bench_export.py)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # Everything allocated meanwhile is still in the youngest generation: re-enabling as is would
            # scan it all at the next allocation. Moving it to the oldest one first (freeze + unfreeze are
            # list splices) leaves it to the next full collection, as if it had been collected gradually.
            gc.freeze()
            gc.unfreeze()
            gc.enable()
