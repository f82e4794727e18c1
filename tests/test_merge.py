"""`reader merge` and the adjudication API: exact gold for each rule, gold decisions survive a second merge, a
review decision is one undoable step, and gold exports through every format.

The store is tests/test_agreement.py's (see its docstring for who did what). By hand, per rule, D1:

    item     alice / bob / carol              unanimous      majority (2 of 3)          N = 1
    s0       event / event / event            event          event                      event
    s1       claim,quote / claim / quote      conflict       claim (a,b), quote (a,c)   claim, quote
    s2       - / - / figure                   conflict       agreed: no label           figure (c)
    s3       quote / quote / -                conflict       quote (a,b)                quote
    M        rejected / rejected / model's    conflict       reject (a,b)               conflict (2 versions)
    S        ORG / MISC / PER                 conflict       conflict                   conflict (3 versions)
    Pa       accepted by all                  agreed         agreed (the model's)       agreed
    O        model's / model's / l’OTAN       conflict       agreed (the model's)       conflict
    BCE      ORG / ORG / MISC (all added)     conflict       add ORG (a,b)              conflict
    budget   - / - / added MISC               conflict       agreed (no entity)         conflict

A version equal to the model's writes nothing (merge writes decisions that differ from the model: reject,
relabel, add). D2 (alice alone, event on s0): unanimous and majority take it (1 of 1), N = 2 cannot.
"""

from __future__ import annotations

import json
import re

import pytest
from test_agreement import BCE, BUDGET, LOTAN, OT, M, S, build_store, cli

from reader.adjudication import (
    document_items,
    gold_session,
    merge,
    parse_rule,
    resolve,
    take,
    take_none,
    take_version,
)
from reader.workspace import Workspace


@pytest.fixture
def store(tmp_path):
    root = tmp_path / "store"
    root.mkdir()
    return (root, *build_store(root))


def gold(root, doc_id: str) -> set[tuple]:
    """Gold's records as (kind, start, end, label, status, from)."""
    ws = Workspace.open(root, read_only=True)
    records = ws.records(doc_id, "gold")
    ws.close()
    return {(r["kind"], r["start"], r["end"], r.get("label", ""), r.get("status", ""), tuple(r.get("from", ())))
            for r in records.values()}


def sentences(root, doc_id: str) -> list[tuple[int, int]]:
    ws = Workspace.open(root, read_only=True)
    return list(ws.cached_analysis(ws.document(doc_id), any_pipeline=True).sentences)


def merge_lines(output: str) -> dict[str, list[int]]:
    """doc id (or `total`) -> [agreed, conflicts, kept, written]."""
    found = {}
    for line in output.splitlines():
        if line.startswith("total:"):
            found["total"] = [int(x) for x in re.findall(r"(\d+) (?:agreed|conflicts|already|records)", line)]
        elif m := re.match(r"(\w{12})  agreed +(\d+)  conflicts +(\d+)  kept +(\d+)  written +(\d+)", line):
            found[m[1]] = [int(x) for x in m.groups()[1:]]
    return found


def test_majority_merge_writes_exactly_what_two_of_three_agree_on(store):
    root, d1, d2 = store
    s = sentences(root, d1)
    result = cli(root, "merge", "--into", "gold", "--rule", "majority")
    lines = merge_lines(result.stdout)
    assert lines[d1] == [9, 1, 0, 6]
    assert lines[d2] == [1, 0, 0, 1]
    assert lines["total"] == [10, 1, 0, 7]
    assert gold(root, d1) == {
        ("tag", *s[0], "event", "", ("alice", "bob", "carol")),
        ("tag", *s[1], "claim", "", ("alice", "bob")),
        ("tag", *s[1], "quote", "", ("alice", "carol")),
        ("tag", *s[3], "quote", "", ("alice", "bob")),
        ("entity", *M[:2], "PER", "rejected", ("alice", "bob")),
        ("entity", *BCE[:2], "ORG", "added", ("alice", "bob")),
    }
    assert gold(root, d2) == {("tag", *sentences(root, d2)[0], "event", "", ("alice",))}


