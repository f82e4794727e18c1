"""The CoNLL export reads back as its consumers read it: spaCy's `ner` converter (in process for every unit ×
filter × align mode of tests/export_cases.py, and once as `python -m spacy convert -c ner`) gives the tokens
and the entities the native records hold, after the one overlap rule; seqeval finds the same entities in strict
IOB2 mode and scores the tags 1.0 against themselves. The overlap rule is the DocBin's."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics import classification_report
from seqeval.metrics.sequence_labeling import get_entities
from seqeval.scheme import IOB2, Entities
from spacy.tokens import DocBin
from spacy.training.converters import conll_ner_to_docs

from reader import cli
from reader.export import ExportError, export
from reader.export.units import Span, without_overlaps
from tests import export_cases

CASES = [(name.removeprefix("jsonl-"), options) for name, options in export_cases.cases(["seed", "d2", "d3", "d4"])
         if options["fmt"] == "jsonl"]


def nonspace(text: str) -> str:
    return re.sub(r"\s", "", text)


@pytest.fixture(scope="module")
def store_root(tmp_path_factory) -> Path:
    return export_cases.new_store(tmp_path_factory, "conll")


@pytest.fixture(scope="module")
def exported(store_root) -> dict[str, tuple[bytes, list[dict]] | None]:
    """case -> (the CoNLL bytes, the native records of the same case), or None when strict alignment fails."""
    with export_cases.read_only(store_root) as ws:
        out = {}
        for name, options in export_cases.cases(export_cases.case_documents(ws)):
            if options["fmt"] != "jsonl":
                continue
            name = name.removeprefix("jsonl-")
            options = {k: v for k, v in options.items() if k != "fmt"}
            try:
                data = export(ws, "conll", **options).to_bytes()
            except ExportError:
                out[name] = None
                continue
            assert data == export(ws, "conll", **options).to_bytes(), "the same store gives the same bytes"
            native = export(ws, "jsonl", **options).to_bytes()
            out[name] = (data, [json.loads(line) for line in native.splitlines()])
        return out


def expected_documents(records: list[dict]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Per CoNLL document (one annotator's view of a document): its characters but whitespace, and the
    (label, characters) of the entities the overlap rule keeps, read from the native records."""
    groups: list[tuple[tuple, list[dict]]] = []
    for record in records:
        key = (record["meta"].get("doc_id", record["id"]), record["meta"]["annotator"])
        if not groups or groups[-1][0] != key:
            groups.append((key, []))
        groups[-1][1].append(record)
    out = []
    for _, group in groups:
        chars = "".join(nonspace(r["text"]) for r in group)
        ents = []
        for r in group:
            spans = [Span(s["start"], s["end"], s["label"], s["status"], 0) for s in r["spans"]
                     if s["status"] != "rejected"]
            ents += [(s.label, nonspace(r["text"][s.start:s.end])) for s in without_overlaps(spans)[0]]
        if chars:
            out.append((chars, ents))
    return out


def tag_lists(data: bytes) -> list[list[str]]:
    """The tag column, one list per sentence."""
    out: list[list[str]] = []
    for block in data.decode().split("\n\n"):
        rows = [line.split("\t") for line in block.splitlines() if line and not line.startswith("-DOCSTART-")]
        if rows:
            out.append([tag for _, tag in rows])
    return out


@pytest.mark.parametrize("name", [name for name, _ in CASES])
def test_spacy_reads_the_tokens_and_entities_the_store_holds(exported, name):
    if exported[name] is None:
        assert name.endswith("-strict")
        return
    data, records = exported[name]
    text = data.decode()
    for line in text.splitlines():
        assert line in ("", "-DOCSTART- -X- O O") or re.fullmatch(r"\S+\t(O|[BI]-\S+)", line), repr(line)
    assert "\n\n\n" not in text
    docs = list(conll_ner_to_docs(text, n_sents=0, no_print=True))
    expected = expected_documents(records)
    assert len(docs) == len(expected) == text.count("-DOCSTART-")
    for doc, (chars, ents) in zip(docs, expected, strict=True):
        assert "".join(t.text for t in doc) == chars, "every token but whitespace, in order"
        assert [(e.label_, nonspace(e.text)) for e in doc.ents] == ents


@pytest.mark.parametrize("name", [name for name, _ in CASES if name.endswith("-expand")])
def test_seqeval_reads_strict_iob2(exported, name):
    data, records = exported[name]
    tags = tag_lists(data)
    strict = [(e.tag, e.start, e.end) for sentence in Entities(tags, IOB2).entities for e in sentence]
    per_sentence = [[(label, start, end + 1) for label, start, end in get_entities(sentence)] for sentence in tags]
    assert strict == [e for sentence in per_sentence for e in sentence], "every I- tag continues a B- tag"
    assert len(strict) == sum(len(ents) for _, ents in expected_documents(records))
    if strict:
        report = classification_report(tags, tags, mode="strict", scheme=IOB2, output_dict=True)
        assert report["micro avg"]["f1-score"] == 1.0


def test_spacy_convert_command_reads_the_file(exported, tmp_path):
    data, records = exported["document-all-expand"]
    source = tmp_path / "train.conll"
    source.write_bytes(data)
    subprocess.run([sys.executable, "-m", "spacy", "convert", "-c", "ner", "-n", "0", str(source), str(tmp_path)],
                   check=True, capture_output=True)
    docs = list(DocBin().from_disk(tmp_path / "train.spacy").get_docs(spacy.blank("xx").vocab))
    expected = expected_documents(records)
    assert [(nonspace(d.text), [(e.label_, nonspace(e.text)) for e in d.ents]) for d in docs] == expected


