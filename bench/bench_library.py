"""The library at a newsroom's scale (issue 22): how the library's first paint, `reader list` and `reader search`
grow with the store, as ratios to a 100-document store measured in the same run.

The stores hold generated French articles (8 sentences each; titles, dates over a year, sources and sites varied),
written through the workspace as an import writes them, each with a cached analysis written through the store as
the analysis writes it (tokens, sentences and entities computed here, spaCy never loaded); about one document in
ten has tags by the annotator "analyst", a third of those are marked done. Each size is built once per run (in a
temporary folder, or in `--stores DIR`, kept and reused across runs), outside the timed part; the build times are
printed. 100,000 documents take several minutes to build (`--sizes 100,100000 --stores DIR` builds them once).

Cases, each the median of `--repeat` runs, sizes interleaved and rotated so drift in load hits each alike:
- the library's first paint in tmux at 80x24 (this checkout's `reader` with READER_STORE and no document: it opens
  the library), until its header (`--marker`, "Library") shows; the reader's peak memory (VmHWM) at that moment;
- `reader list --limit 50`: wall time and peak memory (the child's own rusage);
- `reader list --limit 50 --json`: time until the first line arrives on the pipe;
- `reader search WORD --limit 20`, when `reader --help` lists a search command.
Goals (issue 22): first paint ≤ 1.5× and `reader list --limit 50` ≤ 1.5× the 100-document store; memory ≤ 150 MB.
`main()` returns the rows (case, size, seconds, ratio to 100 documents).
"""

from __future__ import annotations

import argparse
import compileall
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bench_paint import CHECKOUT, time_to_text  # noqa: E402

ANNOTATOR = "analyst"
SEARCH_WORD = "retraites"  # in about one article in three (OBJECTS)
BASE = 100  # the store every ratio is to

SUBJECTS = [  # (text, its entities as (surface, label))
    ("Le gouvernement", ()), ("La ministre de l’Économie", ()), ("Emmanuel Macron", (("Emmanuel Macron", "PER"),)),
    ("L’entreprise Airbus", (("Airbus", "ORG"),)), ("Le maire de Lyon", (("Lyon", "LOC"),)),
    ("Le syndicat CGT", (("CGT", "ORG"),)), ("La Banque de France", (("Banque de France", "ORG"),)),
    ("Un porte-parole de l’ONU", (("ONU", "ORG"),)), ("Élisabeth Borne", (("Élisabeth Borne", "PER"),)),
    ("La SNCF", (("SNCF", "ORG"),)), ("Le préfet de la Gironde", (("Gironde", "LOC"),)),
    ("Kim Jong-un", (("Kim Jong-un", "PER"),)),
]
VERBS = ["a annoncé", "a démenti", "prévoit", "a confirmé", "conteste", "a présenté", "défend", "a critiqué"]
OBJECTS = [  # (text, entities)
    ("un nouveau plan d’investissement", ()), ("la réforme des retraites", ()),
    ("un accord avec Berlin", (("Berlin", "LOC"),)), ("des mesures contre l’inflation", ()),
    ("le budget de l’année prochaine", ()), ("une enquête à Marseille", (("Marseille", "LOC"),)),
    ("le projet de loi sur l’immigration", ()), ("la hausse des prix de l’énergie", ()),
    ("un sommet à Bruxelles", (("Bruxelles", "LOC"),)), ("la fermeture d’une usine à Toulouse", (("Toulouse", "LOC"),)),
]
ENDINGS = ["selon l’AFP", "mardi", "devant la presse", "dans un communiqué", "à l’Assemblée nationale",
           "après des semaines de négociations", "sans donner de calendrier", "lors d’un déplacement en Bretagne"]
SITES = [("Le Monde", "www.lemonde.fr"), ("Libération", "www.liberation.fr"), ("Le Figaro", "www.lefigaro.fr"),
         ("Ouest-France", "www.ouest-france.fr"), ("France Info", "www.francetvinfo.fr"),
         ("Les Échos", "www.lesechos.fr"), ("Le Parisien", "www.leparisien.fr"), ("Mediapart", "www.mediapart.fr")]
SECTIONS = ["politique", "economie", "international", "societe", "regions"]
TOKEN = re.compile(r"\w+[’']|\w+|[^\w\s]")


