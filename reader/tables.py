"""The command line's tables of figures: a rich `Table` too wide shrinks a figure to `1.…` for `1.00`, so
`FigureTable` keeps figures whole and splits them over as many tables as it takes, the names repeated."""

from __future__ import annotations

from collections.abc import Sequence

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


class FigureTable:
    """Rows of names (left-aligned, may wrap, repeated in every part) and figures (right-aligned, never cut)."""

    def __init__(self, title: str, names: Sequence[str], figures: Sequence[str],
                 rows: Sequence[tuple[Sequence[object], Sequence[object]]]) -> None:
        self.title, self.names, self.figures = title, clean(names), clean(figures)
        self.rows = [(clean(names), clean(figures)) for names, figures in rows]
        self.widths = [max(cell_len(x) for x in [f, *(row[i] for _, row in self.rows)])
                       for i, f in enumerate(self.figures)]
        self.names_width = sum(max(cell_len(x) for x in [h, *(row[i] for row, _ in self.rows)])
                               for i, h in enumerate(self.names)) + GAP * (len(self.names) - 1)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        name_width = min(self.names_width, max(12, width // 3))  # at most a third of the line: a long name wraps
        groups: list[list[int]] = [[]]  # the figure columns of each table: as many as fit beside the names
        used = name_width
        for index, figure_width in enumerate(self.widths):
            if groups[-1] and used + figure_width + GAP > width:
                groups.append([])
                used = name_width
            groups[-1].append(index)
            used += figure_width + GAP
        title = Text(visible(self.title, one_line=True), style="table.title")
        yield Text("\n").join(title.wrap(console, width, no_wrap=False))  # a soft-wrapping console would not wrap it
        for number, group in enumerate(groups):
            table = Table(box=None, pad_edge=False, header_style="bold")
            for header in self.names:
                table.add_column(Text(header), overflow="fold", max_width=max(4, name_width // len(self.names)))
            for index in group:
                table.add_column(Text(self.figures[index], no_wrap=True), justify="right", no_wrap=True,
                                 min_width=self.widths[index])
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
    """`reader train`: held-out precision, recall and F1 per label; an entity model's beside the base model's."""
    if "base_scores" not in meta:
        return FigureTable("Held-out scores", ["label"], ["precision", "recall", "f1", "sentences"], [
            ([label], [percent_text(s["p"]), percent_text(s["r"]), percent_text(s["f"]), s.get("n", "")])
            for label, s in meta["scores"].items()])
    base = meta["base_scores"]
    return FigureTable("Held-out scores of the new model and of the base model", ["label"],
                       ["p", "r", "f1", "base p", "base r", "base f1", "entities"], [
        ([label], [*(percent_text(s.get(k)) for k in "prf"),
                   *(percent_text(base.get(label, {}).get(k)) for k in "prf"), s.get("n", "")])
        for label, s in meta["scores"].items()])


def render_models(models: Sequence, active: dict[str, str]) -> FigureTable:
    """`reader models`: each model's task, held-out F1 beside the base model's, whether it is in use, its date."""
    return FigureTable("Trained models", ["model", "task", "labels"], ["f1", "base f1", "in use", "created"], [
        ([m.name, m.task, " ".join(m.labels)],
         [percent_text(overall(m.meta["scores"])), percent_text(overall(m.meta.get("base_scores") or {})),
          "yes" if active.get(m.name) else "", m.created.replace("T", " ")[:16]])
        for m in models])


def overall(scores: dict) -> float | None:
    """Micro F1 where the scores have it (`ALL`), else the mean of the labels' F1."""
    if "ALL" in scores:
        return scores["ALL"].get("f")
    values = [s["f"] for s in scores.values() if s.get("f") is not None]
    return sum(values) / len(values) if values else None


def text_table(title: str, columns: dict[str, dict], rows) -> Table:
    """A borderless table whose every cell is `Text` (never markup); `columns`: name -> `add_column` options."""
    table = Table(title=Text(visible(title, one_line=True)), title_justify="left", box=None, pad_edge=False,
                  header_style="bold")
    for name, settings in columns.items():
        table.add_column(name, **settings)
    for row in rows:
        table.add_row(*(c if isinstance(c, Text) else Text(visible(str(c), one_line=True)) for c in row))
    return table


def render_documents(who: str, summaries) -> Table:
    """`reader list`: figures keep their width (never cut); the title gives way, cut with …."""
    figures = ("sentences", "tagged", "notes", "decisions")
    columns = {"id": {"no_wrap": True, "overflow": "ellipsis", "min_width": 12},
               "title": {"overflow": "ellipsis", "max_width": 60},
               **{name: {"justify": "right", "no_wrap": True, "overflow": "ellipsis", "min_width": len(name)}
                  for name in figures},
               "done": {"no_wrap": True, "min_width": 4}}
    return text_table(f"Documents · progress of {who}", columns, [
        (s.doc_id, Text(visible(s.title, one_line=True), no_wrap=True, overflow="ellipsis"),
         "–" if s.sentences is None else s.sentences, s.tagged, s.notes, s.decisions, "done" if s.done else "")
        for s in summaries])


def render_suggestions(model: str, text: str, rows) -> Table:
    """`reader suggest`: each sentence's suggested labels (p ≥ 0.5); `rows`: (index, ((start, end), cats))."""
    from reader.suggest import shown

    return text_table(f"Suggestions of {model} (p ≥ 0.5)", {
        "sentence": {"justify": "right", "no_wrap": True},
        "suggested": {"no_wrap": True, "overflow": "ellipsis"},
        "text": {"no_wrap": True, "overflow": "ellipsis", "max_width": 70}}, [
        (i, " ".join(f"{n} {c[n]:.2f}" for n in shown(c)) or "–", " ".join(text[s:e].split()))
        for i, ((s, e), c) in rows])


def render_patterns(patterns: Sequence, matches: dict[str, int]) -> Table:
    """`reader patterns`: each pattern in use, who made it, from how many corrections, how often it matched."""
    return text_table(f"Entity patterns ({len(patterns)})", {
        "id": {"no_wrap": True}, "label": {"overflow": "fold"}, "surface": {"overflow": "fold", "ratio": 1},
        "by": {"overflow": "fold"}, "made": {"justify": "right", "no_wrap": True},
        "matched": {"justify": "right", "no_wrap": True}}, [
        (p.id, f"not {p.label}" if p.negative else p.label, p.surface, " ".join(p.annotators), p.count,
         matches.get(p.id, 0)) for p in patterns])
