"""Pilot tests of the screens: reading, navigation, search, tagging, notes, entity review, help, library."""

from __future__ import annotations

import threading

import pytest

from reader.documents import make_document
from reader.ui.app import ReaderApp
from reader.ui.keymap import ACTIONS, load_keymap
from reader.ui.screens.help import HelpScreen
from reader.ui.screens.library import LibraryScreen
from reader.ui.screens.reading import ReadingScreen
from reader.ui.widgets.article_view import GUTTER, ArticleView

SIZE = (120, 36)


def screen_text(app) -> str:
    view = app.screen.query_one(ArticleView)
    return "\n".join(view.render_line(y).text for y in range(view.size.height))


async def open_app(workspace, doc_ids=None, keymap=None):
    app = ReaderApp(workspace, doc_ids or workspace.document_ids(), keymap=keymap)
    return app


async def ready(app, pilot, timeout: float = 30):
    """Wait until the reading screen has its analysis (the model starts a moment after the first frame)."""
    import time

    deadline = time.monotonic() + timeout
    await pilot.pause()
    while time.monotonic() < deadline:
        screen = app.screen
        if not isinstance(screen, ReadingScreen) or screen.analysis is not None or "no entities:" in \
                screen.model_status:
            break
        await pilot.pause(0.02)
    await app.workers.wait_for_complete()
    await pilot.pause()


def seed_id(workspace) -> str:
    return workspace.document_ids()[0]


async def test_text_paints_before_the_model_and_entities_follow(workspace, monkeypatch):
    gate = threading.Event()
    original = workspace.analysis

    def slow_analysis(doc, progress=None):
        gate.wait(10)
        return original(doc, progress)

    monkeypatch.setattr(workspace, "analysis", slow_analysis)
    app = await open_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        view = app.screen.query_one(ArticleView)
        assert "La Corée du Nord pourrait" in screen_text(app)
        assert view.marks == []
        assert "loading entities" in str(app.screen.query_one("#status").render())
        gate.set()
        await ready(app, pilot)
        assert len(view.marks) > 5
        assert {m.label for m in view.marks} >= {"PER", "LOC"}
        assert "cached" in str(app.screen.query_one("#status").render())


async def test_untrusted_markup_and_escapes_are_shown_literally(workspace):
    doc = make_document("Attention [@click=app.quit]x[/] et [bold]gras[/bold] puis \x1b[31mrouge\x1b[0m fin.")
    workspace.add_documents([doc])
    app = await open_app(workspace, [doc.id])
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        text = screen_text(app)
        assert "[@click=app.quit]x[/]" in text and "[bold]gras[/bold]" in text
        assert "\x1b" not in text and "[31mrouge[0m" in text
        await pilot.click(ArticleView, offset=(20, 0))
        await pilot.pause()
        assert app.is_running


