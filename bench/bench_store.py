"""How much one durable tag write costs as a document's annotations grow (run: python bench/bench_store.py).

A keystroke in the TUI becomes one `Store.write()`; it must stay far below a frame (16 ms) even in a
document with 10,000 annotations. Compared with a bare durable write of a tiny file (the floor set by the
disk) and with stock TinyDB JSONStorage (re-reads and re-dumps the whole file, and never fsyncs).

Then the codec: decoding a 3.4 MB annotation file and a long document's analysis with json, orjson, msgspec
and the store's own `loads`, and encoding the records with json (what the store writes) and orjson.
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


def annotation(i: int) -> dict:
    """A realistic mix of tags, notes and entity decisions with their quotes (about 430 bytes on disk)."""
    record = {"id": f"tag-{i:012x}", "kind": ("tag", "note", "entity")[i % 3], "start": i * 40, "end": i * 40 + 37,
              "annotator": ANNOTATOR, "created": "2026-05-09T12:03:04Z", "updated": "2026-05-09T12:03:04Z",
              "quote": {"exact": "le président russe Vladimir Poutine a rencontré",
                        "prefix": "Mercredi, le dirigeant nord-coréen ", "suffix": " au cosmodrome de Vostochny"}}
    record.update(({"label": "claim"}, {"text": "Vérifier la source de « cette citation »."},
                   {"label": "PER", "status": "accepted", "predicted": "PER"})[i % 3])
    return record


def best(fn, repeat: int) -> float:
    """Median ms of `repeat` calls (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_codec(folder: Path, repeat: int) -> None:
    """Decode and encode times of the store's files by json, orjson and msgspec (those installed)."""
    import json

    from reader.store import encode_record

    store = Store(folder / "codec")
    doc_id = "c" * 12
    store.add_document({"id": doc_id, "text": "x", "meta": {"source": "codec.txt"}})
    store.write(doc_id, ANNOTATOR, upsert=[annotation(i) for i in range(8_000)])
    data = store.annotation_path(doc_id, ANNOTATOR).read_bytes()
    analysis = {"model": "fr_core_news_md@3.8.0", "tokens": list(range(0, 1_200_000, 3)),
                "sentences": [[i * 60, i * 60 + 59] for i in range(20_000)],
                "entities": [[i * 60, i * 60 + 9, "PER"] for i in range(20_000)]}
    store.cache_analysis(doc_id, "k", analysis)
    cached = (store.root / "analyses" / doc_id / "k.json").read_bytes()
    store.close()
    try:
        from reader.store.files import loads
    except ImportError:  # the store before the split
        loads = json.loads
    decoders = {"json.loads": json.loads, "store loads": loads}
    with_orjson = with_msgspec = None
    try:
        import orjson
        decoders["orjson.loads"] = with_orjson = orjson.loads
    except ImportError:
        pass
    try:
        import msgspec
        decoders["msgspec decode"] = with_msgspec = msgspec.json.Decoder().decode
    except ImportError:
        pass
    print(f"decode (median of {repeat}): annotation file {len(data) / 1e6:.1f} MB (8,000 records) | "
          f"analysis {len(cached) / 1e6:.1f} MB (20,000 sentences)")
    for name, decode in decoders.items():
        same = decode(data) == json.loads(data) and decode(cached) == json.loads(cached)
        print(f"  {name:<15} {best(lambda d=decode: d(data), repeat):>7.1f} ms | "
              f"{best(lambda d=decode: d(cached), repeat):>7.1f} ms   {'same values' if same else 'DIFFERENT'}")
    records = list(json.loads(data)["_default"].values())
    print(f"encode {len(records):,} records one per line (median of {repeat}):")
    print(f"  {'json (store)':<15} {best(lambda: [encode_record(r) for r in records], repeat):>7.1f} ms")
    if with_orjson is not None:
        opt = orjson.OPT_SORT_KEYS
        same = all(orjson.dumps(r, option=opt) == encode_record(r) for r in records)
        print(f"  {'orjson sorted':<15} {best(lambda: [orjson.dumps(r, option=opt) for r in records], repeat):>7.1f}"
              f" ms   {'same bytes' if same else 'other bytes (no space after , and :)'}")
    if with_msgspec is not None:
        enc = msgspec.json.Encoder(order="sorted")
        same = all(enc.encode(r) == encode_record(r) for r in records)
        print(f"  {'msgspec sorted':<15} {best(lambda: [enc.encode(r) for r in records], repeat):>7.1f}"
              f" ms   {'same bytes' if same else 'other bytes (no space after , and :)'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=200, help="writes per size (default 200)")
    parser.add_argument("--dir", type=Path, default=None,
                        help="folder on the disk to measure (default: a temporary folder under the current one)")
    parser.add_argument("--gap-ms", type=float, default=0.0, help="pause between two writes (default 0)")
    parser.add_argument("--codec-only", action="store_true", help="only the decode/encode figures")
    args = parser.parse_args(argv)
    global GAP
    GAP = args.gap_ms / 1000
    if args.codec_only:
        with tempfile.TemporaryDirectory(prefix=".bench-store-", dir=args.dir or Path.cwd()) as tmp:
            bench_codec(Path(tmp), 15)
        return
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
    with tempfile.TemporaryDirectory(prefix=".bench-store-", dir=args.dir or Path.cwd()) as tmp:
        bench_codec(Path(tmp), 15)


if __name__ == "__main__":
    main()
