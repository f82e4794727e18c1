"""Command line: `reader [PATH ...]` opens the TUI; subcommands work headless on the same store.

An expected failure is one `error: ...` line (caught once, in `ReaderGroup.invoke`). Data goes out through `say`
or `Text` cells, never as markup, controls made visible: an old store or a typed path may hold an escape.
"""

from __future__ import annotations

import sys

from reader import collector

with collector.paused():  # start-up: what these imports build lives as long as the process (bench/README.md)
    import typer

    from reader.cli import opening  # the others when a command line may name one (`ReaderGroup.every_command`)
    from reader.cli.base import app, err, out, say

__all__ = ["app", "err", "main", "opening", "out", "run"]


def run(argv: list[str]) -> int:
    """Outside click's standalone mode: a usage error is one `error:` line and status 2, not typer's usage box."""
    try:
        status = app(args=argv, prog_name="reader", standalone_mode=False)
    except typer.Abort:
        say(err, "error: interrupted")
        return 130
    except typer.TyperException as exc:  # click's errors
        say(err, click_error_line(exc))
        return exc.exit_code
    return status if isinstance(status, int) else 0


def click_error_line(exc: typer.TyperException) -> str:
    """The `error:` line of a click error; a usage error (it has a `ctx`) names the command's `--help`."""
    message = exc.format_message().strip()
    if not hasattr(exc, "ctx"):
        return f"error: {message}"
    message = message.rstrip(".")
    where = exc.ctx.command_path if exc.ctx else "reader"
    return f"error: {message[:1].lower() + message[1:]} (see {where} --help)"


def main() -> None:
    sys.exit(run(sys.argv[1:]))
