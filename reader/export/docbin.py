"""spaCy DocBin (`.spacy`) for `spacy train`, one Doc per unit built with spaCy's own `Doc` and `DocBin.add`:
`doc.ents` without overlaps, every span in `doc.spans["sc"]`, ids and notes in `doc.user_data`."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Iterator
from typing import Any

from reader.export.tokens import blank_vocab, doc_from_units
from reader.export.units import Unit


def write(units: Iterable[Unit], labels: list[str]) -> bytes:
    from spacy.tokens import DocBin

    @functools.cache
    def cats(chosen: tuple[str, ...], names: tuple[str, ...]) -> dict[str, float]:
        """One dict per combination of labels: DocBin.add only reads it."""
        return {name: 1.0 if name in chosen else 0.0 for name in names}

    vocab = blank_vocab()
    docbin = DocBin(store_user_data=True)
    with msgpack_lookups_cached():
        for u in units:
            docbin.add(unit_doc(u, cats(tuple(u.labels), tuple(u.view.universe or labels)), vocab))
        return docbin.to_bytes()


def unit_doc(u: Unit, cats: dict[str, float], vocab: Any) -> Any:
    v = u.view
    doc = doc_from_units(vocab, v.doc.text, v.tokens.units(u.start, u.end))
    spans = [doc.char_span(s.start - u.start, s.end - u.start, label=s.label) for s in u.spans]  # aligned
    doc.spans["sc"] = spans
    position = {id(s): k for k, s in enumerate(u.spans)}
    doc.ents = [spans[position[id(s)]] for s in u.entities]
    doc.cats = cats
    doc.user_data.update({"doc_id": v.doc.id, "sentence": u.index, "annotator": v.annotator, "notes": u.notes})
    return doc


@contextlib.contextmanager
def msgpack_lookups_cached() -> Iterator[None]:
    """srsly's msgpack encoders and decoders (its public registries) looked up once, not three times per Doc in
    `DocBin.add`: `Registry.get_all()` walks catalogue and the entry points, most of a DocBin's time otherwise."""
    from unittest import mock

    import srsly

    with contextlib.ExitStack() as stack:
        for registry in (srsly.msgpack_encoders, srsly.msgpack_decoders):
            found = registry.get_all()
            stack.enter_context(mock.patch.object(registry, "get_all", lambda found=found: found))
        yield
