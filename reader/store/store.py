"""The store: a folder of JSON files (laid out in README § The store, no index that could drift) that holds
documents, cached analyses and everyone's annotations. Several processes write at once, one per annotator: an
annotation file has one writer (its annotator's lock); documents and analyses are content-addressed, so two
processes adding one write the same bytes."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from reader.store import files
from reader.store.errors import StoreCorrupt, StoreError, StoreReadOnly, UnknownDocument
from reader.store.gitmerge import read_document
from reader.store.gitmerge import register as register_merge_driver
from reader.store.index import INDEX_FILE, Index
from reader.store.tinydb_storage import AnnotationFile, read_subset
from reader.untrusted import has_control

SCHEMA = 1
SCHEMA_FILE = "reader-store.json"
LOCK_FILE = ".lock"
LOCKS_FOLDER = ".locks"
SUBFOLDERS = ("documents", "analyses", "annotations")

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_MAX_NAME_BYTES = 200


def encode_name(name: str, what: str = "name") -> str:
    """A reversible, filename-safe form of any name (percent-encoded UTF-8), so names round-trip exactly."""
    if not isinstance(name, str) or not name.strip():
        raise StoreError(f"the {what} must not be empty")
    try:
        raw = name.encode("utf-8")
    except UnicodeEncodeError:
        raise StoreError(f"the {what} {name!r} is not valid text") from None
    encoded = quote(raw, safe="@+").replace("~", "%7E")
    if encoded.startswith("."):
        encoded = "%2E" + encoded[1:]
    if len(encoded) > _MAX_NAME_BYTES:
        raise StoreError(f"the {what} is too long ({len(raw)} bytes): {name[:40]!r}…")
    return encoded


def decode_name(encoded: str) -> str:
    return unquote(encoded, errors="strict")


def _valid_id(doc_id: object) -> bool:
    return isinstance(doc_id, str) and _ID.fullmatch(doc_id) is not None


def _control_string(value: Any) -> str | None:
    """The first string (key or value) holding a control character but \\n/\\t, else None: the last defence
    behind `reader.untrusted`, so a bug in a door puts no escape on disk."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and has_control(item):
            return item
        if isinstance(item, Mapping):
            stack += [*item, *item.values()]
        elif isinstance(item, list | tuple):
            stack += item
    return None


def _encoded(encode: Callable[[Any], bytes], value: Any, what: str) -> bytes:
    """`encode(value)`, or the one-line StoreError saying that `what` is not JSON."""
    try:
        return encode(value)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what} cannot be stored as JSON: {exc}") from None


@contextlib.contextmanager
def _os_errors(what: str, path: Path) -> Iterator[None]:
    """An OSError as the one-line StoreError the user sees: what could not be done to which file."""
    try:
        yield
    except OSError as exc:
        raise StoreError(f"cannot {what} {path}: {exc.strerror or exc}") from None


def _version(stat: os.stat_result) -> str:
    return ":".join(map(str, files.file_key(stat)))


def _is_store_file(name: str) -> bool:
    return name.endswith(".json") and not name.startswith(".")


def _mkdir(path: Path) -> None:
    """Create a folder and its missing parents, making each new entry durable in its parent."""
    missing = list(itertools.takewhile(lambda p: not p.is_dir(), (path, *path.parents)))
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        files.fsync_dir(folder.parent)


