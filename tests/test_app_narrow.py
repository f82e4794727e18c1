"""Pilot tests at 80×24, where the seed is taller than the screen: keys move the cursor, never only the view."""

from __future__ import annotations

import itertools

import pytest

from reader.ui.screens.library import LibraryScreen
from reader.ui.screens.reading import ReadingScreen, fit_status
from reader.ui.widgets.article_view import ArticleView
from tests.test_app import open_app, ready, seed_id

NARROW = (80, 24)


def cursor_visible(view: ArticleView) -> bool:
    start, end = view.sentences[view.cursor]
    first, last = view.line_of(start), view.line_of(max(start, end - 1))
    top, bottom = view.visible_lines()
    return first <= bottom and last >= top


def status_text(app) -> str:
    return str(app.screen.query_one("#status").render())


def tags_in_store(workspace, doc_id) -> list[tuple[int, int, str]]:
    records = workspace.store.records(doc_id, workspace.annotator).values()
    return sorted((r["start"], r["end"], r["label"]) for r in records if r["kind"] == "tag")


@pytest.mark.parametrize("keys", [
    ["down"] * 5, ["pagedown"], ["pagedown", "pagedown"], ["end"], ["end", "up", "up"], ["end", "pageup"],
    ["end", "home"], ["space"], ["G"], ["j", "j", "j", "k"],
])
async def test_movement_keys_move_the_cursor_and_a_tag_lands_on_the_sentence_on_screen(workspace, keys):
    app = await open_app(workspace)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        view = app.screen.query_one(ArticleView)
        assert view.line_count > view.size.height  # the premise: the article does not fit
        for key in keys:
            before = view.cursor
            await pilot.press(key)
            await pilot.pause()
            assert cursor_visible(view), (key, view.cursor, view.visible_lines())
            if key in ("down", "j", "pagedown", "space", "end", "G") and before < len(view.sentences) - 1:
                assert view.cursor > before, key
            if key in ("up", "k", "pageup", "home") and before > 0:
                assert view.cursor < before, key
        assert f"sentence {view.cursor + 1}/" in status_text(app)
        await pilot.press("1")
        await pilot.pause()
        start, end = view.sentences[view.cursor]
        label = workspace.labels.by_key(1).name
        assert tags_in_store(workspace, seed_id(workspace)) == [(start, end, label)]


