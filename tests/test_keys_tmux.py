"""The key contract, in a real terminal: every key of every binding of every shipped keymap, pressed with tmux
`send-keys` at 80×24 on a document taller than the screen, does what the action table says — on the screen
(status line, dialogs) and in the store.

Generated from the action table: a binding without a probe here fails the test, so a new action cannot ship
untested.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from reader.ui.keymap import ACTIONS, BY_ID, load_keymap, normalise_keys
from tests.test_e2e_tmux import READER, ROOT, Tmux

pytestmark = [pytest.mark.slow]

KEYMAPS = sorted(p.stem for p in (ROOT / "keymaps").glob("*.toml"))

NAMED = {
    "down": "Down", "up": "Up", "left": "Left", "right": "Right", "pagedown": "NPage", "pageup": "PPage",
    "home": "Home", "end": "End", "escape": "Escape", "enter": "Enter", "tab": "Tab", "space": "Space",
    "minus": "-", "underscore": "_", "plus": "+", "slash": "/", "semicolon": "\\;", "backspace": "BSpace",
    **{f"f{n}": f"F{n}" for n in range(1, 13)},
}


def tmux_key(key: str) -> str:
    """Textual's name of a key -> what `tmux send-keys` types for it."""
    from textual.keys import key_to_character

    *mods, base = key.split("+")
    if "shift" in mods and len(base) == 1 and base.isalpha():
        mods.remove("shift")  # a terminal types shift+f as F
        base = base.upper()
    name = NAMED.get(base) or key_to_character(base) or base
    prefix = "".join({"ctrl": "C-", "alt": "M-", "shift": "S-"}[m] for m in mods)
    return prefix + name


class Session:
    """One reader in tmux with a keymap, plus what the test knows about the seed."""

    def __init__(self, term: Tmux, keymap: dict[str, str], store: Path, doc_id: str, sentences, labels) -> None:
        self.term = term
        self.keymap = keymap
        self.store = store
        self.doc_id = doc_id
        self.sentences = sentences
        self.labels = labels

    def press(self, *keys: str) -> None:
        for key in keys:
            self.term.keys(tmux_key(key))

    def do(self, action_id: str) -> None:
        """Press the first key of another binding (to set a probe up)."""
        self.press(normalise_keys(self.keymap[action_id])[0])

    def status(self) -> str:
        lines = self.term.screen().splitlines()
        return lines[-2] if len(lines) >= 2 else ""

    def wait(self, predicate: Callable[[str], bool], what: str, timeout: float = 5) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.term.screen()
            if predicate(screen):
                return screen
            time.sleep(0.05)
        raise AssertionError(f"{what}; screen:\n{screen}")

    def sentence(self) -> int:
        found = re.search(r"sentence (\d+)/(\d+)", self.status())
        assert found, self.status()
        return int(found.group(1))

    def wait_sentence(self, check: Callable[[int], bool], what: str) -> int:
        self.wait(lambda s: (m := re.search(r"sentence (\d+)/", s.splitlines()[-2])) is not None
                  and check(int(m.group(1))), what)
        return self.sentence()

    def at_top(self) -> None:
        self.do("reader.clear-selection")
        self.do("reader.top")
        self.wait_sentence(lambda n: n == 1, "back at the top")

    @property
    def text(self) -> str:
        return json.loads((self.store / "documents" / f"{self.doc_id}.json").read_text(encoding="utf-8"))["text"]

    def records(self) -> list[dict]:
        path = self.store / "annotations" / self.doc_id / "keys.json"
        if not path.exists():
            return []
        return list(json.loads(path.read_text(encoding="utf-8"))["_default"].values())

    def cursor_on_screen(self) -> bool:
        return any(line.startswith("▌") for line in self.term.screen().splitlines()[1:-2])


def _movement(s: Session, key: str, setup: str | None, check: Callable[[int, int], bool], what: str) -> None:
    s.at_top()
    if setup:
        s.do(setup)
        s.wait_sentence(lambda n: n > 1, "setup moved")
    before = s.sentence()
    s.press(key)
    s.wait_sentence(lambda n: check(before, n), what)
    assert s.cursor_on_screen(), "the cursor sentence is on screen"


