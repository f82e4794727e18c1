"""Command line: `reader [PATH ...]` opens the TUI; subcommands work headless on the same store.

Every command resolves options, then calls the workspace; an expected failure is one `error: ...` line. Data goes
out through `say` or `Text` cells, never as markup, controls made visible: an old store or a typed path may hold
an escape.
"""

from __future__ import annotations

import getpass
import os
import re
import sys
from contextlib import contextmanager, suppress
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from reader import collector
from reader.untrusted import UntrustedError, check_name, visible

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
            name = token.split("=", 1)[0]
            if token == "--":
                rest += [token, *tokens]
            elif name in values and "=" not in token:
                (head if name in own else rest).extend([token, *islice(tokens, 1)])
            else:
                (head if name in own else rest).append(token)
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

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


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
DocOrFrom = Annotated[str | None, typer.Argument(help="Document id or unique id prefix.", show_default=False)]
DocsOpt = Annotated[list[str] | None, typer.Option("--doc", help="Document id or unique prefix (repeatable).")]
CheckOpt = Annotated[bool, typer.Option("--check", help="With --from: check every line, write nothing.")]


@app.callback()
def main_options(
    store: Annotated[Path, typer.Option("--store", envvar="READER_STORE", help="Store folder.")] = Path("annotations"),
    model: Annotated[str | None, typer.Option("--model", help="spaCy pipeline (default: fr_core_news_md).")] = None,
    annotator: Annotated[str | None, typer.Option("--annotator", help="Your name in the store (default: login).")]
    = None,
    keymap: Annotated[str | None, typer.Option("--keymap", help="Keymap name (keymaps/NAME.toml) or file.")] = None,
    labels: Annotated[Path | None, typer.Option("--labels", help="Sentence label set (TOML).")] = None,
) -> None:
    """Global options (`ReaderGroup` lets them follow the subcommand too)."""
    with user_errors():
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


@contextmanager
def user_errors(*more: type[Exception]):
    """Turn the domain's expected errors (and a command's own, `more`) into one line on stderr."""
    from reader.analysis import AnalysisError
    from reader.annotations import AnnotationError
    from reader.documents import DocumentError
    from reader.labels import LabelError
    from reader.store import StoreError
    from reader.ui.keymap import KeymapError

    try:
        yield
    except (DocumentError, StoreError, KeymapError, AnalysisError, LabelError, AnnotationError,
            UntrustedError, *more) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted", 130)


def sentence_index(value: str, count: int, hint: str = "") -> int:
    """A sentence number given on the command line: ASCII digits within range (`-1` is not the last one)."""
    from reader.annotations import AnnotationError

    if not re.fullmatch(r"[0-9]+", value) or int(value) >= count:
        shown = value if re.fullmatch(r"-?[0-9]+", value) else repr(value)
        raise AnnotationError(f"no sentence {shown} (the document has {count}, numbered from 0{hint})")
    return int(value)


def warn_damage(found) -> None:
    """A `warning:` line per damaged file a command left out; it did its job on the rest, so its status stands."""
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


def default_paths() -> list[Path]:
    for candidate in (Path("seeds"), PACKAGE_ROOT / "seeds"):
        if candidate.is_dir():
            return [candidate]
    return []


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
    with collector.paused(resume=True), user_errors():
        from reader.ui.keymap import load_keymap

        keys = load_keymap(OPTIONS.keymap)
        if ask_annotator:
            open_asking_annotator(keys)
            return
        ws = open_workspace()
        refused: list[str] = []
        if paths and len(paths) == 1 and not Path(paths[0]).exists() and re.fullmatch(r"[a-z][a-z-]*", paths[0]):
            commands = ", ".join(sorted(set(ctx.parent.command.commands) - {"open"}))
            fail(f"no command or file {paths[0]!r} (commands: {commands})")
        if paths:
            # Every good input is imported and opened; the refused ones are said here, again in the app, and
            # make the status 1 once it closes (2, and no app, when none was good).
            loaded = load_documents(ws, paths)
            refused = loaded.refused
            results = import_documents(ws, paths, analyse=False, docs=loaded.documents)
            doc_ids = [r.document.id for r in results]
            if refused:
                say_refused(results, refused)
            if refused and not doc_ids:
                raise typer.Exit(2)  # nothing to open
        else:
            doc_ids = ws.document_ids()
            if not doc_ids and default_paths():
                doc_ids = [r.document.id for r in import_documents(ws, default_paths(), analyse=False)]
        if not doc_ids:
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


