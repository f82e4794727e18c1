"""Untrusted strings: the one set of rules every door applies before a string reaches the store. A control
character (ESC, C1 `\\x9b`) would reach the terminal of whoever prints it later, and a lone surrogate cannot be
written as UTF-8. **text** (document and note text): `\\n` line endings, controls but `\\n`/`\\t` and lone
surrogates removed, no leading BOM; **one-line values** (meta, file names, titles): the same, and runs of breaks
and tabs become one space; **names** (labels, annotators): NFC, then `NAME` or refused, since a name is an
identity. Markup is no concern here: renderers show data as `Text`/`Content`."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")  # C0 but \n \t, DEL, C1, lone surrogates
_CONTROL_ONLY = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SHOWN_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")
_BREAKS = re.compile("[ ]*[\n\t\u2028\u2029][\n\t\u2028\u2029 ]*")
NAME = re.compile(r"\w(?:[\w .\-/]{0,38}[\w.\-/])?")  # `\w` is Unicode-aware: é, ß, 中 pass as typed
NAME_RULE = "1-40 letters, digits, spaces, _ - . / (starting with a letter, digit or _, no space at the end)"


class UntrustedError(ValueError):
    """A value refused at a door; each door prefixes the file, line or record it came from."""


def has_control(value: str) -> bool:
    """Whether a string holds a control character but \\n/\\t (the store can write lone surrogates, escaped)."""
    return _CONTROL_ONLY.search(value) is not None


def clean_text(text: str) -> str:
    """Document and note text: CR line endings, controls (but `\\n`/`\\t`), lone surrogates, leading BOMs removed."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text.lstrip("\ufeff")  # last, so that cleaning is idempotent


def clean_line(value: str) -> str:
    """A one-line value (title, author, file name, url...): text rules, then breaks and tabs become a space."""
    return _BREAKS.sub(" ", clean_text(value).replace("\ufeff", "")).strip()


def clean_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Every key and string value one-line cleaned, nested ones too; UntrustedError for a key emptied or clashing."""
    cleaned: dict[str, Any] = {}
    for key, value in meta.items():
        if not (name := clean_line(str(key))):
            raise UntrustedError(f"meta key {key!r} is empty once control characters are removed")
        if name in cleaned:
            raise UntrustedError(f"meta key {key!r} is the same as {name!r} once control characters are removed")
        cleaned[name] = _clean_value(value)
    return cleaned


def _clean_value(value: Any) -> Any:
    if isinstance(value, str):
        return clean_line(value)
    if isinstance(value, Mapping):
        return clean_meta(value)
    if isinstance(value, list | tuple):
        return [_clean_value(x) for x in value]
    return value


def check_name(value: object, what: str = "name", error: type[Exception] = UntrustedError) -> str:
    """The name in NFC, or `error` saying what was wrong (`what`: "label", "annotator"...)."""
    if not isinstance(value, str):
        raise error(f"{what} must be text, not {type(value).__name__}")
    name = unicodedata.normalize("NFC", value)
    if NAME.fullmatch(name) is None:
        raise error(f"{what} {value!r:.60} is not a valid name ({NAME_RULE})")
    return name


def visible(text: str, *, one_line: bool = False) -> str:
    """Controls (`one_line`: breaks and tabs too) as `\\x1b`-style escapes, for an old store or a command line."""
    pattern = _SHOWN_ONE_LINE if one_line else _CONTROL
    return pattern.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"), text)