async def test_navigation_and_search(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        view = app.screen.query_one(ArticleView)
        await pilot.press("j", "j")
        assert view.cursor == 2
        await pilot.press("k")
        assert view.cursor == 1
        await pilot.press("G")
        assert view.cursor == len(view.sentences) - 1
        await pilot.press("g")
        assert view.cursor == 0
        await pilot.press("e")
        first = view.current_mark
        assert first is not None and first.start == min(m.start for m in view.marks)
        await pilot.press("e", "E")
        assert view.current_mark == first
        await pilot.press("slash", *"Poutine", "enter")
        assert len(view.matches) == 3
        text = workspace.document(seed_id(workspace)).text
        start = view.matches[view.match_index][0]
        assert text[start:start + 7] == "Poutine"
        assert view.sentences[view.cursor][0] <= start < view.sentences[view.cursor][1]
        await pilot.press("greater_than_sign")
        assert view.match_index == 1
        await pilot.press("less_than_sign", "less_than_sign")
        assert view.match_index == 2, "previous match wraps around"
        await pilot.press("slash", "x", "escape")
        assert "hidden" in app.screen.query_one("#search").classes and app.screen.focused is view
        assert len(view.matches) == 3, "a cancelled search keeps the previous matches"
        await pilot.press("pagedown")
        assert view.scroll_offset.y >= 0


async def test_tags_with_digits_and_azerty_keys_are_saved(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("1", "j", "ampersand", "é", "j", "quotation_mark")
        session = workspace.session(workspace.document(seed_id(workspace)))
        tags = session.sentence_tags()
        assert tags == {0: ["event"], 1: ["event", "claim"], 2: ["quote"]}
        on_disk = workspace.store.records(seed_id(workspace), "tester")
        assert sorted(r["label"] for r in on_disk.values()) == ["claim", "event", "event", "quote"]
        assert "saved: tag quote" in str(app.screen.query_one("#status").render())
        assert "tagged 3/" in str(app.screen.query_one("#status").render())
        assert "event" in screen_text(app)
        await pilot.press("u")
        assert 2 not in session.sentence_tags()
        await pilot.press("ctrl+r")
        assert session.sentence_tags()[2] == ["quote"]


async def test_note_editor_saves_edits_and_lists(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("j", "n")
        await pilot.press(*"A vérifier", "ctrl+s")
        await pilot.pause()
        session = workspace.session(workspace.document(seed_id(workspace)))
        [note] = session.annotations("note")
        assert note.text == "A vérifier" and note.target == "sentence"
        assert "✎" in screen_text(app)
        await pilot.press("n", "end", *" (fait)", "ctrl+s")
        await pilot.pause()
        [note] = session.annotations("note")
        assert note.text == "A vérifier (fait)"
        await pilot.press("N", *"Dépêche", "ctrl+s")
        await pilot.pause()
        assert {n.target for n in session.annotations("note")} == {"sentence", "document"}
        view = app.screen.query_one(ArticleView)
        await pilot.press("G", "ctrl+n")
        await pilot.pause()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert view.cursor == 1
        await pilot.press("ctrl+n", "down", "d")
        await pilot.pause()
        assert [n.target for n in session.annotations("note")] == ["document"]


async def test_entity_review_accept_reject_relabel_add(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        screen: ReadingScreen = app.screen
        view = screen.query_one(ArticleView)
        session = workspace.session(workspace.document(seed_id(workspace)))
        await pilot.press("e", "a")
        assert screen.entities[0].status == "accepted"
        await pilot.press("e", "x")
        assert screen.entities[1].status == "rejected"
        await pilot.press("e", "r")
        await pilot.pause()
        await pilot.press("home", "down", "down", "enter")
        await pilot.pause()
        assert screen.entities[2].status in ("relabelled", "accepted")
        assert screen.entities[2].label == "ORG" or screen.entities[2].predicted == "ORG"
        statuses = sorted(r["status"] for r in session.records().values())
        assert len(statuses) == 3
        # add an entity by selecting tokens from the start of the last sentence
        await pilot.press("G", "shift+right", "shift+right")
        assert view.selection is not None
        selected = view.selection
        await pilot.press("plus")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        added = [e for e in screen.entities if e.status == "added"]
        assert [(e.start, e.end, e.label) for e in added] == [(selected[0], selected[1], "PER")]
        assert view.selection is None
        await pilot.press("u")
        assert not [e for e in screen.entities if e.status == "added"]


async def test_help_lists_every_binding(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-table")
        ids = {str(table.get_row_at(i)[2]) for i in range(table.row_count)}
        assert ids == {a.id for a in ACTIONS if a.scope in ("app", "reading")} | {"entity label"}
        labels = str(app.screen.query_one("#help-labels").render())
        assert "quote" in labels and "1, &" in labels and "Direct or reported speech" in labels
        await pilot.press("escape")
        assert isinstance(app.screen, ReadingScreen)


async def test_command_palette_has_every_action(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for action in ACTIONS:
            if action.scope == "reading":
                assert action.description in titles
        next_sentence = next(c for c in app.get_system_commands(app.screen) if c.title == "Next sentence")
        await next_sentence.callback()
        assert app.screen.query_one(ArticleView).cursor == 1


async def test_library_lists_documents_and_opens_one(workspace):
    other = make_document("Deuxième article. Emmanuel Macron est à Berlin.", {"title": "Berlin"})
    workspace.add_documents([other])
    app = await open_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LibraryScreen)
        table = app.screen.query_one("#documents")
        assert table.row_count == 2
        titles = {str(table.get_row_at(i)[0]) for i in range(2)}
        assert "Berlin" in titles
        seed_row = next(i for i in range(2) if "Corée" in str(table.get_row_at(i)[0]))
        assert str(table.get_row_at(seed_row)[2]).startswith("0/")
        table.move_cursor(row=seed_row)
        await pilot.press("enter")
        await ready(app, pilot)
        assert isinstance(app.screen, ReadingScreen)
        await pilot.press("1", "j", "2")
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, LibraryScreen)
        table = app.screen.query_one("#documents")
        assert str(table.get_row_at(seed_row)[2]).startswith("2/")


async def test_vim_keymap_changes_keys(workspace):
    app = await open_app(workspace, keymap=load_keymap("vim"))
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        view = app.screen.query_one(ArticleView)
        await pilot.press("slash", *"Russie", "enter")
        first = view.match_index
        await pilot.press("n")
        assert view.match_index == (first + 1) % len(view.matches)
        await pilot.press("a", *"note", "ctrl+s")
        await pilot.pause()
        assert workspace.session(workspace.document(seed_id(workspace))).annotations("note")


async def test_resize_rewraps_and_keeps_cursor(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        view = app.screen.query_one(ArticleView)
        await pilot.press("j", "j", "j")
        lines_before = view.line_count
        await pilot.resize_terminal(70, 30)
        await pilot.pause()
        assert view.line_count > lines_before
        assert view.cursor == 3
        start, _ = view.sentences[3]
        assert view.scroll_offset.y <= view.line_of(start) < view.scroll_offset.y + view.size.height


async def test_language_without_pipeline_still_opens(workspace):
    doc = make_document("Die Regierung hat am Montag gesagt, dass der Plan nicht funktioniert. Das ist neu.",
                        {"lang": "de"})
    workspace.model = None
    workspace.add_documents([doc])
    app = await open_app(workspace, [doc.id])
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        view = app.screen.query_one(ArticleView)
        assert len(view.sentences) == 2 and view.marks == []
        assert "no entities" in str(app.screen.query_one("#status").render())


@pytest.mark.parametrize("key", ["q"])
async def test_quit(workspace, key):
    app = await open_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press(key)
        await pilot.pause()
        assert not app.is_running


async def test_damaged_annotation_file_is_reported_and_kept(workspace):
    doc_id = seed_id(workspace)
    session = workspace.session(workspace.document(doc_id))
    session.use_sentences([(0, 10)])
    session.toggle_tag(0, "event")
    path = workspace.store.annotation_path(doc_id, "tester")
    workspace.store.close()
    path.write_text('{"_default": {"broken', encoding="utf-8")
    from reader.store import Store
    from reader.workspace import Workspace

    fresh = Workspace(Store(workspace.store.root), model=workspace.model, annotator="tester")
    app = await open_app(fresh)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        assert "La Corée du Nord" in screen_text(app)
        assert len(app.screen.query_one(ArticleView).marks) > 5, "entities still show"
        assert "ANNOTATIONS UNAVAILABLE" in str(app.screen.query_one("#status").render())
        await pilot.press("1", "n", "D")
        await pilot.pause()
        assert isinstance(app.screen, ReadingScreen)
        assert app.is_running
    assert path.read_text(encoding="utf-8") == '{"_default": {"broken'
    fresh.store.close()


async def test_second_reader_is_read_only_and_writes_nothing(workspace):
    from reader.store import Store
    from reader.workspace import Workspace

    second = Workspace(Store(workspace.store.root), model=workspace.model, annotator="tester")
    assert second.store.read_only and second.store.lock_holder
    path = workspace.store.annotation_path(seed_id(workspace), "tester")
    app = await open_app(second)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        status = str(app.screen.query_one("#status").render())
        assert status.startswith("READ-ONLY")
        assert any("Read-only" in str(n.message) for n in app._notifications)
        await pilot.press("1", "e", "a", "D")
        await pilot.pause()
        status = str(app.screen.query_one("#status").render())
        assert "✓ saved" not in status and "✗ not saved" in status and "read-only" in status
        assert " · done" not in status
    assert not path.exists()
    second.store.close()


async def test_missing_model_keeps_the_text_and_says_why(workspace):
    doc = make_document("Un article sans analyse en cache. Le texte reste lisible.")
    workspace.add_documents([doc])
    workspace.model = "no_such_pipeline"
    app = await open_app(workspace, [doc.id])
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        assert "Un article sans analyse" in screen_text(app)
        status = str(app.screen.query_one("#status").render())
        assert "no entities: spaCy pipeline 'no_such_pipeline' is not installed" in status
        await pilot.press("j", "1")
        assert app.is_running


async def test_click_moves_the_cursor_to_the_sentence_and_entity(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        view = app.screen.query_one(ArticleView)
        target = next(i for i, m in enumerate(view.marks) if m.start > view.sentences[1][0])
        mark = view.marks[target]
        line = view.line_of(mark.start)
        start, _ = view._lines[line]
        margin = max(0, (view.scrollable_content_region.width - GUTTER - view._wrap_width) // 2 - 2)
        await pilot.click(ArticleView, offset=(margin + GUTTER + mark.start - start, line - view.scroll_offset.y))
        await pilot.pause()
        assert view.cursor == view.sentence_at(mark.start)
        assert view.entity_cursor == target


async def test_a_sentence_starting_mid_line_shows_its_label_and_note_on_that_line(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        view = app.screen.query_one(ArticleView)
        index = next(i for i, (s, _) in enumerate(view.sentences) if view._lines[view.line_of(s)][0] != s)
        view.move_to_sentence(index)
        await pilot.press("3", "n", *"à vérifier", "ctrl+s")
        await pilot.pause()
        line = view.line_of(view.sentences[index][0])
        gutter = view.render_line(line - view.scroll_offset.y).text[:20]
        assert "quote" in gutter and "✎" in gutter
        assert "labels: quote" in str(app.screen.query_one("#status").render())


async def test_narrow_terminal_hides_the_panel_until_asked(workspace):
    from reader.ui.widgets.side_panel import SidePanel

    app = await open_app(workspace)
    async with app.run_test(size=(70, 24)) as pilot:
        await ready(app, pilot)
        panel = app.screen.query_one(SidePanel)
        view = app.screen.query_one(ArticleView)
        assert not panel.display
        assert view._wrap_width <= view.size.width - 14
        await pilot.press("p")
        assert panel.display
        await pilot.resize_terminal(130, 30)
        await pilot.pause()
        assert panel.display
        await pilot.press("p")
        await pilot.resize_terminal(70, 24)
        await pilot.pause()
        assert not panel.display
