"""Entity patterns from the analysts' corrections: an added or relabelled entity becomes a case-insensitive phrase
pattern for its label, a rejected one a negative pattern (that surface is not that label), so a correction on one
article shows on the next one analysed, without training. Derived from the decisions in the store each time;
only removals are kept, in one file at the store's root (the decisions they came from stay)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from reader.annotations import now
from reader.store import atomic_write

REMOVED_FILE = "patterns-removed.json"
RULER = "reader_patterns"  # the span ruler's name in a pipeline
NOT_RULER = "reader_not_patterns"  # the component that drops what a negative pattern names
_FIELDS = ("kind", "start", "end", "label", "status", "predicted", "created", "updated", "quote")


class PatternError(Exception):
    """A removals file that cannot be read or written; the message is for the user."""


@dataclass(frozen=True)
class Pattern:
    id: str
    label: str
    surface: str  # as first written
    negative: bool
    annotators: tuple[str, ...]
    count: int  # the corrections behind it
    created: str
    updated: str


def normalise(surface: str) -> str:
    """What a pattern matches: any case, any run of spaces (the phrase matcher compares lowered tokens)."""
    return " ".join(surface.split()).lower()


def pattern_id(label: str, surface: str, negative: bool) -> str:
    return hashlib.sha1(f"{label}\x1f{normalise(surface)}\x1f{'-' if negative else '+'}".encode()).hexdigest()[:8]


def entity_decisions(ws: Any) -> Iterator[tuple[str, str, dict[str, dict]]]:
    """(document text, annotator, records) for every annotator of every document (`ws`: a `Workspace`); a
    document's text is read only when it holds an entity decision."""
    for doc_id in ws.document_ids():
        for annotator in ws.annotators(doc_id):
            records = {i: r for i, r in ws.records(doc_id, annotator, _FIELDS).items() if r.get("kind") == "entity"}
            if records:
                yield ws.document(doc_id).text, annotator, records


def collect(decisions: Iterable[tuple[str, str, Mapping[str, dict]]]) -> list[Pattern]:
    """The patterns the entity decisions make; for a surface both kept and rejected under one label, the newer
    decision wins. Accepted entities make none: the model found them already."""
    found: dict[tuple[str, str], list[tuple[str, bool, str, str, str]]] = {}
    for text, annotator, records in decisions:
        for r in records.values():
            status = r.get("status")
            if r.get("kind") != "entity" or status not in ("added", "relabelled", "rejected"):
                continue
            negative = status == "rejected"
            label = (r.get("predicted") or r.get("label") if negative else r.get("label")) or ""
            start, end = r.get("start"), r.get("end")
            valid = isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)
            surface = " ".join((text[start:end] if valid else (r.get("quote") or {}).get("exact", "")).split())
            if label and surface:
                stamp = r.get("updated") or r.get("created") or ""
                found.setdefault((label, normalise(surface)), []).append(
                    (stamp, negative, r.get("created") or stamp, surface, annotator))
    patterns = []
    for (label, _), entries in sorted(found.items()):
        negative = max(entries)[1]  # the newest decision says which way (a rejection on a tie)
        kept = sorted(e for e in entries if e[1] == negative)
        first = min(kept, key=lambda e: (e[2], e[3]))
        patterns.append(Pattern(pattern_id(label, first[3], negative), label, first[3], negative,
                                tuple(sorted({e[4] for e in kept})), len(kept), first[2], kept[-1][0]))
    return patterns


def digest(patterns: Iterable[Pattern]) -> str:
    """The pattern set's part of an analysis cache key: the same set gives the same digest, "" when empty."""
    ids = sorted({p.id for p in patterns})
    return hashlib.sha1(" ".join(ids).encode()).hexdigest()[:12] if ids else ""


def read_removed(root: Path) -> dict[str, str]:
    """The removed patterns' ids, with when each was removed; a damaged file is refused (and left as it is)."""
    path = Path(root) / REMOVED_FILE
    try:
        data = msgspec.json.decode(path.read_bytes())
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise PatternError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise PatternError(f"{path} is damaged ({exc}): repair or delete it; it was left untouched") from None
    removed = data.get("removed") if isinstance(data, dict) else None
    if not isinstance(removed, dict) or not all(isinstance(v, str) for v in removed.values()):
        raise PatternError(f"{path} is damaged (no \"removed\" table of ids and dates): repair or delete it; it "
                           "was left untouched")
    return removed


