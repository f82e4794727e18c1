"""The store: a folder of JSON files that holds documents, cached analyses and everyone's annotations.

Layout (the folder can be kept in git; nothing in it is an index that could drift):

    reader-store.json                     {"schema": 1}
    .lock                                 held (flock) by the one process that may write
    documents/<doc_id>.json               {"id", "text", "meta"}, written once
    analyses/<doc_id>/<key>.json          a rebuildable cache: a file that does not parse is ignored
    annotations/<doc_id>/<annotator>.json a TinyDB file: {"_default": {"<record id>": record, ...}}

Every file is replaced atomically (temporary file in the same folder, fsync, rename, fsync of the folder), so
a crash leaves either the old or the new version. Annotation files hold one record per line, keyed and sorted
by the record's own "id": the bytes depend only on the set of records, so diffs stay small and two analysts
never touch the same file. Only the changed records are serialised again on a write, which keeps a keystroke
cheap in a document with thousands of annotations.

This is the only module that imports tinydb; it stores plain dicts and imports nothing from the project.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import fcntl
import itertools
import json
import os
import re
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from reader.untrusted import has_control

SCHEMA = 1
SCHEMA_FILE = "reader-store.json"
LOCK_FILE = ".lock"
TABLE = "_default"
"""TinyDB's default table: `RecordDB(path, storage=AtomicJSONStorage).all()` reads an annotation file."""

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.@+")
_MAX_NAME_BYTES = 200


class StoreError(Exception):
    """Something the user must know about the store; the message is meant for them as is."""


class StoreCorrupt(StoreError):
    """A file that does not parse. It is never overwritten: the user repairs it or restores it from git."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        super().__init__(f"{path} is damaged ({reason}); it was left untouched: repair it or restore it "
                         "(for example from git)")


class UnknownDocument(StoreError):
    """No document (or more than one) answers to an id or prefix."""


class StoreReadOnly(StoreError):
    """A write on a store opened read-only, or open for writing in another process."""


# --- file names ---------------------------------------------------------------------------------------


def encode_name(name: str, what: str = "name") -> str:
    """A reversible, filename-safe form of any name (percent-encoded UTF-8), so names round-trip exactly."""
    if not isinstance(name, str) or not name.strip():
        raise StoreError(f"the {what} must not be empty")
    try:
        raw = name.encode("utf-8")
    except UnicodeEncodeError:
        raise StoreError(f"the {what} {name!r} is not valid text") from None
    out = []
    for i, ch in enumerate(name):
        if ch in _SAFE and not (i == 0 and ch == "."):
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    encoded = "".join(out)
    if len(encoded) > _MAX_NAME_BYTES:
        raise StoreError(f"the {what} is too long ({len(raw)} bytes): {name[:40]!r}…")
    return encoded


def decode_name(encoded: str) -> str:
    return unquote(encoded, errors="strict")


def _control_in(value: Any) -> str | None:
    """The first string (key or value) holding a control character other than \\n/\\t, else None.

    The last line of defence behind `reader.untrusted` (which every door applies): a bug in a door must not put
    an escape on disk. One regex search per string: a keypress's record costs a few microseconds.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if has_control(item):
                return item
        elif isinstance(item, Mapping):
            for key, sub in item.items():
                if isinstance(key, str) and has_control(key):
                    return key
                if not isinstance(sub, int | float | bool | None):
                    stack.append(sub)
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return None


def _is_store_file(name: str) -> bool:
    return name.endswith(".json") and not name.startswith(".")


def _natural(text: str) -> tuple:
    """Sort key that puts `x.jsonl:2` before `x.jsonl:10` (sources are file names and line numbers)."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


# --- atomic, durable files -----------------------------------------------------------------------------


def _fsync(fd: int) -> None:
    if hasattr(fcntl, "F_FULLFSYNC"):  # macOS: fsync alone does not flush the drive's cache
        try:
            fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
            return
        except OSError:
            pass
    os.fsync(fd)


def fsync_dir(path: Path | str) -> None:
    """Make renames and new entries in a folder durable."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        _fsync(fd)
    finally:
        os.close(fd)


