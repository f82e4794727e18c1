"""The command line's tables of figures, which fit any terminal without cutting a number.

A rich `Table` too wide shrinks its columns, and a figure shrunk shows `1.…` for `1.00`: a number read wrong.
`FigureTable` keeps figures whole and splits them over as many tables as it takes, the (wrapping) names repeated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.table import Table
from rich.text import Text

from reader.stats import DECISIONS, percent_text
from reader.untrusted import visible

GAP = 2  # cells between two columns of a `box=None` table


def clean(values: Sequence[object]) -> list[str]:
    """Cells as one-line text with controls shown (drawn as `Text`, never parsed as markup)."""
    return [visible(str(x), one_line=True) for x in values]


@dataclass
class FigureTable:
    title: str
    names: Sequence[str]  # what a row is: left-aligned, may wrap, repeated in every part
    figures: Sequence[str]  # right-aligned, never wrapped nor cut
    rows: Sequence[tuple[Sequence[object], Sequence[object]]] = field(default_factory=list)  # (names, figures)

    def __post_init__(self) -> None:
        self.names, self.figures = clean(self.names), clean(self.figures)
        self.rows = [(clean(names), clean(figures)) for names, figures in self.rows]

    def parts(self, width: int) -> list[list[int]]:
        """The figure columns (indexes) of each table printed at `width` cells: as many as fit beside the names."""
        name_width = self._names_width(width)
        groups: list[list[int]] = [[]]
        used = name_width
        for index in range(len(self.figures)):
            need = self._figure_width(index) + GAP
            if groups[-1] and used + need > width:
                groups.append([])
                used = name_width
            groups[-1].append(index)
            used += need
        return groups

    def _figure_width(self, index: int) -> int:
        return max([cell_len(self.figures[index]), *(cell_len(f[index]) for _, f in self.rows)])

    def _names_width(self, width: int) -> int:
        """Their natural width, but at most a third of the line, so figures have room (a long name wraps)."""
        natural = sum(max([cell_len(h), *(cell_len(n[i]) for n, _ in self.rows)]) for i, h in enumerate(self.names))
        return min(natural + GAP * (len(self.names) - 1), max(12, width // 3))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        name_width = self._names_width(width)
        for number, group in enumerate(self.parts(width)):
            if number == 0:  # wrapped here, at the line's width: a console in soft-wrap mode would not
                title = Text(visible(self.title, one_line=True), style="table.title")
                yield Text("\n").join(title.wrap(console, width, no_wrap=False))
            table = Table(box=None, pad_edge=False, header_style="bold")
            for header in self.names:
                table.add_column(Text(header), overflow="fold", max_width=max(4, name_width // len(self.names)))
            for index in group:
                table.add_column(Text(self.figures[index], no_wrap=True), justify="right", no_wrap=True,
                                 min_width=self._figure_width(index))
            for names, figures in self.rows:
                table.add_row(*(Text(x) for x in names), *(Text(figures[i], no_wrap=True) for i in group))
            if number:
                yield Text("")
            yield table


def render_stats(result) -> Group:
    """`reader stats`: a summary line, the annotator table, the agreement table, the suggestions table."""
    parts: list = [Text(f"{result.documents} documents, {len(result.annotators)} annotators")]
    if result.annotators:
        parts.append(FigureTable("Annotators", ["annotator"], ["documents", "tagged", *result.labels, "notes",
                                                               *DECISIONS], [
            ([a.name], [a.documents, a.tagged_sentences, *(a.labels.get(x, 0) for x in result.labels), a.notes,
                        *(a.decisions.get(x, 0) for x in DECISIONS)]) for a in result.annotators]))
    if result.agreement:
        parts.append(FigureTable("Agreement on sentence labels (Cohen's kappa per label)", ["annotators"],
                                 ["documents", "sentences", "same labels", *result.labels], [
            ([f"{x.first} / {x.second}"], [x.documents, x.sentences, percent_text(x.percent, True),
                                           *(percent_text(x.kappa.get(label)) for label in result.labels)])
            for x in result.agreement]))
    elif len(result.annotators) > 1:
        parts.append(Text("no document was annotated by two annotators: no agreement to measure"))
    if result.models:
        parts.append(FigureTable("Suggestions (sentences, per model)", ["model", "annotator"],
                                 ["accepted", "dismissed", "corrected"],
                                 [([m.model, m.annotator], [m.accepted, m.dismissed, m.corrected])
                                  for m in result.models]))
    return Group(*parts)


def render_agreement(result) -> Group:
    """`reader agree`: sentence labels (alpha, kappa per pair), entity pairs, entity F1 per label."""
    head = (f"{result.documents} documents ({result.sentences} sentences) touched by at least two of "
            f"{len(result.annotators)} annotators: {', '.join(result.annotators) or 'none'}")
    parts: list = [Text(visible(head, one_line=True))]
    if not result.documents:
        return Group(*parts, Text("no document was touched by two annotators: no agreement to measure"))
    parts.append(FigureTable("Sentence labels (Krippendorff's alpha over all; Cohen's kappa per pair)", ["label"],
                             ["alpha", *(f"{a} / {b}" for a, b in result.pairs)], [
        ([name], [percent_text(x.alpha), *(percent_text(x.kappa.get(pair)) for pair in result.pairs)])
        for name, x in result.labels.items()]))
    parts.append(FigureTable("Entities (a is the reference; mismatches: unmatched spans of either side)", ["a / b"],
                             ["precision", "recall", "f1", "boundary", "label", "missing"], [
        ([f"{p.a} / {p.b}"], [*map(percent_text, (p.precision, p.recall, p.f1)), p.boundary, p.label, p.missing])
        for p in result.entities]))
    if result.entity_f1:
        parts.append(FigureTable("Entity F1 per label (all pairs)", ["label"], ["f1"],
                                 [([name], [percent_text(f1)]) for name, f1 in result.entity_f1.items()]))
    return Group(*parts)


def render_scores(meta: dict) -> FigureTable:
    """`reader train`: held-out precision, recall and F1 per label (– where undefined)."""
    return FigureTable("Held-out scores", ["label"], ["precision", "recall", "f1", "sentences"], [
        ([label], [percent_text(s["p"]), percent_text(s["r"]), percent_text(s["f"]), s.get("n", "")])
        for label, s in meta["scores"].items()])