def test_the_command_line_writes_the_same_file(exported, store_root, tmp_path, capsys):
    out = tmp_path / "alice.conll"
    common = ["--store", str(store_root), "--model", export_cases.MODEL, "--annotator", "alice"]
    assert cli.run(["export", "--format", "conll", "--unit", "document", "--align", "expand", "--output", str(out),
                    "--unreviewed", "include", *common]) == 0
    assert out.read_bytes() == exported["document-annotator-alice-expand"][0]
    err = capsys.readouterr().err
    tags = {line.split("\t")[1][2:] for line in out.read_text(encoding="utf-8").splitlines()
            if "\t" in line and line.split("\t")[1] != "O"}
    assert "exported" in err and f"; entity labels: {', '.join(sorted(tags))}" in err, "the tag set for ClassLabel"
    assert cli.run(["export", "--format", "hf", "--align", "expand", "--unreviewed", "include", *common]) == 0
    assert capsys.readouterr().out.encode() == hf_of_alice(store_root)


def hf_of_alice(root: Path) -> bytes:
    with export_cases.read_only(root) as ws:
        return export(ws, "hf", annotator="alice", align="expand", unreviewed="include").to_bytes()


def test_a_sentence_break_inside_an_entity_is_not_written(exported):
    """alice's span in D2 crosses a sentence: with --unit document its two sentences are one CoNLL sentence."""
    data, _ = exported["document-annotator-alice-expand"]
    sentences = data.decode().split("\n\n")
    [crossing] = [s for s in sentences if "Les\tI-MISC" in s]
    assert "État\tB-MISC\n.\tI-MISC\nLes\tI-MISC\ndeux\tO" in crossing
    assert not any(s.startswith("I-") for sentence in tag_lists(data) for s in sentence[:1])


SPANS = st.lists(st.tuples(st.integers(0, 30), st.integers(1, 8), st.sampled_from(["predicted", "accepted", "added"])),
                 max_size=12)


@settings(max_examples=300, deadline=None)
@given(SPANS)
def test_the_overlap_rule_keeps_no_overlap_and_leaves_out_only_what_a_better_span_covers(spans):
    """The one rule (DocBin, Prodigy, doccano, BIO): a span is left out only for an overlapping kept span that
    ranks before it (the analyst's before the model's, then the longer, then the earlier)."""
    spans = [Span(start, start + length, "X", status, 0) for start, length, status in spans]
    kept, left_out = without_overlaps(spans)
    assert left_out == len(spans) - len(kept)
    assert all(a.end <= b.start for a, b in itertools.pairwise(kept))

    def rank(s):
        return (s.status == "predicted", s.start - s.end, s.start)

    for span in spans:
        if not any(k is span for k in kept):
            assert any(k.start < span.end and span.start < k.end and rank(k) <= rank(span) for k in kept)


def test_the_overlap_rule_prefers_reviewed_then_longest_then_earliest():
    model_long = Span(0, 10, "ORG", "predicted", 0)
    analyst = Span(5, 7, "PER", "added", 0)
    first, second, longer = Span(12, 15, "LOC", "predicted", 0), Span(14, 17, "LOC", "predicted", 0), \
        Span(20, 24, "LOC", "accepted", 0)
    shorter = Span(22, 25, "LOC", "relabelled", 0)
    kept, left_out = without_overlaps([model_long, analyst, second, first, shorter, longer])
    assert kept == [analyst, first, Span(20, 24, "LOC", "accepted", 0)]
    assert left_out == 3


def test_a_label_with_a_space_whitespace_and_overlaps_in_one_document():
    """Built by hand: the analysis' tokens leave whitespace out, an entity label may hold a space (a valid name),
    a sentence may have no token, and overlapping spans keep the analyst's one."""
    from reader.annotations import AnnotatorWork
    from reader.documents import make_document
    from reader.export.conll import write
    from reader.export.tokens import Tokens
    from reader.export.units import Unit, View

    text = "Le Conseil\u00a0de Paris.\n\nIl vote."
    doc = make_document(text)
    text = doc.text
    pairs = [(m.start(), m.end()) for m in re.finditer(r"[^\W]+|[.]", text)]
    sentences = [(0, text.index(".") + 1), (text.index("Il"), len(text))]
    conseil = text.index("Conseil")
    spans = [Span(conseil, text.index("Paris") + 5, "NOM PROPRE", "added", 0),
             Span(text.index("Paris"), text.index("Paris") + 5, "LOC", "predicted", 0)]
    v = View(doc, "m", Tokens.from_pairs(text, pairs), sentences, "alice", spans, AnnotatorWork({}, sentences), {})
    data = write([Unit(v, None, 0, len(text), spans), Unit(v, 1, *sentences[1], [])], [])
    assert data.decode() == ("-DOCSTART- -X- O O\n\nLe\tO\nConseil\tB-NOM_PROPRE\nde\tI-NOM_PROPRE\n"
                             "Paris\tI-NOM_PROPRE\n.\tO\n\nIl\tO\nvote\tO\n.\tO\n\n"
                             "Il\tO\nvote\tO\n.\tO\n\n")
    [parsed] = conll_ner_to_docs(data.decode(), n_sents=0, no_print=True)
    assert [(e.label_, e.text) for e in parsed.ents] == [("NOM_PROPRE", "Conseil de Paris")]
