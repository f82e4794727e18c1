"""Entity patterns from the analysts' corrections: an added or relabelled entity becomes a case-insensitive phrase
pattern for its label, a rejected one a negative pattern (that surface is not that label), so a correction on one
article shows on the next one opened, without training. They are applied over each analysis as it is read, not in
the spaCy pipeline: a new correction then changes no cached analysis, so none is stale and the library is not
analysed again. Derived from the decisions in the store; only removals are kept, in one file at the store's root
(the decisions they came from stay)."""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from reader.annotations import now
from reader.store import atomic_write

REMOVED_FILE = "patterns-removed.json"
FIELDS = ("kind", "start", "end", "label", "status", "predicted", "created", "updated", "quote")
"""What `entries` reads of a record."""


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
    documents: frozenset[str] = frozenset()  # where its corrections were made

    def applies_to(self, doc_id: str | None) -> bool:
        """Not to the one document it was made in: there the analyst's own decisions stand, and two analysts'
        work on a document is compared over the model's entities alone."""
        return doc_id is None or self.documents != {doc_id}


def normalise(surface: str) -> str:
    """What a pattern matches: any case, any run of spaces (the phrase matcher compares lowered tokens)."""
    return " ".join(surface.split()).lower()


def pattern_id(label: str, surface: str, negative: bool) -> str:
    return hashlib.sha1(f"{label}\x1f{normalise(surface)}\x1f{'-' if negative else '+'}".encode()).hexdigest()[:8]


Entry = tuple[str, str, str, bool, str, str, str, str]
"""(label, normalised surface, newest stamp, negative, created, surface as written, annotator, document id): one
correction."""


def entries(doc_id: str, text: str, annotator: str, records: Iterable[Mapping[str, Any]]) -> list[Entry]:
    """The corrections among an annotator's records on a text (added, relabelled, rejected entities); accepted
    entities make none: the model found them already."""
    out = []
    for r in records:
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
            out.append((label, normalise(surface), stamp, negative, r.get("created") or stamp, surface, annotator,
                        doc_id))
    return out


def collect(found: Iterable[Entry]) -> list[Pattern]:
    """The patterns the corrections make; for a surface both kept and rejected under one label, the newer
    decision wins."""
    by_key: dict[tuple[str, str], list[tuple[str, bool, str, str, str, str]]] = {}
    for label, key, *entry in found:
        by_key.setdefault((label, key), []).append(tuple(entry))
    patterns = []
    for (label, _), group in sorted(by_key.items()):
        negative = max(group)[1]  # the newest decision says which way (a rejection on a tie)
        kept = sorted(e for e in group if e[1] == negative)
        first = min(kept, key=lambda e: (e[2], e[3]))
        patterns.append(Pattern(pattern_id(label, first[3], negative), label, first[3], negative,
                                tuple(sorted({e[4] for e in kept})), len(kept), first[2], kept[-1][0],
                                frozenset(e[5] for e in kept)))
    return patterns


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


_SPACE = re.compile(r"\s")