_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def atomic_write(path: Path | str, data: bytes, *, durable: bool = True) -> os.stat_result:
    """Replace `path` by `data` so that the file is always a complete old or new version.

    With `durable` the call returns only once the data and the rename are on disk. Returns the new file's
    stat (its inode and times tell later whether someone else replaced it).
    """
    path = Path(path)
    folder = path.parent
    tmp = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_CLOEXEC, 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if durable:
                _fsync(fd)
            stat = os.fstat(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(folder)
    return stat


def _json_line(value: Any) -> bytes:
    """Compact deterministic JSON on one line; readable UTF-8 unless the text holds lone surrogates."""
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, sort_keys=True, ensure_ascii=True, allow_nan=False).encode("ascii")


def encode_record(record: dict) -> bytes:
    """The bytes `Store.cache_analysis` writes for a record (without the final newline)."""
    return _json_line(record)


def _json_file(value: Any) -> bytes:
    try:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False, indent=2)
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        return json.dumps(value, sort_keys=True, ensure_ascii=True, allow_nan=False, indent=2).encode() + b"\n"


def _read_json(path: Path) -> Any:
    """Parsed content; FileNotFoundError passes through, anything unparsable raises StoreCorrupt."""
    data = path.read_bytes()
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        reason = f"not valid JSON: {exc.msg}, line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) \
            else "not valid JSON"
        raise StoreCorrupt(path, reason) from None


def _file_key(stat: os.stat_result) -> tuple[int, int, int]:
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


class AtomicJSONStorage(Storage):
    """TinyDB storage: atomic durable writes, one record per line, the data kept in memory after one read.

    `read()` parses the file only the first time; `write()` serialises only the records that changed when
    told which (`write_changes`), or everything otherwise (plain TinyDB use stays correct, only slower).
    A file that does not parse raises StoreCorrupt and is never overwritten.
    """

    def __init__(self, path: Path | str, *, read_only: bool = False, durable: bool = True, **_: Any) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.durable = durable
        self._tables: dict[str, dict[str, Any]] | None = None
        self._loaded = False
        self._rendered: dict[str, _Lines] | None = None
        self.disk_key: tuple[int, int, int] | None = None
        """(inode, size, mtime) of the file as last read or written; None when there was no file."""

    # reading

    def _load(self) -> None:
        try:
            stat = self.path.stat()
            data = _read_json(self.path)
        except FileNotFoundError:
            data, stat = None, None
        except IsADirectoryError:
            raise StoreCorrupt(self.path, "a folder where a file was expected") from None
        if data is not None:
            if not isinstance(data, dict):
                raise StoreCorrupt(self.path, "not a TinyDB file: the top level is not an object")
            for name, table in data.items():
                if not isinstance(table, dict):
                    raise StoreCorrupt(self.path, f"table {name!r} is not an object")
                for key, record in table.items():
                    if not isinstance(record, dict):
                        raise StoreCorrupt(self.path, f"record {key!r} is not an object")
        self._tables = data
        self.disk_key = None if stat is None else _file_key(stat)
        self._loaded = True
        self._rendered = None

    def read(self) -> dict[str, dict[str, Any]] | None:
        if not self._loaded:
            self._load()
        # A shallow copy: TinyDB assigns tables into what it reads, which must not touch our state
        # before the write has succeeded.
        return None if self._tables is None else dict(self._tables)

    def changed_on_disk(self) -> bool:
        """Whether someone else (git, an editor) replaced or removed the file since we read or wrote it."""
        if not self._loaded:
            return False
        try:
            return _file_key(self.path.stat()) != self.disk_key
        except FileNotFoundError:
            return self.disk_key is not None
        except OSError:
            return True

    # writing

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        self.write_changes(data, None)

    def write_changes(self, data: dict[str, dict[str, Any]], changed: Mapping[str, Iterable[str]] | None) -> None:
        """Write `data`; `changed` names, per table, the only keys whose records may differ from last time.

        The caller guarantees that records outside `changed` are the same unmodified objects as before.
        """
        if self.read_only:
            raise StoreReadOnly(f"{self.path} is open read-only")
        if not self._loaded:
            self._load()
        old = self._rendered
        undo = self._render_changes(data, changed) if changed is not None and old is not None else None
        if undo is None:
            self._rendered = {str(name): _Lines(table) for name, table in data.items()}
        try:
            stat = atomic_write(self.path, self._compose(), durable=self.durable)
        except BaseException:
            if undo is None:
                self._rendered = old
            else:
                undo()
            raise
        self._tables = dict(data)
        self.disk_key = _file_key(stat)

    def render(self) -> None:
        """Serialise what was read, so that the first write after opening is as cheap as the others."""
        if not self._loaded:
            self._load()
        if self._rendered is None:
            self._rendered = {name: _Lines(table) for name, table in (self._tables or {}).items()}

    def _render_changes(self, data: Mapping[str, Mapping[str, Any]], changed: Mapping[str, Iterable[str]]):
        """Apply the changed records to the cached lines; returns an undo function, or None to render all."""
        rendered = self._rendered
        assert rendered is not None
        if set(data) != set(rendered) or not set(changed) <= set(data):
            return None
        log: list[tuple[_Lines, str, bytes | None]] = []

        def undo() -> None:
            for lines, key, previous in reversed(log):
                lines.restore(key, previous)

        try:
            for name, keys in changed.items():
                table, lines = data[name], rendered[name]
                for key in keys:
                    if key in table:
                        log.append((lines, key, lines.set(key, _entry(key, table[key]))))
                    else:
                        log.append((lines, key, lines.remove(key)))
            if any(len(rendered[name].keys) != len(table) for name, table in data.items()):
                undo()
                return None
        except BaseException:
            undo()
            raise
        return undo

    def _compose(self) -> bytes:
        out = [b"{"]
        for i, name in enumerate(sorted(self._rendered or {})):
            out.append((b"\n" if i == 0 else b",\n") + _json_line(name) + b": {")
            entries = self._rendered[name].entries
            if entries:
                out.append(b"\n" + entries[0][len(_SEP):])
                out.extend(itertools.islice(entries, 1, None))
                out.append(b"\n}")
            else:
                out.append(b"}")
        out.append(b"\n}\n")
        return b"".join(out)

    def close(self) -> None:
        pass