def probe_next_sentence(s, key):
    _movement(s, key, None, lambda b, n: n == b + 1, "next sentence")


def probe_prev_sentence(s, key):
    _movement(s, key, "reader.bottom", lambda b, n: n == b - 1, "previous sentence")


def probe_page_down(s, key):
    _movement(s, key, None, lambda b, n: n > b, "page down moves the cursor")


def probe_page_up(s, key):
    _movement(s, key, "reader.bottom", lambda b, n: n < b, "page up moves the cursor")


def probe_top(s, key):
    _movement(s, key, "reader.bottom", lambda b, n: n == 1, "top")


def probe_bottom(s, key):
    _movement(s, key, None, lambda b, n: n == len(s.sentences), "bottom")


ENTITY = re.compile(r"\b(PER|LOC|ORG|MISC) “")


def probe_next_entity(s, key):
    s.at_top()
    s.press(key)
    s.wait(lambda sc: ENTITY.search(sc.splitlines()[-2]) is not None, "the entity is in the status line")


def probe_prev_entity(s, key):
    s.at_top()
    s.do("reader.bottom")
    s.wait_sentence(lambda n: n == len(s.sentences), "at the bottom")
    s.press(key)
    s.wait(lambda sc: ENTITY.search(sc.splitlines()[-2]) is not None, "the entity is in the status line")


def _search(s, key="") -> None:
    s.press(key or normalise_keys(s.keymap["reader.search"])[0])
    s.press("ctrl+u")  # the box opens with the last query: empty it, and the placeholder shows
    s.wait(lambda sc: "Search:" in sc, "the search box opens")
    s.term.keys("Corée", "Enter")
    s.wait(lambda sc: re.search(r"match \d+/\d+", sc.splitlines()[-2]) is not None, "matches are counted")


def probe_search(s, key):
    s.at_top()
    _search(s, key)


def _match_probe(s, key):
    s.at_top()
    _search(s)
    before = re.search(r"match (\d+)/", s.status()).group(1)
    s.press(key)
    s.wait(lambda sc: (m := re.search(r"match (\d+)/", sc.splitlines()[-2])) is not None and m.group(1) != before,
           "the match changes")


probe_next_match = probe_prev_match = _match_probe


def panel_shown(screen: str) -> bool:
    return any("▏" in line for line in screen.splitlines()[1:-2])


def probe_toggle_panel(s, key):
    s.at_top()
    s.press(key)
    s.wait(panel_shown, "the side panel shows at 80 columns")
    s.press(key)
    s.wait(lambda sc: not panel_shown(sc), "and hides again")


def probe_focus_panel(s, key):
    s.at_top()
    s.press(key)
    s.wait(panel_shown, "the panel shows and takes the focus")
    s.press("enter")
    s.wait(lambda sc: ENTITY.search(sc.splitlines()[-2]) is not None, "enter in the panel jumps to an entity")
    s.press(key)
    s.do("reader.toggle-panel")
    s.wait(lambda sc: not panel_shown(sc), "panel hidden again")


def _library_round_trip(s, open_key: str | None, back_key: str | None, sort_key: str | None = None) -> None:
    """Open the library and come back to the document, with the key under test on one of the steps (`sort_key`:
    the order goes from date to title on the way)."""
    s.at_top()
    if open_key:
        s.press(open_key)
    else:
        s.do("reader.library")
    s.wait(lambda sc: "Library ·" in sc and "by date, newest first" in sc, "the library opens, newest first")
    if sort_key:
        s.press(sort_key)
        s.wait(lambda sc: "by title" in sc, "the sort key orders by title")
    if back_key:
        s.press(back_key)
    else:
        s.do("reader.library-quit")
    s.wait(lambda sc: "sentence 1/" in sc, "back to the document")


def probe_library(s, key):
    _library_round_trip(s, key, None)


def probe_open_document(s, key):
    _library_round_trip(s, None, key)


