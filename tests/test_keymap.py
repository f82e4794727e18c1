"""Keymap files: defaults in one place, validation with clear errors, AZERTY keys."""

from pathlib import Path

import pytest

from reader.ui.keymap import (
    ACTIONS,
    AZERTY_DIGITS,
    KeymapError,
    default_keymap,
    load_keymap,
    normalise_keys,
    parse_keymap,
)

KEYMAPS = Path(__file__).resolve().parent.parent / "keymaps"


def test_default_toml_matches_the_table():
    assert parse_keymap((KEYMAPS / "default.toml").read_text(), "default.toml") == default_keymap()
    import tomllib

    assert tomllib.loads((KEYMAPS / "default.toml").read_text())["keys"] == default_keymap()


@pytest.mark.parametrize("name", ["default", "vim", "emacs", "azerty"])
def test_shipped_keymaps_load_without_clashes(name):
    keymap = load_keymap(str(KEYMAPS / f"{name}.toml"))
    assert set(keymap) == {a.id for a in ACTIONS}


def test_keymap_by_name_from_repo_folder(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert load_keymap("vim")["reader.next-match"] == "n"


def test_unknown_id_names_file_and_line(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[keys]\n"reader.next-sentence" = "j"\n"reader.fly" = "f"\n')
    with pytest.raises(KeymapError, match=r"mine.toml:3: unknown binding id 'reader.fly'"):
        load_keymap(str(path))


def test_malformed_toml(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[keys\n")
    with pytest.raises(KeymapError, match=r"bad.toml: not valid TOML"):
        load_keymap(str(path))


def test_clash_is_reported(tmp_path):
    path = tmp_path / "clash.toml"
    path.write_text('[keys]\n"reader.search" = "j"\n')
    with pytest.raises(KeymapError, match=r"'j' is bound to both reader.next-sentence and reader.search"):
        load_keymap(str(path))


def test_app_keys_clash_with_screen_keys(tmp_path):
    path = tmp_path / "clash.toml"
    path.write_text('[keys]\n"reader.quit" = "j"\n')
    with pytest.raises(KeymapError, match="bound to both"):
        load_keymap(str(path))


def test_bad_value(tmp_path):
    path = tmp_path / "v.toml"
    path.write_text('[keys]\n"reader.search" = 3\n')
    with pytest.raises(KeymapError, match=r"v.toml:2: reader.search needs keys"):
        load_keymap(str(path))


def test_unknown_keymap_name():
    with pytest.raises(KeymapError, match="unknown keymap 'nope'.*vim"):
        load_keymap("nope")


def test_default_accepts_digits_and_azerty_row():
    keymap = default_keymap()
    for n in range(1, 10):
        keys = normalise_keys(keymap[f"reader.tag-{n}"])
        assert str(n) in keys and AZERTY_DIGITS[n - 1] in keys
    assert normalise_keys("&,é,\",',(,-,è,_,ç") == list(AZERTY_DIGITS)


# --- keymaps ship with the package, the README example works, clashes say what to move ---------------------------

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ["default", "vim", "emacs", "azerty", "browser"]


def test_named_keymap_resolves_from_the_package_outside_the_repo(monkeypatch, tmp_path):
    from reader.ui.keymap import SHIPPED_KEYMAPS, find_keymap

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert find_keymap("vim") == SHIPPED_KEYMAPS / "vim.toml"
    assert sorted(p.stem for p in SHIPPED_KEYMAPS.glob("*.toml")) == sorted(SHIPPED)


def test_the_package_keymaps_are_the_top_level_folder():
    """reader/keymaps is a symlink, so the source stays in keymaps/ and the wheel gets copies."""
    from reader.ui.keymap import SHIPPED_KEYMAPS

    assert SHIPPED_KEYMAPS.resolve() == KEYMAPS.resolve()


def readme_keymap_example() -> str:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Keys", 1)[1].split("\n## ", 1)[0]
    return section.split("```toml\n", 1)[1].split("```", 1)[0]


def test_readme_keymap_example_loads_without_clash_or_warning():
    keymap = parse_keymap(readme_keymap_example(), "README.md")
    assert keymap["reader.next-match"] == "n" and keymap["reader.note"] == "a"
    assert keymap.warnings == []


def test_clash_with_a_default_binding_says_which_binding_to_move(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[keys]\n"reader.next-match" = "n"\n"reader.note" = "a"\n')
    with pytest.raises(KeymapError) as info:
        load_keymap(str(path))
    message = str(info.value)
    assert "mine.toml:3: key 'a' is bound to both" in message
    assert 'give reader.accept-entity another key too, e.g. "reader.accept-entity" = "' in message
    suggested = message.rsplit('= "', 1)[1].rstrip('"')
    path.write_text(path.read_text() + f'"reader.accept-entity" = "{suggested}"\n')
    assert load_keymap(str(path))["reader.accept-entity"] == suggested


# --- keys a terminal sends ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_keymaps_load_without_warnings(name):
    assert load_keymap(str(KEYMAPS / f"{name}.toml")).warnings == []


@pytest.mark.parametrize("name", SHIPPED)
def test_every_key_of_every_shipped_keymap_reaches_the_app(name):
    from reader.ui.keymap import arrives_as, key_problem, textual_keymap

    keymap = load_keymap(str(KEYMAPS / f"{name}.toml"))
    bound = {i: normalise_keys(k) for i, k in textual_keymap(keymap).items()}
    for binding_id, keys in keymap.items():
        for key in normalise_keys(keys):
            assert key_problem(key) is None, (binding_id, key)
            arrived = arrives_as(key)
            assert len(arrived) == 1 and arrived[0] in bound[binding_id], (binding_id, key, arrived)


@pytest.mark.parametrize(("key", "arrives"), [
    ("alt+f", "ctrl+right"), ("alt+b", "ctrl+left"), ("ctrl+h", "backspace"), ("alt+backspace", "ctrl+w"),
    ("shift+a", "A"), ("alt+X", "alt+shift+x"), ("shift+ctrl+up", "ctrl+shift+up"), ("ctrl+space", "ctrl+@"),
])
def test_keys_that_arrive_under_another_name_are_bound_under_both(key, arrives):
    from reader.ui.keymap import key_problem, terminal_aliases, textual_keymap

    assert key_problem(key) is None
    assert terminal_aliases(key) == [arrives]
    keymap = default_keymap() | {"reader.undo": key}
    assert normalise_keys(textual_keymap(keymap)["reader.undo"]) == [key, arrives]


@pytest.mark.parametrize(("key", "why"), [
    ("alt+less_than_sign", "send it as < (the alt is lost); bind less_than_sign"),
    ("alt+greater_than_sign", "send it as > (the alt is lost)"),
    ("alt+underscore", "(the alt is lost)"),
    ("ctrl+shift+f", "send it as ctrl+f (the shift is lost)"),
    ("ctrl+1", "send it as 1 (the ctrl is lost)"),
    ("shift+enter", "(the shift is lost)"),
    ("shift+f3", "cursor-position report"),
    ("ctrl+f3", "cursor-position report"),
    ("super+a", "kitty keyboard protocol"),
    ("pgdn", "not a key name"),
])
def test_keys_no_terminal_sends_are_warned_about_not_refused(tmp_path, key, why):
    path = tmp_path / "odd.toml"
    path.write_text(f'[keys]\n"reader.undo" = "u"\n"reader.top" = "{key},home"\n')
    keymap = load_keymap(str(path))
    assert keymap["reader.top"] == f"{key},home"
    assert len(keymap.warnings) == 1
    assert keymap.warnings[0].startswith(f"{path}:3: reader.top: ")
    assert why in keymap.warnings[0]


def test_an_alias_on_another_bindings_key_is_left_to_that_binding():
    from reader.ui.keymap import keymap_warnings, textual_keymap

    keymap = default_keymap() | {"reader.next-entity": "alt+f", "reader.bottom": "ctrl+right"}
    assert "ctrl+right" not in normalise_keys(textual_keymap(keymap)["reader.next-entity"])
    assert any("alt+f arrives as ctrl+right" in w and "reader.bottom" in w for w in keymap_warnings(keymap))


def test_keys_for_names_the_active_keys():
    from reader.ui.keymap import keys_for

    vim = load_keymap("vim")
    assert keys_for(vim, "reader.note") == "a" and keys_for(None, "reader.note") == "n"
    assert keys_for(default_keymap(), "reader.search") == "/"
    assert keys_for(vim, "reader.page-down", every=True) == "ctrl+f, ctrl+d, pgdn, space"


def test_keys_cli_prints_warnings_on_stderr(tmp_path):
    from typer.testing import CliRunner

    from reader.cli import app

    path = tmp_path / "odd.toml"
    path.write_text('[keys]\n"reader.top" = "alt+less_than_sign,home"\n')
    result = CliRunner().invoke(app, ["--keymap", str(path), "keys"])
    assert result.exit_code == 0
    assert f"warning: {path}:2: reader.top: alt+less_than_sign" in result.stderr
    assert "warning" not in result.stdout and "reader.top" in result.stdout


# --- the app: hints, footer and help under the active keymap --------------------------------------------------------


async def open_reader(workspace, keymap, size=(120, 36)):
    from reader.ui.app import ReaderApp

    return ReaderApp(workspace, workspace.document_ids(), keymap=keymap), size


async def test_empty_notes_list_names_the_vim_note_keys(workspace):
    from reader.ui.screens.dialogs import NotesList

    app, size = await open_reader(workspace, load_keymap("vim"))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, NotesList)
        hint = str(app.screen.query_one("#notes-empty").render())
        assert "a adds one to the sentence, A to the document" in hint


async def test_notify_hints_follow_the_keymap(workspace):
    app, size = await open_reader(workspace, load_keymap("emacs"))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.press("alt+s", "plus", "x")  # next match, add entity, reject: nothing to act on yet
        await pilot.pause()
        messages = " | ".join(str(n.message) for n in app._notifications)
        assert "press ctrl+s to search" in messages
        assert "Select tokens first: shift+→ / shift+←" in messages
        assert "Move to an entity first (alt+f / alt+b" in messages


async def test_emacs_footer_shows_the_palette_key_and_alt_f_fires_as_ctrl_right(workspace):
    from textual.widgets import Footer

    from reader.ui.widgets.article_view import ArticleView

    app, size = await open_reader(workspace, load_keymap("emacs"))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert app.COMMAND_PALETTE_BINDING == "alt+x"
        palette = app.screen.query_one(Footer).query_one(".-command-palette")
        assert palette.description == "Commands" and palette.key == "alt+x"
        view = app.screen.query_one(ArticleView)
        for _ in range(500):  # the entities arrive with the analysis, after the first paint
            if app.screen.analysis is not None:
                break
            await pilot.pause(0.02)
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("ctrl+right")  # what a terminal sends for alt+f
        await pilot.pause()
        assert view.entity_cursor is not None
        await pilot.press("greater_than_sign")  # what a terminal sends for alt+>
        await pilot.pause()
        assert view.cursor == len(view.sentences) - 1
        await pilot.press("alt+x")
        await pilot.pause()
        from textual.command import CommandPalette

        assert CommandPalette.is_open(app)


async def test_keymap_warnings_are_notified_in_the_app(workspace, tmp_path):
    path = tmp_path / "odd.toml"
    path.write_text('[keys]\n"reader.top" = "alt+less_than_sign,home"\n')
    app, size = await open_reader(workspace, load_keymap(str(path)))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert any("alt+less_than_sign" in str(n.message) for n in app._notifications)


@pytest.mark.parametrize("name", ["default", "vim", "emacs"])
async def test_help_is_readable_at_80x24(workspace, name):
    """Every row's keys, description and id fit their columns (wrapped at spaces, never cut), the table has room
    for more than a row, and every label is one line that ends whole or with an ellipsis."""
    from rich.console import Console
    from textual.widgets import DataTable

    from reader.ui.screens.help import HelpScreen

    keymap = load_keymap(name)
    app, _ = await open_reader(workspace, keymap)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one(DataTable)
        box = app.screen.query_one("#help-box")
        assert box.region.right <= 80 and box.region.bottom <= 24
        assert table.region.height >= 8, "the labels leave the table room for several rows"
        columns = table.ordered_columns
        total = sum(c.get_render_width(table) for c in columns)
        assert total <= table.scrollable_content_region.width, "no horizontal scrolling"
        assert table.max_scroll_x == 0
        console = Console(width=200)
        for row in range(table.row_count):
            cells = table.get_row_at(row)
            if str(cells[2]) != "entity label":  # the entity labels' rows, after the keys
                action = next(a for a in ACTIONS if a.description == str(cells[1]))
                assert str(cells[2]) in (action.id, action.id.removeprefix("reader."))
            for cell, column in zip(cells, columns, strict=True):
                width = column.get_render_width(table) - 2 * table.cell_padding
                lines = [line.plain.rstrip() for line in cell.wrap(console, width)]
                assert " ".join(lines) == str(cell), f"{cell} is cut in a column of {width}"
                assert all(len(line) <= width for line in lines)
        table.move_cursor(row=table.row_count - 1)
        await pilot.pause()
        assert table.cursor_row == table.row_count - 1  # the last row is reachable
        labels = app.screen.query_one("#help-labels")
        assert labels.region.right <= 80
        for line in range(1, len(workspace.labels.labels) + 1):
            text = "".join(s.text for s in labels.render_line(line)).rstrip()
            label = workspace.labels.labels[line - 1]
            assert label.name in text
            assert text.endswith(label.description) or text.endswith("…"), text


# --- checked against a real terminal ------------------------------------------------------------------------------

PROBE = '''
import sys
from textual.app import App

class Probe(App):
    ENABLE_COMMAND_PALETTE = False  # ctrl+p is a key under test

    def on_mount(self):
        self.log_file = open(sys.argv[1], "a", encoding="utf-8")
        self.log_file.write("ready\\n"); self.log_file.flush()

    def on_key(self, event):
        event.prevent_default(); event.stop()
        self.log_file.write(event.key + "\\n"); self.log_file.flush()

Probe().run()
'''
TMUX_NAMES = {"up": "Up", "down": "Down", "left": "Left", "right": "Right", "home": "Home", "end": "End",
              "pageup": "PPage", "pagedown": "NPage", "insert": "IC", "delete": "DC", "tab": "Tab", "enter": "Enter",
              "escape": "Escape", "space": "Space", "backspace": "BSpace",
              **{f"f{n}": f"F{n}" for n in range(1, 13)}}


def tmux_args(key: str) -> list[str] | None:
    """`tmux send-keys` arguments that press `key`, or None when tmux has no name for it."""
    from textual.keys import REPLACED_KEYS, key_to_character

    *mods, base = key.split("+") if key != "plus" else ("plus",)
    if base in TMUX_NAMES:
        return ["".join({"ctrl": "C-", "alt": "M-", "shift": "S-"}[m] for m in mods) + TMUX_NAMES[base]]
    char = base if len(base) == 1 else key_to_character(REPLACED_KEYS.get(base, base))
    if char is None or ("ctrl" in mods and "shift" in mods):
        return None
    if "shift" in mods:
        char = char.upper()
    if not {"ctrl", "alt"} & set(mods):
        return ["-l", "\\;" if char == ";" else char]  # a bare ; ends a tmux command
    return ["".join({"ctrl": "C-", "alt": "M-"}[m] for m in mods if m != "shift") + char]


@pytest.mark.slow
@pytest.mark.skipif(__import__("shutil").which("tmux") is None, reason="tmux is not installed")
def test_what_tmux_sends_is_what_the_loader_expects(tmp_path):
    """Every key of every shipped keymap, and the ones the loader warns about, pressed with `tmux send-keys` in
    a tiny Textual app: the keys that arrive are the ones `arrives_as` reads from its table."""
    import os
    import sys
    import time
    import uuid

    from reader.ui.keymap import arrives_as

    keys = {k for name in SHIPPED for ks in load_keymap(str(KEYMAPS / f"{name}.toml")).values()
            for k in normalise_keys(ks)}
    keys |= {"alt+less_than_sign", "alt+greater_than_sign", "shift+f3", "ctrl+f3", "shift+f1", "ctrl+h",
             "alt+X", "alt+underscore", "alt+backspace", "ctrl+home", "alt+up"}
    keys = sorted(k for k in keys if tmux_args(k) is not None)
    assert len(keys) > 60
    (tmp_path / "probe.py").write_text(PROBE)
    log = tmp_path / "keys.log"
    server = f"reader-keys-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", server]
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    subprocess_run = __import__("subprocess").run
    subprocess_run([*tmux, "new-session", "-d", "-s", server, "-x", "80", "-y", "24",
                    sys.executable, str(tmp_path / "probe.py"), str(log)], check=True, env=env)
    try:
        deadline = time.monotonic() + 20
        while not (log.exists() and "ready" in log.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        for key in keys:
            subprocess_run([*tmux, "send-keys", "-t", server, *tmux_args(key)], check=True)
            time.sleep(0.15)  # past Textual's escape delay, so an Esc prefix is not joined to the separator
            subprocess_run([*tmux, "send-keys", "-t", server, "-l", "|"], check=True)
        deadline = time.monotonic() + 10
        while log.read_text().count("vertical_line") < len(keys) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        subprocess_run([*tmux, "kill-server"], capture_output=True)
    received = log.read_text().split("ready\n", 1)[1].split("vertical_line\n")[: len(keys)]
    arrived = {key: tuple(chunk.split()) for key, chunk in zip(keys, received, strict=True)}
    wrong = {key: (got, arrives_as(key)) for key, got in arrived.items() if got != arrives_as(key)}
    assert not wrong, wrong
    assert arrived["alt+f"] == ("ctrl+right",) and arrived["alt+less_than_sign"] == ("less_than_sign",)
    assert arrived["shift+f3"] == ()