def test_unanimous_and_n_rules(store):
    root, d1, d2 = store
    s = sentences(root, d1)
    lines = merge_lines(cli(root, "merge", "--into", "gold", "--rule", "unanimous").stdout)
    assert lines[d1] == [2, 8, 0, 1]
    assert gold(root, d1) == {("tag", *s[0], "event", "", ("alice", "bob", "carol"))}
    assert gold(root, d2) == {("tag", *sentences(root, d2)[0], "event", "", ("alice",))}

    ws = Workspace.open(root)
    results = {r.doc_id: r for r in merge(ws, 1, into="gold1")}
    assert (results[d1].agreed, results[d1].conflicts, results[d1].written) == (5, 5, 5)
    labels = {(r["start"], r["label"]): r["from"] for r in ws.records(d1, "gold1").values()}
    assert labels == {(s[0][0], "event"): ["alice", "bob", "carol"], (s[1][0], "claim"): ["alice", "bob"],
                      (s[1][0], "quote"): ["alice", "carol"], (s[2][0], "figure"): ["carol"],
                      (s[3][0], "quote"): ["alice", "bob"]}
    results = {r.doc_id: r for r in merge(ws, 2, ["alice", "bob"], into="gold2")}
    # alice and bob alone: items s0 s1 s3 M S Pa BCE (s2, O, budget are carol's only); they differ on s1's
    # quote and S's label
    assert (results[d1].agreed, results[d1].conflicts) == (5, 2)
    assert (results[d2].agreed, results[d2].conflicts, results[d2].written) == (0, 1, 0)  # alice alone < 2
    ws.close()


def test_a_second_merge_changes_nothing_and_gold_decisions_survive_it(store):
    root, d1, _ = store
    s = sentences(root, d1)
    cli(root, "merge", "--rule", "majority")
    ws = Workspace.open(root)
    items = document_items(ws, d1)
    by_start = {(i.kind, i.start): i for i in items.items()}
    session = gold_session(ws, d1)
    # a reviewer: quote only on s1, no label on s3, bob's version of S, carol's boundary for O
    take_version(session, by_start["sentence", s[1][0]], {"quote"}, ["carol"])
    take_none(session, by_start["sentence", s[3][0]])
    take(session, by_start["entity", S[0]], "bob")
    take(session, by_start["entity", LOTAN[0]], "carol")
    ws.close()
    before = gold(root, d1)
    files = {p: p.read_bytes() for p in (root / "annotations").rglob("gold.json")}
    lines = merge_lines(cli(root, "merge", "--rule", "majority").stdout)
    assert lines[d1] == [3, 0, 7, 0]  # agreed: s2, Pa, budget; kept: s0, s1, s3, M, S, O, BCE
    assert gold(root, d1) == before
    assert {p: p.read_bytes() for p in files} == files, "a second merge writes nothing"
    assert ("tag", *s[3], "quote", "", ("alice", "bob")) not in before
    assert ("entity", *S[:2], "MISC", "relabelled", ("bob",)) in before
    assert ("entity", *LOTAN[:2], "ORG", "added", ("carol",)) in before
    assert ("entity", *OT[:2], "ORG", "rejected", ("carol",)) in before
    assert ("review", *s[3], "", "", ()) in before


