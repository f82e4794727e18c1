"""spaCy in a child process, for the interactive reader: loading a pipeline holds the GIL for seconds, which in the UI
process stalls keys. The child keeps its pipelines loaded, never touches the store, and can be killed at any moment.
Messages are pickled tuples `(kind, request id, ...)`; a result comes in parts of PART rows, so that each GIL hold
of the parent's reader thread stays a few ms."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from reader import collector
from reader.analysis import Analysis, AnalysisError, Span, analyse, load_pipeline
from reader.store import encode_record

POLL = 0.05  # seconds between checks for a cancelled request while waiting (also bounds a quit's wait)
PART = 10_000  # rows (tokens, sentences or entities) per message of a result
NICE = 5  # the child yields the CPU to the UI when both want it


class AnalysisCancelled(Exception):
    """The request was dropped before its analysis came back (its document was closed, or the app quits)."""


class AnalysisProcess:
    """One child process serving analyses one at a time; thread-safe, started on first use."""

    def __init__(self) -> None:
        self._process: Any = None
        self._conn: Any = None
        self._lock = threading.Lock()  # one request on the pipe at a time
        self._state = threading.Lock()  # guards the fields below
        self._ids = itertools.count(1)
        self._tags: dict[int, Hashable] = {}  # the requests not cancelled yet, with their tags
        self.closed = False  # for good: `close()` was called

    def analyse(self, pipeline: str | None, lang: str, text: str, progress: Callable[[float], None] | None = None,
                *, tag: Hashable = None) -> tuple[Analysis, bytes]:
        """The analysis and its record encoded for the store's cache; AnalysisCancelled after `cancel(tag)`."""
        return self._call(("analyse", pipeline, lang, text), progress, tag)

    def suggest(self, model: Any, texts: list[str], *, tag: Hashable = None) -> list[dict[str, float]]:
        """Label probabilities per text from a `suggest.ModelInfo`: the UI never imports spaCy."""
        return self._call(("suggest", model, list(texts)), None, tag)  # type: ignore[return-value]

    def _call(self, message: tuple, progress: Callable[[float], None] | None, tag: Hashable) -> Any:
        """One request at a time on the pipe; a child that dies under it is restarted next time."""
        with self._state:
            request = next(self._ids)
            self._tags[request] = tag
        try:
            with self._lock:
                self._check(request)
                conn = self._ensure_child()
                try:
                    conn.send((message[0], request, *message[1:]))
                    return self._wait(conn, request, progress)
                except (EOFError, OSError):
                    self._check(request)  # killed on purpose: cancelled, not an error
                    self._reset()
                    raise AnalysisError("the analysis process stopped unexpectedly") from None
        finally:
            with self._state:
                self._tags.pop(request, None)

    def cancel(self, tag: Hashable) -> None:
        """Drop every request made with `tag` (queued or running); returns at once, without any I/O."""
        with self._state:
            self._tags = {r: t for r, t in self._tags.items() if t != tag}

    def close(self) -> None:
        """Kill the child now (the model dies with it) and drop every request; does not wait for anything."""
        with self._state:
            self.closed = True
            self._tags.clear()
            process = self._process
        if process is not None and process.poll() is None:
            process.kill()  # its end of the pipe closes: a reader blocked on it wakes up with EOF

    @property
    def started(self) -> bool:
        return self._process is not None

    def _check(self, request: int) -> None:
        with self._state:
            if self.closed or request not in self._tags:
                raise AnalysisCancelled

    def _ensure_child(self) -> Any:
        if self._process is not None and self._process.poll() is None:
            return self._conn
        from multiprocessing.connection import Connection  # its imports: not before the first paint

        self._reset()
        ours, theirs = socket.socketpair()
        # A fresh interpreter running only this module (not multiprocessing's spawn, which re-runs the caller's
        # main script in the child): no Textual, no threads, and the terminal is not its to write on.
        root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        try:
            process = subprocess.Popen([sys.executable, "-m", "reader.analysis_process", str(theirs.fileno())],
                                       pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        except OSError as exc:
            ours.close()
            raise AnalysisError(f"cannot start the analysis process: {exc}") from None
        finally:
            theirs.close()  # only the child holds its end now: its death is EOF here
        conn = Connection(ours.detach())
        with self._state:
            self._process, self._conn = process, conn
            if self.closed:  # closed while starting
                process.kill()
        return conn

    def _reset(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            self._process.kill()
            self._process.wait()
        self._process = self._conn = None

    def _wait(self, conn: Any, request: int, progress: Callable[[float], None] | None) -> tuple[Analysis, bytes]:
        """Read the child's answers to `request`, skipping answers to requests dropped earlier."""
        parts: dict[str, list] = {"tokens": [], "sentences": [], "entities": []}
        with contextlib.ExitStack() as stack:  # the collector paused from the first part on, never in the analysis
            while True:
                while not conn.poll(POLL):
                    try:
                        self._check(request)
                    except AnalysisCancelled:
                        conn.send(("cancel", request))  # the child stops at its next piece; its answer is skipped
                        raise
                kind, answer_to, *rest = conn.recv()
                if answer_to != request:
                    continue
                if kind == "progress" and progress is not None:
                    progress(rest[0])
                elif kind == "part":
                    if not any(parts.values()):
                        stack.enter_context(collector.paused(keep=True))  # the result lives as long as its screen
                    parts[rest[0]].extend(rest[1])
                elif kind == "done":
                    model, note, encoded = rest
                    entities = tuple(Span(s, e, label) for s, e, label in parts["entities"])
                    return Analysis(model, tuple(parts["tokens"]), tuple(parts["sentences"]), entities, note), encoded
                elif kind == "suggested":
                    return rest[0]  # type: ignore[return-value]
                elif kind == "error":
                    raise AnalysisError(rest[0])
                elif kind == "cancelled":
                    raise AnalysisCancelled


def serve(conn: Any) -> None:
    """The child's loop: answer requests until the pipe closes. Pipelines stay loaded between requests."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ctrl+c in the terminal is the app's to handle
    with contextlib.suppress(OSError):
        os.nice(NICE)
    pipelines: dict[tuple[str | None, str], Any] = {}
    classifiers: dict[tuple[str, str], Any] = {}  # by (folder, created): a model trained again is loaded again
    inbox: deque = deque()
    cancelled: set[int] = set()

    def check(request: int, block: bool = False) -> None:
        """Take in what the parent sent meanwhile; AnalysisCancelled (in the child too) if `request` is."""
        while block or conn.poll():
            message = conn.recv()  # EOFError when the parent is gone: the child ends
            block = False
            if message[0] == "cancel":
                cancelled.add(message[1])
            else:
                inbox.append(message)
        if request in cancelled:
            raise AnalysisCancelled

    with contextlib.suppress(EOFError, OSError, KeyboardInterrupt):
        while True:
            while not inbox:
                check(0, block=True)  # waits for the next request
            kind, request, *args = inbox.popleft()
            try:
                check(request)
                if kind == "suggest":
                    conn.send(("suggested", request, _suggest(classifiers, *args)))
                    continue
                name, lang, text = args
                key = (name, lang if name is None else "")
                if key not in pipelines:
                    pipelines[key] = load_pipeline(name, lang)
                check(request)

                def progress(share: float, request: int = request) -> None:
                    check(request)
                    conn.send(("progress", request, share))

                result = analyse(pipelines[key], text, progress)
                encoded = encode_record(result.to_record())
                rows = {"tokens": result.tokens, "sentences": result.sentences,
                        "entities": [(e.start, e.end, e.label) for e in result.entities]}
                for field, values in rows.items():
                    for start in range(0, len(values), PART):
                        conn.send(("part", request, field, values[start:start + PART]))
                conn.send(("done", request, result.model, result.note, encoded))
            except AnalysisCancelled:
                conn.send(("cancelled", request))
            except AnalysisError as exc:
                conn.send(("error", request, str(exc)))
            except Exception as exc:  # the parent shows the reason; the child lives on for the next request
                what = "suggestions" if kind == "suggest" else "analysis"
                conn.send(("error", request, f"{what} failed: {type(exc).__name__}: {exc}"))
            finally:
                cancelled.discard(request)


def _suggest(classifiers: dict, model: Any, texts: list[str]) -> list[dict[str, float]]:
    """Label probabilities from a trained model (`suggest.ModelInfo`), the newest one kept loaded."""
    from reader import suggest

    key = (str(model.path), model.created)
    if key not in classifiers:
        classifiers.clear()
        try:
            classifiers[key] = suggest.load(model)
        except suggest.ModelError as exc:  # one line for the user, as the parent would say it
            raise AnalysisError(str(exc)) from None
    return suggest.predict(classifiers[key], texts)


if __name__ == "__main__":
    from multiprocessing.connection import Connection

    serve(Connection(int(sys.argv[1])))
