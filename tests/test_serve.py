"""`reader serve` in headless Chromium: two analysts in two tabs at once, a third tab read-only, offline, a clean
stop with tabs open. The terminal is read from xterm.js's buffer (tests/browser.py), never from pixels."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from browser import Served, browser, chromium_available, open_tab, screen, type_name, wait_for_text
from conftest import TEST_MODEL

from reader import cli
from reader.store import Store

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def needs_chromium() -> None:
    """Like `needs_tmux`: skipped without Chromium and playwright, a failure under CI (.ci/run installs them)."""
    missing = None
    if not chromium_available():
        missing = "chromium is not installed (.ci/run installs Debian's package)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "playwright is not installed (make test installs the dev extras)"
    if missing is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{missing} but CI is set: the browser tests must run", pytrace=False)
    pytest.skip(missing)


def reader_processes(store: Path) -> list[int]:
    """Processes still running a tab of this store (their command line names it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--ask-annotator" in cmdline and str(store).encode() in cmdline:
            found.append(int(entry.name))
    return found


def tags(store: Path, annotator: str) -> set[tuple[int, str]]:
    """(sentence start offset, label) pairs, as stored for one annotator."""
    with Store(store, read_only=True) as s:
        (doc_id,) = s.document_ids()
        return {(r["start"], r["label"]) for r in s.records(doc_id, annotator).values() if r.get("kind") == "tag"}


def test_two_analysts_tag_at_once_a_third_tab_is_read_only_and_the_server_stops(analysed_store, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(analysed_store, store, ignore=shutil.ignore_patterns(".lock", ".locks"))
    server = Served(store, "--model", TEST_MODEL)
    try:
        with browser() as (chromium, blocked):
            alice, bob = open_tab(chromium, blocked, server.url), open_tab(chromium, blocked, server.url)
            alice.goto(server.url)
            bob.goto(server.url)
            type_name(alice, "alice")
            type_name(bob, "Bob Dylan")
            for page in (alice, bob):
                wait_for_text(page, "tagged 0/14")
            # at the same time: alice tags sentence 1 with label 1, bob sentence 2 with label 2
            alice.keyboard.press("1")
            bob.keyboard.press("j")
            bob.keyboard.press("2")
            assert "✓ saved: tag event" in wait_for_text(alice, "✓ saved")
            assert "sentence 2/14" in wait_for_text(bob, "✓ saved: tag claim")
            assert "READ-ONLY" not in screen(alice) + screen(bob)

            third = open_tab(chromium, blocked, server.url)
            third.goto(server.url)
            type_name(third, "alice")
            banner = wait_for_text(third, "READ-ONLY")
            assert not re.search(r"\bpid \d+", banner), "a browser's analyst has no use for a process id"
            wait_for_text(third, "tagged 1/14")  # it reads alice's work
            third.keyboard.press("3")
            wait_for_text(third, "not saved")

            # the export reaches the analyst's machine: a download, from the command palette
            alice.keyboard.press("Control+p")
            wait_for_text(alice, "Search for commands")
            alice.keyboard.type("Download the document's export (native")
            # the page opens the download's URL in a new window; fetch it from the page instead
            alice.evaluate("() => { window.open = (url) => { window.__opened = url; return null; }; }")
            alice.keyboard.press("Enter")
            alice.wait_for_function("() => window.__opened !== undefined", timeout=10000)
            assert "/download/" in alice.evaluate("() => window.__opened")
            exported = alice.evaluate("() => fetch(window.__opened).then(r => r.text())").splitlines()
            assert len(exported) == 1
            record = json.loads(exported[0])
            assert record["meta"]["annotator"] == "alice" and record["sentences"][0]["labels"] == ["event"]

            assert blocked == [], "the page asked for something outside this machine"
            status, seconds, output = server.stop()  # ctrl+c with three tabs open
            assert status == 0, output
            assert seconds < 8, f"serve took {seconds:.1f} s to stop"
            assert "reader: stopped" in output and "Traceback" not in output
            assert reader_processes(store) == []
            for page in (alice, bob, third):  # every tab was told: its page shows the session ended
                page.wait_for_function("document.body.classList.contains('-closed')", timeout=5000)
    finally:
        server.kill()
    (first,), (second,) = tags(store, "alice"), tags(store, "Bob Dylan")
    assert first[1] == "event" and second[1] == "claim" and first[0] < second[0]
    with Store(store, annotator="alice") as again:  # the tabs' locks went with their processes
        assert not again.read_only


def test_serve_refuses_another_address_without_public(capsys, tmp_path):
    status = cli.run(["--store", str(tmp_path / "s"), "serve", "--host", "0.0.0.0"])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("error: --host 0.0.0.0 is reachable from other machines")
    assert "no authentication" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "s").exists()


def test_keys_typed_in_a_fresh_tab_reach_the_reader_without_a_click(analysed_store, tmp_path):
    """Issue 18, item 17: the page focuses xterm.js's input as it loads; before, keys went nowhere until the
    page was clicked (`type_name` focuses the input itself, so the other tests could not see it)."""
    store = tmp_path / "store"
    shutil.copytree(analysed_store, store, ignore=shutil.ignore_patterns(".lock", ".locks"))
    server = Served(store, "--model", TEST_MODEL)
    try:
        with browser() as (chromium, blocked):
            page = open_tab(chromium, blocked, server.url)
            page.goto(server.url)
            wait_for_text(page, "Annotator:")
            page.keyboard.type("carla ?q")  # no click, no focus(): `?` and `q` are text in the name field
            wait_for_text(page, "carla ?q")
            for _ in "?q":
                page.keyboard.press("Backspace")
            page.keyboard.press("Enter")
            wait_for_text(page, "tagged 0/14")
            page.keyboard.press("1")
            wait_for_text(page, "✓ saved: tag")
    finally:
        server.kill()
    assert tags(store, "carla")
