"""Commands on the library: serve the reader, import, export, and show the keymap (opening it: opening.py; what
the index answers, list and search: browsing.py)."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from reader.cli.base import (
    OPTIONS,
    DocsOpt,
    app,
    err,
    fail,
    open_workspace,
    out,
    say,
    warn,
)
from reader.cli.opening import SEEDS, import_documents, import_seeds, load_documents, say_refused


@app.command("serve")
def serve_(
    host: Annotated[str, typer.Option(help="Address to listen on (default: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    public: Annotated[bool, typer.Option("--public", help="Allow an address other machines reach (no "
                                                         "authentication: see README).")] = False,
) -> None:
    """Serve the reader to browsers: each tab runs its own reader on this store, as the analyst it names.

    Tabs use the `browser` keymap unless --keymap is given (Chrome keeps ctrl+n, ctrl+t and ctrl+w for itself:
    the notes list is on `l`). Exports are downloaded from the command palette. ctrl+c stops the server.
    """
    import shlex

    from reader.ui.keymap import load_keymap
    from reader.ui.serve import ReaderServer, is_loopback

    if not is_loopback(host) and not public:
        fail(f"--host {host} is reachable from other machines and textual-serve has no authentication: "
             "add --public to bind it anyway, or keep 127.0.0.1 and use an SSH tunnel")
    keymap = OPTIONS.keymap or "browser"
    load_keymap(keymap)  # a bad keymap fails here, once, not in every tab
    ws = open_workspace(read_only=True)
    if not ws.document_ids():
        if not any(p.is_dir() for p in SEEDS):
            fail(f"the store {OPTIONS.store} is empty: import documents first (reader import PATH)")
        ws = open_workspace()
        import_seeds(ws)
    ws.close()
    command = [sys.executable, "-m", "reader", "--store", str(OPTIONS.store.resolve()), "--keymap",
               str(Path(keymap).resolve()) if Path(keymap).is_file() else keymap]
    if OPTIONS.model:
        command += ["--model", OPTIONS.model]
    if OPTIONS.labels:
        command += ["--labels", str(OPTIONS.labels.resolve())]
    if OPTIONS.entity_labels:
        command += ["--entity-labels", str(OPTIONS.entity_labels.resolve())]
    if not is_loopback(host):
        say(err, f"warning: serving on {host}:{port} to other machines: textual-serve has no authentication, "
            "anyone who reaches it can read and annotate under any name; prefer 127.0.0.1 with an SSH tunnel "
            f"(ssh -L {port}:127.0.0.1:{port} this-machine) or a reverse proxy with authentication")
    server = ReaderServer(shlex.join([*command, "open", "--ask-annotator"]), host, port,
                          announce=lambda line: say(out, line))
    try:
        server.serve()
    except OSError as exc:
        fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}")
    say(out, "reader: stopped")


@app.command("import")
def import_(
    paths: Annotated[list[str], typer.Argument(
        help="Files (.txt, .md, .jsonl, .html, a feed, or a native export), folders, or URLs of pages or feeds.")],
    n_process: Annotated[int, typer.Option(help="spaCy worker processes.")] = 1,
    align: Annotated[str, typer.Option(
        help="Native exports: entity spans that cut a token refuse the import (strict), or expand/contract.")]
    = "strict",
) -> None:
    """Add documents to the store and analyse them; a native `reader export` file brings its annotations."""
    from reader.documents import is_url
    from reader.export import check_options, import_native, read_native

    check_options("jsonl", align=align, need_output=False)
    ws = open_workspace(written="nothing was imported")
    native = {p: records for p in paths
              if not is_url(p) and Path(p).is_file() and (records := read_native(Path(p))) is not None}
    rest = [p for p in paths if p not in native]
    loaded = load_documents(ws, rest) if rest else None  # every input is read before anything is stored
    if native:
        summary = import_native(ws, [r for records in native.values() for r in records], analyse=True, align=align)
        for doc_id in summary.documents:
            state = "added" if doc_id in summary.added else "unchanged"
            say(out, f"{doc_id}  {state:<9}  {ws.document(doc_id).title}")
        say(out, f"{summary.annotations} annotations imported from {len(native)} native export(s)")
        if summary.snapped or summary.dropped:
            say(err, f"{summary.snapped} spans that cut a token moved onto tokens ({align}), {summary.dropped} dropped")
    if loaded is None:
        return
    results = import_documents(ws, loaded.documents, analyse=True, n_process=n_process)
    for result in results:
        doc = result.document
        analysis = ws.cached_analysis(doc)
        n_sent, n_ent = (len(analysis.sentences), len(analysis.entities)) if analysis else (0, 0)
        state = "added" if result.added else "unchanged"
        say(out, f"{doc.id}  {state:<9}  {n_sent:>5} sentences  {n_ent:>5} entities  {doc.title}")
        if result.replaces:
            say(out, f"  replaces {result.replaces} (same source): annotations re-anchored")
        for ann in result.lost:
            say(err, f"  not found in the new text, kept in {result.replaces}: {ann.kind} "
                f"{ann.label or ann.text!r} on “{' '.join(ann.quote.exact[:60].split())}”")
    say_refused(results, loaded.refused)
    if loaded.refused:
        raise typer.Exit(1 if results else 2)  # 1: some imported, others refused; 2: every input refused


@app.command("export")
def export_(
    fmt: Annotated[str, typer.Option(
        "--format", help="jsonl (default), prodigy, doccano, doccano-text, doccano-intent, spacy, conll, hf, "
                         "labelstudio or brat.")] = "jsonl",
    unit: Annotated[str | None, typer.Option(
        help="document or sentence (default: document for jsonl, sentence otherwise).")] = None,
    output: Annotated[Path | None, typer.Option(
        help="File to write (stdout by default; spacy needs one; brat a folder or a .zip).")] = None,
    doc: DocsOpt = None,
    annotated_only: Annotated[bool, typer.Option("--annotated-only", help="Only annotated documents and sentences.")]
    = False,
    align: Annotated[str, typer.Option(help="Spans that cut a token: strict (fail), expand or contract.")]
    = "strict",
    unreviewed: Annotated[str, typer.Option(
        help="Training formats: exclude (default) or include the sentences nobody reviewed, marked where the "
             "format can say so.")] = "exclude",
    all_versions: Annotated[bool, typer.Option(
        "--all-versions", help="Also the versions an edited re-import superseded.")] = False,
) -> None:
    """Write a dataset (stdout when no --output); a summary goes to stderr."""
    from rich.progress import Progress

    from reader.export import ExportError, brat, check_options, export, write_export

    target = None if output is None or str(output) == "-" else output
    if fmt == "brat" and target is None:
        raise ExportError("the brat format is a folder of .txt and .ann files: give --output DIR or FILE.zip")
    check_options(fmt, unit, align, target, unreviewed=unreviewed)
    ws = open_workspace(read_only=True)
    who = OPTIONS.annotator if OPTIONS.annotator_given else None
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("exporting", total=2 * (len(doc) if doc else len(ws.document_ids())))
        result = export(ws, fmt, unit, doc, annotated_only, who, align, progress=lambda n: progress.advance(task, n),
                        unreviewed=unreviewed, all_versions=all_versions)
    if fmt == "brat" and target is not None and target.suffix != ".zip":
        brat.write_folder(result.data, target)
    else:
        write_export(result, target)
    warn([*result.skipped, *result.warnings])
    say(err, result.summary())


@app.command("keys")
def keys_() -> None:
    """Every binding id with its keys under the chosen keymap."""
    from reader.ui.keymap import BY_ID, load_keymap

    keymap = load_keymap(OPTIONS.keymap)
    warn(keymap.warnings)  # usable, but some key will never arrive: said where it can be fixed
    for binding_id, keys in keymap.items():
        say(out, f"{binding_id:<28} {keys:<28} {BY_ID[binding_id].description}")