def article(i: int) -> tuple[str, dict[str, str], list[tuple[int, int]], list[tuple[int, int, str]]]:
    """The i-th generated article: (text, meta, sentences, entities), the same for the same i in every run."""
    rng = random.Random(i)
    parts: list[str] = []
    sentences, entities = [], []
    offset = 0
    for n in range(8):
        if n == 7:  # a figure unique to the article: no two texts (ids) alike
            (subject, found), (obj, more) = rng.choice(SUBJECTS), (f"un budget de {i + 1} millions d’euros", ())
        else:
            (subject, found), (obj, more) = rng.choice(SUBJECTS), rng.choice(OBJECTS)
        sentence = f"{subject} {rng.choice(VERBS)} {obj} {rng.choice(ENDINGS)}."
        if n:
            separator = "\n\n" if n == 4 else " "
            parts.append(separator)
            offset += len(separator)
        sentences.append((offset, offset + len(sentence)))
        for surface, label in (*found, *more):
            at = sentence.find(surface)
            entities.append((offset + at, offset + at + len(surface), label))
        parts.append(sentence)
        offset += len(sentence)
    text = "".join(parts)
    site, host = rng.choice(SITES)
    day = date(2026, 1, 1) + timedelta(days=rng.randrange(365))
    title = f"{rng.choice(SUBJECTS)[0]} {rng.choice(VERBS)} {rng.choice(OBJECTS)[0]} ({i + 1})"
    section = rng.choice(SECTIONS)
    meta = {"title": title, "date": day.isoformat(), "lang": "fr", "sitename": site,
            "source": f"https://{host}/{section}/article/{day:%Y/%m/%d}/depeche-{i + 1}.html",
            "feed": f"https://{host}/{section}/rss.xml"}
    return text, meta, sentences, entities


def add_articles(root: Path, start: int, stop: int, chunk: int = 500) -> None:
    """Articles start..stop-1 into the store at `root`: each document as an import writes it, its analysis cached
    as the analysis caches it, and one article in ten tagged by ANNOTATOR (a third of those done)."""
    from reader import analysis as an
    from reader.documents import make_document
    from reader.session import AnnotationSession
    from reader.workspace import Workspace

    ws = Workspace.open(root, annotator=ANNOTATOR)
    try:
        for first in range(start, stop, chunk):
            made = [(make_document(text, meta), sentences, entities)
                    for text, meta, sentences, entities in map(article, range(first, min(first + chunk, stop)))]
            ws.add_documents([doc for doc, _, _ in made])
            for number, (doc, sentences, entities) in enumerate(made, first):
                pipeline = ws.pipeline_for(doc)
                model = "blank:fr" if pipeline is None else f"{pipeline}@{an.pipeline_version(pipeline)}"
                tokens = tuple((m.start(), m.end()) for m in TOKEN.finditer(doc.text))
                result = an.Analysis(model, tokens, tuple(sentences), tuple(an.Span(*e) for e in entities))
                ws.store.cache_analysis(doc.id, ws.cache_key(doc), result.to_record())
                if number % 10 == 3:
                    # the session `ws.session` makes, not kept for undo as the workspace keeps it
                    session = AnnotationSession(ws.store, doc, ANNOTATOR, ws.labels)
                    session.use_sentences(result.sentences)
                    with session.batch("bench"):
                        session.set_tag(number % 8, "event", True)
                        session.set_tag((number + 3) % 8, "claim", True)
                        if number % 30 == 3:
                            session.set_done(True)
    finally:
        ws.close()


def build_store(folder: Path, size: int) -> tuple[Path, float | None]:
    """The store of `size` articles in `folder` (store-SIZE), and its build time (None: built by an earlier run).
    Grown from the largest smaller store already built, copied: the first articles are the same in every store."""
    store, built = folder / f"store-{size}", folder / f"store-{size}.built"
    if built.exists():
        return store, None
    start = time.perf_counter()
    if store.exists():  # a build that was interrupted
        shutil.rmtree(store)
    smaller = [n for n in (int(p.stem.split("-")[1]) for p in folder.glob("store-*.built")) if n < size]
    if smaller:
        shutil.copytree(folder / f"store-{max(smaller)}", store, ignore=shutil.ignore_patterns(".lock", "*.lock"))
    add_articles(store, max(smaller, default=0), size)
    built.write_text(f"{size}\n")
    return store, time.perf_counter() - start