def run_reader(app) -> None:
    """Run the TUI, then say what it kept on the way out; a terminal gone (SIGHUP) costs the message only."""
    app.run()
    for line in app.kept:
        with suppress(OSError):
            say(err, line)


def open_asking_annotator(keys) -> None:
    """A tab of `reader serve`: the store's documents, opened as whoever the first screen says they are."""
    from reader.ui.app import ReaderApp

    placeholder = open_workspace(read_only=True)
    doc_ids = placeholder.document_ids()
    if not doc_ids:
        fail(f"the store {OPTIONS.store} is empty: import documents first (reader import PATH)")

    def as_annotator(name: str):
        OPTIONS.annotator = name
        return open_workspace()

    app = ReaderApp(placeholder, doc_ids, keymap=keys, ask_annotator=as_annotator)
    run_reader(app)
    app.workspace.close()


@app.command("serve")
def serve_(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (default: this machine only).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)] = 8000,
    public: Annotated[bool, typer.Option("--public", help="Allow an address other machines reach (no "
                                                         "authentication: see README).")] = False,
) -> None:
    """Serve the reader to browsers: each tab runs its own reader on this store, as the analyst it names.

    Tabs use the `browser` keymap unless --keymap is given (Chrome keeps ctrl+n, ctrl+t and ctrl+w for itself:
    the notes list is on `l`). Exports are downloaded from the command palette. ctrl+c stops the server.
    """
    with user_errors():
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
            seeds = default_paths()
            if not seeds:
                fail(f"the store {OPTIONS.store} is empty: import documents first (reader import PATH)")
            ws = open_workspace()
            import_documents(ws, seeds, analyse=False)
        ws.close()
        command = [sys.executable, "-m", "reader", "--store", str(OPTIONS.store.resolve()), "--keymap",
                   str(Path(keymap).resolve()) if Path(keymap).is_file() else keymap]
        if OPTIONS.model:
            command += ["--model", OPTIONS.model]
        if OPTIONS.labels:
            command += ["--labels", str(OPTIONS.labels.resolve())]
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


def load_documents(ws, paths: list[str] | list[Path]):
    """Inputs as documents (`reader.loading.Loaded`): a refused one is an `error:` line at once, a feed's failed
    items `warning:` lines; a feed's known items come back as stored."""
    from reader.loading import load_inputs

    loaded = load_inputs(paths, stored=lambda: map(ws.document, ws.document_ids()),
                         report=lambda line: say(err, line))
    for refusal in loaded.refused:
        say(err, f"error: {refusal}")
    return loaded


def import_documents(ws, paths: list[str] | list[Path], *, analyse: bool, n_process: int = 1, docs=None):
    """Store and (optionally) analyse documents (loaded from `paths` unless `docs` are given); a missing model
    fails before anything is stored."""
    from reader.workspace import ImportResult

    docs = load_documents(ws, paths).documents if docs is None else docs
    if ws.read_only:
        missing = [d for d in docs if not ws.has_document(d.id)]
        if missing:
            fail(f"the store {OPTIONS.store} is read-only here: {ws.read_only_message()}; cannot import "
                 f"{len(missing)} new document(s)")
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


