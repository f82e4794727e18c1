"""What to decide on next: the open sentences (no tag, no dismissal) a trained model is least certain about, in
a document and across the library."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reader.annotations import AnnotatorWork
from reader.suggest import uncertainty

if TYPE_CHECKING:
    from reader.documents import Document
    from reader.workspace import Workspace

Cats = list[dict[str, float]]

_asked: dict[tuple[str, str, str], Cats] = {}  # (model folder, created, doc id) -> cats: each asked once


def ranking(cats: Cats, work: AnnotatorWork) -> list[int]:
    open_ = [i for i in range(len(cats)) if i not in work.tags and i not in work.dismissals]
    return sorted(open_, key=lambda i: (-uncertainty(cats[i]), i))


def suggestions(workspace: Workspace, model: Any, doc: Document, sentences: list[tuple[int, int]]) -> Cats:
    """The model's probabilities for a document's sentences, asked of the analysis child once."""
    key = (str(model.path), model.created, doc.id)
    cats = _asked.get(key)
    if cats is None or len(cats) != len(sentences):
        cats = _asked[key] = workspace.suggestions_many(model, [(doc, sentences)], tag=doc.id)[0]
    return cats


def least_certain_document(workspace: Workspace, model: Any, besides: str) -> str | None:
    """The other analysed document with the least certain open sentence, asking the model in one request."""
    todo, sentences = [], {}
    for doc_id in workspace.document_ids():
        doc = workspace.document(doc_id) if doc_id != besides else None
        if doc and (analysis := workspace.cached_analysis(doc, any_pipeline=True)) is not None:
            sentences[doc_id] = list(analysis.sentences)
            if (str(model.path), model.created, doc_id) not in _asked:
                todo.append((doc, sentences[doc_id]))
    if todo:
        for (done, _), cats in zip(todo, workspace.suggestions_many(model, todo), strict=True):
            _asked[str(model.path), model.created, done.id] = cats
    ranked = []
    for doc_id, bounds in sentences.items():
        cats = _asked.get((str(model.path), model.created, doc_id))
        if cats is None or len(cats) != len(bounds):
            continue
        mine = workspace.annotator in workspace.annotators(doc_id)
        work = AnnotatorWork(workspace.records(doc_id, workspace.annotator) if mine else {}, bounds,
                             workspace.labels.names)
        if first := ranking(cats, work)[:1]:
            ranked.append((-uncertainty(cats[first[0]]), doc_id))
    return min(ranked)[1] if ranked else None
