"""Export on several cores: the documents cut into contiguous chunks, all but the first worked on by forked
children while this process works on the first, the pieces put back in document order. While they work, the
chunks can tell the first one what they know (`Peers.exchange`: the labels they use, their DocBin rows), and
arrays cross the pipes once, out of band.

Only an accelerator: a child that fails in any way (an exception, a crash, a result that does not pickle) has
its chunk worked on again here, which gives the same piece, or raises the same error as a one-process export.
Forking is only safe in a process with one thread (a fork copies locks held by other threads, and the child
could wait on them forever), so `workers` says 1 anywhere else (the TUI), and off Linux. Children inherit the
open read-only workspace and disabled gc and leave with `os._exit`: nothing of the parent (buffered output,
finalizers, the store's lock) runs twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import struct
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_CHUNK = 50
"""Documents per process below which forking costs more than it saves."""
MAX_WORKERS = 4
"""Beyond this, reading the store's files from the page cache is what limits an export (measured on 2 CPUs
only: bench/bench_export.py)."""

_HEADER = struct.Struct(">QBI")
"""A message: its pickle's size, its kind, how many out-of-band buffers follow the pickle (their sizes next)."""
_SIZE = struct.Struct(">Q")
_TICK, _ANNOUNCE, _RESULT = 0, 1, 2
_PIPE_SIZE = 1 << 20
"""Bytes a pipe holds (Linux's default most): results of tens of MB cross it in fewer reads."""


