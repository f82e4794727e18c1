"""Commands that annotate from the shell: tag, entity and note, one at a time or a file of lines (`--from`)."""

import re
import sys
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Annotated

import typer

from reader.cli.base import OPTIONS, DocArg, SentenceCommand, app, err, fail, open_workspace, out, say, warn
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
    return ws, *document_session(ws, ws.resolve(doc_ref))


def document_session(ws, doc_id: str, doc=None):
    doc = doc or ws.document(doc_id)
    analysis, _ = ws.analysis(doc)
    session = ws.session(doc)
    session.use_sentences(analysis.sentences)
    return doc, analysis, session


def require(command: str, **arguments: str | None) -> None:
    """The error typer would give for a missing argument (they are optional for the `--from` form)."""
    for name, value in arguments.items():
        if value is None:
            fail(f"missing argument '{name}' (see reader {command} --help)")


@app.command("tag", cls=SentenceCommand)
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
    check_name(label, "label")  # before the analysis, which may take the model
    ws, document, analysis, session = session_for(doc)
    change = tag_line(session, analysis, [doc, sentence, label, "remove" if remove else ""], {})
    start, end = analysis.sentences[int(sentence)]
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
    if len(fields) == 5 and fields[3].strip() in ("relabel", "add"):
        check_entity_label(fields[4].strip(), memo)
    return session.set_entity(int(fields[1]), int(fields[2]), fields[3].strip(),
                              fields[4].strip() if len(fields) == 5 else None, predicted=memo["predicted"],
                              tokens=analysis.tokens)


def check_entity_label(label: str, memo: dict) -> None:
    """A label outside a given --entity-labels set is refused (any label goes without one, as before sets)."""
    from reader.annotations import AnnotationError
    from reader.entity_labels import load_entity_labels

    if "labels" not in memo:
        memo["labels"] = load_entity_labels(OPTIONS.entity_labels)
    if why := memo["labels"].refuse_unknown(label):
        raise AnnotationError(why)


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
    totals: Counter[str] = Counter()
    for doc_id, doc_lines in by_doc.items():
        try:
            document, analysis, session = document_session(ws, doc_id)
        except (StoreError, AnalysisError) as exc:
            errors.extend((n, f"cannot read {doc_id}: {exc}") for n, _ in doc_lines)
            continue
        counts: Counter[str] = Counter()
        memo: dict = {}
        try:
            with session.batch(f"{command} --from {where}", dry_run=check) as result:
                for number, fields in doc_lines:
                    try:
                        counts["unchanged" if apply_line(session, analysis, fields, memo) is None else "applied"] += 1
                    except (AnnotationError, UntrustedError) as exc:
                        errors.append((number, str(exc)))
        except StoreError as exc:
            errors.extend((n, f"not saved: {exc}") for n, _ in doc_lines)
            continue
        totals.update(counts, written=result.records, writes=result.change is not None)
        say(out, f"{doc_id}  applied {counts['applied']:>4}  unchanged {counts['unchanged']:>4}  "
            f"refused {len(doc_lines) - counts.total():>4}  {document.title}")
    for number, message in sorted(errors):
        say(err, f"error: {where}:{number}: {message}")
    say(out, f"total: {len(lines)} lines, {len(by_doc)} documents, {totals['applied']} applied, "
        f"{totals['unchanged']} unchanged, {len(errors)} refused; {outcome(totals, check)}")
    if errors:
        raise typer.Exit(1)


def outcome(totals: Counter, check: bool) -> str:
    if check:
        return f"{totals['written']} records would be written (--check: nothing written)"
    return f"{totals['written']} records written in {totals['writes']} write(s)"


@app.command("entity", cls=SentenceCommand)
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
    check: Annotated[bool, typer.Option("--check", help="With --from or --surface: say what would change, "
                                                        "write nothing.")] = False,
    surface: Annotated[str | None, typer.Option("--surface", help="Every mention of this text (case and spacing "
                                                                  "aside), with --all: ACTION [LABEL] only.",
                                                show_default=False)] = None,
    having: Annotated[str | None, typer.Option("--label", help="With --surface: only the mentions with this "
                                                               "label now.", show_default=False)] = None,
    every: Annotated[bool, typer.Option("--all", help="With --surface: in every document (or each --doc).")]
    = False,
    docs: Annotated[list[str] | None, typer.Option("--doc", help="With --surface: only this document (repeat "
                                                                 "it for more).", show_default=False)] = None,
) -> None:
    """An entity decision on the span START-END, as the reader's a/x/r/+ keys; stated, not toggled (a second
    run changes nothing). add needs offsets on token boundaries. --surface TEXT ACTION [LABEL] --all: the same
    decision on every mention of TEXT in the library (add: on every occurrence that is no entity yet)."""
    if surface is not None or every or having is not None or docs:
        if surface is None or not every:
            fail("a decision on every mention is --surface TEXT ACTION [LABEL] --all (see reader entity --help)")
        if source is not None or end is not None:
            fail("with --surface give only ACTION [LABEL] (accept, reject, relabel LABEL or add LABEL)")
        if doc is None:
            fail("missing the action (accept, reject, relabel LABEL or add LABEL)")
        return entity_mentions(surface, doc, start, having, docs or [], check)
    if source is not None:
        if doc is not None:
            fail("give either DOC START END ACTION [LABEL] or --from FILE, not both")
        return bulk("entity", source, check, entity_line, 4)
    require("entity", doc=doc, start=start, end=end, action=action)
    if label is not None and action in ("relabel", "add"):
        check_entity_label(label.strip(), {})  # before the analysis, which may take the model
    ws, document, analysis, session = session_for(doc)
    change = entity_line(session, analysis, [doc, start, end, action] + ([label] if label is not None else []), {})
    s, e = int(start), int(end)
    state = "unchanged" if change is None else change.description
    say(out, f"{document.id} {s}-{e} “{' '.join(document.text[s:e].split())}”: {state} ({ws.annotator})")


