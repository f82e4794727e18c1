"""Key bindings: one table of binding ids and their default keys, and keymap files (TOML) that rebind them, checked
before Textual sees them so a typo names the file and entry instead of leaving a dead key."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import msgspec
from textual.binding import Binding
from textual.keys import KEY_NAME_REPLACEMENTS, REPLACED_KEYS, Keys, format_key, key_to_character

from reader.labels import line_of, read_text, read_toml, schema_error

SHIPPED_KEYMAPS = Path(__file__).resolve().parent.parent / "keymaps"  # a symlink in a checkout, copies in a wheel


class KeymapError(Exception):
    """A keymap that cannot be applied; the message names the file and the entry."""


class Keymap(dict[str, str]):
    """Binding id → keys, plus the loader's warnings (keys that work in Textual but no terminal sends)."""

    def __init__(self, keys: Mapping[str, str], warnings: list[str] | None = None) -> None:
        super().__init__(keys)
        self.warnings: list[str] = list(warnings or [])


@dataclass(frozen=True)
class Action:
    id: str
    scope: str  # `app`, `reading`, `review` or `library`: keys clash only between scopes on one screen
    action: str
    description: str
    keys: str
    footer: str = ""  # short label in the footer, where only the actions that have one are shown
    priority: bool = False  # run as the key arrives: `/autorité` typed fast goes into the search box


AZERTY_DIGITS = ("ampersand", "é", "quotation_mark", "apostrophe", "left_parenthesis", "minus", "è",  # 1-9 unshifted
                 "underscore", "ç")

