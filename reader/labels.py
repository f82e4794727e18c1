"""Sentence label sets, from TOML: a name, a key (1-9; the rest are tagged from the label picker), a colour and a
description per label. Label files are untrusted: names follow `reader.untrusted`'s grammar."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from reader.untrusted import NAME_RULE, UntrustedError, check_name, clean_line

DEFAULT_LABELS = Path(__file__).with_name("labels.toml")
COLOURS = ("blue", "green", "purple", "yellow", "orange", "red", "cyan", "teal", "grey")
"""Colour names map to theme-based styles (article-view--label-N), so every theme works."""


class LabelError(Exception):
    """A label file that cannot be used; the message names the file and the line."""


@dataclass(frozen=True)
class Label:
    name: str
    key: int | None  # the digit (1-9) that toggles it; None: reached from the label picker only
    colour: int
    description: str = ""


@dataclass(frozen=True)
class LabelSet:
    labels: tuple[Label, ...]
    exclusive: bool = False  # a sentence has at most one label; tagging another replaces it

    def by_key(self, key: int) -> Label | None:
        return next((lb for lb in self.labels if lb.key == key), None)

    def get(self, name: str) -> Label | None:
        return next((lb for lb in self.labels if lb.name == name), None)

    @property
    def names(self) -> list[str]:
        return [lb.name for lb in self.labels]


class _Entry(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    key: Annotated[int, msgspec.Meta(ge=1, le=9)] = 0
    colour: Literal[COLOURS] | None = None
    color: Literal[COLOURS] | None = None
    description: str = ""


class _LabelFile(msgspec.Struct):
    label: Annotated[list[_Entry], msgspec.Meta(min_length=1)]
    exclusive: bool = False


PROBLEMS = {
    "label": "no labels (expected [[label]] tables with name, key, colour, description)",
    "exclusive": "exclusive must be true or false",
    "name": f"label {{number}} needs a name ({NAME_RULE})",
    "key": "label {name!r}: key must be a digit 1-9, got {value!r} (only 9 labels can have a key: leave `key` out "
           "and the label is tagged from the label picker)",
    "colour": f"label {{name!r}}: colour must be one of {', '.join(COLOURS)}",
    "description": "label {name!r}: description must be text",
}
"""One line per field a schema error can be about (`color` is `colour`); any other field is unknown."""


def read_text(path: Path, error: type[Exception]) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read ({exc})") from None


def read_toml(text: str, where: str, error: type[Exception]) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{where}: not valid TOML ({exc})") from None


def schema_error(exc: msgspec.ValidationError) -> tuple[int | None, str]:
    """(entry number, field) a schema error is about: `$.label[2].key` is entry 3's key."""
    message, _, path = str(exc).partition(" - at `$.")
    named = re.search(r"field `([^`]+)`", message)
    parts = re.findall(r"\w+", path)
    entry = next((int(p) + 1 for p in parts if p.isdigit()), None)
    return entry, named[1] if named else next((p for p in reversed(parts) if not p.isdigit()), "")


def line_of(text: str, field: str, entry: int | None = None) -> str:
    """":N" for the line of a top-level field (or of entry N's field, or of the entry), "" if unknown."""
    lines = text.splitlines()
    blocks = [i for i, line in enumerate(lines) if re.match(r"\s*\[\[\s*label\s*\]\]", line)]
    if entry is not None and entry > len(blocks):
        return ""
    start, end = blocks[entry - 1] if entry else 0, [*blocks, len(lines)][entry or 0]
    pattern = rf"\s*\"?{re.escape(field)}\"?\s*="
    hit = next((i for i in range(start, end) if field and re.match(pattern, lines[i])), None)
    return f":{hit + 1}" if hit is not None else f":{start + 1}" if entry else ""


def parse_labels(text: str, where: str) -> LabelSet:
    data = read_toml(text, where, LabelError)
    try:
        parsed = msgspec.convert(data, _LabelFile, strict=False)
    except msgspec.ValidationError as exc:
        number, field = schema_error(exc)
        entry = data["label"][number - 1] if number else {}
        entry = entry if isinstance(entry, dict) else {}
        problem = PROBLEMS.get(field.replace("color", "colour"), "label {name!r} has unknown field {field!r}")
        message = problem.format(number=number, name=entry.get("name", number), field=field, value=entry.get(field))
        raise LabelError(f"{where}{line_of(text, field, number)}: {message}") from None
    labels: list[Label] = []
    for index, entry in enumerate(parsed.label, 1):
        try:
            name = check_name(entry.name, f"label {index}: the name")
        except UntrustedError as exc:
            raise LabelError(f"{where}{line_of(text, 'name', index)}: {exc}") from None
        key = entry.key or (index if index <= 9 else None)  # `key` is 1-9 when given
        colour = entry.colour or entry.color or COLOURS[(index - 1) % len(COLOURS)]
        if any(lb.name == name for lb in labels):
            raise LabelError(f"{where}{line_of(text, 'name', index)}: label {name!r} is defined twice")
        if key is not None and any(lb.key == key for lb in labels):
            raise LabelError(f"{where}{line_of(text, 'key', index)}: key {key} is used by two labels")
        labels.append(Label(name, key, COLOURS.index(colour), clean_line(entry.description)))
    return LabelSet(tuple(labels), parsed.exclusive)


def load_labels(path: Path | None = None) -> LabelSet:
    path = path or DEFAULT_LABELS
    return parse_labels(read_text(path, LabelError), str(path))