def entity_mentions(surface: str, action: str, label: str | None, having: str | None, doc_refs: list[str],
                    check: bool) -> None:
    """`entity --surface ... --all`: `decide_mentions` in each document, one write each; a document whose text
    does not hold the surface costs a text search, nothing more."""
    from reader.analysis import AnalysisError
    from reader.session import check_mentions_decision, surface_pattern
    from reader.store import StoreError

    check_mentions_decision(surface, action, label, having)
    if label and action in ("relabel", "add"):
        check_entity_label(label, {})
    pattern = surface_pattern(surface)
    shown = " ".join(surface.split())
    ws = open_workspace(read_only=check, written="" if check else "nothing was written")
    ids = list(dict.fromkeys(map(ws.resolve, doc_refs))) if doc_refs else ws.document_ids()
    totals: Counter[str] = Counter()
    errors = []
    with ws.corrections.frozen():  # what each document showed before the command
        for doc_id in ids:
            document = ws.document(doc_id)
            if pattern.search(document.text) is None:
                continue
            try:
                _, analysis, session = document_session(ws, doc_id, document)
                predicted = {(e.start, e.end): e.label for e in analysis.entities}
                result = session.decide_mentions(surface, action, label, predicted=predicted, tokens=analysis.tokens,
                                                 having=having, dry_run=check)
            except (StoreError, AnalysisError) as exc:
                errors.append(f"{doc_id}: {'not saved' if isinstance(exc, StoreError) else 'not analysed'}: {exc}")
                continue
            if not result.changed and not result.unchanged:
                continue
            totals.update(documents=1, changed=len(result.changed), unchanged=result.unchanged, written=result.records,
                          writes=int(result.change is not None))
            say(out, f"{doc_id}  {'would change' if check else 'changed'} {len(result.changed):>4}  unchanged "
                f"{result.unchanged:>4}  {document.title}")
            if check:
                for start, end in result.changed:
                    entity = session.entity_at(start, end, predicted)
                    state = "no entity" if entity is None else f"{entity.label}, {entity.status}"
                    say(out, f"  {start}-{end} “{' '.join(document.text[start:end].split())}” ({state})")
    for message in errors:
        say(err, f"error: {message}")
    verb = f"{action} {label}" if label else action
    say(out, f"total: {verb} “{shown}”{f' ({having})' if having else ''}: {totals['changed']} mentions "
        f"{'to change' if check else 'changed'}, {totals['unchanged']} unchanged, in {totals['documents']} of "
        f"{len(ids)} documents ({ws.annotator}); {outcome(totals, check)}")
    if errors:
        raise typer.Exit(1)


@app.command("note", cls=SentenceCommand)
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
    already = " (already)" if change is None else ""
    say(out, f"{'not done' if undo else 'done'}: {document.id} {document.title}{already}")


@app.command("patterns")
def patterns_(
    remove: Annotated[str | None, typer.Option("--remove", metavar="ID", help="Remove the pattern with this id "
                                                                                "(until a newer correction makes it "
                                                                                "again).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per pattern.")] = False,
) -> None:
    """The entity patterns made from analysts' added, relabelled ("LABEL") and rejected ("not LABEL") entities,
    applied over the model's entities in every document; who made them and how often they matched."""
    from reader.cli.base import write_json
    from reader.tables import render_patterns

    ws = open_workspace(read_only=True)  # writes only the removals file, swapped in whole
    if remove is not None:
        gone = ws.remove_pattern(remove)
        say(out, f"removed pattern {gone.id}: {'not ' if gone.negative else ''}{gone.label} “{gone.surface}” "
            "(in documents opened from now on)")
        return
    found = ws.patterns().patterns
    matches = ws.pattern_matches()
    if as_json:
        for p in found:
            write_json({"id": p.id, "label": p.label, "surface": p.surface, "negative": p.negative,
                        "annotators": list(p.annotators), "corrections": p.count, "matches": matches.get(p.id, 0),
                        "created": p.created, "updated": p.updated})
    elif found:
        out.print(render_patterns(found, matches))
    else:
        say(out, "no entity pattern yet: add, relabel or reject an entity and it becomes one")
    warn(ws.damage())
    if ws.patterns_problem:
        fail(ws.patterns_problem)