_SEP = b",\n"


def _entry(key: str, record: Any) -> bytes:
    """One record as it appears in a file, with the separator that precedes it."""
    return _SEP + _json_line(key) + b": " + _json_line(record)


class _Lines:
    """One table serialised: its keys sorted and, in the same order, their entries."""

    __slots__ = ("entries", "keys")

    def __init__(self, table: Mapping[str, Any]) -> None:
        items = sorted((str(key), record) for key, record in table.items())
        self.keys = [key for key, _ in items]
        self.entries = [_entry(key, record) for key, record in items]

    def set(self, key: str, entry: bytes) -> bytes | None:
        """Insert or replace; returns the previous entry."""
        i = bisect.bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            previous, self.entries[i] = self.entries[i], entry
            return previous
        self.keys.insert(i, key)
        self.entries.insert(i, entry)
        return None

    def remove(self, key: str) -> bytes | None:
        i = bisect.bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            del self.keys[i]
            return self.entries.pop(i)
        return None

    def restore(self, key: str, previous: bytes | None) -> None:
        if previous is None:
            self.remove(key)
        else:
            self.set(key, previous)


class RecordTable(Table):
    """A TinyDB table whose document ids are the records' own string ids."""

    document_id_class = str


class RecordDB(TinyDB):
    """TinyDB over an annotation file: `RecordDB(path, storage=AtomicJSONStorage).all()` gives its records."""

    table_class = RecordTable


# --- the store -----------------------------------------------------------------------------------------


