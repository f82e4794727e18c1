"""ArticleView: the article text on Textual's Line API.

One `ScrollView` renders only the visible lines (`render_line`), so a 50,000-sentence document costs about
what a short one does; a widget per sentence would not (1,000 `Static`s take 0.8 s to paint). Text is
wrapped into (start, end) offset pairs: every style (entities, cursor, search matches, selection) is a
character range over the stored text, and the text itself is only ever sliced, never parsed as markup.
"""

from __future__ import annotations

import functools
import itertools
import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

GUTTER = 14
"""Cells left of the text for the sentence cursor, note marker and label tags."""
MAX_TEXT_WIDTH = 92
"""A comfortable reading measure; wider terminals centre the column."""
PALETTE_SIZE = 8
LABEL_PALETTE_SIZE = 9

_LABEL_COLOURS = {
    "PER": 0, "PERSON": 0,
    "LOC": 1, "GPE": 1, "FAC": 1,
    "ORG": 2, "NORP": 2,
    "MISC": 3, "EVENT": 3, "PRODUCT": 3, "WORK_OF_ART": 3, "LAW": 3, "LANGUAGE": 3,
    "DATE": 4, "TIME": 4,
    "MONEY": 5, "PERCENT": 5, "QUANTITY": 5, "CARDINAL": 5, "ORDINAL": 5,
}


def entity_colour(label: str) -> int:
    """Palette slot of an entity label: fixed for the usual schemes, stable for any other label."""
    if label in _LABEL_COLOURS:
        return _LABEL_COLOURS[label]
    return 6 + sum(map(ord, label)) % 2


@dataclass(frozen=True)
class Mark:
    """An entity as displayed: its range, label and review status."""

    start: int
    end: int
    label: str
    status: str = "predicted"


@dataclass(frozen=True)
class Tag:
    """A sentence label as displayed in the gutter."""

    name: str
    colour: int
    suggested: bool = False
    """A trained model's suggestion, not an analyst's tag: drawn dim and italic with a `?` (`reader.suggest`)."""


@functools.cache
def _wide() -> re.Pattern[str]:
    return re.compile(
        "[\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u1100-\u115f\u200b-\u200f\u2e80-\ua4cf\uac00-\ud7a3"
        "\uf900-\ufaff\ufe00-\ufe0f\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\U0001f000-\U0001faff"
        "\U00020000-\U0003fffd]"
    )


def _narrow(text: str) -> bool:
    """One cell per character: ASCII, anything Windows-1252 can encode (French typography included, checked
    in C), or no wide/zero-width character found by the (lazily compiled) regex."""
    if text.isascii():
        return True
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return not _wide().search(text)
    return True


def wrap(text: str, width: int) -> list[tuple[int, int]]:
    """Greedy word wrap into (start, end) ranges of `text`; trailing spaces and newlines are left out.

    Narrow text (the common case) is wrapped with `str.rfind`; text with wide or zero-width characters
    falls back to measuring cells one character at a time.
    """
    width = max(width, 8)
    lines: list[tuple[int, int]] = []
    pos = 0
    for para in text.split("\n"):
        n = len(para)
        before = len(lines)
        narrow = _narrow(para)
        if n <= width and narrow:
            lines.append((pos, pos + n))
        elif narrow:
            start = 0
            while start < n:
                while start < n and para[start] == " ":
                    start += 1
                if start >= n:
                    break
                if n - start <= width:
                    lines.append((pos + start, pos + n))
                    break
                cut = para.rfind(" ", start, start + width + 1)
                if cut <= start:
                    cut, nxt = start + width, start + width
                else:
                    nxt = cut + 1
                lines.append((pos + start, pos + cut))
                start = nxt
        else:
            lines.extend((pos + s, pos + e) for s, e in _wrap_cells(para, width))
        if len(lines) == before:
            lines.append((pos, pos))
        pos += n + 1
    return lines or [(0, 0)]