async def test_end_reaches_the_last_sentence_at_once(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        view = app.screen.query_one(ArticleView)
        await pilot.press("end")
        assert view.cursor == len(view.sentences) - 1
        assert view.scroll_offset.y == view.max_scroll_y
        await pilot.press("home")
        assert view.cursor == 0 and view.scroll_offset.y == 0


async def test_scrolling_without_keys_drags_the_cursor_along(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        view = app.screen.query_one(ArticleView)
        assert view.cursor == 0
        for _ in range(12):
            view.scroll_down(animate=False)  # what a wheel notch does (Pilot has no wheel)
            await pilot.pause()
            assert cursor_visible(view)
        assert view.cursor > 0
        view.scroll_to(y=0, animate=False, immediate=True)
        await pilot.pause()
        assert cursor_visible(view)
        assert f"sentence {view.cursor + 1}/" in status_text(app)


async def test_status_line_tells_the_truth_after_undo_redo_and_a_failed_write(workspace, monkeypatch):
    from reader.store import StoreError

    app = await open_app(workspace)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        label = workspace.labels.by_key(1).name
        await pilot.press("1")
        assert f"✓ saved: tag {label}" in status_text(app)
        await pilot.press("u")
        assert f"✓ undone: tag {label}" in status_text(app)
        await pilot.press("ctrl+r")
        assert f"✓ redone: tag {label}" in status_text(app)

        def full_disk(*args, **kwargs):
            raise StoreError("cannot write: No space left on device")

        monkeypatch.setattr(workspace.store, "write", full_disk)
        await pilot.press("j", "2")
        await pilot.pause()
        assert "✗ not saved" in status_text(app)
        await pilot.press("j")  # moving on does not make the failure go away
        assert "✗ not saved" in status_text(app)
        assert "✓" not in status_text(app)
        monkeypatch.undo()
        await pilot.press("2")
        assert "✓ saved" in status_text(app)


def test_fit_status_keeps_the_urgent_parts_and_marks_cuts():
    parts = [(1, "✓ saved: tag assessment"), (2, "sentence 3/14"), (6, "tagged 2/14"),
             (3, "PER “Vladimir Poutine” predicted"), (8, "fr_core_news_md@3.8.0 (cached)")]
    assert fit_status(parts, 200) == " · ".join(p for _, p in parts)
    narrow = fit_status(parts, 76)
    assert len(narrow) <= 76 and "tagged" not in narrow and "fr_core" not in narrow
    assert "sentence 3/14" in narrow and "Vladimir Poutine" in narrow and "✓ saved" in narrow
    assert narrow.index("✓") < narrow.index("sentence") < narrow.index("PER")
    cut = fit_status(parts, 60)
    assert len(cut) == 60 and cut.endswith("…") and "sentence 3/14" in cut
    tiny = fit_status([(1, "✓ saved: a very long description of the change")], 20)
    assert len(tiny) == 20 and tiny.endswith("…")


async def test_status_keeps_the_entity_under_the_cursor_at_80_columns(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        await pilot.press("1", "2", "3", "e")
        screen = app.screen
        assert isinstance(screen, ReadingScreen)
        mark = screen.view.current_mark
        assert mark is not None
        text = status_text(app)
        assert mark.label in text and workspace.document(seed_id(workspace)).text[mark.start:mark.end][:10] in text
        assert len(text) <= NARROW[0] - 2


async def test_escape_drops_the_entity_cursor_so_n_notes_the_sentence(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        await pilot.press("e")
        view = app.screen.query_one(ArticleView)
        assert view.current_mark is not None
        await pilot.press("escape")
        assert view.current_mark is None
        await pilot.press("n")
        await pilot.pause()
        assert "Note on the sentence" in str(app.screen.query_one(".dialog-title").render())


async def test_first_enter_after_tab_jumps_to_an_entity(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(app, pilot)
        view = app.screen.query_one(ArticleView)
        await pilot.press("tab", "enter")
        await pilot.pause()
        assert view.current_mark is not None


@pytest.mark.parametrize("keymap", ["default", "vim", "emacs", "azerty", "browser"])
async def test_footer_fits_80_columns_with_every_keymap(workspace, keymap):
    """Every footer key is whole at 80 columns: inside the screen and not under another (the palette's key is
    docked at the right, over whatever else reaches it)."""
    from textual.widgets import Footer
    from textual.widgets._footer import FooterKey

    from reader.ui.app import ReaderApp
    from reader.ui.keymap import load_keymap

    app = ReaderApp(workspace, workspace.document_ids(), keymap=load_keymap(keymap))
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        keys = list(app.screen.query_one(Footer).query(FooterKey))
        assert "Keys" in [k.description for k in keys] and any(k.has_class("-command-palette") for k in keys)
        for key in keys:
            assert key.region.width and key.region.right <= NARROW[0], key.description
        for a, b in itertools.combinations(keys, 2):
            assert not a.region.overlaps(b.region), (a.description, b.description)


async def test_escape_in_a_library_that_started_the_app_goes_back_to_the_last_document(workspace, tmp_path):
    from reader.documents import make_document

    workspace.add_documents([make_document("Berlin est une ville. Paris aussi.", {"title": "Berlin"})])
    app = await open_app(workspace)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LibraryScreen)
        await pilot.press("escape")  # nothing read yet: stays, and says how to open or quit
        assert isinstance(app.screen, LibraryScreen)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReadingScreen)
        opened = app.screen.doc.id
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, LibraryScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ReadingScreen) and app.screen.doc.id == opened


async def test_library_shows_progress_at_80_columns(workspace):
    from reader.documents import make_document

    workspace.add_documents([make_document("Berlin est une ville. Paris aussi.", {"title": "Berlin " * 20})])
    app = await open_app(workspace)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#documents")
        widths = [w + 2 * table.PADDING for w in table.widths]
        end_of = {name: sum(widths[: i + 1]) for i, (name, _) in enumerate(table.columns)}
        for name in ("title", "tagged", "notes", "decisions"):
            assert end_of[name] <= NARROW[0] - 1, name
        header = table.render_line(0).text
        assert all(name in header for name in ("title", "tagged", "done", "notes", "decisions")), header
        assert "Berlin Berlin" in table.render_line(1).text + table.render_line(2).text