@app.command("import")
def import_(
    paths: Annotated[list[str], typer.Argument(
        help="Files (.txt, .md, .jsonl, .html, a feed, or a native export), folders, or URLs of pages or feeds.")],
    n_process: Annotated[int, typer.Option("--n-process", help="spaCy worker processes.")] = 1,
) -> None:
    """Add documents to the store and analyse them; a native `reader export` file brings its annotations."""
    from reader.export import ExportError

    with user_errors(ExportError):
        from reader.documents import is_url
        from reader.export import import_native, read_native

        ws = open_workspace(written="nothing was imported")
        native = {p: records for p in paths
                  if not is_url(p) and Path(p).is_file() and (records := read_native(Path(p))) is not None}
        rest = [p for p in paths if p not in native]
        loaded = load_documents(ws, rest) if rest else None  # every input is read before anything is stored
        if native:
            summary = import_native(ws, [r for records in native.values() for r in records], analyse=True)
            for doc_id in summary.documents:
                state = "added" if doc_id in summary.added else "unchanged"
                say(out, f"{doc_id}  {state:<9}  {ws.document(doc_id).title}")
            say(out, f"{summary.annotations} annotations imported from {len(native)} native export(s)")
        if loaded is None:
            return
        results = import_documents(ws, rest, analyse=True, n_process=n_process, docs=loaded.documents)
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


LIST_SORTS = ("id", "title", "date", "tagged", "progress")


@app.command("list")
def list_(
    sort: Annotated[str, typer.Option("--sort", help="id (default), title, date, tagged or progress (share "
                                                     "tagged, least first).")] = "id",
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most this many documents.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per document.")] = False,
) -> None:
    """Documents in the store, with --annotator's progress (tagged sentences, notes, entity decisions)."""
    with user_errors():
        if sort not in LIST_SORTS:
            fail(f"unknown sort {sort!r} (sorts: {', '.join(LIST_SORTS)})")
        ws = open_workspace(read_only=True)
        who = ws.annotator
        summaries = [ws.summary(doc_id, who) for doc_id in ws.document_ids()]
        if sort == "progress":
            summaries.sort(key=lambda s: (s.tagged / s.sentences if s.sentences else 0.0, s.doc_id))
        elif sort != "id":
            summaries.sort(key=lambda s: (getattr(s, sort), s.doc_id), reverse=sort == "tagged")
        summaries = summaries[:limit]
        if as_json:
            for s in summaries:
                write_json({"id": s.doc_id, "title": s.title, "date": s.date, "source": s.source, "annotator": who,
                            "sentences": s.sentences, "tagged": s.tagged, "notes": s.notes, "decisions": s.decisions})
            return
        # figures keep their width (never cut); the title gives way, cut with … (Rich shrinks only a column that
        # may wrap: the title's cells themselves stay on one line)
        figure = {"justify": "right", "no_wrap": True, "overflow": "ellipsis"}
        columns = {"id": {"no_wrap": True, "overflow": "ellipsis", "min_width": 12},
                   "title": {"overflow": "ellipsis", "max_width": 60},
                   **{name: {**figure, "min_width": len(name)} for name in ("sentences", "tagged", "notes",
                                                                            "decisions")}}
        out.print(text_table(f"Documents · progress of {who}", columns, [
            (s.doc_id, Text(visible(s.title, one_line=True), no_wrap=True, overflow="ellipsis"),
             "–" if s.sentences is None else s.sentences, s.tagged, s.notes, s.decisions) for s in summaries]))
        warn_damage(ws.damage())


def session_for(doc_ref: str):
    """The document (by id or unique prefix), its sentences (cached or from the model) and the session."""
    ws = open_workspace(written="nothing was written")
    doc = ws.document(ws.resolve(doc_ref))
    analysis, _ = ws.analysis(doc)
    session = ws.session(doc)
    session.use_sentences(analysis.sentences)
    return ws, doc, analysis, session


@app.command("tag")
def tag_(
    doc: DocOrFrom = None,
    sentence: Annotated[str | None, typer.Argument(help="Sentence number, from 0.", show_default=False)] = None,
    label: Annotated[str | None, typer.Argument(help="Label name.", show_default=False)] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Take the label off.")] = False,
    source: Annotated[str | None, typer.Option("--from", help="Many tags: a TSV file (- for stdin) of lines "
                                                            "doc<TAB>sentence<TAB>label[<TAB>remove].")] = None,
    check: CheckOpt = False,
) -> None:
    """Tag a sentence (the same operation as the label keys in the reader), or many with --from FILE."""
    if source is not None:
        if doc is not None or remove:
            fail("give either DOC SENT LABEL [--remove] or --from FILE (a `remove` column), not both")
        return bulk("tag", source, check, tag_line, 3)
    require("tag", doc=doc, sentence=sentence, label=label)
    assert doc is not None and sentence is not None and label is not None
    with user_errors():
        label = check_name(label, "label")
        ws, document, analysis, session = session_for(doc)
        index = sentence_index(sentence, len(analysis.sentences))
        change = session.set_tag(index, label, on=not remove)
        start, end = analysis.sentences[index]
        state = "unchanged" if change is None else change.description
        preview = " ".join(document.text[start:end].split())[:70]
        say(out, f"{document.id} sentence {sentence}: {state} ({ws.annotator}) · {preview}")


