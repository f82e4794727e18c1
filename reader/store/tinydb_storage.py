"""The TinyDB storage of annotation files, incremental, atomic and durable; the only module that imports tinydb.
One record per line, sorted by id: the bytes depend only on the set of records (small git diffs), and a keystroke
re-serialises only the records it changed."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, TypedDict

import msgspec
from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from reader.store.errors import StoreCorrupt, StoreReadOnly
from reader.store.files import atomic_write, file_key, json_line, read_json

TABLE = "_default"  # TinyDB's default table: `RecordDB(path, storage=AtomicJSONStorage).all()` reads a file
Lines = dict[str, dict[str, bytes]]  # per table, key -> the record's line as written


class AtomicJSONStorage(Storage):
    """TinyDB storage: atomic durable writes (stock TinyDB never fsyncs), one record per line, the data kept in
    memory after one read (when opened). A file that does not parse raises StoreCorrupt and is never overwritten."""

    def __init__(self, path: Path | str, *, read_only: bool = False, **_: Any) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._rendered: Lines | None = None
        try:
            stat = self.path.stat()
            data = read_json(self.path)
        except FileNotFoundError:
            data, stat = None, None
        except IsADirectoryError:
            raise StoreCorrupt(self.path, "a folder where a file was expected") from None
        if data is not None and not isinstance(data, dict):
            raise StoreCorrupt(self.path, "not a TinyDB file: the top level is not an object")
        for name, table in (data or {}).items():
            if not isinstance(table, dict):
                raise StoreCorrupt(self.path, f"table {name!r} is not an object")
            for key, record in table.items():
                if not isinstance(record, dict):
                    raise StoreCorrupt(self.path, f"record {key!r} is not an object")
                if (problem := record_problem(record)) is not None:
                    raise StoreCorrupt(self.path, f"record {key!r}: {problem}")
        self._tables: dict[str, dict[str, Any]] | None = data
        self._disk_key = None if stat is None else file_key(stat)  # as last read or written; None: no file

    def read(self) -> dict[str, dict[str, Any]] | None:
        # a shallow copy: TinyDB assigns tables into what it reads, which must not touch our state before a write
        return None if self._tables is None else dict(self._tables)

    def changed_on_disk(self) -> bool:
        """Whether someone else (git, an editor) replaced or removed the file since we read or wrote it."""
        try:
            return file_key(self.path.stat()) != self._disk_key
        except FileNotFoundError:
            return self._disk_key is not None
        except OSError:
            return True

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        self._commit(data, _render(data))

    def _commit(self, data: dict[str, dict[str, Any]], rendered: Lines) -> None:
        if self.read_only:
            raise StoreReadOnly(f"{self.path} is open read-only")
        stat = atomic_write(self.path, _compose(rendered))
        self._rendered = rendered
        self._tables = dict(data)
        self._disk_key = file_key(stat)

    def render(self) -> Lines:
        """Serialise what was read, so that the first write after opening is as cheap as the others."""
        if self._rendered is None:
            self._rendered = _render(self._tables or {})
        return self._rendered


def encode_tables(tables: Mapping[str, Mapping[str, Any]]) -> bytes:
    """The exact bytes `AtomicJSONStorage` writes for these tables (what the git merge driver writes)."""
    return _compose(_render(tables))


def _render(tables: Mapping[str, Mapping[str, Any]]) -> Lines:
    return {str(name): {str(key): _entry(key, record) for key, record in table.items()}
            for name, table in tables.items()}


def _entry(key: Any, record: Any) -> bytes:
    return json_line(str(key)) + b": " + json_line(record)


def _compose(rendered: Lines) -> bytes:
    parts = []
    for name in sorted(rendered):
        lines = rendered[name]
        body = b"\n" + b",\n".join([lines[key] for key in sorted(lines)]) + b"\n" if lines else b""
        parts.append(b"\n" + json_line(name) + b": {" + body + b"}")
    return b"{" + b",".join(parts) + b"\n}\n"


OFFSET_KEYS = ("start", "end")  # record keys that hold a character offset into the stored text: an int ≥ 0
TEXT_KEYS = ("id", "kind", "label", "annotator", "created", "updated", "status", "predicted", "text", "target",
             "model")  # record keys that hold a string when present


def record_problem(record: Mapping[str, Any]) -> str | None:
    """Why a record cannot be one reader wrote (a hand edit, a bad merge), else None: a bad value would fail far
    from the file, so the file is reported as damaged here."""
    for name in OFFSET_KEYS:
        value = record.get(name, 0)
        if type(value) is not int or value < 0:
            return f"{name} is {value!r:.40}, not a character offset"
    for name in TEXT_KEYS:
        if type(value := record.get(name, "")) is not str:
            return f"{name} is {value!r:.40}, not a string"
    if not isinstance(record.get("quote", {}), dict):
        return "its quote is not an object"
    return None


class RecordTable(Table):
    """A TinyDB table whose document ids are the records' own string ids."""

    document_id_class = str


class RecordDB(TinyDB):
    """TinyDB over an annotation file: `RecordDB(path, storage=AtomicJSONStorage).all()` gives its records."""

    table_class = RecordTable


class AnnotationFile(AtomicJSONStorage):
    """One annotator's records of one document, each under its own id (else StoreCorrupt), kept in memory."""

    def __init__(self, path: Path, *, read_only: bool) -> None:
        super().__init__(path, read_only=read_only)
        for key, record in self.table.items():
            if record.get("id") != key:
                raise StoreCorrupt(path, f"the record under {key!r} has the id {record.get('id')!r}")
        if not read_only:
            try:
                self.render()
            except (TypeError, ValueError) as exc:  # NaN or Infinity, which json reads but never writes
                raise StoreCorrupt(path, f"a value JSON does not allow ({exc})") from None

    @property
    def table(self) -> dict[str, dict]:
        return (self.read() or {}).get(TABLE, {})

    def apply(self, upserts: dict[str, dict], deletes: set[str]) -> None:
        """Delete, then upsert, re-serialising only the records that change; no change, no write."""
        rendered = self.render()
        table, lines = dict(self.table), dict(rendered.get(TABLE, {}))
        gone = [key for key in deletes - upserts.keys() if key in table]
        new = {key: record for key, record in upserts.items() if table.get(key) != record}
        if gone or new:
            for key in gone:
                del table[key], lines[key]
            table.update(new)
            lines.update((key, _entry(key, record)) for key, record in new.items())
            self._commit({**(self._tables or {}), TABLE: table}, {**rendered, TABLE: lines})


@functools.cache
def _subset_decoder(fields: tuple[str, ...]) -> Any:
    offset = Annotated[int, msgspec.Meta(ge=0)]
    types = {name: offset if name in OFFSET_KEYS else str if name in TEXT_KEYS else
             dict if name == "quote" else Any for name in fields}  # what `record_problem` checks, checked in C
    record = TypedDict("Record", types, total=False)  # type: ignore[misc]
    return msgspec.json.Decoder(dict[str, dict[str, record]]).decode  # type: ignore[valid-type]


def read_subset(path: Path, fields: tuple[str, ...]) -> dict[str, dict] | None:
    """An annotation file's records with only `fields` of each (the quotes are half a file), for a reader that never
    writes them back; None when this fast path cannot tell (no file, damage): the ordinary read reports it."""
    try:
        tables = _subset_decoder(fields)(path.read_bytes())
    except Exception:
        return None
    table = tables.get(TABLE, {})
    return table if all(record.get("id") == key for key, record in table.items()) else None