def _natural(text: str) -> tuple:
    """Sort key that puts `x.jsonl:2` before `x.jsonl:10` (sources are file names and line numbers)."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


class Store:
    """Documents, cached analyses and annotations in a folder; one writing process per annotator, whose lock
    `annotator` (or `claim`) takes at once. Records returned are the store's own: read-only. Thread-safe."""

    def __init__(self, root: Path | str, *, read_only: bool = False, annotator: str | None = None) -> None:
        self.root = Path(root)
        self._documents, self._analyses, self._annotations = (self.root / sub for sub in SUBFOLDERS)
        self.read_only = read_only
        self.lock_holder: str | None = None
        self.read_only_reason: str | None = "opened read-only" if read_only else None
        self.read_only_cause: str | None = "asked" if read_only else None  # or writer, folder, closed
        self._lock: files.LockFile | None = None
        self._writers: dict[str, files.LockFile] = {}  # annotators whose lock we hold
        self._waiting: str | None = None  # the annotator `claim` could not write for: `take_over`
        self._mutex = threading.RLock()
        self._files: dict[tuple[str, str], AnnotationFile] = {}
        self._docs: dict[str, dict] = {}
        self._sources: dict[str, str] = {}
        self._unreadable: dict[str, StoreCorrupt] = {}
        self._cleaned: set[Path] = set()
        self._registering: threading.Thread | None = None
        self._index: Index | None = None
        self._watcher: weakref.ref | None = None  # `watch`
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"{self.root} is not a folder, it cannot hold a store")
        schema_exists = self._check_schema()
        if read_only:
            lock_path = self._writer_lock_path(annotator) if annotator else self.root / LOCK_FILE
            self.lock_holder = files.probe_lock(lock_path)
            return
        with _os_errors("create the store folder", self.root):
            _mkdir(self.root)
        self._take_lock()
        if self.read_only:
            return
        try:
            if not schema_exists:
                files.atomic_write(self.root / SCHEMA_FILE, files.json_file({"schema": SCHEMA}))
                gitignore = self.root / ".gitignore"
                if not gitignore.exists():
                    files.atomic_write(gitignore, f"/{LOCK_FILE}\n.*.tmp\n/{INDEX_FILE}*\n".encode())
            for sub in SUBFOLDERS:
                _mkdir(self.root / sub)
        except OSError as exc:
            self.close()
            raise StoreError(f"cannot write to the store {self.root}: {exc.strerror or exc}") from None
        self._registering = register_merge_driver(self.root)  # inside a git work tree: merge files by record id
        if annotator is not None:
            self.claim(annotator)

    def _check_schema(self) -> bool:
        path = self.root / SCHEMA_FILE
        with _os_errors("read", path):
            try:
                data = files.read_json(path)
            except FileNotFoundError:
                return False
        schema = data.get("schema") if isinstance(data, dict) else None
        if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
            raise StoreError(f"{path}: unknown store schema {schema!r}; this is not a store this version of "
                             f"reader can open")
        if schema > SCHEMA:
            raise StoreError(f"the store {self.root} was written by a newer version of reader (schema {schema}; "
                             f"this version reads schema {SCHEMA}): upgrade reader to open it")
        return True

    def _take_lock(self) -> None:
        """The store-wide lock, shared by writers: it keeps out an older reader, which takes it exclusively."""
        path = self.root / LOCK_FILE
        try:
            lock = files.LockFile(path)
        except OSError as exc:
            return self._refuse("folder", f"cannot create {path} ({exc.strerror or exc})")
        holder = lock.acquire(shared=True)
        if holder is not None:
            self.lock_holder = holder
            return self._refuse("writer", f"it is open in {holder}")
        self._lock = lock

    def _refuse(self, cause: str, reason: str) -> None:
        self.read_only, self.read_only_cause, self.read_only_reason = True, cause, reason

    def _writer_lock_path(self, annotator: str) -> Path:
        return self.root / LOCKS_FOLDER / f"{encode_name(annotator, 'annotator name')}.lock"

    def _lock_writer(self, annotator: str) -> str | None:
        """Take an annotator's writer lock: None, or who holds it."""
        with self._mutex:
            if annotator in self._writers:
                return None
            path = self._writer_lock_path(annotator)
            with _os_errors("create", path):
                if not path.parent.is_dir():
                    _mkdir(path.parent)
                    files.atomic_write(path.parent / ".gitignore", b"*\n")
                lock = files.LockFile(path)
            holder = lock.acquire()
            if holder is None:
                self._writers[annotator] = lock
            return holder

    def claim(self, annotator: str) -> bool:
        """Become the writer of an annotator's files: False, and the store read-only, when another writes them."""
        if self.read_only:
            return False
        holder = self._lock_writer(annotator)
        if holder is None:
            return True
        with self._mutex:
            self.lock_holder = holder
            self._refuse("writer", f"{annotator}'s annotations are open in {holder}")
            self._waiting = annotator
        return False

    @property
    def waiting(self) -> str | None:
        """The annotator whose writer this store waits for (see `take_over`), else None."""
        return self._waiting if self.read_only else None

    def take_over(self) -> bool:
        """Become the writer `claim` could not be once its holder has quit: True when this store writes from now
        on. One probe of the lock (microseconds), so a reader may ask on every write attempt."""
        with self._mutex:
            annotator = self.waiting
            if annotator is None or self._lock is None:
                return False
            try:
                holder = files.probe_lock(self._writer_lock_path(annotator)) or self._lock_writer(annotator)
            except StoreError:
                return False
            if holder is not None:
                self.lock_holder = holder
                self.read_only_reason = f"{annotator}'s annotations are open in {holder}"
                return False
            self.read_only, self.read_only_cause, self.read_only_reason = False, None, None
            self.lock_holder = self._waiting = None
            self._files.clear()  # opened read-only
            return True

    def file_version(self, doc_id: str, annotator: str) -> tuple[int, int, int] | None:
        """(inode, size, mtime) of an annotation file now, None when there is none: what the writer saved since."""
        try:
            return files.file_key(self.annotation_path(doc_id, annotator).stat())
        except OSError:
            return None

    def close(self) -> None:
        """Release the locks (once the merge driver is registered); the store is read-only afterwards."""
        if self._registering is not None:
            self._registering.join()
            self._registering = None
        with self._mutex:
            for lock in [*self._writers.values(), self._lock]:
                if lock is not None:
                    lock.release()
            self._writers.clear()
            self._lock = None
            if not self.read_only:
                self._refuse("closed", "it was closed")
            self._waiting = None
            self._files.clear()
            if self._index is not None:
                self._index.close()
                self._index = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r}{', read-only' if self.read_only else ''})"

    @property
    def index(self) -> Index:
        """The library's index beside the files, opened at first use; in memory where the folder is not writable."""
        with self._mutex:
            if self._index is None:
                path = self.root / INDEX_FILE
                try:
                    self._index = Index(path if os.access(self.root, os.W_OK) else None)
                    self._ignore_index()
                except (sqlite3.Error, OSError):
                    self._index = Index(None)
            return self._index

    def _ignore_index(self) -> None:
        """Stores made before the index had no line for it in their .gitignore: one is added."""
        gitignore = self.root / ".gitignore"
        with contextlib.suppress(OSError, UnicodeDecodeError):
            text = gitignore.read_text("utf-8")
            if f"/{INDEX_FILE}*" not in text.splitlines():
                files.atomic_write(gitignore, (text + ("" if text.endswith("\n") else "\n")
                                               + f"/{INDEX_FILE}*\n").encode("utf-8"))

    def watch(self, watcher: Any) -> None:
        """`watcher.writing(doc_id, annotator)` before each write and `.written(...)` after ("": a document or its
        analysis): the library derives its rows. Held weakly, so no cycle keeps the store (and its locks) alive;
        None: no watcher."""
        self._watcher = None if watcher is None else weakref.ref(watcher)

    def _mark(self, doc_id: str, annotator: str) -> bool:
        """Before a write: the index row is pending until the watcher derives it (a crash leaves the mark)."""
        with contextlib.suppress(sqlite3.Error, OSError, StoreError):
            if (watcher := self._watcher and self._watcher()) is not None:
                watcher.writing(doc_id, annotator)
            self.index.mark(doc_id, annotator)
            return True
        return False

    def _written(self, doc_id: str, annotator: str, marked: bool) -> None:
        """After a write: the watcher derives the rows (or says it left them pending); the mark stays for the next
        reader if none did."""
        with contextlib.suppress(sqlite3.Error, OSError, StoreError):
            watcher = self._watcher and self._watcher()
            if watcher is not None and watcher.written(doc_id, annotator) and marked:
                self.index.unmark([(rowid, d, a) for rowid, d, a in self.index.marked()
                                   if (d, a) == (doc_id, annotator)])

    def git_index(self) -> Path | None:
        """git's index file of the work tree holding the store (it changes at every pull, merge or checkout)."""
        for folder in (self.root.resolve(), *self.root.resolve().parents):
            dot_git = folder / ".git"
            if dot_git.is_dir():
                return dot_git / "index"
            if dot_git.is_file():
                line = dot_git.read_text("utf-8").strip()
                if line.startswith("gitdir:"):
                    return (folder / line[len("gitdir:"):].strip()) / "index"
        return None

    def document_version(self, doc_id: str) -> str | None:
        """The document file's version (inode, size, mtime), None when there is none."""
        try:
            return _version(self._doc_path(doc_id).stat())
        except OSError:
            return None

    def document_versions(self) -> dict[str, str]:
        """Every document file's version by id: one pass over the folder, without reading a file (the temporary
        files killed writers left there go)."""
        found: dict[str, str] = {}
        with contextlib.suppress(FileNotFoundError), os.scandir(self._documents) as entries:
            for entry in entries:
                if _is_store_file(entry.name) and _valid_id(doc_id := entry.name[:-5]):
                    with contextlib.suppress(OSError):
                        found[doc_id] = _version(entry.stat())
                elif not self.read_only and entry.name.endswith(".tmp"):
                    self._clean(entry)
        return found

    def annotation_versions(self) -> dict[tuple[str, str], str]:
        """Every annotation file's version by (document id, annotator), without reading a file."""
        found: dict[tuple[str, str], str] = {}
        with contextlib.suppress(FileNotFoundError), os.scandir(self._annotations) as folders:
            for folder in folders:
                if not _valid_id(folder.name) or not folder.is_dir():
                    continue
                with contextlib.suppress(OSError), os.scandir(folder.path) as entries:
                    for entry in entries:
                        if _is_store_file(entry.name):
                            with contextlib.suppress(OSError, UnicodeDecodeError):
                                found[folder.name, decode_name(entry.name[:-5])] = _version(entry.stat())
        return found

    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreReadOnly(f"the store {self.root} is read-only ({self.read_only_reason}): nothing was written")

    def _prepare_folder(self, folder: Path) -> None:
        """Create the folder, and remove the temporary files that killed writers left there (not in `documents/`,
        one file per document: `document_versions` does it as it lists them, so an import costs the same at
        100,000 documents as at 100)."""
        if folder in self._cleaned:
            return
        _mkdir(folder)
        if folder != self._documents:
            for entry in os.scandir(folder):
                self._clean(entry)
        self._cleaned.add(folder)

    @staticmethod
    def _clean(entry: os.DirEntry) -> None:
        if files.stale_temporary(entry.name) and entry.is_file():
            with contextlib.suppress(OSError):
                os.unlink(entry.path)

    def _write_file(self, path: Path, data: bytes, *, durable: bool = True) -> None:
        with _os_errors("write", path):
            self._prepare_folder(path.parent)
            files.atomic_write(path, data, durable=durable)

    def _check_id(self, doc_id: str) -> None:
        if not _valid_id(doc_id):
            raise UnknownDocument(f"no document with id {doc_id!r} in {self.root}")

    def _doc_path(self, doc_id: str) -> Path:
        self._check_id(doc_id)
        return self._documents / f"{doc_id}.json"

    def add_document(self, record: dict) -> bool:
        """Store a document once; False (and nothing written) when its id is already stored."""
        if not isinstance(record, Mapping) or not isinstance(record.get("text"), str):
            raise StoreError("a document record needs a \"text\" string")
        doc_id = record.get("id")
        if not _valid_id(doc_id):
            raise StoreError(f"invalid document id {doc_id!r} (letters, digits, '.', '_', '-')")
        meta = record.get("meta", {})
        if not isinstance(meta, Mapping):
            raise StoreError(f"document {doc_id}: \"meta\" must be an object")
        if (bad := _control_string(record)) is not None:
            raise StoreError(f"document {doc_id}: refused, a value holds a control character: {bad!r:.60}")
        if self.has_document(doc_id):
            return False
        self._check_writable()
        data = _encoded(files.json_file, {**record, "meta": dict(meta)}, f"document {doc_id}")
        marked = self._mark(doc_id, "")  # outside the mutex: the library's sweep takes the index's, then this one
        with self._mutex:
            if self.has_document(doc_id):
                return False
            self._write_file(self._doc_path(doc_id), data)
            self._remember(files.loads(data))
        self._written(doc_id, "", marked)
        return True

    def has_document(self, doc_id: str) -> bool:
        """On disk now (a stat): a file removed since it was read (a checkout) is gone."""
        return _valid_id(doc_id) and self._doc_path(doc_id).is_file()

    def _remember(self, record: dict) -> None:
        self._docs[record["id"]] = record  # all kept: listing the documents reads them all anyway
        self._sources[record["id"]] = str((record.get("meta") or {}).get("source") or "")

    def _load_document(self, doc_id: str, keep: bool = True) -> dict:
        with self._mutex:
            if (cached := self._docs.get(doc_id)) is not None:
                return cached
            path = self._doc_path(doc_id)
            with _os_errors("read", path):
                try:
                    record = read_document(path)
                except FileNotFoundError:
                    raise UnknownDocument(f"no document with id {doc_id!r} in {self.root}") from None
            if record.get("id") != doc_id:
                raise StoreCorrupt(path, f"its id {record.get('id')!r} does not match the file name")
            record.setdefault("meta", {})
            if keep:
                self._remember(record)
            return record

    def document(self, doc_id: str, *, keep: bool = True) -> dict:
        """{"id", "text", "meta"}: a copy, the caller may change it; not `keep`: not kept in memory (the index
        reads every document once)."""
        record = self._load_document(doc_id, keep)
        return {**record, "meta": dict(record["meta"])}

    def document_ids(self) -> list[str]:
        """All stored ids, by source (file name, line) and id; damaged files too (first), so opening one reports it."""
        with _os_errors("list", self._documents):
            try:
                names = os.listdir(self._documents)
            except FileNotFoundError:
                return []
        ids = [n[:-5] for n in names if _is_store_file(n) and _valid_id(n[:-5])]
        with self._mutex:
            for doc_id in ids:
                if doc_id not in self._sources:
                    try:
                        self._load_document(doc_id)
                    except StoreCorrupt as exc:
                        self._sources[doc_id] = ""
                        self._unreadable[doc_id] = exc
                    except StoreError:
                        self._sources[doc_id] = ""
            return sorted(ids, key=lambda i: (_natural(self._sources[i]), i))

    def unreadable_documents(self) -> dict[str, StoreCorrupt]:
        """The document files `document_ids` listed that do not parse (it lists them all the same)."""
        return {doc_id: exc for doc_id, exc in self._unreadable.items() if doc_id not in self._docs}

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

    def _analysis_path(self, doc_id: str, key: str) -> Path:
        self._check_id(doc_id)
        return self._analyses / f"{doc_id}/{encode_name(key, 'key')}.json"

    def cached_analysis(self, doc_id: str, key: str) -> dict | None:
        """The cached record, or None when there is none or the file is damaged (it is only a cache)."""
        try:
            record = files.read_json(self._analysis_path(doc_id, key))
        except (OSError, StoreError):
            return None
        return record if isinstance(record, dict) else None

    def analyses_version(self, doc_id: str) -> tuple | None:
        """What changes whenever an analysis of a document is cached, by any process: its files' names and inodes
        (each atomic write is a new inode; a time could repeat within the clock's tick)."""
        try:
            with os.scandir(self._analyses / doc_id) as entries:
                return tuple(sorted((e.name, e.inode()) for e in entries))
        except (OSError, ValueError):
            return None

    def analysis_keys(self, doc_id: str) -> list[str]:
        """Keys of the analyses cached for a document, most recent first."""
        folder = self._analyses / doc_id
        try:
            paths = [p for p in folder.iterdir() if _is_store_file(p.name)]
        except OSError:
            return []
        paths.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        return [decode_name(p.name[: -len(".json")]) for p in paths]

    def cache_analysis(self, doc_id: str, key: str, record: dict | None, *, encoded: bytes | None = None) -> None:
        """Cache an analysis (not on a read-only store); `encoded`: `encode_record(record)` made off the UI process.
        Not fsynced: after a power cut the file may be empty, and then it is ignored and rebuilt."""
        if self.read_only:
            return
        path = self._analysis_path(doc_id, key)
        data = encoded if encoded is not None else _encoded(files.json_line, record, f"the analysis of {doc_id}")
        self._check_writable()
        marked = self._mark(doc_id, "")
        with self._mutex:
            self._check_writable()
            self._write_file(path, data + b"\n", durable=False)
        self._written(doc_id, "", marked)

    def annotation_path(self, doc_id: str, annotator: str) -> Path:
        self._check_id(doc_id)
        return self._annotations / f"{doc_id}/{encode_name(annotator, 'annotator name')}.json"

    def annotators(self, doc_id: str) -> list[str]:
        """Names of everyone who has a file for this document, sorted."""
        self._check_id(doc_id)
        folder = self._annotations / doc_id
        with _os_errors("list", folder):
            try:
                names = os.listdir(folder)
            except (FileNotFoundError, NotADirectoryError):
                return []
        out = []
        for name in names:
            if _is_store_file(name):
                with contextlib.suppress(UnicodeDecodeError):
                    out.append(decode_name(name[:-5]))
        return sorted(out)

    def _file(self, doc_id: str, annotator: str) -> AnnotationFile:
        """The annotation file, read once; read again when it was replaced behind our back (git pull)."""
        key = (doc_id, annotator)
        cached = self._files.get(key)
        if cached is not None and not cached.changed_on_disk():
            return cached
        self._files.pop(key, None)
        path = self.annotation_path(doc_id, annotator)
        with _os_errors("read", path):
            file = AnnotationFile(path, read_only=self.read_only)
        self._files[key] = file
        return file

    def records(self, doc_id: str, annotator: str, fields: tuple[str, ...] | None = None) -> dict[str, dict]:
        """An annotator's records of a document by id (a new dict of read-only records); `fields`: only these keys
        are needed, so a file not read yet is decoded without the others and not kept."""
        with self._mutex:
            if fields is not None and (doc_id, annotator) not in self._files:
                found = read_subset(self.annotation_path(doc_id, annotator), fields)
                if found is not None:
                    return found
            return dict(self._file(doc_id, annotator).table)

    def write(self, doc_id: str, annotator: str, upsert: Iterable[dict] = (), delete: Iterable[str] = ()) -> None:
        """Apply the changes (deletions first) in one atomic write, on disk when it returns; no change, no write."""
        self._check_writable()
        if isinstance(annotator, str) and has_control(annotator):
            raise StoreError(f"the annotator name {annotator!r:.60} holds a control character")
        upserts: dict[str, dict] = {}
        for record in upsert:
            if not isinstance(record, Mapping) or not isinstance(record.get("id"), str) or not record["id"]:
                raise StoreError(f"an annotation record needs a non-empty string \"id\": {record!r:.80}")
            if (bad := _control_string(record)) is not None:
                raise StoreError(f"record {record['id']!r:.40} refused: a value holds a control character: "
                                 f"{bad!r:.60}")
            data = _encoded(files.json_line, record, f"record {record['id']!r}")
            upserts[record["id"]] = files.loads(data)  # our own copy, exactly as on disk
        deletes = set(delete if not isinstance(delete, str) else [delete])
        if not all(isinstance(key, str) for key in deletes):
            raise StoreError("record ids to delete must be strings")
        if not self.has_document(doc_id):
            raise UnknownDocument(f"no document with id {doc_id!r} in {self.root}")
        marked = self._mark(doc_id, annotator)
        with self._mutex:
            self._check_writable()
            holder = self._lock_writer(annotator)
            if holder is not None:
                raise StoreReadOnly(f"{annotator}'s annotations in {self.root} are open in {holder}: "
                                    "nothing was written")
            file = self._file(doc_id, annotator)
            try:
                self._prepare_folder(file.path.parent)
                file.apply(upserts, deletes)
            except OSError as exc:
                self._files.pop((doc_id, annotator), None)  # memory may not match the disk any more
                raise StoreError(f"cannot write {file.path}: {exc.strerror or exc}; "
                                 "the change was not saved") from None
        self._written(doc_id, annotator, marked)
