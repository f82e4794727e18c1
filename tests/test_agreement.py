"""`reader agree`: alpha, kappa and entity figures of three annotators equal hand computations.

The store (built by `build_store`, also used by tests/test_merge.py) has no model: the analysis is written into
the cache, so sentences and the model's entities are exactly the ones below. Tags are set with
`reader tag --annotator` through the CLI runner, alice's and bob's entity decisions through the session (as the
TUI keys do), carol's through a native import.

Document D1, 4 sentences, model entities M = Emmanuel Macron PER, S = Olaf Scholz PER, Pa = Paris LOC,
OT = OTAN ORG, Bx = Bruxelles LOC, L = Christine Lagarde PER:

    sentence   alice           bob      carol
    s0         event           event    event
    s1         claim, quote    claim    quote
    s2         -               -        figure
    s3         quote           quote    -

    entity     alice           bob           carol (native import)
    M          rejected        rejected      -
    S          relabelled ORG  relabelled MISC  -
    Pa         accepted        accepted      accepted
    O          -               -             rejected, added l’OTAN ORG (a boundary conflict)
    BCE        added ORG       added ORG     added MISC
    budget     -               -             added MISC

Document D2: only alice touched it (event on s0): it is not compared (fewer than two annotators).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reader.agreement import agreement, alpha_nominal
from reader.cli import app
from reader.documents import make_document
from reader.export import import_native
from reader.store import Store
from reader.workspace import Workspace

runner = CliRunner()

D1 = ("Emmanuel Macron a reçu Olaf Scholz à Paris. Ils ont parlé de l’OTAN à Bruxelles. Le budget est voté. "
      "Christine Lagarde a défendu la BCE.")
D2 = "Le Conseil municipal de Lyon se réunira jeudi. Grégory Doucet présentera le budget."


def span(text: str, surface: str, label: str, after: int = 0) -> tuple[int, int, str]:
    start = text.index(surface, after)
    return start, start + len(surface), label


def analysis_record(text: str, entities: list[tuple[int, int, str]]) -> dict:
    tokens = [(m.start(), m.end()) for m in re.finditer(r"\w+[’']?|[^\w\s]", text)]
    sentences = [(m.start(), m.end()) for m in re.finditer(r"[^\s][^.]*\.", text)]
    return {"model": "test_model@1.0", "version": 2, "tokens": [x for t in tokens for x in t],
            "sentences": [list(s) for s in sentences], "entities": [list(e) for e in entities], "note": ""}


M, S, PA = span(D1, "Emmanuel Macron", "PER"), span(D1, "Olaf Scholz", "PER"), span(D1, "Paris", "LOC")
OT, BX, L = span(D1, "OTAN", "ORG"), span(D1, "Bruxelles", "LOC"), span(D1, "Christine Lagarde", "PER")
LOTAN = span(D1, "l’OTAN", "ORG")
BCE = span(D1, "BCE", "ORG")
BUDGET = span(D1, "budget", "MISC")


def cli(root: Path, *args: str):
    result = runner.invoke(app, ["--store", str(root), *args])
    assert result.exit_code == 0, result.output
    return result


def build_store(root: Path) -> tuple[str, str]:
    """The store described in the module docstring; returns (D1's id, D2's id)."""
    store = Store(root)
    ws = Workspace(store)
    d1, d2 = make_document(D1, {"source": "d1.txt"}), make_document(D2, {"source": "d2.txt"})
    for doc, entities in ((d1, [M, S, PA, OT, BX, L]), (d2, [span(D2, "Lyon", "LOC")])):
        ws.add_document(doc)
        store.cache_analysis(doc.id, ws.cache_key(doc), analysis_record(doc.text, entities))
    store.close()
    tags = {"alice": [(0, "event"), (1, "claim"), (1, "quote"), (3, "quote")],
            "bob": [(0, "event"), (1, "claim"), (3, "quote")],
            "carol": [(0, "event"), (1, "quote"), (2, "figure")]}
    for name, items in tags.items():
        for sentence, label in items:
            cli(root, "tag", d1.id, str(sentence), label, "--annotator", name)
    cli(root, "tag", d2.id, "0", "event", "--annotator", "alice")
    store = Store(root)
    ws = Workspace(store)
    analysis = ws.cached_analysis(d1, any_pipeline=True)
    for name, relabel in (("alice", "ORG"), ("bob", "MISC")):
        session = ws.session(d1, name)
        session.use_sentences(analysis.sentences)
        by_span = {(e.start, e.end): e for e in session.entities(analysis.entities)}
        session.decide(by_span[M[:2]], "rejected")
        session.decide(by_span[S[:2]], "relabelled", relabel)
        session.decide(by_span[PA[:2]], "accepted")
        session.add_entity(*BCE)
    spans = [{"start": s, "end": e, "label": label, "text": D1[s:e], "status": status}
             for (s, e, label), status in ((PA, "accepted"), (OT, "rejected"), (LOTAN, "added"),
                                           ((*BCE[:2], "MISC"), "added"), (BUDGET, "added"))]
    record = {"id": d1.id, "text": D1, "meta": {"source": "d1.txt", "annotator": "carol"}, "model": "test_model@1.0",
              "spans": spans, "sentences": [{"start": s, "end": e, "labels": []} for s, e in analysis.sentences],
              "notes": []}
    import_native(ws, [record])
    store.close()
    return d1.id, d2.id


@pytest.fixture
def store(tmp_path) -> tuple[Path, str, str]:
    root = tmp_path / "store"
    root.mkdir()
    return (root, *build_store(root))


def test_the_store_is_what_the_docstring_says(store):
    root, d1, _ = store
    ws = Workspace.open(root, read_only=True)
    from reader.adjudication import document_items

    items = document_items(ws, d1)
    assert items.annotators == ["alice", "bob", "carol"]
    assert items.entities("alice") == {(*S[:2], "ORG"), PA, OT, BX, L, BCE}
    assert items.entities("bob") == {(*S[:2], "MISC"), PA, OT, BX, L, BCE}
    assert items.entities("carol") == {M, S, PA, LOTAN, BX, L, (*BCE[:2], "MISC"), BUDGET}
    assert {i.index: i.versions for i in items.sentence_items}[1] == {
        "alice": {"claim", "quote"}, "bob": {"claim"}, "carol": {"quote"}}


# Sentence labels, by hand: 4 sentences x 3 annotators, all touched D1 (D2 has one annotator: left out).
#
# Cohen's kappa = (po - pe) / (1 - pe), pe = pa*pb + (1-pa)(1-pb), over the 4 sentences:
#   label   pair           a        b        po    pa   pb    pe      kappa
#   event   every pair     1000     1000     1     .25  .25   .625    1
#   claim   alice/bob      0100     0100     1     .25  .25   .625    1
#   claim   alice/carol    0100     0000     .75   .25  0     .75     0
#   claim   bob/carol      0100     0000     .75   .25  0     .75     0
#   quote   alice/bob      0101     0001     .75   .5   .25   .5      .5
#   quote   alice/carol    0101     0100     .75   .5   .25   .5      .5
#   quote   bob/carol      0001     0100     .5    .25  .25   .625    -1/3
#   figure  alice/bob      0000     0000     1     0    0     1       undefined
#   figure  alice/carol    0000     0010     .75   0    .25   .75     0
#   figure  bob/carol      same as alice/carol                        0
#
# Krippendorff's alpha, nominal, yes/no: 12 values; y_u = annotators saying yes on sentence u (of 3); each unit
# adds y(3-y) disagreeing pairs (2y(3-y) ordered pairs weighted 1/(m_u - 1) = 1/2), so
#   alpha = 1 - (n - 1) * sum_u y(3-y) / (2 * n_yes * n_no)
#   event   y = 3,0,0,0   sum 0   -> 1
#   claim   y = 0,2,0,0   sum 2   n_yes 2, n_no 10  -> 1 - 11*2/40 = 0.45
#   quote   y = 0,2,0,2   sum 4   n_yes 4, n_no 8   -> 1 - 11*4/64 = 0.3125
#   figure  y = 0,0,1,0   sum 2   n_yes 1, n_no 11  -> 1 - 11*2/22 = 0 (defined: not null)
#   others  nobody used them: undefined (null)
ALPHA = {"event": 1.0, "claim": 0.45, "quote": 0.3125, "figure": 0.0, "assessment": None, "background": None}
KAPPA = {
    "event": {("alice", "bob"): 1.0, ("alice", "carol"): 1.0, ("bob", "carol"): 1.0},
    "claim": {("alice", "bob"): 1.0, ("alice", "carol"): 0.0, ("bob", "carol"): 0.0},
    "quote": {("alice", "bob"): 0.5, ("alice", "carol"): 0.5, ("bob", "carol"): -1 / 3},
    "figure": {("alice", "bob"): None, ("alice", "carol"): 0.0, ("bob", "carol"): 0.0},
}

# Entities, by hand (a the reference; a span without its match on either side is classed):
#   alice = {S ORG, Pa, O, Bx, L, BCE ORG}           6
#   bob   = {S MISC, Pa, O, Bx, L, BCE ORG}          6
#   carol = {M, S PER, Pa, l’OTAN, Bx, L, BCE MISC, budget MISC}   8 (M and S: the model's, never reviewed)
#   alice/bob:   matches Pa O Bx L BCE = 5; P 5/6, R 5/6, F1 10/12; unmatched S ORG, S MISC: label 2
#   alice/carol: matches Pa Bx L = 3; P 3/8, R 3/6, F1 6/14; unmatched alice: S (label), O (boundary with
#                l’OTAN), BCE (label); carol: M (missing), S (label), l’OTAN (boundary), BCE (label),
#                budget (missing): label 4, boundary 2, missing 2
#   bob/carol:   the same shape as alice/carol
# F1 per label over the three pairs, 2m / (x + y) with x, y the spans of the label on the a and b sides:
#   PER  m 1+1+1, x 1+1+1, y 1+3+3 -> 6/10;  LOC  m 2+2+2, x 6, y 6 -> 1
#   ORG  m 2+0+0, x 3+3+2, y 2+1+1 -> 4/12;  MISC m 0, x 0+0+1, y 1+2+2 -> 0 (defined)
ENTITY_PAIRS = [
    {"a": "alice", "b": "bob", "precision": 5 / 6, "recall": 5 / 6, "f1": 5 / 6, "boundary": 0, "label": 2,
     "missing": 0},
    {"a": "alice", "b": "carol", "precision": 3 / 8, "recall": 0.5, "f1": 3 / 7, "boundary": 2, "label": 4,
     "missing": 2},
    {"a": "bob", "b": "carol", "precision": 3 / 8, "recall": 0.5, "f1": 3 / 7, "boundary": 2, "label": 4,
     "missing": 2},
]
ENTITY_F1 = {"LOC": 1.0, "MISC": 0.0, "ORG": 1 / 3, "PER": 0.6}


def approx(value):
    if isinstance(value, dict):
        return {k: approx(v) for k, v in value.items()}
    if isinstance(value, list):
        return [approx(v) for v in value]
    if isinstance(value, float):
        return pytest.approx(value, abs=1e-9)
    return value


def test_agree_json_equals_the_hand_computation(store):
    root, _, _ = store
    result = cli(root, "agree", "--json")
    data = json.loads(result.stdout)
    assert list(data) == ["annotators", "documents", "sentences", "labels", "entities"]
    assert data["annotators"] == ["alice", "bob", "carol"]
    assert (data["documents"], data["sentences"]) == (1, 4)
    for label, alpha in ALPHA.items():
        assert data["labels"][label]["alpha"] == approx(alpha), label
    for label, pairs in KAPPA.items():
        got = {(p["a"], p["b"]): p["kappa"] for p in data["labels"][label]["pairs"]}
        assert got == approx(pairs), label
        assert list(data["labels"][label]["pairs"][0]) == ["a", "b", "kappa"]
    assert data["labels"]["background"]["pairs"][0]["kappa"] is None
    assert data["entities"]["pairs"] == approx(ENTITY_PAIRS)
    assert data["entities"]["labels"] == approx({k: {"f1": v} for k, v in ENTITY_F1.items()})


def test_only_chooses_annotators_and_doc_chooses_documents(store):
    root, _, d2 = store
    data = json.loads(cli(root, "agree", "--json", "--only", "alice", "--only", "bob").stdout)
    assert data["annotators"] == ["alice", "bob"]
    assert [(p["a"], p["b"]) for p in data["entities"]["pairs"]] == [("alice", "bob")]
    assert data["labels"]["quote"]["pairs"][0]["kappa"] == pytest.approx(0.5)
    # alice and bob alone: quote y = 0,1,0,2 of m = 2, 8 values, n_yes 3, n_no 5; a unit adds 2y(m-y)/(m-1):
    # alpha = 1 - (n - 1) * 2 / (2 * 3 * 5) = 1 - 7/15 = 8/15
    assert data["labels"]["quote"]["alpha"] == pytest.approx(8 / 15)
    data = json.loads(cli(root, "agree", "--json", "--doc", d2[:6]).stdout)
    assert (data["documents"], data["sentences"]) == (0, 0)
    assert data["labels"]["event"]["alpha"] is None
    assert all(p["f1"] is None and p["precision"] is None for p in data["entities"]["pairs"])


def test_agree_table_shows_undefined_as_a_dash(store):
    root, _, _ = store
    result = cli(root, "agree")
    lines = result.stdout.splitlines()
    figure = next(line for line in lines if line.startswith("figure"))
    assert figure.split()[1:] == ["0.00", "–", "0.00", "0.00"]
    quote = next(line for line in lines if line.startswith("quote"))
    assert quote.split()[1:] == ["0.31", "0.50", "0.50", "-0.33"]
    background = next(line for line in lines if line.startswith("background"))
    assert background.split()[1:] == ["–"] * 4
    pair = next(line for line in lines if line.startswith("alice / carol"))
    assert pair.split()[3:] == ["0.38", "0.50", "0.43", "2", "4", "2"]


def test_gold_is_left_out_unless_chosen(store):
    root, _, _ = store
    cli(root, "merge", "--into", "gold", "--rule", "majority")
    assert json.loads(cli(root, "agree", "--json").stdout)["annotators"] == ["alice", "bob", "carol"]
    data = json.loads(cli(root, "agree", "--json", "--only", "gold", "--only", "alice").stdout)
    assert data["annotators"] == ["alice", "gold"]


def test_alpha_against_the_package_on_raw_data():
    """`alpha_nominal` takes (no, yes) counts; the same ratings as reliability data give the same alpha."""
    import krippendorff
    import numpy as np

    ratings = [[1, 0, 0, 1, np.nan], [1, 0, 1, 1, 0], [np.nan, 0, 1, 1, 0]]
    rows = []
    for unit in zip(*ratings, strict=True):
        values = [v for v in unit if not np.isnan(v)]
        rows.append((values.count(0), values.count(1)))
    expected = krippendorff.alpha(reliability_data=ratings, level_of_measurement="nominal")
    assert alpha_nominal(rows) == pytest.approx(expected)
    assert alpha_nominal([(3, 0), (2, 0)]) is None  # one value everywhere: undefined, not 0
    assert alpha_nominal([(1, 0)]) is None  # no unit with two ratings


def test_agreement_api_matches_the_cli(store):
    root, _, _ = store
    ws = Workspace.open(root, read_only=True)
    result = agreement(ws)
    assert result.to_json() == json.loads(cli(root, "agree", "--json").stdout)
