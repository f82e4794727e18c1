"""Modal dialogs of the reading screen: the note editor, a label picker and the list of notes."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import ClassVar

from textual import events
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
    """A multi-line note, Ctrl+S saves, Esc cancels; nothing typed is lost unasked (Esc asks first, and `keep`
    saves a changed note when the app ends under the editor)."""

    BINDINGS = [Binding("ctrl+s", "save", "Save", priority=True), Binding("escape", "cancel", "Cancel", priority=True)]
    HELP = "Ctrl+S save · Esc cancel · an empty note is deleted"
    CONFIRM = "Not saved: Esc again discards your changes · Ctrl+S saves"

    def __init__(self, title: str, context: str, text: str = "",
                 keep: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.context = context
        self.initial = text
        self.keep = keep
        self.closed = False
        self.confirming = False
        # held here: on unmount (the app ending) the screen's children are already gone from queries
        self.area = TextArea(text, id="note-text", soft_wrap=True, show_line_numbers=False)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Content(visible(self.title_text, one_line=True)), classes="dialog-title")
            if self.context:
                yield Static(Content(visible(self.context)), classes="dialog-context")
            yield self.area
            yield Static(Content(self.HELP), id="note-help", classes="dialog-help")

    def on_mount(self) -> None:
        self.area.focus()
        self.area.move_cursor(self.area.document.end)

    def changed(self) -> bool:
        return self.area.text != self.initial

    def on_text_area_changed(self) -> None:
        if self.confirming:
            self.confirming = False
            self.query_one("#note-help", Static).update(Content(self.HELP))

    def action_save(self) -> None:
        """A priority binding runs as it arrives: read the note once the field has taken the keys typed before."""
        self.after_typed(lambda: self.close(self.area.text))

    def action_cancel(self) -> None:
        self.after_typed(self.cancel)

    def after_typed(self, callback: Callable[[], None]) -> None:
        """The field's queue first, then the screen's: the field cannot close its own screen from its queue."""
        self.area.call_later(self.call_later, callback)

    def cancel(self) -> None:
        if self.changed() and not self.confirming:
            self.confirming = True
            self.query_one("#note-help", Static).update(Content(self.CONFIRM))
        else:
            self.close(None)

    def close(self, text: str | None) -> None:
        self.closed = True
        self.dismiss(text)  # not awaited (nor returned to be): it runs in this screen's own queue

    def on_unmount(self) -> None:
        if not self.closed and self.keep is not None and self.changed():
            self.closed = True
            self.keep(self.area.text)


class Picker(ModalScreen[str | None]):
    """A titled list of `(id, prompt)` rows: Enter takes the highlighted one, a row's number in `keys` (bound by
    subclasses to `pick(n)`) takes it at once."""

    BINDINGS: ClassVar = [Binding("escape", "dismiss", "Cancel", show=False)]
    CLASSES = "dialog"

    def __init__(self, title: str, rows: list[tuple[str, str]], current: str | None, help: str,
                 keys: dict[str, int] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.rows = rows
        self.current = current
        self.help = help
        self.keys = keys or {}

    def compose(self) -> ComposeResult:
        with Vertical(classes=self.CLASSES):
            yield Static(Content(visible(self.title_text, one_line=True)), classes="dialog-title")
            rows = (Option(Content(visible(prompt, one_line=True)), id=ident) for ident, prompt in self.rows)
            yield OptionList(*rows, markup=False)
            yield Static(Content(self.help), classes="dialog-help")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        ids = [ident for ident, _ in self.rows]
        if self.current in ids:  # the list has the focus already (the screen's AUTO_FOCUS)
            options.highlighted = ids.index(self.current)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_pick(self, n: int) -> None:
        ident = next((ident for ident, key in self.keys.items() if key == n), None)
        if ident is not None:
            self.dismiss(ident)


class LabelPicker(Picker):
    """Pick a label by its digit or from the list; ✓ marks the ones already there."""

    BINDINGS: ClassVar = [*Picker.BINDINGS,  # help lists a dialog's own BINDINGS
                          *(Binding(f"{n},{AZERTY_DIGITS[n - 1]}", f"pick({n})", show=False) for n in range(1, 10))]
    HELP_KEYS = (("1-9", "Pick the label with that digit"), ("up,down", "Move in the list"),
                 ("a-z", "Move to the next label starting with that letter"),
                 ("enter", "Pick the label"))
    CLASSES = "dialog picker"

    def __init__(self, title: str, labels: list[str], current: str | None = None, *,
                 keys: dict[str, int] | None = None, marked: Collection[str] = ()) -> None:
        self.labels = labels
        keys = keys if keys is not None else {label: n for n, label in enumerate(labels[:9], 1)}
        marked = set(marked) | ({current} if current else set())
        width = max((len(label) for label in labels), default=0)
        rows = [(label, f"{keys.get(label, ' ')}  {label:<{width}}{'  ✓' if label in marked else ''}")
                for label in labels]
        digits = sorted(keys.values())
        hint = f"{digits[0]}-{digits[-1]} or " if len(digits) > 1 else f"{digits[0]} or " if digits else ""
        super().__init__(title, rows, current, hint + "↑↓ ⏎ picks · Esc cancels", keys)  # one line in 40 columns

    def on_key(self, event: events.Key) -> None:
        """A letter moves to the next label starting with it, so labels without a digit are a few keys away."""
        char = event.character
        if not char or not char.isalpha() or char in AZERTY_DIGITS:
            return
        options = self.query_one(OptionList)
        start = 0 if options.highlighted is None else options.highlighted + 1
        order = [*range(start, len(self.labels)), *range(start)]
        hit = next((i for i in order if self.labels[i].lower().startswith(char.lower())), None)
        if hit is not None:
            options.highlighted = hit
            event.stop()


@dataclass(frozen=True)
class NoteChoice:
    action: str  # jump, edit or delete
    note_id: str


class NotesList(ModalScreen[NoteChoice | None]):
    """The document's notes: Enter jumps to one, e edits it, d deletes it."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("e", "choose('edit')", "Edit"),
        Binding("d,delete", "choose('delete')", "Delete"),
    ]
    HELP_KEYS = (("up,down", "Move in the list"), ("enter", "Jump to the note"))

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

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(NoteChoice("jump", event.option.id or ""))

    def action_choose(self, action: str) -> None:
        option = self.query_one(OptionList).highlighted_option if self.notes else None
        if option is not None:
            self.dismiss(NoteChoice(action, option.id or ""))