probe_library_quit = probe_open_document


def probe_library_sort(s, key):
    _library_round_trip(s, None, None, key)


def probe_library_search(s, key):
    """The search across the library: typed (`q` is a word there), Enter to the hits, Enter opens the reader on
    the hit with the word as its matches, `o` back to the hits, Esc to the library, Esc to the document."""
    s.at_top()
    s.do("reader.library")
    s.wait(lambda sc: "Library ·" in sc, "the library opens")
    s.press(key)
    s.wait(lambda sc: "Search the library" in sc, "the search opens")
    s.term.type("russie q")
    s.wait(lambda sc: "Search · 0 sentences" in sc, "q is typed as a word: no sentence holds both")
    s.press("backspace", "backspace")
    s.wait(lambda sc: re.search(r"Search · [1-9]\d* sentences? in 1 document", sc) is not None, "hits for Russie")
    s.press("enter", "enter")
    s.wait(lambda sc: "“russie”" in sc.splitlines()[-2], "the reader on the hit, the word as its matches")
    first = next(n for n, (a, b) in enumerate(s.sentences, 1) if "russie" in s.text[a:b].lower())
    s.wait_sentence(lambda n: n == first, "on the first sentence naming Russia")
    s.do("reader.library")
    s.wait(lambda sc: "Search ·" in sc and "russie" in sc, "o comes back to the hits")
    s.press("escape")
    s.wait(lambda sc: "Library ·" in sc, "Esc goes back to the library")
    s.do("reader.library-quit")
    s.wait(lambda sc: "sentence 1/" in sc, "back to the document")


def probe_library_entities(s, key):
    """The entity list: rows at once, Enter lists the sentences mentioning the top one."""
    s.at_top()
    s.do("reader.library")
    s.wait(lambda sc: "Library ·" in sc, "the library opens")
    s.press(key)
    s.wait(lambda sc: re.search(r"Entities · [1-9]", sc) is not None, "the entities, most mentioned first")
    s.press("enter")
    s.wait(lambda sc: 'entity:"' in sc and re.search(r"Search · [1-9]", sc) is not None,
           "the sentences that mention the first one")
    s.press("escape")
    s.wait(lambda sc: "Entities ·" in sc, "Esc goes back to the entities")
    s.press("escape")
    s.wait(lambda sc: "Library ·" in sc, "then to the library")
    s.do("reader.library-quit")
    s.wait(lambda sc: "sentence 1/" in sc, "back to the document")


def _tag_probe(n: int):
    def probe(s, key):
        s.at_top()
        if s.labels.by_key(n) is None:
            s.press(key)
            s.wait(lambda sc: f"No label on key {n}" in sc, "a key without a label says so")
            assert not s.records()
            return
        label = s.labels.by_key(n).name
        s.do("reader.next-sentence")
        s.wait_sentence(lambda m: m == 2, "on sentence 2")
        s.press(key)
        s.wait(lambda sc: f"saved: tag {label}" in sc, f"tag {label} saved")
        start, end = s.sentences[1]
        assert any(r["kind"] == "tag" and r["label"] == label and (r["start"], r["end"]) == (start, end)
                   for r in s.records()), "the tag is in the store, on the sentence under the cursor"
        s.press(key)
        s.wait(lambda sc: f"saved: untag {label}" in sc, "pressed again, the tag comes off")
        assert not any(r["kind"] == "tag" and r["label"] == label for r in s.records())
    return probe


def probe_note(s, key):
    s.at_top()
    s.press(key)
    s.wait(lambda sc: "Note on the sentence" in sc, "the note editor opens on the sentence")
    s.term.keys("note-by-key")
    s.press("ctrl+s")
    s.wait(lambda sc: "saved: note on the sentence" in sc, "the note is saved")
    assert any(r["kind"] == "note" and r.get("text") == "note-by-key" for r in s.records())
    s.do("reader.undo")
    s.wait(lambda sc: "undone: note" in sc, "undone")
    assert not any(r["kind"] == "note" for r in s.records())