def tag_line(session, analysis, fields: list[str], memo: dict):
    """One line of `tag --from`: doc, sentence, label[, remove] (the document resolved already)."""
    from reader.annotations import AnnotationError

    if len(fields) > 4:
        raise AnnotationError(f"{len(fields)} columns: doc, sentence, label and an optional `remove`")
    index = sentence_index(fields[1], len(analysis.sentences))
    flag = fields[3].strip() if len(fields) == 4 else ""
    if flag not in ("", "remove", "add"):
        raise AnnotationError(f"the 4th column is `remove` (or empty), not {flag!r}")
    try:
        label = check_name(fields[2], "label")
    except UntrustedError as exc:
        raise AnnotationError(str(exc)) from None
    return session.set_tag(index, label, on=flag != "remove")


def entity_line(session, analysis, fields: list[str], memo: dict):
    """One line of `entity --from`, or the arguments of `entity`: doc, start, end, action[, label]."""
    from reader.annotations import AnnotationError

    if len(fields) > 5:
        raise AnnotationError(f"{len(fields)} columns: doc, start, end, action and a label for relabel/add")
    for name, value in (("start", fields[1]), ("end", fields[2])):
        if not re.fullmatch(r"[0-9]+", value):
            raise AnnotationError(f"{name} {value!r} is not a character offset (digits, from 0)")
    if len(fields) < 4:
        raise AnnotationError("missing the action (accept, reject, relabel LABEL or add LABEL)")
    start, end = int(fields[1]), int(fields[2])
    predicted = memo.get("predicted")
    if predicted is None:  # once per document (`memo` is the document's): the model's entities by span
        predicted = memo["predicted"] = {(e.start, e.end): e.label for e in analysis.entities}
    return session.set_entity(start, end, fields[3].strip(), fields[4].strip() if len(fields) == 5 else None,
                              predicted=predicted, tokens=analysis.tokens)


def read_lines(source: str) -> list[tuple[int, list[str]]]:
    """(line number, tab-separated fields) of a file or `-` (stdin), UTF-8; blank and `#` lines skipped."""
    where = "stdin" if source == "-" else source
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        text = data.decode("utf-8-sig")
    except OSError as exc:
        fail(f"cannot read {where}: {exc.strerror or exc}")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        fail(f"{where}:{line}: not UTF-8 text")
    return [(n, [f.strip(" ") for f in line.rstrip("\r").split("\t")]) for n, line in enumerate(text.split("\n"), 1)
            if line.strip() and not line.lstrip().startswith("#")]


