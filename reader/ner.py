"""Entity models: a second recogniser beside the base pipeline's, trained on the entities analysts reviewed for the
labels the base one lacks or misses, while the base `ner` is left untouched. Fine-tuning the base recogniser
itself, even rehearsing its own predictions, unlearnt news text the corrections never showed (bench/README.md).
spaCy is imported inside functions: the TUI never runs them."""

from __future__ import annotations

import random
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reader import analysis as an
from reader import patterns, suggest
from reader.annotations import AnnotatorWork, EntityState, without_overlaps
from reader.documents import Document
from reader.patterns import Matcher
from reader.suggest import ModelError, Progress, Trained, prf
from reader.untrusted import check_name

EPOCHS = 12
TEAM = "team_ner"
"""The trained recogniser, placed before the base `ner` (see `fit`)."""
RECALL = 0.8  # a base label found below this recall in the reviewed sentences becomes the team's
LEARN_RATE = 3e-4
REHEARSE = 3  # unreviewed sentences rehearsed per reviewed one
MIN_EXAMPLES = 5  # reviewed spans a label the base model lacks needs before it is learnt
SEED = 0
BATCH = 32


@dataclass(frozen=True)
class Unit:
    """A sentence and its entities; `known`: the ranges reviewed (None: all), the only ones taught or scored."""

    doc_id: str
    text: str
    spans: tuple[tuple[int, int, str], ...]
    known: tuple[tuple[int, int], ...] | None = None


Work = tuple[Document, AnnotatorWork, Sequence[tuple[int, int, str]]]  # with the entities decided on
Unreviewed = tuple[str, str, Sequence[tuple[int, int]]]  # (doc id, text, the ranges reviewed)


def reviewed_units(works: Iterable[Work]) -> list[Unit]:
    """Every sentence of a done document; elsewhere those holding decisions, known only where decided (an unread
    prediction is neither right nor wrong)."""
    out: list[Unit] = []
    for doc, work, predicted in works:
        entities = work.entities(predicted)
        merged = [(e.start, e.end, e.label, e.status, e.predicted, e.decision) for e in without_overlaps(
            EntityState(*m) for m in entities if m[3] != "rejected")[0]]  # decided spans first
        merged += [m for m in entities if m[3] == "rejected"]
        for start, end in work.sentences:
            inside = [m for m in merged if start <= m[0] and m[1] <= end and (work.done or m[5] is not None)]
            if not work.done and not inside:
                continue
            spans = tuple((s - start, e - start, label) for s, e, label, status, *_ in inside if status != "rejected")
            known = None if work.done else tuple((s - start, e - start) for s, e, *_ in inside)
            out.append(Unit(doc.id, doc.text[start:end], spans, known))
    return out


def score(nlp: Any, units: Sequence[Unit], labels: Sequence[str]) -> dict[str, dict]:
    """Exact-span precision, recall and F1 per label (`"ALL"`: micro) on the entities as the reader shows them,
    counted only where the tokens were reviewed."""
    counts: dict[str, Counter] = {label: Counter() for label in [*labels, "ALL"]}
    for unit, analysis in zip(units, an.analyse_many(nlp, [u.text for u in units]), strict=True):
        known = None if unit.known is None else set(unit.known)
        gold = {s for s in unit.spans if s[2] in counts}
        guessed = {(e.start, e.end, e.label) for e in analysis.entities
                   if e.label in counts and (known is None or (e.start, e.end) in known)}
        for outcome, spans in (("tp", gold & guessed), ("fp", guessed - gold), ("fn", gold - guessed)):
            for *_, label in spans:
                counts[label][outcome] += 1
                counts["ALL"][outcome] += 1
    return {label: {**prf(c["tp"], c["fp"], c["fn"]), "n": c["tp"] + c["fn"]} for label, c in counts.items()}


