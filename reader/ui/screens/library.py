"""The library: every document in the store, with its progress; Enter opens one."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from reader.ui.keymap import BY_ID, bindings
from reader.untrusted import visible

if TYPE_CHECKING:
    from reader.ui.screens import ReaderHost


MOVES = (("reader.next-sentence", "cursor_down"), ("reader.prev-sentence", "cursor_up"),
         ("reader.page-down", "page_down"), ("reader.page-up", "page_up"), ("reader.top", "scroll_top"),
         ("reader.bottom", "scroll_bottom"))
"""The reader's movement ids on the table, so a keymap that moves the sentence cursor moves the library's too."""


class DocumentTable(DataTable):
    BINDINGS = [Binding(BY_ID[id_].keys, action, BY_ID[id_].description, show=False, id=id_)
                for id_, action in MOVES]


class LibraryScreen(Screen):
    SCOPE = "library"
    BINDINGS = bindings("library")

    def __init__(self, doc_ids: list[str]) -> None:
        super().__init__()
        self.doc_ids = doc_ids

    @property
    def reader_app(self) -> ReaderHost:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(id="header")
        yield DocumentTable(id="documents", cursor_type="row", zebra_stripes=True)
        yield Footer()

    COLUMNS = (("title", 0), ("date", 10), ("tagged", 9), ("done", 4), ("notes", 5), ("decisions", 9),
               ("source", 30), ("id", 12))
    """(name, width): what an analyst scans first comes first; title takes the rest, so progress fits 80 columns."""
    FIGURES = ("tagged", "notes", "decisions")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name, width in self.COLUMNS:
            table.add_column(name, width=width or self.title_width(), key=name)
        self.reload()
        table.focus()

    def title_width(self) -> int:
        table = self.query_one(DataTable)
        widths = {name: c.width for (name, _), c in zip(self.COLUMNS, table.columns.values(), strict=False)}
        others = sum(widths.get(c, w) + 2 * table.cell_padding for c, w in self.COLUMNS[1:6])
        return max(20, (self.size.width or self.app.size.width) - others - 2 * table.cell_padding - 2)

    def on_resize(self) -> None:
        table = self.query_one(DataTable)
        column = table.columns.get("title")  # type: ignore[call-overload]
        if column is not None and column.width != self.title_width():
            column.width = self.title_width()
            table.refresh()

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        summaries = list(self.reader_app.summaries(self.doc_ids))
        self.query_one("#header", Static).update(Content(self.header_text(sum(s[-1] for s in summaries))))
        # a page's site name: "Le Monde" says more than a URL in the source column
        rows = [(doc_id, [visible(str(value), one_line=True) for value in
                          (title, date, progress, "✓" if done else "", notes, decisions, site or source, doc_id)])
                for doc_id, title, date, source, progress, notes, decisions, site, done in summaries]
        for index, (name, width) in enumerate(self.COLUMNS):
            if name in self.FIGURES:  # a figure is never cut: its column grows to the widest one
                column = table.columns[name]  # type: ignore[index]
                column.width = max([width, *(cell_len(values[index]) for _, values in rows)])
        self.on_resize()
        for key, values in rows:
            table.add_row(*(Text(value, no_wrap=True, overflow="ellipsis") for value in values), key=key)
        if row is not None and 0 <= row < table.row_count:
            table.move_cursor(row=row)
        self.reader_app.announce_damage()

    def header_text(self, done: int = 0) -> str:
        """The count (`done`: by the annotator), then what analysts did with each model's suggestions, so a team
        sees whether a model helps."""
        from reader.stats import suggestion_stats

        count = len(self.doc_ids)
        text = f"Library · {count} document{'' if count == 1 else 's'}, {done} done · progress of " \
               f"{visible(self.reader_app.progress_annotator, one_line=True)}"
        totals: dict[str, Counter[str]] = defaultdict(Counter)
        for m in suggestion_stats(self.reader_app.workspace, self.doc_ids):
            totals[m.model].update(accepted=m.accepted, dismissed=m.dismissed, corrected=m.corrected)
        for model, n in totals.items():
            text += f" · {visible(model, one_line=True)}: {n['accepted']} accepted, {n['dismissed']} dismissed, " \
                    f"{n['corrected']} corrected"
        return text

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.reader_app.open_document(str(event.row_key.value))

    def action_open_document(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
            self.reader_app.open_document(str(key.value))

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        elif self.reader_app.last_document is not None:
            self.reader_app.open_document(self.reader_app.last_document)
        else:
            quit_keys = self.reader_app.keymap.get("reader.quit", "q").split(",")[0]
            self.notify(f"This is the library: Enter opens the highlighted document, {quit_keys} quits.",
                        markup=False, timeout=4)
