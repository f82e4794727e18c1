"""Entity models (`reader train --task ner`): held-out F1 per label for the fine-tuned model beside the base model,
the gold sample's base labels before and after (forgetting), and the training time, also as a ratio to a baseline
measured in the same run: `nlp.pipe` of the training sentences with the base pipeline, once per epoch (what the
epochs would cost if training were as fast as predicting).

The model is the base pipeline with a second recogniser before its untouched `ner` (reader/ner.py).
Goals (issue 21, 2 CPUs): the corrected label well above the base model, a new label from ~150 examples at
F1 >= 0.7, the gold sample within 0.02 of the base model, 50 documents trained in <= 120 s.
The corpus is tests/ner_corpus.py (corrected as an analyst would, `correct`) plus tests/suggest_corpus.py
(unreviewed documents to rehearse on). Run `python bench/bench_ner.py [--documents 40] [--background 150]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=40, help="corrected documents (one in five held out)")
    parser.add_argument("--background", type=int, default=150, help="unreviewed documents to rehearse on")
    args = parser.parse_args()

    import suggest_corpus
    from ner_corpus import correct, documents
    from test_ner import gold_units

    from reader import analysis as an
    from reader import ner
    from reader.documents import Document
    from reader.suggest import PIPELINE
    from reader.workspace import Workspace

    with tempfile.TemporaryDirectory() as folder:
        ws = Workspace.open(Path(folder), annotator="ana")
        for index, gold in enumerate(documents(args.documents, seed=1)):
            doc = Document.create(gold.text, {"title": f"{gold.title} {index}"})
            ws.add_document(doc)
            correct(ws, doc.id, gold, "ana")
        for sentences in suggest_corpus.documents(args.background, seed=5):
            ws.add_document(Document.create(suggest_corpus.text_of(sentences), {"title": "background"}))
        base = an.load_pipeline(an.choose_pipeline("fr"))
        texts = [u.text for u in ner.reviewed_units(
            (d, w, [tuple(e) for e in ws.analysis_parts(d)[4]]) for d, w in ws.works("ana"))]
        begin = time.perf_counter()
        for _ in range(ner.EPOCHS):
            list(base.pipe(texts))
        baseline = time.perf_counter() - begin
        begin = time.perf_counter()
        meta = ws.train_entities("ana", "bench").meta
        seconds = time.perf_counter() - begin
        trained = an.load_pipeline(str(ws.find_model("bench", "ner").path / PIPELINE))
        labels = ["LOC", "MISC", "ORG", "PER"]
        before, after = (ner.score(nlp, gold_units(), labels)["ALL"]["f"] for nlp in (base, trained))
    print(f"{args.documents} corrected documents ({meta['held_out']['documents']} held out), "
          f"{meta['trained_on']['rehearsed']} rehearsed sentences, {meta['base']}; "
          f"the trained recogniser's labels: {', '.join(meta['trained_labels'])}")
    print(f"{'held-out F1':<14}{'base':>8}{'trained':>9}")
    for label, scores in meta["scores"].items():
        base_f = meta["base_scores"][label]["f"] or 0.0
        print(f"{label:<14}{base_f:>8.2f}{scores['f'] or 0.0:>9.2f}")
    print(f"gold sample, base labels, micro F1: {before:.3f} -> {after:.3f} ({after - before:+.3f}; goal >= -0.02)")
    print(f"training: {seconds:.1f} s = {seconds / baseline:.1f}x nlp.pipe of the training sentences x "
          f"{ner.EPOCHS} epochs ({baseline:.1f} s); goal <= 120 s for 50 documents")


if __name__ == "__main__":
    main()
