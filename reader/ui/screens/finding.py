"""Across the library: every sentence that holds some words, a label, a note or an entity (`SearchScreen`), and
every entity with its mentions (`EntitiesScreen`), both read from the store's index a screenful at a time. Enter
opens the reader on the sentence; `o` there comes back to the same row."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from reader.library import CAP, TypedSearch, parse_search, query_terms
from reader.search import find_all
from reader.ui.keymap import BY_ID, bindings, keys_for
from reader.ui.widgets.document_table import MOVES, LibraryTable
from reader.untrusted import visible

if TYPE_CHECKING:
    from reader.ui.screens import ReaderHost

SEARCH_HINT = 'words, "a phrase", word*, label:NAME, entity:NAME, by:ANNOTATOR, in:notes'
HIT_COLUMNS = (("sentence", 0), ("#", 4), ("title", 20), ("date", 10), ("id", 12))
ENTITY_COLUMNS = (("entity", 0), ("mentions", 8), ("docs", 6), ("labels", 16), ("spellings", 40))
MATCH = "bold underline"


def shown(text: str, terms: list[tuple[str, bool]], lead: int = 16, room: int = 40) -> Text:
    """A sentence or note on one line, the searched words underlined (found in what is shown: offsets hold); a
    first match ending past `room` cells is brought forward to `lead` (`…` before it): an 80-column row shows it."""
    line = visible(" ".join(text.split()), one_line=True)
    spans = sorted(span for term, _ in terms for span in find_all(line, term))
    if spans and spans[0][1] > room:
        cut = line.rfind(" ", 0, spans[0][0] - lead // 2) + 1 or spans[0][0] - lead // 2
        line = "…" + line[cut:]
        spans = [(a - cut + 1, b - cut + 1) for a, b in spans if a >= cut]
    cell = Text(line)
    for start, end in spans:
        cell.stylize(MATCH, start, end)
    return cell


class QueryBox(Input):
    """Enter gives the keys to the rows below; Esc clears the box, then leaves."""

    BINDINGS = [Binding("enter,down", "screen.keep_query", show=False, priority=True),
                Binding("escape", "screen.back", show=False)]


class ResultsScreen(Screen):
    """What the search and the entity list share: a header, a box typed into as you go, rows from the index."""

    SCOPE = "library"  # the library's keys: movement, Enter opens, Esc goes back
    RESULTS = True  # a document opened from here comes back here (`ReaderApp.open_document`)
    BINDINGS = [*bindings("library"),
                Binding(BY_ID["reader.search"].keys, "focus_query", "Search", id="reader.search", priority=True)]
    COLUMNS: tuple[tuple[str, int], ...] = ()
    FIT = 3  # the columns that fit the screen, the first (flexible) one taking what the others leave
    PLACEHOLDER = ""
    TABLE_FIRST = False  # the rows have the keys at first (else the box)
    AUTO_FOCUS = "QueryBox"  # as the screen comes: the keys typed right after the one that opened it are text

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.text = text

    @property
    def reader_app(self) -> ReaderHost:
        return self.app  # type: ignore[return-value]

    @property
    def library(self):
        return self.reader_app.workspace.library()

    def compose(self) -> ComposeResult:
        yield Static(id="header")
        yield QueryBox(self.text, placeholder=self.PLACEHOLDER, id="query")
        yield LibraryTable(self.COLUMNS, fit=self.FIT, id="results")
        yield Footer()

    @property
    def table(self) -> LibraryTable:
        return self.query_one(LibraryTable)

    @property
    def box(self) -> QueryBox:
        return self.query_one(QueryBox)

    def on_mount(self) -> None:
        self.library.refresh()
        self.reload()
        self.set_focus(self.table if self.TABLE_FIRST or (self.text and self.table.row_count) else self.box)

    def on_screen_resume(self) -> None:
        """Back from the reader: its saves may have changed what the rows say (a count and a screenful)."""
        self.library.refresh()
        if self.is_mounted:
            self.reload(keep=True)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.value != self.text:
            self.text = event.value
            self.reload()

    def reload(self, *, keep: bool = False) -> None:
        raise NotImplementedError

    def header(self, text: str) -> None:
        self.query_one("#header", Static).update(Content(text))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A key the box types is text; the library's sort is the library's."""
        return action != "sort" and not self.reader_app.text_field_takes()

    def action_focus_query(self) -> None:
        self.set_focus(self.box)

    def action_search_library(self) -> None:
        if isinstance(self, SearchScreen):
            self.action_focus_query()
        else:
            self.app.push_screen(SearchScreen())

    def action_entities(self) -> None:
        if isinstance(self, EntitiesScreen):
            self.action_focus_query()
        else:
            self.app.push_screen(EntitiesScreen())

    def action_keep_query(self) -> None:
        self.set_focus(self.table)

    def on_document_table_selected(self, event) -> None:
        self.action_open_document()

    def action_open_document(self) -> None:
        raise NotImplementedError

    def action_back(self) -> None:
        """Esc: the typed text goes first (from the box), then back to where the screen was opened from."""
        if self.focused is self.box and self.text:
            self.box.value = ""
        else:
            self.app.pop_screen()

    def help_rows(self) -> list[tuple[str, str, str]]:
        keymap = self.reader_app.keymap
        rows = [(keys_for(keymap, id_, every=True), BY_ID[id_].description, id_) for id_, _ in MOVES]
        return [*rows, (keys_for(keymap, "reader.search", every=True), f"Type in the box: {self.PLACEHOLDER}",
                        "reader.search")]


