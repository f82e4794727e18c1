"""Installed, not run from the repository: a named keymap resolves from the wheel's own copy of keymaps/."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def unpacked_wheel(tmp_path_factory) -> Path:
    """The wheel `pip wheel .` builds, unpacked: what a normal (non-editable) install puts in site-packages."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(out), str(ROOT)], check=True, capture_output=True, timeout=120)
    (wheel,) = out.glob("reader-*.whl")
    site = out / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(site)
    assert {f"reader/keymaps/{n}.toml" for n in ("default", "vim", "emacs", "azerty")} <= set(names)
    assert not any(n.startswith("keymaps/") for n in names), "the top-level folder is not installed as such"
    return site


def run_installed(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "READER_KEYMAPS")}
    env["PYTHONPATH"] = str(site)  # before the editable install of the repository
    env["XDG_CONFIG_HOME"] = str(cwd / "config")
    return subprocess.run([sys.executable, "-m", "reader", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


def test_named_keymap_works_from_any_directory_after_install(unpacked_wheel, tmp_path):
    probe = subprocess.run(
        [sys.executable, "-c", "import reader.ui.keymap as k; print(k.__file__); print(k.find_keymap('vim'))"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(unpacked_wheel)}, capture_output=True, text=True,
        check=True)
    module, vim = probe.stdout.split()
    assert Path(module).is_relative_to(unpacked_wheel) and Path(vim).is_relative_to(unpacked_wheel)
    result = run_installed(unpacked_wheel, tmp_path, "--keymap", "vim", "keys")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines() if line.strip()}
    assert lines["reader.next-match"] == "n" and lines["reader.note"] == "a"
    assert "warning" not in result.stderr
    unknown = run_installed(unpacked_wheel, tmp_path, "--keymap", "nope", "keys")
    assert unknown.returncode != 0
    assert "available: azerty, browser, default, emacs, vim" in unknown.stderr
