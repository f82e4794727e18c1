"""JSON lines serialised by msgspec, and the output written (a file atomically, or stdout). A text with lone
surrogates, which no UTF-8 writer accepts, is written ASCII-escaped: the same JSON value."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from reader.export.result import ExportError, ExportResult

_ENCODER = msgspec.json.Encoder()
_ASCII = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)


def line(record: Any) -> bytes:
    """One record as one line of compact JSON, keys in insertion order, without the newline."""
    try:
        return _ENCODER.encode(record)
    except UnicodeEncodeError:
        return _ASCII.encode(msgspec.to_builtins(record)).encode("ascii")


def lines(records: list[Any]) -> bytes:
    try:
        return _ENCODER.encode_lines(records)
    except UnicodeEncodeError:
        return b"".join(line(record) + b"\n" for record in records)


_RAW_CONTROL = re.compile(rb"\x7f|\xc2[\x80-\x9f]")  # DEL and C1 controls: stdout may be a terminal


def write_export(result: ExportResult, output: Path | str | BinaryIO | None = None) -> int:
    """Write the dataset to a file (atomically), a binary stream, or stdout (None or "-"); returns its size."""
    if result.binary and (output is None or output == "-"):
        raise ExportError("the spacy format is a binary DocBin: give --output FILE.spacy")
    data = result.data
    if isinstance(output, str | Path) and output != "-":
        path = Path(output)
        if path.is_dir():
            raise ExportError(f"{path} is a folder: give a file name for --output")
        if not path.parent.is_dir():
            raise ExportError(f"cannot write {path}: the folder {path.parent} does not exist")
        try:
            from reader.store import atomic_write

            atomic_write(path, data)
        except OSError as exc:
            raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    elif output is None or output == "-":
        if _RAW_CONTROL.search(data):  # only a store written before reader.untrusted holds any
            data = _RAW_CONTROL.sub(lambda m: b"\\u%04x" % ord(m.group().decode("utf-8")), data)
        stream = sys.stdout.buffer
        stream.write(data)
        stream.flush()
    else:
        output.write(data)
        output.flush()
    return len(data)