class Matcher:
    """The patterns in use, applied to a model's entities on a text: looked up token by token (the cost grows
    with the text, not with the number of patterns)."""

    def __init__(self, patterns: Iterable[Pattern] = ()) -> None:
        self.patterns = list(patterns)
        self.negative = {(p.label, normalise(p.surface)): p for p in self.patterns if p.negative}
        self.positive: dict[str, list[Pattern]] = {}  # two labels for one surface: the newest correction first
        for p in sorted((p for p in self.patterns if not p.negative), key=lambda p: (p.updated, p.id), reverse=True):
            self.positive.setdefault(normalise(p.surface), []).append(p)
        self.firsts: dict[str, int] = {}  # a mention starts with one of these words: the longest pattern that does
        for surface in self.positive:
            first = surface.split(" ")[0]
            self.firsts[first] = max(self.firsts.get(first, 0), len(surface))

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def mentions(self, text: str, tokens: Sequence[tuple[int, int]], doc_id: str | None = None
                 ) -> list[tuple[int, int, Pattern]]:
        """The positive patterns' mentions in document `doc_id`: whole tokens, any case and spacing, the longest
        first where two overlap."""
        if not self.positive:
            return []
        lowered = text.lower()
        if len(lowered) != len(text):  # a letter that lowers to two (İ): keep the offsets
            lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
        found = []
        firsts, count = self.firsts, len(tokens)
        for i, (start, end) in enumerate(tokens):
            word_end = _SPACE.search(lowered, start)
            word_end = word_end.start() if word_end else len(lowered)
            longest, j = 0, i  # a mention's first word: a run of tokens up to a space
            while j < count and tokens[j][1] <= word_end:
                longest = max(longest, firsts.get(lowered[start:tokens[j][1]], 0))
                j += 1
            if not longest:
                continue
            longest *= 2
            for j in range(i, count):  # twice as long: room for runs of spaces inside a mention
                end = tokens[j][1]
                if end - start > longest:
                    break
                for p in self.positive.get(" ".join(lowered[start:end].split()), ()):
                    if p.applies_to(doc_id):
                        found.append((start, end, p))
                        break
        chosen: list[tuple[int, int, Pattern]] = []
        for start, end, p in sorted(found, key=lambda m: (m[0] - m[1], m[0])):
            if all(end <= s or e <= start for s, e, _ in chosen):
                chosen.append((start, end, p))
        return sorted(chosen, key=lambda m: m[0])

    def apply(self, text: str, tokens: Sequence[tuple[int, int]], entities: Iterable[Sequence],
              counts: dict[str, int] | None = None, doc_id: str | None = None) -> list[tuple[int, int, str]]:
        """`entities` ((start, end, label, ...) in offsets of `text`, document `doc_id`) as the patterns correct
        them: a negative pattern drops an entity of its label and surface; a positive one's mentions take its
        label over what they overlap. `counts`: how often each pattern changed something, by id."""
        kept = []
        for start, end, label, *_ in entities:
            p = self.negative.get((label, normalise(text[start:end])))
            if p is None or not p.applies_to(doc_id):
                kept.append((start, end, label))
            elif counts is not None:
                counts[p.id] = counts.get(p.id, 0) + 1
        for start, end, p in self.mentions(text, tokens, doc_id):
            if counts is not None and (start, end, p.label) not in kept:
                counts[p.id] = counts.get(p.id, 0) + 1
            kept = [k for k in kept if k[1] <= start or end <= k[0]] + [(start, end, p.label)]
        return sorted(kept)


class Corrections:
    """Every annotator's corrections by file, for the patterns in use: read from the store once (off the UI
    thread: the first analysis asks), then kept current by this process's own saves (`saved`, from any thread),
    so an analyst's correction shows on the next document opened."""

    def __init__(self) -> None:
        self._files: dict[tuple[str, str], list[Entry]] | None = None
        self._live: dict[tuple[str, str], list[Entry]] = {}
        self._lock = threading.Lock()
        self._matcher: Matcher | None = None
        self._frozen = False

    def saved(self, doc_id: str, text: str, annotator: str, records: Mapping[str, Mapping[str, Any]]) -> None:
        found = entries(doc_id, text, annotator, records.values())
        key = (doc_id, annotator)
        with self._lock:
            if found != self._live.get(key, (self._files or {}).get(key, [])):  # a tag or a note changes nothing
                self._live[key] = found
                if not self._frozen:
                    self._matcher = None

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """One view of the patterns for a whole command: a decision on every mention across the library acts on
        what each document showed before it started, not on the patterns its first documents made."""
        self._frozen = True
        try:
            yield
        finally:
            self._frozen = False
            self.reset()

    def reset(self) -> None:
        """Read the removals again (one was removed)."""
        with self._lock:
            self._matcher = None

    def matcher(self, scan: Callable[[], dict[tuple[str, str], list[Entry]]],
                removed: Callable[[], Mapping[str, str]]) -> Matcher:
        """The patterns in use; `scan`: every file's corrections (once), `removed`: `read_removed` of the store
        (PatternError when it is damaged)."""
        if self._files is None:
            files = scan()  # outside the lock: a save meanwhile lands in `_live`, which wins
            with self._lock:
                if self._files is None:
                    self._files = files
        with self._lock:
            if self._matcher is None:
                merged = {**self._files, **self._live}
                found = collect(e for file in merged.values() for e in file)
                self._matcher = Matcher(in_use(found, removed()))
            return self._matcher
