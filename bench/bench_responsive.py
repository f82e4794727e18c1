"""Does the app answer while spaCy loads and analyses? Key latency, quit time and cold open, in tmux.

Key latency: `j`/`k` are sent with `tmux send-keys` and the clock stops when the status line's `sentence N/M`
changes in `capture-pane`. Samples taken while the status says the model is loading or analysing are compared
with samples on the same document once its analysis is on screen (idle), in the same run. Goals: no key over
250 ms, median within 1.5× of idle. Quit: `q` sent while the model loads (and during a long analysis), the
clock stops when the pane's process is gone; goal ≤ 0.5 s. Cold open: first paint of a 20,000-sentence
document against the seed's; goal ≤ 2×. `main()` returns the rows.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_paint import READER, generated_text, prepare_store, time_to_text  # noqa: E402

STATUS = re.compile(r"sentence (\d+)/(\d+)")
BUSY = ("loading entities", "analysing")
STARTUP = 0.5


class Pane:
    """The reader in a private tmux server."""

    def __init__(self, store: Path, cwd: Path, width: int = 120, height: int = 36) -> None:
        self.name = f"bench-resp-{uuid.uuid4().hex[:8]}"
        self.tmux = ["tmux", "-L", self.name]
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        self.started = time.perf_counter()
        self.startup: list[float] = []
        subprocess.run([*self.tmux, "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height),
                        "-c", str(cwd), str(READER), "--store", str(store)], check=True, env=env)
        subprocess.run([*self.tmux, "set-option", "-t", self.name, "remain-on-exit", "on"], check=True)

    def screen(self) -> str:
        return subprocess.run([*self.tmux, "capture-pane", "-p", "-t", self.name], capture_output=True,
                              text=True).stdout

    def send(self, key: str) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", self.name, key], check=True)

    def dead(self) -> bool:
        out = subprocess.run([*self.tmux, "display-message", "-p", "-t", self.name, "#{pane_dead}"],
                             capture_output=True, text=True).stdout.strip()
        return out == "1"

    def wait_for(self, text: str, timeout: float = 120) -> str:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.01)
        raise RuntimeError(f"{text!r} never appeared:\n{self.screen()}")

    def status(self) -> tuple[str, str]:
        """(`sentence N/M` as text, the whole screen)."""
        screen = self.screen()
        found = STATUS.search(screen)
        return (found.group(0) if found else ""), screen

    def key_latency(self, key: str, timeout: float = 5) -> tuple[float, str]:
        """Seconds from send-keys to a changed `sentence N/M`, and the screen before the key."""
        before, screen = self.status()
        start = time.perf_counter()
        self.send(key)
        while time.perf_counter() - start < timeout:
            if self.status()[0] != before:
                return time.perf_counter() - start, screen
            time.sleep(0.004)
        return timeout, screen

    def kill(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)


def sample_keys(pane: Pane, *, busy: bool, limit: int, max_seconds: float,
                painted: float = 0.0) -> list[float]:
    """Alternate j/k; with `busy`, only keys pressed while the status says the model is at work count.

    Keys sent within STARTUP s of the first paint (`painted`) are also kept in `pane.startup`: the app is
    still settling then (first collection, worker start), with or without spaCy."""
    samples: list[float] = []
    keys = ["j", "k"]
    start = time.perf_counter()
    while len(samples) < limit and time.perf_counter() - start < max_seconds:
        sent = time.perf_counter()
        latency, screen = pane.key_latency(keys[len(samples) % 2])
        if sent - painted < STARTUP:
            pane.startup.append(latency)
        at_work = any(word in screen for word in BUSY)
        if busy and not at_work:
            break
        samples.append(latency)
        time.sleep(0.02)
    return samples


ARRIVAL = 3
"""The last busy keys of a run that sampled until the analysis arrived: the ones pressed as it arrives (the screen
then takes the sentences and the entities), reported apart."""


def latency_case(store: Path, marker: str, cwd: Path,
                 busy_seconds: float) -> tuple[list[float], list[float], list[float], list[float]]:
    """(keys while the model loads/analyses, keys once the analysis is shown, the busy keys sent within
    STARTUP s of the first paint, End/Home once analysed) on one cold store. Sampling stops at the analysis's
    arrival or after `busy_seconds`."""
    pane = Pane(store, cwd)
    try:
        pane.wait_for(marker)
        painted = time.perf_counter()
        pane.wait_for("sentence ")
        busy = sample_keys(pane, busy=True, limit=10_000, max_seconds=busy_seconds, painted=painted)
        pane.wait_for("(analysed)", timeout=300)
        time.sleep(0.3)
        idle = sample_keys(pane, busy=False, limit=max(40, len(busy)), max_seconds=30)
        jumps = []
        for key in ("End", "Home") * 5:
            jumps.append(pane.key_latency(key)[0])
            time.sleep(0.05)
        return busy, idle, pane.startup, jumps
    finally:
        pane.kill()


def quit_time(store: Path, marker: str, cwd: Path, wait_for: str | None, delay: float) -> float:
    """Seconds from `q` to the process gone, sent `delay` s after first paint (or after `wait_for` shows)."""
    pane = Pane(store, cwd)
    try:
        pane.wait_for(marker)
        if wait_for:
            pane.wait_for(wait_for, timeout=120)
        time.sleep(delay)
        busy = any(word in pane.screen() for word in BUSY)
        start = time.perf_counter()
        pane.send("q")
        while not pane.dead():
            if time.perf_counter() - start > 30:
                raise RuntimeError("the reader did not quit within 30 s")
            time.sleep(0.005)
        elapsed = time.perf_counter() - start
        if not busy:
            print(f"  (warning: the model was no longer at work when q was sent: {elapsed:.3f} s)")
        return elapsed
    finally:
        pane.kill()


def fresh(tmp: Path, name: str, text: str | None) -> tuple[Path, str]:
    """A new store (no cached analysis) holding the seed or `text`."""
    return prepare_store(tmp / f"{name}-{uuid.uuid4().hex[:6]}", text)


def describe(samples: list[float]) -> str:
    if not samples:
        return "no samples"
    return (f"median {statistics.median(samples) * 1000:6.1f} ms  max {max(samples) * 1000:6.1f} ms  "
            f"n={len(samples)}")


def main(repeat: int = 3, sentences: int = 20_000) -> list[tuple[str, float, float]]:
    rows = []
    big = generated_text(sentences)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        # Cold open: first paint of the long document vs the seed, interleaved.
        paint: dict[str, list[float]] = {"seed": [], "long": []}
        for _ in range(max(5, repeat)):
            for name, text in (("seed", None), ("long", big)):
                store, marker = fresh(tmp_path, name, text)
                paint[name].append(time_to_text([str(READER), "--store", str(store)], marker, tmp_path))
        seed_paint, long_paint = statistics.median(paint["seed"]), statistics.median(paint["long"])
        print(f"cold open (first paint, median of {len(paint['seed'])}): seed {seed_paint:.3f} s, "
              f"{sentences:,} sentences {long_paint:.3f} s = {long_paint / seed_paint:.2f}× the seed (goal ≤ 2×)")
        rows.append(("cold open, long document / seed", long_paint, long_paint / seed_paint))

        # Key latency while the model loads (seed) and while it analyses the long document.
        for label, text, busy_seconds in (("seed, model loading", None, 30),
                                          (f"{sentences:,} sentences, loading + analysing", big, 600)):
            busy_all: list[float] = []
            idle_all: list[float] = []
            startup_all: list[float] = []
            arrival_all: list[float] = []
            jumps: list[float] = []
            for _ in range(repeat if text is None else 1):
                store, marker = fresh(tmp_path, "keys", text)
                busy, idle, startup, jumps = latency_case(store, marker, tmp_path, busy_seconds)
                busy_all += busy
                idle_all += idle
                startup_all += startup
                arrival_all += [x for x in busy[-ARRIVAL:] if x not in startup]
            later = list(busy_all)
            for value in startup_all:  # the same floats: remove the first STARTUP s of each run
                later.remove(value)
            ratio = statistics.median(busy_all) / statistics.median(idle_all) if busy_all and idle_all else 0.0
            print(f"keys, {label}:\n  idle  {describe(idle_all)}\n  busy  {describe(busy_all)}\n"
                  f"  median {ratio:.2f}× idle (goal ≤ 1.5×), max {max(busy_all, default=0) * 1000:.0f} ms "
                  f"(goal ≤ 250 ms); after the first {STARTUP} s: max {max(later, default=0) * 1000:.0f} ms, "
                  f"in it: max {max(startup_all, default=0) * 1000:.0f} ms; the last {ARRIVAL} before the analysis "
                  f"showed: {sorted(round(x * 1000) for x in arrival_all)} ms")
            rows.append((f"keys, {label}: median", statistics.median(busy_all) if busy_all else 0.0, ratio))
            rows.append((f"keys, {label}: max", max(busy_all, default=0.0),
                         max(busy_all, default=0.0) / max(idle_all, default=1.0)))
            if text is not None and jumps and idle_all:
                jump_ratio = max(jumps) / statistics.median(idle_all)
                print(f"End/Home on {sentences:,} sentences: {describe(jumps)} = {jump_ratio:.2f}× a j key "
                      "(goal < 0.3 s)")
                rows.append((f"End/Home on {sentences:,} sentences: max", max(jumps), jump_ratio))

        # Quit while the model loads, and during the long analysis.
        loading = [quit_time(*fresh(tmp_path, "quit", None), tmp_path, None, 0.6) for _ in range(repeat)]
        analysing = [quit_time(*fresh(tmp_path, "quit", big), tmp_path, "analysing", 0.3) for _ in range(repeat)]
        for label, values in (("model loading", loading), ("long analysis", analysing)):
            print(f"quit during {label}: median {statistics.median(values):.3f} s, max {max(values):.3f} s "
                  f"(goal ≤ 0.5 s)")
            rows.append((f"quit during {label}", max(values), max(values) / 0.5))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sentences", type=int, default=20_000)
    args = parser.parse_args()
    main(args.repeat, args.sentences)