def time_import(root: Path, number: int) -> float:
    """Seconds to import one more article (article `number`) as `reader import` writes it without the model (open
    the store, write the document and its analysis, close), then the article removed again, untimed."""
    from reader import analysis as an
    from reader.documents import make_document
    from reader.workspace import Workspace

    text, meta, sentences, entities = article(number)
    start = time.perf_counter()
    ws = Workspace.open(root, annotator=ANNOTATOR)
    doc = make_document(text, meta)
    ws.add_documents([doc])
    tokens = tuple((m.start(), m.end()) for m in TOKEN.finditer(doc.text))
    result = an.Analysis("blank:fr", tokens, tuple(sentences), tuple(an.Span(*e) for e in entities))
    ws.store.cache_analysis(doc.id, ws.cache_key(doc), result.to_record())
    ws.close()
    seconds = time.perf_counter() - start
    ws = Workspace.open(root, annotator=ANNOTATOR)
    (root / "documents" / f"{doc.id}.json").unlink()
    shutil.rmtree(root / "analyses" / doc.id, ignore_errors=True)
    ws.library().sweep()  # as the next library would: the next import finds the index in step
    ws.close()
    return seconds


QUERIES = {
    "filter key (count + a screenful)": lambda lib, ws: (lib.count(parse_q(ws, "retr")),
                                                         lib.rows(parse_q(ws, "retr"), 0, 24)),
    "search a word (count + 20 hits)": lambda lib, ws: search_page(lib, ws, SEARCH_WORD),
    "search a phrase (count + 20 hits)": lambda lib, ws: search_page(lib, ws, '"la réforme des retraites"'),
    "search label + word": lambda lib, ws: search_page(lib, ws, "label:event budget"),
    "entity list (count + a screenful)": lambda lib, ws: (lib.entity_count(""), lib.entities("", 0, 24)),
    "search an entity (count + 20 hits)": lambda lib, ws: search_page(lib, ws, 'entity:"Kim Jong Un"'),
}
"""What a key costs in the library's screens, in process and warm (the second of two runs): the index's part."""


def parse_q(ws, text: str):
    from reader.library import Query, parse_filter

    return parse_filter(text, Query(ANNOTATOR))


def search_page(lib, ws, text: str):
    """What the search screen does for a key: the count (to CAP), and 20 hits with their sentences' text."""
    from reader.library import CAP, parse_search

    search = parse_search(text).search(lib)
    count = lib.search_count(search, CAP)
    hits = lib.search(search, 0, 20, walk=count[0] >= CAP)
    return count, [ws.document(h.doc_id).text[h.start:h.end] for h in hits]


def time_queries(root: Path) -> dict[str, float]:
    from reader.workspace import Workspace

    ws = Workspace.open(root, annotator=ANNOTATOR, read_only=True)
    lib = ws.library()
    lib.refresh()
    if lib.outdated():
        lib.sweep()
    out = {}
    for name, query in QUERIES.items():
        query(lib, ws)
        start = time.perf_counter()
        query(lib, ws)
        out[name] = time.perf_counter() - start
    ws.close()
    return out


def in_child(call: str, what: str) -> str:
    """The last line `print(CALL)` writes in a Python process of its own (this module as `b`): nothing warm but the
    files."""
    script = f"import bench_library as b; from pathlib import Path; print({call})"
    found = subprocess.run([sys.executable, "-c", script],
                           capture_output=True, text=True, env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}"},
                           cwd=ROOT)
    if found.returncode:
        raise RuntimeError(f"{what} failed: {found.stderr.strip().splitlines()[-1:]}")
    return found.stdout.strip().splitlines()[-1]


def run_queries(store: Path) -> dict[str, float]:
    return eval(in_child(f"repr(b.time_queries(Path({str(store)!r})))", "queries"))


def run_import(store: Path, number: int) -> float:
    return float(in_child(f"b.time_import(Path({str(store)!r}), {number})", "import of one article"))


def reader_env(store: Path) -> dict[str, str]:
    return {**os.environ, "READER_STORE": str(store), "PYTHONPATH": str(ROOT)}


