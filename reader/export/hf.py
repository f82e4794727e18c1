"""Hugging Face token classification: one JSON line per sentence (or document) with `tokens`, BIO `ner_tags` as
label names and the sentence `labels`, as `datasets.load_dataset("json")` reads it; the tokens and tags are
CoNLL's (`conll.sentences`), a document's sentences joined."""

from __future__ import annotations

from collections.abc import Iterable

from reader.export import jsonlines
from reader.export.conll import sentences
from reader.export.units import Unit, labels_of, unit_meta


def record(u: Unit) -> dict:
    found = sentences(u)
    return {
        "id": u.view.doc.id if u.index is None else f"{u.view.doc.id}:{u.index}",
        "tokens": [word for words, _ in found for word in words],
        "ner_tags": [tag for _, tags in found for tag in tags],
        "labels": labels_of(u),
        "meta": unit_meta(u),
    }


def write(units: Iterable[Unit], labels: list[str]) -> bytes:
    """Records name no label outside their own: `labels` is not needed."""
    return jsonlines.lines([record(u) for u in units])