def _wrap_cells(para: str, width: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    start = 0
    cells = 0
    last_space = -1
    i = 0
    while i < len(para):
        c = para[i]
        w = cell_len(c)
        if c == " ":
            last_space = i
        if cells + w > width and i > start:
            cut = last_space if last_space > start else i
            out.append((start, cut))
            start = cut + 1 if cut == last_space else cut
            while start < len(para) and para[start] == " ":
                start += 1
            i = start
            cells = 0
            last_space = -1
            continue
        cells += w
        i += 1
    if start < len(para):
        out.append((start, len(para)))
    return out


class ArticleView(ScrollView, can_focus=True, inherit_bindings=False):
    """The article, a sentence cursor, an entity cursor, search matches and a token selection.

    ScrollView's own bindings are not inherited: arrows, PgUp/PgDn, Home and End belong to the screen's
    actions, which move the *cursor* (the view follows it). Scrolling without the keyboard (wheel, scrollbar)
    drags the cursor along so that it never leaves the screen: a tag always lands on a visible sentence.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "article-view--cursor",
        "article-view--cursor-bar",
        "article-view--gutter",
        "article-view--note",
        "article-view--entity-cursor",
        "article-view--match",
        "article-view--match-current",
        "article-view--selection",
        "article-view--accepted",
        "article-view--rejected",
        "article-view--added",
        "article-view--suggested",
        *(f"article-view--ent-{i}" for i in range(PALETTE_SIZE)),
        *(f"article-view--label-{i}" for i in range(LABEL_PALETTE_SIZE)),
    }

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)
    """Index of the sentence under the cursor."""

    class CursorMoved(Message):
        def __init__(self, view: ArticleView, sentence: int, entity: int | None) -> None:
            super().__init__()
            self.view = view
            self.sentence = sentence
            self.entity = entity

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.text = ""
        self.sentences: list[tuple[int, int]] = [(0, 0)]
        self._sentence_starts: list[int] = [0]
        self.marks: list[Mark] = []
        self._mark_starts: list[int] = []
        self._max_mark_len = 0
        self.tags: dict[int, Sequence[Tag]] = {}
        self.notes: set[int] = set()
        self.entity_cursor: int | None = None
        self.selection: tuple[int, int] | None = None
        self.matches: list[tuple[int, int]] = []
        self.match_index: int | None = None
        self._lines: list[tuple[int, int]] = [(0, 0)]
        self._line_starts: list[int] = [0]
        self._wrap_width = 0
        self._line_cache: LRUCache[int, Strip] = LRUCache(1024)
        self._styles: dict[str, Style] = {}

    # --- content -------------------------------------------------------------------------------------

    def load(self, text: str, sentences: Sequence[tuple[int, int]] | None = None) -> None:
        """Show a new text; until an analysis arrives, paragraphs stand in for sentences.

        A control character (only a store written before the import rules could hold one) is drawn as U+FFFD:
        one character for one, so every offset still points at the same place, and no escape reaches the
        terminal.
        """
        from reader.untrusted import has_control

        if has_control(text):
            text = "".join("\ufffd" if has_control(c) else c for c in text)
        self.text = text
        self.marks, self._mark_starts = [], []
        self.tags, self.notes = {}, set()
        self.entity_cursor = None
        self.selection = None
        self.matches, self.match_index = [], None
        self._set_sentences(sentences or paragraphs(text))
        self._wrap_width = 0
        self._rewrap()
        self.set_reactive(ArticleView.cursor, 0)
        self.scroll_to(0, 0, animate=False, immediate=True)
        self._changed()

    def set_sentences(self, sentences: Sequence[tuple[int, int]]) -> None:
        """Replace the sentence boundaries, keeping the cursor on the text it was on."""
        anchor = self.sentences[self.cursor][0] if self.sentences else 0
        self._set_sentences(sentences)
        self.set_reactive(ArticleView.cursor, self.sentence_at(anchor))
        self._changed()

    def _set_sentences(self, sentences: Sequence[tuple[int, int]]) -> None:
        self.sentences = list(sentences) or [(0, len(self.text))]
        self._sentence_starts = [s for s, _ in self.sentences]

    def set_marks(self, marks: Sequence[Mark]) -> None:
        self.marks = sorted(marks, key=lambda m: (m.start, m.end))
        self._mark_starts = [m.start for m in self.marks]
        self._max_mark_len = max((m.end - m.start for m in self.marks), default=0)
        if self.entity_cursor is not None and self.entity_cursor >= len(self.marks):
            self.entity_cursor = None
        self._changed()

    def set_overlay(self, tags: dict[int, Sequence[Tag]], notes: set[int]) -> None:
        self.tags, self.notes = tags, notes
        self._changed()

    def set_sentence_overlay(self, index: int, tags: Sequence[Tag], note: bool) -> None:
        """Update one sentence's gutter (a keypress repaints its lines, not the whole document)."""
        if tags:
            self.tags[index] = tags
        else:
            self.tags.pop(index, None)
        if note:
            self.notes.add(index)
        else:
            self.notes.discard(index)
        self._changed()

    def set_matches(self, matches: list[tuple[int, int]]) -> None:
        self.matches, self.match_index = matches, None
        self._changed()

    def set_selection(self, selection: tuple[int, int] | None) -> None:
        self.selection = selection
        if selection:
            self._scroll_to_offset(selection[0])
        self._changed()

    # --- geometry ------------------------------------------------------------------------------------

    @property
    def text_width(self) -> int:
        return max(20, min(MAX_TEXT_WIDTH, self.scrollable_content_region.width - GUTTER - 1))

    @property
    def line_count(self) -> int:
        return len(self._lines)

    def _rewrap(self) -> None:
        width = self.text_width if self.size.width else MAX_TEXT_WIDTH
        if width == self._wrap_width:
            return
        self._wrap_width = width
        self._lines = wrap(self.text, width)
        self._line_starts = [s for s, _ in self._lines]
        self.virtual_size = Size(width + GUTTER, len(self._lines))
        self._line_cache.clear()

    def on_resize(self) -> None:
        self._check_width()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self._follow_viewport()

    def visible_lines(self) -> tuple[int, int]:
        """(first, last) wrapped lines on screen."""
        first = round(self.scroll_offset.y)
        height = max(1, self.scrollable_content_region.height)
        return first, min(self.line_count - 1, first + height - 1)

    def _follow_viewport(self) -> None:
        """Keep the cursor sentence on screen after a scroll that did not come from a cursor move."""
        if not self.size.height or not self.text:
            return
        top, bottom = self.visible_lines()
        start, end = self.sentences[self.cursor]
        first, last = self.line_of(start), self.line_of(max(start, end - 1))
        if last < top:
            index = self.sentence_at(self._lines[top][0])
            if self.line_of(max(self.sentences[index][0], self.sentences[index][1] - 1)) < top:
                index = min(index + 1, len(self.sentences) - 1)  # a blank line at the top: the next sentence
        elif first > bottom:
            index = self.sentence_at(max(self._lines[bottom][0], self._lines[bottom][1] - 1))
        else:
            return
        self.entity_cursor = None
        self.cursor = index
        self._drop_selection_outside(index)
        self.post_message(self.CursorMoved(self, self.cursor, None))

    def _drop_selection_outside(self, index: int) -> None:
        """A selection stays only while it overlaps the cursor's sentence: `+` never adds an entity that is
        off screen."""
        if self.selection is not None:
            start, end = self.sentences[index]
            if not (self.selection[0] < max(end, start + 1) and self.selection[1] > start):
                self.selection = None

    def _check_width(self) -> None:
        before = self._wrap_width
        self._rewrap()
        if before != self._wrap_width:
            self.scroll_to_cursor(center=False)
            self.refresh()

    def line_of(self, offset: int) -> int:
        return max(0, bisect_right(self._line_starts, offset) - 1)

    def sentence_at(self, offset: int) -> int:
        return max(0, bisect_right(self._sentence_starts, offset) - 1)

    # --- cursor --------------------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self._changed()

    def move_to_sentence(self, index: int, *, entity: int | None = None) -> None:
        index = max(0, min(index, len(self.sentences) - 1))
        self.entity_cursor = entity
        self.cursor = index
        self._drop_selection_outside(index)
        if entity is not None:
            self._scroll_to_offset(self.marks[entity].start)
        else:
            self.scroll_to_cursor()
        self.post_message(self.CursorMoved(self, self.cursor, self.entity_cursor))

    def move_sentence(self, delta: int) -> None:
        self.move_to_sentence(self.cursor + delta)

    def move_to_offset(self, offset: int) -> None:
        self.move_to_sentence(self.sentence_at(offset))

    def move_entity(self, delta: int) -> bool:
        """Step to the next/previous entity from the cursor; False when there is none that way."""
        if not self.marks:
            return False
        if self.entity_cursor is not None:
            target = self.entity_cursor + delta
        else:
            start = self.sentences[self.cursor][0]
            first_after = bisect_left(self._mark_starts, start)
            target = first_after if delta > 0 else first_after - 1
        if not 0 <= target < len(self.marks):
            return False
        self.move_to_sentence(self.sentence_at(self.marks[target].start), entity=target)
        return True

    def move_to_mark(self, index: int) -> None:
        self.move_to_sentence(self.sentence_at(self.marks[index].start), entity=index)

    def clear_entity_cursor(self) -> None:
        if self.entity_cursor is not None:
            self.entity_cursor = None
            self._changed()

    @property
    def current_mark(self) -> Mark | None:
        return None if self.entity_cursor is None else self.marks[self.entity_cursor]

    def match_after(self, delta: int) -> tuple[int, bool] | None:
        """The match `>` (delta 1) or `<` (-1) goes to, and whether that wraps around the document; None when
        there is no match. It is counted from the cursor: from the current match when it is in the cursor's
        sentence, else from the sentence's start (so `>` takes a match in that sentence first)."""
        if not self.matches:
            return None
        s_start, s_end = self.sentences[self.cursor]
        current = self.matches[self.match_index] if self.match_index is not None else None
        if current is not None and s_start <= current[0] < max(s_end, s_start + 1):
            i = bisect_left(self.matches, (current[0] + 1,)) if delta > 0 else \
                bisect_left(self.matches, (current[0],)) - 1
        else:
            i = bisect_left(self.matches, (s_start,)) - (0 if delta > 0 else 1)
        return i % len(self.matches), not 0 <= i < len(self.matches)

    def goto_match(self, delta: int) -> bool:
        """Move to the next/previous search match after/before the cursor, wrapping around."""
        target = self.match_after(delta)
        if target is None:
            return False
        self.match_index = target[0]
        start = self.matches[self.match_index][0]
        self.move_to_sentence(self.sentence_at(start))
        self._scroll_to_offset(start)
        return True

    def page(self, delta: int) -> None:
        height = max(1, self.scrollable_content_region.height - 2)
        target_line = self.line_of(self.sentences[self.cursor][0]) + delta * height
        target_line = max(0, min(target_line, self.line_count - 1))
        self.scroll_to(y=self.scroll_offset.y + delta * height, animate=False)
        self.move_to_sentence(self.sentence_at(self._lines[target_line][0]))

    def scroll_to_cursor(self, center: bool = False) -> None:
        start, end = self.sentences[self.cursor]
        first, last = self.line_of(start), self.line_of(max(start, end - 1))
        self.scroll_to_region(
            Region(0, first, 1, last - first + 1), animate=False, center=center, immediate=True
        )

    def _scroll_to_offset(self, offset: int) -> None:
        line = self.line_of(offset)
        self.scroll_to_region(Region(0, line, 1, 1), animate=False, immediate=True)

    def on_click(self, event: events.Click) -> None:
        """A click puts the cursor on the sentence (and the entity) under the pointer."""
        line = self.scroll_offset.y + event.y
        if not 0 <= line < len(self._lines):
            return
        start, end = self._lines[line]
        margin = max(0, (self.scrollable_content_region.width - GUTTER - self._wrap_width) // 2 - 2)
        column = self.scroll_offset.x + event.x - margin - GUTTER
        offset = min(end, start + max(0, column))  # narrow text: one cell per character
        index = bisect_right(self._mark_starts, offset) - 1
        entity = index if index >= 0 and self.marks[index].start <= offset < self.marks[index].end else None
        self.move_to_sentence(self.sentence_at(offset), entity=entity)

    # --- rendering -----------------------------------------------------------------------------------

    def _changed(self) -> None:
        self._line_cache.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._line_cache.clear()

    def _style(self, name: str) -> Style:
        """A component's own style, its translucent colours blended over the widget's background.

        Textual's partial style drops alpha (`$primary 18%` would paint solid `$primary`), so the colours it
        sets are taken from the full style, which blends them.
        """
        style = self._styles.get(name)
        if style is None:
            component = f"article-view--{name}"
            style = self.get_component_rich_style(component, partial=True)
            if style.color or style.bgcolor:
                full = self.get_component_rich_style(component)
                style += Style(color=full.color if style.color else None,
                               bgcolor=full.bgcolor if style.bgcolor else None)
            self._styles[name] = style
        return style

    def mark_style(self, label: str) -> Style:
        return self._style(f"ent-{entity_colour(label)}")

    def label_style(self, colour: int) -> Style:
        return self._style(f"label-{colour % LABEL_PALETTE_SIZE}")

    def render_line(self, y: int) -> Strip:
        if y == 0 and self.size.width and self.text_width != self._wrap_width:
            self.call_later(self._check_width)  # a resize we were not told about (seen in tmux)
        line = self.scroll_offset.y + y
        strip = self._line_cache.get(line)
        if strip is None:
            strip = self._render_text_line(line) if line < len(self._lines) else Strip.blank(0)
            self._line_cache[line] = strip
        width = self.scrollable_content_region.width
        return strip.crop_extend(self.scroll_offset.x, self.scroll_offset.x + width, self.rich_style)

    def _render_text_line(self, line: int) -> Strip:
        base = self.rich_style
        start, end = self._lines[line]
        c_start, c_end = self.sentences[self.cursor]
        is_cursor = start < c_end and end > c_start
        segments = self._gutter(*self._gutter_owner(line, start, end), is_cursor, base)
        ranges = self._ranges(start, end, is_cursor, c_start, c_end)
        cuts = sorted({start, end, *(p for r in ranges for p in (r[0], r[1]) if start < p < end)})
        text = self.text
        for a, b in itertools.pairwise(cuts):
            style = base
            for r_start, r_end, r_style in ranges:
                if r_start <= a and b <= r_end:
                    style = style + r_style
            segments.append(Segment(text[a:b].replace("\t", " "), style))
        margin = max(0, (self.scrollable_content_region.width - GUTTER - self._wrap_width) // 2 - 2)
        if margin:
            segments.insert(0, Segment(" " * margin, base))
        return Strip(segments).simplify()

    def _line_owner(self, line: int) -> int | None:
        """The sentence whose gutter this line shows; None on a blank line.

        The last sentence starting on the line owns it when it ends there too (a short sentence keeps a place
        for its labels) or holds at least as much of the line as the sentence it follows; otherwise the line
        stays with that earlier sentence, so a label never sits beside text that is mostly another sentence's.
        """
        start, end = self._lines[line]
        if start == end:
            return None
        head = self.sentence_at(start)
        last = self.sentence_at(end - 1)
        if last == head:
            return head
        l_start, l_end = self.sentences[last]
        h_end = self.sentences[head][1]
        if l_end <= end or end - l_start >= min(end, h_end) - start:
            return last
        return head

    def _gutter_owner(self, line: int, start: int, end: int) -> tuple[int, int, int]:
        """(sentence, row, last row) of the gutter on this line; row -1 when no sentence owns it.

        A sentence's labels run down the lines it owns (see `_line_owner`), the last one saying +N when they
        do not all fit.
        """
        sentence = self._line_owner(line)
        if sentence is None:
            return self.sentence_at(start), -1, -1
        s_start, s_end = self.sentences[sentence]
        first, last = self.line_of(s_start), self.line_of(max(s_start, s_end - 1))
        if first < line and self._line_owner(first) != sentence:
            first += 1
        if last > line and self._line_owner(last) != sentence:
            last -= 1
        return sentence, line - first, max(0, last - first)

    def _gutter(self, sentence: int, row: int, last_row: int, is_cursor: bool, base: Style) -> list[Segment]:
        """Cursor bar, note marker (first line) and one label per line of the sentence (+N when short)."""
        gutter_style = base + self._style("gutter")
        bar = Segment("▌ " if is_cursor else "  ", base + self._style("cursor-bar") if is_cursor else gutter_style)
        out = [bar]
        marker = "✎ " if row == 0 and sentence in self.notes else "  "
        out.append(Segment(marker, base + self._style("note")))
        cells = GUTTER - 4
        tags = self.tags.get(sentence, ()) if row >= 0 else ()
        if 0 <= row < len(tags):
            more = len(tags) - row - 1 if row == last_row else 0
            suffix = f" +{more}" if more else ""
            tag = tags[row]
            name = (tag.name + "?" if tag.suggested else tag.name)[: cells - 1 - len(suffix)]
            style = base + self.label_style(tag.colour)
            if tag.suggested:  # not bold like a tag: the theme's `suggested` style (dim, italic) on the label colour
                style = style + Style(bold=False) + self._style("suggested")
            out.append(Segment(name, style))
            if suffix:
                out.append(Segment(suffix, gutter_style))
            cells -= len(name) + len(suffix)
        if cells > 0:
            out.append(Segment(" " * cells, gutter_style))
        return out

    def _ranges(self, start: int, end: int, is_cursor: bool, c_start: int, c_end: int) -> list:
        ranges: list[tuple[int, int, Style]] = []
        if is_cursor:
            ranges.append((max(start, c_start), min(end, c_end), self._style("cursor")))
        if self.marks:
            i = bisect_left(self._mark_starts, start - self._max_mark_len)
            while i < len(self.marks) and self.marks[i].start < end:
                mark = self.marks[i]
                if mark.end > start:
                    style = self.mark_style(mark.label)
                    if mark.status in ("accepted", "relabelled"):
                        style = style + self._style("accepted")
                    elif mark.status == "rejected":
                        style = self._style("rejected")
                    elif mark.status == "added":
                        style = style + self._style("added")
                    if i == self.entity_cursor:
                        style = style + self._style("entity-cursor")
                    ranges.append((max(start, mark.start), min(end, mark.end), style))
                i += 1
        current = self.matches[self.match_index] if self.match_index is not None else None
        for m_start, m_end in self._matches_in(start, end):
            style = self._style("match-current" if (m_start, m_end) == current else "match")
            ranges.append((max(start, m_start), min(end, m_end), style))
        if self.selection and self.selection[0] < end and self.selection[1] > start:
            ranges.append((max(start, self.selection[0]), min(end, self.selection[1]), self._style("selection")))
        return ranges

    def _matches_in(self, start: int, end: int) -> list[tuple[int, int]]:
        if not self.matches:
            return []
        i = bisect_left(self.matches, (start - 200, 0))
        out = []
        while i < len(self.matches) and self.matches[i][0] < end:
            if self.matches[i][1] > start:
                out.append(self.matches[i])
            i += 1
        return out


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Non-empty lines as stand-in sentences until the model's sentences arrive."""
    return [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text) if m.group().strip()] or [(0, len(text))]
