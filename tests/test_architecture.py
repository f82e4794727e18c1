"""Layers you can see: the domain never imports Textual, only the store imports tinydb, and spaCy is never
imported before the first paint."""

import ast
import subprocess
import sys
from pathlib import Path

from reader.keymap import ACTIONS

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "reader"
DOMAIN = ["documents", "analysis", "annotations", "labels", "workspace", "store", "export", "stats"]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_domain_modules_do_not_import_textual():
    for name in DOMAIN:
        path = PACKAGE / f"{name}.py"
        if path.exists():
            assert "textual" not in imported_modules(path), f"reader/{name}.py imports textual"


def test_only_the_store_imports_tinydb():
    for path in PACKAGE.rglob("*.py"):
        if path.name != "store.py":
            assert "tinydb" not in imported_modules(path), f"{path.relative_to(ROOT)} imports tinydb"


def test_opening_the_app_does_not_import_spacy():
    code = (
        "import sys, reader.cli, reader.app, reader.workspace, reader.screens.reading, reader.screens.library;"
        "print('spacy' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_readme_lists_every_binding_id_and_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for action in ACTIONS:
        assert f"`{action.id}`" in readme, action.id
    assert "make run" in readme and "make test" in readme
