"""Help: every binding in effect on the current screen, with its id for keymap files."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static

from reader.labels import LabelSet
from reader.ui.keymap import ACTIONS, keys_for, screen_scopes, show_keys

BOX_WIDTH = 90  # #help-box's width in app.tcss
ID_PREFIX = "reader."
ENTITY_ROW = "entity label"  # the id column of an entity label's row: a label, not a binding
SHORT_HEIGHT = 30  # below this many lines the box takes the whole height (80% of 24 showed one row)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", show=False, priority=True)]  # q: not quit

    def __init__(self, scope: str, keymap: dict[str, str], labels: LabelSet | None = None,
                 own: list[tuple[str, str, str]] | None = None, entity_labels: LabelSet | None = None) -> None:
        super().__init__()
        self.scope = scope
        self.own = own or []  # the rows of the dialog help was opened from (`dialog_rows`), listed first
        self.keymap = keymap
        self.labels = labels
        self.entity_labels = entity_labels
        self.table_width: int | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(Content("Keys  (Esc to close; change them with --keymap, ids below)"), id="help-title")
            if self.labels is not None and "reading" in screen_scopes(self.scope):
                kind = "one label per sentence" if self.labels.exclusive else "several labels per sentence"
                # A label past the ninth has no key: the label picker's. One line per label, cut with an ellipsis
                # (app.tcss): wrapped descriptions took the table's room at 80×24.
                rows = [(keys_for(self.keymap, f"reader.tag-{lb.key}" if lb.key else "reader.pick-label", every=True),
                         lb) for lb in self.labels.labels]
                key_width = max(len(keys) for keys, _ in rows)
                name_width = max(len(label.name) for _, label in rows)
                lines = [Content.assemble((f"Labels ({kind})", "bold"))]
                lines += [Content.assemble(f"  {keys:<{key_width}}  ", (f"{label.name:<{name_width}}", "bold"), "  ",
                                           label.description) for keys, label in rows]
                yield Static(Content("\n").join(lines), id="help-labels")
            yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.fit(self.app.size.width, self.app.size.height)  # the table has the focus (AUTO_FOCUS)

    def on_resize(self, event: events.Resize) -> None:
        self.fit(event.size.width, event.size.height)

    def fit(self, width: int, height: int) -> None:
        """Size the box and the table's columns to the terminal, so that no row needs horizontal scrolling."""
        if not self.query("#help-box"):  # help asked for as the app quits (`q?` typed fast): never composed
            return
        self.query_one("#help-box").styles.height = "100%" if height < SHORT_HEIGHT else "80%"
        table = self.query_one(DataTable)
        # Border (2), the table's vertical scrollbar, and one cell of padding each side of the three columns.
        available = min(BOX_WIDTH, width) - 2 - table.styles.scrollbar_size_vertical - 2 * 3 * table.cell_padding
        if available == self.table_width:
            return
        self.table_width = available
        entities = self.entity_rows()
        rows = [*self.own, *((keys_for(self.keymap, a.id, every=True), a.description, a.id) for a in ACTIONS
                             if a.scope in screen_scopes(self.scope))]
        # A label's description wraps in the keys' columns rather than widen them (and cut the ids).
        widths = column_widths([*rows, *((k, max(d.split(), key=len), i) for k, d, i in entities)], available)
        rows += entities
        short_ids = widths[2] < max(len(r[2]) for r in rows)
        table.clear(columns=True)
        for name, width in zip(("keys", "action", f"id ({ID_PREFIX}…)" if short_ids else "id"), widths, strict=True):
            table.add_column(name, width=width)
        for keys, description, binding_id in rows:
            shown_id = binding_id.removeprefix(ID_PREFIX) if short_ids else binding_id
            # Wrapped at spaces (keys are joined by ", "), never cut: rows grow a line instead.
            table.add_row(Text(keys), Text(description), Text(shown_id), height=None)

    def entity_rows(self) -> list[tuple[str, str, str]]:
        """The entity labels as rows after the keys, with their digit in the relabel/add picker: rows scroll with the
        table, where ten more lines above it left the keys no room at 80×24."""
        if self.entity_labels is None or "reading" not in screen_scopes(self.scope):
            return []
        relabel, add = keys_for(self.keymap, "reader.relabel-entity"), keys_for(self.keymap, "reader.add-entity")
        return [(f"{relabel}, {add} then {label.key or '↑↓'}",
                 f"{label.name}: {label.description}" if label.description else label.name, ENTITY_ROW)
                for label in self.entity_labels.labels]


def dialog_rows(screen: Screen) -> list[tuple[str, str, str]]:
    """A dialog's own keys as help rows, its `BINDINGS` and the keys its widgets handle (`HELP_KEYS`); the id
    column says where they work."""
    where = "this dialog" if isinstance(screen, ModalScreen) else "this screen"
    rows: dict[str, list[str]] = {desc: [show_keys(keys)] for keys, desc in getattr(screen, "HELP_KEYS", ())}
    for binding in type(screen).BINDINGS:
        if isinstance(binding, Binding):
            rows.setdefault(binding.tooltip or binding.description or binding.action, []).append(show_keys(binding.key))
    return [(", ".join(keys), description, where) for description, keys in rows.items()]


def column_widths(rows: list[tuple[str, str, str]], available: int) -> tuple[int, int, int]:
    """Widths of keys, action and id in `available` cells: ids lose their prefix first, then the others wrap."""
    keys, description = max(len(r[0]) for r in rows), max(len(r[1]) for r in rows)
    for ids in (max(len(r[2]) for r in rows), max(len(r[2].removeprefix(ID_PREFIX)) for r in rows)):
        if keys + description + ids <= available:
            return keys, description, ids
    longest_word = max(len(w) for r in rows for w in r[1].split())
    keys_width = max(12, available - description - ids)
    description = max(longest_word, available - ids - keys_width)
    return keys_width, description, ids
