"""Import throughput alone: `Workspace.analyse_many` against a bare `nlp.pipe`, as in bench_export.py.

Run: python bench/bench_import.py [--docs 150] [--repeat 3] [--profile]

The texts are the first `--docs` synthetic articles of bench_export.py (same seed), so the ratio is the one
bench_export.py prints, without building its 1,000-document export store first. Rounds alternate raw and
Workspace runs; the best of each is kept (shared CPUs make single runs noisy), in wall-clock and CPU time.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_export import MODEL, article

from reader.documents import make_document
from reader.store import Store
from reader.workspace import Workspace


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--model", default=MODEL)
    parser.add_argument("--profile", action="store_true", help="cProfile one Workspace.analyse_many run")
    args = parser.parse_args(argv)
    rng = random.Random(7)
    texts = [article(rng, rng.randint(22, 30)) for _ in range(args.docs)]
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        store = Store(Path(tmp))
        ws = Workspace(store, model=args.model)
        docs = [make_document(t, {"source": f"import:{i}"}) for i, t in enumerate(texts)]
        ws.add_documents(docs)
        nlp = ws.pipeline(docs[0])
        list(nlp.pipe(texts[:8]))  # warm up
        words = sum(len(t.split()) for t in texts)

        def uncache() -> None:
            for doc in docs:
                for path in (store.root / "analyses" / doc.id).glob("*.json"):
                    path.unlink()

        def timed(fn) -> tuple[float, float]:
            gc.collect()
            start, cpu = time.perf_counter(), time.process_time()
            fn()
            return time.perf_counter() - start, time.process_time() - cpu

        if args.profile:
            import cProfile
            import pstats

            uncache()
            profiler = cProfile.Profile()
            profiler.runcall(ws.analyse_many, docs, batch_size=32)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        raw_times, ws_times = [], []
        for _ in range(args.repeat):
            raw_times.append(timed(lambda: list(nlp.pipe(texts, batch_size=32))))
            uncache()
            ws_times.append(timed(lambda: ws.analyse_many(docs, batch_size=32)))
        raw, mine = min(t for t, _ in raw_times), min(t for t, _ in ws_times)
        raw_cpu, mine_cpu = min(c for _, c in raw_times), min(c for _, c in ws_times)
        print(f"{len(texts)} texts, {words:,} words, {args.model} ({', '.join(nlp.pipe_names)})")
        print(f"  nlp.pipe               {words / raw:>9,.0f} words/s  ({raw:.3f} s, CPU {raw_cpu:.3f} s)")
        print(f"  Workspace.analyse_many {words / mine:>9,.0f} words/s  ({mine:.3f} s, CPU {mine_cpu:.3f} s)  "
              f"= {raw / mine:.3f}x nlp.pipe (CPU time: {raw_cpu / mine_cpu:.3f}x)")
        store.close()


if __name__ == "__main__":
    main()
