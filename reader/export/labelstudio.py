"""Label Studio tasks (README, Export): the analyst's decisions are an annotation `completed_by` `{"email": ...}`
(a plain name fails Label Studio's whole import), the model's unreviewed entities a prediction."""

from __future__ import annotations

from collections.abc import Iterable

from reader.export import jsonlines
from reader.export.units import Unit


def task(u: Unit) -> dict:
    v = u.view
    done = v.annotator is not None and v.work.done  # the model's entities nobody rejected there are accepted
    decided, predicted = [], []
    for n, s in enumerate(u.spans):
        (decided if done or s.status != "predicted" else predicted).append(
            {"id": f"e{n}", "from_name": "label", "to_name": "text", "type": "labels",
             "value": {"start": s.start - u.start, "end": s.end - u.start, "text": v.doc.text[s.start:s.end],
                       "labels": [s.label]}})
    if labels := u.labels:
        decided.append({"id": "c0", "from_name": "sentence", "to_name": "text", "type": "choices",
                        "value": {"choices": labels}})
    work = v.annotator is not None and (decided or u.reviewed)
    return {"data": {"text": v.doc.text[u.start:u.end], **u.meta, "notes": u.notes},
            "annotations": [{"completed_by": {"email": v.annotator}, "result": decided}] if work else [],
            "predictions": [{"model_version": v.model, "result": predicted}] if predicted else []}


def write(units: Iterable[Unit], labels: list[str]) -> bytes:
    """One JSON document (a list), not JSON lines: Label Studio imports a list of tasks."""
    return jsonlines.line([task(u) for u in units]) + b"\n"
