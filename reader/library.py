"""The library: every document with one annotator's progress, sorted and filtered, read from the store's index
(`reader.store.index`) so that a screen of rows costs the same at 100,000 documents as at 100. This module derives
the index's rows from the files and keeps them in step: pending marks at every refresh, every file's version in a
sweep when something outside this program may have changed them (git, a hand edit, a crash)."""

from __future__ import annotations

import contextlib
import inspect
import os
import re
import weakref
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from reader.annotations import READ_KEYS, AnnotatorWork, ModelStats, add_outcomes
from reader.documents import paragraphs
from reader.search import fold
from reader.store import Store, StoreCorrupt, StoreError
from reader.store.index import CAP, SORTS, Entity, Hit, Query, Row, Search

__all__ = ["CAP", "LARGE", "SORTS", "Entity", "Hit", "Library", "Query", "Row", "Search", "entity_key", "fts_query",
           "parse_filter", "parse_search", "query_terms"]

_UNSET = object()

LARGE = 300
"""More stale rows than this are derived off the first paint (a new index of a large store, a big pull)."""

Analysed = Callable[[Any, bool], tuple[Sequence[tuple[int, int]], Sequence[tuple[int, int, str]]] | None]
"""(sentences, entities as (start, end, label)) of a document's (or id's) cached analysis, None before one."""

_FILTER_KEYS = {"label": "labels", "by": "by", "annotator": "by"}
_DONE = {"is:done": True, "done": True, "is:todo": False, "todo": False, "is:open": False}
_CONFLICTS = {"conflicts": True, "is:conflict": True, "has:conflicts": True, "no:conflicts": False}


def parse_filter(text: str, base: Query) -> Query:
    """What a person types in the filter: words (title, source, site, feed; accents and case folded), and
    `label:NAME`, `by:ANNOTATOR`, `done` / `todo` (this annotator's done mark), `conflicts` (what `reader review`
    would show); quotes keep a phrase whole."""
    words, labels, by, done, conflicts = [], [], [], None, None
    for match in re.finditer(r'(\w+:)?"([^"]*)"?|(\S+)', text):
        prefix, quoted, bare = match.groups()
        token = (prefix or "") + (quoted if quoted is not None else "") if quoted is not None else bare
        key, _, value = token.partition(":")
        if token.lower() in _DONE:
            done = _DONE[token.lower()]
        elif token.lower() in _CONFLICTS:
            conflicts = _CONFLICTS[token.lower()]
        elif value and key.lower() in _FILTER_KEYS:
            (labels if _FILTER_KEYS[key.lower()] == "labels" else by).append(value)
        elif folded := fold(token).strip():
            words.append(folded)
    return replace(base, words=tuple(words), labels=tuple(labels), by=tuple(by), done=done, conflicts=conflicts)


def entity_key(surface: str) -> str:
    """What groups an entity's spellings: folded, every run of punctuation a space (« Kim Jong-un » and « Kim Jong
    Un » are one actor, « l’ONU » is « l onu »)."""
    return " ".join(re.sub(r"[\W_]+", " ", fold(surface)).split())


def query_terms(text: str) -> list[tuple[str, bool]]:
    """The words and `"quoted phrases"` a person typed in a search, each with whether it ends in `*` (any word it
    begins), as typed: the screen highlights them with `reader.search.find_all`."""
    terms = []
    for match in re.finditer(r'"([^"]*)"?|(\S+)', text):
        quoted, bare = match.groups()
        term = quoted if quoted is not None else bare
        prefix = quoted is None and term.endswith("*")
        if re.sub(r"[\W_]+", "", term):
            terms.append((term.rstrip("*") if prefix else term, prefix))
    return terms


def fts_query(text: str) -> str | None:
    """The FTS5 query of a search: every word and phrase (folded) in the sentence; None when nothing searchable
    was typed."""
    parts = [f'"{fold(term).replace(chr(34), " ")}"' + ("*" if prefix else "") for term, prefix in query_terms(text)]
    return " ".join(parts) or None


@dataclass(frozen=True)
class TypedSearch:
    """A search as a person types it in the reader (`parse_search`); `entity` is resolved to keys on use."""

    match: str | None = None
    labels: tuple[str, ...] = ()
    entity: str | None = None
    annotator: str | None = None
    notes: bool = False
    words: str = ""  # what was typed besides the keys: what the screen highlights

    def search(self, library: Library) -> Search:
        keys = library.entity_keys(self.entity) if self.entity is not None else None
        return Search(self.match, self.labels, keys, self.annotator, self.notes)

    def empty(self) -> bool:
        return self.match is None and not self.labels and self.entity is None


