"""Workspace: the domain façade the CLI and the TUI share (documents in a store, their analyses).

Both front ends go through here so that a headless command and a keypress take the same code path. Nothing
here knows about Textual; spaCy is only imported when a document has no cached analysis.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reader import analysis as an
from reader.documents import Document, load_paths
from reader.store import Store


@dataclass(frozen=True)
class ImportResult:
    document: Document
    added: bool
    analysis: an.Analysis | None = None


class Workspace:
    def __init__(self, store: Store, *, model: str | None = None) -> None:
        self.store = store
        self.model = model
        self._pipelines: dict[tuple[str | None, str], Any] = {}
        self._lock = threading.Lock()

    # --- documents -----------------------------------------------------------------------------------

    def add_documents(self, docs: Iterable[Document]) -> list[ImportResult]:
        return [ImportResult(doc, self.store.add_document(doc.to_record())) for doc in docs]

    def import_paths(self, paths: list[Path]) -> list[ImportResult]:
        return self.add_documents(load_paths(paths))

    def document_ids(self) -> list[str]:
        return self.store.document_ids()

    def document(self, doc_id: str) -> Document:
        return Document.from_record(self.store.document(doc_id))

    def resolve(self, prefix: str) -> str:
        return self.store.resolve(prefix)

    # --- analysis ------------------------------------------------------------------------------------

    def pipeline_for(self, doc: Document) -> str | None:
        return an.choose_pipeline(doc.lang, self.model)

    def cache_key(self, doc: Document) -> str:
        return an.cache_key(self.pipeline_for(doc), doc.lang)

    def cached_analysis(self, doc: Document) -> an.Analysis | None:
        """The stored analysis for this document and pipeline, without loading spaCy."""
        record = self.store.cached_analysis(doc.id, self.cache_key(doc))
        if record is None:
            return None
        try:
            return an.Analysis.from_record(record)
        except (KeyError, TypeError, ValueError):
            return None  # a cache from another version: recompute

    def pipeline(self, doc: Document) -> Any:
        """The loaded spaCy pipeline for a document's language, loaded once per process (thread-safe)."""
        name = self.pipeline_for(doc)
        key = (name, doc.lang if name is None else "")
        with self._lock:
            nlp = self._pipelines.get(key)
            if nlp is None:
                nlp = self._pipelines[key] = an.load_pipeline(name, doc.lang)
            return nlp

    def analysis(self, doc: Document) -> tuple[an.Analysis, bool]:
        """(analysis, from_cache): cached when possible, else computed with the model and cached."""
        cached = self.cached_analysis(doc)
        if cached is not None:
            return cached, True
        result = an.analyse(self.pipeline(doc), doc.text)
        self._cache(doc, result)
        return result, False

    def analyse_many(
        self, docs: list[Document], *, n_process: int = 1, batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> list[an.Analysis]:
        """Analyse documents that have no cached analysis, in batches per pipeline."""
        results: dict[str, an.Analysis] = {}
        todo: dict[tuple[str | None, str], list[Document]] = {}
        for doc in docs:
            cached = self.cached_analysis(doc)
            if cached is not None:
                results[doc.id] = cached
                if progress:
                    progress(1)
            else:
                todo.setdefault((self.pipeline_for(doc), doc.lang), []).append(doc)
        for group in todo.values():
            nlp = self.pipeline(group[0])
            texts = (d.text for d in group)
            for doc, result in zip(group, an.analyse_many(nlp, texts, batch_size=batch_size,
                                                         n_process=n_process), strict=True):
                self._cache(doc, result)
                results[doc.id] = result
                if progress:
                    progress(1)
        return [results[d.id] for d in docs]

    def _cache(self, doc: Document, result: an.Analysis) -> None:
        if not self.store.read_only:
            self.store.cache_analysis(doc.id, self.cache_key(doc), result.to_record())
