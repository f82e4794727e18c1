"""Every TUI surface shows data literally: markup is text, and no escape reaches the terminal — even from a
store written before the import rules (its files edited by hand here, as an old version or a teammate could)."""

from __future__ import annotations

import json
from pathlib import Path

from reader.documents import make_document
from reader.ui.app import ReaderApp
from reader.ui.screens.reading import ReadingScreen
from reader.ui.widgets.article_view import ArticleView
from tests.test_app import ready

MARKUP = "[@click=app.quit]x[/] [/] [bold]"
ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x9b31m"


def painted(app) -> str:
    """Everything the screen would send to the terminal, as text: every visible widget's rendered lines."""
    lines = []
    for widget in app.screen.walk_children():
        if not widget.display or not widget.size.area:
            continue
        try:
            strips = [widget.render_line(y) for y in range(widget.size.height)]
        except Exception:  # containers without their own lines
            continue
        lines += [strip.text for strip in strips]
    return "\n".join(lines)


async def test_markup_in_every_stored_string_is_shown_as_text(workspace):
    doc = make_document(f"Berlin est une ville {MARKUP}. Paris aussi.", {"title": f"Titre {MARKUP}",
                                                                          "source": f"{MARKUP}.txt"})
    workspace.add_documents([doc])
    app = ReaderApp(workspace, [doc.id])
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(app, pilot)
        assert app.is_running
        header = str(app.screen.query_one("#header-title").render())
        assert MARKUP in header
        await pilot.press("slash")
        await pilot.press(*"[/]", "enter")
        await pilot.pause()
        assert app.is_running
        await pilot.press("escape", "1", "u", "ctrl+r", "n")
        await pilot.pause()
        await pilot.press(*"[/] note", "ctrl+s", "ctrl+n")
        await pilot.pause()
        assert app.is_running, "a note, a search and undo toasts with markup characters do not crash"
        assert any("[/]" in str(n.message) for n in app._notifications) or "[/]" in painted(app)


async def test_escapes_in_an_old_store_never_reach_the_terminal(analysed_store, tmp_path):
    import shutil

    from reader.store import Store
    from reader.workspace import Workspace
    from tests.conftest import TEST_MODEL

    root = tmp_path / "store"
    shutil.copytree(analysed_store, root, ignore=shutil.ignore_patterns(".lock"))
    doc_id = next((root / "documents").iterdir()).stem
    path = root / "documents" / f"{doc_id}.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    record["meta"]["title"] = f"Titre {ESCAPES}"
    record["meta"]["source"] = f"fichier{ESCAPES}.txt"
    text = record["text"]
    record["text"] = text[:10] + "\x1b" + text[11:]  # same length: the cached analysis still fits
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    workspace = Workspace(Store(root), model=TEST_MODEL, annotator="tester")
    app = ReaderApp(workspace, [doc_id])
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        assert isinstance(app.screen, ReadingScreen)
        assert "Titre" in painted(app) and "sentence 1/" in painted(app)
        for key in ("e", "j", "question_mark", "escape", "o"):
            await pilot.press(key)
            await pilot.pause()
            screen = painted(app)
            assert "\x1b" not in screen and "\x9b" not in screen and "\x07" not in screen, key
        for notification in app._notifications:
            assert "\x1b" not in notification.message + notification.title
        await pilot.press("escape")
        await pilot.pause()
        view = app.screen.query_one(ArticleView)
        assert "\ufffd" in view.text and len(view.text) == len(text)
    workspace.store.close()


async def test_the_article_view_renders_any_text(analysed_store):
    """Arbitrary Unicode (controls, lone surrogates, combining marks, RTL, wide characters), as an old store or a
    door could hand it over: wrapped, rendered with marks, tags and a cursor on every line, never an exception,
    never an escape, at 80 columns and at 30."""
    from hypothesis import HealthCheck, given, settings
    from textual.app import App

    from reader.ui.widgets.article_view import Mark, Tag
    from tests.test_untrusted import hostile_text

    class Host(App):
        CSS_PATH = str(Path(__file__).resolve().parent.parent / "reader" / "ui" / "app.tcss")

        def compose(self):
            yield ArticleView()

    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(ArticleView)

        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(hostile_text())
        def renders(text: str) -> None:
            view.load(text)
            n = len(text)
            view.set_marks([Mark(0, max(1, n // 2), "PER"), Mark(n // 3, n, "LOC", "rejected")] if n > 2 else [])
            view.set_overlay({0: [Tag("événement", 1), Tag("claim", 2)]}, {0})
            for index in range(len(view.sentences)):
                view.cursor = index
                for line in range(view.line_count):
                    strip = view._render_text_line(line)
                    assert not any(c in strip.text for c in "\x1b\x9b\x07")

        renders()
        await pilot.resize_terminal(30, 24)
        await pilot.pause()
        renders()