def bulk(command: str, source: str, check: bool, apply_line, columns: int) -> None:
    """`tag --from` / `entity --from`: every line through the session operations the reader's keys use, one
    durable write per document (`AnnotationSession.batch`); a bad line is `error: FILE:LINE: why`, status 1."""
    from reader.analysis import AnalysisError
    from reader.annotations import AnnotationError
    from reader.store import StoreError

    where = "stdin" if source == "-" else source
    lines = read_lines(source)
    errors: list[tuple[int, str]] = []
    with user_errors():
        ws = open_workspace(read_only=check, written="" if check else "nothing was written")
        by_doc: dict[str, list[tuple[int, list[str]]]] = {}
        resolved: dict[str, str] = {}
        for number, fields in lines:
            if len(fields) < columns:
                errors.append((number, f"{len(fields)} column(s), expected at least {columns} separated by tabs"))
                continue
            try:
                doc_id = resolved.get(fields[0]) or resolved.setdefault(fields[0], ws.resolve(fields[0]))
            except StoreError as exc:
                errors.append((number, str(exc)))
                continue
            by_doc.setdefault(doc_id, []).append((number, fields))
        applied = unchanged = written = writes = 0
        for doc_id, doc_lines in by_doc.items():
            try:
                document = ws.document(doc_id)
                analysis, _ = ws.analysis(document)
            except (StoreError, AnalysisError) as exc:
                errors.extend((n, f"cannot read {doc_id}: {exc}") for n, _ in doc_lines)
                continue
            session = ws.session(document)
            session.use_sentences(analysis.sentences)
            done = same = 0
            memo: dict = {}
            try:
                with session.batch(f"{command} --from {where}", dry_run=check) as result:
                    for number, fields in doc_lines:
                        try:
                            change = apply_line(session, analysis, fields, memo)
                        except AnnotationError as exc:
                            errors.append((number, str(exc)))
                            continue
                        done, same = done + (change is not None), same + (change is None)
            except StoreError as exc:
                errors.extend((n, f"not saved: {exc}") for n, _ in doc_lines)
                continue
            writes += result.change is not None
            applied, unchanged, written = applied + done, unchanged + same, written + result.records
            say(out, f"{doc_id}  applied {done:>4}  unchanged {same:>4}  refused {len(doc_lines) - done - same:>4}  "
                f"{document.title}")
    for number, message in sorted(errors):
        say(err, f"error: {where}:{number}: {message}")
    outcome = f"{written} records would be written (--check: nothing written)" if check else \
        f"{written} records written in {writes} write(s)"
    say(out, f"total: {len(lines)} lines, {len(by_doc)} documents, {applied} applied, {unchanged} unchanged, "
        f"{len(errors)} refused; {outcome}")
    if errors:
        raise typer.Exit(1)


@app.command("entity")
def entity_(
    doc: DocOrFrom = None,
    start: Annotated[str | None, typer.Argument(help="Start offset (characters, from 0).", show_default=False)]
    = None,
    end: Annotated[str | None, typer.Argument(help="End offset (exclusive).", show_default=False)] = None,
    action: Annotated[str | None, typer.Argument(help="accept, reject, relabel or add.", show_default=False)]
    = None,
    label: Annotated[str | None, typer.Argument(help="The label, for relabel and add.", show_default=False)] = None,
    source: Annotated[str | None, typer.Option("--from", help="Many decisions: a TSV file (- for stdin) of lines "
                                                            "doc<TAB>start<TAB>end<TAB>action[<TAB>label].")] = None,
    check: CheckOpt = False,
) -> None:
    """An entity decision on the span START-END, as the reader's a/x/r/+ keys; stated, not toggled (a second
    run changes nothing). add needs offsets on token boundaries."""
    if source is not None:
        if doc is not None:
            fail("give either DOC START END ACTION [LABEL] or --from FILE, not both")
        return bulk("entity", source, check, entity_line, 4)
    require("entity", doc=doc, start=start, end=end, action=action)
    assert doc is not None and start is not None and end is not None and action is not None
    with user_errors():
        ws, document, analysis, session = session_for(doc)
        fields = [doc, start, end, action] + ([label] if label is not None else [])
        change = entity_line(session, analysis, fields, {})
        s, e = int(start), int(end)
        state = "unchanged" if change is None else change.description
        say(out, f"{document.id} {s}-{e} “{' '.join(document.text[s:e].split())}”: {state} ({ws.annotator})")


@app.command("note")
def note_(
    doc: DocArg,
    sentence: Annotated[str, typer.Argument(help="Sentence number from 0, or - for a note on the document.")],
    text: Annotated[str, typer.Argument(help="The note.")],
) -> None:
    """Attach a note to a sentence or to the document."""
    with user_errors():
        ws, document, analysis, session = session_for(doc)
        if sentence == "-":
            session.add_note("document", 0, 0, text)
        else:
            index = sentence_index(sentence, len(analysis.sentences), "; - for the document")
            start, end = analysis.sentences[index]
            session.add_note("sentence", start, end, text)
        say(out, f"{document.id} note saved ({ws.annotator})")


