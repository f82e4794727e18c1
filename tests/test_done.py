"""The done state (issue 20): one `done` record per document and annotator, one undo step, `reader done`, the
`D` key, the status line and the library; merge leaves it out of gold, the merge driver merges it by id."""

from __future__ import annotations

import json

import pytest
from test_agreement import build_store, cli
from test_annotations import SENTS, TEXT, MemoryStore, clock
from typer.testing import CliRunner

from reader.annotations import DONE, AnnotatorWork, done_id
from reader.cli import app as cli_app
from reader.documents import make_document
from reader.labels import load_labels
from reader.session import AnnotationSession
from reader.store import TABLE, Store
from reader.store.gitmerge import merge_tables
from reader.ui.keymap import ACTIONS, SHIPPED_KEYMAPS, load_keymap
from reader.ui.screens.dialogs import NoteEditor
from reader.ui.screens.library import LibraryScreen
from reader.workspace import Workspace
from tests.test_app import open_app, ready, seed_id
from tests.test_text_fields import type_text

runner = CliRunner()
NARROW = (80, 24)


@pytest.fixture
def session():
    s = AnnotationSession(MemoryStore(), make_document(TEXT), "alice", load_labels(), clock=clock())
    s.use_sentences(SENTS)
    return s


def done_records(records: dict[str, dict]) -> list[dict]:
    return [r for r in records.values() if r.get("kind") == DONE]


# --- the record and the session -------------------------------------------------------------------------------

def test_set_done_is_one_record_and_one_undo_step(session):
    session.toggle_tag(1, "quote")
    change = session.set_done(True)
    assert change is not None and change.description == "done" and session.done
    [record] = done_records(session.records())
    assert record["id"] == done_id(session.doc.id) and record["annotator"] == "alice"
    assert record["created"] and record["updated"] == record["created"]
    assert session.store.records(session.doc.id, "alice")[record["id"]] == record  # written durably
    assert session.set_done(True) is None  # already done: nothing written, no undo step
    session.undo()
    assert not session.done and not done_records(session.records())
    assert session.sentence_tags() == {1: ["quote"]}  # undo took back the done state only
    session.redo()
    assert session.done
    assert session.set_done(False).description == "not done"
    assert not done_records(session.store.records(session.doc.id, "alice"))
    assert session.set_done(False) is None
    session.undo()
    assert session.done


def test_the_done_id_is_the_same_for_every_annotator_and_machine():
    doc = make_document(TEXT)
    assert done_id(doc.id) == done_id(doc.id) != done_id(make_document(TEXT + " Fin.").id)


def test_annotator_work_says_done_and_ignores_it_elsewhere(session):
    session.toggle_tag(0, "event")
    session.set_done(True)
    work = AnnotatorWork(session.records(), SENTS, load_labels().names)
    assert work.done and work.tagged() == {0: ["event"]} and not work.notes and not work.decisions
    assert not AnnotatorWork().done
    ident = done_id(session.doc.id)
    work.remove(ident, session.records()[ident])
    assert not work.done


# --- merge and the merge driver -------------------------------------------------------------------------------

def test_merge_leaves_done_out_of_gold(tmp_path):
    root = tmp_path / "store"
    root.mkdir()
    d1, _ = build_store(root)
    for name in ("alice", "bob", "carol"):
        cli(root, "done", d1, "--annotator", name)
    result = cli(root, "merge", "--into", "gold", "--rule", "majority", "--doc", d1)
    assert f"{d1}  agreed    9  conflicts    1  kept    0  written    6" in result.stdout  # as without done
    ws = Workspace.open(root, read_only=True)
    gold = ws.records(d1, "gold")
    assert len(gold) == 6 and not done_records(gold)
    assert all(ws.summary(d1, name).done for name in ("alice", "bob", "carol"))
    assert not ws.summary(d1, "gold").done
    ws.close()


def test_the_merge_driver_merges_done_records_by_id():
    ident = done_id("abc123abc123")
    record = {"id": ident, "kind": DONE, "start": 0, "end": 0, "annotator": "alice"}
    ours = {ident: {**record, "created": "2026-01-01T10:00:00Z", "updated": "2026-01-01T10:00:00Z"}}
    theirs = {ident: {**record, "created": "2026-01-01T11:00:00Z", "updated": "2026-01-01T11:00:00Z"},
              "tag-x": {"id": "tag-x", "kind": "tag", "start": 0, "end": 5, "label": "quote"}}
    merged, _ = merge_tables({TABLE: {}}, {TABLE: ours}, {TABLE: theirs})
    assert set(merged[TABLE]) == {ident, "tag-x"}  # both machines marked it done: one record
    assert merged[TABLE][ident]["updated"] == "2026-01-01T11:00:00Z"
    base = ours
    merged, conflicts = merge_tables({TABLE: base}, {TABLE: {}}, {TABLE: base})
    assert merged[TABLE] == {} and conflicts == []  # marked not done on one side: not done


