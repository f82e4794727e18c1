"""Modal dialogs of the reading screen: the note editor, a label picker and the list of notes."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from reader.ui.keymap import AZERTY_DIGITS, keys_for
from reader.untrusted import visible


class NoteEditor(ModalScreen[str | None]):
    """A multi-line note; Ctrl+S saves (an emptied note is deleted), Esc cancels."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", show=True, priority=True),
        Binding("escape", "cancel", "Cancel", show=True, priority=True),
    ]

    def __init__(self, title: str, context: str, text: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.context = context
        self.initial = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Content(visible(self.title_text, one_line=True)), classes="dialog-title")
            if self.context:
                yield Static(Content(visible(self.context)), classes="dialog-context")
            yield TextArea(self.initial, id="note-text", soft_wrap=True, show_line_numbers=False)
            yield Static(Content("Ctrl+S save · Esc cancel · an empty note is deleted"), classes="dialog-help")

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.focus()
        area.move_cursor(area.document.end)

    def action_save(self) -> None:
        self.dismiss(self.query_one(TextArea).text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class LabelPicker(ModalScreen[str | None]):
    """Pick a label: its digit (the first nine, or the labels' own keys), or the arrows and Enter for any of
    them; Esc cancels. Labels marked ✓ are the ones already there (the current label, a sentence's tags)."""

    BINDINGS: ClassVar = [
        Binding("escape", "cancel", "Cancel", show=False),
        *(Binding(f"{n},{AZERTY_DIGITS[n - 1]}", f"pick({n})", show=False) for n in range(1, 10)),
    ]

    def __init__(self, title: str, labels: list[str], current: str | None = None, *,
                 keys: dict[str, int] | None = None, marked: Collection[str] = ()) -> None:
        super().__init__()
        self.title_text = title
        self.labels = labels
        self.current = current
        self.keys = keys if keys is not None else {label: n for n, label in enumerate(labels[:9], 1)}
        """Label → the digit that picks it."""
        self.marked = set(marked) | ({current} if current else set())

    def compose(self) -> ComposeResult:
        width = max((len(label) for label in self.labels), default=0)

        def prompt(label: str) -> Content:
            key = str(self.keys[label]) if label in self.keys else " "
            tick = "  ✓" if label in self.marked else ""
            return Content(visible(f"{key}  {label:<{width}}{tick}", one_line=True))

        with Vertical(classes="dialog picker"):
            yield Static(Content(visible(self.title_text, one_line=True)), classes="dialog-title")
            yield OptionList(*(Option(prompt(label), id=label) for label in self.labels), markup=False)
            digits = sorted(self.keys.values())
            hint = (f"{digits[0]}-{digits[-1]} or " if len(digits) > 1 else f"{digits[0]} or " if digits else "")
            hint += "↑↓ ⏎ picks · Esc cancels"  # one line in the 40-column picker
            yield Static(Content(hint), classes="dialog-help")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self.current in self.labels:
            options.highlighted = self.labels.index(self.current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_pick(self, n: int) -> None:
        label = next((label for label, key in self.keys.items() if key == n), None)
        if label is not None:
            self.dismiss(label)

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class NoteChoice:
    action: str
    """`jump`, `edit` or `delete`."""
    note_id: str


class NotesList(ModalScreen[NoteChoice | None]):
    """The document's notes: Enter jumps to one, e edits it, d deletes it."""

    BINDINGS = [
        Binding("escape", "cancel", "Close"),
        Binding("e", "choose('edit')", "Edit"),
        Binding("d,delete", "choose('delete')", "Delete"),
    ]

    def __init__(self, notes: list[tuple[str, Content]]) -> None:
        super().__init__()
        self.notes = notes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog notes"):
            yield Static(Content(f"Notes ({len(self.notes)})"), classes="dialog-title")
            if self.notes:
                yield OptionList(*(Option(label, id=ident) for ident, label in self.notes), markup=False)
            else:
                keymap = getattr(self.app, "keymap", None)  # the active keymap's keys: vim notes with a / A
                note, document_note = keys_for(keymap, "reader.note"), keys_for(keymap, "reader.document-note")
                yield Static(Content(f"No notes yet: {note} adds one to the sentence, {document_note} to the "
                                     "document."), id="notes-empty")
            yield Footer()

    def on_mount(self) -> None:
        if self.notes:
            self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(NoteChoice("jump", event.option.id or ""))

    def action_choose(self, action: str) -> None:
        if not self.notes:
            return
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self.dismiss(NoteChoice(action, options.get_option_at_index(options.highlighted).id or ""))

    def action_cancel(self) -> None:
        self.dismiss(None)
