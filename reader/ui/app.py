"""The Textual application: wires the workspace to the screens. Kept thin on purpose."""

from __future__ import annotations

import gc
from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.app import App, SystemCommand
from textual.content import Content
from textual.screen import Screen

from reader.ui.keymap import (
    BY_ID,
    SCREENS,
    bindings,
    default_keymap,
    keymap_warnings,
    normalise_keys,
    textual_keymap,
)
from reader.ui.screens.reading import ReadingScreen
from reader.workspace import Workspace

if TYPE_CHECKING:
    from reader.ui.screens.review import ReviewOptions


class ReaderApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "reader"
    BINDINGS = bindings("app")
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, workspace: Workspace, doc_ids: list[str], *, keymap: dict[str, str] | None = None,
                 review: ReviewOptions | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.review = review
        """`reader review`: documents open on the review screen with these options."""
        self.workspace.isolate_analysis()  # spaCy in a child process: keys answer and `q` quits while it loads
        self.doc_ids = doc_ids
        self.keymap = keymap or default_keymap()
        self.last_document: str | None = None
        """The document read last, for Esc in a library that is the first screen."""
        # Before the first screen mounts (its footer is composed once). Textual also gets what terminals send for
        # each key (alt+f arrives as ctrl+right); help and footer show the keys as the keymap writes them.
        self.set_keymap(textual_keymap(self.keymap))
        # The footer's palette entry looks its binding up by this key: it must be the keymap's palette key, or the
        # footer shows whatever owns ctrl+p (emacs: `^p Previous sentence`).
        self.COMMAND_PALETTE_BINDING = normalise_keys(self.keymap.get("reader.command-palette", "ctrl+p"))[0]
        self.keymap_warnings: list[str] = (
            self.keymap.warnings if hasattr(self.keymap, "warnings") else keymap_warnings(self.keymap))

    def notify(self, message, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Every toast is plain text, whatever the caller asked: messages carry labels, names, file names and
        errors, and none of them may be parsed as markup or reach the terminal as an escape."""
        from reader.untrusted import visible

        text = message.plain if isinstance(message, Content) else str(message)
        super().notify(visible(text), title=visible(title, one_line=True), severity=severity, timeout=timeout,
                       markup=False)

    def get_default_screen(self) -> Screen:
        """The first screen is the document itself (or the library): no blank screen to paint first."""
        if len(self.doc_ids) == 1:
            return self.document_screen(self.doc_ids[0])
        from reader.ui.screens.library import LibraryScreen

        return LibraryScreen(self.doc_ids)

    def on_mount(self) -> None:
        self.call_after_refresh(self._collect_from_now_on)
        if self.workspace.read_only:
            why = self.workspace.read_only_reason or "the store is open in another process"
            self.notify(f"Read-only: {why}. Nothing you do here is saved.", severity="warning", timeout=15)
        for warning in self.keymap_warnings:
            self.notify(warning, title="keymap", severity="warning", markup=False, timeout=10)

    @staticmethod
    def _collect_from_now_on() -> None:
        """The CLI pauses the collector until the first frame; what start-up built (the text, its layout, the
        app) lives as long as the app, so it is frozen out of the collector's scans before collection resumes:
        the first full collections otherwise stall keys for ~0.1 s on a long document."""
        gc.freeze()
        gc.enable()

    def on_unmount(self) -> None:
        """Kill the analysis process without waiting: a worker blocked on it wakes up and ends, so the
        interpreter's exit (which joins worker threads) does not wait for spaCy."""
        self.workspace.close_analysis()

    def open_document(self, doc_id: str) -> None:
        """Open a document from the library, keeping the screen stack at most three deep."""
        from reader.ui.screens.library import LibraryScreen

        self.last_document = doc_id
        if isinstance(self.screen, LibraryScreen) and len(self.screen_stack) > 1:
            below = self.screen_stack[-2]
            self.pop_screen()
            if isinstance(below, ReadingScreen) and below.doc.id == doc_id:
                return
            if len(self.screen_stack) > 2:
                self.switch_screen(self.document_screen(doc_id))
                return
        self.push_screen(self.document_screen(doc_id))

    def document_screen(self, doc_id: str) -> ReadingScreen:
        """The reading screen, or the review screen under `reader review`."""
        if self.review is not None:
            from reader.ui.screens.review import ReviewScreen

            return ReviewScreen(self.workspace.document(doc_id), self.review)
        return ReadingScreen(self.workspace.document(doc_id))

    def action_library(self) -> None:
        from reader.ui.screens.library import LibraryScreen

        if len(self.screen_stack) > 1 and isinstance(self.screen_stack[-2], LibraryScreen):
            self.pop_screen()
        else:
            self.push_screen(LibraryScreen(self.workspace.document_ids()))

    def summaries(self, doc_ids: list[str]) -> Iterable[tuple]:
        for doc_id in doc_ids:
            s = self.workspace.summary(doc_id)
            progress = f"{s.tagged}/{s.sentences}" if s.sentences is not None else f"{s.tagged}/–"
            yield (s.doc_id, s.title, s.date, s.source, progress, s.notes, s.decisions, s.site)

    @staticmethod
    def screen_scope(screen: Screen) -> str:
        if isinstance(screen, ReadingScreen):
            from reader.ui.screens.review import ReviewScreen

            return "review" if isinstance(screen, ReviewScreen) else "reading"
        return "library"

    def action_help(self) -> None:
        from reader.ui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen_scope(self.screen), self.keymap, self.workspace.labels))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every reader action is in the palette, with its current keys as help."""
        yield from super().get_system_commands(screen)
        scope = self.screen_scope(screen)
        for action in BY_ID.values():
            if action.scope not in SCREENS[scope] or action.id == "reader.command-palette":
                continue
            keys = self.keymap.get(action.id, action.keys).replace(",", ", ")
            yield SystemCommand(action.description, f"{action.id} · {keys}",
                                lambda a=action.action, s=screen: s.run_action(a))
