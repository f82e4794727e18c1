"""Export gives the bytes it gave before: every format × unit × filter × align mode against fixtures.

The fixtures in tests/data/export_fixtures/ were exported by the code before export became a package
(tests/make_export_fixtures.py builds the store and writes them); this rebuilds the same store and exports it
again. A difference is a change of the contract (CONTRACT.md: record shapes, and the same store gives the
same bytes), never an acceptable side effect of a refactoring.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("make_export_fixtures", HERE / "make_export_fixtures.py")
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)
MANIFEST = json.loads((fixtures.FIXTURES / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def store_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("differential") / "store"
    root.mkdir()
    fixtures.build_store(root)
    return root


@pytest.fixture(scope="module", params=[1, 4], ids=["one-process", "a-process-per-document"])
def exported(store_root, request) -> dict[str, dict]:
    """Exported in one process, and with every document in a process of its own (reader/export/parallel.py):
    the bytes must not depend on it (labels outside the label set in one chunk only, misaligned spans in
    another, DocBin parts joined)."""
    from reader.export import parallel
    from tests.test_export_parallel import record_forks

    if request.param == 1:
        return fixtures.export_all(store_root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parallel, "MIN_CHUNK", 1)
        assert parallel.workers(4, 4) == 4, "this test process cannot fork: the test would prove nothing"
        forked = record_forks(patch)
        results = fixtures.export_all(store_root, processes=4)
        assert len(forked) >= 3 * len(results) // 2, "most exports forked"
        return results


def test_every_case_is_in_the_manifest(exported):
    assert sorted(exported) == sorted(MANIFEST)
    files = {case["file"] for case in MANIFEST.values() if "file" in case}
    assert files | {"manifest.json"} == {p.name for p in fixtures.FIXTURES.iterdir()}, "stray or missing fixtures"


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_same_bytes_as_before(exported, name):
    expected, got = MANIFEST[name], exported[name]
    if "error" in expected:
        assert got == expected, "the same error, listing the same spans"
        return
    assert "error" not in got, got.get("error")
    assert got["bytes"] == fixtures.fixture_bytes(fixtures.FIXTURES / expected["file"]), name
    assert (got["summary"], got["count"]) == (expected["summary"], expected["count"])
