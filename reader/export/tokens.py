"""The analysis' tokens, which every span is checked against (spaCy trains only on whole tokens, W030); from the
cache, so the JSON formats never import spaCy."""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

ALIGN_MODES = ("strict", "expand", "contract")


@dataclass(eq=False)
class Tokens:
    """A document's stored tokens (ascending, whitespace left out), checked and listed without spaCy."""

    text: str
    starts: list[int]
    ends: list[int]

    @classmethod
    def from_pairs(cls, text: str, pairs: Iterable[tuple[int, int]]) -> Tokens:
        pairs = list(pairs)
        return cls(text, [s for s, _ in pairs], [e for _, e in pairs])

    @functools.cached_property
    def bounds(self) -> tuple[set[int], set[int]]:
        return set(self.starts), set(self.ends)

    def aligned(self, start: int, end: int) -> bool:
        """What spaCy's strict `char_span` accepts (tokens do not overlap: a token's start before a token's end)."""
        starts, ends = self.bounds
        return start < end and start in starts and end in ends

    def units(self, start: int, end: int) -> list[list]:
        """[start, end, trailing space] of every token of text[start:end], whitespace put back as spaCy does."""
        text, starts, ends = self.text, self.starts, self.ends
        i = bisect_left(starts, start)
        j = bisect_right(ends, end, i)
        out: list[list] = []
        pos = start
        for s, e in zip(starts[i:j], ends[i:j], strict=True):
            if s == pos + 1 and out and text[pos] == " ":  # the usual gap, inline
                out[-1][2] = True
            elif s > pos:
                _gap(out, text, pos, s)
            out.append([s, e, False])
            pos = e
        if pos < end:
            _gap(out, text, pos, end)
        return out


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
    """A blank vocab, once per process: the tokens are ours, so no language's tokenizer exceptions are needed."""
    import spacy

    return spacy.blank("xx").vocab
