"""The reading screen: one document, its entities, search, and (from the annotation layer) tags and notes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from reader import collector, uncertain
from reader.analysis import Analysis, AnalysisError
from reader.documents import Document
from reader.search import find_all
from reader.ui.keymap import bindings, keys_for
from reader.ui.widgets.article_view import ArticleView, Mark, Tag
from reader.ui.widgets.side_panel import EntityList, SidePanel
from reader.untrusted import visible

if TYPE_CHECKING:
    from reader.annotations import AnnotationSession, Change, EntityState
    from reader.labels import Label
    from reader.ui.screens import ReaderHost


class AnalysisReady(Message):
    def __init__(self, doc_id: str, analysis: Analysis, cached: bool, marks: EntityMarks | None = None) -> None:
        super().__init__()
        self.doc_id = doc_id
        self.analysis = analysis
        self.cached = cached
        self.marks = marks
        """The entity marks, computed in the worker (None: compute them here)."""


@dataclass(frozen=True)
class EntityMarks:
    """What the entities of a new analysis put on screen, computed off the UI thread (`ReadingScreen.analyse`):
    on 20,000 sentences (19,000 entities) the entity states, their marks and the side panel's groups took
    0.3-0.5 s in `on_analysis_ready`, and every key pressed meanwhile waited for it."""

    version: int
    """`AnnotationSession.version` they were computed from: a change since makes them stale."""
    entities: list
    marks: list
    groups: list


class AnalysisProgress(Message):
    def __init__(self, doc_id: str, share: float) -> None:
        super().__init__()
        self.doc_id = doc_id
        self.share = share


class SuggestionsReady(Message):
    def __init__(self, doc_id: str, model: object, cats: list[dict[str, float]]) -> None:
        super().__init__()
        self.doc_id = doc_id
        self.model = model
        self.cats = cats


class SuggestionsFailed(Message):
    def __init__(self, doc_id: str, error: str) -> None:
        super().__init__()
        self.doc_id = doc_id
        self.error = error


_jump_on_open: set[str] = set()
"""Documents `next_uncertain` opened: the cursor goes to their most uncertain sentence once suggestions arrive."""


class AnalysisFailed(Message):
    def __init__(self, doc_id: str, error: str) -> None:
        super().__init__()
        self.doc_id = doc_id
        self.error = error


def header_meta(doc: Document, room: int | None = None, lead: tuple[str, ...] = ()) -> Content:
    """What the header shows beside the title, in `room` cells (None: all of it). The title wins: only `lead`
    (the review screen's `review → gold`) and a date (a few cells that say which day's news this is) are always
    kept; source and author follow while they fit, the last one cut with … when a few cells are left, so a long
    file name or author never pushes the title out."""
    from rich.cells import cell_len, set_cell_size

    separator = "  ·  "
    date = visible(str(doc.meta.get("date") or ""), one_line=True)
    if date and cell_len(date) <= 12:
        lead = (*lead, date)
    elif date:
        lead = (*lead, set_cell_size(date, 11) + "…")
    texts = [*lead, *(visible(str(doc.meta[key]), one_line=True) for key in ("source", "author") if doc.meta.get(key))]
    kept: list[str] = []
    used = 0
    for index, text in enumerate(texts):
        space = (room - used - (cell_len(separator) if kept else 0)) if room is not None else cell_len(text)
        if cell_len(text) <= space or index < len(lead):
            kept.append(text)
        elif space >= 8:
            kept.append(set_cell_size(text, space - 1) + "…")
        else:
            break
        used += cell_len(kept[-1]) + (cell_len(separator) if len(kept) > 1 else 0)
    parts: list = []
    for index, text in enumerate(kept):
        parts += [(separator if parts else "", "dim"), (text, "bold") if index < len(lead) - bool(date) else text]
    return Content.assemble(*parts)


class SearchBox(Input):
    """The search field. Its Enter is a priority binding: it runs as the key arrives and gives the focus back
    to the text, so the keys typed after it are reader keys (`/autorité⏎jj` moves twice), not more query. (On
    the screen the binding would be lost: the keymap gives Enter to `reader.add-entity`.)"""

    BINDINGS = [Binding("enter", "screen.submit_search", show=False, priority=True)]


class ReadingScreen(Screen):
    BINDINGS = bindings("reading")
    ARTICLE_VIEW: type[ArticleView] = ArticleView
    """The article widget; the review screen draws conflicts with a subclass."""

    def __init__(self, doc: Document) -> None:
        super().__init__()
        self.doc = doc
        self.analysis: Analysis | None = None
        self.model_status = "loading entities…"
        self.search_query = ""
        self.entities: list[EntityState] = []
        self.selection: tuple[int, int] | None = None
        """Token indexes (anchor, head) of the selection being extended."""
        self.saved_status = ""
        self.panel_choice: bool | None = None
        """The side panel as the analyst set it with `p`; until then it follows the terminal's width."""
        self.store_problem = ""
        """Why this document's annotations cannot be read (a damaged file): reading still works."""
        self.suggestions: list[dict[str, float]] | None = None
        """The newest trained model's label probabilities per sentence (`reader.suggest`), once they arrive."""
        self.suggestion_model: Any = None
        """That model (`reader.suggest.ModelInfo`)."""
        self.suggestion_status = ""
        self.uncertain_step: int | None = None
        """The sentence `next_uncertain` went to last."""

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
        # Composed hidden, not mounted on first use: a widget being mounted takes focus only after the keys
        # already typed have gone to the text (`/` then `autorité` fast tagged and accepted instead).
        yield SearchBox(placeholder="Search: literal, case-insensitive · Enter finds · Esc closes", id="search",
                        classes="hidden")
        yield Footer()

    @property
    def session(self) -> AnnotationSession:
        return self.reader_app.workspace.session(self.doc)

    def check_annotations(self) -> bool:
        """Load the analyst's annotations; a damaged file is reported (and kept), the text stays readable."""
        from reader.store import StoreError

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

    def reload_annotations(self) -> None:
        """Show what another process saved in the annotator's file since this reader read it (the writer, while
        this one is read-only): on reopening a document, and every few seconds (`ReaderApp.check_writer`)."""
        if self.session.refresh():
            self.refresh_marks()
            self.update_status()

    def on_screen_resume(self) -> None:
        self.reload_annotations()

    def on_mount(self) -> None:
        self.session.refresh()  # the session outlives its screens: a document reopened reads what changed (a stat)
        self.view.load(self.doc.text)
        self.view.focus()
        self.update_status()
        # Start the model a moment after the first frame: its import would compete with the paint for the GIL.
        self.call_after_refresh(self.set_timer, 0.1, self.start_analysis)

    def start_analysis(self) -> None:
        collector.keep()  # the document and its layout are on screen and stay
        self.analyse(self.doc)

    @work(thread=True, exclusive=True, group="analysis")
    def analyse(self, doc: Document) -> None:
        """Cached analysis or the model, off the UI thread: the text is already on screen."""
        from textual.worker import get_current_worker

        from reader.analysis_process import AnalysisCancelled
        from reader.store import StoreError

        def progress(share: float) -> None:
            self.post_message(AnalysisProgress(doc.id, share))

        workspace = self.reader_app.workspace
        while True:
            try:
                result, cached = workspace.analysis(doc, progress)
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
        """The entity marks of an analysis, in the worker; None when the annotations cannot be read here (a
        damaged file: `refresh_marks` reports it) or changed while they were computed (then it recomputes)."""
        from reader.ui.widgets.side_panel import group_marks

        if self.reader_app.review is not None:  # the review screen draws its own marks
            return None
        session = self.session
        try:
            session.records()
            version = session.version
            entities = session.entities(analysis.entities)
        except Exception:  # a damaged file, or the records changed under us: the UI thread does it again
            return None
        if session.version != version:
            return None
        marks = [Mark(e.start, e.end, e.label, e.status) for e in entities]
        return EntityMarks(version, entities, marks, group_marks(self.doc.text, marks))

    def on_unmount(self) -> None:
        """A closed document's analysis is dropped, so the next document's does not queue behind it."""
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
        self.view.set_sentences(message.analysis.sentences)
        self.session.use_sentences(message.analysis.sentences)  # once: the session owns them from now on
        self._prepared = message.marks
        try:
            self.refresh_marks()
        finally:
            self._prepared = None
        self.update_status()
        if self.reader_app.review is None:  # the review screen decides between analysts, not with a model
            self.load_suggestions(self.doc, list(message.analysis.sentences))
        collector.keep()  # the analysis and its marks live as long as the screen

    # --- suggestions (reader.suggest) ---------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="suggestions")
    def load_suggestions(self, doc: Document, sentences: list[tuple[int, int]]) -> None:
        """The newest trained model's suggestions, from the analysis child (after the first paint: the model
        loads there, never in this process); a damaged model is one line, and reading goes on without it."""
        from reader.analysis_process import AnalysisCancelled
        from reader.suggest import ModelError

        workspace = self.reader_app.workspace
        found, damaged = workspace.models()
        if not found:
            if damaged:
                self.post_message(SuggestionsFailed(doc.id, damaged[0]))
            return
        model = found[0]
        try:
            cats = uncertain.suggestions(workspace, model, doc, sentences)
        except AnalysisCancelled:
            return
        except (AnalysisError, ModelError) as exc:
            self.post_message(SuggestionsFailed(doc.id, str(exc)))
            return
        self.post_message(SuggestionsReady(doc.id, model, cats))

    def on_suggestions_ready(self, message: SuggestionsReady) -> None:
        if message.doc_id != self.doc.id or self.analysis is None:
            return
        self.suggestions, self.suggestion_model = message.cats, message.model
        self.suggestion_status = f"suggestions: {getattr(message.model, 'name', '')}"
        self.refresh_marks({"tag"})
        if self.doc.id in _jump_on_open:
            _jump_on_open.discard(self.doc.id)
            ranking = self.uncertain_ranking()
            if ranking:
                self.uncertain_step = ranking[0]
                self.view.move_to_sentence(ranking[0])
        self.update_status()

    def on_suggestions_failed(self, message: SuggestionsFailed) -> None:
        if message.doc_id != self.doc.id:
            return
        self.suggestion_status = "no suggestions: " + " ".join(message.error.split())
        self.notify(message.error, title="Suggestions", severity="error", markup=False, timeout=10)
        self.update_status()

    def suggested(self, index: int) -> list[str]:
        """The labels suggested for an untagged sentence (p ≥ the threshold, not dismissed), most likely first."""
        from reader.suggest import shown

        if self.suggestions is None or not 0 <= index < len(self.suggestions) or self.store_problem:
            return []
        work = self.session.work
        if index in work.tags:
            return []
        dismissed = work.dismissed(index)
        return [n for n in shown(self.suggestions[index]) if n not in dismissed]

    def uncertain_ranking(self) -> list[int]:
        """Sentences nobody has decided on (no tag, no dismissal), the least certain first."""
        if self.suggestions is None or self.store_problem:
            return []
        return uncertain.ranking(self.suggestions, self.session.work)

    def suggestion_tags(self, index: int, colours: dict[str, int]) -> list[Tag]:
        return [Tag(n, colours.get(n, 8), suggested=True) for n in self.suggested(index)]

    def action_accept_suggestion(self) -> None:
        if not self.needs_sentences() or not self.needs_suggestions():
            return
        labels = self.suggested(self.view.cursor)
        if not labels:
            self.notify("No suggestion on this sentence.", timeout=3)
            return
        self.perform(self.session.accept_suggestion, self.view.cursor, labels, self.suggestion_model.name)

    def action_dismiss_suggestion(self) -> None:
        if not self.needs_sentences() or not self.needs_suggestions():
            return
        labels = self.suggested(self.view.cursor)
        if not labels:
            self.notify("No suggestion on this sentence.", timeout=3)
            return
        self.perform(self.session.dismiss_suggestion, self.view.cursor, labels, self.suggestion_model.name)

    def needs_suggestions(self) -> bool:
        if self.reader_app.review is not None:
            self.notify("No suggestions while reviewing.", timeout=3)
            return False
        if self.suggestions is None:
            self.notify(self.suggestion_status or "No suggestions: train a model with `reader train` (or wait for "
                        "it to load).", severity="warning", markup=False, timeout=5)
            return False
        return True

    def action_next_uncertain(self) -> None:
        """The next sentence in order of uncertainty (probabilities nearest 0.5 first); past the last one, the
        document of the library whose open sentences are the least certain."""
        if not self.needs_sentences() or not self.needs_suggestions():
            return
        ranking = self.uncertain_ranking()
        cursor = self.view.cursor
        # Walking down the ranking from the sentence this key went to last; from anywhere else (or once that
        # sentence is decided), the least certain sentence left.
        position = ranking.index(cursor) + 1 if cursor == self.uncertain_step and cursor in ranking else 0
        if position < len(ranking):
            self.uncertain_step = ranking[position]
            self.view.move_to_sentence(ranking[position])
            return
        self.notify("No undecided sentence left here: looking for the next document…", timeout=3)
        self.next_uncertain_document(self.suggestion_model)

    @work(thread=True, exclusive=True, group="library-suggestions")
    def next_uncertain_document(self, model: Any) -> None:
        from reader.analysis_process import AnalysisCancelled
        from reader.suggest import ModelError

        try:
            doc_id = uncertain.least_certain_document(self.reader_app.workspace, model, self.doc.id)
        except AnalysisCancelled:
            return
        except (AnalysisError, ModelError) as exc:
            self.post_message(SuggestionsFailed(self.doc.id, str(exc)))
            return
        if doc_id is None:
            self.app.call_from_thread(self.notify, "No undecided sentence left in the library.", timeout=4)
        else:
            self.app.call_from_thread(self.open_uncertain, doc_id)

    def open_uncertain(self, doc_id: str) -> None:
        _jump_on_open.add(doc_id)
        self.reader_app.last_document = doc_id
        screen = self.reader_app.document_screen(doc_id)
        if len(self.app.screen_stack) > 1:  # replace this document: jumping on never piles screens up
            self.app.switch_screen(screen)
        else:  # the first screen cannot be switched away: the next document goes on top of it
            self.app.push_screen(screen)

    def on_analysis_progress(self, message: AnalysisProgress) -> None:
        if message.doc_id == self.doc.id and self.analysis is None:
            self.model_status = f"analysing… {message.share:.0%}"
            self.update_status()

    def on_analysis_failed(self, message: AnalysisFailed) -> None:
        self.model_status = f"no entities: {message.error}"
        self.notify(message.error, title="spaCy", severity="error", markup=False, timeout=10)
        self.update_status()

    def refresh_marks(self, kinds: set[str] | frozenset[str] = frozenset({"tag", "note", "entity"}),
                      sentences: set[int] | frozenset[int] | None = None, *, usable: bool | None = None) -> None:
        """Repaint what annotations of these kinds change, in these sentences or everywhere (the session is
        the source of truth; nothing here keeps its own copy). `usable`: the annotations were just checked."""
        from reader.annotations import entity_states

        session = self.session
        if usable is None:
            usable = self.check_annotations()
        prepared: EntityMarks | None = getattr(self, "_prepared", None)
        if "entity" in kinds and prepared is not None and usable and prepared.version == session.version:
            self.entities = prepared.entities  # computed in the worker (`entity_marks`), still current
            self.view.set_marks(prepared.marks)
            self.query_one(SidePanel).show(self.doc.text, self.view.marks, self.view, self.model_status,
                                           prepared.groups)
        elif "entity" in kinds:
            predicted = self.analysis.entities if self.analysis else ()
            self.entities = session.entities(predicted) if usable else entity_states(predicted, ())
            self.view.set_marks([Mark(e.start, e.end, e.label, e.status) for e in self.entities])
            self.query_one(SidePanel).show(self.doc.text, self.view.marks, self.view, self.model_status)
        if self.analysis is None or not usable or not kinds & {"tag", "note", "dismissal"}:
            return
        colours = {lb.name: lb.colour for lb in session.labels.labels}
        view = self.view
        if sentences is None:
            tags = {i: [Tag(n, colours.get(n, 8)) for n in names] for i, names in session.sentence_tags().items()}
            if self.suggestions is not None:  # untagged sentences show what the model suggests, styled apart
                for index in range(len(self.suggestions)):
                    if index not in tags and (suggested := self.suggestion_tags(index, colours)):
                        tags[index] = suggested
            view.set_overlay(tags, set(session.sentence_notes()))
            return
        for index in sentences:
            tags = [Tag(n, colours.get(n, 8)) for n in session.labels_on(index)] or \
                self.suggestion_tags(index, colours)
            view.set_sentence_overlay(index, tags, bool(session.notes_on(index)))

    def update_status(self) -> None:
        """One line that fits the terminal: the most urgent parts win the space (read-only, the last change,
        where the cursor is), the rest is dropped or cut with an ellipsis."""
        view = self.view
        parts: list[tuple[int, str]] = []
        if self.reader_app.workspace.read_only:
            parts.append((0, "READ-ONLY"))
        if self.saved_status:
            parts.append((1, self.saved_status))
        parts.append((2, f"sentence {view.cursor + 1}/{len(view.sentences)}"))
        parts += self.status_parts()
        if self.store_problem:
            parts.append((1, "ANNOTATIONS UNAVAILABLE (damaged file)"))
        elif self.analysis is not None:
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
        if self.suggestion_status:
            parts.append((9 if self.suggestions is not None else 4, self.suggestion_status))
        status = self.query_one("#status", Static)
        width = status.content_region.width or self.size.width - 2
        status.update(Content(fit_status([(rank, visible(text, one_line=True)) for rank, text in parts], width)))

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

    def action_next_sentence(self) -> None:
        self.view.move_sentence(1)

    def action_prev_sentence(self) -> None:
        self.view.move_sentence(-1)

    def action_next_entity(self) -> None:
        if not self.view.move_entity(1):
            self.notify("No more entities after this one." if self.view.marks else "No entities (yet).")

    def action_prev_entity(self) -> None:
        if not self.view.move_entity(-1):
            self.notify("No entity before this one." if self.view.marks else "No entities (yet).")

    def action_page_down(self) -> None:
        self.view.page(1)

    def action_page_up(self) -> None:
        self.view.page(-1)

    def action_top(self) -> None:
        self.view.move_to_sentence(0)

    def action_bottom(self) -> None:
        self.view.move_to_sentence(len(self.view.sentences) - 1)

    @property
    def search_box(self) -> Input:
        return self.query_one("#search", Input)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A key a focused text field types is text (see `ReaderApp.text_field_takes`); Enter submits only in
        the search box."""
        if self.reader_app.text_field_takes():
            return False
        if action == "submit_search":
            return self.focused is self.search_box
        return True

    def action_search(self) -> None:
        """Open the search box; the focus moves now (`set_focus`, not `focus()`, which waits for the keys
        already queued), so what is typed next is the query."""
        box = self.search_box
        box.remove_class("hidden")
        box.value = self.search_query
        self.set_focus(box)

    def action_submit_search(self) -> None:
        """Enter, as it arrives: the text takes the focus now, so the keys typed next queue there; the search
        runs first in the text's queue, once the box has taken the keys typed before Enter (a burst: a paste,
        a fast typist, tmux). `/Poutine⏎jj`: the first match, then two sentences on."""
        import asyncio

        box = self.search_box
        typed = asyncio.Event()
        box.call_later(typed.set)

        async def search_when_typed() -> None:
            await typed.wait()
            self.search(box.value)

        self.set_focus(self.view)
        self.view.call_later(search_when_typed)

    @on(Input.Submitted, "#search")
    def run_search(self, event: Input.Submitted) -> None:
        self.search(event.value)

    def search(self, query: str) -> None:
        self.search_query = query.strip()
        self.close_search()
        self.view.set_matches(find_all(self.doc.text, self.search_query))
        if self.search_query and not self.view.goto_match(1):
            self.notify(f"No match for “{self.search_query}”", severity="warning")
        self.update_status()

    def close_search(self) -> None:
        self.search_box.add_class("hidden")
        self.set_focus(self.view)

    def on_key(self, event) -> None:
        if event.key == "escape" and isinstance(self.focused, Input) and self.focused.id == "search":
            event.stop()
            self.close_search()

    def action_next_match(self) -> None:
        self.step_match(1)

    def action_prev_match(self) -> None:
        self.step_match(-1)

    def step_match(self, delta: int) -> None:
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

    NARROW = 100
    """Below this many columns the side panel starts hidden, so the text keeps a readable measure."""

    def header_lead(self) -> tuple[str, ...]:
        """What the header always shows after the title (the review screen says whom it writes)."""
        return ()

    def fit_header(self) -> None:
        """Give the title the header's width first; the date, source and author take what it leaves."""
        from rich.cells import cell_len

        header = self.query_one("#header")
        width = header.content_region.width or self.size.width - 2
        meta_widget = self.query_one("#header-meta", Static)
        gap = meta_widget.styles.padding.left
        meta = header_meta(self.doc, width - cell_len(visible(self.doc.title, one_line=True)) - gap,
                           self.header_lead())
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
        entity_list = self.query_one(EntityList)
        if self.focused is entity_list:
            self.view.focus()
        else:
            panel.display = True
            entity_list.focus()
            entity_list.highlight_mark(self.view.entity_cursor)

    def action_library(self) -> None:
        self.reader_app.action_library()

    # --- annotation actions ----------------------------------------------------------------------------

    def perform(self, operation, *args, done: str = "saved") -> Change | None:
        """Run one annotation operation; the screen says "saved" only after the store wrote it to disk, and
        a failed write says so until a later one succeeds."""
        from reader.annotations import AnnotationError
        from reader.store import StoreError

        if self.reader_app.workspace.read_only:
            self.reader_app.check_writer()  # the other reader may have quit: then this write goes through
        if not self.check_annotations():
            self.notify(self.store_problem, severity="error", markup=False)
            return None
        try:
            change = operation(*args)
        except StoreError as exc:
            self.saved_status = "✗ not saved: " + " ".join(str(exc).split())
            self.notify(str(exc), title="Not saved", severity="error", markup=False, timeout=8)
            self.update_status()
            return None
        except AnnotationError as exc:
            self.notify(str(exc), severity="error", markup=False, timeout=8)
            return None
        if change is not None:
            self.saved_status = f"✓ {done}: {change.description}"
            self.refresh_marks(change.kinds, change.sentences, usable=True)  # checked above: once a keypress
        self.update_status()
        return change

    def needs_sentences(self) -> bool:
        if self.analysis is None:
            self.notify("Sentences are still being analysed; try again in a moment.", severity="warning")
            return False
        return True

    def action_tag(self, key: int) -> None:
        label = self.session.labels.by_key(key)
        if label is None:
            self.notify(f"No label on key {key} (see {keys_for(self.app.keymap, 'reader.help')} for the labels, "
                        f"{keys_for(self.app.keymap, 'reader.pick-label')} for the label picker).", severity="warning")
            return
        self.toggle_label(label)

    def toggle_label(self, label: Label) -> None:
        """Put the label on the sentence under the cursor, or take it off (a key or the label picker)."""
        if self.needs_sentences():
            self.perform(self.session.toggle_tag, self.view.cursor, label.name)

    def action_pick_label(self) -> None:
        """Every sentence label, the ones without a key (past the ninth) included; ✓ marks the sentence's."""
        if not self.needs_sentences():
            return
        from reader.ui.screens.dialogs import LabelPicker

        labels = self.session.labels
        index = self.view.cursor
        on = self.session.labels_on(index) if not self.store_problem else []

        def done(name: str | None) -> None:
            label = labels.get(name) if name else None
            if label is not None and self.view.cursor == index:
                self.toggle_label(label)

        keys = {lb.name: lb.key for lb in labels.labels if lb.key is not None}
        self.app.push_screen(LabelPicker(f"Label sentence {index + 1} (toggles)", labels.names, keys=keys,
                                         marked=on), done)

    def current_entity(self) -> EntityState | None:
        index = self.view.entity_cursor
        if index is None or index >= len(self.entities):
            self.notify(f"Move to an entity first ({keys_for(self.app.keymap, 'reader.next-entity')} / "
                        f"{keys_for(self.app.keymap, 'reader.prev-entity')}, or the side panel).", severity="warning")
            return None
        return self.entities[index]

    def action_accept_entity(self) -> None:
        entity = self.current_entity()
        if entity is not None:
            self.perform(self.session.decide, entity, "accepted")

    def action_reject_entity(self) -> None:
        entity = self.current_entity()
        if entity is not None:
            self.perform(self.session.decide, entity, "rejected")

    def entity_labels(self) -> list[str]:
        from reader.annotations import entity_label_choices

        return entity_label_choices(e.label for e in self.entities)

    def action_relabel_entity(self) -> None:
        entity = self.current_entity()
        if entity is None:
            return

        from reader.ui.screens.dialogs import LabelPicker

        def done(label: str | None) -> None:
            if label == entity.label:  # the same label again keeps it (a decision twice would take it back)
                self.notify(f"“{self.doc.text[entity.start:entity.end]}” stays {label}: nothing changed.",
                            timeout=4, markup=False)
            elif label:
                self.perform(self.session.decide, entity, "relabelled", label)

        surface = self.doc.text[entity.start:entity.end]
        self.app.push_screen(LabelPicker(f"Label for “{surface}”", self.entity_labels(), entity.label), done)

    def tokens(self) -> Sequence[tuple[int, int]]:
        return self.analysis.tokens if self.analysis else ()

    def action_extend(self, delta: int) -> None:
        if not self.needs_sentences():
            return
        tokens = self.tokens()
        if not tokens:
            return
        if self.selection is None or self.view.selection is None:  # none yet, or the cursor moved away from it
            anchor_offset = self.selection_anchor()
            from bisect import bisect_left

            anchor = min(bisect_left(tokens, (anchor_offset,)), len(tokens) - 1)
            self.selection = (anchor, anchor)
            self.view.clear_entity_cursor()  # from now on keys act on the selection, and the status says so
        else:
            anchor, head = self.selection
            head = max(0, min(len(tokens) - 1, head + delta))
            self.selection = (anchor, head)
        first, last = sorted(self.selection)
        self.view.set_selection((tokens[first][0], tokens[last][1]))
        self.update_status()

    def selection_anchor(self) -> int:
        """Where a new selection starts: the current search match, else the entity, else the sentence."""
        view = self.view
        s_start, s_end = view.sentences[view.cursor]
        if view.match_index is not None:
            m_start = view.matches[view.match_index][0]
            if s_start <= m_start < s_end:
                return m_start
        if view.current_mark is not None:
            return view.current_mark.start
        return s_start

    def action_clear_selection(self) -> None:
        """Esc: drop the selection and the entity cursor, so the next note or decision is on the sentence."""
        self.selection = None
        self.view.set_selection(None)
        self.view.clear_entity_cursor()
        self.update_status()

    def action_add_entity(self) -> None:
        selected = self.view.selection
        if not selected:
            self.notify(f"Select tokens first: {keys_for(self.app.keymap, 'reader.extend-right')} / "
                        f"{keys_for(self.app.keymap, 'reader.extend-left')}.", severity="warning")
            return

        from reader.ui.screens.dialogs import LabelPicker

        def done(label: str | None) -> None:
            if label and self.perform(self.session.add_entity, selected[0], selected[1], label):
                self.action_clear_selection()

        surface = self.doc.text[selected[0]:selected[1]]
        self.app.push_screen(LabelPicker(f"Add “{surface}” as", self.entity_labels()), done)

    def action_note(self) -> None:
        if not self.needs_sentences():
            return
        mark = self.view.current_mark
        if mark is not None:
            target, start, end = "entity", mark.start, mark.end
        else:
            target, (start, end) = "sentence", self.view.sentences[self.view.cursor]
        self.edit_note(target, start, end)

    def action_document_note(self) -> None:
        self.edit_note("document", 0, 0)

    def edit_note(self, target: str, start: int, end: int) -> None:
        if not self.check_annotations():
            return
        existing = next((n for n in self.session.annotations("note")
                         if n.target == target and (target == "document" or (n.start, n.end) == (start, end))), None)
        context = "" if target == "document" else self.doc.text[start:end]
        from reader.ui.screens.dialogs import NoteEditor

        def done(text: str | None) -> None:
            if text is None:
                return
            if existing is not None:
                self.perform(self.session.edit_note, existing.id, text)
            elif text.strip():
                self.perform(self.session.add_note, target, start, end, text)

        def keep(text: str) -> None:
            """The app ends under the editor: save the draft as the note, without touching the screen."""
            from reader.annotations import AnnotationError
            from reader.store import StoreError

            where = f"the note on the document {self.doc.id}"
            if target != "document":
                number = next((i for i, (s, e) in enumerate(self.view.sentences) if s <= start < e), None)
                where = (f"the note on the {target} in sentence {number + 1} of {self.doc.id}" if number is not None
                         else f"the note on the {target} of {self.doc.id}")
            try:
                if existing is not None:
                    self.session.edit_note(existing.id, text)
                elif text.strip():
                    self.session.add_note(target, start, end, text)
                else:
                    return
            except (StoreError, AnnotationError) as exc:
                self.reader_app.kept.append(f"error: {where} was not saved: {' '.join(str(exc).split())}")
                return
            self.reader_app.kept.append(f"reader: saved the note you were writing ({where})")

        title = f"Note on the {target}" + (" (editing)" if existing else "")
        self.app.push_screen(NoteEditor(title, context, existing.text if existing else "", keep=keep), done)

    def action_notes_panel(self) -> None:
        if not self.check_annotations():
            return
        notes = self.session.annotations("note")
        items = []
        for note in notes:
            where = "document" if note.target == "document" else f"{note.target} · {self.doc.text[note.start:note.end]}"
            first = note.text.strip().splitlines()[0] if note.text.strip() else ""
            items.append((note.id, Content.assemble((visible(first[:60], one_line=True), "bold"),
                                                    ("  " + visible(where[:50], one_line=True), "dim"))))

        from reader.ui.screens.dialogs import NoteChoice, NotesList

        def done(choice: NoteChoice | None) -> None:
            if choice is None:
                return
            note = next((n for n in notes if n.id == choice.note_id), None)
            if note is None:
                return
            if choice.action == "delete":
                self.perform(self.session.delete_note, note.id)
            elif choice.action == "edit":
                self.edit_note(note.target, note.start, note.end)
            elif note.target != "document":
                self.view.move_to_offset(note.start)

        self.app.push_screen(NotesList(items), done)

    def action_undo(self) -> None:
        if not self.session.can_undo:
            self.notify("Nothing to undo.", timeout=3)
        else:
            self.show_change(self.perform(self.session.undo, done="undone"))

    def action_redo(self) -> None:
        if not self.session.can_redo:
            self.notify("Nothing to redo.", timeout=3)
        else:
            self.show_change(self.perform(self.session.redo, done="redone"))

    def show_change(self, change: Change | None) -> None:
        """Bring what an undo or redo changed on screen, with the cursor on it (on the entity, for an entity
        decision): the analyst sees what came back or went away. A document note has no place to go to."""
        if change is None or self.analysis is None:
            return
        records = [r for _, r in change.before + change.after
                   if r is not None and r.get("target") != "document" and isinstance(r.get("start"), int)]
        if not records:
            return
        first = min(records, key=lambda r: (r["start"], r.get("end", r["start"])))
        view = self.view
        span = (first["start"], first.get("end"))
        entity = next((i for i, m in enumerate(view.marks) if (m.start, m.end) == span), None) \
            if first.get("kind") == "entity" else None
        if entity is not None:
            view.move_to_mark(entity)
        elif view.sentence_at(span[0]) == view.cursor:
            view.scroll_to_cursor()  # already there: only make sure it is on screen, keeping the entity cursor
        else:
            view.move_to_offset(span[0])


def fit_status(parts: list[tuple[int, str]], width: int, separator: str = " · ") -> str:
    """Join (priority, text) parts in their order, keeping the most urgent (lowest priority number) that fit
    in `width` cells; a part that fits only in part is cut with an ellipsis, the rest are left out."""
    from rich.cells import cell_len, set_cell_size

    kept: dict[int, str] = {}
    used = 0
    for index in sorted(range(len(parts)), key=lambda i: parts[i][0]):
        text = parts[index][1]
        room = width - used - (cell_len(separator) if kept else 0)
        if cell_len(text) <= room:
            kept[index] = text
        elif room >= 12 or not kept:
            kept[index] = set_cell_size(text, max(1, room) - 1) + "…"
        else:
            continue
        used += cell_len(kept[index]) + (cell_len(separator) if len(kept) > 1 else 0)
    return separator.join(kept[i] for i in sorted(kept))