LAUNCHER = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"{time.perf_counter() - start} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""
"""Runs a command and reports its wall time, peak RSS (kB) and exit code on stderr. The peak of a process started
straight from this one would be at least this one's: Linux carries the forking process's peak RSS over exec."""


def run_list(store: Path, *options: str, memory: bool = False) -> tuple[float, float, float]:
    """`reader list --limit 50 OPTIONS`: (wall seconds, seconds to the first line on stdout, peak RSS in MB);
    `memory`: measured from a small launcher (its start is not in the wall time; the first line time is then 0)."""
    command = [*CHECKOUT, "--annotator", ANNOTATOR, "list", "--limit", "50", *options]
    launcher = [sys.executable, "-I", "-S", "-c", LAUNCHER] if memory else []
    start = time.perf_counter()
    process = subprocess.Popen([*launcher, *command], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE if memory else subprocess.DEVNULL, env=reader_env(store),
                               cwd=ROOT)
    assert process.stdout is not None
    first = process.stdout.readline()
    first_line = time.perf_counter() - start
    rest = process.stdout.read()
    report = process.stderr.read().decode() if process.stderr is not None else ""
    process.wait()
    wall, rss, code = time.perf_counter() - start, 0.0, process.returncode
    if memory:
        wall_text, rss_text, code_text = report.split()
        wall, rss, code, first_line = float(wall_text), int(rss_text) / 1024, int(code_text), 0.0  # kB on Linux
    if code or not first:
        raise RuntimeError(f"{' '.join(command[3:])} failed ({code}) on {store}")
    if options and (lines := 1 + rest.count(b"\n")) != 50:
        raise RuntimeError(f"reader list --json gave {lines} lines, not 50")
    return wall, first_line, rss