def workers(requested: int, items: int) -> int:
    """How many processes to use: `requested` (0 = one per available CPU, at most MAX_WORKERS), fewer when
    the chunks would be small, 1 when forking is not safe here."""
    if requested == 1 or items < 2 * MIN_CHUNK:
        return 1
    if not sys.platform.startswith("linux") or not hasattr(os, "fork") or threading.active_count() > 1:
        return 1
    if requested <= 0:
        try:
            requested = min(len(os.sched_getaffinity(0)), MAX_WORKERS)
        except (AttributeError, OSError):
            requested = min(os.cpu_count() or 1, MAX_WORKERS)
    return max(1, min(requested, items // MIN_CHUNK))


def chunks(items: Sequence[T], count: int, first: float = 1.0) -> list[list[T]]:
    """`count` contiguous chunks in order, of nearly equal length but the first, `first` times as long as the
    others (its process may have more to do)."""
    if count <= 1:
        return [list(items)]
    lead = min(len(items), round(len(items) * first / (first + count - 1)))
    size, extra = divmod(len(items) - lead, count - 1)
    out, start = [list(items[:lead])], lead
    for k in range(count - 1):
        end = start + size + (1 if k < extra else 0)
        out.append(list(items[start:end]))
        start = end
    return out


class Peers:
    """What the processes exporting one dataset tell each other while they work, through `exchange`."""

    sends = False
    """Whether `exchange` hands values to another process (a child's): a big value handed over need not be
    sent again with the result."""

    def exchange(self, value: Any, partial: bool = False) -> list[Any] | None:
        """Called the same number of times by every chunk: every chunk's value in chunk order, in the process
        of the first chunk; None elsewhere. When some chunk's process could not say (it failed, and its chunk
        will be redone): None, so that nothing depends on the others alone, or with `partial` the list with
        None for that chunk."""
        return None

    def keep(self, *objects: Any) -> None:
        """Objects this chunk's work is done with: a child keeps them until it exits, when its memory goes
        at once, instead of freeing them one by one before it sends its result (the read model and token
        table of 500 documents took 40 ms to free, while the first chunk's process waited)."""


class _Alone(Peers):
    """The only chunk."""

    def exchange(self, value: Any, partial: bool = False) -> list[Any] | None:
        return [value]


class _Lead(Peers):
    """The first chunk, worked on here while children work on the others."""

    def __init__(self, children: list[_Child], progress: Callable[[int], None] | None) -> None:
        self.children, self.progress = children, progress

    def exchange(self, value: Any, partial: bool = False) -> list[Any] | None:
        values = [value]
        for child in self.children:
            found = child.announcement(self.progress)
            if found is _FAILED:
                if not partial:
                    return None
                found = None
            values.append(found)
        return values


def map_chunks(work: Callable[[list[T], Callable[[int], None] | None, Peers], R], parts: list[list[T]],
               progress: Callable[[int], None] | None = None) -> list[R]:
    """[work(part, progress, peers) for part in parts], the parts after the first in forked children."""
    if len(parts) == 1:
        return [work(parts[0], progress, _Alone())]
    children = [_Child.start(work, part) for part in parts[1:]]
    try:
        results = [work(parts[0], progress, _Lead(children, progress))]
        for child, part in zip(children, parts[1:], strict=True):
            found = child.result(progress)
            if found is _FAILED:
                found = work(part, _Owed(progress, child.done) if progress and child.done else progress, Peers())
            results.append(found)
        return results
    finally:
        for child in children:
            child.close()


_FAILED: Any = object()
_kept: list[Any] = []
"""In a child: what `Peers.keep` was given, never freed (the child leaves with os._exit)."""


class _Owed:
    """A progress callback that swallows the first `owed` steps: those a failed child already reported."""

    def __init__(self, progress: Callable[[int], None], owed: int) -> None:
        self.progress, self.owed = progress, owed

    def __call__(self, n: int) -> None:
        taken = min(n, self.owed)
        self.owed -= taken
        if n > taken:
            self.progress(n - taken)


class _Child:
    """A forked process working on one chunk, and the pipe it reports on: progress, announcements, the
    result. Each message is pickled (protocol 5) with its big arrays out of band: they cross the pipe once, as
    they are in memory, and are read straight into the buffers they are unpickled over."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid
        self.fd: int | None = fd
        self.done = 0
        """Progress reported so far."""
        self._result: tuple[bytearray, list[bytearray]] | None = None

    @classmethod
    def start(cls, work: Callable[[list[T], Callable[[int], None] | None, Peers], Any], part: list[T]) -> _Child:
        read, write = os.pipe()
        if hasattr(fcntl, "F_SETPIPE_SZ"):
            with contextlib.suppress(OSError):
                fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 1
            try:
                os.close(read)
                code = _serve(work, part, write)
            finally:
                os._exit(code)
        os.close(write)
        return cls(pid, read)

    def announcement(self, progress: Callable[[int], None] | None) -> Any:
        """The value the child passed to `Peers.exchange`, or _FAILED (it failed, or finished without one)."""
        return self._wait(_ANNOUNCE, progress)

    def result(self, progress: Callable[[int], None] | None) -> Any:
        """The child's result, or _FAILED."""
        try:
            return self._wait(_RESULT, progress)
        finally:
            self.close()

    def _wait(self, kind: int, progress: Callable[[int], None] | None) -> Any:
        """The next message of `kind`, or _FAILED; the result, when met on the way, is kept (announcements a
        caller does not wait for are passed over)."""
        while self._result is None:
            message = self._next(progress)
            if message is None:
                return _FAILED
            found, body = message
            if found == _RESULT:
                self._result = body
            elif found == kind:
                return self._loads(body)
        return self._loads(self._result) if kind == _RESULT else _FAILED

    def _next(self, progress: Callable[[int], None] | None) -> tuple[int, tuple[bytearray, list[bytearray]]] | None:
        """The next announcement or result, as (kind, (pickle, buffers)) (progress on the way goes to
        `progress`); None at the end."""
        try:
            while True:
                header = self._read(_HEADER.size)
                if header is None:
                    return None
                size, kind, count = _HEADER.unpack(header)
                sizes = self._read(_SIZE.size * count)
                if sizes is None:
                    return None
                parts = [self._read(n) for n in (size, *(n for (n,) in _SIZE.iter_unpack(sizes)))]
                if None in parts:
                    return None
                body = parts[0], parts[1:]
                if kind != _TICK:
                    return kind, body  # type: ignore[return-value]
                n = self._loads(body)
                self.done += n
                if progress:
                    progress(n)
        except OSError:
            return None

    @staticmethod
    def _loads(body: tuple[bytearray, list[bytearray]]) -> Any:
        try:
            return pickle.loads(body[0], buffers=body[1])
        except Exception:
            return _FAILED

    def _read(self, size: int) -> bytearray | None:
        """Exactly `size` bytes, or None at the end of the pipe."""
        if self.fd is None:
            return None
        data = bytearray(size)
        view, done = memoryview(data), 0
        while done < size:
            n = os.readv(self.fd, [view[done:]])
            if not n:
                return None
            done += n
        return data

    def close(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None
        if self.pid:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(self.pid, 0)
            self.pid = 0


class _Follower(Peers):
    sends = True

    def __init__(self, send: Callable[[int, Any], None]) -> None:
        self.send = send

    def keep(self, *objects: Any) -> None:
        _kept.extend(objects)

    def exchange(self, value: Any, partial: bool = False) -> list[Any] | None:
        self.send(_ANNOUNCE, value)
        return None


def _serve(work: Callable[[list[T], Callable[[int], None] | None, Peers], Any], part: list[T], fd: int) -> int:
    """In the child: do the work, send progress now and then and the result at the end; the exit code."""
    with os.fdopen(fd, "wb", buffering=0) as pipe:
        pending = 0
        step = max(1, len(part) // 100)  # at most ~100 messages: the pipe never fills while the parent works

        def send(kind: int, value: Any) -> None:
            buffers: list[pickle.PickleBuffer] = []
            body = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
            raw = [b.raw() for b in buffers]
            header = _HEADER.pack(len(body), kind, len(raw)) + b"".join(_SIZE.pack(r.nbytes) for r in raw)
            for data in (header, body, *raw):
                view = memoryview(data)
                while view:
                    view = view[pipe.write(view):]

        def tick(n: int) -> None:
            nonlocal pending
            pending += n
            if pending >= step:
                send(_TICK, pending)
                pending = 0

        result = work(part, tick, _Follower(send))
        if pending:
            send(_TICK, pending)
        send(_RESULT, result)
    return 0
