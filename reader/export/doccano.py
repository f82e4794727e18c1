"""doccano JSONL: one record per sentence (or document) with `label: [[start, end, LABEL]]`, the sentence
labels as `cats` and the notes' texts as `Comments`, as doccano's sequence-labelling import reads them."""

from __future__ import annotations

from collections.abc import Iterable

from reader.export import jsonlines
from reader.export.overlap import without_overlaps
from reader.export.units import Unit, labels_of, notes_of, unit_meta


def record(u: Unit) -> dict:
    o = u.start
    return {
        "text": u.view.doc.text[u.start:u.end],
        "label": [[s.start - o, s.end - o, s.label] for s in without_overlaps(u.spans)[0]],  # doccano's rule: none
        "cats": labels_of(u),
        "Comments": [n["text"] for n in notes_of(u)],
        "meta": unit_meta(u),
    }


def write(units: Iterable[Unit], labels: list[str]) -> bytes:
    """Records name no label outside their own: `labels` is not needed."""
    return jsonlines.lines([record(u) for u in units])