def in_use(patterns: Iterable[Pattern], removed: Mapping[str, str]) -> list[Pattern]:
    """The patterns not removed; a correction made after a removal brings its pattern back."""
    return [p for p in patterns if p.id not in removed or p.updated > removed[p.id]]


def remove(root: Path, pattern: Pattern) -> None:
    """Remove a pattern for good (until a newer correction makes it again), written atomically."""
    removed = {**read_removed(root), pattern.id: max(now(), pattern.updated)}
    data = msgspec.json.format(msgspec.json.encode({"removed": removed}, order="sorted"), indent=2) + b"\n"
    try:
        atomic_write(Path(root) / REMOVED_FILE, data)
    except OSError as exc:
        raise PatternError(f"cannot write {Path(root) / REMOVED_FILE}: {exc.strerror or exc}") from None


def load(ws: Any, root: Path) -> list[Pattern]:
    """The patterns in use in a store (`ws`: its `Workspace`, `root`: its folder): what an analysis applies."""
    return in_use(collect(entity_decisions(ws)), read_removed(root))


def add_to_pipeline(nlp: Any, patterns: Sequence[Pattern]) -> None:
    """After the model's entities: a span ruler whose matches replace the model's spans they overlap, then the
    negative patterns drop their spans. Matches are token spans, so entities stay on token boundaries. Calling it
    again replaces the patterns; with none the pipeline is left as loaded."""
    for name in (RULER, NOT_RULER):
        if name in nlp.pipe_names:
            nlp.remove_pipe(name)
    place = {"after": "ner"} if "ner" in nlp.pipe_names else {}
    if positive := [p for p in patterns if not p.negative]:
        ruler = nlp.add_pipe("span_ruler", name=RULER, **place, config={
            "spans_key": None, "annotate_ents": True, "overwrite": False, "phrase_matcher_attr": "LOWER",
            "ents_filter": {"@misc": "spacy.prioritize_new_ents_filter.v1"}, "validate": False})
        with nlp.select_pipes(disable=[n for n in nlp.pipe_names if n != RULER]):  # patterns need the tokenizer only
            ruler.add_patterns([{"label": p.label, "pattern": p.surface, "id": p.id} for p in positive])
        place = {"after": RULER}
    if negative := sorted({(p.label, normalise(p.surface)) for p in patterns if p.negative}):
        _register()
        nlp.add_pipe(NOT_RULER, **place, config={"negatives": [list(n) for n in negative]})


def _register() -> None:
    """The negative patterns' component, registered on first use: spaCy is not imported before it is needed."""
    from spacy.language import Language

    if Language.has_factory(NOT_RULER):
        return

    @Language.factory(NOT_RULER, default_config={"negatives": []})
    def make(nlp: Any, name: str, negatives: list[list[str]]) -> NegativePatterns:
        return NegativePatterns(negatives)


class NegativePatterns:
    """Drops the entities a negative pattern names (a class, not a closure: a pipeline holding it pickles)."""

    def __init__(self, negatives: Iterable[Sequence[str]]) -> None:
        self.refused = {(label, surface) for label, surface in negatives}

    def __call__(self, doc: Any) -> Any:
        doc.ents = [e for e in doc.ents if (e.label_, normalise(e.text)) not in self.refused]
        return doc


def count_matches(patterns: Sequence[Pattern], analysed: Iterable[tuple[str, Sequence[tuple[int, int]]]]
                  ) -> dict[str, int]:
    """How often each pattern matched: its mentions on token boundaries, any case, in (text, tokens) pairs (the
    cached analyses), each text read once."""
    by_surface: dict[str, list[str]] = {}
    for p in patterns:
        by_surface.setdefault(normalise(p.surface), []).append(p.id)
    counts = dict.fromkeys((p.id for p in patterns), 0)
    for text, tokens in analysed:
        lowered = text.lower()
        if len(lowered) != len(text):  # a letter that lowers to two (İ): keep offsets
            lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
        starts, ends = {s for s, _ in tokens}, {e for _, e in tokens}
        for surface, ids in by_surface.items():
            at, hits = lowered.find(surface), 0
            while at >= 0:
                hits += at in starts and at + len(surface) in ends
                at = lowered.find(surface, at + 1)
            for ident in ids:
                counts[ident] += hits
    return counts
