"""The reading screen: one document, its entities, search, and (from the annotation layer) tags and notes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from reader.analysis import Analysis, AnalysisError
from reader.documents import Document
from reader.keymap import bindings
from reader.widgets.article_view import ArticleView, Mark
from reader.widgets.side_panel import EntityList, SidePanel

if TYPE_CHECKING:
    from reader.app import ReaderApp


class AnalysisReady(Message):
    def __init__(self, doc_id: str, analysis: Analysis, cached: bool) -> None:
        super().__init__()
        self.doc_id = doc_id
        self.analysis = analysis
        self.cached = cached


class AnalysisFailed(Message):
    def __init__(self, doc_id: str, error: str) -> None:
        super().__init__()
        self.doc_id = doc_id
        self.error = error


def header_content(doc: Document) -> Content:
    meta = doc.meta
    parts: list = [(doc.title, "bold")]
    for key in ("date", "source", "author"):
        if meta.get(key):
            parts += [("  ·  ", "dim"), str(meta[key])]
    return Content.assemble(*parts)


class ReadingScreen(Screen):
    BINDINGS = bindings("reading")

    def __init__(self, doc: Document) -> None:
        super().__init__()
        self.doc = doc
        self.analysis: Analysis | None = None
        self.model_status = "loading entities…"
        self.search_query = ""

    @property
    def reader_app(self) -> ReaderApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(header_content(self.doc), id="header")
        with Horizontal(id="body"):
            yield ArticleView(id="article")
            yield SidePanel(id="side")
        yield Static(id="status")
        yield Input(placeholder="search (regex-free, case-insensitive); Enter to find, Esc to close",
                    id="search", classes="hidden")
        yield Footer()

    @property
    def view(self) -> ArticleView:
        return self.query_one(ArticleView)

    def on_mount(self) -> None:
        self.view.load(self.doc.text)
        self.view.focus()
        self.update_status()
        self.call_after_refresh(self.start_analysis)

    def start_analysis(self) -> None:
        self.analyse(self.doc)

    @work(thread=True, exclusive=True, group="analysis")
    def analyse(self, doc: Document) -> None:
        """Cached analysis or the model, off the UI thread: the text is already on screen."""
        try:
            result, cached = self.reader_app.workspace.analysis(doc)
        except AnalysisError as exc:
            self.post_message(AnalysisFailed(doc.id, str(exc)))
            return
        self.post_message(AnalysisReady(doc.id, result, cached))

    def on_analysis_ready(self, message: AnalysisReady) -> None:
        if message.doc_id != self.doc.id:
            return
        self.analysis = message.analysis
        source = "cached" if message.cached else "analysed"
        self.model_status = f"{message.analysis.model} ({source})"
        if message.analysis.note:
            self.model_status += f" · {message.analysis.note}"
        self.view.set_sentences(message.analysis.sentences)
        self.refresh_marks()
        self.update_status()

    def on_analysis_failed(self, message: AnalysisFailed) -> None:
        self.model_status = f"no entities: {message.error}"
        self.notify(message.error, title="spaCy", severity="error", markup=False, timeout=10)
        self.update_status()

    def marks(self) -> list[Mark]:
        if self.analysis is None:
            return []
        return [Mark(e.start, e.end, e.label) for e in self.analysis.entities]

    def refresh_marks(self) -> None:
        marks = self.marks()
        self.view.set_marks(marks)
        self.query_one(SidePanel).show(self.doc.text, self.view.marks, self.view, self.model_status)

    def update_status(self) -> None:
        view = self.view
        parts = [f"sentence {view.cursor + 1}/{len(view.sentences)}"]
        if self.analysis is not None:
            parts.append(f"{len(view.marks)} entities")
        mark = view.current_mark
        if mark is not None:
            parts.append(f"entity: {self.doc.text[mark.start:mark.end]} ({mark.label}, {mark.status})")
        if view.matches:
            current = "-" if view.match_index is None else view.match_index + 1
            parts.append(f"match {current}/{len(view.matches)} for “{self.search_query}”")
        elif self.search_query:
            parts.append(f"no match for “{self.search_query}”")
        parts.append(self.model_status)
        self.query_one("#status", Static).update(Content("  ·  ".join(parts)))

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

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.remove_class("hidden")
        box.value = self.search_query
        box.focus()

    @on(Input.Submitted, "#search")
    def run_search(self, event: Input.Submitted) -> None:
        self.search_query = event.value.strip()
        self.close_search()
        self.view.set_matches(find_all(self.doc.text, self.search_query))
        if self.search_query and not self.view.goto_match(1):
            self.notify(Content.from_markup("No match for $q", q=self.search_query), severity="warning")
        self.update_status()

    def close_search(self) -> None:
        box = self.query_one("#search", Input)
        box.add_class("hidden")
        self.view.focus()

    def on_key(self, event) -> None:
        if event.key == "escape" and self.focused is self.query_one("#search", Input):
            event.stop()
            self.close_search()

    def action_next_match(self) -> None:
        if not self.view.goto_match(1):
            self.notify("No search yet: press / to search.")
        self.update_status()

    def action_prev_match(self) -> None:
        if not self.view.goto_match(-1):
            self.notify("No search yet: press / to search.")
        self.update_status()

    def action_toggle_panel(self) -> None:
        panel = self.query_one(SidePanel)
        panel.display = not panel.display
        self.view.focus()

    def action_focus_panel(self) -> None:
        panel = self.query_one(SidePanel)
        entity_list = self.query_one(EntityList)
        if self.focused is entity_list:
            self.view.focus()
        else:
            panel.display = True
            entity_list.focus()

    def action_library(self) -> None:
        self.reader_app.action_library()


def find_all(text: str, query: str) -> list[tuple[int, int]]:
    """Case-insensitive literal matches; whitespace in the query matches any run of whitespace."""
    if not query:
        return []
    pattern = r"\s+".join(re.escape(part) for part in query.split())
    return [(m.start(), m.end()) for m in re.finditer(pattern, text, re.IGNORECASE)]