def probe_document_note(s, key):
    s.at_top()
    s.press(key)
    s.wait(lambda sc: "Note on the document" in sc, "the document note editor opens")
    s.press("escape")
    s.wait(lambda sc: "Note on the document" not in sc, "Esc cancels")


def probe_notes_panel(s, key):
    s.at_top()
    s.press(key)
    s.wait(lambda sc: "Notes (" in sc, "the notes list opens")
    s.press("escape")
    s.wait(lambda sc: "Notes (" not in sc, "Esc closes it")


def _decision_probe(status: str):
    def probe(s, key):
        s.at_top()
        s.do("reader.next-entity")
        s.wait(lambda sc: ENTITY.search(sc.splitlines()[-2]) is not None, "on an entity")
        s.press(key)
        s.wait(lambda sc: f"saved: {status}" in sc, f"entity {status}")
        assert any(r["kind"] == "entity" and r.get("status") == status for r in s.records())
        s.press(key)  # the same decision again takes it back
        s.wait(lambda sc: not any(r["kind"] == "entity" and r.get("status") == status for r in s.records()),
               "pressed again, the decision is taken back")
    return probe


probe_accept_entity = _decision_probe("accepted")
probe_reject_entity = _decision_probe("rejected")


def _mentions_probe(action: str, status: str):
    def probe(s, key):
        s.at_top()
        s.do("reader.next-entity")
        s.wait(lambda sc: ENTITY.search(sc.splitlines()[-2]) is not None, "on an entity")
        s.press(key)
        s.wait(lambda sc: f"saved: {action}: " in sc and "mention" in sc, f"every mention {status}")
        assert any(r["kind"] == "entity" and r.get("status") == status for r in s.records())
        s.do("reader.undo")  # one step takes every mention back
        s.wait(lambda sc: not any(r["kind"] == "entity" and r.get("status") == status for r in s.records()),
               "one undo takes every mention back")
    return probe


probe_entity_accept_all = _mentions_probe("accept", "accepted")
probe_entity_reject_all = _mentions_probe("reject", "rejected")


def probe_entity_relabel_all(s, key):
    s.at_top()
    s.do("reader.next-entity")
    s.wait(lambda sc: ENTITY.search(sc.splitlines()[-2]) is not None, "on an entity")
    s.press(key)
    s.wait(lambda sc: "Label for every" in sc, "the label picker opens for every mention")
    s.press("escape")
    s.wait(lambda sc: "Label for every" not in sc, "Esc closes it")


def probe_relabel_entity(s, key):
    s.at_top()
    s.do("reader.next-entity")
    s.wait(lambda sc: ENTITY.search(sc.splitlines()[-2]) is not None, "on an entity")
    s.press(key)
    s.wait(lambda sc: "Label for" in sc, "the label picker opens")
    s.press("escape")
    s.wait(lambda sc: "Label for" not in sc, "Esc closes it")


def probe_pick_label(s, key):
    s.at_top()
    label = s.labels.labels[0].name
    s.do("reader.next-sentence")
    s.wait_sentence(lambda m: m == 2, "on sentence 2")
    s.press(key)
    s.wait(lambda sc: "Label sentence 2" in sc, "the label picker opens on the sentence")
    s.press("enter")
    s.wait(lambda sc: f"saved: tag {label}" in sc, f"tag {label} saved from the picker")
    start, end = s.sentences[1]
    assert any(r["kind"] == "tag" and r["label"] == label and (r["start"], r["end"]) == (start, end)
               for r in s.records()), "the tag is in the store, on the sentence under the cursor"
    s.press(key)
    s.wait(lambda sc: "Label sentence 2" in sc, "the picker again")
    s.press("enter")
    s.wait(lambda sc: f"saved: untag {label}" in sc, "picked again, the tag comes off")


def _extend_probe(s, key):
    s.at_top()
    s.press(key)
    s.wait(lambda sc: "selection “" in sc, "a selection starts")


probe_extend_right = probe_extend_left = _extend_probe


