"""Kill a writing process at random moments: no file may be torn and no acknowledged write may be lost."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reader.store import Store

WRITER = Path(__file__).with_name("store_writer.py")
KILLS = 35
BUDGET = 25.0
"""Seconds; the loop stops early (after at least 30 kills) rather than make the suite slow."""


def apply(state: dict, op: dict) -> None:
    if op["kind"] == "analysis":
        return
    if op["kind"] == "document":
        state["docs"].add(op["record"]["id"])
        return
    records = state["records"].setdefault((op["doc"], op["annotator"]), {})
    for key in op["delete"]:
        records.pop(key, None)
    for record in op["upsert"]:
        records[record["id"]] = record


def copy_state(state: dict) -> dict:
    return {"docs": set(state["docs"]), "records": {k: dict(v) for k, v in state["records"].items()}}


def read_log(path: Path) -> tuple[list[dict], dict | None]:
    """Acknowledged operations in order, and the one in flight (begun, not acknowledged) if any."""
    acked, pending = [], None
    text = path.read_text(encoding="utf-8")
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break  # killed while printing
        word, _, rest = line.strip().partition(" ")
        if word == "begin":
            pending = json.loads(rest)
        elif word == "ack":
            assert pending is not None and pending["n"] == int(rest)
            acked.append(pending)
            pending = None
    return acked, pending


def on_disk(root: Path) -> dict:
    """Everything in the store, through a fresh read-only Store, after checking that every file parses."""
    for path in root.rglob("*.json"):
        if not path.name.startswith("."):
            json.loads(path.read_bytes())  # a torn file fails here
    with Store(root, read_only=True) as store:
        docs = set(store.document_ids())
        for doc_id in docs:
            assert store.document(doc_id)["id"] == doc_id
        records = {}
        for doc_id in docs:
            for name in store.annotators(doc_id):
                records[(doc_id, name)] = store.records(doc_id, name)
    return {"docs": docs, "records": {k: v for k, v in records.items() if v}}


def comparable(state: dict) -> dict:
    return {"docs": state["docs"], "records": {k: v for k, v in state["records"].items() if v}}


@pytest.mark.slow
def test_kill_writer_at_random_moments(tmp_path: Path) -> None:
    root = tmp_path / "store"
    rng = random.Random(1234)
    expected = {"docs": set(), "records": {}}
    started = time.monotonic()
    kills = in_flight = in_flight_landed = torn = 0
    temporary: set[Path] = set()
    n = 0
    while kills < KILLS and (kills < 30 or time.monotonic() - started < BUDGET):
        log = tmp_path / f"writer-{kills}.log"
        with log.open("w") as out:
            proc = subprocess.Popen([sys.executable, str(WRITER), str(root), str(n), str(rng.randrange(10**9))],
                                    stdout=out, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 20
            while "ready" not in log.read_text():
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "the writer did not start"
                time.sleep(0.005)
            # Kill inside the k-th operation (begun, at a random moment of it), however fast the machine is.
            target, deadline = rng.randrange(3, 14), time.monotonic() + 20
            while log.read_text().count("begin ") < target and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.001)
            time.sleep(rng.uniform(0.0, 0.004))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stderr.close()
        kills += 1
        acked, pending = read_log(log)
        in_flight += pending is not None  # killed between `begin` and `ack`
        if kills == 1:
            expected["docs"].update(["c0ffee000001", "c0ffee000002"])
        for op in acked:
            apply(expected, op)
        actual = on_disk(root)
        left = set(root.rglob(".*.tmp")) - temporary  # killed in the middle of writing a file
        torn += bool(left)
        temporary |= left
        if actual != comparable(expected):
            assert pending is not None, f"kill {kills}: an acknowledged write is missing or wrong"
            with_pending = copy_state(expected)
            apply(with_pending, pending)
            assert actual == comparable(with_pending), f"kill {kills}: the store matches no allowed state"
            expected = with_pending
            in_flight_landed += 1
        n = (acked[-1]["n"] + 1 if acked else n) + (1 if pending else 0)
    print(f"{kills} kills, {n} operations, {in_flight} during a call, {in_flight_landed} in-flight writes on disk, "
          f"{torn} kills inside a file write")
    assert kills >= 30
    # The test means something only if kills hit writes: a store call in progress, and the window between the
    # temporary file's creation and its rename (about half of the kills land there on this machine).
    assert in_flight > 0, "no kill landed while a write was in flight"
    assert torn > 0, "no kill landed inside a file write (temporary file present)"
    assert n > kills * 5, "too few writes between kills for the test to mean anything"
    # the store opens for writing after all that, and a writer cleans the temporary files it left
    with Store(root) as store:
        assert not store.read_only
        for doc_id, name in list(expected["records"]):
            store.write(doc_id, name, upsert=[{"id": "final"}])
    leftovers = list((root / "annotations").rglob(".*.tmp"))
    assert leftovers == []
    assert os.path.exists(root / ".lock")


ALICE, BOB = "alice", "Bob Dylan/2"


@pytest.mark.slow
def test_two_annotators_write_at_once_and_are_killed_at_random_moments(tmp_path: Path) -> None:
    """One writer per annotator: two processes write their own annotator's files and add the same documents
    and analyses at the same time; killed at random moments, neither loses an acknowledged write nor tears a
    file, and a second writer for an annotator who has one is refused."""
    from store_writer import analysis

    root = tmp_path / "store"
    rng = random.Random(99)
    expected = {name: {"docs": set(), "records": {}} for name in (ALICE, BOB)}
    start = acked_total = 0
    landed: set[str] = set()
    for round_ in range(8):
        procs, logs = {}, {}
        for name in (ALICE, BOB):
            logs[name] = tmp_path / f"{round_}-{name.replace('/', '_')}.log"
            with logs[name].open("w") as out:
                # both start from the same operation number: they add the same documents, byte for byte
                procs[name] = subprocess.Popen(
                    [sys.executable, str(WRITER), str(root), str(start), str(rng.randrange(10**9)), name],
                    stdout=out, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 20
            for name, proc in procs.items():
                while "ready" not in logs[name].read_text():
                    assert proc.poll() is None, proc.stderr.read().decode()
                    assert time.monotonic() < deadline, "a writer did not start"
                    time.sleep(0.005)
            if round_ == 0:  # the same annotator twice: the second process is refused, the first goes on
                third = subprocess.run([sys.executable, str(WRITER), str(root), "0", "1", ALICE],
                                       capture_output=True, text=True, timeout=20)
                assert third.returncode == 3 and third.stdout.startswith("locked pid "), third
            time.sleep(rng.uniform(0.05, 0.2))
            for proc in procs.values():  # one after the other: the survivor writes alone for a moment
                proc.send_signal(signal.SIGKILL)
                time.sleep(rng.uniform(0.0, 0.03))
        finally:
            for proc in procs.values():
                proc.kill()
                proc.wait()
                proc.stderr.close()
        actual = on_disk(root)
        pending_docs: set[str] = set()
        next_start = start
        for name in (ALICE, BOB):
            acked, pending = read_log(logs[name])
            acked_total += len(acked)
            expected[name]["docs"].update(["c0ffee000001", "c0ffee000002"])
            for op in acked:
                apply(expected[name], op)
            mine = {k: v for k, v in actual["records"].items() if k[1] == name}
            if mine != comparable(expected[name])["records"]:
                assert pending is not None, f"round {round_}: an acknowledged write of {name} is missing or wrong"
                apply(expected[name], pending)
                assert mine == comparable(expected[name])["records"], f"round {round_}: {name} matches no state"
            elif pending is not None and pending["kind"] == "document":
                pending_docs.add(pending["record"]["id"])
            next_start = max(next_start, (acked[-1]["n"] + 1 if acked else start) + (1 if pending else 0))
        start = next_start
        known = expected[ALICE]["docs"] | expected[BOB]["docs"] | landed
        assert known <= actual["docs"] <= known | pending_docs
        landed |= actual["docs"]
        for path in (root / "analyses").rglob("*.json"):
            assert json.loads(path.read_bytes()) == analysis(path.parent.name)
    assert acked_total > 100, "too few writes for the test to mean anything"
    with Store(root, annotator=ALICE) as one, Store(root, annotator=BOB) as other:
        assert not one.read_only and not other.read_only
        for doc_id in ("c0ffee000001", "c0ffee000002"):  # a writer cleans what dead writers left where it writes
            one.write(doc_id, ALICE, upsert=[{"id": "final"}])
            other.write(doc_id, BOB, upsert=[{"id": "final"}])
    assert list((root / "annotations").rglob(".*.tmp")) == []
