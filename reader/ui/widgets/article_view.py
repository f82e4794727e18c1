"""ArticleView: the article on Textual's Line API, so a huge document costs what a short one does. Lines are
(start, end) offsets and every style a character range: the stored text is only sliced, never parsed as markup."""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
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

from reader.documents import paragraphs
from reader.ui.widgets.layout import (
    GUTTER,
    LABEL_CELLS,
    LABEL_PALETTE_SIZE,
    MAX_TEXT_WIDTH,
    PALETTE_SIZE,
    STATUS_STYLES,
    Block,
    Mark,
    Tag,
    entity_colour,
    label_text,
    layout,
)


class ArticleView(ScrollView, can_focus=True, inherit_bindings=False):
    """The article with a sentence cursor, an entity cursor, search matches and a selection. The screen's keys move
    the cursor and the view follows; a wheel or scrollbar scroll drags the cursor along (`_follow_viewport`)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        f"article-view--{name}"
        for name in ("cursor", "cursor-bar", "gutter", "note", "entity-cursor", "match", "match-current", "selection",
                     "accepted", "rejected", "added", "suggested", *(f"ent-{i}" for i in range(PALETTE_SIZE)),
                     *(f"label-{i}" for i in range(LABEL_PALETTE_SIZE)))
    }

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    class CursorMoved(Message):
        """The sentence or entity cursor moved."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.text = ""
        self.sentences: list[tuple[int, int]] = [(0, 0)]
        self._sentence_starts: list[int] = [0]
        self.marks: list[Mark] = []
        self.tints: dict[str, int] = {}  # an --entity-labels set's palette slots (EntityLabels.tints)
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
        self._line_sentence: list[int] = [-1]  # per line: the `Block`'s sentence, or -1
        self._wrap_width = 0
        self._line_cache: LRUCache[int, Strip] = LRUCache(1024)
        self._styles: dict[str, Style] = {}

    def load(self, text: str, sentences: Sequence[tuple[int, int]] | None = None) -> None:
        """Show a new text; paragraphs stand in for sentences until the analysis arrives. A control character
        (a store older than the import rules) becomes U+FFFD: offsets hold, no escape reaches the terminal."""
        from reader.untrusted import has_control

        if has_control(text):
            text = "".join("\ufffd" if has_control(c) else c for c in text)
        self.text = text
        self.set_marks([])
        self.set_matches([])
        self.tags, self.notes = {}, set()
        self.selection = None
        self.set_sentences(sentences or paragraphs(text))
        self._wrap_width = 0
        self._check_width(scroll=False)
        self.set_reactive(ArticleView.cursor, 0)
        self.scroll_to(0, 0, animate=False, immediate=True)
        self._changed()

    def set_sentences(self, sentences: Sequence[tuple[int, int]]) -> None:
        """Replace the sentence boundaries, keeping the cursor on the text it was on."""
        anchor = self.sentences[self.cursor][0]
        self.sentences = list(sentences) or [(0, len(self.text))]
        self._sentence_starts = [s for s, _ in self.sentences]
        if self.tags or self.notes:
            self._relayout()
        self.set_reactive(ArticleView.cursor, self.sentence_at(anchor))
        self._changed()

    def set_marks(self, marks: Sequence[Mark]) -> None:
        self.marks = sorted(marks, key=lambda m: (m.start, m.end))
        self._mark_starts = [m.start for m in self.marks]
        self._max_mark_len = max((m.end - m.start for m in self.marks), default=0)
        if self.entity_cursor is not None and self.entity_cursor >= len(self.marks):
            self.entity_cursor = None
        self._changed()

    def set_overlay(self, tags: dict[int, Sequence[Tag]], notes: set[int]) -> None:
        """Every sentence's gutter; the text is laid out again only when a sentence gains or loses rows."""
        before = {i: self._block_rows(i) for i in {*self.tags, *self.notes}}
        self.tags, self.notes = tags, notes
        if {i: self._block_rows(i) for i in {*tags, *notes}} != before:
            self._relayout()
            if self.size.height:
                self.scroll_to_cursor()
        self._changed()

    def set_sentence_overlay(self, index: int, tags: Sequence[Tag], note: bool) -> None:
        """One sentence's gutter: a keypress lays out its paragraph again, not the whole document."""
        before = self._block_rows(index)
        self.tags.pop(index, None)
        self.notes.discard(index)
        if tags:
            self.tags[index] = tags
        if note:
            self.notes.add(index)
        if self._block_rows(index) != before:
            self._relayout(*self.sentences[index])
            self.scroll_to_cursor()
        self._changed()

    def set_matches(self, matches: list[tuple[int, int]]) -> None:
        self.matches, self.match_index = matches, None
        self._changed()

    def set_selection(self, selection: tuple[int, int] | None) -> None:
        self.selection = selection
        if selection:
            self._scroll_to_offset(selection[0])
        self._changed()

    @property
    def text_width(self) -> int:
        return max(20, min(MAX_TEXT_WIDTH, self.scrollable_content_region.width - GUTTER - 1))

    @property
    def margin(self) -> int:
        """Cells left of the gutter that centre the column on a wide terminal."""
        return max(0, (self.scrollable_content_region.width - GUTTER - self._wrap_width) // 2 - 2)

    @property
    def line_count(self) -> int:
        return len(self._lines)

    def _block_rows(self, index: int) -> int:
        """Gutter rows of a sentence: one per label, one for a note alone, 0 when it flows with the text."""
        return max(len(self.tags.get(index, ())), index in self.notes)

    def _blocks(self, lo: int = 0, hi: int | None = None) -> list[Block]:
        hi = len(self.sentences) if hi is None else hi
        keys = sorted(i for i in {*self.tags, *self.notes} if lo <= i < hi)
        return [Block(*self.sentences[i], self._block_rows(i), i) for i in keys if self._block_rows(i)]

    def _relayout(self, start: int | None = None, end: int | None = None) -> None:
        """Lay the text out again: all of it, or the paragraphs holding `text[start:end]` (and whole blocks)."""
        if not self._wrap_width:
            return
        text = self.text
        if start is None or end is None or len(self._lines) <= 1:
            self._lines, self._line_sentence = layout(text, self._wrap_width, self._blocks())
            self._line_starts = [s for s, _ in self._lines]
        else:
            while True:  # grow to whole paragraphs, and to whole blocks that cross a paragraph's edge
                start = text.rfind("\n", 0, start) + 1
                nl = text.find("\n", end)
                end = len(text) if nl < 0 else nl
                first, last = self.sentence_at(start), self.sentence_at(max(start, end - 1))
                s0 = self.sentences[first][0] if self._block_rows(first) else start
                e0 = self.sentences[last][1] if self._block_rows(last) else end
                if s0 >= start and e0 <= end:
                    break
                start, end = min(start, s0), max(end, e0)
            lines, owners = layout(text, self._wrap_width, self._blocks(first, last + 1), start, end)
            i0 = bisect_left(self._line_starts, start)
            i1 = bisect_right(self._line_starts, end)
            self._lines[i0:i1] = lines
            self._line_starts[i0:i1] = [s for s, _ in lines]
            self._line_sentence[i0:i1] = owners
        self.virtual_size = Size(self._wrap_width + GUTTER, len(self._lines))
        self._line_cache.clear()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self._follow_viewport()

    def visible_lines(self) -> tuple[int, int]:
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
        self._set_cursor(index, None)

    def _set_cursor(self, index: int, entity: int | None) -> None:
        """A selection lives only on the cursor's sentence: `+` never adds an entity off screen."""
        self.entity_cursor = entity
        self.cursor = index
        start, end = self.sentences[index]
        if self.selection is not None and not (self.selection[0] < max(end, start + 1) and self.selection[1] > start):
            self.selection = None
        self.post_message(self.CursorMoved())

    def _check_width(self, scroll: bool = True) -> None:
        """Wrap again when the text column's width changed (on a resize, or one seen only at render time)."""
        width = self.text_width if self.size.width else MAX_TEXT_WIDTH
        if width != self._wrap_width:
            self._wrap_width = width
            self._relayout()
            if scroll:
                self.scroll_to_cursor()
                self.refresh()

    def on_resize(self) -> None:
        self._check_width()

    def line_of(self, offset: int) -> int:
        return max(0, bisect_right(self._line_starts, offset) - 1)

    def sentence_at(self, offset: int) -> int:
        return max(0, bisect_right(self._sentence_starts, offset) - 1)

    def watch_cursor(self, old: int, new: int) -> None:
        self._changed()

    def move_to_sentence(self, index: int, *, entity: int | None = None) -> None:
        self._set_cursor(max(0, min(index, len(self.sentences) - 1)), entity)
        if entity is not None:
            self._scroll_to_offset(self.marks[entity].start)
        else:
            self.scroll_to_cursor()

    def move_to_offset(self, offset: int) -> None:
        self.move_to_sentence(self.sentence_at(offset))

    def move_entity(self, delta: int) -> bool:
        """Step to the next/previous entity from the cursor; False when there is none that way."""
        if self.entity_cursor is not None:
            target = self.entity_cursor + delta
        else:
            first_after = bisect_left(self._mark_starts, self.sentences[self.cursor][0])
            target = first_after if delta > 0 else first_after - 1
        if not 0 <= target < len(self.marks):
            return False
        self.move_to_mark(target)
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
        """(index, wraps around) of the match `>` (1) or `<` (-1) goes to, from the current match when it is in
        the cursor's sentence, else from the sentence's start."""
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

    def scroll_to_cursor(self) -> None:
        """Bring the cursor sentence on screen, blank label lines included."""
        start, end = self.sentences[self.cursor]
        first, last = self.line_of(start), self.line_of(max(start, end - 1))
        while last + 1 < len(self._lines) and self._line_sentence[last + 1] == self.cursor:
            last += 1
        self.scroll_to_region(Region(0, first, 1, last - first + 1), animate=False, immediate=True)

    def _scroll_to_offset(self, offset: int) -> None:
        line = self.line_of(offset)
        self.scroll_to_region(Region(0, line, 1, 1), animate=False, immediate=True)

    def on_click(self, event: events.Click) -> None:
        line = self.scroll_offset.y + event.y
        if not 0 <= line < len(self._lines):
            return
        start, end = self._lines[line]
        column = self.scroll_offset.x + event.x - self.margin - GUTTER
        offset = min(end, start + max(0, column))  # narrow text: one cell per character
        index = bisect_right(self._mark_starts, offset) - 1
        entity = index if index >= 0 and self.marks[index].start <= offset < self.marks[index].end else None
        self.move_to_sentence(self.sentence_at(offset), entity=entity)

    def _changed(self) -> None:
        self._line_cache.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._line_cache.clear()

    def _style(self, name: str) -> Style:
        """A component's own style; its colours come from the full style, which blends alpha (the partial one
        would paint `$primary 18%` solid)."""
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
        return self._style(f"ent-{self.tints.get(label, entity_colour(label))}")

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
        is_cursor = (start < c_end and end > c_start) or self._line_sentence[line] == self.cursor
        segments = self._gutter(*self._gutter_owner(line), is_cursor, base)
        ranges = self._ranges(start, end, is_cursor, c_start, c_end)
        cuts = sorted({start, end, *(p for r in ranges for p in (r[0], r[1]) if start < p < end)})
        text = self.text
        for a, b in itertools.pairwise(cuts):
            style = base
            for r_start, r_end, r_style in ranges:
                if r_start <= a and b <= r_end:
                    style = style + r_style
            segments.append(Segment(text[a:b].replace("\t", " "), style))
        if self.margin:
            segments.insert(0, Segment(" " * self.margin, base))
        return Strip(segments).simplify()

    def _line_owner(self, line: int) -> int | None:
        """The sentence whose gutter a line outside blocks shows (None on a blank line): the last one starting
        there when it ends there or holds at least as much of the line as the one before it."""
        start, end = self._lines[line]
        if start == end:
            return None
        head, last = self.sentence_at(start), self.sentence_at(end - 1)
        l_start, l_end = self.sentences[last]
        if last != head and (l_end <= end or end - l_start >= min(end, self.sentences[head][1]) - start):
            return last
        return head

    def _gutter_owner(self, line: int) -> tuple[int, int]:
        """(sentence, row) of the gutter on this line: row 0 on the first line a sentence owns, -1 on a blank one."""
        sentence = self._line_sentence[line]
        if sentence >= 0:  # a block's lines are consecutive
            first = line
            while first and self._line_sentence[first - 1] == sentence:
                first -= 1
            return sentence, line - first
        sentence = self._line_owner(line)
        if sentence is None:
            return -1, -1
        first = self.line_of(self.sentences[sentence][0])
        if first < line and self._line_owner(first) != sentence:
            first += 1
        return sentence, line - first

    def _gutter(self, sentence: int, row: int, is_cursor: bool, base: Style) -> list[Segment]:
        """Cursor bar, note marker (first row) and one label per row (a block has a row for each)."""
        gutter_style = base + self._style("gutter")
        bar = Segment("▌ " if is_cursor else "  ", base + self._style("cursor-bar") if is_cursor else gutter_style)
        out = [bar, Segment("✎ " if row == 0 and sentence in self.notes else "  ", base + self._style("note"))]
        cells = GUTTER - 4
        tags = self.tags.get(sentence, ())
        if 0 <= row < len(tags):
            tag = tags[row]
            name = label_text(tag.name, tag.suggested, LABEL_CELLS)
            style = base + self._style(f"label-{tag.colour % LABEL_PALETTE_SIZE}")
            if tag.suggested:
                style = style + Style(bold=False) + self._style("suggested")
            out.append(Segment(name, style))
            cells -= cell_len(name)
        if cells > 0:
            out.append(Segment(" " * cells, gutter_style))
        return out

    def _ranges(self, start: int, end: int, is_cursor: bool, c_start: int, c_end: int) -> list:
        ranges: list[tuple[int, int, Style]] = []

        def add(a: int, b: int, style: Style) -> None:
            if a < end and b > start:
                ranges.append((max(start, a), min(end, b), style))

        if is_cursor:
            add(c_start, c_end, self._style("cursor"))
        for i in range(bisect_left(self._mark_starts, start - self._max_mark_len), bisect_left(self._mark_starts, end)):
            mark = self.marks[i]
            style = self._style("rejected") if mark.status == "rejected" else self.mark_style(mark.label)
            if mark.status in STATUS_STYLES:
                style += self._style(STATUS_STYLES[mark.status])
            if i == self.entity_cursor:
                style += self._style("entity-cursor")
            add(mark.start, mark.end, style)
        current = self.matches[self.match_index] if self.match_index is not None else None
        for match in self.matches[bisect_left(self.matches, (start - 200, 0)):bisect_left(self.matches, (end,))]:
            add(*match, self._style("match-current" if match == current else "match"))
        if self.selection:
            add(*self.selection, self._style("selection"))
        return ranges