def probe_add_entity(s, key):
    s.at_top()
    s.do("reader.extend-right")
    s.do("reader.extend-right")
    s.wait(lambda sc: "selection “" in sc, "a selection")
    s.press(key)
    s.wait(lambda sc: "Add “" in sc, "the label picker opens")
    s.press("enter")
    s.wait(lambda sc: "saved: add" in sc, "the entity is added")
    assert any(r["kind"] == "entity" and r.get("status") == "added" for r in s.records())
    s.do("reader.undo")
    s.wait(lambda sc: "undone" in sc, "undone")


def probe_clear_selection(s, key):
    s.at_top()
    s.do("reader.extend-right")
    s.wait(lambda sc: "selection “" in sc, "a selection")
    s.press(key)
    s.wait(lambda sc: "selection “" not in sc, "the selection is cleared")


def probe_undo(s, key):
    s.at_top()
    s.do("reader.tag-1")
    s.wait(lambda sc: "saved: tag" in sc, "tagged")
    s.press(key)
    s.wait(lambda sc: "✓ undone: tag" in sc, "undone, and the status line says so")
    assert not any(r["kind"] == "tag" for r in s.records())


def probe_redo(s, key):
    s.at_top()
    s.do("reader.tag-1")
    s.wait(lambda sc: "saved: tag" in sc, "tagged")
    s.do("reader.undo")
    s.wait(lambda sc: "✓ undone: tag" in sc, "undone")
    s.press(key)
    s.wait(lambda sc: "✓ redone: tag" in sc, "redone, and the status line says so")
    assert any(r["kind"] == "tag" for r in s.records())
    s.do("reader.undo")
    s.wait(lambda sc: "✓ undone: tag" in sc, "undone again")


def _suggestion_probe(verb: str, kind: str):
    """On the first sentence, which the store's trained model (`suggestion_model`) suggests a label for."""
    def probe(s, key):
        s.at_top()
        s.wait(lambda sc: "suggested: " in sc.splitlines()[-2], "the model's suggestion is in the status line",
               timeout=60)
        s.press(key)
        s.wait(lambda sc: f"saved: {verb} " in sc and "(news)" in sc, f"the suggestion is {verb}ed")
        start, end = s.sentences[0]
        assert any(r["kind"] == kind and r.get("model") == "news" and (r["start"], r["end"]) == (start, end)
                   for r in s.records()), f"a {kind} naming the model, on the sentence under the cursor"
        s.do("reader.undo")
        s.wait(lambda sc: f"undone: {verb}" in sc, "undone")
        assert not any(r.get("model") for r in s.records())
    return probe


probe_accept_suggestion = _suggestion_probe("accept", "tag")
probe_dismiss_suggestion = _suggestion_probe("dismiss", "dismissal")


def probe_next_uncertain(s, key):
    s.at_top()
    s.wait(lambda sc: "suggested: " in sc.splitlines()[-2], "suggestions arrived", timeout=60)
    s.press(key)
    first = s.wait_sentence(lambda n: n != 1, "to the sentence the model is least sure of")
    s.press(key)
    s.wait_sentence(lambda n: n not in (1, first), "then to the next one")
    assert s.cursor_on_screen()


def probe_done(s, key):
    s.at_top()
    s.press(key)
    s.wait(lambda sc: "saved: done" in sc and " · done" in sc.splitlines()[-2], "done, in the status line at 80×24")
    assert [r["kind"] for r in s.records()].count("done") == 1
    s.do("reader.undo")
    s.wait(lambda sc: "undone: done" in sc, "undone")
    assert not any(r["kind"] == "done" for r in s.records())


def probe_help(s, key):
    s.at_top()
    s.press(key)
    s.wait(lambda sc: "Esc to close" in sc, "help opens")
    s.press("escape")
    s.wait(lambda sc: "Esc to close" not in sc, "Esc closes help")


def probe_command_palette(s, key):
    s.at_top()
    s.press(key)
    s.wait(lambda sc: "Search for commands" in sc, "the command palette opens")
    s.press("escape")
    s.wait(lambda sc: "Search for commands" not in sc, "Esc closes it")


