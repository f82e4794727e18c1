"""Search forgiving of how a person types (`l'onu` finds `l’ONU`, `coeur` finds `cœur`, `strasse` `Straße`):
both sides are folded a character at a time and every match is mapped back to stored offsets, so the screen
highlights exactly the characters the analyst sees, even where one folds to several (`ß`) or none."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

_PUNCTUATION = {
    **dict.fromkeys("’‘‛ʼʹ′´`＇", "'"),  # what French text and keyboards use for an apostrophe
    **dict.fromkeys("\u2010\u2011", "-"),  # hyphen, non-breaking hyphen
    "œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae",  # ligatures that Unicode does not decompose
}


@lru_cache(maxsize=4096)
def fold_char(char: str) -> str:
    """What one character counts as when searching (possibly several characters, possibly none)."""
    if char in _PUNCTUATION:
        return _PUNCTUATION[char]
    if char.isascii():
        return char.lower()
    # casefold can bring marks back (`İ` → `i̇`): decompose again, then drop them
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", char).casefold())
    return "".join(_PUNCTUATION.get(c, c) for c in folded if not unicodedata.combining(c))


def fold(text: str) -> str:
    return "".join(map(fold_char, text))


@dataclass(frozen=True)
class Folded:
    """A text's folded form, and where it differs in length from the stored text: the stored index of every
    character that folds to more or fewer than one (sorted), with where its folding starts in `text`."""

    text: str
    length: int  # the stored text's
    stored: tuple[int, ...] = ()
    starts: tuple[int, ...] = ()
    sizes: tuple[int, ...] = ()

    def origin(self, i: int) -> int:
        """The stored index of the character that folded character i comes from."""
        k = bisect_right(self.starts, i) - 1
        if k < 0:
            return i
        if i < self.starts[k] + self.sizes[k]:
            return self.stored[k]
        return self.stored[k] + 1 + i - self.starts[k] - self.sizes[k]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Stored offsets of the folded range: whole characters (`s` in `ß` is the `ß`), with the ones folding to
        nothing right after it (its last letter's combining accents)."""
        after = self.origin(end) if end < len(self.text) else self.length
        return self.origin(start), max(after, self.origin(end - 1) + 1)


@lru_cache(maxsize=4)
def fold_text(text: str) -> Folded:
    """Fold a stored text once (cached): `str.translate`, and one regex scan for what changes the length."""
    table = {ord(c): fold_char(c) for c in set(text)}
    folded = text.translate(table)
    odd = [chr(o) for o, v in table.items() if len(v) != 1]
    if not odd:
        return Folded(folded, len(text))
    stored, starts, sizes, shift = [], [], [], 0
    for m in re.finditer("[" + "".join(map(re.escape, odd)) + "]", text):
        size = len(table[ord(m.group())])
        stored.append(m.start())
        starts.append(m.start() + shift)
        sizes.append(size)
        shift += size - 1
    return Folded(folded, len(text), tuple(stored), tuple(starts), tuple(sizes))


def find_all(text: str, query: str) -> list[tuple[int, int]]:
    """Matches of `query` in `text` as (start, end) offsets into `text`, in order: literal, but folded (case,
    accents, apostrophes, ligatures), and whitespace in the query matches any run of whitespace."""
    parts = [p for p in (fold(part) for part in query.split()) if p]
    if not parts:
        return []
    pattern = re.compile(r"\s+".join(map(re.escape, parts)))
    folded = fold_text(text)
    out: list[tuple[int, int]] = []
    for match in pattern.finditer(folded.text):
        start, end = folded.span(match.start(), match.end())
        if out and start < out[-1][1]:  # two matches inside one stored character (`s` in `ß`): one highlight
            continue
        out.append((start, end))
    return out
