"""Sentence label sets, from TOML: a name, a key (1-9), a colour and a description per label."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_LABELS = Path(__file__).with_name("labels.toml")
COLOURS = ("blue", "green", "purple", "yellow", "orange", "red", "cyan", "teal", "grey")
"""Colour names map to theme-based styles (article-view--label-N), so every theme works."""
_NAME = re.compile(r"^[\w][\w .\-/]{0,39}$")


class LabelError(Exception):
    """A label file that cannot be used; the message names the file and the line."""


@dataclass(frozen=True)
class Label:
    name: str
    key: int
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


def _line(text: str, needle: str) -> str:
    for number, line in enumerate(text.splitlines(), 1):
        if needle and needle in line:
            return f":{number}"
    return ""


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
        raise LabelError(f"{where}{_line(text, 'exclusive')}: exclusive must be true or false")
    labels: list[Label] = []
    for index, entry in enumerate(entries, 1):
        name = entry.get("name")
        at = f"{where}{_line(text, f'{name}') if isinstance(name, str) else ''}"
        if not isinstance(name, str) or not _NAME.match(name):
            raise LabelError(f"{at}: label {index} needs a name (letters, digits, - _ . / and spaces)")
        unknown = set(entry) - {"name", "key", "colour", "color", "description"}
        if unknown:
            raise LabelError(f"{at}: label {name!r} has unknown field {sorted(unknown)[0]!r}")
        key = entry.get("key", index)
        if isinstance(key, str) and key.isdigit():
            key = int(key)
        if not isinstance(key, int) or isinstance(key, bool) or not 1 <= key <= 9:
            raise LabelError(f"{at}: label {name!r}: key must be a digit 1-9, got {key!r}")
        colour = entry.get("colour", entry.get("color", COLOURS[(index - 1) % len(COLOURS)]))
        if colour not in COLOURS:
            raise LabelError(f"{at}: label {name!r}: colour must be one of {', '.join(COLOURS)}")
        description = entry.get("description", "")
        if not isinstance(description, str):
            raise LabelError(f"{at}: label {name!r}: description must be text")
        if any(lb.name == name for lb in labels):
            raise LabelError(f"{at}: label {name!r} is defined twice")
        if any(lb.key == key for lb in labels):
            raise LabelError(f"{at}: key {key} is used by two labels")
        labels.append(Label(name, key, COLOURS.index(colour), description))
    return LabelSet(tuple(labels), exclusive)


def load_labels(path: Path | None = None) -> LabelSet:
    path = path or DEFAULT_LABELS
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelError(f"{path}: cannot read ({exc})") from None
    return parse_labels(text, str(path))
