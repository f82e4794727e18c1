"""The fast paths of the record writers give what the plain ones gave: Prodigy's token lists (as Structs) equal
the ones built token by token as dicts, and records holding msgspec Structs are written as the dicts they
replace, by msgspec and by the ASCII fallback (lone surrogates), and read back as those dicts."""

from __future__ import annotations

import itertools
import json
import re

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from reader.export import jsonlines, prodigy
from reader.export.tokens import Tokens


def tokenise(text: str, cuts: list[int], joins: list[int]) -> Tokens:
    """Runs of non-space characters cut at some offsets, some neighbours joined over their gap."""
    pairs = []
    for m in re.finditer(r"\S+", text):
        inner = sorted({c for c in cuts if m.start() < c < m.end()})
        bounds = [m.start(), *inner, m.end()]
        pairs.extend(itertools.pairwise(bounds))
    for k in sorted(set(joins), reverse=True):
        if k + 1 < len(pairs):
            pairs[k:k + 2] = [(pairs[k][0], pairs[k + 1][1])]
    return Tokens.from_pairs(text, pairs)


def one_by_one(text: str, tokens: Tokens, start: int, end: int) -> list[dict]:
    return [{"text": text[s:e], "start": s - start, "end": e - start, "id": k, "ws": ws}
            for k, (s, e, ws) in enumerate(tokens.units(start, end))]


@settings(max_examples=300, deadline=None)
@given(st.text("ab \n\t", max_size=30), st.lists(st.integers(0, 30), max_size=6),
       st.lists(st.integers(0, 8), max_size=2), st.data())
def test_token_lists_read_from_words_equal_those_built_token_by_token(text, cuts, joins, data) -> None:
    tokens = tokenise(text, cuts, joins)
    units = [(0, len(text))]
    if tokens.starts:
        i = data.draw(st.integers(0, len(tokens.starts) - 1))
        j = data.draw(st.integers(i + 1, len(tokens.starts)))
        units.append((tokens.starts[i], tokens.ends[j - 1]))
    for start, end in units:
        listed, firsts, lasts = prodigy.token_list(tokens, start, end)
        expected = one_by_one(text, tokens, start, end)
        assert msgspec.to_builtins(listed) == expected
        assert list(firsts) == [t["start"] + start for t in expected]
        assert list(lasts) == [t["end"] + start for t in expected]


def test_structs_are_written_as_the_dicts_they_replace() -> None:
    def record(text: str, meta: dict, structs: bool) -> dict:
        token = prodigy.Token if structs else lambda *a: dict(zip(("text", "start", "end", "id", "ws"), a, strict=True))
        return {"text": text, "tokens": [token(text[:2], 0, 2, 0, True), token(text[3:], 3, len(text), 1, False)],
                "meta": meta}

    for text, meta in (("Le texte", {"n": 1}), ("Le x\ud800", {"n": 1}), ("Le texte", {"score": 1e16}),
                       ("Le x\ud800", {"score": 0.1})):
        records = [record(text, meta, True), record(text, meta, False)]
        assert jsonlines.line(records[0]) == jsonlines.line(records[1])
        assert jsonlines.lines(records) == b"".join(jsonlines.line(r) + b"\n" for r in records)
        assert json.loads(jsonlines.line(records[0])) == msgspec.to_builtins(records[1])