class _AnnotationFile:
    """One annotator's records of one document, kept in memory after the first read."""

    def __init__(self, path: Path, *, read_only: bool) -> None:
        self.db = RecordDB(path, storage=AtomicJSONStorage, read_only=read_only)
        self.storage: AtomicJSONStorage = self.db.storage  # type: ignore[assignment]
        tables = self.storage.read() or {}
        table = tables.get(TABLE, {})
        for key, record in table.items():
            if record.get("id") != key:
                raise StoreCorrupt(path, f"the record under {key!r} has the id {record.get('id')!r}")
        if not read_only:
            self.storage.render()

    @property
    def table(self) -> dict[str, dict]:
        return (self.storage.read() or {}).get(TABLE, {})

    def apply(self, upserts: dict[str, dict], deletes: set[str]) -> None:
        tables = self.storage.read() or {}
        table = dict(tables.get(TABLE, {}))
        changed = []
        for key in deletes:
            if key in table and key not in upserts:
                del table[key]
                changed.append(key)
        for key, record in upserts.items():
            if table.get(key) != record:
                table[key] = record
                changed.append(key)
        if not changed:
            return  # nothing would change on disk
        tables[TABLE] = table
        self.storage.write_changes(tables, {TABLE: changed})
        self.db.table(TABLE).clear_cache()


def _describe_lock(info: str) -> str | None:
    try:
        data = json.loads(info)
        since = datetime.fromisoformat(data["since"])
        when = since.strftime("%H:%M") if since.date() == datetime.now().date() else since.strftime("%Y-%m-%d %H:%M")
        return f"pid {int(data['pid'])} on {data['host']} since {when}"
    except (ValueError, KeyError, TypeError):
        return None