@app.command("export")
def export_(
    fmt: Annotated[str, typer.Option("--format", help="jsonl (default), prodigy, doccano or spacy.")] = "jsonl",
    unit: Annotated[str | None, typer.Option(
        "--unit", help="document or sentence (default: document for jsonl, sentence otherwise).")] = None,
    output: Annotated[Path | None, typer.Option("--output", help="File to write (stdout by default; spacy needs one).")]
    = None,
    doc: DocsOpt = None,
    annotated_only: Annotated[bool, typer.Option("--annotated-only", help="Only annotated documents and sentences.")]
    = False,
    align: Annotated[str, typer.Option("--align", help="Spans that cut a token: strict (fail), expand or contract.")]
    = "strict",
) -> None:
    """Write a dataset (stdout when no --output); a summary goes to stderr."""
    from reader.export import ExportError

    with user_errors(ExportError):
        from rich.progress import Progress

        from reader.export import check_options, export, write_export

        target = None if output is None or str(output) == "-" else output
        check_options(fmt, unit, align, target)
        ws = open_workspace(read_only=True)
        who = OPTIONS.annotator if OPTIONS.annotator_given else None
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("exporting", total=2 * (len(doc) if doc else len(ws.document_ids())))
            result = export(ws, fmt, unit, doc, annotated_only, who, align,
                            progress=lambda n: progress.advance(task, n))
        write_export(result, target)
        warn_damage(result.skipped)
        say(err, result.summary())


@app.command("stats")
def stats_() -> None:
    """Progress and label counts per annotator, agreement between annotators."""
    with user_errors():
        from reader.stats import stats
        from reader.tables import render_stats

        ws = open_workspace(read_only=True)
        out.print(render_stats(stats(ws)))
        warn_damage(ws.damage())


