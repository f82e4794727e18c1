"""Label Studio tasks: one JSON list, a task per sentence (or document). What the analyst decided (sentence labels
as `choices`, the entities they accepted, relabelled or added as `labels`) is an annotation completed by them;
the model's entities nobody reviewed are a prediction of the model. `completed_by` is `{"email": annotator}`, the
shape Label Studio's import resolves to a member (a plain name makes the whole import fail). Label Studio keeps
overlapping spans, so every span is there. The labeling config these tasks fit is in the README."""

from __future__ import annotations

from collections.abc import Iterable

from reader.export import jsonlines
from reader.export.units import Span, Unit, labels_of, notes_of, unit_meta

SPANS = ("label", "text")
"""(from_name, to_name) of the entity regions: `<Labels name="label" toName="text">`."""
CHOICES = ("sentence", "text")
"""(from_name, to_name) of the sentence labels: `<Choices name="sentence" toName="text" choice="multiple">`."""


def region(u: Unit, span: Span, n: int) -> dict:
    start, end = span.start - u.start, span.end - u.start
    return {"id": f"e{n}", "from_name": SPANS[0], "to_name": SPANS[1], "type": "labels",
            "value": {"start": start, "end": end, "text": u.view.doc.text[span.start:span.end],
                      "labels": [span.label]}}


def task(u: Unit) -> dict:
    v = u.view
    regions = [region(u, s, n) for n, s in enumerate(u.spans)]
    done = v.annotator is not None and v.work.done  # the model's entities nobody rejected there are accepted
    decided = [r for r, s in zip(regions, u.spans, strict=True) if done or s.status != "predicted"]
    labels = labels_of(u)
    if labels:
        decided.append({"id": "c0", "from_name": CHOICES[0], "to_name": CHOICES[1], "type": "choices",
                        "value": {"choices": labels}})
    predicted = [] if done else [r for r, s in zip(regions, u.spans, strict=True) if s.status == "predicted"]
    work = v.annotator is not None and (decided or u.reviewed)
    return {
        "data": {"text": v.doc.text[u.start:u.end], **unit_meta(u), "notes": notes_of(u)},
        "annotations": [{"completed_by": {"email": v.annotator}, "result": decided}] if work else [],
        "predictions": [{"model_version": v.model, "result": predicted}] if predicted else [],
    }


def write(units: Iterable[Unit], labels: list[str]) -> bytes:
    """One JSON document (a list), not JSON lines: Label Studio imports a list of tasks."""
    return jsonlines.line([task(u) for u in units]) + b"\n"
