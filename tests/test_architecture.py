"""Layers you can see: the domain never imports Textual, only the TinyDB storage imports tinydb, nothing but the
workspace reaches into the store, spaCy is never imported before the first paint, no library's private module is
imported, and imports between reader's modules point one way (no cycle, lazy and type-checking imports included).

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
FRONT_ENDS = ("cli/", "__main__.py")
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


def dotted(module: str) -> str:
    """`store/files.py` -> `reader.store.files`, `export/__init__.py` -> `reader.export`."""
    return ".".join(["reader", *module.removesuffix(".py").split("/")]).removesuffix(".__init__")


def reader_imports(module: str) -> set[str]:
    """The reader modules this one imports, wherever the import is (functions and `TYPE_CHECKING` included).

    `from reader.export import jsonlines` depends on the submodule, not on the package's `__init__`; any other
    imported name depends on the longest dotted prefix that is a module."""
    names = {dotted(m) for m in modules()}

    def owner(name: str) -> str | None:
        parts = name.split(".")
        return next((".".join(parts[:i]) for i in range(len(parts), 0, -1) if ".".join(parts[:i]) in names), None)

    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    package = ["reader", *module.split("/")[:-1]]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            prefix = ".".join([*base, *([node.module] if node.module else [])])
            targets = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in names else prefix for a in node.names]
        else:
            continue
        found.update(t for t in map(owner, targets) if t)
    return found - {dotted(module)}


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


PRIVATE_CHECKED = ("textual", "typer", "click", "rich", "spacy", "thinc", "srsly")


def private_imports(module: str) -> list[str]:
    """Dotted names imported from the libraries above with a `_x` component (a module or a name: `typer._click`,
    `from rich.console import _something`); dunders such as `__version__` are public."""
    return sorted(name for name in imported_modules(module)
                  if name.split(".")[0] in PRIVATE_CHECKED
                  and any(part.startswith("_") and not part.startswith("__") for part in name.split(".")))


def test_no_private_module_of_a_library_is_imported():
    found = {f"reader/{m}: {name}" for m in modules() for name in private_imports(m)}
    assert found == set()


def test_private_imports_are_found_wherever_they_are(tmp_path, monkeypatch):
    """The check itself: a lazy import in a function and a private name from a public module both count."""
    (tmp_path / "reader").mkdir()
    (tmp_path / "reader" / "lazy.py").write_text(
        "def f():\n    from typer._click.exceptions import UsageError\n"
        "    from spacy.tokens import _serialize\n    from spacy import __version__\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "reader")
    assert private_imports("lazy.py") == ["spacy.tokens._serialize", "typer._click.exceptions",
                                          "typer._click.exceptions.UsageError"]


KNOWN_CYCLE_EDGES: dict[tuple[str, str], str] = {}
"""Edges left out of the cycle check, each with why: remove an entry once its cycle is gone."""


def import_graph() -> dict[str, set[str]]:
    return {dotted(m): reader_imports(m) for m in modules()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path (`a -> b -> a`), or None; a depth-first walk in sorted order."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_reader_modules_import_one_way():
    """Lazy imports in functions and `TYPE_CHECKING` imports count: a cycle hidden in a function is still two
    modules that cannot be understood (or split) apart."""
    graph = {a: {b for b in targets if (a, b) not in KNOWN_CYCLE_EDGES} for a, targets in import_graph().items()}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_finds_a_lazy_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_a_submodule_imported_from_its_package_is_an_edge_to_the_submodule():
    assert "reader.export.jsonlines" in reader_imports("export/doccano.py")
    assert "reader.export" not in reader_imports("export/doccano.py")
    assert "reader.documents" in reader_imports("workspace.py")


def test_screens_ask_the_app_only_what_reader_host_names():
    """`ReaderHost` stands for the app in the screens (they cannot import it back): each `reader_app.x` a screen
    uses is in the protocol, and each method of the protocol is the app's."""
    from reader.ui.app import ReaderApp
    from reader.ui.screens import ReaderHost

    named = set(ReaderHost.__annotations__) | {n for n in vars(ReaderHost) if not n.startswith("_")}
    used = {node.attr for m in modules() if m.startswith("ui/screens/")
            for node in ast.walk(ast.parse((PACKAGE / m).read_text(encoding="utf-8")))
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
            and node.value.attr == "reader_app"}
    assert used and used <= named, sorted(used - named)
    methods = {n for n in vars(ReaderHost) if not n.startswith("_") and callable(vars(ReaderHost)[n])}
    assert all(callable(getattr(ReaderApp, n, None)) for n in methods), sorted(methods)
