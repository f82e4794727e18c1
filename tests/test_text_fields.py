"""Text fields take every printable key (Pilot): the note editor, the search box, the command palette and the
name prompt of a served tab, under every shipped keymap. A draft is never lost to a key or to the app's end;
help lists the keys of the screen it was opened from; keys typed right after Enter in search are reader keys."""

from __future__ import annotations

import pytest
from textual import events
from textual.command import CommandPalette
from textual.widgets import Input, TextArea

from reader.ui.app import ReaderApp
from reader.ui.keymap import SHIPPED_KEYMAPS, load_keymap, normalise_keys
from reader.ui.screens.annotator import AnnotatorScreen
from reader.ui.screens.dialogs import LabelPicker, NoteEditor
from reader.ui.screens.help import HelpScreen
from reader.ui.screens.reading import ReadingScreen
from tests.test_app import SIZE, open_app, ready, seed_id

PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7F)) + " éèêëàâäîïôöùûüçœæÉÈÊÀÇŒÆ « » ’ € fin"
"""Every printable ASCII character (the space inside, not at an end: search strips its query) and what French
text adds. `?`, `q`, `/`, digits and the AZERTY digit row among them are keys elsewhere."""

KEYMAPS = sorted(p.stem for p in SHIPPED_KEYMAPS.glob("*.toml"))


async def type_text(pilot, text: str) -> None:
    """Type as a person types: one key per character, named as Textual names what a terminal sends (with its
    character: `pilot.press("«")` would send the key without it)."""
    for char in text:
        key = "comma" if char == "," else normalise_keys(char)[0]
        pilot.app.post_message(events.Key(key, char))
        await pilot.pause()


def notes(workspace) -> list[str]:
    session = workspace.session(workspace.document(seed_id(workspace)))
    return [n.text for n in session.annotations("note")]


@pytest.mark.parametrize("keymap", KEYMAPS)
async def test_every_printable_character_is_text_in_the_note_editor(workspace, keymap):
    keys = load_keymap(keymap)
    app = await open_app(workspace, keymap=keys)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await app.screen.run_action("note")
        await pilot.pause()
        assert isinstance(app.screen, NoteEditor)
        await type_text(pilot, PRINTABLE)
        assert isinstance(app.screen, NoteEditor), "no key opened another screen or closed the editor"
        assert app.screen.query_one(TextArea).text == PRINTABLE
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.is_running
    assert notes(workspace) == [PRINTABLE]


async def test_every_printable_character_is_text_in_the_search_box(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        screen = app.screen
        await pilot.press("slash")
        await type_text(pilot, PRINTABLE)
        assert app.screen is screen and screen.focused is screen.search_box
        assert screen.search_box.value == PRINTABLE
        await pilot.press("enter")
        assert app.is_running and screen.search_query == PRINTABLE


async def test_every_printable_character_is_text_in_the_palette(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await type_text(pilot, PRINTABLE)
        assert isinstance(app.screen, CommandPalette) and app.is_running
        assert app.screen.query_one(Input).value == PRINTABLE


async def test_every_printable_character_is_text_in_the_name_prompt(workspace):
    app = ReaderApp(workspace, workspace.document_ids(), ask_annotator=lambda name: workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, AnnotatorScreen)
        field = app.screen.query_one(Input)
        for start in range(0, len(PRINTABLE), 40):  # the field holds 40 characters: a name's longest
            chunk = PRINTABLE[start:start + 40]
            await type_text(pilot, chunk)
            assert isinstance(app.screen, AnnotatorScreen) and app.is_running
            assert field.value == chunk
            await pilot.press("ctrl+u")
            assert field.value == ""


async def test_keys_typed_right_after_search_are_the_query_then_reader_keys(workspace):
    """`/autorité⏎jj` arriving in one burst (as a terminal delivers fast typing or a paste): the query is
    `autorité`, and the cursor moves twice. Before, the letters after `/` went to the reader (a accepts, u
    undoes, é tags) and the ones after Enter into the query."""
    app = await open_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        screen = app.screen
        assert isinstance(screen, ReadingScreen) and screen.view.cursor == 0
        burst = [("slash", "/"), *((c, c) for c in "autorité"), ("enter", "\r"), ("j", "j"), ("j", "j")]
        for key, character in burst:
            app.post_message(events.Key(key, character))
        await pilot.pause()
        await pilot.pause()
        assert screen.search_query == "autorité"
        assert screen.view.cursor == 2
        assert screen.focused is screen.view and "hidden" in screen.search_box.classes
        session = workspace.session(workspace.document(seed_id(workspace)))
        assert session.sentence_tags() == {} and session.annotations("entity") == []

        burst = [("slash", "/"), ("ctrl+u", None), *((c, c) for c in "Poutine"), ("enter", "\r"), ("j", "j"),
                 ("j", "j")]
        for key, character in burst:
            app.post_message(events.Key(key, character))
        await pilot.pause()
        await pilot.pause()
        found = screen.view.matches[screen.view.match_index][0]
        at_match = next(i for i, (start, end) in enumerate(screen.view.sentences) if start <= found < end)
        assert screen.search_query == "Poutine" and screen.view.cursor == at_match + 2, "the match, then two on"


async def test_help_lists_the_keys_of_the_dialog_it_was_opened_from(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("f1")  # F1 is no text: it opens help over the editor
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = [(r[0].plain, r[1].plain, r[2].plain) for r in
                (app.screen.query_one("DataTable").get_row_at(i) for i in range(app.screen.query_one(
                    "DataTable").row_count))]
        assert ("ctrl+s", "Save", "this dialog") in rows and ("esc", "Cancel", "this dialog") in rows
        descriptions = {r[1] for r in rows}
        assert "Quit" in descriptions and "Open the document" not in descriptions, "not the library's keys"
        assert "Next sentence" not in descriptions, "the reading keys do not work in the editor"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, NoteEditor)
        await pilot.press("escape")
        await pilot.pause()

        await app.screen.run_action("relabel_entity")  # no entity under the cursor: move to one first
        await pilot.press("e", "r")
        await pilot.pause()
        assert isinstance(app.screen, LabelPicker)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("DataTable")
        descriptions = {table.get_row_at(i)[1].plain for i in range(table.row_count)}
        assert {"Pick the label", "Cancel"} <= descriptions and "Open the document" not in descriptions


async def test_esc_on_a_changed_note_asks_before_discarding(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("n", *"brouillon", "escape")
        await pilot.pause()
        assert isinstance(app.screen, NoteEditor), "the first Esc only asks"
        assert "Esc again discards" in str(app.screen.query_one("#note-help").render())
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ReadingScreen)
        await pilot.press("n", "escape")  # nothing typed: Esc closes at once
        await pilot.pause()
        assert isinstance(app.screen, ReadingScreen)
    assert notes(workspace) == []


@pytest.mark.parametrize("how", ["ctrl+q", "exit"])
async def test_a_draft_open_when_the_app_ends_is_saved(workspace, how):
    """Any way out (Textual's ctrl+q, or the app told to exit: `reader serve` stopping a tab, SIGTERM, SIGHUP)
    keeps the note being written, as Ctrl+S would, and the app says so."""
    app = await open_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("j", "n", *"à vérifier ? q")
        await pilot.pause()
        assert isinstance(app.screen, NoteEditor)
        if how == "exit":
            app.exit()
        else:
            await pilot.press(how)
        await pilot.pause()
    assert notes(workspace) == ["à vérifier ? q"]
    assert app.kept and "sentence 2" in app.kept[0]
