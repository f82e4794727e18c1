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
def exported(tmp_path_factory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("differential") / "store"
    root.mkdir()
    fixtures.build_store(root)
    return fixtures.export_all(root)


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
