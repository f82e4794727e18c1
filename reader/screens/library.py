"""The library: every document in the store, with its progress; Enter opens one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from reader.keymap import bindings

if TYPE_CHECKING:
    from reader.app import ReaderApp


class LibraryScreen(Screen):
    BINDINGS = bindings("library")

    def __init__(self, doc_ids: list[str]) -> None:
        super().__init__()
        self.doc_ids = doc_ids

    @property
    def reader_app(self) -> ReaderApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        count = len(self.doc_ids)
        yield Static(Content(f"Library · {count} document{'' if count == 1 else 's'}"), id="header")
        yield DataTable(id="documents", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("id", width=12)
        table.add_column("title", width=48)
        for name in ("date", "source", "tagged", "notes", "entity decisions"):
            table.add_column(name)
        self.reload()
        table.focus()

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for summary in self.reader_app.summaries(self.doc_ids):
            table.add_row(*(Text(str(v)) for v in summary), key=summary[0])  # Text: literal, and measured
        if row is not None and 0 <= row < table.row_count:
            table.move_cursor(row=row)

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
