"""The one overlap rule, for every layer that cannot hold overlapping spans (`doc.ents`, Prodigy `spans`, doccano
spans, BIO tags); native, `doc.spans["sc"]`, brat and Label Studio keep every span."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from typing import Any


def without_overlaps(spans: Iterable[Any]) -> tuple[list[Any], int]:
    """(kept, left out) of `units.Span`s: the analyst's reviewed spans first, then the longest, then the
    earliest; no two overlap. Kept spans come in text order. Spans are aligned on tokens, so overlapping
    characters means sharing a token."""
    ranked = sorted(spans, key=lambda s: (s.status == "predicted", s.start - s.end, s.start))
    starts: list[int] = []
    kept: list[Any] = []
    for span in ranked:
        i = bisect_left(starts, span.start)
        if (i and kept[i - 1].end > span.start) or (i < len(kept) and kept[i].start < span.end):
            continue
        starts.insert(i, span.start)
        kept.insert(i, span)
    return kept, len(ranked) - len(kept)
