"""Prodigy tasks: one per sentence (or document), with Prodigy's own token list, inclusive `token_end`, the
sentence labels as `accept` over `options`, and stable `_input_hash`/`_task_hash` (never Python's hash())."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime

import msgspec

from reader.export import jsonlines
from reader.export.tokens import Tokens
from reader.export.units import Unit


def hash32(text: str) -> int:
    """A stable signed 32-bit hash, like Prodigy's `_input_hash`/`_task_hash` (but not Python's hash())."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


@functools.lru_cache(maxsize=4096)
def epoch(stamp: str) -> int:
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return 0
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


class Token(msgspec.Struct, gc=False):
    """The field order is the record's key order."""

    text: str
    start: int
    end: int
    id: int
    ws: bool


def token_list(tokens: Tokens, start: int, end: int) -> tuple[list[Token], list[int], list[int]]:
    """Prodigy's `tokens` for text[start:end], and the token starts and ends (document offsets) of its spans."""
    units = tokens.units(start, end)
    text = tokens.text
    return ([Token(text[s:e], s - start, e - start, k, ws) for k, (s, e, ws) in enumerate(units)],
            [s for s, _, _ in units], [e for _, e, _ in units])


def write(units: Iterable[Unit], labels: list[str]) -> bytes:
    tokens_of = functools.cache(token_list)  # the sentence's for every annotator

    @functools.cache
    def choices(names: tuple[str, ...]) -> tuple[list[dict], list[str]]:
        """The options of a task (its annotator's label set) and what of them its task hash covers."""
        return [{"id": name, "text": name} for name in names], ["\x1f".join(names)] if names else []

    def task(u: Unit) -> dict:
        v = u.view
        o = u.start
        text = v.doc.text[o:u.end]
        tokens, firsts, lasts = tokens_of(v.tokens, o, u.end)
        options, hashed_labels = choices(tuple(v.universe or labels))
        kept = u.entities  # Prodigy's `spans` are entities: no two may overlap
        spans = [{"start": s.start - o, "end": s.end - o, "token_start": firsts.index(s.start),
                  "token_end": lasts.index(s.end), "label": s.label} for s in kept]
        input_hash = hash32(text)
        hashed = "\x1f".join([str(input_hash), *[f"{s.start - o},{s.end - o},{s.label}" for s in kept],
                              *hashed_labels])
        touched, updated = v.times
        return {"text": text, "tokens": tokens, "spans": spans, "accept": u.labels, "options": options,
                "meta": u.meta, "notes": u.notes, "_input_hash": input_hash, "_task_hash": hash32(hashed),
                "answer": "accept" if u.reviewed else "ignore",  # model output nobody read is no example
                "_annotator_id": v.annotator, "_timestamp": epoch(touched.get(u.index, "") or updated)}

    return jsonlines.lines([task(u) for u in units])
