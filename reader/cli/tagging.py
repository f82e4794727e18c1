"""Commands that annotate from the shell: tag, entity and note, one at a time or a file of lines (`--from`)."""

import re
import sys
from functools import cache
from pathlib import Path
from typing import Annotated

import typer

from reader.cli.base import DocArg, app, err, fail, open_workspace, out, say
from reader.untrusted import UntrustedError, check_name

DocOrFrom = Annotated[str | None, typer.Argument(help="Document id or unique id prefix.", show_default=False)]
CheckOpt = Annotated[bool, typer.Option("--check", help="With --from: check every line, write nothing.")]


def sentence_index(value: str, count: int, hint: str = "") -> int:
    """A sentence number given on the command line: ASCII digits within range (`-1` is not the last one)."""
    from reader.annotations import AnnotationError

    if not re.fullmatch(r"[0-9]+", value) or int(value) >= count:
        shown = value if re.fullmatch(r"-?[0-9]+", value) else repr(value)
        raise AnnotationError(f"no sentence {shown} (the document has {count}, numbered from 0{hint})")
    return int(value)


def session_for(doc_ref: str):
    """The document (by id or unique prefix), its sentences (cached or from the model) and the session."""
    ws = open_workspace(written="nothing was written")
    doc = ws.document(ws.resolve(doc_ref))
    analysis, _ = ws.analysis(doc)
    session = ws.session(doc)
    session.use_sentences(analysis.sentences)
    return ws, doc, analysis, session


def require(command: str, **arguments: str | None) -> None:
    """The error typer would give for a missing argument (they are optional for the `--from` form)."""
    for name, value in arguments.items():
        if value is None:
            fail(f"missing argument '{name}' (see reader {command} --help)")


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
    return session.set_tag(index, check_name(fields[2], "label"), on=flag != "remove")


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
    if "predicted" not in memo:  # once per document (`memo` is the document's): the model's entities by span
        memo["predicted"] = {(e.start, e.end): e.label for e in analysis.entities}
    return session.set_entity(int(fields[1]), int(fields[2]), fields[3].strip(),
                              fields[4].strip() if len(fields) == 5 else None, predicted=memo["predicted"],
                              tokens=analysis.tokens)


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
    ws = open_workspace(read_only=check, written="" if check else "nothing was written")
    resolve = cache(ws.resolve)
    by_doc: dict[str, list[tuple[int, list[str]]]] = {}
    for number, fields in lines:
        try:
            if len(fields) < columns:
                raise AnnotationError(f"{len(fields)} column(s), expected at least {columns} separated by tabs")
            by_doc.setdefault(resolve(fields[0]), []).append((number, fields))
        except (AnnotationError, StoreError) as exc:
            errors.append((number, str(exc)))
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
                    except (AnnotationError, UntrustedError) as exc:
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
    ws, document, analysis, session = session_for(doc)
    change = entity_line(session, analysis, [doc, start, end, action] + ([label] if label is not None else []), {})
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
    ws, document, analysis, session = session_for(doc)
    if sentence == "-":
        session.add_note("document", 0, 0, text)
    else:
        start, end = analysis.sentences[sentence_index(sentence, len(analysis.sentences), "; - for the document")]
        session.add_note("sentence", start, end, text)
    say(out, f"{document.id} note saved ({ws.annotator})")


@app.command("done")
def done_(
    doc: DocArg,
    undo: Annotated[bool, typer.Option("--undo", help="Mark it not done.")] = False,
) -> None:
    """Mark a document done for --annotator (every sentence reviewed), as the reader's D key."""
    ws = open_workspace(written="nothing was written")
    document = ws.document(ws.resolve(doc))
    change = ws.session(document).set_done(not undo)
    state = "not done" if undo else "done"
    already = " (already)" if change is None else ""
    say(out, f"{state}: {document.id} {document.title}{already}")
