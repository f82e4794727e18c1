"""The analysis' tokens, which every span is checked against: spaCy trains only on whole tokens (W030), and a
Prodigy or doccano user would see a span start mid-word. They come from the cache, so the JSON formats never
import spaCy."""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from itertools import accumulate
from typing import Any

ALIGN_MODES = ("strict", "expand", "contract")


class Tokens:
    """A document's stored tokens (ascending, whitespace left out), checked and listed without spaCy."""

    __slots__ = ("_words", "ends", "starts", "text")

    def __init__(self, text: str, starts: list[int], ends: list[int]) -> None:
        self.text = text
        self.starts = starts
        self.ends = ends
        self._words: tuple[list[str], list[bool], list[int], list[int]] | None = None

    @classmethod
    def from_pairs(cls, text: str, pairs: Iterable[tuple[int, int]]) -> Tokens:
        pairs = list(pairs)
        return cls(text, [s for s, _ in pairs], [e for _, e in pairs])

    def aligned(self, start: int, end: int) -> bool:
        """What spaCy's strict `char_span` accepts, except spans that begin or end with whitespace."""
        if start >= end:
            return False
        starts, ends = self.starts, self.ends
        i = bisect_left(starts, start)
        if i == len(starts) or starts[i] != start:
            return False
        j = bisect_left(ends, end, i)
        return j < len(ends) and ends[j] == end

    def units(self, start: int, end: int) -> list[list]:
        """[start, end, trailing space] of every token of text[start:end], whitespace put back as spaCy does (one
        trailing space on the previous token, anything more as a whitespace token): a Doc gets the exact text."""
        text, starts, ends = self.text, self.starts, self.ends
        out: list[list] = []
        pos = start
        i = bisect_left(starts, start)
        while i < len(starts) and ends[i] <= end:
            s = starts[i]
            if s > pos:
                _gap(out, text, pos, s)
            pos = ends[i]
            out.append([s, pos, False])
            i += 1
        if pos < end:
            _gap(out, text, pos, end)
        return out

    def split(self, start: int, end: int) -> tuple[list[str], list[bool], list[int], list[int]]:
        """(words, trailing spaces, starts, ends) of text[start:end]; the usual sentence's are slices of the
        document's token texts, read once for all its units and annotators (most of Prodigy and DocBin exports)."""
        text, starts, ends = self.text, self.starts, self.ends
        if self._words is None:
            words = [text[s:e] for s, e in zip(starts, ends, strict=True)]
            gaps = [s - e for e, s in zip(ends, starts[1:], strict=False)]  # characters after token k
            spaced = [" " in w for w in words]
            wide = [g != 0 and (g != 1 or text[e] != " ") for g, e in zip(gaps, ends, strict=False)]
            # before token k: how many tokens hold a space, how many gaps are neither nothing nor one space
            self._words = (words, [g == 1 for g in gaps], [*accumulate(spaced, initial=0)],
                           [*accumulate(wide, initial=0)])
        words, spaces, odd, wide = self._words
        i = bisect_left(starts, start)
        j = bisect_right(ends, end, i)
        if i == j or starts[i] != start or ends[j - 1] != end or odd[j] != odd[i] or wide[j - 1] != wide[i]:
            units = self.units(start, end)  # not tokens separated by nothing or one space
            return ([text[s:e] for s, e, _ in units], [ws for _, _, ws in units], [s for s, _, _ in units],
                    [e for _, e, _ in units])
        return words[i:j], [*spaces[i:j - 1], False], starts[i:j], ends[i:j]


def _gap(out: list[list], text: str, start: int, end: int) -> None:
    if out and text[start] == " ":
        out[-1][2] = True
        start += 1
    if start < end:
        out.append([start, end, False])


def doc_from_units(vocab: Any, text: str, units: list[list]) -> Any:
    """A spaCy Doc whose text is exactly the slice of `text` covered by `units` (from `Tokens.units`)."""
    from spacy.tokens import Doc

    return Doc(vocab, words=[text[s:e] for s, e, _ in units], spaces=[ws for _, _, ws in units])


@functools.cache
def blank_vocab() -> Any:
    """A blank multi-language vocab, once per process: not `spacy.blank("fr")`, whose tokenizer exceptions are never
    used (the tokens are ours); `spacy train` rebuilds every Doc with its own pipeline's vocab."""
    import spacy

    return spacy.blank("xx").vocab
