"""Key bindings: one table of binding ids, and keymap files (TOML) that rebind them.

The table below is the single source of default keys; `keymaps/default.toml` is generated from it (a test
checks they agree). Keymap files are validated before Textual sees them, so a typo gives an error naming the
file and the entry instead of a silently dead key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from textual.binding import Binding
from textual.keys import _character_to_key

KEYMAP_DIRS_ENV = "READER_KEYMAPS"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class KeymapError(Exception):
    """A keymap that cannot be applied; the message names the file and the entry."""


@dataclass(frozen=True)
class Action:
    id: str
    scope: str
    """Where the binding lives: `app`, `reading` or `library` (clashes only matter within one scope)."""
    action: str
    description: str
    keys: str
    footer: str = ""
    """Short label in the footer; the action is shown there only when this is set."""


AZERTY_DIGITS = ("ampersand", "é", "quotation_mark", "apostrophe", "left_parenthesis", "minus", "è",
                 "underscore", "ç")
"""What the digit row types without Shift on a French AZERTY keyboard, for 1-9."""

ACTIONS: tuple[Action, ...] = (
    Action("reader.quit", "app", "quit", "Quit", "q", footer="Quit"),
    Action("reader.help", "app", "help", "Show every key", "question_mark,f1", footer="Keys"),
    Action("reader.command-palette", "app", "command_palette", "Command palette", "ctrl+p"),
    Action("reader.next-sentence", "reading", "next_sentence", "Next sentence", "j,down"),
    Action("reader.prev-sentence", "reading", "prev_sentence", "Previous sentence", "k,up"),
    Action("reader.next-entity", "reading", "next_entity", "Next entity", "e,right_square_bracket",
           footer="Entity"),
    Action("reader.prev-entity", "reading", "prev_entity", "Previous entity", "E,left_square_bracket"),
    Action("reader.page-down", "reading", "page_down", "Page down", "pagedown,space"),
    Action("reader.page-up", "reading", "page_up", "Page up", "pageup,b"),
    Action("reader.top", "reading", "top", "Top of the document", "home,g"),
    Action("reader.bottom", "reading", "bottom", "End of the document", "end,G"),
    Action("reader.search", "reading", "search", "Search", "slash", footer="Search"),
    Action("reader.next-match", "reading", "next_match", "Next match", "greater_than_sign,f3"),
    Action("reader.prev-match", "reading", "prev_match", "Previous match", "less_than_sign,shift+f3"),
    Action("reader.toggle-panel", "reading", "toggle_panel", "Show/hide the side panel", "p"),
    Action("reader.focus-panel", "reading", "focus_panel", "Switch between text and panel", "tab"),
    Action("reader.library", "reading", "library", "Library of documents", "o", footer="Library"),
    *(
        Action(f"reader.tag-{n}", "reading", f"tag({n})", f"Toggle label {n} on the sentence",
               f"{n},{AZERTY_DIGITS[n - 1]}")
        for n in range(1, 10)
    ),
    Action("reader.note", "reading", "note", "Note on the sentence (or entity)", "n",
           footer="Note"),
    Action("reader.document-note", "reading", "document_note", "Note on the document", "N"),
    Action("reader.notes-panel", "reading", "notes_panel", "List the document's notes", "ctrl+n"),
    Action("reader.accept-entity", "reading", "accept_entity", "Accept the entity", "a"),
    Action("reader.reject-entity", "reading", "reject_entity", "Reject the entity", "x"),
    Action("reader.relabel-entity", "reading", "relabel_entity", "Relabel the entity", "r"),
    Action("reader.extend-right", "reading", "extend(1)", "Select: extend one token right", "shift+right"),
    Action("reader.extend-left", "reading", "extend(-1)", "Select: extend one token left", "shift+left"),
    Action("reader.add-entity", "reading", "add_entity", "Add the selection as an entity", "plus,enter"),
    Action("reader.clear-selection", "reading", "clear_selection", "Clear the selection", "escape"),
    Action("reader.undo", "reading", "undo", "Undo", "u,ctrl+z", footer="Undo"),
    Action("reader.redo", "reading", "redo", "Redo", "ctrl+r,ctrl+y"),
    Action("reader.open-document", "library", "open_document", "Open the document", "enter,o"),
    Action("reader.library-quit", "library", "back", "Back to the document", "escape"),
)

BY_ID = {a.id: a for a in ACTIONS}


def bindings(scope: str) -> list[Binding]:
    """Textual bindings of one scope, each with its id so that `App.set_keymap` can rebind it."""
    return [
        Binding(a.keys, a.action, a.footer or a.description, show=bool(a.footer), id=a.id,
                priority=a.scope == "app", tooltip=a.description)
        for a in ACTIONS
        if a.scope == scope
    ]


def normalise_keys(keys: str) -> list[str]:
    return [_character_to_key(k) if len(k) == 1 else k for k in (p.strip() for p in keys.split(","))]


def default_keymap() -> dict[str, str]:
    return {a.id: a.keys for a in ACTIONS}


def render_keymap(keymap: dict[str, str], comment: str) -> str:
    """TOML text of a keymap, one `"id" = "keys"` line per binding with its description."""
    lines = [f"# {line}" if line else "#" for line in comment.splitlines()]
    lines += ["", "[keys]"]
    for binding_id, keys in keymap.items():
        lines.append(f'"{binding_id}" = "{keys}"  # {BY_ID[binding_id].description}')
    return "\n".join(lines) + "\n"


def keymap_dirs() -> list[Path]:
    from platformdirs import user_config_path

    return [Path.cwd() / "keymaps", PACKAGE_ROOT / "keymaps", user_config_path("reader") / "keymaps"]


def find_keymap(name_or_file: str) -> Path:
    """A keymap by name (`vim`, looked up in keymaps/ folders) or by path."""
    candidate = Path(name_or_file).expanduser()
    if candidate.suffix == ".toml" or candidate.is_file() or "/" in name_or_file:
        if not candidate.is_file():
            raise KeymapError(f"{name_or_file}: no such keymap file")
        return candidate
    for folder in keymap_dirs():
        path = folder / f"{name_or_file}.toml"
        if path.is_file():
            return path
    names = sorted({p.stem for d in keymap_dirs() if d.is_dir() for p in d.glob("*.toml")})
    raise KeymapError(f"unknown keymap {name_or_file!r} (available: {', '.join(names) or 'none'})")


def _line_of(text: str, needle: str) -> str:
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return f":{number}"
    return ""


def parse_keymap(text: str, where: str) -> dict[str, str]:
    """Validate a keymap file's text and return the full keymap (defaults overlaid with the file)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KeymapError(f"{where}: not valid TOML ({exc})") from None
    table = data.get("keys", {})
    unknown_top = set(data) - {"keys", "name", "description"}
    if unknown_top:
        key = sorted(unknown_top)[0]
        raise KeymapError(f"{where}{_line_of(text, key)}: unknown entry {key!r} (expected a [keys] table)")
    if not isinstance(table, dict):
        raise KeymapError(f"{where}: [keys] must be a table of binding id = \"keys\"")
    merged = default_keymap()
    for binding_id, keys in table.items():
        line = _line_of(text, binding_id)
        if binding_id not in BY_ID:
            raise KeymapError(f"{where}{line}: unknown binding id {binding_id!r} (see `reader keys`)")
        if not isinstance(keys, str) or not all(normalise_keys(keys)):
            raise KeymapError(f"{where}{line}: {binding_id} needs keys like \"j,down\", got {keys!r}")
        if any(" " in k for k in normalise_keys(keys)):
            raise KeymapError(f"{where}{line}: {binding_id}: a key name has a space in {keys!r}")
        merged[binding_id] = keys
    _check_clashes(merged, where, text)
    return merged


def _check_clashes(keymap: dict[str, str], where: str, text: str) -> None:
    owners: dict[tuple[str, str], str] = {}
    for binding_id, keys in keymap.items():
        scope = BY_ID[binding_id].scope
        for key in normalise_keys(keys):
            for sc in {scope, "app"} if scope != "app" else {"app", "reading", "library"}:
                other = owners.get((sc, key))
                if other and other != binding_id:
                    line = _line_of(text, binding_id) or _line_of(text, other)
                    raise KeymapError(f"{where}{line}: key {key!r} is bound to both {other} and {binding_id}")
            owners[(scope, key)] = binding_id


def load_keymap(name_or_file: str | None) -> dict[str, str]:
    if not name_or_file:
        return default_keymap()
    path = find_keymap(name_or_file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeymapError(f"{path}: cannot read ({exc})") from None
    return parse_keymap(text, str(path))
