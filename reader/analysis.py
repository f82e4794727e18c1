"""Analysis: sentences, tokens and entities from spaCy as character offsets into the stored text. spaCy is imported
inside functions, so nothing here slows the first paint: a cached analysis shows a document."""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

ANALYSIS_VERSION = 2  # bump when the post-processing changes, so that older cached analyses are not reused

EXCLUDE = ["tok2vec", "morphologizer", "parser", "attribute_ruler", "lemmatizer", "tagger"]
"""Not needed: the shipped `senter` replaces the parser, same entities (bench/README.md); see `_exclusions`."""

ELIDED = ("c", "d", "j", "l", "m", "n", "s", "t", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu", "presqu", "quelqu")
"""French elided forms: the pipelines know « d' », not « d’ » (spaCy #6769): see `prepare_tokenizer`."""

_APOSTROPHES = "'\u2019"
_FUNCTION_WORDS = frozenset({
    "le", "la", "les", "l", "un", "une", "des", "du", "de", "d", "au", "aux", "à", "a", "et", "ou", "ni", "mais",
    "donc", "car", "en", "y", "ce", "c", "cet", "cette", "ces", "qui", "que", "qu", "quoi", "dont", "où", "ne", "n",
    "se", "s", "sa", "son", "ses", "leur", "leurs", "lui", "il", "elle", "ils", "elles", "on", "nous", "vous", "je",
    "j", "tu", "me", "m", "te", "t", "par", "pour", "sur", "sous", "dans", "avec", "sans", "chez", "selon", "vers",
    "entre", "contre", "depuis", "pendant", "the", "of", "and"
})
_NOT_NAMES = frozenset({  # single words the small model tags (« Mercredi » as LOC), never names in WikiNER
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche", "janvier", "février", "mars", "avril",
    "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"
})

_SAME_LENGTH = str.maketrans({"\u2019": "'", "\u02bc": "'", "\u00a0": " ", "\u202f": " ", "\u2007": " "})
_NOT_START = 2**64 - 1  # -1 (not a start) as spaCy stores a sentence start in a uint64 array
_SENTENCE_END_CODES = sorted(map(ord, ".!?…»”\"')]"))  # what ends a sentence, as code points
_BRACKETS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = frozenset(_BRACKETS.values())
BATCH_CHARS = 200_000
CHUNK = 100_000  # long texts go in pieces cut at line breaks: spaCy refuses texts over `nlp.max_length`


class AnalysisError(Exception):
    """A pipeline that cannot be loaded or used; the message is meant for the user."""


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Analysis:
    model: str  # `name@version` of the pipeline, or `blank:LANG` when none is installed for the language
    tokens: tuple[tuple[int, int], ...]
    sentences: tuple[tuple[int, int], ...]
    entities: tuple[Span, ...]
    note: str = ""  # why there are no entities, when that is the case (shown in the status line)

    def to_record(self) -> dict[str, Any]:
        """Tokens flat (`[start, end, start, end...]`): a cached analysis is mostly tokens."""
        return {"model": self.model, "version": ANALYSIS_VERSION, "tokens": list(itertools.chain(*self.tokens)),
                "sentences": [list(s) for s in self.sentences],
                "entities": [[e.start, e.end, e.label] for e in self.entities], "note": self.note}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Analysis:
        flat = record["tokens"]
        return cls(record["model"], tuple(zip(flat[::2], flat[1::2], strict=True)),
                   tuple((s, e) for s, e in record["sentences"]),
                   tuple(Span(s, e, label) for s, e, label in record["entities"]), record.get("note", ""))


@functools.cache
def pipeline_version(name: str) -> str | None:
    """Version of an installed pipeline package, without importing spaCy; cached: every cache look-up asks."""
    import importlib.metadata  # not at module level: it delays the first paint

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def choose_pipeline(lang: str, requested: str | None = None) -> str | None:
    if requested:
        return requested
    for name in (f"{lang}_core_news_md", f"{lang}_core_news_sm", f"{lang}_core_web_md", f"{lang}_core_web_sm"):
        if pipeline_version(name):
            return name
    return None


def cache_key(pipeline: str | None, lang: str) -> str:
    """Key of a cached analysis: what the pipeline is, never where (a folder by its digest), + our version."""
    if pipeline is None:
        identity = f"blank-{lang}"
    elif (version := pipeline_version(pipeline)) is not None:
        identity = f"{pipeline}@{version}"
    elif Path(pipeline).is_dir():
        identity = _folder_identity(Path(pipeline).resolve())
    else:
        identity = f"{pipeline}@unknown"  # loading it fails, so nothing is cached under this key
    return f"{identity}+{ANALYSIS_VERSION}"


@functools.cache
def _folder_identity(path: Path) -> str:
    """A folder's files hashed: a copy keeps the key, retraining changes it (its meta.json version would not)."""
    try:
        meta = msgspec.json.decode((path / "meta.json").read_bytes(), type=dict)
    except (OSError, msgspec.DecodeError):
        meta = {}
    digest = hashlib.sha256()
    try:
        for file in sorted((p for p in path.rglob("*") if p.is_file()), key=lambda p: p.relative_to(path).as_posix()):
            digest.update(file.relative_to(path).as_posix().encode("utf-8", "surrogateescape") + b"\0")
            with file.open("rb") as handle:
                digest.update(hashlib.file_digest(handle, "sha256").digest())
    except OSError:
        return f"{path.name}@unknown"  # unreadable: loading it fails too, so nothing is cached under this key
    name = f"{meta.get('lang', 'xx')}_{meta.get('name', 'pipeline')}@{meta.get('version', '0.0.0')}"
    return f"{name}~{digest.hexdigest()[:16]}"


def load_pipeline(name: str | None, lang: str = "fr") -> Language:
    """Load a pipeline with only what sentence splitting and NER need; a blank one when `name` is None."""
    try:
        import spacy
    except ImportError:
        raise AnalysisError("spaCy is not installed (pip install spacy)") from None

    if name is None:
        try:
            nlp = spacy.blank(lang)
        except Exception:  # no language class by that name (ImportError, or AttributeError for `lex_attrs`)
            nlp = spacy.blank("xx")
        nlp.add_pipe("sentencizer")
        nlp.meta["reader_lang"] = lang
        return nlp
    try:
        nlp = spacy.load(name, exclude=_exclusions(name))
    except OSError:
        raise AnalysisError(f"spaCy pipeline {name!r} is not installed (python -m spacy download {name})") from None
    except Exception as exc:  # a broken package: the user needs the reason, not a traceback
        raise AnalysisError(f"cannot load spaCy pipeline {name!r}: {exc}") from None
    if "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
    if not ({"senter", "parser", "sentencizer"} & set(nlp.pipe_names)):
        nlp.add_pipe("sentencizer", first=True)
    prepare_tokenizer(nlp)
    return nlp


def _exclusions(name: str) -> list[str]:
    """EXCLUDE, minus `tok2vec` when the kept senter/ner listen to it (excluding it would break them)."""
    from spacy.util import get_package_path, load_config

    try:
        path = Path(name) if Path(name).is_dir() else get_package_path(name)
        configs = [path / "config.cfg"] if (path / "config.cfg").exists() else sorted(path.glob("*/config.cfg"))
        components = load_config(configs[0], interpolate=False)["components"] if configs else {}
    except Exception:
        return [c for c in EXCLUDE if c != "tok2vec"]
    kept = {c: components[c] for c in ("senter", "ner") if c in components}
    return [c for c in EXCLUDE if c not in listened(kept)]


def listened(config: Any) -> set[str]:
    """Upstream components named by Tok2VecListener-like layers anywhere in a config subtree."""
    found: set[str] = set()
    if isinstance(config, dict):
        if "Listener" in str(config.get("@architectures", "")):
            upstream = str(config.get("upstream", "*"))
            found |= {"tok2vec", "transformer"} if upstream == "*" else {upstream}
        for value in config.values():
            found |= listened(value)
    return found


def prepare_tokenizer(nlp: Language) -> None:
    """« d’ » normed as « d' » (ELIDED); the elision rule no longer splits « People’s ». Idempotent."""
    if nlp.meta.get("reader_tokenizer"):
        return
    if nlp.lang == "fr":
        for base in ELIDED:
            for form in {base, base.capitalize(), base.upper()}:
                nlp.vocab[form + "\u2019"].norm_ = nlp.vocab[form + "'"].norm_
    _keep_possessives(nlp)
    nlp.meta["reader_tokenizer"] = True


def _keep_possessives(nlp: Language) -> None:
    from spacy.lang.char_classes import ALPHA

    finditer = nlp.tokenizer.infix_finditer
    pattern = getattr(getattr(finditer, "__self__", None), "pattern", None)
    elision = rf"(?<=[{ALPHA}][{_APOSTROPHES}])(?=[{ALPHA}])"
    if not isinstance(pattern, str) or elision not in pattern:
        return
    possessive_kept = rf"(?<=[{ALPHA}][{_APOSTROPHES}])(?![sS](?![{ALPHA}]))(?=[{ALPHA}])"
    nlp.tokenizer.infix_finditer = re.compile(pattern.replace(elision, possessive_kept)).finditer


def model_name(nlp: Language) -> str:
    if not nlp.meta.get("name") or nlp.meta.get("name") == "pipeline":
        return f"blank:{nlp.meta.get('reader_lang') or nlp.lang}"
    name = f"{nlp.lang}_{nlp.meta['name']}@{nlp.meta.get('version', 'unknown')}"
    return f"{name}+{nlp.meta['reader_model']}" if nlp.meta.get("reader_model") else name  # a trained entity model


def normalise_for_model(text: str) -> str:
    """Same-length text as the pipelines were trained on, for the classifier (the NER does better with the norms)."""
    return text.translate(_SAME_LENGTH)


def sentence_hints(doc: Doc, text: str | None = None) -> Doc:
    """Preset sentence starts (after a line break; never without . ? ! … or a quote before) so the senters do not cut
    « Kim Jong | Un », which the NER never crosses; on arrays, since is_sent_start per token is quadratic."""
    import numpy
    from spacy.attrs import IDX, IS_SPACE, LENGTH, SENT_START

    if not len(doc):
        return doc
    array = doc.to_array([IDX, LENGTH, IS_SPACE]).astype(numpy.int64)
    space = array[:, 2].astype(bool)
    text = doc.text if text is None else text
    codes = numpy.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")  # codes[i] is text[i]
    newlines = numpy.concatenate(([0], numpy.cumsum(codes == 10)))  # newlines[i]: line breaks before text[i]
    words = numpy.flatnonzero(~space)
    starts, ends = array[words, 0], array[words, 0] + array[words, 1]
    values = numpy.where(space, _NOT_START, 0).astype(numpy.uint64)
    if len(words):  # between two words only spaces: a line break there starts a sentence
        after_break = numpy.concatenate(([True], newlines[starts[1:]] > newlines[ends[:-1]]))
        open_end = numpy.concatenate(([False], ~numpy.isin(codes[ends[:-1] - 1], _SENTENCE_END_CODES)))
        values[words[after_break]] = 1
        values[words[open_end & ~after_break]] = _NOT_START
    values[0] = 1  # a word or a space, the first token starts a sentence
    doc.from_array([SENT_START], values.reshape(-1, 1))
    return doc


def _note(nlp: Language) -> str:
    if "ner" in nlp.pipe_names:
        return ""
    if model_name(nlp).startswith("blank:"):
        return f"no entities: no spaCy pipeline installed for {nlp.meta.get('reader_lang') or nlp.lang!r}"
    return f"no entities: pipeline {model_name(nlp)} has no named-entity recogniser"


def _from_doc(doc: Doc, text: str, model: str, note: str) -> Analysis:
    """The analysis of a processed Doc from one `to_array` call: Token objects cost more than the rest."""
    array = doc.to_array(_view_attrs())
    view = _TokenView(array, text)
    words = ~array[:, 2].astype(bool)
    tokens = tuple(zip(array[words, 0].tolist(), (array[words, 0] + array[words, 1]).tolist(), strict=True))
    spans = ((s.start_char, s.end_char) for s in doc.sents) if len(doc) else ()
    sentences = tuple(s for s in (trim_space(text, start, end) for start, end in spans) if s[0] < s[1])
    entities = tuple(Span(*bounds, e.label_) for e in doc.ents
                     if (bounds := view.entity_bounds(e.start, e.end)) is not None)
    return Analysis(model, tokens, sentences, entities, note)


@functools.cache
def _view_attrs() -> list[int]:
    from spacy.attrs import IDX, IS_PUNCT, IS_QUOTE, IS_SPACE, LENGTH, SENT_START

    return [IDX, LENGTH, IS_SPACE, IS_PUNCT, IS_QUOTE, SENT_START]


class _TokenView:
    """What `entity_bounds` reads of a Doc's tokens, as plain lists from `doc.to_array(_view_attrs())`."""

    def __init__(self, array: Any, text: str) -> None:
        self.text = text
        self.starts = array[:, 0].tolist()
        self.ends = (array[:, 0] + array[:, 1]).tolist()
        self.space = array[:, 2].astype(bool).tolist()
        self.punct = (array[:, 3] | array[:, 4]).astype(bool).tolist()  # is_punct or is_quote
        self.sent_start = (array[:, 5] == 1).tolist()

    def word(self, i: int) -> str:
        return self.text[self.starts[i]:self.ends[i]]

    def is_edge_junk(self, i: int, text: str) -> bool:
        """Spaces, punctuation (brackets aside) and lowercase function words never start or end a name."""
        return self.space[i] or (text.islower() and text in _FUNCTION_WORDS) or \
            (self.punct[i] and text not in _BRACKETS and text not in _CLOSERS)

    def trim_edges(self, start: int, end: int) -> tuple[int, int]:
        """Narrow to the name: « l’ONU », « L’ONU a voté » lose the elision, « chez L’Oréal » keeps it; brackets
        go unless the name holds both (« Organisation (ONU) »)."""
        word, junk = self.word, self.is_edge_junk
        while start < end:
            first = word(start)
            if junk(start, first) or (_is_elided(first) and (first[0].islower() or self.sent_start[start])):
                start += 1
                continue
            last = first if end - start == 1 else word(end - 1)
            if junk(end - 1, last) or _is_elided(last):
                end -= 1
            elif first not in _BRACKETS and last not in _CLOSERS:
                break  # none of the bracket rules below can apply
            else:
                texts = [word(i) for i in range(start, end)]
                if len(texts) > 1 and _BRACKETS.get(texts[0]) == texts[-1] and \
                        not {texts[0], texts[-1]} & {*texts[1:-1]}:
                    start, end = start + 1, end - 1  # « (ONU) »: the brackets enclose the name
                elif texts[0] in _BRACKETS and _BRACKETS[texts[0]] not in texts[1:]:
                    start += 1
                elif texts[-1] in _CLOSERS and not any(_BRACKETS.get(t) == texts[-1] for t in texts[:-1]):
                    end -= 1
                else:
                    break
        return start, end

    def entity_bounds(self, start: int, end: int) -> tuple[int, int] | None:
        """`entity_bounds(doc[start:end])` on the plain lists, to spare the Tokens."""
        start, end = self.trim_edges(start, end)
        if end == start:
            return None
        start_char, end_char = self.starts[start], self.ends[end - 1]
        text = self.text[start_char:end_char]
        if len(text) < 2 or text[-1] in _APOSTROPHES or not any(c.isalpha() for c in text) or \
                (end - start == 1 and text.lower() in _NOT_NAMES):
            return None
        for word in map(self.word, range(start, end)):
            if word.lower() not in _FUNCTION_WORDS and any(c.isupper() or c.isdigit() for c in word):
                return start_char, end_char
        return None  # « La réunion », « le »: nothing in it looks like a name


def trim_space(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without the whitespace at its edges (entities and re-anchored spans never hold it)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _is_elided(text: str) -> bool:
    return len(text) > 1 and text[-1] in _APOSTROPHES and text[:-1].lower() in ELIDED


def entity_bounds(ent: Any) -> tuple[int, int] | None:
    """Character bounds of the name inside a predicted span, on token boundaries; None if it is not a name."""
    return _TokenView(ent.doc.to_array(_view_attrs()), ent.doc.text).entity_bounds(ent.start, ent.end)


def analyse(nlp: Language, text: str, progress: Callable[[float], None] | None = None) -> Analysis:
    """One text; `progress` gets the share done (0-1) after each piece of a long text."""
    return next(analyse_many(nlp, [text], progress=progress))


def analyse_many(nlp: Language, texts: Iterable[str], *, batch_size: int = 32, n_process: int = 1,
                 progress: Callable[[float], None] | None = None) -> Iterator[Analysis]:
    """Analyse texts in batches; results come back in order, with offsets into the original texts."""
    texts = list(texts)
    name = model_name(nlp)
    note = _note(nlp)
    pieces = [(i, start, end) for i, text in enumerate(texts) for start, end in chunks(text)]
    longest = max((e - s for _, s, e in pieces), default=0)
    # Memory follows the characters in flight (~1 kB a character for a parsed Doc): cap them.
    batch_size = max(1, min(batch_size, BATCH_CHARS // max(1, longest)))
    docs = nlp.pipe((sentence_hints(nlp.make_doc(piece), piece) for piece in (texts[i][s:e] for i, s, e in pieces)),
                    batch_size=batch_size, n_process=n_process)
    total = sum(e - s for _, s, e in pieces) or 1
    done = 0
    parts: list[tuple[int, Analysis]] = []
    for (i, start, end), doc in zip(pieces, docs, strict=True):
        parts.append((start, _from_doc(doc, texts[i][start:end], name, note)))
        done += end - start
        if progress is not None and len(pieces) > 1:
            progress(done / total)
        if end == len(texts[i]):
            yield _joined(parts) if len(parts) > 1 else parts[0][1]
            parts = []


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


def _joined(parts: list[tuple[int, Analysis]]) -> Analysis:
    model, note = parts[0][1].model, parts[0][1].note
    return Analysis(model, tuple((s + o, e + o) for o, p in parts for s, e in p.tokens),
                    tuple((s + o, e + o) for o, p in parts for s, e in p.sentences),
                    tuple(Span(x.start + o, x.end + o, x.label) for o, p in parts for x in p.entities), note)