def _example(nlp: Any, unit: Unit, labels: set[str]) -> Any:
    """A spaCy Example, tokens outside `known` and labels not learnt missing: as `O` they would teach "no entity"."""
    from spacy.training import Example, offsets_to_biluo_tags

    doc = nlp.make_doc(unit.text)
    tags = offsets_to_biluo_tags(doc, list(unit.spans))
    def missing(tag: str, token: Any) -> bool:
        if tag[2:] and tag[2:] not in labels:
            return True
        return unit.known is not None and not any(s <= token.idx and token.idx + len(token) <= e
                                                  for s, e in unit.known)

    tags = ["-" if missing(tag, token) else tag for tag, token in zip(tags, doc, strict=True)]
    return Example.from_dict(doc, {"entities": tags})


def team_labels(nlp: Any, units: Sequence[Unit], labels: Sequence[str]) -> list[str]:
    """The labels the trained recogniser owns: those the base one lacks, and those it finds below RECALL of in the
    reviewed sentences (what analysts had to add or relabel into). The others stay the base recogniser's: a
    label it already finds is better kept than relearnt from a few documents."""
    known = set(nlp.get_pipe("ner").labels)
    recall = score(nlp, units, labels)
    return [label for label in labels if label not in known or (recall[label]["r"] or 0.0) < RECALL]


def fit(nlp: Any, train: Sequence[Unit], rehearsal: Sequence[Unit], labels: Sequence[str], *,
        epochs: int, progress: Progress) -> None:
    """Add TEAM to `nlp`, a copy of its `ner` before it, trained on `labels` only (the other labels' spans are no
    entity to it), each epoch on every reviewed sentence and REHEARSE times as many rehearsed ones.

    The combination is spaCy's own: a recogniser keeps the entities an earlier component set and predicts around
    them (as after an `entity_ruler`), so TEAM's spans win and the untouched base `ner` finds the rest."""
    from spacy.util import fix_random_seed, minibatch

    fix_random_seed(SEED)
    base = nlp.get_pipe("ner")
    if an.listened(nlp.config["components"]["ner"]):
        raise ModelError("the base pipeline's entity recogniser shares its tok2vec: it cannot be copied apart")
    team = nlp.add_pipe("ner", name=TEAM, before="ner", config={"model": nlp.config["components"]["ner"]["model"]})
    team.from_bytes(base.to_bytes())
    for label in labels:
        if label not in team.labels:
            team.add_label(label)
    owned = set(labels)

    def example(unit: Unit) -> Any:
        return _example(nlp, Unit(unit.doc_id, unit.text, tuple(s for s in unit.spans if s[2] in owned), unit.known),
                        set(team.labels))

    reviewed = [example(u) for u in train]
    rehearsed = [example(u) for u in rehearsal]
    rng = random.Random(SEED)
    per_epoch = len(reviewed) + min(len(rehearsed), REHEARSE * len(reviewed))
    with nlp.select_pipes(enable=[TEAM]):
        optimizer = nlp.resume_training()
        optimizer.learn_rate = LEARN_RATE
        for epoch in range(epochs):
            batch = reviewed + rng.sample(rehearsed, per_epoch - len(reviewed))
            rng.shuffle(batch)
            done = 0
            for part in minibatch(batch, size=BATCH):
                nlp.update(part, sgd=optimizer, drop=0.2, losses={})
                done += len(part)
                progress("training", (epoch + done / per_epoch) / epochs)


def rehearsal_units(nlp: Any, texts: Iterable[Unreviewed], matcher: Matcher, limit: int) -> list[Unit]:
    """Up to `limit` sentences nobody reviewed, the base model's entities corrected by the team's patterns (a
    rehearsed sentence must not teach the model's old mistake back)."""
    out: list[Unit] = []
    for doc_id, text, skip in texts:
        if len(out) >= limit:
            break
        analysis = an.analyse(nlp, text)
        starts = [s for s, _ in analysis.tokens]
        for start, end in analysis.sentences:
            if len(out) >= limit or any(a < end and start < b for a, b in skip):
                continue
            tokens = [(s - start, e - start) for s, e in analysis.tokens[bisect_left(starts, start):
                                                                         bisect_left(starts, end)]]
            entities = [(e.start - start, e.end - start, e.label) for e in analysis.entities
                        if start <= e.start and e.end <= end]
            out.append(Unit(doc_id, text[start:end], tuple(matcher.apply(text[start:end], tokens, entities,
                                                                         doc_id=doc_id))))
    return out