ACTIONS: tuple[Action, ...] = (
    Action("reader.quit", "app", "quit", "Quit", "q", footer="Quit"),
    Action("reader.help", "app", "help", "Show every key", "question_mark,f1", footer="Keys"),
    Action("reader.command-palette", "app", "command_palette", "Command palette", "ctrl+p", footer="Commands"),
    Action("reader.next-sentence", "reading", "sentence(1)", "Next sentence", "j,down"),
    Action("reader.prev-sentence", "reading", "sentence(-1)", "Previous sentence", "k,up"),
    Action("reader.next-entity", "reading", "entity(1)", "Next entity", "e,right_square_bracket", footer="Entity"),
    Action("reader.prev-entity", "reading", "entity(-1)", "Previous entity", "E,left_square_bracket"),
    Action("reader.page-down", "reading", "page(1)", "Page down", "pagedown,space"),
    Action("reader.page-up", "reading", "page(-1)", "Page up", "pageup,b"),
    Action("reader.top", "reading", "goto(0)", "Top of the document", "home,g"),
    Action("reader.bottom", "reading", "goto(-1)", "End of the document", "end,G"),
    Action("reader.search", "reading", "search", "Search", "slash", footer="Search", priority=True),
    Action("reader.next-match", "reading", "match(1)", "Next match", "greater_than_sign,f3"),
    Action("reader.prev-match", "reading", "match(-1)", "Previous match", "less_than_sign"),
    Action("reader.toggle-panel", "reading", "toggle_panel", "Show/hide the side panel", "p"),
    Action("reader.focus-panel", "reading", "focus_panel", "Switch between text and panel", "tab"),
    Action("reader.library", "reading", "library", "Library of documents", "o", footer="Library"),
    *(
        Action(f"reader.tag-{n}", "reading", f"tag({n})", f"Toggle label {n} on the sentence",
               f"{n},{AZERTY_DIGITS[n - 1]}")
        for n in range(1, 10)
    ),
    Action("reader.pick-label", "reading", "pick_label", "Pick a label for the sentence (any label)", "equals_sign"),
    Action("reader.note", "reading", "note", "Note on the sentence (or entity)", "n", footer="Note"),
    Action("reader.document-note", "reading", "document_note", "Note on the document", "N"),
    Action("reader.notes-panel", "reading", "notes_panel", "List the document's notes", "ctrl+n"),
    Action("reader.accept-entity", "reading", "accept_entity", "Accept the entity", "a"),
    Action("reader.reject-entity", "reading", "reject_entity", "Reject the entity", "x"),
    Action("reader.relabel-entity", "reading", "relabel_entity", "Relabel the entity", "r"),
    Action("reader.entity-accept-all", "reading", "entity_all('accept')", "Accept every mention of the entity",
           "ctrl+a"),
    Action("reader.entity-reject-all", "reading", "entity_all('reject')", "Reject every mention of the entity",
           "ctrl+x"),
    Action("reader.entity-relabel-all", "reading", "entity_all('relabel')", "Relabel every mention of the entity",
           "R"),
    Action("reader.extend-right", "reading", "extend(1)", "Select: extend one token right", "shift+right"),
    Action("reader.extend-left", "reading", "extend(-1)", "Select: extend one token left", "shift+left"),
    Action("reader.add-entity", "reading", "add_entity", "Add the selection as an entity", "plus,enter"),
    Action("reader.clear-selection", "reading", "clear_selection", "Clear the selection", "escape"),
    Action("reader.undo", "reading", "undo", "Undo", "u,ctrl+z", footer="Undo"),
    Action("reader.redo", "reading", "redo", "Redo", "ctrl+r,ctrl+y"),
    Action("reader.accept-suggestion", "reading", "accept_suggestion", "Accept the suggested labels", "Y"),
    Action("reader.dismiss-suggestion", "reading", "dismiss_suggestion", "Dismiss the suggested labels", "X"),
    Action("reader.next-uncertain", "reading", "next_uncertain", "Next least certain suggestion", "s"),
    Action("reader.done", "reading", "done", "Mark the document done / not done", "D"),
    Action("reader.next-conflict", "review", "next_conflict", "Next conflict between annotators", "c",
           footer="Conflict"),
    Action("reader.prev-conflict", "review", "prev_conflict", "Previous conflict between annotators", "C"),
    Action("reader.take-version", "review", "take_version", "Take one annotator's version (picker)", "t",
           footer="Take"),
    Action("reader.take-all", "review", "take_all", "Take every version (the union)", "T"),
    Action("reader.take-none", "review", "take_none", "Take none of the versions", "0,à"),
    Action("reader.open-document", "library", "open_document", "Open the document", "enter,o"),
    Action("reader.library-quit", "library", "back", "Back to the document", "escape"),
    Action("reader.library-sort", "library", "sort", "Sort the library (date, title, source, progress, done)", "s",
           footer="Sort"),
    Action("reader.library-search", "library", "search_library",
           "Search every sentence (words, label:, entity:, by:, in:notes)", "f", footer="Find"),
    Action("reader.library-entities", "library", "entities", "Every entity of the library, with its mentions", "e",
           footer="Entities"),
)

BY_ID = {a.id: a for a in ACTIONS}

# The scopes active on each kind of screen besides `app`: a review key must not clash with a reading key.
SCREENS: dict[str, tuple[str, ...]] = {"reading": ("reading",), "library": ("library",),
                                       "review": ("reading", "review")}


def screen_scopes(screen: str) -> tuple[str, ...]:
    """Every scope whose bindings work on a screen (on a dialog, which has keys of its own, only the app's)."""
    return ("app", *SCREENS.get(screen, ()))


def _scopes(binding_id: str) -> tuple[str, ...]:
    """The screens (and `app`) where a binding is active: two bindings clash when these meet."""
    scope = BY_ID[binding_id].scope
    return ("app", *SCREENS) if scope == "app" else tuple(s for s, scopes in SCREENS.items() if scope in scopes)


def bindings(scope: str) -> list[Binding]:
    """Textual bindings of one scope, each with its id so that `App.set_keymap` can rebind it."""
    return [
        # The footer docks the palette's key at its right by itself, with this short label (the long one left no
        # room for `? Keys` at 80 columns under the emacs keymap), so it is not listed with the others.
        Binding(a.keys, a.action, a.footer or a.description, show=bool(a.footer) and a.action != "command_palette",
                id=a.id, priority=a.scope == "app" or a.priority, tooltip=a.description)
        for a in ACTIONS
        if a.scope == scope
    ]