def test_a_review_decision_is_one_undoable_step_and_keeps_versions(store):
    root, d1, _ = store
    ws = Workspace.open(root)
    items = document_items(ws, d1)
    item = next(i for i in items.items() if i.kind == "entity" and i.start == S[0])
    assert not item.agreed and resolve(item, "majority").spans is None
    assert [names for _, names in item.groups()] == [("alice",), ("bob",), ("carol",)]
    assert item.versions["alice"].relabelled == ((S[0], S[1], "PER", "ORG"),)
    session = gold_session(ws, d1)
    change = take(session, item, "alice")
    assert change is not None and take(session, item, "alice") is None  # the same again writes nothing
    record = ws.records(d1, "gold")[f"ent-{S[0]}-{S[1]}"]
    assert (record["label"], record["status"], record["from"]) == ("ORG", "relabelled", ["alice"])
    assert record["versions"] == [
        {"annotators": ["alice"], "spans": [{"start": S[0], "end": S[1], "label": "ORG"}]},
        {"annotators": ["bob"], "spans": [{"start": S[0], "end": S[1], "label": "MISC"}]},
        {"annotators": ["carol"], "spans": [{"start": S[0], "end": S[1], "label": "PER"}]},
    ]
    assert document_items(ws, d1).conflicts("majority") != items.conflicts("majority")
    session.undo()
    assert ws.records(d1, "gold") == {}
    session.redo()
    assert f"ent-{S[0]}-{S[1]}" in ws.records(d1, "gold")
    # take none of carol's lone addition: a rejected gold decision keeps it out of later merges
    budget = next(i for i in items.items() if i.kind == "entity" and i.start == BUDGET[0])
    take_none(session, budget)
    assert ws.records(d1, "gold")[f"ent-{BUDGET[0]}-{BUDGET[1]}"]["status"] == "rejected"
    ws.close()


def test_rules_and_bad_input():
    assert parse_rule("majority") == "majority" and parse_rule("3") == 3
    for bad in ("0", "most", "-1", "٣"):
        with pytest.raises(Exception, match="rule"):
            parse_rule(bad)


def test_merge_cli_errors(store):
    root, _, _ = store
    from typer.testing import CliRunner

    from reader.cli import app

    result = CliRunner().invoke(app, ["--store", str(root), "merge", "--rule", "most"])
    assert result.exit_code == 2 and "error: unknown rule 'most'" in result.output
    result = CliRunner().invoke(app, ["--store", str(root), "merge", "--only", "gold"])
    assert result.exit_code == 2 and "cannot be merged into itself" in result.output


@pytest.mark.parametrize("fmt,unit", [("jsonl", "document"), ("jsonl", "sentence"), ("prodigy", "sentence"),
                                      ("doccano", "sentence"), ("spacy", "sentence"), ("spacy", "document")])
def test_gold_exports_through_every_format(store, fmt, unit, tmp_path):
    root, _, _ = store
    cli(root, "merge", "--rule", "majority")
    out = tmp_path / f"gold.{fmt}"
    whole = ["--unreviewed", "include"] if unit == "document" else []  # gold is not marked done
    cli(root, "export", "--annotator", "gold", "--format", fmt, "--unit", unit, "--output", str(out),
        "--annotated-only", *whole)
    if fmt == "spacy":
        import spacy
        from spacy.tokens import DocBin

        docs = list(DocBin().from_disk(out).get_docs(spacy.blank("fr").vocab))
        ents = {(d.text[e.start_char:e.end_char], e.label_) for d in docs for e in d.ents}
        assert ("BCE", "ORG") in ents and ("Emmanuel Macron", "PER") not in ents
        assert any(d.cats.get("claim") == 1.0 for d in docs)
        return
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    if fmt == "jsonl" and unit == "document":
        assert [r["meta"]["annotator"] for r in records] == ["gold", "gold"]
        spans = {(s["text"], s["label"], s["status"]) for r in records for s in r["spans"]}
        assert ("Emmanuel Macron", "PER", "rejected") in spans and ("BCE", "ORG", "added") in spans
    elif fmt == "jsonl":
        assert {r["meta"]["annotator"] for r in records} == {"gold"}
        assert any(r["cats"]["quote"] == 1.0 for r in records)
    elif fmt == "prodigy":
        assert {r["_annotator_id"] for r in records} == {"gold"}
        assert ["claim", "quote"] in [sorted(r["accept"]) for r in records]
    else:
        labels = [[[r["text"][s:e], label] for s, e, label in r["label"]] for r in records]
        assert [["Christine Lagarde", "PER"], ["BCE", "ORG"]] in labels
        assert not any(x[0] == "Emmanuel Macron" for r in labels for x in r)


