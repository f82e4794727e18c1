"""Durable file primitives: atomic replacement (a crash leaves the old or the new file), the lock file, JSON."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import time
import weakref
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from reader.store.errors import StoreCorrupt, StoreError

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _fsync(fd: int) -> None:
    if hasattr(fcntl, "F_FULLFSYNC"):  # macOS: fsync alone does not flush the drive's cache
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
            return
    os.fsync(fd)


def fsync_dir(path: Path | str) -> None:
    """Make renames and new entries in a folder durable."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        _fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path | str, data: bytes, *, durable: bool = True) -> os.stat_result:
    """Replace `path` by `data`; `durable`: on disk when it returns. The new file's stat, to tell a later change."""
    path = Path(path)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "xb") as file:  # O_EXCL, and not inherited by child processes
            file.write(data)
            file.flush()
            if durable:
                _fsync(file.fileno())
            stat = os.fstat(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(path.parent)
    return stat


def _dumps(value: Any, indent: int | None) -> bytes:
    """Deterministic JSON; readable UTF-8 unless the text holds lone surrogates. Written by json, not msgspec,
    whose bytes differ for files kept in git (1e-05, int keys, lone surrogates: tests/test_store.py)."""
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False, indent=indent).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, sort_keys=True, ensure_ascii=True, allow_nan=False, indent=indent).encode("ascii")


def json_line(value: Any) -> bytes:
    """Compact JSON on one line (annotation records, analyses, the lock's holder)."""
    return _dumps(value, None)


encode_record = json_line  # the bytes `Store.cache_analysis` writes for a record (without the final newline)


def json_file(value: Any) -> bytes:
    """JSON indented for people (documents, the schema file), with a final newline."""
    return _dumps(value, 2) + b"\n"


_decode = msgspec.json.Decoder().decode


def loads(data: bytes | str) -> Any:
    """Parse JSON exactly as `json.loads` does, at msgspec's speed: what msgspec refuses (NaN, 1e400, an escaped
    lone surrogate, a BOM, deep nesting, damage) goes to `json.loads`, so values and errors are json's."""
    try:
        return _decode(data)
    except Exception:
        return json.loads(data)


def read_json(path: Path) -> Any:
    """Parsed content; FileNotFoundError passes through, anything unparsable raises StoreCorrupt."""
    try:
        return loads(path.read_bytes())
    except (ValueError, RecursionError) as exc:
        reason = f": {exc.msg}, line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise StoreCorrupt(path, f"not valid JSON{reason}") from None


def file_key(stat: os.stat_result) -> tuple[int, int, int]:
    """(inode, size, mtime): changes whenever someone replaces or rewrites the file."""
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def describe_lock(fd: int) -> str:
    """"pid 12 on host since 10:02" from what the holder wrote in a lock file, else "another process"."""
    try:
        data = loads(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
        since = datetime.fromisoformat(data["since"])
        when = since.strftime("%H:%M" if since.date() == datetime.now().date() else "%Y-%m-%d %H:%M")
        return f"pid {int(data['pid'])} on {data['host']} since {when}"
    except (ValueError, KeyError, TypeError):
        return "another process"


class LockFile:
    """A flock held by the one process that may write, who holds it written inside; dropped, it closes the file,
    so a forgotten store does not keep the lock until the process ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT | _O_CLOEXEC, 0o666)
        self._close = weakref.finalize(self, os.close, self._fd)

    def acquire(self, *, shared: bool = False) -> str | None:
        """Take the lock (and write who we are, unless `shared`): None, or who holds it (the file is then closed)."""
        fd = self._fd
        assert fd is not None
        for attempt in range(5):
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                break
            except BlockingIOError:  # EWOULDBLOCK, EAGAIN: held
                if attempt < 4:
                    time.sleep(0.01)  # a read-only store may be probing the lock for an instant
            except OSError as exc:
                self._drop()
                raise StoreError(f"cannot lock {self.path}: {exc.strerror or exc}") from None
        else:
            holder = describe_lock(fd)
            self._drop()
            return holder
        if not shared:
            info = {"pid": os.getpid(), "host": os.uname().nodename,
                    "since": datetime.now().isoformat(timespec="seconds")}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json_line(info) + b"\n", 0)
        return None

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            self._drop()

    def _drop(self) -> None:
        self._close()
        self._fd = None


def stale_temporary(name: str) -> bool:
    """Whether `name` is a temporary file (`.NAME.PID.HEX.tmp`) whose writer died (a live one is about to rename it)."""
    if not (name.startswith(".") and name.endswith(".tmp")):
        return False
    parts = name.rsplit(".", 3)
    if len(parts) != 4 or not parts[1].isdigit():
        return True  # not one of ours: no writer is renaming it
    try:
        os.kill(int(parts[1]), 0)  # our own pid included: alive
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, ValueError):  # one we may not signal runs
        pass
    return False


def probe_lock(path: Path) -> str | None:
    """Who holds the lock at `path`, without taking it nor creating anything."""
    try:
        fd = os.open(path, os.O_RDONLY | _O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    except OSError:
        return describe_lock(fd)
    finally:
        os.close(fd)
