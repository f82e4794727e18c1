"""The first screen of a served reader: who is annotating. Each tab is one analyst, and the name decides whose
files this process writes, so it is asked before anything is opened."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Input, Label, Static

from reader.untrusted import UntrustedError, check_name, visible


class AnnotatorScreen(Screen):

    def __init__(self, initial: str = "") -> None:
        super().__init__()
        self.initial = initial

    def compose(self) -> ComposeResult:
        with Vertical(id="annotator-box", classes="dialog"):
            yield Static(Content("reader: who is annotating?"), classes="dialog-title")
            with Horizontal(id="annotator-row"):
                yield Label(Content("Annotator:"), id="annotator-label")
                yield Input(self.initial, id="annotator", max_length=40, placeholder="your name")
            yield Static(Content("Enter to go on · letters, digits, spaces, _ - . / (1-40)"), id="annotator-help",
                         classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            name = check_name(event.value.strip(), "the annotator name")
        except UntrustedError as exc:
            self.query_one("#annotator-help", Static).update(Content(visible(str(exc), one_line=True)))
            return
        self.app.start_as(name)  # type: ignore[attr-defined]