_SEARCH_KEYS = ("label", "entity", "by", "annotator")


def parse_search(text: str) -> TypedSearch:
    """`label:NAME`, `entity:NAME` (quotes keep a name whole), `by:ANNOTATOR` and `in:notes` beside the words
    and phrases of `fts_query`; a key with nothing after it is left out."""
    rest, labels, entity, annotator, notes = [], [], None, None, False
    for match in re.finditer(r'(\w+):(?:"([^"]*)"?|(\S*))|("[^"]*"?|\S+)', text):
        key, quoted, bare, _ = match.groups()
        value = (quoted if quoted is not None else bare or "").strip()
        if key is None or key.lower() not in (*_SEARCH_KEYS, "in"):
            rest.append(match.group())
        elif key.lower() == "in":
            notes = notes or value.lower() in ("notes", "note")
        elif value and key.lower() == "label":
            labels.append(value)
        elif value and key.lower() == "entity":
            entity = value
        elif value:
            annotator = value
    words = " ".join(rest)
    return TypedSearch(fts_query(words), tuple(labels), entity, annotator, notes, words)


def found_mentions(mentions: Sequence[tuple], sentences: Sequence[tuple]) -> list[tuple]:
    """A document's entities as its annotators see them, from the model's mentions (annotator "") and the
    annotators' decisions, as (sentence, start, end, key, surface, labels): a decision replaces the prediction
    for its annotator; a span every decider rejected is no entity; each keeper's label counts."""
    starts = [s for _, s, _ in sentences]
    spans: dict[tuple[int, int], list[tuple]] = {}
    for row in mentions:
        spans.setdefault((row[1], row[2]), []).append(row)
    out = []
    for (start, end), rows in spans.items():
        model = next((r for r in rows if r[0] == ""), None)
        decided = [r for r in rows if r[0] != ""]
        kept = [r for r in decided if r[4] != "rejected"]
        if decided and not kept:
            continue
        labels = {r[3] or (model[3] if model else "") for r in kept} if decided else {model[3]}  # type: ignore[index]
        surface = (model or rows[0])[5]
        if not (key := entity_key(surface)):
            continue
        i = bisect_right(starts, start) - 1
        sentence = sentences[i][0] if i >= 0 and start < sentences[i][2] else None
        out.append((sentence, start, end, key, surface, "\n" + "".join(f"{x}\n" for x in sorted(labels - {""}))))
    return out


def _natural_key(text: str) -> str:
    """A string that sorts like `x.jsonl:2` before `x.jsonl:10` (digits padded by their length)."""
    return re.sub(r"\d+", lambda m: f"{len(m.group()):03d}{m.group()}", text)


