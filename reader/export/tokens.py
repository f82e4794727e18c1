"""The analysis' tokens, which every span is checked against: spaCy trains only on whole tokens (W030), and a
Prodigy or doccano user would see a span start mid-word. They come from the cache, so the JSON formats never
import spaCy."""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from typing import Any

ALIGN_MODES = ("strict", "expand", "contract")


class Tokens:
    """A document's stored tokens (ascending, whitespace left out), checked and listed without spaCy."""

    __slots__ = ("ends", "starts", "text")

    def __init__(self, text: str, starts: list[int], ends: list[int]) -> None:
        self.text = text
        self.starts = starts
        self.ends = ends

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
        n = len(starts)
        while i < n and ends[i] <= end:
            s = starts[i]
            if s > pos:
                if s == pos + 1 and out and text[pos] == " ":  # the usual gap: one space
                    out[-1][2] = True
                else:
                    _gap(out, text, pos, s)
            pos = ends[i]
            out.append([s, pos, False])
            i += 1
        if pos < end:
            _gap(out, text, pos, end)
        return out


class Words:
    """A document's token texts, read once for all its units and annotators: the usual sentence's tokens are then
    list slices, not `Tokens.units`' loop (token lists are most of the Prodigy and DocBin exports)."""

    __slots__ = ("gaps", "spaced", "spaces", "tokens", "words")

    def __init__(self, tokens: Tokens) -> None:
        text, starts, ends = tokens.text, tokens.starts, tokens.ends
        self.tokens = tokens
        self.words = [text[s:e] for s, e in zip(starts, ends, strict=True)]
        self.gaps = [s - e for e, s in zip(ends, starts[1:], strict=False)]  # characters after token k
        self.spaces = [gap == 1 for gap in self.gaps]
        self.spaced = " " in "".join(self.words)  # some token holds a space

    def cover(self, start: int, end: int) -> tuple[int, int] | None:
        """(i, j) when tokens i to j - 1 cover text[start:end], separated by nothing or one space, else None."""
        tokens = self.tokens
        starts, ends = tokens.starts, tokens.ends
        i = bisect_left(starts, start)
        j = bisect_right(ends, end, i)
        if i == j or starts[i] != start or ends[j - 1] != end:
            return None
        gaps = self.gaps[i:j - 1]
        if max(gaps, default=0) > 1 or min(gaps, default=0) < 0 or sum(gaps) != tokens.text.count(" ", start, end):
            return None
        if self.spaced and " " in "".join(self.words[i:j]):  # then not every space is between tokens
            return None
        return i, j

    def split(self, start: int, end: int) -> tuple[list[str], list[bool], list[int], list[int]]:
        """(words, trailing spaces, starts, ends) of text[start:end]: list slices when `cover` finds tokens."""
        found = self.cover(start, end)
        if found is None:
            units, text = self.tokens.units(start, end), self.tokens.text
            return ([text[s:e] for s, e, _ in units], [ws for _, _, ws in units], [s for s, _, _ in units],
                    [e for _, e, _ in units])
        i, j = found
        spaces = self.spaces[i:j - 1]
        spaces.append(False)
        return self.words[i:j], spaces, self.tokens.starts[i:j], self.tokens.ends[i:j]


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
