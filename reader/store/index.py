"""The library's index: SQLite beside the files (`.index.sqlite`, git-ignored), never instead of them. Every row
is derived from a file and carries that file's version, so a missing, damaged or stale index is rebuilt from the
files; the files stay the truth. Writers mark a row pending before they write its file and clear the mark once the
row is derived again, so a crash in between leaves a mark the next reader repairs."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reader.store.files import json_line

INDEX_FILE = ".index.sqlite"
SCHEMA = 7
CAP = 10_000
"""Hits a screen counts at most, and past which a page is read by walking the documents newest first."""
FOLDED = "tokenize = 'unicode61 remove_diacritics 2'"  # the text is folded already (`reader.search.fold`)

_TABLES = """
CREATE TABLE IF NOT EXISTS state(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs(
    id TEXT PRIMARY KEY, version TEXT NOT NULL, title TEXT NOT NULL, date TEXT NOT NULL, source TEXT NOT NULL,
    site TEXT NOT NULL, feed TEXT NOT NULL, supersedes TEXT, sentences INTEGER, position TEXT NOT NULL,
    folded TEXT NOT NULL, damage TEXT, conflicts INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS docs_date ON docs(date DESC, position, id);
CREATE INDEX IF NOT EXISTS docs_position ON docs(position);
CREATE INDEX IF NOT EXISTS docs_title ON docs(title COLLATE NOCASE, id);
CREATE INDEX IF NOT EXISTS docs_supersedes ON docs(supersedes);
CREATE INDEX IF NOT EXISTS docs_source ON docs(source);
CREATE INDEX IF NOT EXISTS docs_damaged ON docs(id) WHERE damage IS NOT NULL;
CREATE INDEX IF NOT EXISTS docs_shown ON docs(id) WHERE damage IS NULL;
CREATE TABLE IF NOT EXISTS work(
    doc_id TEXT NOT NULL, annotator TEXT NOT NULL, version TEXT NOT NULL, tagged INTEGER NOT NULL,
    notes INTEGER NOT NULL, decisions INTEGER NOT NULL, done INTEGER NOT NULL, labels TEXT NOT NULL, damage TEXT,
    PRIMARY KEY(doc_id, annotator));
CREATE INDEX IF NOT EXISTS work_damaged ON work(doc_id) WHERE damage IS NOT NULL;
CREATE TABLE IF NOT EXISTS outcomes(
    doc_id TEXT NOT NULL, annotator TEXT NOT NULL, model TEXT NOT NULL, accepted INTEGER NOT NULL,
    dismissed INTEGER NOT NULL, corrected INTEGER NOT NULL, PRIMARY KEY(doc_id, annotator, model));
CREATE TABLE IF NOT EXISTS pending(doc_id TEXT NOT NULL, annotator TEXT NOT NULL, PRIMARY KEY(doc_id, annotator));
CREATE TABLE IF NOT EXISTS sentences(
    id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, n INTEGER, start INTEGER NOT NULL, end INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS sentences_doc ON sentences(doc_id, n, start);
CREATE VIRTUAL TABLE IF NOT EXISTS sentence_text USING fts5(text, {folded});
CREATE TABLE IF NOT EXISTS tags(
    doc_id TEXT NOT NULL, annotator TEXT NOT NULL, n INTEGER NOT NULL, label TEXT NOT NULL, sid INTEGER);
CREATE INDEX IF NOT EXISTS tags_doc ON tags(doc_id, n);
CREATE INDEX IF NOT EXISTS tags_label ON tags(label, sid, annotator);
CREATE TABLE IF NOT EXISTS notes(
    id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, annotator TEXT NOT NULL, n INTEGER, start INTEGER NOT NULL,
    end INTEGER NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS notes_doc ON notes(doc_id, annotator);
CREATE VIRTUAL TABLE IF NOT EXISTS note_text USING fts5(text, {folded});
CREATE TABLE IF NOT EXISTS found(
    doc_id TEXT NOT NULL, n INTEGER, start INTEGER NOT NULL, end INTEGER NOT NULL, key TEXT NOT NULL,
    surface TEXT NOT NULL, labels TEXT NOT NULL, sid INTEGER);
CREATE INDEX IF NOT EXISTS found_doc ON found(doc_id);
CREATE INDEX IF NOT EXISTS found_key ON found(key, sid);
CREATE TABLE IF NOT EXISTS entities(key TEXT PRIMARY KEY, mentions INTEGER NOT NULL, docs INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS entities_mentions ON entities(mentions DESC, key);
CREATE TABLE IF NOT EXISTS entity_names(
    key TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, mentions INTEGER NOT NULL, PRIMARY KEY(key, kind, name));
""".replace("{folded}", FOLDED)
TABLES = ("state", "docs", "work", "outcomes", "pending", "sentences", "sentence_text", "tags", "notes", "note_text",
          "mentions", "found", "entities", "entity_names")  # `mentions`: schema 4's, dropped

DOC_FIELDS = ("id", "version", "title", "date", "source", "site", "feed", "supersedes", "sentences", "position",
              "folded", "damage", "conflicts")
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
    conflicts: bool | None = None  # annotators disagree somewhere `reader review` would show (or nowhere)
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


@dataclass(frozen=True)
class Search:
    """Sentences across the library: `match` an FTS5 query over the folded text (of notes with `notes`), `labels`
    tagged on the sentence, `keys` one of these entities mentioned in it; `annotator`: only their tags and notes."""

    match: str | None = None
    labels: tuple[str, ...] = ()
    keys: tuple[str, ...] | None = None
    annotator: str | None = None
    notes: bool = False


@dataclass(frozen=True)
class Hit:
    doc_id: str
    title: str
    date: str
    sentence: int | None  # None: a passage of a document not analysed yet, or a note on the whole document
    start: int
    end: int
    note: str | None = None  # the note that matched (`Search.notes`)


@dataclass(frozen=True)
class Entity:
    key: str  # the normalised surface that groups a mention's spellings (`reader.library.entity_key`)
    mentions: int
    docs: int
    surfaces: tuple[tuple[str, int], ...]  # (spelling, mentions), most frequent first
    labels: tuple[tuple[str, int], ...]


_SHOWN = "+d.damage IS NULL"
"""Not damaged, written so that SQLite does not read every shown document through `docs_shown` (random reads where a
scan of the table is four times faster); only the library's plain count uses that index (`Index.count`)."""

_SID = "(SELECT id FROM sentences WHERE doc_id = ?1 AND n = ?{n})"
"""The id of the sentence a tag or mention is on, looked up as it is written: a search reads a label's or an
entity's sentences through one index, without a join (whole documents are derived again when sentences change)."""


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Index:
    """One SQLite connection shared by this process's threads (WAL: other processes read while one writes)."""

    def __init__(self, path: Path | None) -> None:
        """`path` None: in memory, for a store whose folder cannot be written (built again at every open)."""
        self.path = path
        self._mutex = threading.RLock()
        self._depth = 0  # transactions open (in the thread holding the mutex)
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
                db.executescript("".join(f"DROP TABLE IF EXISTS {table};" for table in TABLES))
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
    def bulk(self) -> Iterator[None]:
        """A page cache of up to 64 MB while many rows are derived (a rebuild's inserts, keyed by hash ids, land all
        over the indexes: a fifth faster at 100,000 documents), given back after."""
        with self._mutex:
            self._db.execute("PRAGMA cache_size=-65536")
        try:
            yield
        finally:
            with self._mutex:
                self._db.execute("PRAGMA cache_size=-2000")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction for every write inside, nested ones included (a sweep's batch of rows)."""
        with self._mutex:
            if self._depth:  # inside a transaction: its own
                yield self._db
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            finally:
                self._depth -= 1
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

    def replace(self, docs: Sequence[dict], works: Mapping[str, Sequence[dict]]) -> None:
        """Documents derived again whole, in a few statements however many there are (a sweep's batch): each
        document row with its `passages` [(sentence, start, end, folded text)], and every annotator's row of them
        (`_insert_work`). Their entity mentions follow (`put_found`): whether a document counts depends on the
        others."""
        marks = ", ".join("?" * len(DOC_FIELDS))
        with self.transaction() as db:
            self._delete(db, [d["id"] for d in docs])
            db.executemany(f"INSERT INTO docs VALUES ({marks})", [[d[f] for f in DOC_FIELDS] for d in docs])
            passages = [(d["id"], *p) for d in docs for p in d["passages"]]
            first = db.execute("SELECT COALESCE(max(id), 0) + 1 FROM sentences").fetchone()[0]
            db.executemany("INSERT INTO sentences VALUES (?, ?, ?, ?, ?)",
                           [(first + i, *p[:4]) for i, p in enumerate(passages)])
            db.executemany("INSERT INTO sentence_text(rowid, text) VALUES (?, ?)",
                           [(first + i, p[4]) for i, p in enumerate(passages)])
            self._insert_work(db, [(doc_id, row) for doc_id, rows in works.items() for row in rows])

    @staticmethod
    def _delete(db: sqlite3.Connection, doc_ids: Sequence[str], annotator: str | None = None) -> None:
        """Every row derived from these documents' files (`annotator`: only from that annotator's), but `found`."""
        ids = json_line(list(doc_ids)).decode()
        keep = "" if annotator is None else " AND annotator = :who"
        params = {"ids": ids, "who": annotator}
        among = "doc_id IN (SELECT value FROM json_each(:ids))"
        db.execute(f"DELETE FROM note_text WHERE rowid IN (SELECT id FROM notes WHERE {among}{keep})", params)
        for table in ("work", "outcomes", "tags", "notes"):
            db.execute(f"DELETE FROM {table} WHERE {among}{keep}", params)
        if annotator is not None:
            return
        db.execute(f"DELETE FROM sentence_text WHERE rowid IN (SELECT id FROM sentences WHERE {among})", params)
        db.execute(f"DELETE FROM sentences WHERE {among}", params)
        db.execute("DELETE FROM docs WHERE id IN (SELECT value FROM json_each(:ids))", params)

    @staticmethod
    def _insert_work(db: sqlite3.Connection, rows: Sequence[tuple[str, dict]]) -> None:
        """(doc id, annotator's row) pairs, each row with its `outcomes` [(model, accepted, dismissed,
        corrected)], `tags` [(sentence, label)] and `notes_found` [(sentence, start, end, text, folded text)]."""
        marks = ", ".join("?" * len(WORK_FIELDS))
        db.executemany(f"INSERT INTO work VALUES ({marks})", [[r[f] for f in WORK_FIELDS] for _, r in rows])
        db.executemany("INSERT INTO outcomes VALUES (?, ?, ?, ?, ?, ?)",
                       [(d, r["annotator"], *o) for d, r in rows for o in r["outcomes"]])
        db.executemany(f"INSERT INTO tags VALUES (?1, ?2, ?3, ?4, {_SID.format(n=3)})",
                       [(d, r["annotator"], *t) for d, r in rows for t in r["tags"]])
        notes = [(d, r["annotator"], *note) for d, r in rows for note in r["notes_found"]]
        first = db.execute("SELECT COALESCE(max(id), 0) + 1 FROM notes").fetchone()[0]
        db.executemany("INSERT INTO notes VALUES (?, ?, ?, ?, ?, ?, ?)",
                       [(first + i, *note[:6]) for i, note in enumerate(notes)])
        db.executemany("INSERT INTO note_text(rowid, text) VALUES (?, ?)",
                       [(first + i, note[6]) for i, note in enumerate(notes)])

    def put_work(self, doc_id: str, annotator: str, row: dict | None) -> None:
        """One annotator's row of a document (`_insert_work`), None when their file is gone."""
        with self.transaction() as db:
            self._delete(db, [doc_id], annotator)
            if row is not None:
                self._insert_work(db, [(doc_id, row)])

    def set_conflicts(self, doc_id: str, count: int) -> None:
        with self.transaction() as db:
            db.execute("UPDATE docs SET conflicts = ? WHERE id = ?", (count, doc_id))

    def current(self, source: str) -> str | None:
        """The document holding the current version of a source (none superseded it), if any."""
        found = self._all("SELECT id FROM docs WHERE source = ? AND damage IS NULL AND id NOT IN "
                          "(SELECT supersedes FROM docs WHERE supersedes IS NOT NULL) ORDER BY position DESC LIMIT 1",
                          (source,))
        return found[0][0] if found else None

    def superseded(self, doc_ids: Sequence[str]) -> set[str]:
        """Those of the documents a newer version supersedes."""
        return {d for (d,) in self._all("SELECT supersedes FROM docs WHERE supersedes IN "
                                        "(SELECT value FROM json_each(?))", (json_line(list(doc_ids)).decode(),))}

    def drop(self, doc_ids: Iterable[str]) -> list[str]:
        """Documents gone (every row of theirs); returns the documents the gone ones superseded, shown again."""
        doc_ids = list(doc_ids)
        with self.transaction() as db:
            uncovered = [s for (s,) in db.execute("SELECT supersedes FROM docs WHERE supersedes IS NOT NULL AND id IN "
                                                  "(SELECT value FROM json_each(?))", (json_line(doc_ids).decode(),))]
            self._delete(db, doc_ids)
            self.put_found(dict.fromkeys(doc_ids, ()))
        return uncovered

    # --- entities: each document's mentions as its annotators see them, and their totals ---

    def put_found(self, found: Mapping[str, Sequence[tuple]]) -> None:
        """Documents' entity mentions {doc id: [(sentence, start, end, key, surface, labels "\\nA\\n")]}, the
        totals moved by the difference with their rows before: a save costs its own document, whatever the
        library's size."""
        ids = json_line(list(found)).decode()
        with self.transaction() as db:
            old = db.execute("SELECT doc_id, key, surface, labels FROM found WHERE doc_id IN "
                             "(SELECT value FROM json_each(?))", (ids,)).fetchall()
            totals: dict[str, list[int]] = {}
            names: dict[tuple[str, str, str], int] = {}
            new = [(d, *r[3:]) for d, rows in found.items() for r in rows]
            for step, rows in ((-1, old), (1, new)):
                for key in {(d, key) for d, key, _, _ in rows}:
                    totals.setdefault(key[1], [0, 0])[1] += step
                for _, key, surface, labels in rows:
                    totals[key][0] += step
                    names[key, "surface", surface] = names.get((key, "surface", surface), 0) + step
                    for label in labels.strip("\n").split("\n") if labels.strip("\n") else ():
                        names[key, "label", label] = names.get((key, "label", label), 0) + step
            db.execute("DELETE FROM found WHERE doc_id IN (SELECT value FROM json_each(?))", (ids,))
            db.executemany(f"INSERT INTO found VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, {_SID.format(n=2)})",
                           [(d, *r) for d, rows in found.items() for r in rows])
            moved = [(key, m, n) for key, (m, n) in totals.items() if m or n]
            db.executemany("INSERT INTO entities VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                           "mentions = mentions + excluded.mentions, docs = docs + excluded.docs", moved)
            db.executemany("INSERT INTO entity_names VALUES (?, ?, ?, ?) ON CONFLICT(key, kind, name) DO UPDATE "
                           "SET mentions = mentions + excluded.mentions",
                           [(*name, m) for name, m in names.items() if m])
            db.executemany("DELETE FROM entities WHERE key = ? AND mentions <= 0", [(k,) for k, _, _ in moved])
            db.executemany("DELETE FROM entity_names WHERE key = ? AND kind = ? AND name = ? AND mentions <= 0",
                           [name for name, m in names.items() if m])

    def entities(self, like: str | None = None, offset: int = 0, limit: int = -1) -> list[Entity]:
        """The store's entities, most mentioned first (`like`: only keys where a word begins with these words)."""
        where, params = self._entity_where(like)
        found = self._all(f"SELECT key, mentions, docs FROM entities {where} ORDER BY mentions DESC, key "
                          "LIMIT :limit OFFSET :offset", {**params, "limit": limit, "offset": offset})
        out = []
        for key, mentions, docs in found:
            names = self._all("SELECT kind, name, mentions FROM entity_names WHERE key = ? "
                              "ORDER BY mentions DESC, name", (key,))
            out.append(Entity(key, mentions, docs, tuple((n, m) for kind, n, m in names if kind == "surface"),
                              tuple((n, m) for kind, n, m in names if kind == "label")))
        return out

    def entity_count(self, like: str | None = None) -> int:
        where, params = self._entity_where(like)
        return self._all(f"SELECT count(*) FROM entities {where}", params)[0][0]

    def entity_keys(self, key: str) -> tuple[str, ...]:
        """The entities a typed name means: its own key when the store has it, else those `like` it (`entities`)."""
        if self._all("SELECT 1 FROM entities WHERE key = ?", (key,)):
            return (key,)
        where, params = self._entity_where(key)
        return tuple(k for (k,) in self._all(f"SELECT key FROM entities {where} ORDER BY mentions DESC", params))

    @staticmethod
    def _entity_where(like: str | None) -> tuple[str, dict]:
        if not like:
            return "", {}
        return "WHERE ' ' || key LIKE :like ESCAPE '\\'", {"like": _like(f" {like}")}

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
    def _where(query: Query, narrow: bool = False) -> tuple[str, dict]:
        """`narrow`: the plain count, read through `docs_shown` (`_SHOWN`)."""
        clauses = ["d.damage IS NULL" if narrow else _SHOWN]
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
        if query.conflicts is not None:
            clauses.append("d.conflicts > 0" if query.conflicts else "d.conflicts = 0")
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
        """(documents the query keeps, how many of them `annotator` marked done): counted apart unless the query
        is on the done mark or words, so the documents are counted from a narrow index (a fifth of the time at
        100,000)."""
        where, params = self._where(query)
        if query.done is not None or query.words:  # one pass: words are read off each row anyway
            return self._all(f"SELECT count(*), COALESCE(sum(w.done), 0) {self._FROM} WHERE {where}", params)[0]
        return (self._all(f"SELECT count(*) FROM docs d WHERE {self._where(query, narrow=True)[0]}", params)[0][0],
                self._all(f"SELECT count(*) FROM docs d JOIN work w ON w.doc_id = d.id AND w.annotator = :who "
                          f"WHERE {where} AND w.done = 1", params)[0][0])

    def outcomes(self, query: Query) -> list[tuple[str, int, int, int]]:
        """(model, accepted, dismissed, corrected) summed over every annotator of the documents the query keeps."""
        where, params = self._where(query)
        return self._all(f"SELECT o.model, sum(o.accepted), sum(o.dismissed), sum(o.corrected) FROM outcomes o "
                         f"JOIN docs d ON d.id = o.doc_id LEFT JOIN work w ON w.doc_id = d.id AND w.annotator = :who "
                         f"WHERE {where} GROUP BY o.model ORDER BY o.model", params)

    # --- search across the library ---

    def _search_where(self, search: Search, walk: bool = False) -> tuple[str, str, dict]:
        """(FROM, WHERE, parameters) of the sentences (or notes) a search finds, in documents the library shows.
        Each condition is a set of sentence ids read through its own index (words, labels, entities), the smallest
        first (SQLite reads the first through its index and checks the others), so a rare one costs its few rows;
        `walk`: the documents are read newest first until the page is full, for a set so large that sorting it
        would cost more (`CAP`)."""
        params: dict = {"who": search.annotator, "match": search.match}
        mine = "" if search.annotator is None else " AND t.annotator = :who"
        sets: list[tuple[int, str]] = []
        if search.notes:
            source = ("FROM notes o JOIN docs d ON d.id = o.doc_id "
                      "LEFT JOIN sentences s ON s.doc_id = o.doc_id AND s.n = o.n")
            clauses = ["o.id IN (SELECT rowid FROM note_text WHERE note_text MATCH :match)"] if search.match else []
            clauses += [] if search.annotator is None else ["o.annotator = :who"]
        else:
            source = "FROM docs d CROSS JOIN sentences s ON s.doc_id = d.id" if walk \
                else "FROM sentences s JOIN docs d ON d.id = s.doc_id"
            clauses = []
            if search.match:
                sets.append(("SELECT count(*) FROM sentence_text WHERE sentence_text MATCH :match",
                             "s.id IN (SELECT rowid FROM sentence_text WHERE sentence_text MATCH :match)"))
        for n, label in enumerate(search.labels):
            params[f"l{n}"] = label
            sets.append((f"SELECT count(*) FROM tags WHERE label = :l{n}",
                         f"s.id IN (SELECT t.sid FROM tags t WHERE t.label = :l{n}{mine})"))
        if search.keys is not None:
            params["keys"] = json_line(list(search.keys)).decode()
            sets.append(("SELECT COALESCE(sum(mentions), 0) FROM entities WHERE key IN (SELECT value FROM "
                         "json_each(:keys))", "s.id IN (SELECT f.sid FROM found f WHERE f.key IN "
                                              "(SELECT value FROM json_each(:keys)))"))
        if len(sets) > 1:  # sized only when there is a choice: a phrase's count costs what its search does
            sets.sort(key=lambda pair: self._all(pair[0], params)[0][0])
        clauses = [clause for _, clause in sets] + clauses
        clauses += [_SHOWN, "d.id NOT IN (SELECT supersedes FROM docs WHERE supersedes IS NOT NULL)"]
        return source, " AND ".join(clauses), params

    def search(self, search: Search, offset: int = 0, limit: int = -1, *, walk: bool = False) -> list[Hit]:
        """The hits in the library's order (newest document first, then by place in the text); `walk` when there
        are `CAP` or more of them."""
        source, where, params = self._search_where(search, walk and not search.notes)
        note, order = ("o.text", "o.start, o.id") if search.notes else ("NULL", "s.n, s.start")
        found = self._all(f"SELECT d.id, d.title, d.date, s.n, COALESCE(s.start, 0), COALESCE(s.end, 0), {note} "
                          f"{source} "
                          f"WHERE {where} ORDER BY {SORTS['date']}, {order} LIMIT :limit OFFSET :offset",
                          {**params, "limit": limit, "offset": offset})
        return [Hit(*r) for r in found]

    def search_count(self, search: Search, cap: int | None = None) -> tuple[int, int]:
        """(hits, documents holding them); with `cap`, counted no further than `cap` hits (what a key can afford
        whatever the library's size: the screen says "10,000+")."""
        source, where, params = self._search_where(search)
        if cap is None:
            return self._all(f"SELECT count(*), count(DISTINCT d.id) {source} WHERE {where}", params)[0]
        return self._all(f"SELECT count(*), count(DISTINCT id) FROM (SELECT d.id AS id {source} WHERE {where} "
                         "LIMIT :cap)", {**params, "cap": cap})[0]

    def position(self, query: Query, doc_id: str) -> int | None:
        """The row a document is on in this query's order, None when the query leaves it out."""
        where, params = self._where(query)
        found = self._all(f"SELECT n FROM (SELECT d.id, row_number() OVER (ORDER BY {SORTS[query.sort]}) - 1 AS n "
                          f"{self._FROM} WHERE {where}) WHERE id = :doc", {**params, "doc": doc_id})
        return found[0][0] if found else None