def key_name(char: str) -> str:
    """Textual's name for the key that types `char` (`/` is `slash`), from the Unicode name as Textual does."""
    if char.isalnum():
        return char
    name = unicodedata.name(char, char).lower().replace("-", "_").replace(" ", "_")
    return KEY_NAME_REPLACEMENTS.get(name, name)


def normalise_keys(keys: str) -> list[str]:
    return [key_name(k) if len(k) == 1 else k for k in (p.strip() for p in keys.split(","))]


# What a terminal sends (legacy xterm encoding, meta sends Esc: what a default tmux gives the application), as a
# few rules and one table; tests/test_keymap.py checks them against keys pressed in a real tmux.
SENT_AS = {"alt+f": "ctrl+right", "alt+b": "ctrl+left", "alt+backspace": "ctrl+w", "alt+tab": "shift+tab",
           "ctrl+space": "ctrl+@", "ctrl+at": "ctrl+@", "ctrl+h": "backspace", "ctrl+i": "tab", "ctrl+m": "enter",
           "ctrl+left_square_bracket": "escape", "ctrl+question_mark": "backspace"}  # sent like another key
NAMED = {"up", "down", "left", "right", "home", "end", "pageup", "pagedown", "insert", "delete",
         *(f"f{n}" for n in range(1, 25))}  # escape sequences that carry every modifier (but f3's)
PLAIN = ("tab", "enter", "escape", "backspace", "space")  # one control character: a modifier is lost
MODIFIER_BITS = {"shift": 1, "alt": 2, "ctrl": 4}
KEY_NAMES = frozenset({k.value for k in Keys} | set(PLAIN) | NAMED)


def _split_key(key: str) -> tuple[list[str], str]:
    if key in ("plus", "+"):
        return [], "plus"
    *mods, base = key.split("+")
    return mods, base


def _arrival(key: str) -> tuple[tuple[str, ...], str | None]:
    """The key names Textual reports when `key` is pressed in xterm or tmux, and why that does not work (None)."""
    mods, base = _split_key(key)
    char = base if len(base) == 1 else key_to_character(REPLACED_KEYS.get(base, base))
    if set(mods) - {*MODIFIER_BITS, "super", "hyper", "meta"} or not (base in KEY_NAMES or key in KEY_NAMES or char):
        return (), f"{key!r} is not a key name Textual knows (see `reader keys` for examples)"
    if set(mods) - set(MODIFIER_BITS):
        return (), f"{key}: only terminals speaking the kitty keyboard protocol send super/hyper/meta"
    if key in SENT_AS:
        return (SENT_AS[key],), None
    if (base == "f3" and mods) or not (char or base in NAMED or base in PLAIN):
        sent = f"\x1b[1;{sum(MODIFIER_BITS[m] for m in set(mods)) + 1}R"
        return (), (f"{key}: xterm and tmux send it as {sent!r}, which Textual takes for a cursor-position report "
                    "and drops; bind another key")
    lost: list[str] = []
    if base in NAMED:
        arrived = "+".join([*(m for m in ("alt", "ctrl", "shift") if m in mods), base])  # Textual's order
    elif base == "escape" and "alt" in mods:
        return ("escape", "escape"), f"{key}: arrives as escape then escape, not as one key"
    elif base in PLAIN:
        arrived, lost = (key, []) if key == "shift+tab" else (base, mods)
    elif "ctrl" in mods and "@" <= char.upper() <= "_":
        arrived = f"ctrl+{key_name(char.lower())}"
        arrived, lost = SENT_AS.get(arrived, arrived), [m for m in mods if m != "ctrl"]
    else:
        lost = [m for m in mods if m == "ctrl" or (m in ("shift", "alt") and not char.isalpha())]
        if "shift" in mods and char.isupper():
            lost.append("shift")
        if "shift" in mods:
            char = char.upper()
        arrived = key_name(char)
        if "alt" in mods and char.isalpha():
            arrived = f"alt+shift+{char.lower()}" if char.isupper() else f"alt+{arrived}"
    if lost:
        return (arrived,), (f"{key}: terminals send it as {display_key(arrived)} (the {'+'.join(lost)} is lost); "
                            f"bind {arrived} or another key instead")
    return (arrived,), None


