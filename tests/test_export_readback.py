"""Every export reads back as its consumers read it, and says what the store says.

Every format × unit × filter × align mode of tests/export_cases.py is exported twice: the same store gives
the same bytes. spaCy's DocBin reads each `.spacy` file back into Docs whose text, span group, entities, cats
and user data are the native records' (whose labels are checked against the store's own tag records), and
every span is a `char_span` of its Doc; srsly's JSONL reader reads each JSON export back, and the Prodigy and
doccano records hold the same texts, spans and labels as the native ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spacy
import srsly
from spacy.tokens import DocBin

from reader.store import Store
from reader.workspace import Workspace
from tests import export_cases

pytestmark = pytest.mark.slow

NAMES = [name for name, _ in export_cases.cases(["seed", "d2", "d3", "d4"])]
"""The case names (they do not depend on the documents' ids)."""


@pytest.fixture(scope="module")
def store_root(tmp_path_factory) -> Path:
    return export_cases.new_store(tmp_path_factory, "readback")


@pytest.fixture(scope="module")
def exported(store_root) -> dict[str, dict]:
    return export_cases.export_all(store_root)


@pytest.fixture(scope="module")
def tags(store_root) -> dict[tuple[str, str], set[tuple[int, int, str]]]:
    """(document, annotator) -> the (start, end, label) of their tag records, read from the store."""
    store = Store(store_root, read_only=True)
    ws = Workspace(store, model=export_cases.MODEL, annotator="alice")
    try:
        return {(doc_id, name): {(r["start"], r["end"], r["label"]) for r in ws.records(doc_id, name).values()
                                 if r.get("kind") == "tag"}
                for doc_id in ws.document_ids() for name in ws.annotators(doc_id)}
    finally:
        store.close()


def native_twin(exported: dict[str, dict], name: str) -> list[dict]:
    """The native records of the same case (same unit, filter and alignment)."""
    twin = exported["jsonl" + name[name.index("-"):]]
    assert "error" not in twin, twin["error"]
    return [json.loads(line) for line in twin["bytes"].splitlines()]


def kept_spans(record: dict) -> list[tuple[int, int, str]]:
    """The spans of a native record that the other formats carry: all but the rejected ones."""
    return [(s["start"], s["end"], s["label"]) for s in record["spans"] if s["status"] != "rejected"]


def entity_layer(record: dict) -> list[tuple[int, int, str]]:
    """What a layer without overlaps (Prodigy spans, doccano label) holds of a native record: the one rule."""
    from reader.export.units import Span, without_overlaps

    spans = [Span(s["start"], s["end"], s["label"], s["status"], 0)
             for s in record["spans"] if s["status"] != "rejected"]
    return [(s.start, s.end, s.label) for s in without_overlaps(spans)[0]]


def labels_of(record: dict) -> set[str]:
    """A native record's sentence labels: a sentence's cats at 1.0, or a document's sentences' labels."""
    if "cats" in record:
        return {name for name, value in record["cats"].items() if value}
    return {label for sentence in record["sentences"] for label in sentence["labels"]}


def test_every_case_exported(exported):
    assert sorted(exported) == sorted(NAMES)
    failed = [name for name, case in exported.items() if "error" in case]
    assert failed and all(name.endswith("-strict") for name in failed), "only strict alignment fails"


@pytest.mark.parametrize("name", NAMES)
def test_same_store_same_bytes(exported, name):
    case = exported[name]
    if "error" in case:
        assert case["misaligned"], "a failed export lists the spans that do not align"
        for mode in ("expand", "contract"):
            fixed = exported[name.removesuffix("strict") + mode]
            assert "error" not in fixed and "misaligned spans adjusted" in fixed["summary"]
        return
    assert case["bytes"] == case["again"]
    assert case["bytes"], name


@pytest.mark.parametrize("name", [n for n in NAMES if n.startswith("spacy-")])
def test_docbin_reads_back_as_the_native_records_say(exported, name):
    case = exported[name]
    if "error" in case:
        return
    docs = list(DocBin().from_bytes(case["bytes"]).get_docs(spacy.blank("fr").vocab))
    records = native_twin(exported, name)
    assert len(docs) == len(records) == case["count"]
    for doc, record in zip(docs, records, strict=True):
        meta = doc.user_data
        if record["meta"].get("doc_id"):  # a sentence record
            assert (meta["doc_id"], meta["sentence"]) == (record["meta"]["doc_id"], record["meta"]["sentence"])
            assert json.loads(json.dumps(meta["notes"])) == record["notes"], "msgpack reads lists as tuples"
        else:
            assert (meta["doc_id"], meta["sentence"]) == (record["id"], None)
        assert meta["annotator"] == record["meta"]["annotator"]
        assert doc.text == record["text"], "a Doc's text is the unit's exact text"
        spans = kept_spans(record)
        assert [(s.start_char, s.end_char, s.label_) for s in doc.spans["sc"]] == spans
        for start, end, label in spans:
            found = doc.char_span(start, end, label=label)
            assert found is not None and found.text == record["text"][start:end]
        ents = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        assert set(ents) <= set(spans)
        for start, end, _ in set(spans) - set(ents):  # left out of doc.ents only because it overlaps one
            assert any(s < end and start < e for s, e, _ in ents)
        assert {name for name, value in doc.cats.items() if value == 1.0} == labels_of(record)
        assert set(doc.cats.values()) <= {0.0, 1.0}


@pytest.mark.parametrize("name", [n for n in NAMES if not n.startswith("spacy-")])
def test_json_lines_read_back_as_the_native_records_say(exported, name, tmp_path):
    case = exported[name]
    if "error" in case:
        return
    path = tmp_path / "out.jsonl"
    path.write_bytes(case["bytes"])
    records = list(srsly.read_jsonl(path))
    assert records == [json.loads(line) for line in case["bytes"].splitlines()]
    assert len(records) == case["count"]
    native = native_twin(exported, name)
    assert len(native) == len(records)
    for record, twin in zip(records, native, strict=True):
        assert record["text"] == twin["text"]
        if case["fmt"] == "prodigy":
            assert [(s["start"], s["end"], s["label"]) for s in record["spans"]] == entity_layer(twin)
            tokens = record["tokens"]
            assert "".join(t["text"] + " " * t["ws"] for t in tokens) == record["text"]
            for s in record["spans"]:
                assert (tokens[s["token_start"]]["start"], tokens[s["token_end"]]["end"]) == (s["start"], s["end"])
            assert set(record["accept"]) == labels_of(twin)
        elif case["fmt"] == "doccano":
            assert [tuple(x) for x in record["label"]] == entity_layer(twin)
            assert set(record["cats"]) == labels_of(twin)


@pytest.mark.parametrize("unit", ["document", "sentence"])
def test_native_labels_are_the_stores_tags(exported, tags, unit):
    """The oracle behind the others: the native records' labels are the annotators' tag records."""
    for record in native_twin(exported, f"jsonl-{unit}-all-expand"):
        who = record["meta"]["annotator"]
        if unit == "document":
            doc_id = record["id"]
            listed = {(s["start"], s["end"], label) for s in record["sentences"] for label in s["labels"]}
        else:
            doc_id, start, end = record["meta"]["doc_id"], record["meta"]["start"], record["meta"]["end"]
            listed = {(start, end, label) for label in labels_of(record)}
        stored = tags.get((doc_id, who), set())
        if unit == "sentence":
            stored = {t for t in stored if (t[0], t[1]) == (start, end)}
        assert listed == stored, (doc_id, who)
