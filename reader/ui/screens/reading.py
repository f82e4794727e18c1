"""The reading screen: one document, its entities, search, and (from the annotation layer) tags and notes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len, set_cell_size
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Static
from textual.worker import get_current_worker

from reader import collector
from reader.analysis import Analysis, AnalysisError
from reader.analysis_process import AnalysisCancelled
from reader.annotations import entity_states
from reader.documents import Document
from reader.search import find_all
from reader.store import StoreError
from reader.ui.keymap import bindings, keys_for
from reader.ui.screens.annotating import AnnotationActions
from reader.ui.screens.suggesting import SuggestionActions
from reader.ui.widgets.article_view import ArticleView, Mark, Tag
from reader.ui.widgets.side_panel import EntityList, SidePanel, group_marks
from reader.untrusted import visible

if TYPE_CHECKING:
    from reader.annotations import EntityState
    from reader.session import AnnotationSession
    from reader.ui.screens import ReaderHost


ALL_KINDS = frozenset({"tag", "note", "entity"})
_told: set[str] = set()
"""Entity-model problems already notified: one notification per process, not one per document."""


@dataclass
class AnalysisFailed(Message):
    doc_id: str
    error: str


@dataclass
class AnalysisProgress(Message):
    doc_id: str
    share: float


@dataclass
class AnalysisReady(Message):
    doc_id: str
    analysis: Analysis
    cached: bool
    marks: EntityMarks | None = None  # None: computed on the UI thread


@dataclass(frozen=True)
class EntityMarks:
    """A new analysis's entity states, marks and panel groups, computed in the worker so that keys do not wait."""

    version: int  # the session's: a change since makes them stale
    entities: list
    marks: list
    groups: list


def header_meta(doc: Document, room: int | None = None, lead: tuple[str, ...] = ()) -> Content:
    """The header's text beside the title, in `room` cells (None: all). `lead` and the date are always kept;
    source and author only while they fit, so a long one never pushes the title out."""
    separator = "  ·  "
    date = visible(str(doc.meta.get("date") or ""), one_line=True)
    if date:
        lead = (*lead, date if cell_len(date) <= 12 else set_cell_size(date, 11) + "…")
    texts = [*lead, *(visible(str(doc.meta[key]), one_line=True) for key in ("source", "author") if doc.meta.get(key))]
    kept: list[str] = []
    for index, text in enumerate(texts):
        space = cell_len(text) if room is None else room - cell_len(separator.join([*kept, ""]))  # after a separator
        if cell_len(text) <= space or index < len(lead):
            kept.append(text)
        elif space >= 8:
            kept.append(set_cell_size(text, space - 1) + "…")
        else:
            break
    bold = len(lead) - bool(date)
    return Content.styled(separator, "dim").join(Content.styled(text, "bold" if index < bold else "")
                                                 for index, text in enumerate(kept))


class SearchBox(Input):
    """Enter is a priority binding here: it gives the focus back to the text as it arrives, so `/autorité⏎jj`
    moves twice (the screen's Enter is `reader.add-entity`)."""

    BINDINGS = [Binding("enter", "screen.submit_search", show=False, priority=True),
                Binding("escape", "screen.close_search", show=False)]


