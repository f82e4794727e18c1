"""Text fields in a real terminal (tmux, 80×24, started from a directory outside the repository): every printable
character typed into the search box, the command palette, the note editor and a served tab's name prompt is
text; the app is still running after each; the stored note is exactly what was typed; a note being written when
the terminal hangs up (SIGHUP) or the process is stopped (SIGTERM: `reader serve` stopping a tab) is saved."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time

import pytest

from reader.store import Store
from tests.conftest import TEST_MODEL, process_gone
from tests.test_e2e_tmux import READER, Tmux
from tests.test_text_fields import PRINTABLE

pytestmark = [pytest.mark.slow, pytest.mark.needs_tmux]

HELP_TITLE = "Keys  (Esc to close"


def store_copy(analysed_store, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(analysed_store, store, ignore=shutil.ignore_patterns(".lock", ".locks"))
    return store


def note_texts(store, annotator: str) -> list[str]:
    texts = []
    for path in (store / "annotations").glob(f"*/{annotator}.json"):
        records = json.loads(path.read_text(encoding="utf-8"))["_default"].values()
        texts += [r["text"] for r in records if r.get("kind") == "note"]
    return texts


def wait_until(predicate, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(what)


def still_running(term: Tmux, where: str) -> str:
    screen = term.screen()
    assert not term.dead(), f"the reader ended while typing in {where}:\n{screen}"
    assert HELP_TITLE not in screen, f"a key typed in {where} opened help:\n{screen}"
    return screen


def reader(store, *args: str, cwd) -> Tmux:
    return Tmux([str(READER), "--store", str(store), "--model", TEST_MODEL, *args], cwd=cwd, width=80, height=24)


def test_every_printable_character_is_text_in_search_palette_and_note(analysed_store, tmp_path):
    store = store_copy(analysed_store, tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    term = reader(store, "--annotator", "fields", cwd=outside)
    try:
        term.wait_for("tagged 0/14", timeout=60)

        term.keys("/")
        term.wait_for("Search: literal")
        term.type(PRINTABLE)
        still_running(term, "the search box")
        term.keys("Enter")
        term.type("jj")  # right after Enter: reader keys, not more query
        term.wait_for("sentence 3/14")
        assert "no match for “!\"#$" in still_running(term, "the search box")

        term.keys("C-p")
        term.wait_for("Search for commands")
        term.type(PRINTABLE)
        still_running(term, "the command palette")
        wait_until(lambda: "€ fin" in term.screen(), "the palette's field shows what was typed")
        for _ in range(3):  # Esc closes the match list, then the palette
            term.keys("Escape")
            if "🔎" not in term.screen():
                break
        wait_until(lambda: "🔎" not in term.screen(), "Esc closes the palette")

        term.keys("n")
        term.wait_for("Note on the sentence")
        term.type(PRINTABLE)
        still_running(term, "the note editor")
        term.keys("C-s")
        term.wait_for("saved: note")
        assert note_texts(store, "fields") == [PRINTABLE]

        term.keys("n")  # the same note, edited; the terminal goes away before it is saved
        term.wait_for("(editing)")
        term.type(" + brouillon ?q")
        wait_until(lambda: "brouillon ?q" in term.screen(), "the draft is on screen")
        os.kill(term.pid(), signal.SIGHUP)
        wait_until(term.dead, "SIGHUP ends the reader")
    finally:
        term.kill()
    assert note_texts(store, "fields") == [PRINTABLE + " + brouillon ?q"]


def test_a_draft_is_saved_when_the_process_is_stopped(analysed_store, tmp_path):
    """SIGTERM: what `reader serve` and a shutdown send; the tab's draft is saved, the process ends cleanly."""
    store = store_copy(analysed_store, tmp_path)
    term = reader(store, "--annotator", "fields", cwd=tmp_path)
    try:
        term.wait_for("tagged 0/14", timeout=60)
        term.keys("j", "n")
        term.wait_for("Note on the sentence")
        term.type("à revoir ? « q » €")
        wait_until(lambda: "à revoir ? « q » €" in term.screen(), "the draft is on screen")
        os.kill(term.pid(), signal.SIGTERM)
        wait_until(term.dead, "SIGTERM ends the reader")
        assert "Traceback" not in term.screen()
    finally:
        term.kill()
    assert note_texts(store, "fields") == ["à revoir ? « q » €"]


def test_every_printable_character_is_text_in_the_name_prompt(analysed_store, tmp_path):
    """The first screen of a `reader serve` tab (`reader open --ask-annotator` in a terminal)."""
    store = store_copy(analysed_store, tmp_path)
    term = reader(store, "open", "--ask-annotator", cwd=tmp_path)
    try:
        term.wait_for("Annotator:", timeout=60)
        for start in range(0, len(PRINTABLE), 40):  # the field holds 40 characters
            term.type(PRINTABLE[start:start + 40])
            still_running(term, "the name prompt")
            assert "Annotator:" in term.screen()
            term.keys("C-u")
        term.type("Zoé q")  # a name with q in it: typed, not quit
        term.keys("Enter")
        term.wait_for("tagged 0/14", timeout=60)
        term.keys("1")
        term.wait_for("saved: tag")
    finally:
        term.kill()
    with Store(store, read_only=True) as stored:
        (doc_id,) = stored.document_ids()
        assert [r["label"] for r in stored.records(doc_id, "Zoé q").values()] == ["event"]


def test_a_terminal_that_hangs_up_at_the_first_paint_ends_the_reader(analysed_store, tmp_path):
    """A real hang-up (the tmux server gone, as an ssh connection dropped): the kernel sends SIGHUP and SIGCONT,
    and Textual's SIGCONT resume used to leave the process blocked for ever, holding the store's lock."""
    store = store_copy(analysed_store, tmp_path)
    term = reader(store, "--annotator", "fields", cwd=tmp_path)
    try:
        term.wait_for("La Corée du Nord", timeout=60)
        pid = term.pid()
    finally:
        term.kill()

    try:
        wait_until(lambda: process_gone(pid), "the reader ends when its terminal hangs up", timeout=15)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
