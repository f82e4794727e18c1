"""Tag keypress → durable write → repaint, in the running app, as a document's annotations grow.

The target document already holds 100, 1,000 or 10,000 annotations, in a store holding 50 other documents.
Each sample runs the tag action (the same code a keypress runs: toggle, durable write, overlay update) and
then renders every visible line of the article, as the next frame would. Goal: p95 ≤ 16 ms at 10,000 and
no more than 2× the cost at 100. The baseline is a bare durable write (temp file, fsync, rename) of a tiny
file, measured in the same run.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reader.analysis import Analysis
from reader.annotations import Annotation, quote_at
from reader.documents import make_document
from reader.store import Store, atomic_write
from reader.workspace import Workspace

SIZES = (100, 1_000, 10_000)
SENTENCES = 2_500
SAMPLES = 150
ANNOTATOR = "bench"


def synthetic_analysis(text: str) -> Analysis:
    """Sentences and tokens by regex: the benchmark measures the app, not the model."""
    sentences = tuple((m.start(), m.end()) for m in re.finditer(r"[^.\n]+\.", text))
    tokens = tuple((m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", text))
    return Analysis("bench@0", tokens, sentences, ())


def document_text(n: int, tag: str) -> str:
    return "\n\n".join(
        " ".join(f"Phrase {tag} numéro {i * 5 + j} du texte de test." for j in range(5)) for i in range(n // 5)
    )


def build_store(folder: Path, existing: int) -> tuple[Workspace, str]:
    store = Store(folder)
    ws = Workspace(store, annotator=ANNOTATOR)
    for k in range(50):
        other = make_document(document_text(50, f"autre{k}"), {"title": f"other {k}"})
        ws.add_documents([other])
        store.cache_analysis(other.id, ws.cache_key(other), synthetic_analysis(other.text).to_record())
    doc = make_document(document_text(SENTENCES, "cible"), {"title": "target"})
    ws.add_documents([doc])
    analysis = synthetic_analysis(doc.text)
    store.cache_analysis(doc.id, ws.cache_key(doc), analysis.to_record())
    labels = ws.labels.names
    records = []
    pairs = itertools.product(range(100, len(analysis.sentences)), labels)
    for i, (sentence, label) in zip(range(existing), pairs, strict=False):
        start, end = analysis.sentences[sentence]
        records.append(Annotation(f"seed-{i}", "tag", start, end, ANNOTATOR, "2026-01-01T00:00:00Z",
                                  "2026-01-01T00:00:00Z", quote_at(doc.text, start, end), label=label).to_record())
    store.write(doc.id, ANNOTATOR, upsert=records)
    return ws, doc.id


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


async def measure(ws: Workspace, doc_id: str) -> list[float]:
    from reader.ui.app import ReaderApp
    from reader.ui.widgets.article_view import ArticleView

    app = ReaderApp(ws, [doc_id])
    times = []
    async with app.run_test(size=(120, 40)) as pilot:
        while app.screen.analysis is None:  # the model worker starts a moment after the first frame
            await pilot.pause(0.02)
        await app.workers.wait_for_complete()
        screen = app.screen
        view = screen.query_one(ArticleView)
        assert screen.analysis is not None and len(view.sentences) == SENTENCES
        for i in range(SAMPLES):
            view.move_to_sentence(i % 40)
            start = time.perf_counter()
            screen.action_tag(1 + i % 3)
            for y in range(view.size.height):
                view.render_line(y)
            times.append(time.perf_counter() - start)
            await pilot.pause(0.002)
    return times


def baseline(folder: Path) -> list[float]:
    times = []
    for i in range(SAMPLES):
        start = time.perf_counter()
        atomic_write(folder / "tiny.json", f'{{"n": {i}}}\n'.encode())
        times.append(time.perf_counter() - start)
    return times


def main() -> list[tuple]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base_med, base_p95 = percentiles(baseline(Path(tmp)))
        results = {}
        for size in SIZES:
            ws, doc_id = build_store(Path(tmp) / f"store-{size}", size)
            results[size] = percentiles(asyncio.run(measure(ws, doc_id)))
            ws.store.close()
    first = results[SIZES[0]]
    print(f"{'annotations in document':<26}{'median ms':>10}{'p95 ms':>9}{'p95 × at 100':>14}{'p95 × bare write':>18}")
    print(f"{'bare durable write':<26}{base_med:>10.2f}{base_p95:>9.2f}{'':>14}{1:>18.2f}")
    for size, (med, p95) in results.items():
        rows.append((size, med, p95))
        print(f"{size:<26,}{med:>10.2f}{p95:>9.2f}{p95 / first[1]:>14.2f}{p95 / base_p95:>18.2f}")
    last = results[SIZES[-1]][1]
    print(f"goals: p95 at 10,000 ≤ 16 ms (got {last:.1f} ms); ≤ 2× the cost at 100 (got {last / first[1]:.2f}×)")
    return rows


if __name__ == "__main__":
    main()
