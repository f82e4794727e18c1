"""Pilot tests at 80×24 of what the reading screen says and where it puts the cursor: a selection never outlives
the sentence it was made in, the status shows the selection, `>`/`<` count from the cursor, undo and redo show
what they changed."""

from __future__ import annotations

import pytest

from reader.ui.widgets.article_view import ArticleView
from tests.test_app import open_app, ready, seed_id
from tests.test_app_narrow import NARROW, cursor_visible, status_text


def records(workspace, kind: str) -> list[dict]:
    doc_id = seed_id(workspace)
    if workspace.annotator not in workspace.annotators(doc_id):
        return []
    return [r for r in workspace.store.records(doc_id, workspace.annotator).values() if r["kind"] == kind]


def notifications(app) -> list[str]:
    """Every toast the app shows, in order (ReaderApp.notify is the one door for them)."""
    seen: list[str] = []
    original = app.notify

    def notify(message, **kwargs):
        seen.append(str(message))
        return original(message, **kwargs)

    app.notify = notify
    return seen


@pytest.mark.parametrize("key", ["j", "down", "pagedown", "k"])
async def test_moving_the_cursor_drops_a_selection_outside_the_new_sentence(workspace, key):
    app = await open_app(workspace)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        view = app.screen.query_one(ArticleView)
        if key == "k":
            await pilot.press("j", "j")
        await pilot.press("shift+right", "shift+right", "shift+right")
        assert view.selection is not None
        await pilot.press(key)
        await pilot.pause()
        assert view.selection is None
        assert "selection" not in status_text(app)
        await pilot.press("plus")  # nothing selected any more: nothing added off screen
        await pilot.pause()
        assert len(app.screen_stack) == 1
        assert records(workspace, "entity") == []
        # a new selection starts in the sentence under the cursor, not from the old anchor
        await pilot.press("shift+right")
        start, end = view.sentences[view.cursor]
        assert view.selection is not None and start <= view.selection[0] < end


