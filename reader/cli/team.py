"""Commands for a team: stats, agreement, merge and review into gold, training and suggestions."""

from typing import Annotated

import typer

from reader.cli.base import (
    OPTIONS,
    DocArg,
    DocsOpt,
    app,
    err,
    fail,
    open_workspace,
    out,
    run_reader,
    say,
    warn,
    write_json,
)
from reader.untrusted import check_name


def annotator_names(only: list[str] | None) -> list[str] | None:
    """The annotators given with --only, checked (None: the command's default)."""
    return sorted({check_name(name, "--only") for name in only}) if only else None


@app.command("stats")
def stats_() -> None:
    """Progress and label counts per annotator, agreement between annotators."""
    from reader.stats import stats
    from reader.tables import render_stats

    ws = open_workspace(read_only=True)
    out.print(render_stats(stats(ws)))
    warn(ws.damage())


@app.command("train")
def train_(
    source: Annotated[str | None, typer.Option("--from", help="Whose tags to learn from (default: gold when it "
                                                              "exists, else --annotator).")] = None,
    name: Annotated[str | None, typer.Option(help="Model name (default: the --from annotator's).")] = None,
) -> None:
    """Train a sentence classifier on an annotator's tags; prints held-out scores and saves it in the store."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from reader.tables import render_scores

    ws = open_workspace(read_only=True)  # reads tags, writes only models/ (swapped in whole)
    source = check_name(source, "--from") if source else ws.default_training_source()
    with Progress(TextColumn("{task.description:<9}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("reading", total=1.0)
        trained = ws.train(source, name or source,
                           progress=lambda stage, share: progress.update(task, description=stage, completed=share))
    warn(ws.damage())  # learnt without those files
    warn(f"label {label} skipped: {count} tagged sentence(s) in the training documents, too few to learn from"
         for label, count in trained.skipped.items())
    meta = trained.meta
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
    from reader.analysis import pipeline_version
    from reader.suggest import ModelError
    from reader.tables import render_suggestions

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
    cats = ws.suggestions_many(info, [(document, analysis.sentences)])[0]
    rows = list(enumerate(zip(analysis.sentences, cats, strict=True)))
    if as_json:
        for i, ((s, e), c) in rows:
            write_json({"sentence": i, "start": s, "end": e, "cats": {k: round(v, 4) for k, v in c.items()}})
        return
    out.print(render_suggestions(info.name, document.text, rows))


@app.command("agree")
def agree_(
    doc: DocsOpt = None,
    only: Annotated[list[str] | None, typer.Option(help="Annotator to compare (repeatable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object (the contract's shape).")] = False,
) -> None:
    """Agreement between annotators: alpha and kappa on sentence labels, F1 and mismatches on entities."""
    from reader.agreement import agreement
    from reader.tables import render_agreement

    ws = open_workspace(read_only=True)
    result = agreement(ws, annotator_names(only), [ws.resolve(ref) for ref in doc] if doc else None)
    if as_json:
        write_json(result.to_json())
    else:
        out.print(render_agreement(result))
    warn(ws.damage())


@app.command("merge")
def merge_(
    into: Annotated[str, typer.Option(help="Annotator to write the adjudicated set to.")] = "gold",
    rule: Annotated[str, typer.Option(help="unanimous, majority (default) or N annotators.")] = "majority",
    only: Annotated[list[str] | None, typer.Option(help="Annotator to merge (repeatable).")] = None,
    doc: DocsOpt = None,
) -> None:
    """Write what the annotators agree on into --into (gold); prints agreed items and conflicts per document."""
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
    warn(ws.damage())  # the skipped documents' files, and document files that do not parse
    if doc and skipped:  # the documents asked for could not be merged: that job failed
        raise typer.Exit(1)


@app.command("review")
def review_(
    doc: Annotated[str | None, typer.Argument(help="Document id or unique prefix (default: every document with "
                                                   "conflicts, from the library).")] = None,
    into: Annotated[str, typer.Option(help="Annotator that holds the adjudicated set.")] = "gold",
    rule: Annotated[str, typer.Option(help="What is merged on opening: unanimous, majority (default) or N "
                                           "annotators.")] = "majority",
    label: Annotated[str | None, typer.Option(help="Only the conflicts about this label.")] = None,
    only: Annotated[list[str] | None, typer.Option(help="Annotator to compare (repeatable; two of them review a "
                                                        "pair).")] = None,
) -> None:
    """Review where annotators differ, side by side, and decide into --into (gold); agreed items are merged."""
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
                warn(ws.damage(doc_id))
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
    warn(d for d in ws.damage() if not d.annotator)  # document files that do not parse
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
