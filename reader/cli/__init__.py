"""Command line: `reader [PATH ...]` opens the TUI; subcommands work headless on the same store.

Every command resolves options, then calls the workspace; an expected failure is one `error: ...` line (caught
once, in `ReaderGroup.invoke`). Data goes out through `say` or `Text` cells, never as markup, controls made
visible: an old store or a typed path may hold an escape. The commands register themselves on `app` when their
modules are imported here.
"""

from __future__ import annotations

import sys

from reader import collector

with collector.paused():  # start-up: what these imports build lives as long as the process (bench/README.md)
    import typer

    from reader.cli import documents, tagging, team
    from reader.cli.base import app, err, out, say

__all__ = ["app", "documents", "err", "main", "out", "run", "tagging", "team"]


def run(argv: list[str]) -> int:
    """Run the command line outside click's standalone mode: a usage error is one `error:` line and status 2,
    not typer's usage box."""
    try:
        status = app(args=argv, prog_name="reader", standalone_mode=False)
    except typer.Abort:
        say(err, "error: interrupted")
        return 130
    except Exception as exc:
        if not callable(getattr(exc, "format_message", None)) or not isinstance(getattr(exc, "exit_code", None), int):
            raise
        say(err, click_error_line(exc))
        return exc.exit_code  # type: ignore[attr-defined]
    return status if isinstance(status, int) else 0


def click_error_line(exc: Exception) -> str:
    """The `error:` line of a click error. typer exports none of click's exception classes, so they are told by
    click's documented `format_message()` and `exit_code`, a usage error by its `ctx`, named for `--help`."""
    message = exc.format_message().strip()  # type: ignore[attr-defined]
    if not hasattr(exc, "ctx"):
        return f"error: {message}"
    message = message.rstrip(".")
    where = exc.ctx.command_path if exc.ctx else "reader"
    return f"error: {message[:1].lower() + message[1:]} (see {where} --help)"


def main() -> None:
    sys.exit(run(sys.argv[1:]))
