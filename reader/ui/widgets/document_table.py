"""The library's table: a Line-API view over rows it fetches a window at a time, so 100,000 documents cost what a
screenful does (a DataTable holds every row). The header row stays on top; the cursor row is followed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from reader.ui.keymap import BY_ID

Fetch = Callable[[int, int], Sequence[Sequence[str | Text]]]
"""(offset, limit) -> the rows' cells: plain strings, or `Text` where a cell highlights part of itself."""

WINDOW = 200  # rows fetched around the ones on screen

MOVES = (("reader.next-sentence", "cursor_down"), ("reader.prev-sentence", "cursor_up"),
         ("reader.page-down", "page_down"), ("reader.page-up", "page_up"), ("reader.top", "scroll_top"),
         ("reader.bottom", "scroll_bottom"), ("reader.next-match", "cursor_down"), ("reader.prev-match", "cursor_up"))
"""The reader's movement ids on the table, so a keymap that moves the sentence cursor moves the library's too (every
row matches the filter or the search: the next match is the next row)."""


class DocumentTable(ScrollView, can_focus=True):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"document-table--header", "document-table--cursor",
                                             "document-table--odd"}
    DEFAULT_CSS = """
    DocumentTable { height: 1fr; }
    DocumentTable > .document-table--header { background: $panel; color: $foreground; text-style: bold; }
    DocumentTable > .document-table--cursor { background: $accent 50%; color: $foreground; text-style: bold; }
    DocumentTable:blur > .document-table--cursor { background: $accent 25%; }
    DocumentTable > .document-table--odd { background: $surface; }
    """
    BINDINGS: ClassVar[list] = [Binding("enter", "select", show=False)]
    cursor_row: reactive[int] = reactive(0, always_update=True)
    PADDING = 1

    class Selected(Message):
        def __init__(self, row: int) -> None:
            super().__init__()
            self.row = row

    def __init__(self, columns: Sequence[tuple[str, int]], *, fit: int | None = None, id: str | None = None) -> None:
        """`columns`: (name, width), one of width 0 taking what the first `fit` columns leave of the screen (the
        others are scrolled to)."""
        super().__init__(id=id)
        self.columns = list(columns)
        self.widths = [w for _, w in columns]
        self.fit = len(columns) if fit is None else fit
        self.flex = next((n for n, (_, w) in enumerate(columns) if w == 0), None)
        self.row_count = 0
        self._fetch: Fetch = lambda offset, limit: []
        self._rows: dict[int, Sequence[str]] = {}
        self.grow: set[int] = set()  # columns that widen to their widest value instead of cutting it

    # --- the rows ---

    def set_rows(self, count: int, fetch: Fetch, *, cursor: int | None = None) -> None:
        """Show `count` rows read through `fetch`; the cursor stays on its row number unless `cursor` is given."""
        self.row_count, self._fetch, self._rows = count, fetch, {}
        self.cursor_row = max(0, min(self.cursor_row if cursor is None else cursor, count - 1))
        self.row_values(self.cursor_row)  # the window around it: the widths of its figures
        self._layout()
        self._follow()
        self.refresh()

    def get_row_at(self, row: int) -> list[Text]:
        return [value.copy() if isinstance(value, Text) else Text(value) for value in self.row_values(row)]

    def row_values(self, row: int) -> Sequence[str | Text]:
        if row not in self._rows:
            start = max(0, row - WINDOW // 2)
            if len(self._rows) > 4 * WINDOW:
                self._rows.clear()
            widths = list(self.widths)
            for n, values in enumerate(self._fetch(start, WINDOW), start):
                self._rows[n] = values
                for column in self.grow:
                    self.widths[column] = max(self.widths[column], cell_len(str(values[column])))
            if widths != self.widths:
                self.call_later(self._layout)
        return self._rows.get(row, ())

    # --- geometry ---

    def _layout(self) -> None:
        """The flexible column takes the room the other fitting columns leave (at least 20 cells)."""
        pad = 2 * self.PADDING
        if self.flex is not None:
            width = self.size.width or self.app.size.width  # with the scrollbar's room, shown or not
            others = sum(w + pad for n, w in enumerate(self.widths[:self.fit]) if n != self.flex)
            self.widths[self.flex] = max(20, width - others - pad - 2)
        self.virtual_size = Size(sum(w + pad for w in self.widths), self.row_count + 1)
        self.refresh()

    def on_resize(self) -> None:
        self._layout()

    @property
    def page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _follow(self) -> None:
        """Scroll so the cursor row is on screen, below the header (line 0 of the view)."""
        row, top = self.cursor_row, round(self.scroll_offset.y)
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row > top + self.page - 1:
            self.scroll_to(y=row - self.page + 1, animate=False, immediate=True)

    def watch_cursor_row(self) -> None:
        self._follow()
        self.refresh()

    def move_cursor(self, *, row: int) -> None:
        self.cursor_row = max(0, min(row, self.row_count - 1))

    # --- keys (the screen binds the reader's movement ids to these) ---

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self.cursor_row + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self.cursor_row - 1)

    def action_page_down(self) -> None:
        self.move_cursor(row=self.cursor_row + self.page)

    def action_page_up(self) -> None:
        self.move_cursor(row=self.cursor_row - self.page)

    def action_scroll_top(self) -> None:
        self.move_cursor(row=0)

    def action_scroll_bottom(self) -> None:
        self.move_cursor(row=self.row_count - 1)

    def action_select(self) -> None:
        if self.row_count:
            self.post_message(self.Selected(self.cursor_row))

    async def _on_click(self, event) -> None:
        row = event.y + self.scroll_offset.y - 1
        if 0 <= row < self.row_count and event.y > 0:
            if row == self.cursor_row and event.chain > 1:
                self.action_select()
            self.cursor_row = row

    # --- drawing ---

    def _cells(self, values: Sequence[str | Text], style: Style) -> list[Segment]:
        segments = []
        pad = " " * self.PADDING
        for value, width in zip(values, self.widths, strict=False):
            text = value.copy() if isinstance(value, Text) else Text(value)
            text.no_wrap, text.overflow = True, "ellipsis"
            text.truncate(width, overflow="ellipsis", pad=True)
            segments += [Segment(pad, style), *(Segment(s.text, style + s.style if s.style else style)
                                                for s in text.render(self.app.console)), Segment(pad, style)]
        return segments

    def render_line(self, y: int) -> Strip:
        base = self.rich_style
        width = self.scrollable_content_region.width
        x = self.scroll_offset.x
        if y == 0:
            style = base + self.get_component_rich_style("document-table--header")
            segments = self._cells([name for name, _ in self.columns], style)
            return Strip(segments).crop_extend(x, x + width, style)
        row = self.scroll_offset.y + y - 1
        if row >= self.row_count:
            return Strip.blank(width, base)
        style = base
        if row % 2:
            style += self.get_component_rich_style("document-table--odd")
        if row == self.cursor_row:
            style += self.get_component_rich_style("document-table--cursor")
        return Strip(self._cells(self.row_values(row), style)).simplify().crop_extend(x, x + width, style)


class LibraryTable(DocumentTable):
    """The table with the reader's movement keys (the library, its search, its entities)."""

    BINDINGS = [*DocumentTable.BINDINGS,
                *(Binding(BY_ID[id_].keys, action, BY_ID[id_].description, show=False, id=id_)
                  for id_, action in MOVES)]
