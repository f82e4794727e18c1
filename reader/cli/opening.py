"""The default command, `reader [PATH ...]`: open the reader; and what `import` and `serve` share with it (inputs
loaded and imported, the seeds for an empty store). The other commands are imported only when a command line may
name one (`ReaderGroup.every_command`)."""

import re
from pathlib import Path
from typing import Annotated

import typer

from reader import collector
from reader.cli.base import OPTIONS, app, err, fail, open_workspace, refuse_read_only, run_reader, say

SEEDS = [Path("seeds"), Path(__file__).resolve().parent.parent.parent / "seeds"]
"""What an empty store opens: the first of these folders that exists."""


@app.command("open")
def open_(
    ctx: typer.Context,
    paths: Annotated[list[str] | None, typer.Argument(help="Files, folders, URLs or feeds to import and open.")]
    = None,
    ask_annotator: Annotated[bool, typer.Option("--ask-annotator", hidden=True,
                                                help="Ask the analyst's name first (each tab of `reader serve`).")]
    = False,
) -> None:
    """Open the reader (the default command): PATHs are imported first."""
    # Start-up allocates many long-lived objects; collecting them before the first frame only delays it.
    # The app re-enables the collector once the first frame is on screen.
    with collector.paused(resume=True):
        from reader.ui.keymap import load_keymap

        keys = load_keymap(OPTIONS.keymap)
        if ask_annotator:
            return open_asking_annotator(keys)
        ws = open_workspace()
        refused: list[str] = []
        if paths and len(paths) == 1 and not Path(paths[0]).exists() and re.fullmatch(r"[a-z][a-z-]*", paths[0]):
            commands = ", ".join(sorted(set(ctx.parent.command.list_commands(ctx)) - {"open"}))
            fail(f"no command or file {paths[0]!r} (commands: {commands})")
        if paths:
            # Every good input is imported and opened; the refused ones are said here, again in the app, and
            # make the status 1 once it closes (2, and no app, when none was good).
            loaded = load_documents(ws, paths)
            refused = loaded.refused
            results = import_documents(ws, loaded.documents, analyse=False)
            doc_ids = [r.document.id for r in results]
            if refused:
                say_refused(results, refused)
            if refused and not doc_ids:
                raise typer.Exit(2)  # nothing to open
        else:
            doc_ids = ws.opening_ids()
            if doc_ids == []:
                doc_ids = import_seeds(ws)
        if doc_ids == []:
            fail(f"the store {OPTIONS.store} is empty: give a file or folder to read (reader PATH)")
        from reader.ui.app import ReaderApp

        app = ReaderApp(ws, doc_ids, keymap=keys)
        if refused:  # one toast, however many: the full list is in the terminal above the app
            shown = "\n".join(refused[:3]) + (f"\n… and {len(refused) - 3} more" if len(refused) > 3 else "")
            app.notices = [f"not imported ({len(refused)}, listed in the terminal when the reader closes):\n{shown}"]
        run_reader(app)
        ws.close()
        if refused:
            raise typer.Exit(1)


def open_asking_annotator(keys) -> None:
    """A tab of `reader serve`: the store's documents, opened as whoever the first screen says they are."""
    from reader.ui.app import ReaderApp

    placeholder = open_workspace(read_only=True)
    doc_ids = placeholder.opening_ids()
    if doc_ids == []:
        fail(f"the store {OPTIONS.store} is empty: import documents first (reader import PATH)")

    def as_annotator(name: str):
        OPTIONS.annotator = name
        return open_workspace()

    app = ReaderApp(placeholder, doc_ids, keymap=keys, ask_annotator=as_annotator)
    run_reader(app)
    app.workspace.close()


def load_documents(ws, paths: list[str] | list[Path]):
    """Inputs as documents (`reader.loading.Loaded`): a refused one is an `error:` line at once, a feed's failed
    items `warning:` lines; a feed's known items come back as stored."""
    from reader.loading import load_inputs

    loaded = load_inputs(paths, stored=lambda: map(ws.document, ws.document_ids()),
                         report=lambda line: say(err, line))
    for refusal in loaded.refused:
        say(err, f"error: {refusal}")
    return loaded


def import_documents(ws, docs, *, analyse: bool, n_process: int = 1):
    """Store and (optionally) analyse documents; a missing model fails before anything is stored."""
    from reader.workspace import ImportResult

    if ws.read_only:
        if missing := [d for d in docs if not ws.has_document(d.id)]:
            refuse_read_only(ws, f"cannot import {len(missing)} new document(s)")
        return [ImportResult(d, False) for d in docs]
    if analyse:
        for doc in {ws.pipeline_for(d): d for d in docs if ws.cached_analysis(d) is None}.values():
            ws.pipeline(doc)
    results = ws.add_documents(docs)
    if analyse and docs:
        from rich.progress import Progress

        with Progress(console=err, transient=True, disable=not err.is_terminal) as progress:
            task = progress.add_task("analysing", total=len(docs))
            ws.analyse_many(docs, n_process=n_process, progress=lambda n: progress.advance(task, n))
    return results


def import_seeds(ws) -> list[str]:
    """The ids of the seed articles, stored without analysis (none when there is no seeds folder)."""
    seeds = [p for p in SEEDS if p.is_dir()][:1]
    return [r.document.id for r in import_documents(ws, load_documents(ws, seeds).documents, analyse=False)]


def say_refused(results, refused: list[str]) -> None:
    """The import's summary line, when more than one input was given (one input's own line says it all)."""
    if len(results) + len(refused) > 1:
        added = sum(1 for r in results if r.added)
        say(err, f"imported {added}, unchanged {len(results) - added}, refused {len(refused)}")
