"""What annotators disagree on, apart from whose store it is: an item (a tagged sentence, or a group of
overlapping entity spans) with each annotator's version, and what a rule accepts of it. Shared by adjudication
(`reader merge`, the review) and the library's count of conflicts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from reader.annotations import GOLD, AnnotatorWork, merge_entities


def is_adjudication(name: str, records: Iterable[dict]) -> bool:
    """Gold, or an `--into` set (`from` and `versions` on its records): left out of agreement unless named."""
    return name == GOLD or any("from" in record or "versions" in record for record in records)


Span = tuple[int, int, str]
Rule = str | int  # `unanimous`, `majority`, or N: at least N annotators


class AdjudicationError(Exception):
    """A bad rule or annotator choice; message for the user."""


def parse_rule(value: str | int) -> Rule:
    """`unanimous`, `majority` or a positive integer, as typed on the command line."""
    if isinstance(value, int) or (value.isascii() and value.isdigit()):
        n = int(value)
        if n < 1:
            raise AdjudicationError(f"a rule N needs N ≥ 1, not {n}")
        return n
    if value in ("unanimous", "majority"):
        return value
    raise AdjudicationError(f"unknown rule {value!r} (rules: unanimous, majority, or a number N ≥ 1)")


@dataclass(frozen=True)
class EntityVersion:
    """One annotator's version of an entity item: the spans their export would hold, and the decisions."""

    spans: frozenset[Span]
    accepted: tuple[Span, ...] = ()
    rejected: tuple[Span, ...] = ()  # with the model's label
    relabelled: tuple[tuple[int, int, str, str], ...] = ()  # (start, end, model's label, their label)
    added: tuple[Span, ...] = ()


class _Versions:
    """What sentence and entity items share: each touching annotator's version, compared by `version_key`."""

    versions: dict

    @property
    def agreed(self) -> bool:
        return len({version_key(v) for v in self.versions.values()}) <= 1

    def groups(self) -> list[tuple[Any, tuple[str, ...]]]:
        """Distinct versions with who has them, most common first (then by name)."""
        who: dict[frozenset, list[str]] = {}
        for name in sorted(self.versions):
            who.setdefault(version_key(self.versions[name]), []).append(name)
        return [(self.versions[names[0]], tuple(names)) for names in sorted(who.values(), key=lambda n: (-len(n), n))]


@dataclass(frozen=True)
class SentenceItem(_Versions):
    """A sentence at least one chosen annotator tagged (or gold decided)."""

    index: int
    start: int
    end: int
    versions: dict[str, frozenset[str]]  # every touching annotator (sorted) -> their labels
    gold: frozenset[str] | None = None  # gold's version when gold already decided the item (as for `EntityItem`)
    kind: str = "sentence"


@dataclass(frozen=True)
class EntityItem(_Versions):
    """A group of overlapping entity spans where some chosen annotator (or gold) took a decision."""

    start: int
    end: int
    sentence: int | None
    predicted: tuple[Span, ...]  # the model's entities in the group
    versions: dict[str, EntityVersion]
    gold: EntityVersion | None = None
    kind: str = "entity"


Item = SentenceItem | EntityItem


def item_key(item: Item) -> tuple[int, int, int]:
    """Document order of items: a sentence before the entities it holds."""
    return item.start, 0 if item.kind == "sentence" else 1, item.end


def open_conflicts(sentences: Sequence[tuple[int, int]], predicted: list[Span], tables: dict[str, dict],
                   labels: Sequence[str], into: str = GOLD, rule: Rule = "majority") -> int:
    """How many items of a document `reader review` (its default rule) shows as conflicts: the library's count."""
    voters = {name: table for name, table in tables.items()
              if name != into and table and not is_adjudication(name, table.values())}
    if len(voters) < 2:
        return 0
    works = {name: AnnotatorWork(table, sentences, labels) for name, table in voters.items()}
    gold = AnnotatorWork(tables[into], sentences, labels) if tables.get(into) else None
    items = [*sentence_items(sentences, works, gold), *entity_items(predicted, works, gold)]
    return sum(1 for item in items if item.gold is None and not resolve(item, rule).settled)