def probe_quit(s, key):
    s.press(key)
    deadline = time.monotonic() + 2
    while not s.term.dead() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert s.term.dead(), "the reader quits"


# --- the review screen (`reader review`): its bindings, on a store where three annotators disagree -----------------


class ReviewSession(Session):
    """`reader review --rule unanimous` on the seed with alice, bob and carol (tests/test_review.py): conflicts on
    sentences 2, 3 and 4 and on two entities; decisions land in gold.json."""

    def records(self) -> list[dict]:
        path = self.store / "annotations" / self.doc_id / "gold.json"
        if not path.exists():
            return []
        return list(json.loads(path.read_text(encoding="utf-8"))["_default"].values())

    def conflict(self) -> str:
        found = re.search(r"conflict (\S+)/\d+", self.status())
        assert found, self.status()
        return found.group(1)

    def at_first_conflict(self) -> None:
        """On sentence 2 (alice: event + claim, bob: event, carol: claim), the first conflict."""
        self.at_top()
        self.wait(lambda sc: "conflict –/" in sc.splitlines()[-2], "the top sentence holds no conflict")
        self.do("reader.next-conflict")
        self.wait(lambda sc: "conflict 1/" in sc.splitlines()[-2], "on the first conflict")

    def undo(self) -> None:
        self.do("reader.undo")
        self.wait(lambda sc: "✓ undone" in sc.splitlines()[-2], "undone")


def probe_next_conflict(s, key):
    s.at_top()
    s.wait(lambda sc: "conflict –/" in sc.splitlines()[-2], "no conflict at the top")
    s.press(key)
    s.wait(lambda sc: "conflict 1/" in sc.splitlines()[-2] and "Sentence 2 · conflict 1/" in sc, "the first conflict")
    s.press(key)
    s.wait(lambda sc: "conflict 2/" in sc.splitlines()[-2], "the second conflict")
    assert s.cursor_on_screen()


def probe_prev_conflict(s, key):
    s.at_top()
    s.do("reader.bottom")
    s.wait(lambda sc: "conflict –/5" in sc.splitlines()[-2], "no conflict on the last sentence")
    s.press(key)
    s.wait(lambda sc: "conflict 5/5" in sc.splitlines()[-2], "back to the last conflict")
    assert s.cursor_on_screen()


def probe_take_version(s, key):
    s.at_first_conflict()
    s.press(key)
    s.wait(lambda sc: "Take whose version of sentence 2?" in sc, "the version picker opens")
    s.term.keys("3")  # carol: claim
    s.wait(lambda sc: "saved: gold: claim on sentence 2" in sc, "carol's version is taken")
    tags = [r for r in s.records() if r["kind"] == "tag" and r["start"] == s.sentences[1][0]]
    assert [(r["label"], r["from"]) for r in tags] == [("claim", ["alice", "carol"])], tags
    s.undo()


def probe_take_all(s, key):
    s.at_first_conflict()
    s.press(key)
    s.wait(lambda sc: "saved: gold: claim, event on sentence 2" in sc, "the union is taken")
    assert sorted(r["label"] for r in s.records() if r["kind"] == "tag" and r["start"] == s.sentences[1][0]) == \
        ["claim", "event"]
    s.undo()


def probe_take_none(s, key):
    s.at_first_conflict()
    s.press(key)
    s.wait(lambda sc: "saved: gold: no label on sentence 2" in sc, "nothing is taken")
    start = s.sentences[1][0]
    assert not [r for r in s.records() if r["kind"] == "tag" and r["start"] == start]
    assert [r for r in s.records() if r["kind"] == "review" and r["start"] == start], "decided: a review record"
    s.undo()


PROBES: dict[str, Callable[[Session, str], None]] = {
    a.id: globals().get("probe_" + a.id.removeprefix("reader.").replace("-", "_"))
    for a in ACTIONS if not a.id.startswith("reader.tag-")
} | {f"reader.tag-{n}": _tag_probe(n) for n in range(1, 10)}