class Library:
    """The rows of the library for the store's index. `analysed(doc)`: what its cached analysis (any pipeline)
    holds, None when it has none yet; `labels`: the label set's names, as the progress counts them."""

    def __init__(self, store: Store, labels: Sequence[str], analysed: Analysed) -> None:
        self.store = store
        self.labels = tuple(labels)
        self._analysed = weakref.WeakMethod(analysed) if inspect.ismethod(analysed) else lambda: analysed
        self.index = store.index
        self._git: Any = _UNSET  # git's index file (None outside git), looked for once
        self._signs_seen: str | None = None
        self._clean = False
        store.watch(self)

    # --- queries (each derives first the rows this program's saves left pending: `written`) ---

    def rows(self, query: Query, offset: int = 0, limit: int = -1) -> list[Row]:
        self.refresh()
        return self.index.rows(query, offset, limit)

    def count(self, query: Query) -> tuple[int, int]:
        self.refresh()
        return self.index.count(query)

    def position(self, query: Query, doc_id: str) -> int | None:
        self.refresh()
        return self.index.position(query, doc_id)

    def outcomes(self, query: Query) -> list[tuple[str, int, int, int]]:
        self.refresh()
        return self.index.outcomes(query)

    def search(self, search: Search, offset: int = 0, limit: int = -1, *, walk: bool = False) -> list[Hit]:
        self.refresh()
        return self.index.search(search, offset, limit, walk=walk)

    def search_count(self, search: Search, cap: int | None = None) -> tuple[int, int]:
        self.refresh()
        return self.index.search_count(search, cap)

    def entities(self, like: str = "", offset: int = 0, limit: int = -1) -> list[Entity]:
        self.refresh()
        return self.index.entities(entity_key(like) or None, offset, limit)

    def entity_count(self, like: str = "") -> int:
        self.refresh()
        return self.index.entity_count(entity_key(like) or None)

    def entity_keys(self, name: str) -> tuple[str, ...]:
        """The keys of the entities a typed name means (its own, else every one holding its words)."""
        self.refresh()
        return self.index.entity_keys(key) if (key := entity_key(name)) else ()

    def deciders(self) -> list[tuple[str, str]]:
        """(doc id, annotator) of the files holding entity decisions, once the index is in step with the files."""
        self.refresh()
        if self.outdated():
            self.sweep()
        return self.index.deciders()

    def damaged(self) -> list[tuple[str, str, str]]:
        return self.index.damaged()

    # --- keeping the index in step with the files ---

    def refresh(self) -> bool:
        """Derive again the rows marked pending (a write this program made elsewhere, or one a crash cut short).
        True when there were any."""
        marks = self.index.marked()
        for _, doc_id, annotator in marks:
            self.derive(doc_id, annotator)
        if marks:
            self.index.unmark(marks)
        return bool(marks)

    def signs(self) -> str:
        """What changes when files come from outside: the folders' times and git's index (a pull, a checkout)."""
        root = self.store.root
        paths = [root / "documents", root / "annotations"]
        if self._git is _UNSET:
            try:
                self._git = self.store.git_index()
            except (OSError, UnicodeDecodeError):
                self._git = None
        if self._git is not None:
            paths.append(self._git)
        found = []
        for path in paths:
            try:
                found.append(f"{path.name}:{os.stat(path).st_mtime_ns}")
            except OSError:
                found.append(f"{path.name}:-")
        return " ".join(found)

    def outdated(self) -> bool:
        """Whether files may have changed outside this program since the last sweep (or the index is new)."""
        return self.signs() != self.index.get("signs")

    def stale(self) -> list[str]:
        """The documents whose files' versions differ from their rows (all of them in a new index), after dropping
        the rows of documents gone from the folder: O(files) stats, no file read."""
        signs = self.signs()
        docs, work = self.index.versions()
        on_disk = self.store.document_versions()
        gone = set(docs) - set(on_disk)
        annotated = self.store.annotation_versions()
        try:
            analysed = set(os.listdir(self.store.root / "analyses"))
        except OSError:
            analysed = set()
        if gone and (shown := self.index.drop(gone)):
            self.derive_many(shown, follow=False)
        stale = [d for d, v in on_disk.items() if d not in docs or docs[d][0] != v
                 or (docs[d][1] is None and d in analysed)]
        differ = {d for key, version in annotated.items() if work.get(key) != version for d in key[:1]}
        differ |= {d for d, _ in set(work) - set(annotated)}
        self._signs_seen = signs
        return stale + sorted(differ - set(stale) & on_disk.keys())

    def sweep(self, stale: Sequence[str] | None = None,
              progress: Callable[[int, int], None] | None = None) -> int:
        """Derive the rows of the `stale` documents (by default: look for them); how many there were."""
        stale = self.stale() if stale is None else stale
        with self.index.bulk() if len(stale) > LARGE else contextlib.nullcontext():
            for start in range(0, len(stale), 100):  # a few statements and a commit a batch, not a row
                self.derive_many(stale[start:start + 100])
                if progress is not None:
                    progress(min(start + 100, len(stale)), len(stale))
        if self._signs_seen is not None:
            self.index.put("signs", self._signs_seen)
        return len(stale)

    def analysed(self, doc: Any, keep: bool = True
                 ) -> tuple[Sequence[tuple[int, int]], Sequence[tuple[int, int, str]]] | None:
        """The workspace's (of a document or its id), held weakly: it holds the library; `keep` False: read once,
        not kept for the next save (a sweep)."""
        found = self._analysed()
        return found(doc, keep) if found is not None else None

    def writing(self, doc_id: str, annotator: str) -> None:
        self._clean = not self.outdated()

    def written(self, doc_id: str, annotator: str) -> bool:
        """A write of this program: a document's rows now (True); an annotator's stay marked pending until the
        next `refresh` (the library, a search, `summary`): a keypress's save must not pay for deriving the
        document's rows (its tags, notes, entities and conflicts: a tenth of a second at 10,000 annotations).
        The folders' new times are no sign of outside changes when there was none before it."""
        if not annotator:
            self.derive(doc_id)
        if self._clean and (signs := self.signs()) != self.index.get("signs"):  # a new folder: one commit more
            self.index.put("signs", signs)
        return not annotator

    def check(self, doc_id: str) -> None:
        """One document's rows against its files' versions (a few stats), derived again when they differ."""
        version, sentences, work = self.index.versions_of(doc_id)
        names = self.store.annotators(doc_id)
        on_disk = {name: ":".join(map(str, v)) for name in names if (v := self.store.file_version(doc_id, name))}
        if version is None or version != self.store.document_version(doc_id) or on_disk != work \
                or (sentences is None and self.store.analysis_keys(doc_id)):
            self.derive(doc_id)

    def derive(self, doc_id: str, annotator: str = "") -> bool:
        """Derive a document's row and its work rows again (`annotator`: only that one's work row)."""
        if not annotator or self.index.versions_of(doc_id)[0] is None:
            self.derive_many([doc_id])
            return True
        analysed = self.analysed(doc_id)
        sentences, entities = analysed if analysed is not None else ((), ())
        row = self._work_row(doc_id, annotator, sentences)
        tables = {name: self._records(doc_id, name) for name in self.store.annotators(doc_id) if name != annotator}
        tables[annotator] = row["records"] if row else {}
        found = self._found(doc_id, None, sentences, entities, tables)
        with self.index.transaction():
            self.index.put_work(doc_id, annotator, row)
            self.index.set_conflicts(doc_id, self._conflicts(sentences, entities, tables))
            hidden = self.index.superseded([doc_id]) or self.index.versions_of(doc_id)[0] is None
            self.index.put_found({doc_id: () if hidden else found})
        return True

    def _found(self, doc_id: str, text: str | None, sentences: Sequence[tuple[int, int]],
               entities: Sequence[tuple[int, int, str]], tables: dict[str, dict]) -> list[tuple]:
        """A document's entity mentions (`found_mentions`) from the model's entities and every annotator's
        decisions (`tables`: their records); `text` read here when needed and not given."""
        decided = [(name, r) for name, table in tables.items() for r in table.values() if r.get("kind") == "entity"]
        if not entities and not decided:
            return []
        if text is None:
            try:
                text = str(self.store.document(doc_id, keep=False).get("text") or "")
            except StoreError:
                return []
        mentions = [("", s, e, label, "predicted", text[s:e]) for s, e, label in entities]
        mentions += [(name, r["start"], r["end"], r.get("label") or r.get("predicted") or "", r.get("status", ""),
                      text[r["start"]:r["end"]]) for name, r in decided]
        return found_mentions(sorted(mentions, key=lambda m: (m[1], m[2], m[0])),
                              [(n, s, e) for n, (s, e) in enumerate(sentences)])

    def _records(self, doc_id: str, annotator: str) -> dict[str, dict]:
        try:
            return self.store.records(doc_id, annotator, READ_KEYS)
        except StoreError:  # a damaged file: its own row says so
            return {}

    def _conflicts(self, sentences: Sequence[tuple[int, int]], entities: Sequence[tuple[int, int, str]],
                   tables: dict[str, dict]) -> int:
        if sum(1 for table in tables.values() if table) < 2:
            return 0
        from reader.items import open_conflicts

        return open_conflicts(list(sentences), list(entities), tables, self.labels)

    def derive_many(self, doc_ids: Sequence[str], follow: bool = True) -> None:
        """Derive documents again whole (their rows, every annotator's rows, their entity mentions), written
        together: a sweep of 100,000 documents costs their files' reading, not a statement per row."""
        gone, docs, works, found = [], [], {}, {}
        for doc_id in doc_ids:
            try:
                version = self.store.document_version(doc_id)
            except StoreError:
                version = None
            if version is None:
                gone.append(doc_id)
                continue
            row, analysed, text = self._doc_row(doc_id, version, keep=len(doc_ids) == 1)
            docs.append(row)
            sentences, entities = analysed if analysed is not None else ((), ())
            rows = [] if row["damage"] is not None else [
                r for name in self.store.annotators(doc_id) if (r := self._work_row(doc_id, name, sentences))]
            works[doc_id] = rows
            tables = {r["annotator"]: r["records"] for r in rows}
            row["conflicts"] = self._conflicts(sentences, entities, tables)
            found[doc_id] = self._found(doc_id, text, sentences, entities, tables) if text is not None else []
        with self.index.transaction():
            shown = self.index.drop(gone) if gone else []
            self.index.replace(docs, works)
            hidden = self.index.superseded([d["id"] for d in docs]) | {d["id"] for d in docs if d["damage"]}
            self.index.put_found({d: () if d in hidden else rows for d, rows in found.items()})
        if follow and (others := {d["supersedes"] for d in docs if d["supersedes"]} - found.keys() | set(shown)):
            self.derive_many(sorted(others), follow=False)  # now superseded, or shown again: their entities

    def _doc_row(self, doc_id: str, version: str, keep: bool = True) -> tuple[dict[str, Any], Any, str | None]:
        """The document's row, what its analysis holds (None before the first) and its text (None: damaged)."""
        row: dict[str, Any] = {"id": doc_id, "version": version, "title": "", "date": "", "source": "", "site": "",
                               "feed": "", "supersedes": None, "sentences": None, "position": _natural_key(doc_id),
                               "folded": fold(doc_id), "damage": None, "passages": (), "conflicts": 0}
        try:
            record = self.store.document(doc_id, keep=False)
        except StoreCorrupt as exc:
            return {**row, "damage": exc.reason}, None, None
        except StoreError as exc:
            return {**row, "damage": str(exc)}, None, None
        from reader.documents import Document

        doc = Document.from_record(record)
        meta, text = doc.meta, doc.text
        fields = {k: str(meta.get(k) or "") for k in ("date", "source", "sitename", "feed")}
        analysed = self.analysed(doc, keep)
        sentences = analysed[0] if analysed is not None else None
        passages = [(n, s, e, fold(text[s:e])) for n, (s, e) in enumerate(sentences)] if sentences is not None \
            else [(None, s, e, fold(text[s:e])) for s, e in paragraphs(text)]
        return {**row, "title": doc.title, "date": fields["date"], "source": fields["source"],
                "site": fields["sitename"], "feed": fields["feed"],
                "supersedes": str(meta["supersedes"]) if meta.get("supersedes") else None,
                "sentences": len(sentences) if sentences is not None else None,
                "position": _natural_key(fields["source"]) + "\0" + doc_id,
                "folded": fold(" ".join([doc.title, fields["source"], fields["sitename"], fields["feed"]])),
                "passages": passages}, analysed, text

    def _work_row(self, doc_id: str, annotator: str, sentences: Sequence[tuple[int, int]]) -> dict | None:
        """An annotator's row, with their tags and notes, and the `records` read (for conflicts and entities)."""
        version = self.store.file_version(doc_id, annotator)
        if version is None:
            return None
        row = {"doc_id": doc_id, "annotator": annotator, "version": ":".join(map(str, version)), "tagged": 0,
               "notes": 0, "decisions": 0, "done": 0, "labels": "\n", "damage": None, "outcomes": [], "tags": [],
               "notes_found": [], "records": {}}
        try:
            records = self.store.records(doc_id, annotator, READ_KEYS)
        except StoreCorrupt as exc:
            return {**row, "damage": exc.reason}
        except StoreError as exc:
            return {**row, "damage": str(exc)}
        work = AnnotatorWork(records, sentences, self.labels)
        tagged = work.tagged()
        labels = sorted({label for names in tagged.values() for label in names})
        models: dict[tuple[str, str], ModelStats] = {}
        add_outcomes(models, annotator, records.values())
        notes = [(n, r["start"], r["end"], r.get("text", "")) for n, on in work.notes.items() for r in on.values()]
        notes += [(None, 0, 0, r.get("text", "")) for r in work.document_notes.values()]
        return {**row, "outcomes": [(m.model, m.accepted, m.dismissed, m.corrected) for m in models.values()],
                "tagged": len(tagged), "notes": work.counts.get("note", 0),
                "decisions": work.counts.get("entity", 0), "done": int(work.done),
                "labels": "\n" + "".join(f"{label}\n" for label in labels),
                "tags": [(n, label) for n, names in tagged.items() for label in names],
                "notes_found": [(*note, fold(note[3])) for note in notes], "records": records}
