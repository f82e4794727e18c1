"""doccano JSONL, one record per sentence (or document), for each project type that can hold the data, as
doccano 1.8's import reads them (`text` plus the project's label columns; every other key becomes the example's
metadata, where the notes go, as `Comments`):

- `doccano` — sequence labelling: `label: [[start, end, LABEL]]` (no overlaps: the one rule), `cats` as metadata;
- `doccano-text` — text classification: `label: [sentence labels]`;
- `doccano-intent` — intent detection and slot filling: `entities: [[start, end, LABEL]]` + `cats: [labels]`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from reader.export import jsonlines
from reader.export.units import Unit, labels_of, notes_of, unit_meta


def _spans(u: Unit) -> list[list]:
    o = u.start
    return [[s.start - o, s.end - o, s.label] for s in u.entities]


def _record(u: Unit, **labels: list) -> dict:
    return {"text": u.view.doc.text[u.start:u.end], **labels, "Comments": [n["text"] for n in notes_of(u)],
            "meta": unit_meta(u)}


def sequence(u: Unit) -> dict:
    return _record(u, label=_spans(u), cats=labels_of(u))


def text(u: Unit) -> dict:
    return _record(u, label=labels_of(u))


def intent(u: Unit) -> dict:
    return _record(u, entities=_spans(u), cats=labels_of(u))


def writer(record: Callable[[Unit], dict]) -> Callable[[Iterable[Unit], list[str]], bytes]:
    """Records name no label outside their own: the label universe is not needed."""

    def write(units: Iterable[Unit], labels: list[str]) -> bytes:
        return jsonlines.lines([record(u) for u in units])

    return write


write = writer(sequence)
