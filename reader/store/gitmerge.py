"""A git merge driver for the store's files, and its registration in the repository that holds a store.

The same analyst on two machines changes one annotation file on both: git's line merge then collides (records
are sorted by id, so two additions land side by side) and resolving by hand revives what one side removed. The
driver merges by record id against the common ancestor instead: both sides' additions are kept, a removal on
either side is honoured, and a record both sides changed keeps the later `updated`. It writes the result with
the store's own serialisation (`encode_tables`), so the merged file is what the store would have written.

git runs `main` with %O %A %B %P (gitattributes(5), "Defining a custom merge driver"; see `driver_command`):
exit 0 with the result in %A, or non-zero, %A untouched, when a side does not parse, so git reports a normal
conflict and nothing corrupt is ever written. `register` sets it up (the store's `.gitattributes` and the
repository's `merge.reader.driver`) the first time a process opens a store for writing inside a git work tree.
"""

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
from reader.store.tinydb_storage import TABLE, AtomicJSONStorage, encode_tables

DRIVER = "reader"
ATTRIBUTES = (
    f"annotations/*/*.json merge={DRIVER}",
    f"documents/*.json merge={DRIVER}",
    f"analyses/*/*.json merge={DRIVER}",
)
"""The store's `.gitattributes` lines (patterns relative to the store): every file two machines may both write."""

Tables = dict[str, dict[str, dict]]


# --- the three-way merge -----------------------------------------------------------------------------------


def _stamp(record: Mapping[str, Any]) -> tuple[str, bytes]:
    """Which of two versions of a record is later: its `updated` (ISO, so text order is time order), then its
    bytes, so the choice never depends on which side is ours."""
    return str(record.get("updated") or record.get("created") or ""), json_line(record)


def _three_way(base: Mapping[str, Any], ours: Mapping[str, Any], theirs: Mapping[str, Any],
               both_changed: Callable[[str, Any, Any], Any], conflicts: list[str], where: str = "") -> dict:
    """Key by key: what one side changed (or removed) since the base wins over what the other left alone;
    `both_changed(key, ours, theirs)` decides the rest (a missing side is None)."""
    out = {}
    for key in sorted({*ours, *theirs, *base}):
        b, o, t = base.get(key), ours.get(key), theirs.get(key)
        if o == t:
            value = o
        elif o == b:
            value = t
        elif t == b:
            value = o
        else:
            value = both_changed(key, o, t)
            conflicts.append(f"{where}{key}")
        if value is not None:
            out[key] = value
    return out


def _later(key: str, ours: dict | None, theirs: dict | None) -> dict | None:
    """A record both sides changed: the later version; one side removed it and the other changed it since
    the base: the change, which is newer work than the record the removal took away."""
    if ours is None or theirs is None:
        return ours if theirs is None else theirs
    return max(ours, theirs, key=_stamp)


def merge_tables(base: Tables, ours: Tables, theirs: Tables) -> tuple[Tables, list[str]]:
    """Three-way merge of parsed annotation files by record id: (merged tables, ids of the records both sides
    changed, each settled by `_later`). Commutative in ours/theirs; merging a side with the base gives it back."""
    conflicts: list[str] = []
    merged: Tables = {}
    for name in sorted({*ours, *theirs}):
        where = "" if name == TABLE else f"{name}/"
        merged[name] = _three_way(base.get(name, {}), ours.get(name, {}), theirs.get(name, {}), _later,
                                  conflicts, where)
    return merged, conflicts


def merge(base: Tables, ours: Tables, theirs: Tables) -> tuple[bytes, list[str]]:
    """The merged annotation file as the store writes it, and the ids of the records both sides changed."""
    merged, conflicts = merge_tables(base, ours, theirs)
    return encode_tables(merged), conflicts


# --- reading the three versions ----------------------------------------------------------------------------


def read_annotations(path: Path, *, empty_ok: bool = False) -> Tables:
    """An annotation file's tables, checked as the store checks them; StoreCorrupt when it does not parse.
    git passes an empty file as the base of a file both sides added (`empty_ok`)."""
    if empty_ok and path.stat().st_size == 0:
        return {}
    tables = AtomicJSONStorage(path, read_only=True).read()
    if tables is None:
        raise StoreCorrupt(path, "missing")
    for key, record in tables.get(TABLE, {}).items():
        if record.get("id") != key:
            raise StoreCorrupt(path, f"the record under {key!r} has the id {record.get('id')!r}")
    return tables


def _read_document(path: Path, *, empty_ok: bool = False) -> dict:
    if empty_ok and path.stat().st_size == 0:
        return {}
    record = read_json(path)
    if not isinstance(record, dict) or not isinstance(record.get("text"), str) \
            or not isinstance(record.get("meta", {}), dict):
        raise StoreCorrupt(path, "not a document record with \"id\", \"text\" and \"meta\"")
    return record


def _merge_document(base_path: Path, ours_path: Path, theirs_path: Path) -> tuple[bytes | None, list[str]]:
    """Documents are content-addressed (the id is a hash of the text), but the same text imported on two
    machines from two sources differs in `meta`: merge the meta keys, ours where both set one differently."""
    base = _read_document(base_path, empty_ok=True)
    ours, theirs = _read_document(ours_path), _read_document(theirs_path)
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