def sentence_items(sentences: Sequence[tuple[int, int]], works: dict[str, AnnotatorWork], gold: AnnotatorWork | None
                    ) -> list[SentenceItem]:
    empty: frozenset[str] = frozenset()
    tagged = {name: {i: frozenset(x) for i, x in work.tagged().items()} for name, work in works.items()}
    decided: dict[int, frozenset[str]] = {}
    if gold is not None:  # its tags, and its `review` records: sentences decided with no label
        decided = {**dict.fromkeys(gold.reviews, empty), **{i: frozenset(x) for i, x in gold.tagged().items()}}
    return [SentenceItem(i, *sentences[i], {name: tagged[name].get(i, empty) for name in sorted(works)}, decided.get(i))
            for i in sorted(set().union(*tagged.values(), decided))]


def entity_items(predicted: list[Span], works: dict[str, AnnotatorWork], gold: AnnotatorWork | None
                  ) -> list[EntityItem]:
    gold_spans = set(gold.decisions) if gold is not None else set()
    decided = {span for work in works.values() for span in work.decisions} | gold_spans
    if not decided:
        return []
    groups: list[list[tuple[int, int]]] = []
    reach = -1
    for s, e in sorted({(s, e) for s, e, _ in predicted} | decided):
        if not groups or s >= reach:
            groups.append([])
        groups[-1].append((s, e))
        reach = max(reach, e)
    group_of = {span: k for k, group in enumerate(groups) for span in group}
    models: list[list[Span]] = [[] for _ in groups]
    for x in sorted(predicted):
        models[group_of[x[:2]]].append(x)
    any_work = next(iter(works.values()), gold)  # not None: someone decided
    items = []
    for group, model in zip(groups, models, strict=True):
        members = set(group)
        if members & decided:
            lo, hi = group[0][0], max(e for _, e in group)
            versions = {name: _version(model, works[name].decisions, members) for name in sorted(works)}
            gold_version = _version(model, gold.decisions, members) if gold and members & gold_spans else None
            items.append(EntityItem(lo, hi, any_work.sentence_of(lo, hi), tuple(model), versions, gold_version))
    return items


def _version(model: list[Span], decisions: dict[tuple[int, int], dict],
             members: set[tuple[int, int]]) -> EntityVersion:
    mine = {span: decisions[span] for span in members if span in decisions}
    kept, accepted, rejected, relabelled, added = [], [], [], [], []
    for s, e, label, status, was, _ in merge_entities(model, mine):
        if status == "rejected":
            rejected.append((s, e, was or label))
            continue
        kept.append((s, e, label))
        if status == "accepted":
            accepted.append((s, e, label))
        elif status == "added":
            added.append((s, e, label))
        elif status == "relabelled" or (was and label != was):
            relabelled.append((s, e, was, label))
    return EntityVersion(frozenset(kept), tuple(accepted), tuple(rejected), tuple(relabelled), tuple(added))


@dataclass(frozen=True)
class Resolution:
    settled: bool  # the rule decides the whole item: nothing is left for a reviewer
    labels: dict[str, tuple[str, ...]] = field(default_factory=dict)  # sentences: accepted label -> who set it
    spans: frozenset[Span] | None = None  # entities: the version the rule accepts
    sources: tuple[str, ...] = ()  # who has the accepted version, or set an accepted label


def resolve(item: Item, rule: Rule) -> Resolution:
    """What `rule` accepts of `item`: a sentence label set by at least `threshold` annotators (refused when that
    many did not, else open), the one entity version that many have exactly."""
    voters = len(item.versions)
    need = {"unanimous": max(voters, 1), "majority": voters // 2 + 1}.get(rule) or int(rule)  # may be > voters
    if isinstance(item, SentenceItem):
        counts = {label: [n for n, labels in item.versions.items() if label in labels]
                  for label in sorted(set().union(*item.versions.values()))}
        accepted = {label: tuple(names) for label, names in counts.items() if len(names) >= need}
        left = [label for label, names in counts.items() if len(names) < need and voters - len(names) < need]
        sources = tuple(sorted({n for names in accepted.values() for n in names}))
        return Resolution(not left and voters >= 1, accepted, None, sources)
    tally = Counter(v.spans for v in item.versions.values())
    passing = [spans for spans, n in tally.items() if n >= need]
    if len(passing) != 1:
        return Resolution(False)
    return Resolution(True, spans=passing[0], sources=tuple(sorted(who_has(item, passing[0]))))


def version_key(version: frozenset | EntityVersion) -> frozenset:
    """What two versions are compared by: a sentence's labels, an entity item's spans."""
    return version.spans if isinstance(version, EntityVersion) else version


def who_has(item: Item, key: frozenset) -> tuple[str, ...]:
    return tuple(n for n, v in item.versions.items() if version_key(v) == key)
