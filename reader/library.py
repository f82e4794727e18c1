"""The library: every document with one annotator's progress, sorted and filtered, read from the store's index
(`reader.store.index`) so that a screen of rows costs the same at 100,000 documents as at 100. This module derives
the index's rows from the files and keeps them in step: pending marks at every refresh, every file's version in a
sweep when something outside this program may have changed them (git, a hand edit, a crash)."""

from __future__ import annotations

import inspect
import os
import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from reader.annotations import READ_KEYS, AnnotatorWork, ModelStats, add_outcomes
from reader.search import fold
from reader.store import Store, StoreCorrupt, StoreError
from reader.store.index import SORTS, Query, Row

__all__ = ["LARGE", "SORTS", "Library", "Query", "Row", "parse_filter"]

_UNSET = object()

LARGE = 300
"""More stale rows than this are derived off the first paint (a new index of a large store, a big pull)."""

Sentences = Callable[[str], Sequence[tuple[int, int]] | None]

_FILTER_KEYS = {"label": "labels", "by": "by", "annotator": "by"}
_DONE = {"is:done": True, "done": True, "is:todo": False, "todo": False, "is:open": False}


def parse_filter(text: str, base: Query) -> Query:
    """What a person types in the filter: words (title, source, site, feed; accents and case folded), and
    `label:NAME`, `by:ANNOTATOR`, `done` / `todo` (this annotator's done mark); quotes keep a phrase whole."""
    words, labels, by, done = [], [], [], None
    for match in re.finditer(r'(\w+:)?"([^"]*)"?|(\S+)', text):
        prefix, quoted, bare = match.groups()
        token = (prefix or "") + (quoted if quoted is not None else "") if quoted is not None else bare
        key, _, value = token.partition(":")
        if token.lower() in _DONE:
            done = _DONE[token.lower()]
        elif value and key.lower() in _FILTER_KEYS:
            (labels if _FILTER_KEYS[key.lower()] == "labels" else by).append(value)
        elif folded := fold(token).strip():
            words.append(folded)
    return replace(base, words=tuple(words), labels=tuple(labels), by=tuple(by), done=done)


def _natural_key(text: str) -> str:
    """A string that sorts like `x.jsonl:2` before `x.jsonl:10` (digits padded by their length)."""
    return re.sub(r"\d+", lambda m: f"{len(m.group()):03d}{m.group()}", text)


class Library:
    """The rows of the library for the store's index. `sentences(doc_id)`: the sentences of its cached analysis
    (any pipeline), None when it has none yet; `labels`: the label set's names, as the progress counts them."""

    def __init__(self, store: Store, labels: Sequence[str], sentences: Sentences) -> None:
        self.store = store
        self.labels = tuple(labels)
        self._sentences = weakref.WeakMethod(sentences) if inspect.ismethod(sentences) else lambda: sentences
        self.index = store.index
        self._git: Any = _UNSET  # git's index file (None outside git), looked for once
        self._signs_seen: str | None = None
        self._clean = False
        store.watch(self)

    # --- queries ---

    def rows(self, query: Query, offset: int = 0, limit: int = -1) -> list[Row]:
        return self.index.rows(query, offset, limit)

    def count(self, query: Query) -> tuple[int, int]:
        return self.index.count(query)

    def position(self, query: Query, doc_id: str) -> int | None:
        return self.index.position(query, doc_id)

    def outcomes(self, query: Query) -> list[tuple[str, int, int, int]]:
        return self.index.outcomes(query)

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
        if gone := set(docs) - set(on_disk):
            self.index.drop(gone)
        annotated = self.store.annotation_versions()
        try:
            analysed = set(os.listdir(self.store.root / "analyses"))
        except OSError:
            analysed = set()
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
        for start in range(0, len(stale), 100):  # a transaction a batch: a commit per row cost a third
            with self.index.batch():
                for doc_id in stale[start:start + 100]:
                    self.derive(doc_id)
            if progress is not None:
                progress(min(start + 100, len(stale)), len(stale))
        if self._signs_seen is not None:
            self.index.put("signs", self._signs_seen)
        return len(stale)

    def sentences(self, doc: Any) -> Sequence[tuple[int, int]] | None:
        """The workspace's (of a document or its id), held weakly: it holds the library."""
        found = self._sentences()
        return found(doc) if found is not None else None

    def writing(self, doc_id: str, annotator: str) -> None:
        self._clean = not self.outdated()

    def written(self, doc_id: str, annotator: str) -> None:
        """A write of this program: its rows now, and the folders' new times are no sign of outside changes when
        there was none before it."""
        self.derive(doc_id, annotator)
        if self._clean and (signs := self.signs()) != self.index.get("signs"):  # a new folder: one commit more
            self.index.put("signs", signs)

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
        try:
            version = self.store.document_version(doc_id)
        except StoreError:
            version = None
        if version is None:
            self.index.drop([doc_id])
            return True
        doc_row: dict[str, Any] | None = None
        sentences = None
        if not annotator:
            doc_row, sentences = self._doc_row(doc_id, version)
            self.index.put_docs([doc_row])
            if doc_row["damage"] is not None:
                return True
        else:
            sentences = self.sentences(doc_id)
        names = [annotator] if annotator else self.store.annotators(doc_id)
        rows = [row for name in names if (row := self._work_row(doc_id, name, sentences or ())) is not None]
        self.index.put_work(doc_id, rows, replace_all=not annotator)
        if annotator and not rows:
            self.index.drop((), [(doc_id, annotator)])
        return True

    def _doc_row(self, doc_id: str, version: str) -> tuple[dict[str, Any], Sequence[tuple[int, int]] | None]:
        """The document's row, and its sentences for the work rows (None before its first analysis)."""
        row: dict[str, Any] = {"id": doc_id, "version": version, "title": "", "date": "", "source": "", "site": "",
                               "feed": "", "supersedes": None, "sentences": None, "position": _natural_key(doc_id),
                               "folded": fold(doc_id), "damage": None}
        try:
            record = self.store.document(doc_id, keep=False)
        except StoreCorrupt as exc:
            return {**row, "damage": exc.reason}, None
        except StoreError as exc:
            return {**row, "damage": str(exc)}, None
        from reader.documents import Document

        doc = Document.from_record(record)
        meta = doc.meta
        text = {k: str(meta.get(k) or "") for k in ("date", "source", "sitename", "feed")}
        sentences = self.sentences(doc)
        return {**row, "title": doc.title, "date": text["date"], "source": text["source"], "site": text["sitename"],
                "feed": text["feed"], "supersedes": str(meta["supersedes"]) if meta.get("supersedes") else None,
                "sentences": len(sentences) if sentences is not None else None,
                "position": _natural_key(text["source"]) + "\0" + doc_id,
                "folded": fold(" ".join([doc.title, text["source"], text["sitename"], text["feed"]]))}, sentences

    def _work_row(self, doc_id: str, annotator: str, sentences: Sequence[tuple[int, int]]) -> dict | None:
        version = self.store.file_version(doc_id, annotator)
        if version is None:
            return None
        row = {"doc_id": doc_id, "annotator": annotator, "version": ":".join(map(str, version)), "tagged": 0,
               "notes": 0, "decisions": 0, "done": 0, "labels": "\n", "damage": None, "outcomes": []}
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
        return {**row, "outcomes": [(m.model, m.accepted, m.dismissed, m.corrected) for m in models.values()],
                "tagged": len(tagged), "notes": work.counts.get("note", 0),
                "decisions": work.counts.get("entity", 0), "done": int(work.done),
                "labels": "\n" + "".join(f"{label}\n" for label in labels)}
