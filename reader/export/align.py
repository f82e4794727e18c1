"""Spans that cut a token: found before anything is written, listed, or moved onto token boundaries (`--align`).

Its own module because it reads both the units (`units.py`) and their tokens (`tokens.py`), which import one
way: units build Tokens.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from reader.export.result import Misaligned
from reader.export.tokens import doc_from_units
from reader.export.units import Span, Unit


def misaligned(units: list[Unit]) -> list[tuple[Unit, Span]]:
    """Spans outside their unit or not `Tokens.aligned`: as tokens do not overlap, a span is aligned when it is
    not empty, starts where a token starts and ends where one ends (binary searches in the ascending token
    starts and ends: a few spans per document, hundreds of tokens)."""
    bad = []
    for u in units:
        tokens = u.view.tokens
        starts, ends = tokens.starts, tokens.ends
        lo, hi = u.start, u.end
        for span in u.spans:
            start, end = span.start, span.end
            if lo <= start < end <= hi:
                i = bisect_left(starts, start)
                if i < len(starts) and starts[i] == start:
                    j = bisect_left(ends, end)
                    if j < len(ends) and ends[j] == end:
                        continue
            bad.append((u, span))
    return bad


def describe(bad: list[tuple[Unit, Span]]) -> list[Misaligned]:
    return [Misaligned(u.view.doc.id, u.view.annotator, s.start, s.end, s.label, u.view.doc.text[s.start:s.end],
                       u.index) for u, s in bad]


def adjust(bad: list[tuple[Unit, Span]], mode: str, vocab: Any) -> tuple[int, int]:
    """Move misaligned spans onto token boundaries with spaCy's char_span; (adjusted, dropped)."""
    docs: dict[tuple[str, int, int], Any] = {}
    adjusted = dropped = 0
    drop: dict[int, set[int]] = {}
    for u, span in bad:
        key = (u.view.doc.id, u.start, u.end)
        doc = docs.get(key)
        if doc is None:
            doc = docs[key] = doc_from_units(vocab, u.view.doc.text, u.view.tokens.units(u.start, u.end))
        lo, hi = max(span.start, u.start) - u.start, min(span.end, u.end) - u.start
        found = doc.char_span(lo, hi, alignment_mode=mode) if lo < hi else None
        first, last = (found.start, found.end) if found is not None else (0, 0)
        while first < last and doc[first].is_space:
            first += 1
        while last > first and doc[last - 1].is_space:
            last -= 1
        if first == last:
            drop.setdefault(id(u), set()).add(id(span))
            dropped += 1
            continue
        span.start, span.end = doc[first].idx + u.start, doc[last - 1].idx + len(doc[last - 1]) + u.start
        adjusted += 1
    for u in {id(u): u for u, _ in bad}.values():
        gone = drop.get(id(u), ())
        u.spans = sorted((s for s in u.spans if id(s) not in gone), key=lambda s: (s.start, s.end))
    return adjusted, dropped
