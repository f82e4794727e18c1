"""Tables of figures for the command line that fit any terminal without cutting a number.

A rich `Table` wider than the terminal shrinks its columns, and a column of figures shrunk below its widest
figure shows `1.…` instead of `1.00`: a number read wrong. `FigureTable` keeps every figure column at the width
of its widest cell and, when they do not all fit beside the name columns, prints the figure columns in as many
tables as it takes, the name columns repeated in each (a table per group of labels). Names may wrap; figures never.
Every cell is given as text and drawn as `rich.text.Text`, so a value is never parsed as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from reader.untrusted import visible

GAP = 2
"""Cells between two columns of a `box=None` table (one of padding on each side)."""


@dataclass
class FigureTable:
    title: str
    names: Sequence[str]
    """Headers of the leading columns that say what a row is (an annotator, a pair, a label): left-aligned, may
    wrap, repeated in every part."""
    figures: Sequence[str]
    """Headers of the columns of figures: right-aligned, never wrapped nor cut."""
    rows: list[tuple[Sequence[str], Sequence[str]]] = field(default_factory=list)
    """(name cells, figure cells) per row."""

    def __post_init__(self) -> None:
        self.names = [visible(str(x), one_line=True) for x in self.names]
        self.figures = [visible(str(x), one_line=True) for x in self.figures]

    def add_row(self, names: Sequence[object], figures: Sequence[object]) -> None:
        self.rows.append(([visible(str(x), one_line=True) for x in names],
                          [visible(str(x), one_line=True) for x in figures]))

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
        """What the name columns take: their natural width, but at most a third of the line, so figures have room
        (a long name wraps instead)."""
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
