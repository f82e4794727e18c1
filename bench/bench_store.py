"""How much one durable tag write costs as a document's annotations grow (run: python bench/bench_store.py).

A keystroke in the TUI becomes one `Store.write()`; it must stay far below a frame (16 ms) even in a
document with 10,000 annotations. Compared with a bare durable write of a tiny file (the floor set by the
disk) and with stock TinyDB JSONStorage (re-reads and re-dumps the whole file, and never fsyncs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reader.store import Store, atomic_write

SIZES = (100, 1_000, 10_000)
ANNOTATOR = "alice"


def tag(i: int, label: str = "ECONOMIE") -> dict:
    """A realistic sentence tag record (about 150 bytes on disk)."""
    return {"id": f"tag:{i}", "kind": "tag", "sentence": i, "labels": [label, "POLITIQUE"],
            "annotator": ANNOTATOR, "created": "2026-05-09T12:03:04+00:00"}


def summary(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


GAP = 0.0
"""Seconds between two measured writes (--gap-ms): a typist leaves the disk idle between keystrokes."""


def pause() -> None:
    if GAP:
        time.sleep(GAP)


def bench_baseline(folder: Path, repeat: int, *, durable: bool = True) -> tuple[float, float]:
    """write + fsync + rename + folder fsync of a 20-byte file: what any durable write costs here."""
    path = folder / f"tiny-{durable}.json"
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        atomic_write(path, b'{"x": 1}\n' * 2, durable=durable)
        times.append((time.perf_counter() - start) * 1000)
        pause()
    return summary(times)


def make_store(folder: Path, others: int = 50) -> Store:
    store = Store(folder / "store")
    for d in range(others):
        doc_id = f"{d:012x}"
        store.add_document({"id": doc_id, "text": f"Document {d}. " * 50, "meta": {"source": f"d{d}.txt"}})
        store.write(doc_id, ANNOTATOR, upsert=[tag(i) for i in range(20)])
    return store


def bench_store(store: Store, size: int, repeat: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """(ours, bare): each store write is followed by a bare durable write of the same bytes, so that both
    see the same disk and the same load from other processes."""
    doc_id = f"b{size:011d}"
    store.add_document({"id": doc_id, "text": "x", "meta": {"source": f"bench{size}.txt"}})
    store.write(doc_id, ANNOTATOR, upsert=[tag(i) for i in range(size)])
    data = store.annotation_path(doc_id, ANNOTATOR).read_bytes()
    bare_path = store.root.parent / f"bare-{size}.json"
    times, bare = [], []
    for n in range(repeat):
        record = tag((n * 7919) % size, label=f"L{n}")  # change one existing tag, spread over the file
        start = time.perf_counter()
        store.write(doc_id, ANNOTATOR, upsert=[record])
        times.append((time.perf_counter() - start) * 1000)
        pause()
        start = time.perf_counter()
        atomic_write(bare_path, data)
        bare.append((time.perf_counter() - start) * 1000)
        pause()
    return summary(times), summary(bare)


def bench_tinydb(folder: Path, size: int, repeat: int) -> tuple[float, float]:
    from tinydb import TinyDB
    from tinydb.table import Document

    db = TinyDB(folder / f"stock-{size}.json")
    table = db.table("_default")
    table.insert_multiple(Document(tag(i), doc_id=i + 1) for i in range(size))
    times = []
    for n in range(repeat):
        i = (n * 7919) % size
        start = time.perf_counter()
        table.upsert(Document(tag(i, label=f"L{n}"), doc_id=i + 1))
        times.append((time.perf_counter() - start) * 1000)
        pause()
    db.close()
    return summary(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=200, help="writes per size (default 200)")
    parser.add_argument("--dir", type=Path, default=None,
                        help="folder on the disk to measure (default: a temporary folder under the current one)")
    parser.add_argument("--gap-ms", type=float, default=0.0, help="pause between two writes (default 0)")
    args = parser.parse_args(argv)
    global GAP
    GAP = args.gap_ms / 1000
    with tempfile.TemporaryDirectory(prefix=".bench-store-", dir=args.dir or Path.cwd()) as tmp:
        folder = Path(tmp)
        base = bench_baseline(folder, args.repeat)
        nosync = bench_baseline(folder, args.repeat, durable=False)
        store = make_store(folder)
        results = {size: bench_store(store, size, args.repeat) for size in SIZES}
        ours = {size: r[0] for size, r in results.items()}
        bare = {size: r[1] for size, r in results.items()}
        files = {size: store.annotation_path(f"b{size:011d}", ANNOTATOR) for size in SIZES}
        store.close()
        stock = {size: bench_tinydb(folder, size, max(20, args.repeat // 4 if size >= 10_000 else args.repeat))
                 for size in SIZES}
        file_sizes = {size: files[size].stat().st_size for size in SIZES}
    print(f"disk floor: durable write of a tiny file {base[0]:.3f} ms median, {base[1]:.3f} ms p95 "
          f"(the same without fsync: {nosync[0]:.3f} / {nosync[1]:.3f} ms; fsync costs "
          f"~{base[0] - nosync[0]:.3f} ms)")
    print(f"one durable tag write (Store.write, upsert 1 record), store with 50 other documents, "
          f"{args.repeat} writes per size, {args.gap_ms:g} ms between writes")
    header = (f"{'annotations':>11} {'file KB':>8} {'median ms':>10} {'p95 ms':>8} {'x100 (p50)':>10} "
              f"{'x floor':>8} | {'bare same bytes':>15} | {'stock TinyDB p50':>16} {'p95':>8}")
    print(header)
    print("-" * len(header))
    for size in SIZES:
        med, p95 = ours[size]
        smed, sp95 = stock[size]
        print(f"{size:>11,} {file_sizes[size] / 1024:>8.0f} {med:>10.3f} {p95:>8.3f} {med / ours[SIZES[0]][0]:>10.2f} "
              f"{med / base[0]:>8.2f} | {bare[size][0]:>15.3f} | {smed:>16.3f} {sp95:>8.3f}")
    print("x100: ratio to the 100-annotation median; x floor: ratio to the tiny durable write; bare same bytes: "
          "median of a durable write of the same file content, interleaved (the disk's share)")
    print("stock TinyDB: JSONStorage, upsert by doc_id, no fsync (not durable), whole file parsed and dumped")


if __name__ == "__main__":
    main()