def arrives_as(key: str) -> tuple[str, ...]:
    """The key names Textual reports when `key` is pressed in xterm or tmux (empty: it never sees it)."""
    return _arrival(key)[0]


def terminal_aliases(key: str) -> list[str]:
    """Other names under which `key` reaches the app (alt+f arrives as ctrl+right): bound too, shown nowhere."""
    arrived, problem = _arrival(key)
    return [arrived[0]] if problem is None and arrived[0] != key else []


def key_problem(key: str) -> str | None:
    """Why no terminal delivers `key` as itself or under an alias, with what to bind instead; None if it works."""
    return _arrival(key)[1]


def expand_keys(keymap: Mapping[str, str]) -> tuple[dict[str, list[str]], list[str]]:
    """Every binding's keys plus the aliases terminals send for them; a warning per alias another binding keeps."""
    expanded = {binding_id: normalise_keys(keys) for binding_id, keys in keymap.items()}
    taken = {(scope, key): i for i, keys in reversed(expanded.items()) for key in keys for scope in _scopes(i)}
    warnings = []
    for binding_id, keys in expanded.items():
        for key in list(keys):
            for alias in terminal_aliases(key):
                owner = next((taken[(sc, alias)] for sc in _scopes(binding_id) if (sc, alias) in taken), None)
                if owner is None:
                    keys.append(alias)
                    taken.update({(scope, alias): binding_id for scope in _scopes(binding_id)})
                elif owner != binding_id:
                    warnings.append(f"{binding_id}: {key} arrives as {alias} in a terminal, which is "
                                    f"{owner}'s key: {key} will do {owner}")
    return expanded, warnings


def textual_keymap(keymap: Mapping[str, str]) -> dict[str, str]:
    """For Textual: a binding also fires on what terminals send for its keys (alt+f on ctrl+right)."""
    return {binding_id: ",".join(keys) for binding_id, keys in expand_keys(keymap)[0].items()}


def keymap_warnings(keymap: Mapping[str, str], where: str = "", text: str = "") -> list[str]:
    """Keys in a keymap that no terminal sends, and aliases that land on another binding's key."""
    problems = [(f"{where}{line_of(text, binding_id)}", f"{binding_id}: {problem}")
                for binding_id, keys in keymap.items() for key in normalise_keys(keys)
                if (problem := key_problem(key))]
    problems += [(where, w) for w in expand_keys(keymap)[1]]
    return [f"{place}: {warning}" if where else warning for place, warning in problems]


def default_keymap() -> Keymap:
    return Keymap({a.id: a.keys for a in ACTIONS})


def display_key(key: str) -> str:
    """A key as people read it: `/` for slash, `pgdn` for pagedown."""
    mods, base = _split_key(key)
    return "+".join([*mods, format_key(base)])


def show_keys(keys: str) -> str:
    """Comma-separated keys as people read them: `j, ↓`."""
    return ", ".join(display_key(k) for k in normalise_keys(keys))


def keys_for(keymap: Mapping[str, str] | None, binding_id: str, *, every: bool = False) -> str:
    """The key(s) of a binding under the active keymap, for hints, so no user-facing string hard-codes a key."""
    keys = (keymap or {}).get(binding_id) or BY_ID[binding_id].keys
    return show_keys(keys) if every else display_key(normalise_keys(keys)[0])


