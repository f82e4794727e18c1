"""Sentence label sets, from TOML: a name, a key (1-9), a colour and a description per label.

Only nine labels can have a key (the digit row); a set may hold more, and those without a key are tagged from
the label picker (`reader.pick-label`), like every other label.

A label file is a door like any other: names follow the name grammar of `reader.untrusted` (refused with the
file and line when they do not), descriptions are one-line cleaned (control characters removed, line breaks
and tabs folded to a space), since they are shown in the help and in dialogs.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from reader.untrusted import NAME_RULE, UntrustedError, check_name, clean_line

DEFAULT_LABELS = Path(__file__).with_name("labels.toml")
COLOURS = ("blue", "green", "purple", "yellow", "orange", "red", "cyan", "teal", "grey")
"""Colour names map to theme-based styles (article-view--label-N), so every theme works."""


class LabelError(Exception):
    """A label file that cannot be used; the message names the file and the line."""


@dataclass(frozen=True)
class Label:
    name: str
    key: int | None
    """The digit (1-9) that toggles it; None: reached from the label picker only."""
    colour: int
    description: str = ""


@dataclass(frozen=True)
class LabelSet:
    labels: tuple[Label, ...]
    exclusive: bool = False
    """Exclusive: a sentence has at most one label; tagging another replaces it."""

    def by_key(self, key: int) -> Label | None:
        return next((lb for lb in self.labels if lb.key == key), None)

    def get(self, name: str) -> Label | None:
        return next((lb for lb in self.labels if lb.name == name), None)

    @property
    def names(self) -> list[str]:
        return [lb.name for lb in self.labels]


def _line(text: str, entry: int | None, field: str | None = None) -> str:
    """":N" for the line of a label entry's field (or of the entry, or of a top-level field), "" if unknown."""
    lines = text.splitlines()
    blocks = [i for i, line in enumerate(lines) if re.match(r"\s*\[\[\s*label\s*\]\]", line)]
    start, end = 0, blocks[0] if blocks else len(lines)
    if entry is not None:
        if entry > len(blocks):
            return ""
        start = blocks[entry - 1]
        end = blocks[entry] if entry < len(blocks) else len(lines)
    if field:
        for i in range(start, end):
            if re.match(rf"\s*\"?{re.escape(field)}\"?\s*=", lines[i]):
                return f":{i + 1}"
    return f":{start + 1}" if entry is not None else ""


def parse_labels(text: str, where: str) -> LabelSet:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LabelError(f"{where}: not valid TOML ({exc})") from None
    entries = data.get("label")
    if not isinstance(entries, list) or not entries:
        raise LabelError(f"{where}: no labels (expected [[label]] tables with name, key, colour, description)")
    exclusive = data.get("exclusive", False)
    if not isinstance(exclusive, bool):
        raise LabelError(f"{where}{_line(text, None, 'exclusive')}: exclusive must be true or false")
    labels: list[Label] = []
    for index, entry in enumerate(entries, 1):
        name = entry.get("name")

        def at(field: str | None = None, index: int = index) -> str:
            return f"{where}{_line(text, index, field)}"

        if not isinstance(name, str):
            raise LabelError(f"{at('name')}: label {index} needs a name ({NAME_RULE})")
        try:
            name = check_name(name, f"label {index}: the name")
        except UntrustedError as exc:
            raise LabelError(f"{at('name')}: {exc}") from None
        unknown = set(entry) - {"name", "key", "colour", "color", "description"}
        if unknown:
            field = sorted(unknown)[0]
            raise LabelError(f"{at(field)}: label {name!r} has unknown field {field!r}")
        key = entry.get("key", index if index <= 9 else None)  # the tenth label on: no key unless given one
        if isinstance(key, str) and key.isdigit():
            key = int(key)
        if key is not None and (not isinstance(key, int) or isinstance(key, bool) or not 1 <= key <= 9):
            raise LabelError(f"{at('key')}: label {name!r}: key must be a digit 1-9, got {key!r} (only 9 labels "
                             "can have a key: leave `key` out and the label is tagged from the label picker)")
        colour = entry.get("colour", entry.get("color", COLOURS[(index - 1) % len(COLOURS)]))
        if colour not in COLOURS:
            field = "colour" if "colour" in entry else "color"
            raise LabelError(f"{at(field)}: label {name!r}: colour must be one of {', '.join(COLOURS)}")
        description = entry.get("description", "")
        if not isinstance(description, str):
            raise LabelError(f"{at('description')}: label {name!r}: description must be text")
        description = clean_line(description)
        if any(lb.name == name for lb in labels):
            raise LabelError(f"{at('name')}: label {name!r} is defined twice")
        if key is not None and any(lb.key == key for lb in labels):
            raise LabelError(f"{at('key')}: key {key} is used by two labels")
        labels.append(Label(name, key, COLOURS.index(colour), description))
    return LabelSet(tuple(labels), exclusive)


def load_labels(path: Path | None = None) -> LabelSet:
    path = path or DEFAULT_LABELS
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelError(f"{path}: cannot read ({exc})") from None
    return parse_labels(text, str(path))
