"""Keymap files: defaults in one place, validation with clear errors, AZERTY keys."""

from pathlib import Path

import pytest

from reader.keymap import (
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
