"""spaCy DocBin (`.spacy`) for `spacy train`: one Doc per unit, `doc.ents` the entities without overlaps, every
span in `doc.spans["sc"]`, `doc.cats` every label 0/1, ids and notes in `doc.user_data`. spaCy's own `Doc` and
`DocBin.add` build it, so the file is whatever this spaCy writes for those Docs."""

from __future__ import annotations

import contextlib
import itertools
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from typing import Any

from reader.export.result import ExportError
from reader.export.tokens import blank_vocab
from reader.export.units import Span, Unit, labels_of, notes_of


def write(units: Iterable[Unit], labels: list[str]) -> bytes:
    from spacy.tokens import DocBin

    vocab = blank_vocab()
    docbin = DocBin(store_user_data=True)
    cats: dict[tuple[str, ...], dict[str, float]] = {}
    with msgpack_lookups_cached():
        for u in units:
            chosen = tuple(labels_of(u))
            if chosen not in cats:  # one dict per combination of labels: DocBin.add only reads it
                cats[chosen] = {name: 1.0 if name in chosen else 0.0 for name in labels}
            docbin.add(unit_doc(u, cats[chosen], vocab))
        return docbin.to_bytes()


def unit_doc(u: Unit, cats: dict[str, float], vocab: Any) -> Any:
    """The unit's Doc, with the exact text of the unit."""
    from spacy.tokens import Doc
    from spacy.tokens import Span as DocSpan

    v = u.view
    texts, spaces, starts, ends = v.tokens.split(u.start, u.end)
    doc = Doc(vocab, words=texts, spaces=spaces)
    spans = []
    for s in u.spans:  # the tokens a span covers: it starts where one starts and ends where one ends
        i, j = bisect_left(starts, s.start), bisect_left(ends, s.end)
        if i == len(starts) or j == len(ends) or starts[i] != s.start or ends[j] != s.end or j < i:
            raise ExportError(f"internal error: span {s.start}-{s.end} of {v.doc.id} does not align")
        spans.append(DocSpan(doc, i, j + 1, label=s.label))
    doc.spans["sc"] = spans
    ordered = sorted(spans, key=lambda x: (x.start, x.end))
    overlap = any(a.end > b.start for a, b in itertools.pairwise(ordered))
    doc.ents = without_overlaps(u.spans, spans) if overlap else ordered
    doc.cats = cats
    doc.user_data.update({"doc_id": v.doc.id, "sentence": u.index, "annotator": v.annotator,
                          "notes": notes_of(u)})
    return doc


def without_overlaps(states: list[Span], spans: list) -> list:
    """Entities for doc.ents: reviewed spans first, then the longest, then the earliest; no two overlap."""
    ranked = sorted(zip(states, spans, strict=True),
                    key=lambda p: (p[0].status == "predicted", p[1].start - p[1].end, p[1].start))
    taken: set[int] = set()
    ents = []
    for _, span in ranked:
        tokens = range(span.start, span.end)
        if taken.isdisjoint(tokens):
            taken.update(tokens)
            ents.append(span)
    return sorted(ents, key=lambda s: s.start)


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