class ReadingScreen(AnnotationActions, SuggestionActions, Screen):
    SCOPE = "reading"  # of the keymap
    BINDINGS = bindings(SCOPE)
    ARTICLE_VIEW: type[ArticleView] = ArticleView
    """The article widget; the review screen draws conflicts with a subclass."""

    def __init__(self, doc: Document) -> None:
        super().__init__()
        self.doc = doc
        self.analysis: Analysis | None = None
        self.model_status = "loading entities…"
        self.search_query = ""
        self.entities: list[EntityState] = []
        self.selection: tuple[int, int] | None = None  # token indexes (anchor, head)
        self.saved_status = ""
        self.panel_choice: bool | None = None  # set with `p`; until then the panel follows the terminal's width
        self.store_problem = ""  # why the annotations cannot be read (a damaged file): reading still works
        self.suggestions: list[dict[str, float]] | None = None  # the newest model's label probabilities
        self.suggestion_model: Any = None  # `reader.suggest.ModelInfo`
        self.suggestion_status = ""
        self.uncertain_step: int | None = None  # the sentence `next_uncertain` went to last
        self.prepared: EntityMarks | None = None  # from the analysis worker, for the next `refresh_marks`
        self.hit: int | None = None  # opened from a search: the offset of the hit, until the sentences come
        self.hit_matches: list[tuple[int, int]] = []  # and the searched words in this text

    def at_hit(self, at: int | None, terms: Sequence[str] = ()) -> ReadingScreen:
        """Open on the sentence holding offset `at`, the searched `terms` as the search's matches (`>` goes on)."""
        self.hit = at
        if terms:
            self.search_query = " · ".join(terms)
            self.hit_matches = sorted({m for term in terms for m in find_all(self.doc.text, term)})
        if self.is_mounted:
            self.go_to_hit()
        return self

    def go_to_hit(self) -> None:
        if self.hit_matches:
            self.view.set_matches(self.hit_matches)
        if self.hit is not None:
            self.view.move_to_offset(self.hit)
            self.update_status()

    @property
    def reader_app(self) -> ReaderHost:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Horizontal(id="header"):
            yield Static(Content.styled(visible(self.doc.title, one_line=True), "bold"), id="header-title")
            yield Static(header_meta(self.doc, lead=self.header_lead()), id="header-meta")
        with Horizontal(id="body"):
            yield self.ARTICLE_VIEW(id="article")
            yield SidePanel(id="side")
        yield Static(id="status")
        # Composed hidden: a widget mounted on `/` takes focus only after the keys typed meanwhile reached the text.
        yield SearchBox(placeholder="Search: literal, case-insensitive · Enter finds · Esc closes", id="search",
                        classes="hidden")
        yield Footer()

    @property
    def session(self) -> AnnotationSession:
        return self.reader_app.workspace.session(self.doc)

    def check_annotations(self) -> bool:
        """A damaged annotation file is reported (and kept); the text stays readable."""
        try:
            self.session.records()
        except StoreError as exc:
            if not self.store_problem:
                self.notify(f"{exc}. Annotations of this document are unavailable; the file is kept as it is.",
                            title="Store", severity="error", timeout=30, markup=False)
            self.store_problem = str(exc)
            return False
        self.store_problem = ""
        return True

    @property
    def view(self) -> ArticleView:
        return self.query_one(ArticleView)

    @on(events.ScreenResume)
    def reload_annotations(self) -> None:
        """Show what another process (the writer, while this one is read-only) saved since this one read it."""
        if self.session.refresh():
            self.refresh_marks()
            self.update_status()

    def on_mount(self) -> None:
        self.session.refresh()  # the session outlives its screens: a document reopened reads what changed (a stat)
        self.view.tints = self.reader_app.workspace.entity_labels.tints()
        self.view.load(self.doc.text)
        self.view.focus()
        self.update_status()
        self.call_after_refresh(self.go_to_hit)
        # Start the model a moment after the first frame: its import would compete with the paint for the GIL.
        self.call_after_refresh(self.set_timer, 0.1, self.start_analysis)

    def start_analysis(self) -> None:
        collector.keep()  # the document and its layout are on screen and stay
        self.analyse(self.doc)

    @work(thread=True, exclusive=True, group="analysis")
    def analyse(self, doc: Document) -> None:
        workspace = self.reader_app.workspace
        while True:
            try:
                result, cached = workspace.analysis(doc, lambda p: self.post_message(AnalysisProgress(doc.id, p)))
                break
            except AnalysisCancelled:
                process = workspace.analysis_process
                if get_current_worker().is_cancelled or process is None or process.closed:
                    return  # the document was closed or the app quits: nobody waits for it
                # else another screen of the same document was closed: this one still waits
            except (AnalysisError, StoreError) as exc:
                self.post_message(AnalysisFailed(doc.id, str(exc)))
                return
        self.post_message(AnalysisReady(doc.id, result, cached, self.entity_marks(result)))

    def entity_marks(self, analysis: Analysis) -> EntityMarks | None:
        """None when the annotations are damaged: `refresh_marks` then reads the session itself."""
        if self.reader_app.review is not None:  # the review screen draws its own marks
            return None
        session = self.session
        try:
            session.records()
            version = session.version
            entities = session.entities(analysis.entities)
        except Exception:
            return None
        marks = marks_of(entities)
        return EntityMarks(version, entities, marks, group_marks(self.doc.text, marks))

    def on_unmount(self) -> None:
        """A closed document's analysis is dropped: the next document's does not queue behind it."""
        self.reader_app.workspace.cancel_analysis(self.doc.id)
        collector.release()

    def on_analysis_ready(self, message: AnalysisReady) -> None:
        if message.doc_id != self.doc.id:
            return
        self.analysis = message.analysis
        source = "cached" if message.cached else "analysed"
        self.model_status = f"{message.analysis.model} ({source})"
        if message.analysis.note:
            self.model_status += f" · {message.analysis.note}"
        workspace = self.reader_app.workspace
        if count := len(workspace.patterns().patterns):
            self.model_status += f" · {count} pattern{'s' if count > 1 else ''}"
        for problem, title, status in ((workspace.entity_model_problem, "Entity model", "entity model not used"),
                                       (workspace.patterns_problem, "Entity patterns", "no pattern applied")):
            if problem:  # a damaged entity model or removals file: said once
                self.model_status += f" · {status}"
                if problem not in _told:
                    _told.add(problem)
                    self.notify(problem, title=title, severity="error", markup=False, timeout=15)
        on_hit = self.hit is not None and self.view.cursor == self.view.sentence_at(self.hit)
        self.view.set_sentences(message.analysis.sentences)
        if on_hit:  # the paragraph of the hit until now: its sentence
            self.view.move_to_offset(self.hit)  # type: ignore[arg-type]
        self.hit = None
        self.session.use_sentences(message.analysis.sentences)  # once: the session owns them from now on
        self.prepared = message.marks
        self.refresh_marks()
        self.update_status()
        if self.reader_app.review is None:  # the review screen decides between analysts, not with a model
            self.load_suggestions(self.doc, list(message.analysis.sentences))
        collector.keep()  # the analysis and its marks live as long as the screen

    def on_analysis_progress(self, message: AnalysisProgress) -> None:
        if message.doc_id == self.doc.id and self.analysis is None:
            self.model_status = f"analysing… {message.share:.0%}"
            self.update_status()

    def on_analysis_failed(self, message: AnalysisFailed) -> None:
        self.model_status = f"no entities: {message.error}"
        self.notify(message.error, title="spaCy", severity="error", markup=False, timeout=10)
        self.update_status()

    def refresh_marks(self, kinds: set[str] | frozenset[str] = ALL_KINDS,
                      sentences: set[int] | frozenset[int] | None = None, *, usable: bool | None = None) -> None:
        """Repaint what annotations of these kinds change, in these sentences or everywhere, from the session.
        `usable`: the annotations were just checked."""
        session = self.session
        if usable is None:
            usable = self.check_annotations()
        prepared, self.prepared = self.prepared, None  # once: a later refresh reads the session again
        if "entity" in kinds and prepared is not None and usable and prepared.version == session.version:
            self.show_entities(prepared.entities, prepared.marks, prepared.groups)  # from the worker, still current
        elif "entity" in kinds:
            predicted = self.analysis.entities if self.analysis else ()
            self.show_entities(session.entities(predicted) if usable else entity_states(predicted, ()))
        if self.analysis is None or not usable or not kinds & {"tag", "note", "dismissal"}:
            return
        colours = {lb.name: lb.colour for lb in session.labels.labels}

        def tags(index: int, names) -> list[Tag]:  # an untagged sentence shows what the model suggests
            return [Tag(n, colours.get(n, 8)) for n in names] or self.suggestion_tags(index, colours)

        if sentences is None:
            names = session.sentence_tags()
            shown = {i: t for i in {*names, *range(len(self.suggestions or ()))} if (t := tags(i, names.get(i, ())))}
            self.view.set_overlay(shown, set(session.sentence_notes()))
            return
        for index in sentences:
            self.view.set_sentence_overlay(index, tags(index, session.labels_on(index)), bool(session.notes_on(index)))

    def show_entities(self, entities: list[EntityState], marks: list[Mark] | None = None,
                      groups: list | None = None) -> None:
        self.entities = entities
        self.view.set_marks(marks_of(entities) if marks is None else marks)
        self.query_one(SidePanel).show(self.doc.text, self.view.marks, self.view, self.model_status, groups)

    def update_status(self) -> None:
        """One line that fits the terminal: the most urgent parts (lowest rank) win the space."""
        view = self.view
        parts = [(0, "READ-ONLY" if self.reader_app.workspace.read_only else ""), (1, self.saved_status),
                 (2, f"sentence {view.cursor + 1}/{len(view.sentences)}"), *self.status_parts()]
        if self.store_problem:
            parts.append((1, "ANNOTATIONS UNAVAILABLE (damaged file)"))
        elif self.analysis is not None:  # the annotations are read with it (`check_annotations`), not at first paint
            if self.session.done:
                parts.append((2, "done"))
            tagged, total = self.session.progress()
            parts.append((6, f"tagged {tagged}/{total}"))
        labels = view.tags.get(view.cursor)
        if labels and not labels[0].suggested:
            parts.append((5, "labels: " + ", ".join(t.name for t in labels)))
        elif labels and self.suggestions is not None:
            cats = self.suggestions[view.cursor]
            # what Y and X act on: after the entity under the cursor, before the search match and the counts
            parts.append((4, "suggested: " + ", ".join(f"{t.name} {cats.get(t.name, 0):.2f}" for t in labels)))
        mark = view.current_mark
        if view.selection:
            parts.append((3, f"selection “{self.doc.text[view.selection[0]:view.selection[1]]}” "
                             f"({keys_for(self.app.keymap, 'reader.add-entity')} adds)"))
        elif mark is not None:
            parts.append((3, f"{mark.label} “{self.doc.text[mark.start:mark.end]}” {mark.status}"))
        if view.matches:
            current = "-" if view.match_index is None else view.match_index + 1
            parts.append((4, f"match {current}/{len(view.matches)} “{self.search_query}”"))
        elif self.search_query:
            parts.append((4, f"no match for “{self.search_query}”"))
        if self.analysis is not None:
            parts.append((7, f"{sum(m.status != 'rejected' for m in view.marks)} entities"))
        parts.append((8 if self.analysis is not None else 3, self.model_status))
        parts.append((9 if self.suggestions is not None else 4, self.suggestion_status))
        status = self.query_one("#status", Static)
        width = status.content_region.width or self.size.width - 2
        status.update(Content(fit_status([(rank, visible(t, one_line=True)) for rank, t in parts if t], width)))

    def status_parts(self) -> list[tuple[int, str]]:
        """More (priority, text) parts for the status line, from screens built on this one."""
        return []

    @on(ArticleView.CursorMoved)
    def cursor_moved(self) -> None:
        self.update_status()

    @on(EntityList.Jump)
    def jump_to_mark(self, event: EntityList.Jump) -> None:
        self.view.move_to_mark(event.mark)

    # --- actions -------------------------------------------------------------------------------------

    def action_sentence(self, delta: int) -> None:
        self.view.move_to_sentence(self.view.cursor + delta)

    def action_entity(self, delta: int) -> None:
        if not self.view.move_entity(delta):
            none_that_way = "No more entities after this one." if delta > 0 else "No entity before this one."
            self.notify(none_that_way if self.view.marks else "No entities (yet).")

    def action_page(self, delta: int) -> None:
        self.view.page(delta)

    def action_goto(self, index: int) -> None:
        """Sentence `index`, counted from the end when negative (-1: the last)."""
        self.view.move_to_sentence(index % len(self.view.sentences))

    @property
    def search_box(self) -> Input:
        return self.query_one("#search", Input)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A key a focused text field types is text (`ReaderApp.text_field_takes`)."""
        return not self.reader_app.text_field_takes()

    def action_search(self) -> None:
        """`set_focus`, not `focus()` (which waits for the keys already queued): what is typed next is the query."""
        box = self.search_box
        box.remove_class("hidden")
        box.value = self.search_query
        self.set_focus(box)

    def action_submit_search(self) -> None:
        """Enter, as it arrives: the text takes the focus (the keys typed next are reader keys) and searches once
        the box has taken the keys typed before Enter. `/Poutine⏎jj`: the first match, then two sentences on."""
        box = self.search_box
        typed = asyncio.Event()
        box.call_later(typed.set)

        async def search_when_typed() -> None:
            await typed.wait()
            self.search(box.value)

        self.set_focus(self.view)
        self.view.call_later(search_when_typed)

    def search(self, query: str) -> None:
        self.search_query = query.strip()
        self.action_close_search()
        self.view.set_matches(find_all(self.doc.text, self.search_query))
        if self.search_query and not self.view.goto_match(1):
            self.notify(f"No match for “{self.search_query}”", severity="warning")
        self.update_status()

    def action_close_search(self) -> None:
        self.search_box.add_class("hidden")
        self.set_focus(self.view)

    def action_match(self, delta: int) -> None:
        """`>` / `<`: the next/previous match from the cursor; going past the last (first) one says so."""
        view = self.view
        target = view.match_after(delta)
        if target is None:
            if self.search_query:
                self.notify(f"No match for “{self.search_query}”.", severity="warning", markup=False)
            else:
                self.notify(f"No search yet: press {keys_for(self.app.keymap, 'reader.search')} to search.")
        else:
            view.goto_match(delta)
            if target[1]:
                where = "the last match: back to the first" if delta > 0 else "the first match: on to the last"
                self.notify(f"Past {where} ({target[0] + 1}/{len(view.matches)}).", timeout=3)
        self.update_status()

    NARROW = 100  # below this many columns the side panel starts hidden: the text keeps a readable measure

    def header_lead(self) -> tuple[str, ...]:
        """Always shown after the title (the review screen says whom it writes)."""
        return ()

    def fit_header(self) -> None:
        """Give the title the header's width first; the date, source and author take what it leaves."""
        width = self.query_one("#header").content_region.width or self.size.width - 2
        meta_widget = self.query_one("#header-meta", Static)
        room = width - cell_len(visible(self.doc.title, one_line=True)) - meta_widget.styles.padding.left
        meta = header_meta(self.doc, room, self.header_lead())
        meta_widget.update(meta)
        meta_widget.display = bool(meta.plain)

    def on_resize(self) -> None:
        self.fit_header()
        if self.panel_choice is None:
            self.query_one(SidePanel).display = self.size.width >= self.NARROW
        self.query_one(Footer).compact = self.size.width < self.NARROW  # every footer key fits in 80 columns
        self.update_status()

    def action_toggle_panel(self) -> None:
        panel = self.query_one(SidePanel)
        panel.display = self.panel_choice = not panel.display
        self.view.focus()

    def action_focus_panel(self) -> None:
        panel = self.query_one(SidePanel)
        entity_list = panel.entity_list
        if self.focused is entity_list:
            self.view.focus()
        else:
            self.query_one(SidePanel).display = True
            entity_list.focus()
            entity_list.highlight_mark(self.view.entity_cursor)

    def action_library(self) -> None:
        self.reader_app.action_library()


def marks_of(entities: list[EntityState]) -> list[Mark]:
    return [Mark(e.start, e.end, e.label, e.status) for e in entities]


def fit_status(parts: list[tuple[int, str]], width: int, separator: str = " · ") -> str:
    """Join (priority, text) parts in order, keeping the most urgent (lowest number) that fit in `width` cells;
    one that fits in part is cut with an ellipsis."""
    kept: dict[int, str] = {}
    for index, (_, text) in sorted(enumerate(parts), key=lambda part: part[1][0]):
        room = width - cell_len(separator.join([*kept.values(), ""]))  # what is left after one more separator
        if cell_len(text) <= room:
            kept[index] = text
        elif room >= 12 or not kept:
            kept[index] = set_cell_size(text, max(1, room) - 1) + "…"
    return separator.join(kept[i] for i in sorted(kept))