def test_an_edited_reimport_does_not_carry_the_done_state(tmp_path):
    ws = Workspace(Store(tmp_path / "store"), annotator="alice")
    old = make_document(TEXT, {"source": "a.txt"})
    ws.add_documents([old])
    session = ws.session(old)
    session.set_done(True)
    session.add_note("document", 0, 0, "à relire")
    [result] = ws.add_documents([make_document(TEXT + " Une phrase de plus.", {"source": "a.txt"})])
    assert result.replaces == old.id and result.lost == ()
    assert ws.summary(old.id).done and not ws.summary(result.document.id).done
    assert ws.summary(result.document.id).notes == 1
    ws.close()


# --- the command line -----------------------------------------------------------------------------------------

def run(*args: str):
    return runner.invoke(cli_app, list(args))


def test_reader_done_and_undo(store):
    doc = next((store / "documents").iterdir()).stem
    common = ["--store", str(store), "--annotator", "bob"]
    title = Workspace.open(store, read_only=True).document(doc).title
    result = run("done", doc[:6], *common)
    assert result.exit_code == 0 and result.output == f"done: {doc} {title}\n"
    again = run("done", doc, *common)
    assert again.exit_code == 0 and again.output == f"done: {doc} {title} (already)\n"
    records = json.loads((store / "annotations" / doc / "bob.json").read_text(encoding="utf-8"))[TABLE]
    assert [r["kind"] for r in records.values()] == [DONE]
    listing = run("list", *common)
    row = next(line for line in listing.output.splitlines() if line.startswith(doc))
    assert row.split()[-1] == "done"
    [line] = run("list", "--json", *common).output.splitlines()
    assert json.loads(line)["done"] is True
    assert json.loads(run("list", "--json", "--store", str(store), "--annotator", "carol").output)["done"] is False
    result = run("done", doc, "--undo", *common)
    assert result.exit_code == 0 and result.output == f"not done: {doc} {title}\n"
    assert run("done", doc, "--undo", *common).output == f"not done: {doc} {title} (already)\n"
    records = json.loads((store / "annotations" / doc / "bob.json").read_text(encoding="utf-8"))[TABLE]
    assert records == {}
    row = next(line for line in run("list", *common).output.splitlines() if line.startswith(doc))
    assert row.split()[-1] != "done"


def test_reader_done_errors(store):
    result = run("done", "ffffffffffff", "--store", str(store))
    assert result.exit_code != 0 and result.output.startswith("error: ") and len(result.output.splitlines()) == 1
    doc = next((store / "documents").iterdir()).stem
    holder = Workspace.open(store, annotator="bob")  # another writer of bob's files
    try:
        result = run("done", doc, "--store", str(store), "--annotator", "bob")
        assert result.exit_code != 0
        assert result.output.startswith(f"error: the store {store} is read-only here: ")
        assert result.output.rstrip().endswith("nothing was written")
        assert not (store / "annotations" / doc / "bob.json").exists()
    finally:
        holder.close()


# --- keys -----------------------------------------------------------------------------------------------------

def test_done_is_D_in_the_default_keymap_and_free_in_every_shipped_one():
    assert next(a for a in ACTIONS if a.id == "reader.done").keys == "D"
    for path in SHIPPED_KEYMAPS.glob("*.toml"):
        keymap = load_keymap(str(path))
        assert keymap["reader.done"] == "D", path.name
        assert [i for i, keys in keymap.items() if "D" in keys.split(",")] == ["reader.done"], path.name


async def test_D_marks_the_document_done_at_80_columns_and_u_undoes_it(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        doc = app.screen.doc
        session = workspace.session(doc)
        await pilot.press("D")
        await pilot.pause()
        assert session.done and done_records(workspace.records(doc.id, "tester"))
        status = str(app.screen.query_one("#status").render())
        assert " · done" in status, status
        assert any(n.message == f"Done: {doc.title}" for n in app._notifications)
        await pilot.press("u")
        await pilot.pause()
        assert not session.done and not done_records(workspace.records(doc.id, "tester"))
        assert " · done" not in str(app.screen.query_one("#status").render())
        await pilot.press("D")
        await pilot.press("D")
        await pilot.pause()
        assert not session.done
        assert any(n.message == "Not done" for n in app._notifications)


async def test_the_library_shows_the_done_state_and_counts_it(workspace):
    doc_id = seed_id(workspace)
    workspace.session(workspace.document(doc_id)).set_done(True)
    app = await open_app(workspace)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        await app.screen.run_action("library")
        await pilot.pause()
        assert isinstance(app.screen, LibraryScreen)
        header = str(app.screen.query_one("#header").render())
        assert "1 done" in header, header
        assert app.screen.cell(doc_id, "done") == "✓"
        table = app.screen.query_one("#documents")
        lines = [table.render_line(y).text for y in range(table.size.height)]
        assert any("✓" in line for line in lines), lines


async def test_D_typed_into_a_note_is_a_letter(workspace):
    app = await open_app(workspace)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        session = workspace.session(app.screen.doc)
        await app.screen.run_action("note")
        await pilot.pause()
        assert isinstance(app.screen, NoteEditor)
        await type_text(pilot, "DD")
        assert app.screen.query_one("TextArea").text == "DD"
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert not session.done
    assert [n.text for n in session.annotations("note")] == ["DD"]
