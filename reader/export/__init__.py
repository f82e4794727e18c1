"""Export: the store as datasets, and back; one record per annotator's view (`units.py`), never merged, since
two analysts can disagree. Each format has one writer `write(units, labels) -> bytes`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reader.annotations import GOLD
from reader.export import brat, conll, docbin, doccano, labelstudio, native, prodigy
from reader.export.jsonlines import write_export
from reader.export.native import import_native, is_native_record, read_native
from reader.export.result import ExportError, ExportResult, Misaligned
from reader.export.tokens import ALIGN_MODES, Tokens, blank_vocab, doc_from_units
from reader.export.units import Unit, adjust, misaligned, select, units, views

if TYPE_CHECKING:
    from reader.workspace import Workspace

__all__ = ["FORMATS", "ExportError", "ExportResult", "Tokens", "check_options", "doc_from_units", "export",
           "import_native", "is_native_record", "read_native", "write_export"]


@dataclass(frozen=True)
class Format:
    name: str
    write: Callable[[Iterable[Unit], list[str]], bytes]  # (units, label universe) -> the file
    overlaps: str = ""  # the layer the overlap rule applies to; "" when the format keeps every span
    default_unit: str = "sentence"
    binary: bool = False  # never written to stdout
    training: bool = True  # reviewed units of one annotator only, unless `unreviewed="include"`
    keeps_rejected: bool = False  # the native format's review trail


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("jsonl", native.write, default_unit="document", training=False, keeps_rejected=True),
    Format("prodigy", prodigy.write, overlaps="spans"),
    Format("doccano", doccano.write, overlaps="label"),
    Format("doccano-text", doccano.writer(None, "label")),
    Format("doccano-intent", doccano.writer("entities", "cats"), overlaps="entities"),
    Format("spacy", docbin.write, overlaps="doc.ents", binary=True),
    Format("conll", conll.write, overlaps="tags"),
    Format("hf", conll.write_hf, overlaps="ner_tags"),
    Format("labelstudio", labelstudio.write),
    Format("brat", brat.write, default_unit="document", binary=True, training=False),
)}


def check_options(fmt: str, unit: str | None = None, align: str = "strict", output: object = None, *,
                  need_output: bool = True, unreviewed: str = "exclude") -> str:
    """Validate the options before any work; returns the unit. `output` None or "-" is stdout."""
    unit = unit or (FORMATS[fmt].default_unit if fmt in FORMATS else None)
    for value, choices, what, plural in ((fmt, FORMATS, "format", "formats"),
                                         (unit, ("document", "sentence"), "unit", "units"),
                                         (unreviewed, ("exclude", "include"), "--unreviewed", "choices"),
                                         (align, ALIGN_MODES, "alignment mode", "modes")):
        if value not in choices:
            raise ExportError(f"unknown {what} {value!r} ({plural}: {', '.join(choices)})")
    if need_output and FORMATS[fmt].binary and (output is None or output == "-"):
        raise ExportError(f"the {fmt} format is a binary DocBin: give --output FILE.spacy")
    return unit


def whose_work(workspace: Workspace, ids: list[str], warnings: list[str]) -> str | None:
    """`gold` when any chosen document has it; else None (everyone), with a warning when texts then repeat."""
    names = [workspace.annotators(doc_id) for doc_id in ids]
    if any(GOLD in found for found in names):
        return GOLD
    shared = [found for found in names if len(found) > 1]
    if shared:
        everyone = sorted({name for found in shared for name in found})
        warnings.append(f"{len(shared)} documents have versions by several annotators ({', '.join(everyone)}): "
                        "their texts repeat with different labels; export one with --annotator NAME, or "
                        "adjudicate them first with `reader merge`")
    return None


def label_sets(views: list, names: list[str]) -> list[str]:
    """Give each view its label universe (the label set, then its annotator's extra labels); returns the union."""
    own: dict[str | None, set[str]] = {}
    for v in views:
        own.setdefault(v.annotator, set()).update(n for labels in v.tags.values() for n in labels)
    for v in views:
        v.universe = [*names, *sorted(own[v.annotator] - set(names))]
    return [*names, *sorted(set().union(*own.values()) - set(names))]


def export(workspace: Workspace, fmt: str = "jsonl", unit: str | None = None, doc_ids: list[str] | None = None,
           annotated_only: bool = False, annotator: str | None = None, align: str = "strict",
           progress: Callable[[int], None] | None = None, unreviewed: str = "exclude", all_versions: bool = False
           ) -> ExportResult:
    """Build a dataset from the store, written by `write_export`; `progress(n)`: 2 per document, read then written."""
    unit = check_options(fmt, unit, align, need_output=False, unreviewed=unreviewed)
    found = FORMATS[fmt]
    result = ExportResult(found.name, unit, found.binary, overlaps=found.overlaps)
    with workspace.bulk_reads():  # the writers too: their Docs and records join the read model on the heap
        ids = select(workspace, doc_ids, all_versions)
        if annotator is None and found.training:
            annotator = whose_work(workspace, ids, result.warnings)
        every = list(views(workspace, ids, annotator, annotated_only, progress))
        reviewed_only = found.training and unreviewed == "exclude"
        parts, result.unreviewed = units(every, unit, found.keeps_rejected, annotated_only, reviewed_only)
        bad = misaligned(parts)
        if bad and align == "strict":
            listed = [Misaligned(u.view.doc.id, u.view.annotator, s.start, s.end, s.label,
                                 u.view.doc.text[s.start:s.end], u.index) for u, s in bad]
            shown = "; ".join(map(str, listed[:10])) + (f"; … {len(listed) - 10} more" if len(listed) > 10 else "")
            raise ExportError(f"{len(listed)} span(s) do not align with token boundaries, nothing was written: "
                              f"{shown} (use --align expand or --align contract to fix them)", listed)
        if bad:
            result.adjusted, result.dropped = adjust(bad, align, blank_vocab())
        universe = label_sets(every, list(workspace.labels.names))
        result.data = found.write(reporting(parts, progress) if progress else parts, universe)
        counted = Counter(name for u in parts for name in u.labels)
        result.labels = {name: counted[name] for name in universe}
        kept = [u.entities if found.overlaps else u.spans for u in parts]
        result.spans = sum(len(u.spans) for u in parts)
        result.overlapping = result.spans - sum(map(len, kept))
        result.entity_labels = sorted({s.label for spans in kept for s in spans})
        result.notes = sum(u.note_count for u in parts)
    result.documents = len({u.view.doc.id for u in parts})
    result.count = len(parts)
    if progress:  # the last document, and those read but not exported (annotated_only)
        progress(len(ids) - max(result.documents - 1, 0))
    damaged = [d for d in workspace.damage() if not d.annotator]  # documents left out by `select`
    damaged += [d for doc_id in ids for d in workspace.damage(doc_id)]
    result.skipped = list(dict.fromkeys(map(str, damaged)))
    return result


def reporting(parts: list[Unit], progress: Callable[[int], None]) -> Iterator[Unit]:
    """The units, each document reported once its units are written (but the last one)."""
    for k, u in enumerate(parts):
        if k and u.view.doc.id != parts[k - 1].view.doc.id:
            progress(1)
        yield u
