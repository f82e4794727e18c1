"""How fast `reader agree` and `reader merge` are on 1,000 documents x 3 annotators, next to reading the same
records.

Run: python bench/bench_agree.py  (--docs to change the size)

The store is synthetic, as in bench_export.py (analyses written straight into the cache, no model): 22-30
sentences per document with their model entities; three annotators who share a base annotation (a quarter of the
sentences tagged, a third of the entities decided) and each depart from it (drop a tag 15% of the time, add
one 5%, another decision on 10% of the entities, an added span now and then), so both agreement and conflicts
are plentiful. The floor is what both commands cannot avoid: opening the store read-only and reading every
annotator's records and every document's analysis through `Workspace`. Goal: seconds, not minutes.

`merge` opens the store for writing, and a writable store prepares each file it reads for a fast rewrite
(about a third of a second merge's time); the first merge also makes one durable write per document.
"""

from __future__ import annotations

import argparse
import gc
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_export import MODEL, article, synthetic_analysis

from reader.adjudication import merge
from reader.agreement import agreement
from reader.analysis import cache_key
from reader.annotations import Annotation, entity_id, quote_at, tag_id
from reader.documents import make_document
from reader.labels import load_labels
from reader.store import Store
from reader.workspace import Workspace

ANNOTATORS = ("alice", "bob", "carol")


def build(root: Path, n_docs: int, seed: int = 11) -> int:
    """The store; returns the number of annotation records written."""
    rng = random.Random(seed)
    labels = load_labels().names
    store = Store(root)
    ws = Workspace(store, model=MODEL)
    docs = [make_document(article(rng, rng.randint(22, 30)), {"source": f"agree.jsonl:{i + 1}"})
            for i in range(n_docs)]
    ws.add_documents(docs)
    key = cache_key(MODEL, "fr")
    written = 0
    stamp = "2026-05-01T09:00:00Z"
    for doc in docs:
        analysis, tokens = synthetic_analysis(doc.text)
        store.cache_analysis(doc.id, key, analysis)
        sentences, entities = analysis["sentences"], analysis["entities"]
        base_tags = {(i, rng.choice(labels)) for i in range(len(sentences)) if rng.random() < 0.25}
        base_decisions = {}
        for s, e, label in entities:
            if rng.random() < 0.33:
                base_decisions[s, e] = rng.choice([("accepted", label), ("rejected", label), ("relabelled", "MISC")])
        for name in ANNOTATORS:
            tags = {t for t in sorted(base_tags) if rng.random() > 0.15}
            tags |= {(i, rng.choice(labels)) for i in range(len(sentences)) if rng.random() < 0.05}
            decisions = dict(base_decisions)
            for s, e, label in entities:
                if rng.random() < 0.10:
                    decisions[s, e] = rng.choice([("accepted", label), ("rejected", label), ("relabelled", "ORG")])
            records = []
            for i, label in sorted(tags):
                s, e = sentences[i]
                records.append(Annotation(tag_id(s, e, label), "tag", s, e, name, stamp, stamp,
                                          quote_at(doc.text, s, e), label=label).to_record())
            model = {(s, e): label for s, e, label in entities}
            for (s, e), (status, label) in sorted(decisions.items()):
                records.append(Annotation(entity_id(s, e), "entity", s, e, name, stamp, stamp,
                                          quote_at(doc.text, s, e), label=label, status=status,
                                          predicted=model[s, e]).to_record())
            if rng.random() < 0.3:
                s, e = tokens[rng.randrange(len(tokens))]
                if (s, e) not in model:
                    records.append(Annotation(entity_id(s, e), "entity", s, e, name, stamp, stamp,
                                              quote_at(doc.text, s, e), label="MISC", status="added").to_record())
            store.write(doc.id, name, upsert=records)
            written += len(records)
    store.close()
    return written


def floor(root: Path) -> float:
    """Open the store read-only and read every record and analysis through Workspace."""
    gc.collect()
    start = time.perf_counter()
    ws = Workspace(Store(root, read_only=True), model=MODEL)
    with ws.bulk_reads():  # as agree and merge read
        for doc_id in ws.document_ids():
            ws.analysis_parts(ws.document(doc_id))
            for name in ws.annotators(doc_id):
                ws.records(doc_id, name)
    ws.close()
    return time.perf_counter() - start


def run_agree(root: Path) -> tuple[float, object]:
    gc.collect()
    start = time.perf_counter()
    ws = Workspace(Store(root, read_only=True), model=MODEL)
    result = agreement(ws)
    ws.close()
    return time.perf_counter() - start, result


def run_merge(root: Path) -> tuple[float, list]:
    gc.collect()
    start = time.perf_counter()
    ws = Workspace(Store(root), model=MODEL)
    results = merge(ws, "majority")
    ws.close()
    return time.perf_counter() - start, results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-agree-") as tmp:
        root = Path(tmp) / "store"
        start = time.perf_counter()
        records = build(root, args.docs)
        print(f"store: {args.docs:,} documents x {len(ANNOTATORS)} annotators, {records:,} annotations, built in "
              f"{time.perf_counter() - start:.1f} s")
        base = min(floor(root) for _ in range(args.repeat))
        print(f"floor: open read-only, read every record and analysis through Workspace: {base:.3f} s")
        seconds, result = min((run_agree(root) for _ in range(args.repeat)), key=lambda x: x[0])
        alphas = ", ".join(f"{k} {v.alpha:.2f}" for k, v in result.labels.items() if v.alpha is not None)
        print(f"agree:            {seconds:7.3f} s  {seconds / base:5.2f}x floor  ({result.documents:,} documents, "
              f"{result.sentences:,} sentences; alpha {alphas})")
        firsts, seconds_again = [], []
        for i in range(args.repeat):
            copy = Path(tmp) / f"merge-{i}"
            shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".lock"))
            first, results = run_merge(copy)
            again, _ = run_merge(copy)
            firsts.append(first)
            seconds_again.append(again)
        agreed = sum(r.agreed for r in results)
        conflicts = sum(r.conflicts for r in results)
        written = sum(r.written for r in results)
        first, again = min(firsts), min(seconds_again)
        print(f"merge (majority): {first:7.3f} s  {first / base:5.2f}x floor  ({agreed:,} agreed items, "
              f"{conflicts:,} conflicts, {written:,} gold records written, one durable write per document)")
        print(f"merge again:      {again:7.3f} s  {again / base:5.2f}x floor  (nothing to write)")


if __name__ == "__main__":
    main()