def test_native_gold_carries_versions_and_round_trips(store, tmp_path):
    """Gold's native records keep `from` and `versions` per span and per sentence; importing them into an
    empty store gives the same gold (times aside) and the same bytes again; nobody else's records change."""
    from reader.export import export, import_native, read_native, write_export
    from reader.store import Store

    root, d1, _ = store
    others = tmp_path / "others.jsonl"
    cli(root, "export", "--output", str(others))
    cli(root, "merge", "--rule", "majority")
    ws = Workspace.open(root)
    items = document_items(ws, d1)
    s3 = next(i for i in items.sentence_items if i.index == 3)
    take_none(gold_session(ws, d1), s3)
    ws.close()
    first = tmp_path / "gold.jsonl"
    cli(root, "export", "--annotator", "gold", "--output", str(first))
    again = tmp_path / "others-again.jsonl"
    cli(root, "export", "--output", str(again))
    lines = again.read_bytes().splitlines()
    assert [x for x in lines if b'"annotator":"gold"' not in x] == others.read_bytes().splitlines()
    record = next(r for r in read_native(first) if r["id"] == d1)
    macron = next(x for x in record["spans"] if x["start"] == M[0])
    assert list(macron) == ["start", "end", "label", "text", "status", "from", "versions"]
    assert macron["from"] == ["alice", "bob"]
    assert macron["versions"] == [{"annotators": ["alice", "bob"], "spans": []},
                                  {"annotators": ["carol"], "spans": [{"start": M[0], "end": M[1], "label": "PER"}]}]
    s1 = record["sentences"][1]
    assert s1["from"] == {"claim": ["alice", "bob"], "quote": ["alice", "carol"]}
    assert s1["versions"] == [{"annotators": ["alice"], "labels": ["claim", "quote"]},
                              {"annotators": ["bob"], "labels": ["claim"]},
                              {"annotators": ["carol"], "labels": ["quote"]}]
    assert record["sentences"][3]["labels"] == [] and len(record["sentences"][3]["versions"]) == 2
    bruxelles = next(x for x in record["spans"] if x["text"] == "Bruxelles")  # the model's, undecided
    assert "versions" not in record["sentences"][2] and list(bruxelles) == ["start", "end", "label", "text", "status"]

    empty = tmp_path / "empty"
    empty.mkdir()
    ws = Workspace(Store(empty))
    ws.add_document(Workspace.open(root, read_only=True).document(d1))
    source = Workspace.open(root, read_only=True)
    for doc_id in (d1,):
        doc = source.document(doc_id)
        ws.store.cache_analysis(doc_id, ws.cache_key(doc), source.store.cached_analysis(doc_id, source.cache_key(doc)))
    import_native(ws, [r for r in read_native(first) if r["id"] == d1])

    def timeless(records: dict) -> dict:
        return {k: {f: v for f, v in r.items() if f not in ("created", "updated")} for k, r in records.items()}

    assert timeless(ws.records(d1, "gold")) == timeless(source.records(d1, "gold"))
    result = export(ws, "jsonl", annotator="gold")
    out = tmp_path / "gold-again.jsonl"
    write_export(result, out)
    assert out.read_bytes().splitlines()[0] in first.read_bytes().splitlines()
    ws.close()
    source.close()


def test_merge_one_document(store):
    root, d1, d2 = store
    lines = merge_lines(cli(root, "merge", "--doc", d2[:5], "--rule", "unanimous").stdout)
    assert set(lines) == {d2, "total"} and lines["total"] == [1, 0, 0, 1]
    assert gold(root, d1) == set()
