"""Layers you can see: the domain never imports Textual, only the TinyDB storage imports tinydb, nothing but the
workspace reaches into the store, and spaCy is never imported before the first paint.

Every module is checked, packages included (reader/store/, reader/export/, ...): a module is UI, a front end or
domain, and anything not listed as UI or front end is domain, so a new module or package cannot slip through.
"""

import ast
import subprocess
import sys
from pathlib import Path

from reader.ui.keymap import ACTIONS

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "reader"
UI = ("ui/",)
"""Textual lives here: the app, its screens, widgets, styles and key bindings (keymap.py parses keys as Textual
does)."""
FRONT_ENDS = ("cli.py", "__main__.py")
TINYDB = "store/tinydb_storage.py"
STORE_DOORS = ("workspace.py", "store/")
"""Where a workspace's `.store` may be touched: the workspace itself and the store package."""


def modules() -> list[str]:
    """Every module under reader/, as a path relative to it (`store/files.py`), packages walked."""
    return sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py"))


def under(module: str, groups: tuple[str, ...]) -> bool:
    return any(module == g or (g.endswith("/") and module.startswith(g)) for g in groups)


def domain_modules() -> list[str]:
    return [m for m in modules() if not under(m, UI + FRONT_ENDS)]


def imported_modules(module: str) -> set[str]:
    """Full dotted names imported anywhere in the module (functions included), relative imports resolved."""
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    package = ["reader", *module.split("/")[:-1]]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            prefix = ".".join([*base, *([node.module] if node.module else [])])
            names.add(prefix)
            names.update(f"{prefix}.{alias.name}" for alias in node.names)
    return names


def imports(module: str, top: str) -> bool:
    return any(name == top or name.startswith(f"{top}.") for name in imported_modules(module))


def test_every_package_is_walked():
    found = modules()
    assert "store/tinydb_storage.py" in found and "store/store.py" in found
    assert "store/files.py" in domain_modules() and "workspace.py" in domain_modules()
    assert "ui/screens/reading.py" in found and "ui/screens/reading.py" not in domain_modules()
    assert any(m.startswith("export/") for m in domain_modules())


def test_domain_modules_do_not_import_textual():
    for module in domain_modules():
        assert not imports(module, "textual"), f"reader/{module} imports textual"


def test_domain_modules_do_not_import_the_ui():
    ui = [f"reader.{m.removesuffix('.py').removesuffix('/').replace('/', '.')}" for m in UI]
    for module in domain_modules():
        for name in ui:
            assert not imports(module, name), f"reader/{module} imports {name}"


def test_only_the_tinydb_storage_imports_tinydb():
    for module in modules():
        if module != TINYDB:
            assert not imports(module, "tinydb"), f"reader/{module} imports tinydb"
    assert imports(TINYDB, "tinydb")


def store_reaches(module: str) -> list[str]:
    """`x.store` where x is not `self` (an object's own store-like attribute, such as a session's), `OPTIONS`
    (the --store folder) or the `reader` package: a workspace's store, reached around the workspace."""
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    return [f"reader/{module}:{node.lineno}: {ast.unparse(node)}" for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr == "store"
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "OPTIONS", "reader"))]


def test_only_the_workspace_reaches_into_the_store():
    """The app, the CLI, the screens and the domain go through `Workspace` (tests may use `ws.store` to check
    what is on disk: they are not part of this rule)."""
    found = [hit for m in modules() if not under(m, STORE_DOORS) for hit in store_reaches(m)]
    assert found == []


def test_opening_the_app_does_not_import_spacy():
    code = (
        "import sys, reader.cli, reader.ui.app, reader.workspace, reader.ui.screens.reading, reader.ui.screens.library;"
        "print('spacy' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_readme_lists_every_binding_id_and_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for action in ACTIONS:
        assert f"`{action.id}`" in readme, action.id
    assert "make run" in readme and "make test" in readme
