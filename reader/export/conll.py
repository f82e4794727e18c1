"""Token classification (README, Export): CoNLL 2003 NER in IOB2, as `spacy convert -c ner` and seqeval read
it, and Hugging Face JSONL, as `datasets.load_dataset("json")` reads it. Both use the analysis' tokens but
whitespace ones (a "\\n\\n" token would end the sentence) and the tags of the one overlap rule."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable

from reader.export import jsonlines
from reader.export.units import Unit

DOCSTART = "-DOCSTART- -X- O O"


def sentences(u: Unit) -> list[tuple[list[str], list[str]]]:
    """The unit's sentences as (tokens, IOB2 tags), whitespace left out; a sentence without tokens is left out."""
    v = u.view
    text, starts, ends = v.tokens.text, v.tokens.starts, v.tokens.ends
    first = bisect_left(starts, u.start)
    last = bisect_right(ends, u.end, first)
    tags = ["O"] * (last - first)
    for span in u.entities:
        i = bisect_left(starts, span.start, first, last) - first
        j = bisect_right(ends, span.end, first, last) - first
        tags[i:j] = [f"B-{span.label}", *[f"I-{span.label}"] * (j - i - 1)]
    breaks = [s for s, _ in v.sentences]
    out: list[tuple[list[str], list[str]]] = []
    sentence = -1
    for k in range(first, last):
        word = text[starts[k]:ends[k]]
        if word.isspace():
            continue
        tag = tags[k - first]
        here = bisect_right(breaks, starts[k]) - 1
        if not out or (here != sentence and not tag.startswith("I-")):
            out.append(([], []))
        sentence = here
        out[-1][0].append(word)
        out[-1][1].append(tag)
    return out


def write(units: Iterable[Unit], labels: list[str]) -> bytes:
    """Sentence labels and notes have no place in CoNLL: `labels` is not needed."""
    lines: list[str] = []
    last = None
    for u in units:
        found = sentences(u)
        if found and u.view is not last:
            lines += [DOCSTART, ""]
            last = u.view
        for words, tags in found:
            lines += [*(f"{word}\t{tag.replace(' ', '_')}" for word, tag in zip(words, tags, strict=True)), ""]
    return "".join(line + "\n" for line in lines).encode("utf-8", "surrogatepass")


def write_hf(units: Iterable[Unit], labels: list[str]) -> bytes:
    """A document's sentences joined; records name no label outside their own: `labels` is not needed."""
    records = []
    for u in units:
        found = sentences(u)
        records.append({"id": u.view.doc.id if u.index is None else f"{u.view.doc.id}:{u.index}",
                        "tokens": [word for words, _ in found for word in words],
                        "ner_tags": [tag for _, tags in found for tag in tags], "labels": u.labels,
                        "meta": u.meta})
    return jsonlines.lines(records)