def test_every_binding_has_a_probe():
    missing = [binding_id for binding_id, probe in PROBES.items() if probe is None]
    assert not missing, f"bindings without a key-contract probe: {missing}"


@pytest.fixture(scope="module")
def suggestion_model(tmp_path_factory) -> Path:
    """A trained sentence classifier (`reader train` on generated documents), for the suggestion keys."""
    from tests.suggest_corpus import trained_store

    root = tmp_path_factory.mktemp("suggestion-model") / "store"
    trained_store(root)
    return root / "models"


@pytest.mark.needs_tmux
@pytest.mark.parametrize("keymap_name", KEYMAPS)
def test_every_key_of_the_keymap_does_what_it_says(keymap_name, analysed_store, suggestion_model, tmp_path):
    from reader.labels import load_labels
    from reader.store import Store
    from reader.workspace import Workspace

    store = tmp_path / "store"
    shutil.copytree(analysed_store, store, ignore=shutil.ignore_patterns(".lock"))
    shutil.copytree(suggestion_model, store / "models")
    ws = Workspace(Store(store, read_only=True))
    doc_id = ws.document_ids()[0]
    analysis = ws.cached_analysis(ws.document(doc_id), any_pipeline=True)
    ws.store.close()
    assert analysis is not None
    keymap = load_keymap(keymap_name)
    term = Tmux([str(READER), "--store", str(store), "--annotator", "keys", "--keymap", keymap_name],
                cwd=tmp_path, width=80, height=24)
    session = Session(term, keymap, store, doc_id, analysis.sentences, load_labels())
    try:
        term.wait_for("sentence 1/", timeout=30)
        term.wait_for(" (cached)", timeout=30)
        assert len(term.screen().splitlines()) == 24
        failures = []
        order = [a for a in ACTIONS if a.id != "reader.quit" and a.scope != "review"] + [BY_ID["reader.quit"]]
        for action in order:
            for key in normalise_keys(keymap[action.id]):
                if action.id == "reader.quit" and key != normalise_keys(keymap[action.id])[-1]:
                    continue  # quitting can be tried once
                try:
                    PROBES[action.id](session, key)
                except AssertionError as exc:
                    failures.append(f"{keymap_name}: {action.id} on {key!r}: {str(exc).splitlines()[0]}")
                    session.press("escape")
                    session.press("escape")
        assert not failures, "\n".join(failures)
    finally:
        term.kill()


@pytest.mark.needs_tmux
@pytest.mark.parametrize("keymap_name", KEYMAPS)
def test_every_review_key_does_what_it_says(keymap_name, analysed_store, tmp_path):
    """The review bindings on `reader review` at 80×24 (the reading keys are the test above's)."""
    from reader.labels import load_labels
    from reader.store import Store
    from reader.workspace import Workspace
    from tests.test_review import three_annotators

    store = tmp_path / "store"
    shutil.copytree(analysed_store, store, ignore=shutil.ignore_patterns(".lock"))
    ws = Workspace(Store(store))
    doc_id = three_annotators(ws)
    analysis = ws.cached_analysis(ws.document(doc_id), any_pipeline=True)
    ws.store.close()
    keymap = load_keymap(keymap_name)
    term = Tmux([str(READER), "--store", str(store), "--keymap", keymap_name, "review", "--rule", "unanimous"],
                cwd=tmp_path, width=80, height=24)
    session = ReviewSession(term, keymap, store, doc_id, analysis.sentences, load_labels())
    try:
        term.wait_for("conflict 1/5", timeout=30)
        assert len(term.screen().splitlines()) == 24
        failures = []
        for action in (a for a in ACTIONS if a.scope == "review"):
            for key in normalise_keys(keymap[action.id]):
                try:
                    PROBES[action.id](session, key)
                except AssertionError as exc:
                    failures.append(f"{keymap_name}: {action.id} on {key!r}: {str(exc).splitlines()[0]}")
                    session.press("escape")
                    session.press("escape")
        assert not failures, "\n".join(failures)
    finally:
        term.kill()
