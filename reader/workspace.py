"""The domain façade the CLI and the TUI share, so a command and a keypress take the same path."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reader import analysis as an
from reader import collector
from reader import patterns as pt
from reader.annotations import DONE, GOLD, Annotation, AnnotatorWork
from reader.documents import Document
from reader.entity_labels import EntityLabels, load_entity_labels
from reader.labels import LabelSet, load_labels
from reader.library import LARGE, Library, Query, Row
from reader.session import AnnotationSession
from reader.store import Store, StoreCorrupt, StoreError

if TYPE_CHECKING:
    from reader.analysis_process import AnalysisProcess


@dataclass(frozen=True)
class ImportResult:
    document: Document
    added: bool
    replaces: str | None = None  # the earlier version (same source, edited text) whose annotations moved here
    lost: tuple = ()  # its annotations whose text is gone (kept there, listed here)


@dataclass(frozen=True)
class Damage:
    """A store file that does not parse: readers leave it out and go on; writes to it are refused."""

    doc_id: str
    annotator: str  # "" for a document file
    path: Path
    reason: str

    def __str__(self) -> str:
        what = f"{self.annotator}'s annotations of {self.doc_id} are" if self.annotator else \
            f"the document {self.doc_id} is"
        return (f"{self.path} is damaged ({self.reason}): {what} left out; the file was left untouched: repair it "
                "or restore it (for example from git)")


_UNREAD = object()


class Workspace:
    @classmethod
    def open(cls, root: Path, *, read_only: bool = False, **options: Any) -> Workspace:
        """The workspace of a store folder (`options`: as `Workspace`'s)."""
        return cls(Store(root, read_only=read_only), **options)

    def __init__(self, store: Store, *, model: str | None = None, annotator: str = "analyst",
                 labels: LabelSet | None = None, entity_labels: EntityLabels | None = None,
                 writer: str | None = None) -> None:
        """`writer`: whose files this process writes, when not the annotator's (`merge` and `review` write gold's)."""
        self.store = store
        store.claim(writer or annotator)  # one writer per annotator: a second one is read-only
        self.model = model
        self.annotator = annotator
        self.labels = labels or load_labels()
        self.entity_labels = entity_labels or load_entity_labels()
        self._pipelines: dict[tuple[str | None, str], Any] = {}
        self._sessions: dict[tuple[str, str], AnnotationSession] = {}
        self._lock = threading.Lock()
        self.analysis_process: AnalysisProcess | None = None  # `isolate_analysis`: the model in a child
        self._damage: dict[tuple[str, str], Damage] = {}
        self._part_keys: dict[str, str] = {}  # `analysis_parts`' cache keys by language
        self._classifiers: dict[tuple[str, str], Any] = {}
        self._entity_model: Any = _UNREAD  # `reader.suggest.ModelInfo` of the entity model in use, read once
        self.entity_model_problem = ""  # why the chosen entity model is not used (one line), if it is not
        self.corrections = pt.Corrections()  # what the entity patterns are made of (`patterns`)
        self.patterns_problem = ""  # why no pattern is applied (one line), if the removals file is damaged
        self._sentences: dict[str, tuple] = {}  # `analysed`: (the analyses' version, what it found), the last read
        self._library: Library | None = None

    # --- the store: the app, the CLI and export reach it only through these (tests/test_architecture.py) ---

    @property
    def read_only(self) -> bool:
        return self.store.read_only

    def read_only_message(self, *, live: bool = False, browser: bool = False) -> str:
        """Why nothing is saved and what to do, in one sentence (`live`: a reader that stays open; `browser`: a tab)."""
        store = self.store
        cause, why = store.read_only_cause, store.read_only_reason or "the store is open in another process"
        if cause == "writer":
            if browser and store.waiting:
                why = f"{store.waiting}'s annotations are open in another tab or terminal"
            if live and store.waiting:
                return f"{why}; this one takes over as soon as that one closes (quit it there)"
            return f"{why}: quit that reader, then try again"
        if cause == "folder":
            return (f"{why}: the store's folder cannot be written here; make it writable (permissions, a "
                    "read-only mount) or copy the store somewhere writable and open that")
        return why

    @property
    def waiting_for_writer(self) -> bool:
        """Read-only because another reader writes this annotator's files (it may quit: `take_over`)."""
        return self.store.waiting is not None

    def take_over(self) -> bool:
        return self.store.take_over()

    def close(self) -> None:
        self.store.close()

    def has_document(self, doc_id: str) -> bool:
        return self.store.has_document(doc_id)

    def add_document(self, doc: Document) -> bool:
        """Store one document as it is (no carry-over from an earlier version); False when already stored."""
        return self.store.add_document(doc.to_record())

    def annotators(self, doc_id: str) -> list[str]:
        return self.store.annotators(doc_id)

    def records(self, doc_id: str, annotator: str, fields: tuple[str, ...] | None = None) -> dict[str, dict]:
        """An annotator's records (read-only; `fields`: only these keys); a damaged file reads as none (`damage`)."""
        try:
            found = self.store.records(doc_id, annotator, fields)
        except StoreCorrupt as exc:
            self._damage[doc_id, annotator] = Damage(doc_id, annotator, exc.path, exc.reason)
            return {}
        self._damage.pop((doc_id, annotator), None)  # repaired since (git checkout)
        return found

    def damage(self, doc_id: str | None = None) -> list[Damage]:
        """The damaged annotation files read so far (of one document), in the order they were found."""
        return [d for d in self._damage.values() if doc_id is None or d.doc_id == doc_id]

    def write(self, doc_id: str, annotator: str, upsert: Iterable[dict] = (), delete: Iterable[str] = ()) -> None:
        self.store.write(doc_id, annotator, upsert=upsert, delete=delete)

    def add_documents(self, docs: Iterable[Document]) -> list[ImportResult]:
        """Store new documents; an edited version of a stored one (same source) takes over its annotations."""
        results = []
        library = self.library()  # which stored document is a source's current version: the index knows
        if library.outdated():
            library.sweep()
        for doc in docs:
            if self.store.has_document(doc.id):
                results.append(ImportResult(doc, False))
                continue
            source = doc.meta.get("source")
            previous = library.index.current(str(source)) if source else None  # never `doc`, which is new
            record = doc.to_record()  # a fresh `meta`
            if previous:  # the new version replaces it in the library, `list` and the exports
                record["meta"]["supersedes"] = previous
            self.store.add_document(record)
            results.append(ImportResult(doc, True, previous, self._carry_over(previous, doc) if previous else ()))
        return results

    def _carry_over(self, old_id: str, doc: Document) -> tuple:
        """Move each annotator's annotations of `old_id` onto `doc`; returns the lost ones (not `done`: unread)."""
        from reader.anchoring import reanchor  # only an edited re-import needs diff-match-patch

        old_text = self.document(old_id).text
        lost_all = []
        for annotator in self.store.annotators(old_id):
            old = [Annotation.from_record(r) for r in self.store.records(old_id, annotator).values()
                   if r.get("kind") != DONE]
            moved, lost = reanchor(old, old_text, doc.text)
            if moved:
                self.store.write(doc.id, annotator, upsert=[a.to_record() for a in moved])
            lost_all.extend(lost)
        return tuple(lost_all)

    # No cyclic collection while a caller reads the whole store (export, agree, merge): the records are acyclic
    # dicts that live until the command returns, and the collector walking them doubled the time.
    bulk_reads = staticmethod(collector.paused)

    def document_ids(self, *, all_versions: bool = False) -> list[str]:
        """In store order, without superseded versions (unless `all_versions`) nor damaged files (`damage`)."""
        ids = self.store.document_ids()
        unreadable = self.store.unreadable_documents()
        for doc_id, exc in unreadable.items():
            self._damage[doc_id, ""] = Damage(doc_id, "", exc.path, exc.reason)
        hidden = {*unreadable, *(() if all_versions else self.superseded())}
        return [doc_id for doc_id in ids if doc_id not in hidden] if hidden else ids

    def superseded(self) -> set[str]:
        """Documents an edited version replaced (its `meta.supersedes`): kept on disk with their annotations."""
        found = set()
        for doc_id in self.store.document_ids():
            with contextlib.suppress(StoreError):  # a damaged document file: `document_ids` reports it
                if old := self.store.document(doc_id)["meta"].get("supersedes"):
                    found.add(old)
        return found

    def document(self, doc_id: str) -> Document:
        return Document.from_record(self.store.document(doc_id))

    def resolve(self, prefix: str) -> str:
        return self.store.resolve(prefix)

    def session(self, doc: Document, annotator: str | None = None) -> AnnotationSession:
        """The annotation session of a document (one per document, so undo history survives reopening)."""
        key = (doc.id, annotator or self.annotator)
        if key not in self._sessions:
            # the store, not `self`: a cycle would keep the store's lock until the next gc
            self._sessions[key] = session = AnnotationSession(self.store, doc, key[1], self.labels)
            session.on_save = self.corrections.saved
        return self._sessions[key]

    def summary(self, doc_id: str, annotator: str | None = None) -> Row:
        """One annotator's progress on a document (never summed over annotators: bob's tags are not alice's), from
        the library's index once its rows match the files."""
        library = self.library()
        library.refresh()
        library.check(doc_id)
        rows = library.rows(Query(annotator or self.annotator, ids=(doc_id,), all_versions=True))
        if not rows:
            self.document(doc_id)  # the error that says why (unknown, damaged)
            raise StoreError(f"the document {doc_id} cannot be listed")
        return rows[0]

    def opening_ids(self) -> list[str] | None:
        """What `reader` opens with no argument: [] (an empty store), [the only document], or None: the library
        (which indexes a large store off its first paint)."""
        library = self.library()
        library.refresh()
        if library.outdated():
            stale = library.stale()
            if len(stale) > LARGE:
                return None
            library.sweep(stale)
        rows = library.rows(Query(self.annotator), 0, 2)
        return [r.doc_id for r in rows] if len(rows) < 2 else None

    def note_damage(self, found: Iterable[tuple[str, str, str]]) -> None:
        """Damaged files the index found (doc id, annotator or "", reason), for `damage` to report."""
        for doc_id, annotator, reason in found:
            path = self.store.annotation_path(doc_id, annotator) if annotator else \
                self.store.root / "documents" / f"{doc_id}.json"
            self._damage.setdefault((doc_id, annotator), Damage(doc_id, annotator, path, reason))

    def entity_model(self, lang: str) -> Any:
        """The trained entity model in use for a language (`reader models use`), unless --model chose a pipeline;
        one that is gone or damaged is none, and `entity_model_problem` says why."""
        if self.model is not None:
            return None
        if self._entity_model is _UNREAD:
            self._entity_model = None
            if (self.models_folder() / "active.json").exists():  # the usual store has none: nothing to import
                from reader import suggest

                if name := suggest.active_names(self.models_folder()).get("ner"):
                    try:
                        self._entity_model = suggest.find(self.models_folder(), name, "ner")
                    except suggest.ModelError as exc:
                        self._entity_model_failed(None, exc)
        found = self._entity_model
        return found if found is not None and found.meta.get("lang", "fr") == lang else None

    def _entity_model_failed(self, doc: Document | None, error: Exception) -> None:
        """The entity model in use does not load: say why once, and use the base pipeline from now on. Re-raises
        `error` when no entity model was in use for `doc` (then the base pipeline itself failed)."""
        if doc is not None and self.entity_model(doc.lang) is None:
            raise error
        self._entity_model = None
        self.entity_model_problem = f"{str(error).rstrip('.')}; entities come from the base pipeline"

    def base_pipeline(self, lang: str) -> str | None:
        """The spaCy pipeline for a language: --model, else the best installed one."""
        return an.choose_pipeline(lang, self.model)

    def pipeline_for(self, doc: Document) -> str | None:
        if (model := self.entity_model(doc.lang)) is not None:
            from reader.suggest import PIPELINE

            return str(model.path / PIPELINE)
        return self.base_pipeline(doc.lang)

    def cache_key(self, doc: Document) -> str:
        if (model := self.entity_model(doc.lang)) is not None:  # named by its meta: hashing its files is slow
            return f"model-{model.identity}+{an.ANALYSIS_VERSION}"
        return an.cache_key(self.pipeline_for(doc), doc.lang)

    def cached_analysis(self, doc: Document, *, any_pipeline: bool = False,
                        entity_models: bool = True) -> an.Analysis | None:
        """The cached analysis, without loading spaCy; `any_pipeline`: else the newest by another pipeline (by a
        trained entity model too, unless not `entity_models`: its entities are not the base pipeline's)."""
        for key in self._analysis_keys(doc, any_pipeline, entity_models):
            record = self.store.cached_analysis(doc.id, key)
            with contextlib.suppress(KeyError, TypeError, ValueError):  # a cache from another version: recompute
                if record is not None:
                    return an.Analysis.from_record(record)
        return None

    def _analysis_keys(self, doc: Document, any_pipeline: bool = True, entity_models: bool = True) -> Iterator[str]:
        """This pipeline's key, then (`any_pipeline`) the others cached, newest first: listed only when asked for."""
        first = self.cache_key(doc)
        yield first
        if any_pipeline:
            suffix = f"+{an.ANALYSIS_VERSION}"
            yield from (k for k in self.store.analysis_keys(doc.id) if k.endswith(suffix) and k != first
                        and (entity_models or not k.startswith("model-")))

    def sentences(self, doc: Document | str) -> tuple[tuple[int, int], ...] | None:
        """The sentences of a document's cached analysis (any pipeline), None before its first analysis."""
        found = self.analysed(doc)
        return found[0] if found is not None else None

    def analysed(self, doc: Document | str, keep: bool = True) -> tuple[tuple, tuple] | None:
        """(sentences, entities as (start, end, label)) of a document's cached analysis (any pipeline), None before
        its first analysis; kept for the documents read last while their analyses' folder is unchanged (any
        process's new analysis changes it), so deriving the library's row at every save reads no analysis again;
        `keep` False (a sweep, each document once) neither looks nor keeps."""
        doc_id = doc if isinstance(doc, str) else doc.id
        version = self.store.analyses_version(doc_id) if keep else None
        if keep and (kept := self._sentences.get(doc_id)) is not None and kept[0] == version:
            return kept[1]
        if isinstance(doc, str):
            try:
                doc = Document.from_record(self.store.document(doc_id, keep=False))
            except StoreError:  # damaged or gone: the library's row says so
                return None
        found = None
        for key in self._analysis_keys(doc):
            record = self.store.cached_analysis(doc.id, key)
            with contextlib.suppress(KeyError, TypeError, ValueError):
                if record is not None:
                    found = (tuple((s, e) for s, e in record["sentences"]),
                             tuple((s, e, str(label)) for s, e, label in record["entities"]))
                    break
        if keep:
            if len(self._sentences) >= 64:
                self._sentences.pop(next(iter(self._sentences)))
            self._sentences[doc_id] = (version, found)
        return found

    def library(self) -> Library:
        """The library's rows from the index (created at first use, kept in step by this workspace's writes)."""
        if self._library is None:
            self._library = Library(self.store, self.labels.names, self.analysed)
            self._library.refresh()  # what this process wrote before it had a library
        return self._library

    def pipeline(self, doc: Document) -> Any:
        """The loaded spaCy pipeline for a document's language, loaded once per process (thread-safe); an entity
        model that does not load gives way to the base pipeline."""
        name = self.pipeline_for(doc)
        key = (name, doc.lang if name is None else "")
        try:
            with self._lock:
                if key not in self._pipelines:
                    self._pipelines[key] = an.load_pipeline(name, doc.lang)
                return self._pipelines[key]
        except an.AnalysisError as exc:
            self._entity_model_failed(doc, exc)
        return self.pipeline(doc)

    def analysis(self, doc: Document, progress: Callable[[float], None] | None = None) -> tuple[an.Analysis, bool]:
        """(analysis, from_cache); without --model, one cached by another pipeline: the tags were made on it (but
        not instead of the entity model's: it splits sentences as its base does, and its entities are the point)."""
        cached = self._cached(doc)
        if cached is not None:
            return self.corrected(doc, cached), True
        if self.analysis_process is not None:
            try:
                result, encoded = self.analysis_process.analyse(self.pipeline_for(doc), doc.lang, doc.text,
                                                                progress, tag=doc.id)
            except an.AnalysisError as exc:
                self._entity_model_failed(doc, exc)
                return self.analysis(doc, progress)
        else:
            result, encoded = an.analyse(self.pipeline(doc), doc.text, progress), None
        self._cache(doc, result, encoded=encoded)
        return self.corrected(doc, result), False

    def patterns(self) -> pt.Matcher:
        """The entity patterns in use (`reader.patterns`), from every annotator's corrections; none, and
        `patterns_problem` says why, when the removals file is damaged (it is kept as it is)."""
        try:
            return self.corrections.matcher(self._scan_corrections, lambda: pt.read_removed(self.store.root))
        except pt.PatternError as exc:
            self.patterns_problem = f"{exc}; no entity pattern is applied"
            return pt.Matcher()

    def _scan_corrections(self) -> dict[tuple[str, str], list[pt.Entry]]:
        """Only the files the index says hold entity decisions are read: the cost is the corrections', not the
        store's."""
        found = {}
        for doc_id, annotator in self.library().deciders():
            records = self.records(doc_id, annotator, pt.FIELDS)
            found[doc_id, annotator] = pt.entries(doc_id, self.document(doc_id).text, annotator, records.values())
        return found

    def corrected(self, doc: Document, analysis: an.Analysis) -> an.Analysis:
        """An analysis with the entity patterns applied over the model's entities."""
        if not (matcher := self.patterns()):
            return analysis
        spans = matcher.apply(doc.text, analysis.tokens, ((e.start, e.end, e.label) for e in analysis.entities),
                              doc_id=doc.id)
        note = analysis.note  # "no entities: no recogniser" is no longer true where patterns matched
        if spans and note.startswith("no entities"):
            note = note.replace("no entities", "only the patterns' entities", 1)
        return replace(analysis, entities=tuple(an.Span(*s) for s in spans), note=note)

    def pattern_matches(self) -> dict[str, int]:
        """How often each pattern in use changed the model's entities, over every analysed document."""
        matcher, counts = self.patterns(), {}
        if matcher:
            for doc_id in self.document_ids():
                doc = self.document(doc_id)
                if (analysis := self._cached(doc)) is not None:
                    matcher.apply(doc.text, analysis.tokens, ((e.start, e.end, e.label) for e in analysis.entities),
                                  counts, doc.id)
        return counts

    def remove_pattern(self, ident: str) -> pt.Pattern:
        """Remove a pattern in use by its id (or a unique prefix); PatternError (one line) otherwise."""
        found = [p for p in self.patterns().patterns if p.id.startswith(ident.lower())] if ident else []
        if len(found) != 1:
            raise pt.PatternError(f"no pattern {ident!r} in use (`reader patterns` lists them)" if not found else
                                  f"{ident!r} names {len(found)} patterns: give more of the id")
        pt.remove(self.store.root, found[0])
        self.corrections.reset()
        return found[0]

    def _cached(self, doc: Document) -> an.Analysis | None:
        """The cached analysis `analysis` uses, before its patterns."""
        return self.cached_analysis(doc, any_pipeline=self.model is None and self.entity_model(doc.lang) is None,
                                    entity_models=False)

    def isolate_analysis(self) -> None:
        """Run the model in a child process (the TUI): spaCy here holds the GIL and a thread cannot be stopped; a
        cancelled request raises `reader.analysis_process.AnalysisCancelled` from `analysis`."""
        if self.analysis_process is None:
            from reader.analysis_process import AnalysisProcess  # after the first paint, not at start-up

            self.analysis_process = AnalysisProcess()

    def cancel_analysis(self, doc_id: str) -> None:
        """Drop a pending analysis of this document (it was closed); only with `isolate_analysis`."""
        if self.analysis_process is not None:
            self.analysis_process.cancel(doc_id)

    def close_analysis(self) -> None:
        """Kill the analysis process without waiting (quitting); later analyses are cancelled, not run here."""
        if self.analysis_process is not None:
            self.analysis_process.close()

    def analyse_many(self, docs: list[Document], *, n_process: int = 1,
                     progress: Callable[[int], None] | None = None) -> list[an.Analysis]:
        advance = progress or (lambda n: None)
        results: dict[str, an.Analysis] = {}
        todo: dict[tuple[str | None, str], list[Document]] = {}
        for doc in docs:
            cached = self.cached_analysis(doc)
            if cached is None:
                todo.setdefault((self.pipeline_for(doc), doc.lang), []).append(doc)
            else:
                results[doc.id] = cached
                advance(1)
        for group in todo.values():
            nlp = self.pipeline(group[0])
            key = self.cache_key(group[0])  # the same for the whole group: same pipeline and language
            analysed = an.analyse_many(nlp, (d.text for d in group), n_process=n_process)
            for doc, result in zip(group, analysed, strict=True):
                self._cache(doc, result, key)
                results[doc.id] = result
                advance(1)
        return [self.corrected(d, results[d.id]) for d in docs]

    def _cache(self, doc: Document, result: an.Analysis, key: str | None = None, *,
               encoded: bytes | None = None) -> None:
        """Keep the analysis for next time (`encoded` by the analysis process); a full disk only costs speed."""
        if self.store.read_only:
            return
        with contextlib.suppress(StoreError, OSError):
            record = None if encoded is not None else result.to_record()
            self.store.cache_analysis(doc.id, key or self.cache_key(doc), record, encoded=encoded)

    def analysis_parts(self, doc: Document) -> tuple[str, list[int], list[int], list[tuple[int, int]], list]:
        """(model, token starts, token ends, sentences, [start, end, label] entities) without building an
        `Analysis` (export's hot path); the cache key once per language (its lookup is slow)."""
        key = self._part_keys.get(doc.lang)
        if key is None:
            key = self._part_keys[doc.lang] = self.cache_key(doc)
        record = self.store.cached_analysis(doc.id, key) or {}
        with contextlib.suppress(KeyError, TypeError, ValueError):
            flat = record["tokens"]
            if len(flat) % 2 == 0:
                sentences = [(s, e) for s, e in record["sentences"]]
                starts, ends, entities = flat[::2], flat[1::2], record["entities"]
                if matcher := self.patterns():
                    entities = [list(e) for e in matcher.apply(doc.text, list(zip(starts, ends, strict=True)),
                                                                       entities, doc_id=doc.id)]
                return record["model"], starts, ends, sentences, entities
        analysis, _ = self.analysis(doc)
        return (analysis.model, [s for s, _ in analysis.tokens], [e for _, e in analysis.tokens],
                list(analysis.sentences), [(e.start, e.end, e.label) for e in analysis.entities])

    def models_folder(self) -> Path:
        """Where trained models are kept (`models/<name>/` holds `meta.json` and the spaCy pipeline)."""
        return self.store.root / "models"

    def models(self) -> tuple[list, list[str]]:
        """(usable models, newest first; one line per damaged model folder), without loading spaCy."""
        from reader import suggest  # not imported at start-up: the first paint needs no model

        return suggest.models(self.models_folder())

    def find_model(self, name: str | None = None, task: str | None = "textcat"):
        """The model called `name` (else the active one of `task`); `reader.suggest.ModelError` when missing or
        damaged, or of another task."""
        from reader import suggest

        return suggest.find(self.models_folder(), name, task)

    def suggestion_model(self) -> tuple[Any, list[str]]:
        """(the sentence classifier in use or None; one line per damaged model folder)."""
        from reader import suggest

        damaged = self.models()[1]
        return suggest.active(self.models_folder(), "textcat"), damaged

    def models_in_use(self) -> dict[str, str]:
        """{model name: task} of the models in use (`reader.suggest.active`)."""
        from reader import suggest

        return {m.name: task for task in ("textcat", "ner") if (m := suggest.active(self.models_folder(), task))}

    def use_model(self, name: str | None, task: str = "ner") -> Any:
        """Make a model the one in use for its task (None: no entity model, the base pipeline)."""
        from reader import suggest

        info = None if name is None else self.find_model(name, None)
        suggest.use(self.models_folder(), info, info.task if info else task)
        self._entity_model = _UNREAD
        return info

    def remove_model(self, name: str) -> Any:
        from reader import suggest

        info = self.find_model(name, None)
        suggest.remove(self.models_folder(), info)
        self._entity_model = _UNREAD
        return info

    def works(self, annotator: str) -> Iterator[tuple[Document, AnnotatorWork]]:
        """Each document `annotator` has records for, with their work on it; sentences are read only when asked."""
        names = self.labels.names
        for doc_id in self.document_ids():
            records = self.records(doc_id, annotator) if annotator in self.annotators(doc_id) else {}
            if not records:
                continue
            doc = self.document(doc_id)

            def load(doc: Document = doc) -> list[tuple[int, int]]:
                return self.analysis_parts(doc)[3]

            yield doc, AnnotatorWork(records, load, names)

    def train(self, annotator: str, name: str, **options: Any) -> Any:
        from reader import suggest

        return suggest.train(self.works(annotator), self.labels.names, self.models_folder(), annotator, name,
                             **options)

    def train_entities(self, annotator: str, name: str, *, use: bool = False, **options: Any) -> Any:
        """Fine-tune the base pipeline's recogniser on `annotator`'s reviewed entities (`reader.ner.train`); the
        model becomes the one in use when it scores at least as well as the one in use, or with `use`."""
        from reader import ner, suggest

        lang = "fr"
        base = self.base_pipeline(lang)
        if base is None:
            raise suggest.ModelError(f"no spaCy pipeline with an entity recogniser is installed for {lang!r}")
        current = self.entity_model(lang)
        works, skip = [], {}
        for doc, work in self.works(annotator):
            if doc.lang == lang and (work.done or work.decisions):
                works.append((doc, work, [tuple(e) for e in self.analysis_parts(doc)[4]]))
                skip[doc.id] = None if work.done else [work.sentences[i] for i in sorted(work.reviewed())]

        def unreviewed() -> Iterator[tuple[str, str, list]]:  # a stable order, whatever the store's
            for doc_id in sorted(self.document_ids(), key=lambda d: hashlib.sha1(d.encode()).hexdigest()):
                if (doc_id not in skip or skip[doc_id] is not None) and (doc := self.document(doc_id)).lang == lang:
                    yield doc_id, doc.text, skip.get(doc_id) or []

        trained = ner.train(works, unreviewed(), base, self.models_folder(), annotator, name,
                            active=(current.name, current.path / suggest.PIPELINE) if current else None,
                            removed=pt.read_removed(self.store.root), **options)
        trained.meta["active"] = use or ner.better(trained.meta)
        if trained.meta["active"]:
            self.use_model(name)
        return trained

    def default_training_source(self) -> str:
        """Whose tags `reader train` learns from by default: `gold` when it exists, else this annotator."""
        return GOLD if any(GOLD in self.annotators(doc_id) for doc_id in self.document_ids()) else self.annotator

    def suggestions_many(self, model, items: list[tuple[Document, Any]], *, tag: Any = None
                         ) -> list[list[dict[str, float]]]:
        """Label probabilities per sentence of each (document, sentences), in one request; ModelError or
        AnalysisError (one line) when the model does not load."""
        texts = [doc.text[s:e] for doc, sentences in items for s, e in sentences]
        if self.analysis_process is not None:
            flat = self.analysis_process.suggest(model, texts, tag=tag)
        else:
            from reader import suggest

            key = (str(model.path), model.created)
            if key not in self._classifiers:
                self._classifiers[key] = suggest.load(model)
            flat = suggest.predict(self._classifiers[key], texts)
        rest = iter(flat)
        return [list(itertools.islice(rest, len(sentences))) for _, sentences in items]
