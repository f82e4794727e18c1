"""Durable file primitives: atomic replacement of a file, the lock file, deterministic JSON in and out.

Every file of the store goes through `atomic_write` (temporary file in the same folder, fsync, rename, fsync of
the folder), so a crash leaves either the old or the new version. Nothing here knows what the files mean.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import json
import os
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from reader.store.errors import StoreCorrupt, StoreError

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


def atomic_write(path: Path | str, data: bytes | Sequence[bytes | bytearray], *, durable: bool = True
                 ) -> os.stat_result:
    """Replace `path` by `data` (bytes, or buffers written one after the other: an export's blocks, never
    joined into one more copy) so that the file is always a complete old or new version.

    With `durable` the call returns only once the data and the rename are on disk. Returns the new file's
    stat (its inode and times tell later whether someone else replaced it).
    """
    path = Path(path)
    folder = path.parent
    tmp = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_CLOEXEC, 0o666)
    try:
        try:
            for buffer in [data] if isinstance(data, bytes | bytearray | memoryview) else data:
                view = memoryview(buffer)
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


def json_line(value: Any) -> bytes:
    """Compact deterministic JSON on one line; readable UTF-8 unless the text holds lone surrogates."""
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, sort_keys=True, ensure_ascii=True, allow_nan=False).encode("ascii")


def encode_record(record: dict) -> bytes:
    """The bytes `Store.cache_analysis` writes for a record (without the final newline)."""
    return json_line(record)


def json_file(value: Any) -> bytes:
    """Deterministic JSON indented for people (documents, the schema file), with a final newline."""
    try:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False, indent=2)
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        return json.dumps(value, sort_keys=True, ensure_ascii=True, allow_nan=False, indent=2).encode() + b"\n"


_FAST_FROM = 64 * 1024
"""Below this many bytes json.loads is used: msgspec's import (4 ms) would cost the first paint of a short
document more than it saves there (~0.2 ms per 64 KB)."""


@functools.cache
def _fast_decode() -> Callable[[bytes | str], Any]:
    import msgspec.json

    return msgspec.json.Decoder().decode


_bulk_readers = 0
_bulk_mutex = threading.Lock()


def bulk_reading() -> bool:
    """Whether some caller is reading the store in bulk (`bulk_reads`)."""
    return _bulk_readers > 0


@contextlib.contextmanager
def bulk_reads() -> Iterator[None]:
    """msgspec for files of every size while this is open: for a caller reading the whole store (export),
    for which msgspec's import is nothing and json's decoding of 4,000 small files is 0.3 s of 1 s.

    Process-wide, but it changes no value nor error (`loads`), only the speed of reads in other threads.
    """
    global _bulk_readers
    _fast_decode()
    with _bulk_mutex:
        _bulk_readers += 1
    try:
        yield
    finally:
        with _bulk_mutex:
            _bulk_readers -= 1


def loads(data: bytes | str) -> Any:
    """Parse JSON exactly as `json.loads` does, 1.8x as fast on large files (bench/bench_store.py).

    msgspec parses first; whatever it refuses (NaN, 1e400, an escaped lone surrogate, a BOM, UTF-16, deep
    nesting, damage) goes to `json.loads`, so results and errors are json's. Not orjson: it reads integers
    beyond 64 bits as floats, silently. Writing stays with json: neither library writes json's separators.
    """
    if len(data) < _FAST_FROM and not _bulk_readers:
        return json.loads(data)
    try:
        return _fast_decode()(data)
    except Exception:
        return json.loads(data)


def read_json(path: Path) -> Any:
    """Parsed content; FileNotFoundError passes through, anything unparsable raises StoreCorrupt."""
    data = path.read_bytes()
    try:
        return loads(data)
    except (ValueError, RecursionError) as exc:
        reason = f"not valid JSON: {exc.msg}, line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) \
            else "not valid JSON"
        raise StoreCorrupt(path, reason) from None


def file_key(stat: os.stat_result) -> tuple[int, int, int]:
    """(inode, size, mtime): changes whenever someone replaces or rewrites the file."""
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


# --- the lock file -------------------------------------------------------------------------------------


def describe_lock(info: str) -> str | None:
    """"pid 12 on host since 10:02" from what a lock holder wrote in the lock file, or None if unreadable."""
    try:
        data = json.loads(info)
        since = datetime.fromisoformat(data["since"])
        when = since.strftime("%H:%M") if since.date() == datetime.now().date() else since.strftime("%Y-%m-%d %H:%M")
        return f"pid {int(data['pid'])} on {data['host']} since {when}"
    except (ValueError, KeyError, TypeError):
        return None


class LockFile:
    """An exclusive flock on a file, held by the one process that may write; who holds it is written inside.

    Dropping the object without `release()` closes the file, so a forgotten store does not keep the lock
    until the process ends.
    """

    def __init__(self, path: Path) -> None:
        """Open (create) the lock file; OSError when it cannot be."""
        self.path = path
        self._fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT | _O_CLOEXEC, 0o666)
        self._close = weakref.finalize(self, os.close, self._fd)

    def acquire(self, *, shared: bool = False) -> str | None:
        """Take the lock and write who we are in it: None, or who holds it (then the file is closed).

        `shared`: a lock that many processes hold at once and only an exclusive holder keeps out (nothing is
        written in the file then: it names the exclusive holder, if any).
        """
        fd = self._fd
        assert fd is not None
        for attempt in range(5):
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    self._drop()
                    raise StoreError(f"cannot lock {self.path}: {exc.strerror or exc}") from None
                if attempt < 4:
                    time.sleep(0.01)  # a read-only store may be probing the lock for an instant
        else:
            holder = describe_lock(os.pread(fd, 4096, 0).decode("utf-8", "replace")) or "another process"
            self._drop()
            return holder
        if shared:
            return None
        info = {"pid": os.getpid(), "host": os.uname().nodename,
                "since": datetime.now().isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info, sort_keys=True) + "\n").encode(), 0)
        return None

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            self._drop()

    def _drop(self) -> None:
        self._close()
        self._fd = None


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (one we may not signal counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def stale_temporary(name: str) -> bool:
    """Whether `name` is a temporary file (`atomic_write`'s `.NAME.PID.HEX.tmp`) that a dead writer left.

    Several processes write in one folder (each annotator has a writer, and anyone adds documents): a file
    whose writer still runs is being written and must stay, so only a dead pid's files go.
    """
    if not (name.startswith(".") and name.endswith(".tmp")):
        return False
    parts = name.rsplit(".", 3)
    if len(parts) != 4 or not parts[1].isdigit():
        return True  # not one of ours: no writer is renaming it
    pid = int(parts[1])
    return pid != os.getpid() and not pid_alive(pid)


def probe_lock(path: Path) -> str | None:
    """Who holds the lock at `path`, without taking it nor creating anything."""
    try:
        fd = os.open(path, os.O_RDONLY | _O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return describe_lock(os.pread(fd, 4096, 0).decode("utf-8", "replace")) or "another process"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