def merge_files(base: Path, ours: Path, theirs: Path, name: str) -> int:
    """What git runs: merge into `ours` (%A); `name` (%P) is the file's path in the repository, which says
    what kind of store file it is. 0 when merged; 1, `ours` untouched, when it cannot be."""
    parts = Path(name).parts
    try:
        if len(parts) >= 3 and parts[-3] == "annotations":
            data, conflicts = merge(read_annotations(base, empty_ok=True), read_annotations(ours),
                                    read_annotations(theirs))
        elif len(parts) >= 2 and parts[-2] == "documents":
            data, conflicts = _merge_document(base, ours, theirs)
        elif len(parts) >= 3 and parts[-3] == "analyses":
            data, conflicts = _merge_analysis(ours, theirs), []
        else:
            print(f"reader merge driver: {name}: not a store file it knows; left as a conflict", file=sys.stderr)
            return 1
    except StoreCorrupt as exc:
        print(f"reader merge driver: {name}: cannot merge, a side is damaged ({exc}); left as a conflict",
              file=sys.stderr)
        return 1
    except (OSError, ValueError, TypeError) as exc:
        print(f"reader merge driver: {name}: cannot merge ({exc}); left as a conflict", file=sys.stderr)
        return 1
    if data is not None:
        try:
            atomic_write(ours, data)
        except OSError as exc:
            print(f"reader merge driver: {name}: cannot write the result ({exc.strerror or exc}); left as a "
                  "conflict", file=sys.stderr)
            return 1
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
    base, ours, theirs, name = args
    return merge_files(Path(base), Path(ours), Path(theirs), name)


# --- registration --------------------------------------------------------------------------------------------


_ENTRY = ("import sys; sys.path.insert(0, sys.argv[1]); from reader.store.gitmerge import main; "
          "sys.exit(main(sys.argv[2:]))")


def driver_command() -> str:
    """The command git runs, from any working directory: this Python by absolute path (a venv's python, not
    resolved, so the venv's packages come with it) on this copy of reader (its folder first on sys.path, so the
    driver is the code that registered it, installed or run from a checkout)."""
    package_root = Path(__file__).resolve().parent.parent.parent
    return " ".join(shlex.quote(part) for part in (sys.executable, "-c", _ENTRY, str(package_root))) \
        + " %O %A %B %P"


_registered: set[Path] = set()
_registered_mutex = threading.Lock()


def register(root: Path | str) -> None:
    """Set up the merge driver for a store inside a git work tree, once per process and store; never raises.

    Outside a work tree this costs a few stats (no subprocess). Inside, one `git config` read; it writes only
    what is missing: the store's `.gitattributes` lines, and `merge.reader.driver` when no config (local,
    global or system) has one, or the one it has names a program that no longer exists (a moved venv).
    A store that the repository ignores is left alone.
    """
    try:
        path = Path(os.path.abspath(root))
    except (OSError, ValueError):
        return
    with _registered_mutex:
        if path in _registered:
            return
        _registered.add(path)
    # a merge driver is a convenience: it never costs the analyst a write
    with contextlib.suppress(OSError, subprocess.SubprocessError, ValueError, UnicodeError):
        _register(path)


def _in_work_tree(path: Path) -> bool:
    return any((folder / ".git").exists() for folder in (path, *path.parents))


def _git(git: str, root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([git, "-C", str(root), *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=10, check=False)


def _register(root: Path) -> None:
    if not _in_work_tree(root) or (git := shutil.which("git")) is None:
        return
    wanted = driver_command()
    found = _git(git, root, "config", "--get", f"merge.{DRIVER}.driver")
    if found.returncode not in (0, 1):
        return  # not a repository after all, or git refused
    current = found.stdout.strip()
    needs_config = not current or (current != wanted and not _runnable(current))
    attributes = root / ".gitattributes"
    try:
        existing = attributes.read_text("utf-8")
    except FileNotFoundError:
        existing = ""
    missing = [line for line in ATTRIBUTES if line not in existing.splitlines()]
    if not needs_config and not missing:
        return
    if _git(git, root, "check-ignore", "-q", "reader-store.json").returncode == 0:
        return  # the repository does not keep this store
    if missing:
        text = existing + ("" if not existing or existing.endswith("\n") else "\n")
        text += "# reader: merge annotation files by record id (see reader's README, \"The store\")\n" \
            if not existing else ""
        atomic_write(attributes, (text + "\n".join(missing) + "\n").encode("utf-8"))
    if needs_config:
        _git(git, root, "config", "--local", f"merge.{DRIVER}.name", "reader store files, merged by record id")
        _git(git, root, "config", "--local", f"merge.{DRIVER}.driver", wanted)


def _runnable(command: str) -> bool:
    """Whether a configured driver can still run: its program and every absolute path it names exist (a venv
    or a checkout that moved leaves a driver that cannot)."""
    try:
        parts = shlex.split(command)
    except ValueError:
        return False
    if not parts or (os.sep not in parts[0] and shutil.which(parts[0]) is None):
        return False
    return all(os.path.exists(part) for part in parts if os.path.isabs(part))


if __name__ == "__main__":
    sys.exit(main())
