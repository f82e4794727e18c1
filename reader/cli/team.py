"""Commands for a team: stats, agreement, merge and review into gold, training and suggestions."""

import functools
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
    name: Annotated[str | None, typer.Option(help="Model name (default: the --from annotator's; NAME-ner for "
                                                  "entities).")] = None,
    task: Annotated[str, typer.Option(help="textcat: sentence labels; ner: the entity recogniser, fine-tuned on "
                                           "reviewed entities.")] = "textcat",
    use: Annotated[bool, typer.Option("--use", help="Entities: use the new model even if it scores below the one "
                                                    "in use.")] = False,
) -> None:
    """Train a sentence classifier (or, --task ner, an entity model) on an annotator's work; prints held-out scores
    and saves it in the store."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from reader.tables import overall, render_scores

    if task not in ("textcat", "ner"):
        fail(f"--task {task}: textcat (sentence labels) or ner (entities)")
    if use and task != "ner":
        fail("--use: a new sentence classifier is always the one in use")
    ws = open_workspace(read_only=True)  # reads the annotations, writes only models/ (swapped in whole)
    source = check_name(source, "--from") if source else ws.default_training_source()
    train = ws.train if task == "textcat" else functools.partial(ws.train_entities, use=use)
    with Progress(TextColumn("{task.description:<9}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal) as progress:
        bar = progress.add_task("reading", total=1.0)
        trained = train(source, name or (source if task == "textcat" else f"{source}-ner"),
                        progress=lambda stage, share: progress.update(bar, description=stage, completed=share))
    warn(ws.damage())  # learnt without those files
    what = "tagged sentence(s)" if task == "textcat" else "reviewed entities"
    warn(f"label {label} skipped: {count} {what} in the training documents, too few to learn from"
         for label, count in trained.skipped.items())
    meta = trained.meta
    out.print(render_scores(meta))
    on, held = meta["trained_on"], meta["held_out"]
    if task == "textcat":
        say(out, f"saved model {meta['name']} ({meta['base']}, {meta['architecture']}): trained on "
            f"{on['sentences']} sentences of {on['documents']} documents by {on['annotator']}, scored on "
            f"{held['sentences']} sentences of {held['documents']} held-out documents, {trained.seconds:.1f} s")
        return
    say(out, f"saved entity model {meta['name']} ({meta['base']}): trained on {on['entities']} entities in "
        f"{on['sentences']} sentences of {on['documents']} documents by {on['annotator']}, rehearsed "
        f"{on['rehearsed']} unreviewed sentences, scored on {held['documents']} held-out documents, "
        f"{trained.seconds:.1f} s")
    against = meta.get("active_scores") or {"name": "the base model", "scores": meta["base_scores"]}
    figures = f"micro F1 {overall(meta['scores']) or 0:.2f} against {overall(against['scores']) or 0:.2f} " \
        f"for {against['name']}"
    say(out, f"in use for entities from now on ({figures})" if meta["active"] else
        f"not in use: {figures}; reader models use {meta['name']} to use it anyway")


@app.command("models")
def models_(
    action: Annotated[str | None, typer.Argument(help="use NAME or remove NAME (none: list the models).",
                                                 show_default=False)] = None,
    name: Annotated[str | None, typer.Argument(help="Model name.", show_default=False)] = None,
    base: Annotated[bool, typer.Option("--base", help="With use: entities from the base pipeline again.")]
    = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per model (the contract's shape).")]
    = False,
) -> None:
    """The trained models (which one is in use for suggestions and for entities); use or remove one."""
    from reader.tables import render_models

    if action is None:
        ws = open_workspace(read_only=True)
        found, damaged = ws.models()
        active = ws.models_in_use()
        if as_json:
            for m in found:
                write_json({"name": m.name, "task": m.task, "labels": m.labels,
                            "scores": {k: v for k, v in m.meta["scores"].items() if k != "ALL"},
                            "base_scores": {k: v for k, v in (m.meta.get("base_scores") or {}).items() if k != "ALL"},
                            "active": bool(active.get(m.name)), "created": m.created})
        elif found:
            out.print(render_models(found, active))
        else:
            say(out, "no trained model in the store: train one with reader train (--task ner for entities)")
        warn(damaged)
        return
    if action not in ("use", "remove"):
        fail(f"unknown action {action!r}: use NAME or remove NAME")
    if (name is None) == (not base or action != "use"):
        fail("use takes a model NAME or --base" if action == "use" else "remove takes a model NAME")
    ws = open_workspace(read_only=True)  # models/ only: it is swapped in whole, beside any open reader
    if action == "remove":
        info = ws.remove_model(check_name(name, "model name"))
        say(out, f"removed {info.task} model {info.name}")
    elif base:
        ws.use_model(None, "ner")
        say(out, "entities come from the base pipeline (in documents opened from now on)")
    else:
        info = ws.use_model(check_name(name, "model name"))
        use_for = "entities" if info.task == "ner" else "sentence suggestions"
        say(out, f"{info.name} is in use for {use_for} (in documents opened from now on)")


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
