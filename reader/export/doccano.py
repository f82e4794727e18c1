"""doccano JSONL, one record per unit, for each project type that can hold the data, as doccano 1.8's import
reads them (README, Export): `text`, the project's label columns, and the rest (`meta`, the notes as `Comments`)
as the example's metadata."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from reader.export import jsonlines
from reader.export.units import Unit


def writer(spans: str | None, labels: str) -> Callable[[Iterable[Unit], list[str]], bytes]:
    """Records with the spans under `spans` (None: no spans) and the sentence labels under `labels`."""

    def record(u: Unit) -> dict:
        found = {spans: [[s.start - u.start, s.end - u.start, s.label] for s in u.entities]} if spans else {}
        return {"text": u.view.doc.text[u.start:u.end], **found, labels: u.labels,
                "Comments": [n["text"] for n in u.notes], "meta": u.meta}

    return lambda units, _: jsonlines.lines([record(u) for u in units])


write = writer("label", "cats")
