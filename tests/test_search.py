"""Search folds apostrophes, accents, case and ligatures, and every match is offsets into the stored text."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from reader.search import find_all, fold, fold_char, fold_text

TEXT = "Selon l’ONU, la Corée du Nord… Straße, ﬁnances, cafe\u0301 noir, un cœur, Jean‑Pierre."


def found(text: str, query: str) -> list[str]:
    return [text[s:e] for s, e in find_all(text, query)]


def test_a_person_types_plain_letters_and_finds_the_typography():
    assert found(TEXT, "l'onu") == ["l’ONU"]
    assert found(TEXT, "coree") == ["Corée"]
    assert found(TEXT, "CORÉE DU nord") == ["Corée du Nord"]
    assert found(TEXT, "strasse") == ["Straße"]
    assert found(TEXT, "finances") == ["ﬁnances"]
    assert found(TEXT, "café") == ["cafe\u0301"]  # the combining accent belongs to the match
    assert found(TEXT, "coeur") == ["cœur"]
    assert found(TEXT, "jean-pierre") == ["Jean‑Pierre"]
    assert found(TEXT, "corée   du\nnord") == ["Corée du Nord"]  # whitespace matches any run of whitespace


def test_a_match_inside_one_stored_character_is_that_character():
    assert found("Straße", "s") == ["S", "ß"]  # `ß` folds to `ss`: one highlight, not two empty ones
    assert found("ﬁn", "i") == ["ﬁ"]


def test_nothing_to_find():
    assert find_all(TEXT, "") == [] and find_all(TEXT, "   ") == [] and find_all(TEXT, "zzz") == []
    assert find_all("", "a") == []


def test_the_old_search_is_kept_on_ascii():
    text = "The UN said. the un, THE Un\tsaid: un-said"
    for query in ("un", "the un", "SAID", "un-said", "the  un"):
        old = [(m.start(), m.end()) for m in re.finditer(r"\s+".join(map(re.escape, query.split())), text,
                                                          re.IGNORECASE)]
        assert find_all(text, query) == old


# Characters whose folding changes the length, or that NFD/casefold treat specially, among plain letters.
ALPHABET = st.sampled_from([*"aeiosSnN ’'-\n", "ß", "ẞ", "ﬁ", "ﬂ", "œ", "Œ", "é", "É", "\u0301", "İ", "ǅ", "ŉ",
                            "ΐ", "ﬃ", "½", "\u0327", "\u00a0", "ç", "Ç"])
TEXTS = st.lists(ALPHABET, max_size=40).map("".join)


@settings(max_examples=400, deadline=None)
@given(TEXTS)
def test_folding_maps_every_folded_character_to_its_stored_character(text):
    folded = fold_text(text)
    assert folded.text == fold(text)
    expected = [i for i, c in enumerate(text) for _ in fold_char(c)]
    assert [folded.origin(i) for i in range(len(folded.text))] == expected


@settings(max_examples=400, deadline=None)
@given(TEXTS, st.data())
def test_every_match_is_stored_offsets_around_the_query(text, data):
    i = data.draw(st.integers(0, len(text)))
    j = data.draw(st.integers(i, len(text)))
    query = text[i:j]
    pattern = r"\s+".join(map(re.escape, [p for p in map(fold, query.split()) if p]))
    matches = find_all(text, query)
    previous_end = 0
    for start, end in matches:
        assert 0 <= previous_end <= start < end <= len(text)  # in order, never overlapping, never empty
        previous_end = end
        assert re.search(pattern, fold(text[start:end]))  # the stored text under the highlight holds the query
    if pattern:  # the query is the stored text at i:j: some match covers it
        assert any(start <= i + k < end for start, end in matches for k in range(max(1, j - i))), matches
