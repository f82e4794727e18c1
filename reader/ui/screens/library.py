"""The library: the store's documents from its index (`reader.library`), sorted and filtered as you type, with the
active annotator's progress; only the rows on screen are read, so it opens as fast at 100,000 documents as at 100.
Enter opens one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from reader.library import LARGE, Query, Row, parse_filter
from reader.ui.keymap import BY_ID, bindings, keys_for
from reader.ui.widgets.document_table import MOVES, DocumentTable, LibraryTable
from reader.untrusted import visible

if TYPE_CHECKING:
    from reader.ui.screens import ReaderHost


SORTS = (("date", "date, newest first"), ("title", "title"), ("source", "source"),
         ("progress", "progress, least first"), ("done", "not done first"))

COLUMNS = (("title", 0), ("date", 10), ("tagged", 9), ("done", 4), ("notes", 5), ("decisions", 9),
           ("source", 30), ("id", 12))
"""(name, width): what an analyst scans first comes first; title takes the rest, so progress fits 80 columns."""
FIGURES = (2, 4, 5)  # tagged, notes, decisions: a figure is never cut, its column grows to the widest one


class FilterBox(Input):
    """Enter keeps the filter and gives the keys back to the table; Esc clears it."""

    BINDINGS = [Binding("enter", "screen.keep_filter", show=False, priority=True),
                Binding("escape", "screen.clear_filter", show=False)]


def cells(row: Row) -> tuple[str, ...]:
    progress = f"{row.tagged}/{row.sentences if row.sentences is not None else '–'}"
    # a page's site name: "Le Monde" says more than a URL in the source column
    return tuple(visible(str(value), one_line=True) for value in (
        row.title, row.date, progress, "✓" if row.done else "", row.notes, row.decisions, row.site or row.source,
        row.doc_id))


class LibraryScreen(Screen):
    SCOPE = "library"
    BINDINGS = [*bindings("library"),
                Binding(BY_ID["reader.search"].keys, "filter", "Filter", id="reader.search",
                        priority=True)]

    def __init__(self, doc_ids: list[str] | None = None) -> None:
        """`doc_ids`: only these documents (the files a command line named); None: the whole store."""
        super().__init__()
        self.only = tuple(doc_ids) if doc_ids is not None else None
        self.sort = "date"
        self.filter_text = ""
        self.indexing = ""  # "indexing 2,000/100,000" while a large sweep runs
        self._totals: tuple | None = None  # (the unfiltered count, the models' outcomes), read at each full reload

    @property
    def reader_app(self) -> ReaderHost:
        return self.app  # type: ignore[return-value]

    @property
    def library(self):
        return self.reader_app.workspace.library()

    @property
    def query_(self) -> Query:
        base = Query(self.reader_app.progress_annotator, self.sort, ids=self.only)
        return parse_filter(self.filter_text, base)

    def compose(self) -> ComposeResult:
        yield Static(id="header")
        yield FilterBox(id="filter", placeholder="filter: words, label:NAME, by:ANNOTATOR, done, todo, conflicts",
                        classes="hidden")
        yield LibraryTable(COLUMNS, fit=6, id="documents")
        yield Footer()

    @property
    def table(self) -> LibraryTable:
        return self.query_one(LibraryTable)

    def on_mount(self) -> None:
        table = self.table
        table.grow = set(FIGURES)
        library = self.library
        library.refresh()
        check = True  # a hand edit changes no sign: every file's version is checked after the first paint
        if library.outdated():  # files changed outside this program: a few rows now, many off the first paint
            stale = library.stale()
            if len(stale) <= LARGE:
                library.sweep(stale)
            else:
                self.indexing = "indexing…"
                self.run_worker(lambda: self._sweep(stale), thread=True, group="index")
                check = False
        self.reload()
        table.focus()
        if check:  # a moment after the first frame: its stats of every file would compete with the paint
            self.call_after_refresh(self.set_timer, 0.3, lambda: self.run_worker(self._sweep, thread=True,
                                                                                group="index"))

    def _sweep(self, stale: list[str] | None = None) -> None:
        def progress(done: int, total: int) -> None:
            self.indexing = f"indexing {done:,}/{total:,}" if done < total else ""
            self.app.call_from_thread(self.reload)

        if self.library.sweep(stale, progress if stale else None) or stale:
            self.indexing = ""
            self.app.call_from_thread(self.reload)

    def on_screen_resume(self) -> None:
        self.library.refresh()
        self.reload()

    def reload(self, *, follow: bool = True) -> None:
        """Read the rows again, the cursor staying on its document when the query keeps it (`follow`; else at the
        top: each key typed in the filter costs a count and a screenful, whatever the library's size)."""
        if not self.is_mounted:
            return
        table, library, query = self.table, self.library, self.query_
        if follow or self._totals is None:
            self._totals = library.count(parse_filter("", query)), library.outcomes(parse_filter("", query))
        current = table.row_values(table.cursor_row) if table.row_count and follow else ()
        count, done = library.count(query) if self.filter_text.strip() else self._totals[0]
        cursor = library.position(query, current[-1]) if current else 0 if not follow else None
        table.set_rows(count, lambda offset, limit: [cells(r) for r in library.rows(query, offset, limit)],
                       cursor=cursor)
        self.query_one("#header", Static).update(Content(self.header_text(count, done)))
        self.reader_app.workspace.note_damage(library.damaged())
        self.reader_app.announce_damage()

    def header_text(self, count: int, done: int = 0) -> str:
        """The count (of how many, when filtered; `done`: by the annotator), the order, then what analysts did with
        each model's suggestions, so a team sees whether a model helps."""
        shown, total = f"{count:,}", count
        if self.filter_text.strip():
            total = self._totals[0][0]
            shown += f" of {total:,}"
        text = f"Library · {shown} document{'' if total == 1 else 's'}, {done:,} done · " \
               + (f"{self.indexing} · " if self.indexing else "") \
               + f"by {dict(SORTS)[self.sort]} · progress of " \
               + visible(self.reader_app.progress_annotator, one_line=True)
        for model, accepted, dismissed, corrected in self._totals[1]:
            text += f" · {visible(model, one_line=True)}: {accepted} accepted, {dismissed} dismissed, " \
                    f"{corrected} corrected"
        return text

    def cell(self, doc_id: str, column: str) -> str | None:
        """What a document's row shows in a column, None when the filter leaves it out."""
        row = self.library.position(self.query_, doc_id)
        names = [name for name, _ in COLUMNS]
        return None if row is None else self.table.row_values(row)[names.index(column)]

    # --- keys ---

    def help_rows(self) -> list[tuple[str, str, str]]:
        """The reader's keys that work here too (movement, `/` as the filter), listed in help before the library's."""
        keymap = self.reader_app.keymap
        rows = [(keys_for(keymap, id_, every=True), BY_ID[id_].description, id_) for id_, _ in MOVES]
        return [*rows, (keys_for(keymap, "reader.search", every=True),
                        "Filter the library (words, label:, by:, done, todo, conflicts)", "reader.search")]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A key a focused text field types is text (`ReaderApp.text_field_takes`)."""
        return not self.reader_app.text_field_takes()

    def action_sort(self) -> None:
        names = [name for name, _ in SORTS]
        self.sort = names[(names.index(self.sort) + 1) % len(names)]
        self.reload()

    def action_filter(self) -> None:
        box = self.query_one(FilterBox)
        box.remove_class("hidden")
        self.set_focus(box)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter" and event.value != self.filter_text:  # not the clearing Esc did
            self.filter_text = event.value
            self.reload(follow=False)

    def action_keep_filter(self) -> None:
        """Enter, as it arrives: the keys typed next move in the table (`/Kim⏎jj`); the box stays while it
        filters, so what narrows the rows is in sight."""
        box = self.query_one(FilterBox)
        self.set_focus(self.table)
        box.call_later(lambda: box.set_class(not box.value.strip(), "hidden"))  # once it has the keys typed before

    def action_clear_filter(self) -> None:
        box = self.query_one(FilterBox)
        self.filter_text = ""
        box.value = ""
        box.add_class("hidden")
        self.reload()
        self.set_focus(self.table)

    def action_search_library(self) -> None:
        from reader.ui.screens.finding import SearchScreen

        self.app.push_screen(SearchScreen())

    def action_entities(self) -> None:
        from reader.ui.screens.finding import EntitiesScreen

        self.app.push_screen(EntitiesScreen())

    def on_document_table_selected(self, event: DocumentTable.Selected) -> None:
        self.action_open_document()

    def action_open_document(self) -> None:
        table = self.table
        if table.row_count:
            self.reader_app.open_document(table.row_values(table.cursor_row)[-1])

    def action_back(self) -> None:
        """Esc: the filter goes first, then back to the document."""
        if self.filter_text:
            self.action_clear_filter()
        elif len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        elif self.reader_app.last_document is not None:
            self.reader_app.open_document(self.reader_app.last_document)
        else:
            quit_keys = self.reader_app.keymap.get("reader.quit", "q").split(",")[0]
            self.notify(f"This is the library: Enter opens the highlighted document, {quit_keys} quits.",
                        markup=False, timeout=4)
