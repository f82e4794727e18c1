"""Help: every binding in effect on the current screen, with its id for keymap files."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from reader.keymap import ACTIONS, normalise_keys
from reader.labels import LabelSet


def display_key(key: str) -> str:
    from textual.keys import format_key

    return format_key(key)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", show=False)]

    def __init__(self, scope: str, keymap: dict[str, str], labels: LabelSet | None = None) -> None:
        super().__init__()
        self.scope = scope
        self.keymap = keymap
        self.labels = labels

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(Content("Keys  (Esc to close; change them with --keymap, ids below)"), id="help-title")
            if self.labels is not None and self.scope == "reading":
                kind = "one label per sentence" if self.labels.exclusive else "several labels per sentence"
                lines = [Content.assemble((f"Labels ({kind})", "bold"))]
                for label in self.labels.labels:
                    keys = ", ".join(display_key(k) for k in normalise_keys(
                        self.keymap.get(f"reader.tag-{label.key}", "")))
                    lines.append(Content.assemble(f"  {keys:<8} ", (f"{label.name:<12}", "bold"), label.description))
                yield Static(Content("\n").join(lines), id="help-labels")
            yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("keys", width=24)
        table.add_column("action", width=34)
        table.add_column("id", width=24)
        for action in ACTIONS:
            if action.scope not in ("app", self.scope):
                continue
            keys = ", ".join(display_key(k) for k in normalise_keys(self.keymap.get(action.id, action.keys)))
            table.add_row(Text(keys), Text(action.description), Text(action.id))
        table.focus()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
