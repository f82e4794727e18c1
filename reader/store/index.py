"""The library's index: SQLite beside the files (`.index.sqlite`, git-ignored), never instead of them. Every row
is derived from a file and carries that file's version, so a missing, damaged or stale index is rebuilt from the
files; the files stay the truth. Writers mark a row pending before they write its file and clear the mark once the
row is derived again, so a crash in between leaves a mark the next reader repairs."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from reader.store.files import json_line

INDEX_FILE = ".index.sqlite"
SCHEMA = 2

_TABLES = """
CREATE TABLE IF NOT EXISTS state(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs(
    id TEXT PRIMARY KEY, version TEXT NOT NULL, title TEXT NOT NULL, date TEXT NOT NULL, source TEXT NOT NULL,
    site TEXT NOT NULL, feed TEXT NOT NULL, supersedes TEXT, sentences INTEGER, position TEXT NOT NULL,
    folded TEXT NOT NULL, damage TEXT);
CREATE INDEX IF NOT EXISTS docs_date ON docs(date DESC, position, id);
CREATE INDEX IF NOT EXISTS docs_position ON docs(position);
CREATE INDEX IF NOT EXISTS docs_title ON docs(title COLLATE NOCASE, id);
CREATE INDEX IF NOT EXISTS docs_supersedes ON docs(supersedes);
CREATE TABLE IF NOT EXISTS work(
    doc_id TEXT NOT NULL, annotator TEXT NOT NULL, version TEXT NOT NULL, tagged INTEGER NOT NULL,
    notes INTEGER NOT NULL, decisions INTEGER NOT NULL, done INTEGER NOT NULL, labels TEXT NOT NULL, damage TEXT,
    PRIMARY KEY(doc_id, annotator));
CREATE TABLE IF NOT EXISTS outcomes(
    doc_id TEXT NOT NULL, annotator TEXT NOT NULL, model TEXT NOT NULL, accepted INTEGER NOT NULL,
    dismissed INTEGER NOT NULL, corrected INTEGER NOT NULL, PRIMARY KEY(doc_id, annotator, model));
CREATE TABLE IF NOT EXISTS pending(doc_id TEXT NOT NULL, annotator TEXT NOT NULL, PRIMARY KEY(doc_id, annotator));
"""

DOC_FIELDS = ("id", "version", "title", "date", "source", "site", "feed", "supersedes", "sentences", "position",
              "folded", "damage")
WORK_FIELDS = ("doc_id", "annotator", "version", "tagged", "notes", "decisions", "done", "labels", "damage")

SORTS = {
    "date": "d.date DESC, d.position, d.id",
    "title": "d.title COLLATE NOCASE, d.id",
    "source": "d.position, d.id",
    "progress": "COALESCE(CAST(w.tagged AS REAL) / NULLIF(d.sentences, 0), 0), d.position, d.id",
    "done": "COALESCE(w.done, 0), d.date DESC, d.position, d.id",
    "tagged": "COALESCE(w.tagged, 0) DESC, d.id",
    "id": "d.position, d.id",
}
"""ORDER BY of each sort, the document id last so that every order is total (a row's position is stable)."""


@dataclass(frozen=True)
class Query:
    """Which documents, in which order, with whose progress. `words` are folded (`reader.search.fold`)."""

    annotator: str
    sort: str = "date"
    words: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    by: tuple[str, ...] = ()  # someone's work is on the document
    done: bool | None = None  # done (or not) by `annotator`
    all_versions: bool = False
    ids: tuple[str, ...] | None = None  # only these documents (the files a command line named)


@dataclass(frozen=True)
class Row:
    doc_id: str
    title: str
    date: str
    source: str
    site: str
    sentences: int | None
    tagged: int
    notes: int
    decisions: int
    done: bool


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Index:
    """One SQLite connection shared by this process's threads (WAL: other processes read while one writes)."""

    def __init__(self, path: Path | None) -> None:
        """`path` None: in memory, for a store whose folder cannot be written (built again at every open)."""
        self.path = path
        self._mutex = threading.RLock()
        self._depth = 0  # `batch`es open (in the thread holding the mutex)
        self._db = self._connect()

    def _connect(self) -> sqlite3.Connection:
        target = str(self.path) if self.path is not None else ":memory:"
        try:
            db = self._open(target)
        except sqlite3.DatabaseError:  # not a database, or damaged: it is only derived data
            if self.path is None:
                raise
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    Path(f"{self.path}{suffix}").unlink()
            db = self._open(target)
        return db

    @staticmethod
    def _open(target: str) -> sqlite3.Connection:
        db = sqlite3.connect(target, timeout=10, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA:
                db.executescript("DROP TABLE IF EXISTS state; DROP TABLE IF EXISTS docs; DROP TABLE IF EXISTS work; "
                                 "DROP TABLE IF EXISTS outcomes; DROP TABLE IF EXISTS pending;")
                db.executescript(_TABLES)
                db.execute(f"PRAGMA user_version={SCHEMA}")
            db.execute("SELECT count(*) FROM docs").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def close(self) -> None:
        with self._mutex:
            self._db.close()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for every write inside (a sweep's batch of rows)."""
        with self.transaction():
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._mutex:
            if self._depth:  # inside a batch: its transaction
                yield self._db
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _all(self, sql: str, params: Sequence | dict = ()) -> list[tuple]:
        with self._mutex:
            return self._db.execute(sql, params).fetchall()

    def get(self, key: str) -> str | None:
        found = self._all("SELECT value FROM state WHERE key = ?", (key,))
        return found[0][0] if found else None

    def put(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (key, value))

    # --- rows and their versions ---

    def put_docs(self, rows: Iterable[dict]) -> None:
        marks = ", ".join("?" * len(DOC_FIELDS))
        with self.transaction() as db:
            db.executemany(f"INSERT OR REPLACE INTO docs VALUES ({marks})", [[r[f] for f in DOC_FIELDS] for r in rows])

    def put_work(self, doc_id: str, rows: Sequence[dict], *, replace_all: bool = False) -> None:
        """Annotators' rows of a document, each with its `outcomes` [(model, accepted, dismissed, corrected)]
        (`replace_all`: the document's other annotators' rows go)."""
        marks = ", ".join("?" * len(WORK_FIELDS))
        with self.transaction() as db:
            if replace_all:
                db.execute("DELETE FROM work WHERE doc_id = ?", (doc_id,))
                db.execute("DELETE FROM outcomes WHERE doc_id = ?", (doc_id,))
            db.executemany(f"INSERT OR REPLACE INTO work VALUES ({marks})", [[r[f] for f in WORK_FIELDS] for r in rows])
            db.executemany("DELETE FROM outcomes WHERE doc_id = ? AND annotator = ?",
                           [(doc_id, r["annotator"]) for r in rows])
            db.executemany("INSERT INTO outcomes VALUES (?, ?, ?, ?, ?, ?)",
                           [(doc_id, r["annotator"], *o) for r in rows for o in r["outcomes"]])

    def drop(self, doc_ids: Iterable[str], work: Iterable[tuple[str, str]] = ()) -> None:
        with self.transaction() as db:
            for doc_id in doc_ids:
                for sql in ("DELETE FROM docs WHERE id = ?", "DELETE FROM work WHERE doc_id = ?",
                            "DELETE FROM outcomes WHERE doc_id = ?"):
                    db.execute(sql, (doc_id,))
            for sql in ("DELETE FROM work WHERE doc_id = ? AND annotator = ?",
                        "DELETE FROM outcomes WHERE doc_id = ? AND annotator = ?"):
                db.executemany(sql, list(work))

    def versions(self) -> tuple[dict[str, tuple[str, int | None]], dict[tuple[str, str], str]]:
        """({doc id: (version, sentences)}, {(doc id, annotator): version}): what a sweep compares with the files."""
        docs = {i: (v, n) for i, v, n in self._all("SELECT id, version, sentences FROM docs")}
        work = {(d, a): v for d, a, v in self._all("SELECT doc_id, annotator, version FROM work")}
        return docs, work

    def versions_of(self, doc_id: str) -> tuple[str | None, int | None, dict[str, str]]:
        """(the document row's version, its sentences, {annotator: its work row's version}) of one document."""
        found = self._all("SELECT version, sentences FROM docs WHERE id = ?", (doc_id,)) or [(None, None)]
        return *found[0], dict(self._all("SELECT annotator, version FROM work WHERE doc_id = ?", (doc_id,)))

    def deciders(self) -> list[tuple[str, str]]:
        """(doc id, annotator) of every annotator's file with entity decisions, in the current documents."""
        return self._all("SELECT w.doc_id, w.annotator FROM work w JOIN docs d ON d.id = w.doc_id "
                         "WHERE w.decisions > 0 AND d.damage IS NULL AND d.id NOT IN "
                         "(SELECT supersedes FROM docs WHERE supersedes IS NOT NULL) ORDER BY d.position, w.annotator")

    def damaged(self) -> list[tuple[str, str, str]]:
        """(doc id, annotator or "", reason) of every file that did not parse when it was last read."""
        return [*self._all("SELECT id, '', damage FROM docs WHERE damage IS NOT NULL"),
                *self._all("SELECT doc_id, annotator, damage FROM work WHERE damage IS NOT NULL")]

    # --- pending rows: marked before a write, cleared once derived again ---

    def mark(self, doc_id: str, annotator: str = "") -> None:
        """Before writing a file: its row is to be derived again ("": the document's row and all its work)."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO pending VALUES (?, ?)", (doc_id, annotator))

    def marked(self) -> list[tuple[int, str, str]]:
        return self._all("SELECT rowid, doc_id, annotator FROM pending")

    def unmark(self, marks: Iterable[tuple[int, str, str]]) -> None:
        """Clear marks as they were read: one set again since (another write) stays."""
        with self.transaction() as db:
            db.executemany("DELETE FROM pending WHERE rowid = ? AND doc_id = ? AND annotator = ?", list(marks))

    # --- the library's queries ---

    @staticmethod
    def _where(query: Query) -> tuple[str, dict]:
        clauses = ["d.damage IS NULL"]
        params: dict = {"who": query.annotator}
        if not query.all_versions:
            clauses.append("d.id NOT IN (SELECT supersedes FROM docs WHERE supersedes IS NOT NULL)")
        for n, word in enumerate(query.words):
            clauses.append(f"d.folded LIKE :w{n} ESCAPE '\\'")
            params[f"w{n}"] = _like(word)
        for n, label in enumerate(query.labels):
            clauses.append(f"EXISTS (SELECT 1 FROM work l WHERE l.doc_id = d.id AND l.labels LIKE :l{n} ESCAPE '\\')")
            params[f"l{n}"] = _like(f"\n{label}\n")
        for n, name in enumerate(query.by):
            clauses.append(f"EXISTS (SELECT 1 FROM work b WHERE b.doc_id = d.id AND b.annotator = :b{n} "
                           "AND b.tagged + b.notes + b.decisions + b.done > 0)")
            params[f"b{n}"] = name
        if query.ids is not None:
            clauses.append("d.id IN (SELECT value FROM json_each(:ids))")
            params["ids"] = json_line(list(query.ids)).decode()
        if query.done is not None:
            clauses.append("COALESCE(w.done, 0) = :done")
            params["done"] = int(query.done)
        return " AND ".join(clauses), params

    _FROM = "FROM docs d LEFT JOIN work w ON w.doc_id = d.id AND w.annotator = :who"

    def rows(self, query: Query, offset: int = 0, limit: int = -1) -> list[Row]:
        where, params = self._where(query)
        found = self._all(f"SELECT d.id, d.title, d.date, d.source, d.site, d.sentences, COALESCE(w.tagged, 0), "
                          f"COALESCE(w.notes, 0), COALESCE(w.decisions, 0), COALESCE(w.done, 0) {self._FROM} "
                          f"WHERE {where} ORDER BY {SORTS[query.sort]} LIMIT :limit OFFSET :offset",
                          {**params, "limit": limit, "offset": offset})
        return [Row(*r[:9], bool(r[9])) for r in found]

    def count(self, query: Query) -> tuple[int, int]:
        """(documents the query keeps, how many of them `annotator` marked done)."""
        where, params = self._where(query)
        return self._all(f"SELECT count(*), COALESCE(sum(w.done), 0) {self._FROM} WHERE {where}", params)[0]

    def outcomes(self, query: Query) -> list[tuple[str, int, int, int]]:
        """(model, accepted, dismissed, corrected) summed over every annotator of the documents the query keeps."""
        where, params = self._where(query)
        return self._all(f"SELECT o.model, sum(o.accepted), sum(o.dismissed), sum(o.corrected) FROM outcomes o "
                         f"JOIN docs d ON d.id = o.doc_id LEFT JOIN work w ON w.doc_id = d.id AND w.annotator = :who "
                         f"WHERE {where} GROUP BY o.model ORDER BY o.model", params)

    def position(self, query: Query, doc_id: str) -> int | None:
        """The row a document is on in this query's order, None when the query leaves it out."""
        where, params = self._where(query)
        found = self._all(f"SELECT n FROM (SELECT d.id, row_number() OVER (ORDER BY {SORTS[query.sort]}) - 1 AS n "
                          f"{self._FROM} WHERE {where}) WHERE id = :doc", {**params, "doc": doc_id})
        return found[0][0] if found else None