class SearchScreen(ResultsScreen):
    COLUMNS = HIT_COLUMNS
    PLACEHOLDER = SEARCH_HINT

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self.typed = TypedSearch()
        self.walk = False  # the hits are so many that they are read walking the documents (`Index.search`)
        self._texts: dict[str, str] = {}  # the texts of the documents on screen

    def text_of(self, doc_id: str) -> str:
        if doc_id not in self._texts:
            if len(self._texts) > 400:
                self._texts.clear()
            self._texts[doc_id] = self.reader_app.workspace.document(doc_id).text
        return self._texts[doc_id]

    def reload(self, *, keep: bool = False) -> None:
        """Each key typed costs a count and a screenful of hits, whatever the library's size."""
        table, library = self.table, self.library
        self.typed = typed = parse_search(self.text)
        if typed.empty():
            table.set_rows(0, lambda offset, limit: [], cursor=0)
            self.header("Search the library · every sentence, newest document first")
            return
        search = typed.search(library)
        terms = query_terms(typed.words)
        count, docs = library.search_count(search, CAP)
        walk = count >= CAP

        def rows(offset: int, limit: int) -> list[tuple]:
            out = []
            for hit in library.search(search, offset, limit, walk=walk):
                if hit.note is not None:
                    cell = Text("✎ ") + shown(hit.note, terms)
                else:
                    cell = shown(self.text_of(hit.doc_id)[hit.start:hit.end], terms)
                number = "doc" if hit.note is not None and hit.sentence is None else \
                    "¶" if hit.sentence is None else str(hit.sentence + 1)
                out.append((cell, number, visible(hit.title, one_line=True), hit.date, hit.doc_id))
            return out

        table.set_rows(count, rows, cursor=None if keep else 0)
        self.walk = walk
        what = "note" if typed.notes else "sentence"
        entity = "" if search.keys is None or search.keys else " · no such entity"
        where = "" if walk else f" in {docs:,} document{'' if docs == 1 else 's'}"
        self.header(f"Search · {count:,}{'+' if walk else ''} {what}{'' if count == 1 else 's'}{where}, newest "
                    f"first{entity}")

    def action_open_document(self) -> None:
        table = self.table
        if not table.row_count or self.typed.empty():
            return
        found = self.library.search(self.typed.search(self.library), table.cursor_row, 1, walk=self.walk)
        if found:
            hit = found[0]
            terms = [t for t, _ in query_terms(self.typed.words)]
            self.reader_app.open_document(hit.doc_id, at=hit.start, terms=terms)


class EntitiesScreen(ResultsScreen):
    COLUMNS = ENTITY_COLUMNS
    FIT = 4
    PLACEHOLDER = "the names to keep (any word they begin)"
    TABLE_FIRST = True

    def reload(self, *, keep: bool = False) -> None:
        library, text = self.library, self.text

        def rows(offset: int, limit: int) -> list[tuple]:
            return [(visible(e.surfaces[0][0] if e.surfaces else e.key, one_line=True), f"{e.mentions:,}",
                     f"{e.docs:,}", ", ".join(f"{label} {n}" for label, n in e.labels),
                     " / ".join(visible(s, one_line=True) for s, _ in e.surfaces[1:]))
                    for e in library.entities(text, offset, limit)]

        count = library.entity_count(text)
        self.table.set_rows(count, rows, cursor=None if keep else 0)
        self.header(f"Entities · {count:,}, most mentioned first · Enter: the sentences that mention one")

    def action_open_document(self) -> None:
        """Every sentence mentioning the entity under the cursor (a search, so Enter there opens one)."""
        table = self.table
        if table.row_count:
            name = str(table.row_values(table.cursor_row)[0]).replace('"', " ")
            self.app.push_screen(SearchScreen(f'entity:"{name}"'))
