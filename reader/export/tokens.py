"""Tokens and alignment: every span checked against the analysis' tokens before anything is written.

spaCy trains only on spans made of whole tokens (others are dropped with warning W030), and Prodigy and doccano
users would see a span that starts mid-word. The tokens come from the cached analysis, so a blank vocab is
enough to build Docs from them and the JSON formats never import spaCy.
"""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from typing import Any

ALIGN_MODES = ("strict", "expand", "contract")


class Tokens:
    """A document's stored tokens indexed once, so that spans are checked and tokens listed without spaCy.

    The stored tokens leave out whitespace; `units` puts it back the way spaCy does (one trailing space on
    the previous token, anything more as a whitespace token), so a Doc built from them has the exact text.
    """

    __slots__ = ("ends", "starts", "text")

    def __init__(self, text: str, starts: list[int], ends: list[int]) -> None:
        self.text = text
        self.starts = starts
        """Token starts, ascending (tokens do not overlap, so the ends are ascending too)."""
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
        """[start, end, trailing space] of every token of text[start:end], whitespace tokens included."""
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
    """A document's token texts and which tokens a single space follows, read once for all its units (and
    annotators): the usual sentence's tokens are then list slices, not `Tokens.units`' loop over every token
    (Prodigy's token lists and the DocBin's Docs are most of those exports)."""

    __slots__ = ("gaps", "spaced", "spaces", "tokens", "words")

    def __init__(self, tokens: Tokens) -> None:
        text, starts, ends = tokens.text, tokens.starts, tokens.ends
        self.tokens = tokens
        self.words = [text[s:e] for s, e in zip(starts, ends, strict=True)]
        self.gaps = [s - e for e, s in zip(ends, starts[1:], strict=False)]
        """Characters between token k and token k + 1."""
        self.spaces = [gap == 1 for gap in self.gaps]
        self.spaced = " " in "".join(self.words)
        """Some token holds a space."""

    def cover(self, start: int, end: int) -> tuple[int, int] | None:
        """(i, j) when tokens i to j - 1 cover text[start:end] from end to end, separated by nothing or one
        space (then `Tokens.units` gives them as they are, each followed by its gap), else None."""
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

    def plain(self, start: int, end: int) -> tuple[list[str], list[bool], list[int], list[int]] | None:
        """(words, trailing spaces, starts, ends) of text[start:end] when `cover` finds tokens for it."""
        found = self.cover(start, end)
        if found is None:
            return None
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
    """A blank multi-language vocab: enough for Docs built from our tokens (words, spaces, entities, cats).
    Made once per process: what a Doc built in it holds depends only on its words, never on earlier Docs.

    Not `spacy.blank("fr")`: it compiles the French tokenizer exceptions, which are never used (the tokens
    are ours), and a DocBin keeps the strings, not the vocab; `spacy train` rebuilds every Doc with the
    training pipeline's own French vocab.
    """
    import spacy

    return spacy.blank("xx").vocab
