"""The article's layout as plain data, apart from the widget: which (start, end) character ranges make each screen
line, which sentence owns which lines, and the label and entity palettes."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size

from reader.entity_labels import ENTITY_TINTS

GUTTER = 16
"""Cells left of the text: cursor bar, note marker and a label of `LABEL_CELLS` (`assessment?` fits)."""
LABEL_CELLS = GUTTER - 5
MAX_TEXT_WIDTH = 92
"""A comfortable reading measure; wider terminals centre the column."""
PALETTE_SIZE = ENTITY_TINTS
LABEL_PALETTE_SIZE = 9

_LABEL_COLOURS = {
    "PER": 0, "PERSON": 0,
    "LOC": 1, "GPE": 1, "FAC": 1,
    "ORG": 2, "NORP": 2,
    "MISC": 3, "EVENT": 3, "PRODUCT": 3, "WORK_OF_ART": 3, "LAW": 3, "LANGUAGE": 3,
    "DATE": 4, "TIME": 4,
    "MONEY": 5, "PERCENT": 5, "QUANTITY": 5, "CARDINAL": 5, "ORDINAL": 5,
}
_WIDE = re.compile("[\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u1100-\u115f\u200b-\u200f]")
"""Wide and zero-width characters: text without them is wrapped one cell per character, with `str.rfind`.
Those from U+2E80 on (CJK, Hangul, fullwidth, emoji) are looked for only in a paragraph that reaches U+2E80:
compiling their class is most of this module's import, at every start (bench/README.md)."""
FAR = "\u2e80"
_SPACES = re.compile(" *")


@functools.cache
def _far_wide() -> re.Pattern[str]:
    return re.compile("[\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe00-\ufe0f\ufe30-\ufe4f\uff00-\uff60"
                      "\uffe0-\uffe6\U0001f000-\U0001faff\U00020000-\U0003fffd]")


STATUS_STYLES = {"accepted": "accepted", "relabelled": "accepted", "added": "added"}


def entity_colour(label: str) -> int:
    """Palette slot of an entity label: fixed for the usual schemes, stable for any other label."""
    return _LABEL_COLOURS.get(label, 6 + sum(map(ord, label)) % 2)


@dataclass(frozen=True)
class Mark:
    """An entity as displayed."""

    start: int
    end: int
    label: str
    status: str = "predicted"


@dataclass(frozen=True)
class Tag:
    """A sentence label in the gutter; `suggested`: a model's, drawn dim and italic with a `?`."""

    name: str
    colour: int
    suggested: bool = False


@dataclass(frozen=True)
class Block:
    """A tagged or noted sentence: it starts a line, the next text starts below it, and it has at least `rows`
    lines, so its labels sit beside its own text."""

    start: int
    end: int
    rows: int
    sentence: int


def layout(
    text: str, width: int, blocks: Sequence[Block] = (), start: int = 0, end: int | None = None
) -> tuple[list[tuple[int, int]], list[int]]:
    """Wrap whole paragraphs of `text[start:end]` into line ranges, each block on lines of its own, and per line
    the block's sentence (-1 outside blocks). A block's extra rows are empty lines."""
    width = max(width, 8)
    end = len(text) if end is None else end
    lines: list[tuple[int, int]] = []
    owners: list[int] = []

    def emit(spans: list[tuple[int, int]], block: Block | None) -> None:
        lines.extend(spans)
        owners.extend([-1 if block is None else block.sentence] * len(spans))

    events = sorted(  # at one offset a block closes before the next one opens
        [(b.start, 1, b) for b in blocks if start <= b.start <= end]
        + [(b.end, 0, b) for b in blocks if start <= b.end <= end],
        key=lambda e: (e[0], e[1]),
    )
    ei = 0
    current: Block | None = None  # the caller's range holds whole blocks
    opened = 0  # the current block's first line
    pos = start
    for para in text[start:end].split("\n"):
        p_end = pos + len(para)
        narrow = para.isascii() or not (_WIDE.search(para) or (max(para) >= FAR and _far_wide().search(para)))
        emitted = False
        a = pos
        while True:
            cut = events[ei][0] if ei < len(events) and events[ei][0] <= p_end else p_end
            spans = _wrap_span(text, a, cut, width, narrow, a == pos, cut == p_end)
            emitted = emitted or bool(spans)
            emit(spans, current)
            if not (ei < len(events) and events[ei][0] <= p_end):
                break
            x, opens, block = events[ei]
            ei += 1
            if opens:
                current, opened = block, len(lines)
            elif current is block:
                emit([(x, x)] * (block.rows - (len(lines) - opened)), block)
                current = None
            a = x
        if not emitted:
            emit([(pos, pos)], current)
        pos = p_end + 1
    if not lines:
        return [(start, start)], [-1]
    return lines, owners


def _wrap_span(
    text: str, a: int, b: int, width: int, narrow: bool, para_start: bool, para_end: bool
) -> list[tuple[int, int]]:
    """Lines of `text[a:b]`, a piece of one paragraph: spaces at a cut made by a block are left out."""
    if not para_start:
        a = _SPACES.match(text, a, b).end()
    if not para_end:
        b = a + len(text[a:b].rstrip(" "))
    lines = []
    start = a
    while start < b:
        limit = min(b, start + width) if narrow else _fit(text, start, b, width)
        if limit >= b:
            lines.append((start, b))
            break
        cut = text.rfind(" ", start, limit + 1)
        end = cut if cut > start else limit  # at the last space that fits, else mid-word
        lines.append((start, end))
        start = _SPACES.match(text, end, b).end()
    return lines


def _fit(text: str, start: int, end: int, width: int) -> int:
    """Where a line of `width` cells from `start` ends (at least one character), for wide characters."""
    cells = 0
    for i in range(start, end):
        cells += cell_len(text[i])
        if cells > width:
            return max(i, start + 1)
    return end


def label_text(name: str, suggested: bool, cells: int) -> str:
    """A label in `cells`: whole, or cut with `…`; a suggestion keeps its `?`."""
    room = cells - suggested
    if cell_len(name) > room:
        name = set_cell_size(name, room - 1).rstrip() + "…"
    return name + "?" if suggested else name