def peak_rss(pid: int) -> float:
    """VmHWM of a running process, in MB (0 when it cannot be read)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else 0.0


def first_paint(store: Path, marker: str) -> tuple[float, float]:
    """(seconds to the library's header in tmux at 80x24, the reader's peak memory in MB at that moment)."""
    memory: list[float] = []
    seconds = time_to_text([*CHECKOUT, "--annotator", ANNOTATOR], marker, ROOT,
                           (f"READER_STORE={store}", f"PYTHONPATH={ROOT}"), timeout=600, size=(80, 24),
                           probe=lambda pid: memory.append(peak_rss(pid)))
    return seconds, memory[0] if memory else 0.0


def has_search() -> bool:
    """Whether `reader --help` lists a `search` command (the index's), at run time."""
    found = subprocess.run([*CHECKOUT, "--help"], capture_output=True, text=True, env={**os.environ,
                           "PYTHONPATH": str(ROOT), "COLUMNS": "120"}, cwd=ROOT)
    return re.search(r"^\W{0,3}search\s", found.stdout, re.MULTILINE) is not None  # a row, not a wrapped line


def run_search(store: Path) -> float:
    command = [*CHECKOUT, "--annotator", ANNOTATOR, "search", SEARCH_WORD, "--limit", "20"]
    start = time.perf_counter()
    found = subprocess.run(command, capture_output=True, env=reader_env(store), cwd=ROOT)
    seconds = time.perf_counter() - start
    if found.returncode:
        last = (found.stderr.decode(errors="replace").strip().splitlines() or ["?"])[-1]
        raise RuntimeError(f"reader search failed ({found.returncode}): {last}")
    return seconds


def main(sizes: list[int] | None = None, repeat: int = 3, marker: str = "Library",
         stores: Path | None = None) -> list[tuple[str, int, float, float]]:
    sizes = sorted({BASE, *(sizes or [100, 1000, 10000])})
    compileall.compile_dir(ROOT / "reader", quiet=1)  # no run pays for compiling (as bench_paint)
    with tempfile.TemporaryDirectory() as tmp:
        folder = stores or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for size in sizes:
            paths[size], seconds = build_store(folder, size)
            print(f"store of {size:,} documents: " + ("built by an earlier run" if seconds is None else
                  f"built in {seconds:.1f} s") + f" ({paths[size]})", flush=True)
        search, search_failed = has_search(), ""
        cases = ["library first paint (tmux 80x24)", "reader memory at first paint (MB)", "reader list --limit 50",
                 "reader list memory (MB)", "list --limit 50 --json, first line"]
        cases += ["reader search (--limit 20)"] if search else []
        values: dict[tuple[str, int], list[float]] = {(case, size): [] for case in cases for size in sizes}
        imports: dict[int, list[float]] = {size: [] for size in [0, *sizes]}
        queries: dict[tuple[str, int], list[float]] = {}
        for run in range(repeat):  # sizes interleaved and rotated: drift in load hits every size alike
            for size in sizes[run % len(sizes):] + sizes[:run % len(sizes)]:
                store = paths[size]
                paint, memory = first_paint(store, marker)
                values[cases[0], size].append(paint)
                values[cases[1], size].append(memory)
                wall, _, rss = run_list(store, memory=True)
                values[cases[2], size].append(wall)
                values[cases[3], size].append(rss)
                values[cases[4], size].append(run_list(store, "--json")[1])
                if search and not search_failed:
                    try:
                        values[cases[5], size].append(run_search(store))
                    except RuntimeError as exc:  # an index still in the making: the other figures stand
                        search_failed = str(exc)
                imports[size].append(run_import(store, 10**7 + run))
                for name, seconds in run_queries(store).items():
                    queries.setdefault((name, size), []).append(seconds)
            empty = folder / "store-empty"
            shutil.rmtree(empty, ignore_errors=True)
            imports[0].append(run_import(empty, 10**7 + run))
        if search_failed:
            cases.remove("reader search (--limit 20)")
    ratio_goal, memory_goal = 1.5, 150.0
    goals = {cases[0]: "ratio", cases[2]: "ratio", cases[1]: "memory", cases[3]: "memory"}
    rows = []
    print(f"\n{'case (median of ' + str(repeat) + '; memory: peak)':<38}{'documents':>10}{'value':>10}"
          f"{'× 100 docs':>12}  goal (issue 22)")
    for case in cases:
        for size in sizes:
            pick = max if goals.get(case) == "memory" else statistics.median
            value, base = pick(values[case, size]), pick(values[case, BASE])
            ratio = value / base if base else 0.0
            rows.append((case, size, value, ratio))
            if goals.get(case) == "memory":
                met = "met" if value <= memory_goal else "MISSED"
                shown, goal = f"{value:.0f} MB", f"≤ {memory_goal:.0f} MB: {met}"
            else:
                shown, goal = f"{value:.3f} s", ""
                if goals.get(case) == "ratio" and size != BASE:
                    goal = f"≤ {ratio_goal}× 100 docs: {'met' if ratio <= ratio_goal else 'MISSED'}"
            print(f"{case:<38}{size:>10,}{shown:>10}{ratio:>11.2f}×  {goal}")
    for name in QUERIES:
        for size in sizes:
            value = statistics.median(queries[name, size])
            rows.append((name, size, value, value / statistics.median(queries[name, BASE])))
            met = "met" if value <= 0.1 else "MISSED"
            print(f"{name:<38}{size:>10,}{value * 1000:>8.1f}ms{rows[-1][3]:>11.2f}×  ≤ 100 ms: {met}")
    base = statistics.median(imports[0])
    for size in [0, *sizes]:
        value = statistics.median(imports[size])
        rows.append(("import one more article (no model)", size, value, value / base))
        goal = f"≤ 1.5× an empty store: {'met' if value / base <= 1.5 else 'MISSED'}" if size else "(the base)"
        print(f"{'import one more article (no model)':<38}{size:>10,}{value:>9.3f}s{value / base:>11.2f}×  {goal}")
    if not search:
        print("search: not available (`reader --help` lists no search command)")
    elif search_failed:
        print(f"search: {search_failed}")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000",
                        help="store sizes, comma-separated (100 is always measured: the ratios' base); 100000 is "
                             "allowed but slow to build (minutes: use --stores to build it once)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (the median is shown)")
    parser.add_argument("--marker", default="Library", help="text of the library's header that ends a first paint")
    parser.add_argument("--stores", type=Path, help="keep the built stores in this folder, reused by later runs")
    args = parser.parse_args()
    main([int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()], args.repeat, args.marker,
         args.stores and args.stores.resolve())