class Store:
    """Documents, cached analyses and annotations in a folder; one writing process at a time.

    Records returned by `records`/`all_records` are the store's own objects: treat them as read-only and
    pass changed copies to `write` (which keeps its own copy of what it was given). Thread-safe.
    """

    def __init__(self, root: Path | str, *, read_only: bool = False) -> None:
        self.root = Path(root)
        self.read_only = read_only
        self.lock_holder: str | None = None
        self.read_only_reason: str | None = "opened read-only" if read_only else None
        self._lock_fd: int | None = None
        self._mutex = threading.RLock()
        self._files: dict[tuple[str, str], _AnnotationFile] = {}
        self._docs: OrderedDict[str, dict] = OrderedDict()
        self._sources: dict[str, str] = {}
        self._cleaned: set[Path] = set()
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"{self.root} is not a folder, it cannot hold a store")
        schema_exists = self._check_schema()
        if read_only:
            self.lock_holder = self._probe_lock()
            return
        try:
            self._mkdir(self.root)
        except OSError as exc:
            raise StoreError(f"cannot create the store folder {self.root}: {exc.strerror or exc}") from None
        self._take_lock()
        if self.read_only:
            return
        try:
            if not schema_exists:
                atomic_write(self.root / SCHEMA_FILE, _json_file({"schema": SCHEMA}))
                gitignore = self.root / ".gitignore"
                if not gitignore.exists():
                    atomic_write(gitignore, f"/{LOCK_FILE}\n.*.tmp\n".encode())
            for sub in ("documents", "analyses", "annotations"):
                self._mkdir(self.root / sub)
        except OSError as exc:
            self.close()
            raise StoreError(f"cannot write to the store {self.root}: {exc.strerror or exc}") from None

    # --- opening and closing ---------------------------------------------------------------------------

    def _check_schema(self) -> bool:
        path = self.root / SCHEMA_FILE
        try:
            data = _read_json(path)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
        schema = data.get("schema") if isinstance(data, dict) else None
        if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
            raise StoreError(f"{path}: unknown store schema {schema!r}; this is not a store this version of "
                             f"reader can open")
        if schema > SCHEMA:
            raise StoreError(f"the store {self.root} was written by a newer version of reader (schema {schema}; "
                             f"this version reads schema {SCHEMA}): upgrade reader to open it")
        return True

    def _take_lock(self) -> None:
        path = self.root / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | _O_CLOEXEC, 0o666)
        except OSError as exc:
            self.read_only = True
            self.read_only_reason = f"cannot create {path} ({exc.strerror or exc})"
            return
        for attempt in range(5):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise StoreError(f"cannot lock {path}: {exc.strerror or exc}") from None
                if attempt < 4:
                    time.sleep(0.01)  # a read-only store may be probing the lock for an instant
        else:
            self.lock_holder = _describe_lock(os.pread(fd, 4096, 0).decode("utf-8", "replace")) or "another process"
            os.close(fd)
            self.read_only = True
            self.read_only_reason = f"it is open in {self.lock_holder}"
            return
        info = {"pid": os.getpid(), "host": os.uname().nodename,
                "since": datetime.now().isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info, sort_keys=True) + "\n").encode(), 0)
        self._lock_fd = fd
        # A store dropped without close() must not keep the lock until the process ends.
        self._release = weakref.finalize(self, os.close, fd)

    def _probe_lock(self) -> str | None:
        """Who holds the lock, without taking it nor creating anything."""
        path = self.root / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDONLY | _O_CLOEXEC)
        except OSError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return _describe_lock(os.pread(fd, 4096, 0).decode("utf-8", "replace")) or "another process"
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def close(self) -> None:
        """Release the lock; the store is read-only afterwards."""
        with self._mutex:
            if self._lock_fd is not None:
                with contextlib.suppress(OSError):
                    fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                self._release()
                self._lock_fd = None
            if not self.read_only:
                self.read_only = True
                self.read_only_reason = "it was closed"
            self._files.clear()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r}{', read-only' if self.read_only else ''})"

    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreReadOnly(f"the store {self.root} is read-only ({self.read_only_reason}): nothing was written")

    def _mkdir(self, path: Path) -> None:
        """Create a folder (and its missing parents), making each new entry durable in its parent."""
        if path.is_dir():
            return
        if not path.parent.is_dir():
            self._mkdir(path.parent)
        path.mkdir(exist_ok=True)
        fsync_dir(path.parent)

    def _prepare_folder(self, folder: Path) -> None:
        """Create the folder, and remove temporary files a killed writer left there (we hold the lock)."""
        if folder in self._cleaned:
            return
        self._mkdir(folder)
        for entry in os.scandir(folder):
            if entry.name.startswith(".") and entry.name.endswith(".tmp") and entry.is_file():
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
        self._cleaned.add(folder)

    def _write_file(self, path: Path, data: bytes, *, durable: bool = True) -> None:
        try:
            self._prepare_folder(path.parent)
            atomic_write(path, data, durable=durable)
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None

    # --- documents -------------------------------------------------------------------------------------

    def _doc_path(self, doc_id: str) -> Path:
        if not isinstance(doc_id, str) or not _ID.fullmatch(doc_id):
            raise UnknownDocument(f"no document with id {doc_id!r} in {self.root}")
        return self.root / "documents" / f"{doc_id}.json"

    def document_path(self, doc_id: str) -> Path:
        return self._doc_path(doc_id)

    def add_document(self, record: dict) -> bool:
        """Store a document once; False (and nothing written) when its id is already stored."""
        if not isinstance(record, Mapping) or not isinstance(record.get("text"), str):
            raise StoreError("a document record needs a \"text\" string")
        doc_id = record.get("id")
        if not isinstance(doc_id, str) or not _ID.fullmatch(doc_id):
            raise StoreError(f"invalid document id {doc_id!r} (letters, digits, '.', '_', '-')")
        meta = record.get("meta", {})
        if not isinstance(meta, Mapping):
            raise StoreError(f"document {doc_id}: \"meta\" must be an object")
        if (bad := _control_in(record)) is not None:
            raise StoreError(f"document {doc_id}: refused, a value holds a control character: {bad!r:.60}")
        with self._mutex:
            if self.has_document(doc_id):
                return False
            self._check_writable()
            try:
                data = _json_file({**record, "meta": dict(meta)})
            except (TypeError, ValueError) as exc:
                raise StoreError(f"document {doc_id} cannot be stored as JSON: {exc}") from None
            self._write_file(self._doc_path(doc_id), data)
            self._remember(json.loads(data))
            return True

    def has_document(self, doc_id: str) -> bool:
        try:
            path = self._doc_path(doc_id)
        except UnknownDocument:
            return False
        return doc_id in self._docs or path.is_file()

    def _remember(self, record: dict) -> None:
        self._docs[record["id"]] = record
        self._docs.move_to_end(record["id"])
        while len(self._docs) > 64:
            self._docs.popitem(last=False)
        self._sources[record["id"]] = str((record.get("meta") or {}).get("source") or "")

    def _load_document(self, doc_id: str) -> dict:
        with self._mutex:
            cached = self._docs.get(doc_id)
            if cached is not None:
                self._docs.move_to_end(doc_id)
                return cached
            path = self._doc_path(doc_id)
            try:
                record = _read_json(path)
            except FileNotFoundError:
                raise UnknownDocument(f"no document with id {doc_id!r} in {self.root}") from None
            except OSError as exc:
                raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
            if not isinstance(record, dict) or not isinstance(record.get("text"), str) \
                    or not isinstance(record.get("meta", {}), dict):
                raise StoreCorrupt(path, "not a document record with \"id\", \"text\" and \"meta\"")
            if record.get("id") != doc_id:
                raise StoreCorrupt(path, f"its id {record.get('id')!r} does not match the file name")
            record.setdefault("meta", {})
            self._remember(record)
            return record

    def document(self, doc_id: str) -> dict:
        """{"id", "text", "meta"}: a copy, the caller may change it."""
        record = self._load_document(doc_id)
        return {**record, "meta": dict(record["meta"])}

    def document_ids(self) -> list[str]:
        """All stored ids, by source (file name, then line number) and id.

        A document file that does not parse is still listed (first), so that opening it reports the damage.
        """
        try:
            names = os.listdir(self.root / "documents")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError(f"cannot list {self.root / 'documents'}: {exc.strerror or exc}") from None
        ids = [n[:-5] for n in names if _is_store_file(n) and _ID.fullmatch(n[:-5])]
        with self._mutex:
            for doc_id in ids:
                if doc_id not in self._sources:
                    try:
                        self._load_document(doc_id)
                    except StoreError:
                        self._sources[doc_id] = ""
            return sorted(ids, key=lambda i: (_natural(self._sources[i]), i))

    def resolve(self, prefix: str) -> str:
        """The full id of a document from its id or a unique prefix of it."""
        wanted = (prefix or "").strip()
        if not wanted:
            raise UnknownDocument("no document id given")
        ids = self.document_ids()
        if wanted in ids:
            return wanted
        matches = [i for i in ids if i.startswith(wanted)] or [i for i in ids if i.startswith(wanted.lower())]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise UnknownDocument(f"no document with id {wanted!r} in {self.root}"
                                  + ("" if ids else " (the store is empty)"))
        shown = ", ".join(matches[:5]) + (", …" if len(matches) > 5 else "")
        raise UnknownDocument(f"{wanted!r} is ambiguous: {len(matches)} documents start with it ({shown}); "
                              "type more characters")

    # --- analysis cache --------------------------------------------------------------------------------

    def _analysis_path(self, doc_id: str, key: str) -> Path:
        self._doc_path(doc_id)
        return self.root / "analyses" / doc_id / f"{encode_name(key, 'key')}.json"

    def cached_analysis(self, doc_id: str, key: str) -> dict | None:
        """The cached record, or None when there is none or the file is damaged (it is only a cache)."""
        try:
            record = _read_json(self._analysis_path(doc_id, key))
        except (OSError, StoreError):
            return None
        return record if isinstance(record, dict) else None

    def analysis_keys(self, doc_id: str) -> list[str]:
        """Keys of the analyses cached for a document, most recent first."""
        folder = self.root / "analyses" / doc_id
        try:
            files = [p for p in folder.iterdir() if _is_store_file(p.name)]
        except OSError:
            return []
        files.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        return [decode_name(p.name[: -len(".json")]) for p in files]

    def cache_analysis(self, doc_id: str, key: str, record: dict | None, *, encoded: bytes | None = None) -> None:
        """Cache an analysis; on a read-only store nothing is written (the cache is only an optimisation).

        `encoded` is `encode_record(record)` when the caller has it already (the analysis process encodes
        off the UI process: one json.dumps of a long document holds the GIL for ~0.1 s). Not fsynced: after
        a power cut the file may be empty, and then it is ignored and rebuilt.
        """
        if self.read_only:
            return
        path = self._analysis_path(doc_id, key)
        try:
            data = (encoded if encoded is not None else _json_line(record)) + b"\n"
        except (TypeError, ValueError) as exc:
            raise StoreError(f"the analysis of {doc_id} cannot be stored as JSON: {exc}") from None
        with self._mutex:
            self._check_writable()
            self._write_file(path, data, durable=False)

    # --- annotations -----------------------------------------------------------------------------------

    def annotation_path(self, doc_id: str, annotator: str) -> Path:
        self._doc_path(doc_id)
        return self.root / "annotations" / doc_id / f"{encode_name(annotator, 'annotator name')}.json"

    def annotators(self, doc_id: str) -> list[str]:
        """Names of everyone who has a file for this document, sorted."""
        self._doc_path(doc_id)
        folder = self.root / "annotations" / doc_id
        try:
            names = os.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise StoreError(f"cannot list {folder}: {exc.strerror or exc}") from None
        out = []
        for name in names:
            if _is_store_file(name):
                with contextlib.suppress(UnicodeDecodeError):
                    out.append(decode_name(name[:-5]))
        return sorted(out)

    def _file(self, doc_id: str, annotator: str) -> _AnnotationFile:
        """The annotation file, read once; read again when it was replaced behind our back (git pull)."""
        key = (doc_id, annotator)
        cached = self._files.get(key)
        if cached is not None and not cached.storage.changed_on_disk():
            return cached
        self._files.pop(key, None)
        path = self.annotation_path(doc_id, annotator)
        try:
            file = _AnnotationFile(path, read_only=self.read_only)
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
        self._files[key] = file
        return file

    def records(self, doc_id: str, annotator: str) -> dict[str, dict]:
        """An annotator's records of a document by id (a new dict; the records themselves are read-only)."""
        with self._mutex:
            return dict(self._file(doc_id, annotator).table)

    def write(self, doc_id: str, annotator: str, upsert: Iterable[dict] = (), delete: Iterable[str] = ()) -> None:
        """Apply all the changes in one atomic write; returns once they are on disk.

        Deletions are applied before upserts. A record equal to the stored one causes no write.
        """
        self._check_writable()
        if isinstance(annotator, str) and has_control(annotator):
            raise StoreError(f"the annotator name {annotator!r:.60} holds a control character")
        upserts: dict[str, dict] = {}
        for record in upsert:
            if not isinstance(record, Mapping) or not isinstance(record.get("id"), str) or not record["id"]:
                raise StoreError(f"an annotation record needs a non-empty string \"id\": {record!r:.80}")
            if (bad := _control_in(record)) is not None:
                raise StoreError(f"record {record['id']!r:.40} refused: a value holds a control character: "
                                 f"{bad!r:.60}")
            try:
                upserts[record["id"]] = json.loads(_json_line(record))  # our own copy, exactly as on disk
            except (TypeError, ValueError) as exc:
                raise StoreError(f"record {record['id']!r} cannot be stored as JSON: {exc}") from None
        deletes = set(delete if not isinstance(delete, str) else [delete])
        if not all(isinstance(key, str) for key in deletes):
            raise StoreError("record ids to delete must be strings")
        if not self.has_document(doc_id):
            raise UnknownDocument(f"no document with id {doc_id!r} in {self.root}")
        with self._mutex:
            self._check_writable()
            file = self._file(doc_id, annotator)
            try:
                self._prepare_folder(file.storage.path.parent)
                file.apply(upserts, deletes)
            except OSError as exc:
                self._files.pop((doc_id, annotator), None)  # memory may not match the disk any more
                raise StoreError(f"cannot write {file.storage.path}: {exc.strerror or exc}; "
                                 "the change was not saved") from None

    def all_records(self, annotator: str | None = None) -> Iterator[tuple[str, str, dict]]:
        """(doc_id, annotator, record) for every stored document, in document order, then annotator and id."""
        for doc_id in self.document_ids():
            names = self.annotators(doc_id)
            for name in names if annotator is None else [n for n in names if n == annotator]:
                records = self.records(doc_id, name)
                for key in sorted(records):
                    yield doc_id, name, records[key]