def train(works: Sequence[Work], unreviewed: Iterable[Unreviewed], base: str, models: Any, annotator: str, name: str,
          *, active: tuple[str, Any] | None = None, removed: Mapping[str, str] = {}, epochs: int = EPOCHS,
          progress: Progress | None = None) -> Trained:
    """Fine-tune `base` on `annotator`'s reviewed entities and save it as `name`; `active`: (name, folder) of the
    entity model in use, scored beside it; `removed`: `reader.patterns.read_removed`."""
    begin = time.perf_counter()
    name = check_name(name, "model name", ModelError)
    progress = progress or (lambda stage, share: None)
    progress("reading", 0.0)
    units = reviewed_units(works)
    if not any(u.spans for u in units):
        raise ModelError(f"{annotator} has reviewed no entity in this store: decide on entities (accept, reject, "
                         "relabel, add) or mark documents done first")
    train_set, held_set = suggest.split(units, "reviewed entities")
    held = {u.doc_id for u in held_set}
    nlp = an.load_pipeline(base)
    if "ner" not in nlp.pipe_names:
        raise ModelError(f"pipeline {base} has no entity recogniser to fine-tune")
    known = set(nlp.get_pipe("ner").labels)
    counts = Counter(label for u in train_set for *_, label in u.spans)
    skipped = {label: n for label, n in sorted(counts.items()) if label not in known and n < MIN_EXAMPLES}
    labels = sorted(known) + sorted(set(counts) - known - set(skipped))
    base_scores = score(nlp, held_set, labels)  # before `fit` changes it
    matcher = Matcher(patterns.in_use(patterns.collect(  # not the held-out documents': they are the test
        e for doc, work, _ in works if doc.id not in held
        for e in patterns.entries(doc.id, doc.text, annotator, work.decisions.values())), removed))
    progress("rehearsal", 0.0)
    rehearsal = rehearsal_units(nlp, (t for t in unreviewed if t[0] not in held), matcher,
                                2 * REHEARSE * len(train_set))
    owned = team_labels(nlp, train_set, labels)
    fit(nlp, train_set, rehearsal, owned, epochs=epochs, progress=progress)
    progress("scoring", 0.0)
    scores = score(nlp, held_set, labels)
    meta = {"name": name, "task": "ner", "labels": labels, "trained_labels": owned, "lang": nlp.lang,
            "scores": scores, "base_scores": base_scores, "skipped": skipped,
            "trained_on": {"annotator": annotator, "sentences": len(train_set),
                           "documents": len({u.doc_id for u in train_set}),
                           "entities": sum(len(u.spans) for u in train_set), "rehearsed": len(rehearsal)},
            "held_out": {"sentences": len(held_set), "documents": len(held)},
            "base": an.model_name(nlp), "epochs": epochs,
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if active is not None:
        meta["active_scores"] = {"name": active[0], "scores": score(an.load_pipeline(str(active[1])), held_set, labels)}
    progress("saving", 0.0)
    nlp.meta["reader_model"] = name
    nlp.meta.pop("reader_tokenizer", None)  # prepared again on load: the norms are not saved
    suggest.save(models, name, nlp, meta)
    return Trained(meta, skipped, time.perf_counter() - begin)


def better(meta: dict) -> bool:
    """Whether a new entity model should become active: held-out micro F1 at least the active (or base) model's."""
    mine = meta["scores"].get("ALL", {}).get("f") or 0.0
    theirs = (meta.get("active_scores") or {}).get("scores") or meta["base_scores"]
    return mine >= (theirs.get("ALL", {}).get("f") or 0.0)