def find_keymap(name_or_file: str) -> Path:
    """A keymap by name (`vim`, looked up in keymaps/ folders) or by path."""
    from platformdirs import user_config_path

    candidate = Path(name_or_file).expanduser()
    if candidate.suffix == ".toml" or candidate.is_file() or "/" in name_or_file:
        if not candidate.is_file():
            raise KeymapError(f"{name_or_file}: no such keymap file")
        return candidate
    folders = [Path.cwd() / "keymaps", user_config_path("reader") / "keymaps", SHIPPED_KEYMAPS]
    for folder in folders:
        if (folder / f"{name_or_file}.toml").is_file():
            return folder / f"{name_or_file}.toml"
    names = sorted({p.stem for d in folders if d.is_dir() for p in d.glob("*.toml")})
    raise KeymapError(f"unknown keymap {name_or_file!r} (available: {', '.join(names) or 'none'})")


class _KeymapFile(msgspec.Struct, forbid_unknown_fields=True):
    keys: dict[str, object] = {}
    name: str = ""
    description: str = ""


def parse_keymap(text: str, where: str) -> Keymap:
    """Defaults overlaid with the file, warned about keys no terminal sends (kept: kitty's protocol may send them)."""
    try:
        table = msgspec.convert(read_toml(text, where, KeymapError), _KeymapFile).keys
    except msgspec.ValidationError as exc:
        _, field = schema_error(exc)
        if field == "keys":
            raise KeymapError(f"{where}: [keys] must be a table of binding id = \"keys\"") from None
        raise KeymapError(f"{where}{line_of(text, field)}: unknown entry {field!r} (expected a [keys] table)") from None
    merged = default_keymap()
    for binding_id, keys in table.items():
        line = line_of(text, binding_id)
        if binding_id not in BY_ID:
            raise KeymapError(f"{where}{line}: unknown binding id {binding_id!r} (see `reader keys`)")
        if not isinstance(keys, str) or not all(normalise_keys(keys)):
            raise KeymapError(f"{where}{line}: {binding_id} needs keys like \"j,down\", got {keys!r}")
        if any(" " in k for k in normalise_keys(keys)):
            raise KeymapError(f"{where}{line}: {binding_id}: a key name has a space in {keys!r}")
        merged[binding_id] = keys
    _check_clashes(merged, where, text, set(table))
    return Keymap(merged, keymap_warnings(merged, where, text))


def _check_clashes(keymap: Mapping[str, str], where: str, text: str, changed: set[str] = frozenset()) -> None:
    owners: dict[tuple[str, str], str] = {}
    for binding_id, keys in keymap.items():
        for key in normalise_keys(keys):
            for scope in _scopes(binding_id):
                other = owners.setdefault((scope, key), binding_id)
                if other != binding_id:
                    line = line_of(text, binding_id) or line_of(text, other)
                    raise KeymapError(f"{where}{line}: key {key!r} is bound to both {other} and {binding_id}"
                                      f"{_clash_hint(keymap, key, other, binding_id, changed)}")


def _clash_hint(keymap: Mapping[str, str], key: str, first: str, second: str, changed: set[str]) -> str:
    """Which binding to move: the one still on its default key, since the file chose the key for the other."""
    if (first in changed) == (second in changed):
        return ""
    keep, move = (first, second) if first in changed else (second, first)
    rest = [k for k in normalise_keys(keymap[move]) if k != key]
    kept = f" (it keeps {', '.join(rest)})" if rest else ""
    used = {k for i, keys in keymap.items() if set(_scopes(i)) & set(_scopes(move)) for k in normalise_keys(keys)}
    free = next((c for c in "yzwvtsiqmlhfdcb" if c not in used), "...")
    return (f"; {keep} takes {display_key(key)} from {move}'s default keys: give {move} another key too, "
            f"e.g. \"{move}\" = \"{free}\"{kept}")


def load_keymap(name_or_file: str | None) -> Keymap:
    if not name_or_file:
        return Keymap(default_keymap(), keymap_warnings(default_keymap()))
    path = find_keymap(name_or_file)
    return parse_keymap(read_text(path, KeymapError), str(path))