async def test_a_selection_that_stays_in_the_sentence_is_kept(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        view = app.screen.query_one(ArticleView)
        await pilot.press("e", "shift+right", "shift+right")
        selected = view.selection
        await pilot.press("e")  # the next entity is in the same first sentence
        assert view.sentence_at(view.marks[view.entity_cursor].start) == 0
        assert view.selection == selected


async def test_with_the_entity_cursor_on_the_status_shows_the_selection(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        view = app.screen.query_one(ArticleView)
        await pilot.press("e")
        mark = view.current_mark
        assert f"“{workspace.document(seed_id(workspace)).text[mark.start:mark.end]}”" in status_text(app)
        await pilot.press("shift+right", "shift+right")
        text = workspace.document(seed_id(workspace)).text
        selected = text[view.selection[0]:view.selection[1]]
        assert f"selection “{selected}”" in status_text(app)
        assert f"{mark.label} “" not in status_text(app)
        assert view.current_mark is None  # one thing under the cursor: `n`, `a`, `x` do not go to a hidden entity


async def test_next_and_previous_match_count_from_the_cursor_and_say_when_they_wrap(workspace):
    app = await open_app(workspace)
    said = notifications(app)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        view = app.screen.query_one(ArticleView)
        await pilot.press("slash", *"russie", "enter")
        await pilot.pause()
        app.screen.set_focus(view)  # whatever Enter leaves focused, the next keys are the reader's
        matches = view.matches
        in_sentence = [view.sentence_at(s) for s, _ in matches]
        assert len(matches) >= 3 and len(set(in_sentence)) >= 3
        assert view.match_index == 0
        # walk past the second match's sentence with the cursor: `>` goes to the first match after the cursor
        target = next(i for i in range(1, len(matches)) if in_sentence[i] > in_sentence[1])
        while view.cursor < in_sentence[target - 1] + 1:
            await pilot.press("down")
        assert view.cursor <= in_sentence[target]
        await pilot.press("greater_than_sign")
        assert view.match_index == target, (view.match_index, target, in_sentence)
        assert f"match {target + 1}/{len(matches)}" in status_text(app)
        await pilot.press("less_than_sign")
        assert view.match_index == target - 1
        # from the top, `<` goes back to the last match and says it wrapped
        await pilot.press("home", "less_than_sign")
        assert view.match_index == len(matches) - 1
        assert any("Past the first match" in m for m in said)
        assert cursor_visible(view) and view.cursor == in_sentence[-1]
        # past the last sentence holding a match, `>` wraps to the first and says so
        await pilot.press("end", "greater_than_sign")
        assert view.match_index == 0 and view.cursor == in_sentence[0]
        assert any("Past the last match" in m for m in said)


async def test_undo_and_redo_bring_the_changed_sentence_on_screen(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        view = app.screen.query_one(ArticleView)
        assert view.line_count > view.size.height
        await pilot.press("j", "1", "end")
        assert view.cursor == len(view.sentences) - 1
        assert view.line_of(view.sentences[1][1] - 1) < view.visible_lines()[0]  # the tagged sentence is off screen
        await pilot.press("u")
        await pilot.pause()
        assert records(workspace, "tag") == []
        assert view.cursor == 1 and cursor_visible(view)
        await pilot.press("end", "ctrl+r")
        await pilot.pause()
        assert len(records(workspace, "tag")) == 1
        assert view.cursor == 1 and cursor_visible(view)
        assert "✓ redone" in status_text(app)


async def test_undoing_an_entity_decision_puts_the_entity_cursor_back_on_it(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        view = app.screen.query_one(ArticleView)
        await pilot.press("e", "e", "x")
        rejected = view.entity_cursor
        assert view.marks[rejected].status == "rejected"
        await pilot.press("escape", "end")
        await pilot.press("u")
        await pilot.pause()
        assert records(workspace, "entity") == []
        assert view.entity_cursor == rejected and view.marks[rejected].status == "predicted"
        assert cursor_visible(view)


async def test_labels_past_the_ninth_are_tagged_from_the_label_picker(workspace):
    from reader.labels import parse_labels
    from reader.ui.screens.dialogs import LabelPicker
    from reader.ui.screens.help import HelpScreen
    from tests.test_labels import TWELVE

    workspace.labels = parse_labels(TWELVE, "twelve.toml")
    app = await open_app(workspace)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        view = app.screen.query_one(ArticleView)
        await pilot.press("j", "9")  # the ninth has its key
        await pilot.press("equals_sign")
        picker = app.screen
        assert isinstance(picker, LabelPicker)
        text = "\n".join(str(w.render()) for w in picker.query("Static"))
        assert "1-9 or ↑↓ ⏎ picks · Esc cancels" in text
        options = picker.query_one("OptionList")
        assert options.option_count == 12
        assert "label09  ✓" in str(options.get_option_at_index(8).prompt)
        await pilot.press(*["down"] * 10, "enter")  # from the first label down to the eleventh
        await pilot.pause()
        assert app.screen is not picker
        tagged = sorted(r["label"] for r in records(workspace, "tag"))
        assert tagged == ["label09", "label11"]
        start, end = view.sentences[1]
        assert all((r["start"], r["end"]) == (start, end) for r in records(workspace, "tag"))
        await pilot.press("equals_sign", "3")  # a digit in the picker is the label's own key
        await pilot.pause()
        assert sorted(r["label"] for r in records(workspace, "tag")) == ["label03", "label09", "label11"]
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        labels_help = str(app.screen.query_one("#help-labels").render())
        assert "=     label12" in labels_help  # a label without a key is listed with the picker's key


async def test_the_entity_label_picker_has_digits_and_a_hint(workspace):
    from reader.ui.screens.dialogs import LabelPicker

    app = await open_app(workspace)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        view = app.screen.query_one(ArticleView)
        await pilot.press("e")
        mark = view.current_mark
        await pilot.press("r")
        picker = app.screen
        assert isinstance(picker, LabelPicker)
        assert "1-" in str(picker.query_one(".dialog-help").render())
        assert "Esc cancels" in str(picker.query_one(".dialog-help").render())
        options = picker.query_one("OptionList")
        first = str(options.get_option_at_index(0).prompt)
        assert first.startswith("1  ")
        choice = next(label for label in picker.labels[:9] if label != mark.label)
        await pilot.press(str(picker.labels.index(choice) + 1))
        await pilot.pause()
        assert app.screen is not picker
        [decision] = records(workspace, "entity")
        assert (decision["start"], decision["end"], decision["label"], decision["status"]) == \
            (mark.start, mark.end, choice, "relabelled")


async def test_choosing_the_current_label_again_keeps_the_relabel_and_says_so(workspace):
    app = await open_app(workspace)
    said = notifications(app)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        view = app.screen.query_one(ArticleView)
        await pilot.press("e")
        picker_labels = app.screen.entity_labels()
        choice = next(label for label in picker_labels[:9] if label != view.current_mark.label)
        await pilot.press("r", str(picker_labels.index(choice) + 1))
        await pilot.pause()
        assert view.current_mark.label == choice and view.current_mark.status == "relabelled"
        await pilot.press("r", "enter")  # the picker opens on the current label: Enter re-chooses it
        await pilot.pause()
        assert view.current_mark.label == choice and view.current_mark.status == "relabelled"
        [decision] = records(workspace, "entity")
        assert (decision["label"], decision["status"]) == (choice, "relabelled")
        assert any("stays" in m and "nothing changed" in m for m in said)


async def test_download_from_the_palette_creates_a_missing_downloads_folder_and_names_the_file(workspace, tmp_path,
                                                                                            monkeypatch):
    import asyncio
    import json

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # a fresh account: no ~/Downloads, no user-dirs.dirs
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    doc_id = seed_id(workspace)
    app = await open_app(workspace)
    said = notifications(app)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        await pilot.press("1")  # something of this analyst's to export
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"download native jsonl")
        await pilot.pause(0.3)
        await pilot.press("enter")
        saved = home / "Downloads" / f"{doc_id}-{workspace.annotator}.jsonl"
        for _ in range(200):
            await app.workers.wait_for_complete()
            await pilot.pause()
            if any("export:" in m for m in said):
                break
            await asyncio.sleep(0.02)
        assert saved.is_file()
        [record] = [json.loads(line) for line in saved.read_text(encoding="utf-8").splitlines()]
        assert record["id"] == doc_id
        assert any(f"saved to {saved}" in m for m in said), said
