"""A git merge driver for the store's files and its registration (README § The store): git's line merge collides
on additions side by side and revives what one side removed; this merges by record id against the common ancestor
and writes what the store would have written. git runs `main` with %O %A %B %P: 0 with the result in %A, or
non-zero, %A untouched, when a side does not parse, so nothing corrupt is ever written."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from reader.store.errors import StoreCorrupt
from reader.store.files import atomic_write, json_file, json_line, read_json
from reader.store.tinydb_storage import TABLE, AnnotationFile, encode_tables

DRIVER = "reader"
ATTRIBUTES = tuple(f"{g} merge={DRIVER}" for g in ("annotations/*/*.json", "documents/*.json", "analyses/*/*.json"))

Tables = dict[str, dict[str, dict]]


def _stamp(record: Mapping[str, Any]) -> tuple[str, bytes]:
    """Which version of a record is later: its `updated` (ISO), then its bytes, so it never depends on the side."""
    return str(record.get("updated") or record.get("created") or ""), json_line(record)


def _three_way(base: Mapping[str, Any], ours: Mapping[str, Any], theirs: Mapping[str, Any],
               both_changed: Callable[[str, Any, Any], Any], conflicts: list[str], where: str) -> dict:
    """Key by key: what one side changed since the base wins; `both_changed(key, ours, theirs)` decides the rest."""
    out = {}
    for key in sorted({*ours, *theirs, *base}):
        b, o, t = base.get(key), ours.get(key), theirs.get(key)
        if o == t or t == b:
            value = o
        elif o == b:
            value = t
        else:
            value = both_changed(key, o, t)
            conflicts.append(f"{where}{key}")
        if value is not None:
            out[key] = value
    return out


def _later(key: str, ours: dict | None, theirs: dict | None) -> dict | None:
    """The later version; removed on one side and changed on the other: the change, the newer work."""
    if ours is None or theirs is None:
        return ours if theirs is None else theirs
    return max(ours, theirs, key=_stamp)


def merge_tables(base: Tables, ours: Tables, theirs: Tables) -> tuple[Tables, list[str]]:
    """Three-way merge by record id: (merged tables, ids both sides changed); commutative in ours/theirs."""
    conflicts: list[str] = []
    merged = {name: _three_way(base.get(name, {}), ours.get(name, {}), theirs.get(name, {}), _later, conflicts,
                               "" if name == TABLE else f"{name}/") for name in sorted({*ours, *theirs})}
    return merged, conflicts


def merge(base: Tables, ours: Tables, theirs: Tables) -> tuple[bytes, list[str]]:
    """The merged annotation file as the store writes it, and the ids of the records both sides changed."""
    merged, conflicts = merge_tables(base, ours, theirs)
    return encode_tables(merged), conflicts


def read_annotations(path: Path) -> Tables:
    """An annotation file's tables, checked as the store checks them."""
    tables = AnnotationFile(path, read_only=True).read()
    if tables is None:
        raise StoreCorrupt(path, "missing")
    return tables


def read_document(path: Path) -> dict:
    """A document file's record, checked as the store checks it; StoreCorrupt when it is not one."""
    record = read_json(path)
    if not isinstance(record, dict) or not isinstance(record.get("text"), str) \
            or not isinstance(record.get("meta", {}), dict):
        raise StoreCorrupt(path, "not a document record with \"id\", \"text\" and \"meta\"")
    return record


def _merge_document(base: dict, ours_path: Path, theirs_path: Path) -> tuple[bytes | None, list[str]]:
    """The same text imported from two sources differs in `meta`: merge its keys, ours where both differ."""
    ours, theirs = read_document(ours_path), read_document(theirs_path)
    if ours.get("id") != theirs.get("id") or ours["text"] != theirs["text"]:
        raise StoreCorrupt(ours_path, "the two sides hold different texts under one document id")
    conflicts: list[str] = []
    meta = _three_way(base.get("meta") or {}, ours.get("meta") or {}, theirs.get("meta") or {},
                      lambda key, o, t: o, conflicts, "meta.")
    merged = {**ours, "meta": meta}
    return (None if merged == ours else json_file(merged)), conflicts


def _merge_analysis(ours_path: Path, theirs_path: Path) -> bytes | None:
    """An analysis is a cache rebuilt from the document: keep ours when it parses, else theirs."""
    try:
        read_json(ours_path)
        return None
    except StoreCorrupt:
        read_json(theirs_path)
        return theirs_path.read_bytes()


def _conflict(name: str, why: str) -> int:
    print(f"reader merge driver: {name}: {why}; left as a conflict", file=sys.stderr)
    return 1


