"""The reading screen's suggestion keys: a trained model's labels on untagged sentences, and the walk through
the least certain ones (`reader.uncertain`), document after document."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partialmethod
from typing import Any

from textual import work
from textual.message import Message

from reader.analysis import AnalysisError
from reader.analysis_process import AnalysisCancelled
from reader.documents import Document
from reader.ui.widgets.article_view import Tag


@dataclass
class SuggestionsReady(Message):
    doc_id: str
    model: Any  # `reader.suggest.ModelInfo`
    cats: list[dict[str, float]]


@dataclass
class SuggestionsFailed(Message):
    doc_id: str
    error: str


_jump_on_open: set[str] = set()  # opened by `next_uncertain`: go to their most uncertain sentence


class SuggestionActions:
    """Mixed into `ReadingScreen`: the model loads in the analysis child, never in this process."""

    @work(thread=True, exclusive=True, group="suggestions")
    def load_suggestions(self, doc: Document, sentences: list[tuple[int, int]]) -> None:
        """The active sentence classifier's suggestions, from the analysis child; a damaged model is one line."""
        from reader import uncertain
        from reader.suggest import ModelError

        workspace = self.reader_app.workspace
        model, damaged = workspace.suggestion_model()
        if model is None and damaged:
            self.post_message(SuggestionsFailed(doc.id, damaged[0]))
        if model is None:
            return
        try:
            cats = uncertain.suggestions(workspace, model, doc, sentences)
        except AnalysisCancelled:
            return
        except (AnalysisError, ModelError) as exc:
            self.post_message(SuggestionsFailed(doc.id, str(exc)))
        else:
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
        from reader.uncertain import ranking

        if self.suggestions is None or self.store_problem:
            return []
        return ranking(self.suggestions, self.session.work)

    def suggestion_tags(self, index: int, colours: dict[str, int]) -> list[Tag]:
        return [Tag(n, colours.get(n, 8), suggested=True) for n in self.suggested(index)]

    def decide_suggestion(self, operation: str) -> None:
        if not self.needs_sentences() or not self.needs_suggestions():
            return
        if labels := self.suggested(self.view.cursor):
            self.perform(getattr(self.session, operation), self.view.cursor, labels, self.suggestion_model.name)
        else:
            self.notify("No suggestion on this sentence.", timeout=3)

    action_accept_suggestion = partialmethod(decide_suggestion, "accept_suggestion")
    action_dismiss_suggestion = partialmethod(decide_suggestion, "dismiss_suggestion")

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
        """The next sentence by uncertainty, then the library's least certain document."""
        if not self.needs_sentences() or not self.needs_suggestions():
            return
        ranking = self.uncertain_ranking()
        cursor = self.view.cursor
        # Down the ranking from the sentence this key went to last; from anywhere else, its top.
        position = ranking.index(cursor) + 1 if cursor == self.uncertain_step and cursor in ranking else 0
        if position < len(ranking):
            self.uncertain_step = ranking[position]
            self.view.move_to_sentence(ranking[position])
            return
        self.notify("No undecided sentence left here: looking for the next document…", timeout=3)
        self.next_uncertain_document(self.suggestion_model)

    @work(thread=True, exclusive=True, group="library-suggestions")
    def next_uncertain_document(self, model: Any) -> None:
        from reader import uncertain
        from reader.suggest import ModelError

        try:
            doc_id = uncertain.least_certain_document(self.reader_app.workspace, model, self.doc.id)
        except AnalysisCancelled:
            return
        except (AnalysisError, ModelError) as exc:
            self.post_message(SuggestionsFailed(self.doc.id, str(exc)))
        else:
            self.app.call_from_thread(self.open_uncertain, doc_id)

    def open_uncertain(self, doc_id: str | None) -> None:
        if doc_id is None:
            self.notify("No undecided sentence left in the library.", timeout=4)
            return
        _jump_on_open.add(doc_id)
        self.reader_app.last_document = doc_id
        screen = self.reader_app.document_screen(doc_id)
        if len(self.app.screen_stack) > 1:  # replace this document: jumping on never piles screens up
            self.app.switch_screen(screen)
        else:  # the first screen cannot be switched away: the next document goes on top of it
            self.app.push_screen(screen)
