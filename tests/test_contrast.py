"""Entity highlights stay distinct from the sentence cursor and the page, in every colour depth and theme.

The colours are the ones actually rendered: an `ArticleView` styled by `reader/ui/app.tcss` runs in a Pilot app
with each theme, and the styles of the segments of its rendered lines are read back. Truecolor is what a modern
terminal shows; 256 and 16 colours are what Rich sends after `Color.downgrade` (Rich does this for Textual on
terminals without truecolor), so distinct there means a distinct palette index.

Truecolor thresholds (CIE76 ΔE on L*a*b*, where ~2.3 is just noticeable side by side):
- `MIN_DELTA_E` = 12 between an entity's background and the background around it (cursor tint or page):
  a difference seen at a glance, not only side by side;
- `MIN_TEXT_CONTRAST` = 4.5 (WCAG 2 AA for body text) between the text and any highlight under it;
  `MIN_DIMMED_CONTRAST` = 3 (WCAG AA for large text) for a rejected entity, dimmed on purpose but readable.

In 256 and 16 colours the test asks for a different palette index (and text in another index than its
background). In 16 colours the cursor tint may be the page colour: there the `▌` bar alone marks the cursor sentence.

Between entity labels (each pair of the eleven palette slots an --entity-labels set can use; the model's labels
use the first eight), in truecolor and in the colours of the 256-colour palette that a terminal shows for the
indices Rich sends: `MIN_LABEL_DELTA_E` = 20 and different indices (PER and LOC were both `48;5;23`). The cursor
tint against the page: a different index and `MIN_CURSOR_CONTRAST` = 1.3 (WCAG contrast ratio of the two
backgrounds; 234 on 233 was 1.10). tests/test_contrast_tmux.py checks the same figures on what tmux really shows.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.color import Color, ColorSystem, ColorType
from rich.style import Style
from textual.app import App
from textual.constants import DEFAULT_THEME

import reader
from reader.entity_labels import EntityLabels
from reader.labels import parse_labels
from reader.ui.widgets.article_view import PALETTE_SIZE, ArticleView, Mark, entity_colour

THEMES = ["textual-dark", "textual-light"]
MIN_DELTA_E = 12.0
MIN_TEXT_CONTRAST = 4.5
MIN_DIMMED_CONTRAST = 3.0
MIN_LABEL_DELTA_E = 20.0
MIN_CURSOR_CONTRAST = 1.3
SYSTEMS = {"truecolor": ColorSystem.TRUECOLOR, "256": ColorSystem.EIGHT_BIT, "16": ColorSystem.STANDARD}
STATUSES = {"p": "predicted", "a": "accepted", "l": "relabelled", "d": "added", "r": "rejected"}
"""Word prefix → review status; a word like `cp3` is a predicted entity of palette slot 3 in the cursor sentence."""


def slot_tints() -> dict[str, int]:
    """One entity label per palette slot, as an --entity-labels set of as many labels as there are slots assigns
    them (`EntityLabels.tints`, the reading screen's `ArticleView.tints`); the model's labels without a set use
    slots 0-7 (`entity_colour`), a set of more labels the rest."""
    entries = "".join(f'[[label]]\nname = "L{n}"\n' for n in range(PALETTE_SIZE + 1))
    tints = EntityLabels(parse_labels(entries, "probe"), given=True).tints()
    slots = dict(itertools.islice(((slot, label) for label, slot in tints.items()), PALETTE_SIZE))
    assert sorted(slots) == list(range(PALETTE_SIZE))  # every slot once; the label past them shares one
    default = {entity_colour(label) for label in ["PER", "LOC", "ORG", "MISC", "DATE", "MONEY", *(f"X{i}" for i in
                                                                                             range(20))]}
    assert default <= set(slots)
    return {label: slot for slot, label in sorted(slots.items())}


def slot_labels() -> list[str]:
    return list(slot_tints())


@dataclass(frozen=True)
class Cell:
    """What a run of text looks like: its text and background colours (after `reverse`) and its style."""

    fg: Color
    bg: Color
    style: Style


class Probe(App):
    CSS_PATH = str(Path(reader.__file__).parent / "ui" / "app.tcss")

    def compose(self):
        yield ArticleView()


def _text() -> tuple[str, list[tuple[int, int]], list[Mark], dict[str, tuple[int, int]]]:
    """Two sentences (cursor `c…`, other `o…`) holding every slot × status, plus match/selection words."""
    labels = slot_labels()
    text, sentences, marks, spans = "", [], [], {}
    for where in "co":
        start = len(text)
        words = [f"{where}{s}{slot}" for s in STATUSES for slot in range(PALETTE_SIZE)]
        words += [f"{where}plain", f"{where}match", f"{where}current", f"{where}select"]
        for word in words:
            spans[word] = (len(text), len(text) + len(word))
            text += word + " "
        text = text.rstrip() + "."
        sentences.append((start, len(text)))
        text += " "
        for s, status in STATUSES.items():
            for slot in range(PALETTE_SIZE):
                a, b = spans[f"{where}{s}{slot}"]
                marks.append(Mark(a, b, labels[slot], status))
    return text.rstrip(), sentences, marks, spans


def _cells(view: ArticleView, spans: dict[str, tuple[int, int]]) -> dict[str, Cell]:
    """The rendered style of every probe word, read from the segments of the rendered lines."""
    base = view.rich_style
    by_text: dict[str, Cell] = {}
    for y in range(view.line_count):
        for segment in view.render_line(y):
            style = segment.style or base
            fg, bg = style.color or base.color, style.bgcolor or base.bgcolor
            if style.reverse:
                fg, bg = bg, fg
            for word in segment.text.split():
                by_text[word.rstrip('.')] = Cell(fg, bg, style)
    return {word: by_text[word] for word in spans}


async def _render(theme: str) -> dict[str, object]:
    text, sentences, marks, spans = _text()
    app = Probe()
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = theme
        await pilot.pause()
        view = app.query_one(ArticleView)
        view.tints = slot_tints()
        view.load(text, sentences)
        view.set_marks(marks)
        match, current = spans["cmatch"], spans["ccurrent"]
        view.set_matches([match, current, spans["omatch"], spans["ocurrent"]])
        view.match_index = 1
        view.set_selection(spans["cselect"])
        view.move_to_sentence(0)
        await pilot.pause()
        cells = _cells(view, spans)
        view.set_matches([spans["omatch"], spans["ocurrent"]])
        view.match_index = 1
        view.set_selection(spans["oselect"])
        await pilot.pause()
        other = _cells(view, spans)
        for word in ("omatch", "ocurrent", "oselect"):
            cells[word] = other[word]
        entity_cursor = {}
        for slot in range(PALETTE_SIZE):
            index = next(i for i, m in enumerate(view.marks) if (m.start, m.end) == spans[f"cp{slot}"])
            view.move_to_mark(index)
            await pilot.pause()
            entity_cursor[slot] = _cells(view, spans)[f"cp{slot}"]
        base = view.rich_style
        return {"cells": cells, "entity_cursor": entity_cursor, "page": Cell(base.color, base.bgcolor, base)}


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict[str, object]]:
    return {theme: asyncio.run(_render(theme)) for theme in THEMES}


# --- colour arithmetic ---------------------------------------------------------------------------------------


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(color: Color) -> float:
    r, g, b = (_linear(c) for c in color.get_truecolor())
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: Color, b: Color) -> float:
    """WCAG 2 contrast ratio, 1 (same luminance) to 21 (black on white)."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def lab(color: Color) -> tuple[float, float, float]:
    r, g, b = (_linear(c) for c in color.get_truecolor())
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def delta_e(a: Color, b: Color) -> float:
    """CIE76 colour difference."""
    return math.dist(lab(a), lab(b))


def index(color: Color, system: ColorSystem) -> int:
    """The palette index Rich sends for this colour on a terminal of that depth."""
    down = color.downgrade(system)
    assert down.type in (ColorType.EIGHT_BIT, ColorType.STANDARD), down
    assert down.number is not None
    return down.number


def distinct(a: Color, b: Color, system: str, minimum: float = MIN_DELTA_E) -> bool:
    if system == "truecolor":
        return delta_e(a, b) >= minimum
    return index(a, SYSTEMS[system]) != index(b, SYSTEMS[system])


def legible(cell: Cell, system: str, minimum: float = MIN_TEXT_CONTRAST) -> bool:
    if system == "truecolor":
        return contrast(cell.fg, cell.bg) >= minimum
    return index(cell.fg, SYSTEMS[system]) != index(cell.bg, SYSTEMS[system])


def highlighted(cells: dict[str, Cell], where: str) -> dict[str, Cell]:
    """Entity words with a background of their own (a rejected entity is plain struck-through text)."""
    return {w: c for w, c in cells.items() if w[0] == where and is_entity(w) and w[1] != "r"}


def is_entity(word: str) -> bool:
    return len(word) == 3 and word[1] in STATUSES and word[2].isdigit()


# --- the contract --------------------------------------------------------------------------------------------


def test_the_default_theme_is_one_of_those_checked():
    assert DEFAULT_THEME in THEMES


def looking_like(cells, prefix: str, background, system: str) -> dict[str, str]:
    """The highlighted words of the line `prefix` whose tint the terminal shows as `background`."""
    return {w: c.bg.name for w, c in highlighted(cells, prefix).items() if not distinct(c.bg, background, system)}


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("theme", THEMES)
def test_entities_stand_out_from_the_cursor_sentence(rendered, theme, system):
    cells = rendered[theme]["cells"]
    cursor = cells["cplain"].bg
    bad = looking_like(cells, "c", cursor, system)
    assert not bad, f"same as the cursor tint {cursor.name}: {bad}"


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("theme", THEMES)
def test_entities_stand_out_from_the_page(rendered, theme, system):
    cells, page = rendered[theme]["cells"], rendered[theme]["page"].bg
    assert cells["oplain"].bg == page
    bad = {w: c.bg.name for w, c in highlighted(cells, "o").items() if not distinct(c.bg, page, system)}
    assert not bad, f"same as the page {page.name}: {bad}"


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("theme", THEMES)
def test_text_stays_legible_on_every_highlight(rendered, theme, system):
    cells = rendered[theme]["cells"]
    candidates = {w: c for w, c in cells.items() if is_entity(w) or w[1:] in ("match", "current", "select")}
    candidates |= {f"entity cursor {slot}": c for slot, c in rendered[theme]["entity_cursor"].items()}
    bad = {
        w: f"{c.fg.name} on {c.bg.name}" for w, c in candidates.items()
        if not legible(c, system, MIN_DIMMED_CONTRAST if is_entity(w) and w[1] == "r" else MIN_TEXT_CONTRAST)
    }
    assert not bad, bad


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("theme", THEMES)
def test_the_entity_cursor_stands_out_from_the_cursor_sentence(rendered, theme, system):
    cells = rendered[theme]["cells"]
    cursor = cells["cplain"].bg
    entity_cursor = rendered[theme]["entity_cursor"]
    bad = {slot: c.bg.name for slot, c in entity_cursor.items() if not distinct(c.bg, cursor, system)}
    assert not bad, bad


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("theme", THEMES)
def test_matches_and_selection_stand_out_from_the_cursor_sentence(rendered, theme, system):
    cells = rendered[theme]["cells"]
    cursor = cells["cplain"].bg
    bad = {w: cells[w].bg.name for w in ("cmatch", "ccurrent", "cselect") if not distinct(cells[w].bg, cursor, system)}
    assert not bad, bad


@pytest.mark.parametrize("system", ["truecolor", "256"])
@pytest.mark.parametrize("theme", THEMES)
def test_the_cursor_sentence_is_tinted(rendered, theme, system):
    """16 colours have no shade between the page and a highlight (see the module docstring)."""
    cells, page = rendered[theme]["cells"], rendered[theme]["page"].bg
    assert distinct(cells["cplain"].bg, page, system, minimum=5)


def shown(color: Color, system: str) -> Color:
    """The colour a terminal shows: itself in truecolor, else the palette entry of the index Rich sends."""
    if system == "truecolor":
        return color
    return Color.from_triplet(color.downgrade(SYSTEMS[system]).get_truecolor())


@pytest.mark.parametrize("system", ["truecolor", "256"])
@pytest.mark.parametrize("theme", THEMES)
def test_entity_labels_differ_from_each_other(rendered, theme, system):
    cells = rendered[theme]["cells"]
    tints = {slot_labels()[slot]: cells[f"op{slot}"].bg for slot in range(PALETTE_SIZE)}
    bad = []
    for (a, ca), (b, cb) in itertools.combinations(tints.items(), 2):
        same_index = system != "truecolor" and index(ca, SYSTEMS[system]) == index(cb, SYSTEMS[system])
        if same_index or delta_e(shown(ca, system), shown(cb, system)) < MIN_LABEL_DELTA_E:
            bad.append(f"{a} {shown(ca, system).name} ~ {b} {shown(cb, system).name}")
    assert not bad, bad


@pytest.mark.parametrize("system", ["truecolor", "256"])
@pytest.mark.parametrize("theme", THEMES)
def test_the_cursor_tint_is_clearly_visible_on_the_page(rendered, theme, system):
    cursor, page = rendered[theme]["cells"]["cplain"].bg, rendered[theme]["page"].bg
    if system != "truecolor":
        assert index(cursor, SYSTEMS[system]) != index(page, SYSTEMS[system])
    ratio = contrast(shown(cursor, system), shown(page, system))
    assert ratio >= MIN_CURSOR_CONTRAST, f"{shown(cursor, system).name} on {shown(page, system).name}: {ratio:.2f}"


@pytest.mark.parametrize("system", ["truecolor", "256"])
@pytest.mark.parametrize("theme", THEMES)
def test_a_search_match_does_not_look_like_an_entity(rendered, theme, system):
    cells = rendered[theme]["cells"]
    match = cells["omatch"].bg
    bad = looking_like(cells, "o", match, system)
    assert not bad, f"same as a match {match.name}: {bad}"


def report() -> None:
    """`python tests/test_contrast.py`: every rendered colour with its ΔE, contrast and palette indices."""
    for theme in THEMES:
        result = asyncio.run(_render(theme))
        cells, page = result["cells"], result["page"]
        cursor = cells["cplain"].bg
        print(f"{theme}: page {page.fg.name} on {page.bg.name}, cursor {cursor.name}"
              f" ΔE(page) {delta_e(cursor, page.bg):.1f} 256 {index(cursor, SYSTEMS['256'])}"
              f"/{index(page.bg, SYSTEMS['256'])} 16 {index(cursor, SYSTEMS['16'])}/{index(page.bg, SYSTEMS['16'])}")
        for word, cell in sorted(cells.items()):
            if word[0] != "c" or word == "cplain":
                continue
            out = cells.get("o" + word[1:])
            print(f"  {word:9} {cell.fg.name:>8} on {cell.bg.name:8} ΔE(cursor) {delta_e(cell.bg, cursor):5.1f}"
                  f" ΔE(page) {delta_e(out.bg, page.bg):5.1f} text {contrast(cell.fg, cell.bg):4.1f}"
                  f"  256 {index(cell.bg, SYSTEMS['256']):3}/{index(cursor, SYSTEMS['256']):3}"
                  f"  16 fg {index(cell.fg, SYSTEMS['16']):2} bg {index(cell.bg, SYSTEMS['16']):2}"
                  f"/{index(cursor, SYSTEMS['16']):2}")


if __name__ == "__main__":
    report()
