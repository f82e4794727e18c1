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
    parallel.py   chunks of documents exported in forked processes, the pieces joined in order (same bytes)

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

import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reader.export.docbin import msgpack_lookups_cached
from reader.export.formats import FORMATS, UNITS, Format, check_options, get_format
from reader.export.jsonlines import write_export
from reader.export.native import ImportSummary, import_native, is_native_record, read_native
from reader.export.parallel import Peers, chunks, map_chunks, workers
from reader.export.result import ExportError, ExportResult, Misaligned, Tally
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
    processes: int = 1,
) -> ExportResult:
    """Build a dataset from the store; nothing is written (see `write_export`).

    `doc_ids`: ids or unique prefixes (None: every document). `annotated_only`: documents with at least one
    annotation of the chosen annotator(s) and, for sentence units, sentences with a tag, a note or an entity
    decision. Misaligned spans raise ExportError listing them unless `align` is `expand` or `contract`.
    `progress(n)` is called as documents are read (n of them). `processes`: how many to work in (0: one per
    CPU; see `reader.export.parallel` for when that is 1 anyway); the result does not depend on it.
    """
    unit = check_options(fmt, unit, align, need_output=False)
    found = get_format(fmt)
    with workspace.bulk_reads():
        ids = select(workspace, doc_ids)
        job = _Job(workspace, found, unit, annotated_only, annotator, align)
        parts = chunks(ids, workers(processes, len(ids)), found.first_chunk)
        result = job.join(parts, map_chunks(job, parts, progress))
    result.skipped[:0] = [str(d) for d in workspace.damage() if not d.annotator]  # documents left out by `select`
    return result


@dataclass
class Piece(Tally):
    """One chunk of documents exported: its piece of the output and what the summary counts."""

    universe: list[str] | None
    """The label universe the output was built with: the label set, then the labels outside it that this
    chunk's tags use (every chunk must use the whole export's); None until asked for."""
    extras: list[str] = field(default_factory=list)
    misaligned: list[Misaligned] = field(default_factory=list)
    """Strict alignment only: the spans that do not align (then there is no output)."""
    output: Any = None

    def __getstate__(self) -> dict[str, Any]:
        """Lines cross from a worker process out of band: as they are in memory, read where they stay."""
        state = dict(vars(self))
        if isinstance(self.output, bytes):
            state["output"] = pickle.PickleBuffer(self.output)
        return state


@dataclass
class _Job:
    workspace: Workspace
    fmt: Format
    unit: str
    annotated_only: bool
    annotator: str | None
    align: str

    def __call__(self, ids: list[str], progress: Callable[[int], None] | None = None, peers: Peers | None = None,
                 universe: list[str] | None = None) -> Piece:
        """The piece of the documents `ids`. `universe`: the labels, when known; else the labels outside the
        label set are exchanged with `peers`, which gives the first chunk the whole export's (the others use
        theirs, and are redone in `join` when it differs)."""
        fmt = self.fmt
        every = list(views(self.workspace, ids, self.annotator, self.annotated_only, progress))
        parts = units(every, self.unit, fmt.keeps_rejected, self.annotated_only)
        if peers:
            peers.keep(every, parts)
        names = list(self.workspace.labels.names)
        extras = sorted({name for v in every for labels in v.tags.values() for name in labels} - set(names))
        piece = Piece(None, extras)

        def labels() -> list[str]:
            """The universe, exchanged the first time it is asked for (by the format's writer)."""
            if piece.universe is None:
                found = universe
                if found is None:
                    every_extra = peers.exchange(extras) if peers else None
                    if every_extra is not None:
                        found = [*names, *sorted({name for extra in every_extra for name in extra})]
                piece.universe = found or [*names, *extras]
            return piece.universe

        bad = misaligned(parts)
        if bad:
            if self.align == "strict":
                piece.misaligned = describe(bad)
                return piece
            piece.adjusted, piece.dropped = adjust(bad, self.align, blank_vocab())
        piece.output = fmt.write(parts, labels, self.unit, peers)
        piece.labels = dict.fromkeys(labels(), 0)
        for u in parts:
            piece.spans += len(u.spans)
            for name in labels_of(u):
                piece.labels[name] += 1
            piece.notes += len(notes_of(u))
        piece.skipped = [str(d) for doc_id in ids for d in self.workspace.damage(doc_id)]
        piece.documents = len({v.doc.id for v in every})
        piece.count = len(parts)
        return piece

    def join(self, parts: list[list[str]], pieces: list[Piece]) -> ExportResult:
        """The pieces of consecutive chunks as one result, as if exported in one go."""
        bad = [m for p in pieces for m in p.misaligned]
        if bad:
            shown = "; ".join(map(str, bad[:10])) + (f"; … {len(bad) - 10} more" if len(bad) > 10 else "")
            raise ExportError(f"{len(bad)} span(s) do not align with token boundaries, nothing was written: "
                              f"{shown} (use --align expand or --align contract to fix them)", bad)
        universe = [*self.workspace.labels.names, *sorted({name for p in pieces for name in p.extras})]
        pieces = [p if p.universe == universe else self(ids, None, None, universe) for ids, p in zip(parts, pieces,
                                                                                                    strict=True)]
        result = ExportResult(self.fmt.name, self.unit)
        result.labels = dict.fromkeys(universe, 0)
        for p in pieces:
            result.add(p)
        output = self.fmt.join([p.output for p in pieces])
        if self.fmt.binary:
            result.docbin = output  # type: ignore[assignment]
        else:
            result.blocks = output  # type: ignore[assignment]
        return result