def merge_files(base: Path, ours: Path, theirs: Path, name: str) -> int:
    """Merge into `ours` (%A), `name` (%P) saying what kind of file it is: 0 when merged, else 1, `ours` untouched."""
    folder = Path(name).parent
    try:
        added = base.stat().st_size == 0  # git's base of a file both sides added
        if folder.parent.name == "annotations":
            data, conflicts = merge({} if added else read_annotations(base), read_annotations(ours),
                                    read_annotations(theirs))
        elif folder.name == "documents":
            data, conflicts = _merge_document({} if added else read_document(base), ours, theirs)
        elif folder.parent.name == "analyses":
            data, conflicts = _merge_analysis(ours, theirs), []
        else:
            return _conflict(name, "not a store file it knows")
    except StoreCorrupt as exc:
        return _conflict(name, f"cannot merge, a side is damaged ({exc})")
    except (OSError, ValueError, TypeError) as exc:
        return _conflict(name, f"cannot merge ({exc})")
    if data is not None:
        try:
            atomic_write(ours, data)
        except OSError as exc:
            return _conflict(name, f"cannot write the result ({exc.strerror or exc})")
    if conflicts:
        shown = ", ".join(conflicts[:5]) + (f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else "")
        print(f"reader merge driver: {name}: changed on both sides, kept the later version of {shown}",
              file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 4:
        print("usage: python -m reader.store.gitmerge BASE OURS THEIRS PATH (git's %O %A %B %P)", file=sys.stderr)
        return 2
    return merge_files(Path(args[0]), Path(args[1]), Path(args[2]), args[3])


_ENTRY = ("import sys; sys.path.insert(0, sys.argv[1]); from reader.store.gitmerge import main; "
          "sys.exit(main(sys.argv[2:]))")


def driver_command() -> str:
    """This Python by absolute path (not resolved: a venv keeps its packages) on this copy of reader (first on
    sys.path: the driver is the code that registered it)."""
    package_root = Path(__file__).resolve().parent.parent.parent
    return " ".join(shlex.quote(part) for part in (sys.executable, "-c", _ENTRY, str(package_root))) \
        + " %O %A %B %P"


def register(root: Path | str) -> threading.Thread | None:
    """Set up the merge driver for a store in a git work tree, once per process and store, writing only what is
    missing; never raises. In a thread, returned to be joined (`Store.close`): `git` stays off the first paint."""
    with contextlib.suppress(OSError, ValueError):
        root = Path(os.path.abspath(root))
        if root not in _registered and any((folder / ".git").exists() for folder in (root, *root.parents)):
            thread = threading.Thread(target=_register_once, args=(root,), name="reader-merge-driver", daemon=True)
            thread.start()
            return thread
    return None


_registered: set[Path] = set()
_registering = threading.Lock()


def _register_once(root: Path) -> None:
    with _registering:  # two stores opened at once: the second waits, then finds the root done
        if root in _registered:
            return
        _registered.add(root)
        with contextlib.suppress(OSError, subprocess.SubprocessError, ValueError, UnicodeError):  # a convenience
            _set_up(root)


def _git(git: str, root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([git, "-C", str(root), *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=10, check=False)


def _set_up(root: Path) -> None:
    if (git := shutil.which("git")) is None:
        return
    wanted = driver_command()
    found = _git(git, root, "config", "--get", f"merge.{DRIVER}.driver")
    if found.returncode not in (0, 1):
        return  # not a repository after all, or git refused
    current = found.stdout.strip()
    needs_config = not current or (current != wanted and not _runnable(current))
    attributes = root / ".gitattributes"
    existing = attributes.read_text("utf-8") if attributes.exists() else ""
    missing = [line for line in ATTRIBUTES if line not in existing.splitlines()]
    if not needs_config and not missing:
        return
    if _git(git, root, "check-ignore", "-q", "reader-store.json").returncode == 0:
        return  # the repository does not keep this store
    if missing:
        text = existing + ("" if existing.endswith("\n") else "\n") if existing \
            else "# reader: merge annotation files by record id (see reader's README, \"The store\")\n"
        atomic_write(attributes, (text + "\n".join(missing) + "\n").encode("utf-8"))
    if needs_config:
        _git(git, root, "config", "--local", f"merge.{DRIVER}.name", "reader store files, merged by record id")
        _git(git, root, "config", "--local", f"merge.{DRIVER}.driver", wanted)


def _runnable(command: str) -> bool:
    """Whether a configured driver can still run (a moved venv or checkout leaves one that cannot)."""
    try:
        parts = shlex.split(command)
    except ValueError:
        return False
    if not parts or (os.sep not in parts[0] and shutil.which(parts[0]) is None):
        return False
    return all(os.path.exists(part) for part in parts if os.path.isabs(part))


if __name__ == "__main__":
    sys.exit(main())
