"""The Hugging Face export reads back as `datasets.load_dataset("json")` reads it, for every unit × filter ×
align mode of tests/export_cases.py: one row per native record, with its id, its tokens (every character but
whitespace), BIO tags naming the entities the one overlap rule keeps, and its sentence labels; the tags cast
to a `ClassLabel` sequence as a token-classification trainer wants them."""

from __future__ import annotations

import json
import re

import datasets
import pytest
from seqeval.metrics.sequence_labeling import get_entities

from reader.export import ExportError, export
from reader.export.units import Span, without_overlaps
from tests import export_cases

NAMES = [name.removeprefix("jsonl-") for name, options in export_cases.cases(["seed", "d2", "d3", "d4"])
         if options["fmt"] == "jsonl"]


def nonspace(text: str) -> str:
    return re.sub(r"\s", "", text)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, tuple[bytes, bytes, list[dict]] | None]:
    """case -> (the hf bytes, the conll bytes, the native records of the same case), or None when strict
    alignment fails."""
    with export_cases.read_only(export_cases.new_store(tmp_path_factory, "hf")) as ws:
        out = {}
        for name, options in export_cases.cases(export_cases.case_documents(ws)):
            if options["fmt"] != "jsonl":
                continue
            options = {k: v for k, v in options.items() if k != "fmt"}
            try:
                data = export(ws, "hf", **options).to_bytes()
            except ExportError:
                out[name.removeprefix("jsonl-")] = None
                continue
            assert data == export(ws, "hf", **options).to_bytes(), "the same store gives the same bytes"
            conll = export(ws, "conll", **options).to_bytes()
            native = [json.loads(line) for line in export(ws, "jsonl", **options).to_bytes().splitlines()]
            out[name.removeprefix("jsonl-")] = (data, conll, native)
        return out


def labels_of(record: dict) -> list[str]:
    if "cats" in record:
        return [name for name, value in record["cats"].items() if value]
    return list(dict.fromkeys(label for sentence in record["sentences"] for label in sentence["labels"]))


@pytest.mark.parametrize("name", NAMES)
def test_datasets_loads_the_records_the_store_holds(exported, name, tmp_path):
    if exported[name] is None:
        assert name.endswith("-strict")
        return
    data, conll, records = exported[name]
    path = tmp_path / "train.jsonl"
    path.write_bytes(data)
    rows = datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))
    assert rows.num_rows == len(records)
    for row, record in zip(rows, records, strict=True):
        assert row["id"] == record["id"]
        assert row["meta"]["annotator"] == record["meta"]["annotator"]
        assert "".join(row["tokens"]) == nonspace(record["text"]), "every token but whitespace, in order"
        assert len(row["ner_tags"]) == len(row["tokens"])
        spans = [Span(s["start"], s["end"], s["label"], s["status"], 0) for s in record["spans"]
                 if s["status"] != "rejected"]
        kept = [(s.label, nonspace(record["text"][s.start:s.end])) for s in without_overlaps(spans)[0]]
        found = [(label, "".join(row["tokens"][i:j + 1])) for label, i, j in get_entities(row["ner_tags"])]
        assert found == kept
        assert all(tag == "O" or tag[:2] in ("B-", "I-") for tag in row["ner_tags"])
        assert sorted(row["labels"]) == sorted(labels_of(record))
    conll_rows = [line.split("\t") for line in conll.decode().splitlines() if "\t" in line]
    assert [(w, t) for row in rows for w, t in zip(row["tokens"], row["ner_tags"], strict=True)] == \
        [(w, t) for w, t in conll_rows], "the same tokens and tags as the CoNLL export"
    names = sorted({tag for row in rows for tag in row["ner_tags"]})
    cast = rows.cast_column("ner_tags", datasets.List(datasets.ClassLabel(names=names)))
    assert [[names[k] for k in row["ner_tags"]] for row in cast] == rows["ner_tags"]