@app.command("train")
def train_(
    source: Annotated[str | None, typer.Option("--from", help="Whose tags to learn from (default: gold when it "
                                                              "exists, else --annotator).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Model name (default: the --from annotator's).")] = None,
) -> None:
    """Train a sentence classifier on an annotator's tags; prints held-out scores and saves it in the store."""
    from reader.suggest import ModelError

    with user_errors(ModelError):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from reader.tables import render_scores

        ws = open_workspace(read_only=True)  # reads tags, writes only models/ (swapped in whole)
        source = check_name(source, "--from") if source else ws.default_training_source()
        with Progress(TextColumn("{task.description:<9}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                      TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal) as progress:
            task = progress.add_task("reading", total=1.0)
            trained = ws.train(source, name or source,
                               progress=lambda stage, share: progress.update(task, description=stage, completed=share))
    warn_damage(ws.damage())  # learnt without those files
    meta = trained.meta
    for label, count in trained.skipped.items():
        say(err, f"warning: label {label} skipped: {count} tagged sentence(s) in the training documents, "
            "too few to learn from")
    out.print(render_scores(meta))
    on, held = meta["trained_on"], meta["held_out"]
    say(out, f"saved model {meta['name']} ({meta['base']}, {meta['architecture']}): trained on {on['sentences']} "
        f"sentences of {on['documents']} documents by {on['annotator']}, scored on {held['sentences']} sentences "
        f"of {held['documents']} held-out documents, {trained.seconds:.1f} s")


@app.command("suggest")
def suggest_(
    doc: DocArg,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per sentence (the contract's shape).")]
    = False,
) -> None:
    """Label probabilities for every sentence of a document, from a trained model (--model, default: newest)."""
    from reader.suggest import ModelError

    with user_errors(ModelError):
        from reader.analysis import pipeline_version
        from reader.suggest import load, shown, suggestions

        ws = open_workspace(read_only=True)
        try:  # here --model names a trained classifier; a spaCy pipeline name still picks the analysis's
            info = ws.find_model(OPTIONS.model)
            ws.model = None
        except ModelError:
            if OPTIONS.model is None or pipeline_version(OPTIONS.model) is None:
                raise
            info = ws.find_model(None)
        document = ws.document(ws.resolve(doc))
        analysis, _ = ws.analysis(document)
        cats = suggestions(load(info), document.text, analysis.sentences)
    rows = list(enumerate(zip(analysis.sentences, cats, strict=True)))
    if as_json:
        for i, ((s, e), c) in rows:
            write_json({"sentence": i, "start": s, "end": e, "cats": {k: round(v, 4) for k, v in c.items()}})
        return
    out.print(text_table(f"Suggestions of {info.name} (p ≥ 0.5)", {
        "sentence": {"justify": "right", "no_wrap": True},
        "suggested": {"no_wrap": True, "overflow": "ellipsis"},
        "text": {"no_wrap": True, "overflow": "ellipsis", "max_width": 70}}, [
        (i, " ".join(f"{n} {c[n]:.2f}" for n in shown(c)) or "–", " ".join(document.text[s:e].split()))
        for i, ((s, e), c) in rows]))


@app.command("agree")
def agree_(
    doc: DocsOpt = None,
    only: Annotated[list[str] | None, typer.Option("--only", help="Annotator to compare (repeatable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object (the contract's shape).")] = False,
) -> None:
    """Agreement between annotators: alpha and kappa on sentence labels, F1 and mismatches on entities."""
    with user_errors():
        from reader.agreement import agreement
        from reader.tables import render_agreement

        ws = open_workspace(read_only=True)
        result = agreement(ws, annotator_names(only), [ws.resolve(ref) for ref in doc] if doc else None)
        if as_json:
            write_json(result.to_json())
        else:
            out.print(render_agreement(result))
        warn_damage(ws.damage())


@app.command("merge")
def merge_(
    into: Annotated[str, typer.Option("--into", help="Annotator to write the adjudicated set to.")] = "gold",
    rule: Annotated[str, typer.Option("--rule", help="unanimous, majority (default) or N annotators.")]
    = "majority",
    only: Annotated[list[str] | None, typer.Option("--only", help="Annotator to merge (repeatable).")] = None,
    doc: DocsOpt = None,
) -> None:
    """Write what the annotators agree on into --into (gold); prints agreed items and conflicts per document."""
    from reader.adjudication import AdjudicationError

    with user_errors(AdjudicationError):
        from reader.adjudication import merge, parse_rule

        into = check_name(into, "--into")
        chosen = parse_rule(rule)
        names = annotator_names(only)
        ws = open_workspace(writer=into, written="nothing was written")
        results = merge(ws, chosen, names, [ws.resolve(ref) for ref in doc] if doc else None, into)
        merged = [r for r in results if r.annotators and not r.skipped]
        skipped = [r for r in results if r.skipped]
        for r in results:
            if r.skipped:
                say(out, f"{r.doc_id}  skipped (damaged file: nothing merged)  {r.title}")
            elif r.annotators:
                say(out, f"{r.doc_id}  agreed {r.agreed:>4}  conflicts {r.conflicts:>4}  kept {r.kept:>4}  "
                    f"written {r.written:>4}  {r.title}")
        agreed, conflicts, kept, written = (sum(getattr(r, n) for r in merged)
                                            for n in ("agreed", "conflicts", "kept", "written"))
        say(out, f"total: {len(merged)} documents, {agreed} agreed, {conflicts} conflicts left, {kept} already in "
            f"{into}, {written} records written ({rule})" + (f", {len(skipped)} skipped" if skipped else ""))
        warn_damage(ws.damage())  # the skipped documents' files, and document files that do not parse
        if doc and skipped:  # the documents asked for could not be merged: that job failed
            raise typer.Exit(1)


def annotator_names(only: list[str] | None) -> list[str] | None:
    """The annotators given with --only, checked (None: the command's default)."""
    return sorted({check_name(name, "--only") for name in only}) if only else None


@app.command("keys")
def keys_() -> None:
    """Every binding id with its keys under the chosen keymap."""
    with user_errors():
        from reader.ui.keymap import BY_ID, load_keymap

        keymap = load_keymap(OPTIONS.keymap)
        for warning in keymap.warnings:  # usable, but some key will never arrive: say so where it can be fixed
            say(err, f"warning: {warning}")
        for binding_id, keys in keymap.items():
            say(out, f"{binding_id:<28} {keys:<28} {BY_ID[binding_id].description}")


@app.command("review")
def review_(
    doc: Annotated[str | None, typer.Argument(help="Document id or unique prefix (default: every document with "
                                                   "conflicts, from the library).")] = None,
    into: Annotated[str, typer.Option("--into", help="Annotator that holds the adjudicated set.")] = "gold",
    rule: Annotated[str, typer.Option("--rule", help="What is merged on opening: unanimous, majority (default) "
                                                     "or N annotators.")] = "majority",
    label: Annotated[str | None, typer.Option("--label", help="Only the conflicts about this label.")] = None,
    only: Annotated[list[str] | None, typer.Option("--only", help="Annotator to compare (repeatable; two of "
                                                                  "them review a pair).")] = None,
) -> None:
    """Review where annotators differ, side by side, and decide into --into (gold); agreed items are merged."""
    from reader.adjudication import AdjudicationError

    with user_errors(AdjudicationError):
        from reader.adjudication import parse_rule
        from reader.ui.keymap import load_keymap
        from reader.worklist import ReviewOptions, disputed, review_items

        into = check_name(into, "--into")
        names = tuple(annotator_names(only) or ()) if only else None
        options = ReviewOptions(into, parse_rule(rule), names, None if label is None else check_name(label, "--label"))
        if names is not None and into in names:
            fail(f"--only {into}: the annotations are reviewed into {into!r}, it cannot be one of the versions")
        keys = load_keymap(OPTIONS.keymap)
        ws = open_workspace(writer=into, written="nothing was written")
        pending, compared = [], 0
        for doc_id in [ws.resolve(doc)] if doc else ws.document_ids():
            annotators = [n for n in ws.annotators(doc_id) if n != into and (names is None or n in names)]
            if len(annotators) > 1:  # the analysis the screen will show (cached, whichever pipeline made it)
                items = review_items(ws, doc_id, ws.analysis(ws.document(doc_id))[0], options)
                annotators = items.annotators
                if ws.damage(doc_id):  # a version is missing, or gold cannot be written: not reviewable
                    warn_damage(ws.damage(doc_id))
                    if doc:
                        fail(f"{doc_id} cannot be reviewed: an annotation file of it is damaged (above)", 1)
                    continue
                if len(annotators) > 1:
                    compared += 1
                    if disputed(items, options):
                        pending.append(doc_id)
                        continue
            if doc:
                fail(nothing_to_review(doc_id, annotators, into, label, rule))
        warn_damage(d for d in ws.damage() if not d.annotator)  # document files that do not parse
        if not pending:
            fail("nothing to review: no document has annotations by two annotators" if not compared else
                 f"nothing to review: the annotators agree on every item{f' about {label}' if label else ''} "
                 f"under the {rule} rule")
        from reader.ui.app import ReaderApp

        run_reader(ReaderApp(ws, pending, keymap=keys, review=options))
        ws.close()


def nothing_to_review(doc_id: str, annotators: list[str], into: str, label: str | None, rule: str) -> str:
    """Why `reader review DOC` has nothing to show."""
    if not annotators:
        return f"no annotations on {doc_id} to review (nobody but {into} annotated it)"
    if len(annotators) == 1:
        return f"only {annotators[0]} annotated {doc_id}: review needs two annotators"
    about = f" about {label}" if label else ""
    return f"nothing to review in {doc_id}: {', '.join(annotators)} agree on every item{about} under the {rule} rule"


def say_refused(results, refused: list[str]) -> None:
    """The import's summary line, when more than one input was given (one input's own line says it all)."""
    if len(results) + len(refused) > 1:
        added = sum(1 for r in results if r.added)
        say(err, f"imported {added}, unchanged {len(results) - added}, refused {len(refused)}")


def text_table(title: str, columns: dict[str, dict], rows) -> Table:
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


def require(command: str, **arguments: str | None) -> None:
    """The error typer would give for a missing argument (they are optional for the `--from` form)."""
    for name, value in arguments.items():
        if value is None:
            fail(f"missing argument '{name}' (see reader {command} --help)")


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
