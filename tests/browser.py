"""Drive `reader serve` from headless Chromium (Debian's package, through playwright: no browser download).

Shared by tests/test_serve.py and bench/bench_serve.py. The terminal's text is read from xterm.js's buffer, not
from screenshots: textual.js keeps its `Terminal` in a closure, so an init script catches it as it is assigned
(`this.terminal = new Terminal(...)`) with a setter on `Object.prototype`, before the page's scripts run. Every
request that leaves the machine is aborted (and counted): the page must work offline.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("READER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]

CATCH_TERMINAL = """
(() => {
  window.__terminals = [];
  Object.defineProperty(Object.prototype, "terminal", {
    configurable: true,
    set(value) {
      Object.defineProperty(this, "terminal", {value, writable: true, configurable: true, enumerable: true});
      if (value && value.buffer && value.buffer.active) window.__terminals.push(value);
    },
  });
})();
"""

SCREEN_TEXT = """
() => {
  const term = window.__terminals && window.__terminals[0];
  if (!term) return "";
  const buffer = term.buffer.active, lines = [];
  for (let y = 0; y < term.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    lines.push(line ? line.translateToString(true) : "");
  }
  return lines.join("\\n");
}
"""


def chromium_available() -> bool:
    return Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def is_local(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in ("data", "blob", "about"):
        return True
    return parsed.hostname in ("127.0.0.1", "localhost", "::1")


class Served:
    """`reader serve` in a child process on 127.0.0.1 and a free port."""

    def __init__(self, store: Path, *args: str, env: dict | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reader", "--store", str(store), *args, "serve", "--port", str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env={**os.environ, **(env or {})}, start_new_session=True)
        self.first_line = self.proc.stdout.readline()
        if "serving on" not in self.first_line:
            self.proc.kill()
            raise RuntimeError(f"reader serve did not start: {self.first_line!r} {self.proc.stderr.read()}")
        deadline = time.monotonic() + 10
        while True:  # the line is printed on start-up, the socket listens a moment later
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("reader serve does not listen")
            time.sleep(0.02)

    def stop(self, timeout: float = 15) -> tuple[int, float, str]:
        """ctrl+c, as a person would: (status, seconds it took, what it printed)."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            out, err = self.proc.communicate()
            return -1, time.monotonic() - started, out + err
        return self.proc.returncode, time.monotonic() - started, self.first_line + out + err

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@contextlib.contextmanager
def browser() -> Iterator:
    """(browser, list of blocked URLs); a browser context per tab keeps tabs as separate as two analysts."""
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            yield chromium, blocked
        finally:
            chromium.close()


def open_tab(chromium, blocked: list[str], url: str, size=(1200, 700)):
    """A page with the terminal catcher and the offline guard, not yet navigated."""
    context = chromium.new_context(viewport={"width": size[0], "height": size[1]}, accept_downloads=True)
    page = context.new_page()
    page.add_init_script(CATCH_TERMINAL)

    def guard(route) -> None:
        if is_local(route.request.url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    return page


def screen(page) -> str:
    return page.evaluate(SCREEN_TEXT)


def wait_for_text(page, text: str, timeout: float = 20.0) -> str:
    """The screen once it shows `text` (polled from xterm's buffer), else AssertionError with the screen."""
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        shown = screen(page)
        if text in shown:
            return shown
        page.wait_for_timeout(15)
    raise AssertionError(f"{text!r} not on screen after {timeout} s:\n{shown}")


def type_name(page, name: str) -> None:
    """Answer the first screen: the name in the `Annotator:` field, Enter."""
    wait_for_text(page, "Annotator:")
    page.locator(".xterm-helper-textarea").focus()
    page.keyboard.type(name)
    page.keyboard.press("Enter")
