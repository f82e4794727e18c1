"""What the store's index answers at once however large the store: `list` (documents), `search` (sentences across
the library) and `entities` (every entity with its mentions)."""

from typing import Annotated

import typer

from reader.cli.base import OPTIONS, app, err, fail, open_workspace, out, warn, write_json

LIST_SORTS = ("id", "title", "date", "tagged", "progress", "source", "done")
PAGE = 500  # rows read from the index at a time: the first ones print at once


def ready_library(ws):
    """The workspace's library, its index in step with the files (a progress bar while it catches up)."""
    library = ws.library()
    library.refresh()
    if library.outdated():
        from rich.progress import Progress

        with Progress(console=err, transient=True, disable=not err.is_terminal) as progress:
            task = progress.add_task("indexing", total=None)
            library.sweep(progress=lambda done, total: progress.update(task, completed=done, total=total))
    ws.note_damage(library.damaged())
    return library


def paged(read, limit: int | None):
    """Every item `read(offset, limit)` gives, a page at a time, at most `limit`."""
    offset = 0
    while limit is None or offset < limit:
        page = read(offset, PAGE if limit is None else min(PAGE, limit - offset))
        yield from page
        if len(page) < PAGE:
            return
        offset += len(page)


@app.command("list")
def list_(
    sort: Annotated[str, typer.Option(help="id (default: by source), title, date (newest first), tagged, progress "
                                           "(share tagged, least first), source or done (not done first).")] = "id",
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many documents.")] = None,
    filter_: Annotated[str, typer.Option("--filter", help="As the library's filter: words, label:NAME, "
                                                          "by:ANNOTATOR, done, todo, conflicts.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per document, as each is read.")] = False,
    all_versions: Annotated[bool, typer.Option(
        "--all-versions", help="Also the versions an edited re-import superseded.")] = False,
) -> None:
    """Documents in the store, with --annotator's progress (tagged sentences, notes, entity decisions, done), read
    from the store's index: the first row comes at once however large the store."""
    if sort not in LIST_SORTS:
        fail(f"unknown sort {sort!r} (sorts: {', '.join(LIST_SORTS)})")
    from reader.library import Query, parse_filter

    ws = open_workspace(read_only=True)
    who = ws.annotator
    library = ready_library(ws)
    query = parse_filter(filter_, Query(who, sort, all_versions=all_versions))
    rows = paged(lambda offset, size: library.rows(query, offset, size), limit)
    if as_json:
        for s in rows:
            write_json({"id": s.doc_id, "title": s.title, "date": s.date, "source": s.source, "annotator": who,
                        "sentences": s.sentences, "tagged": s.tagged, "notes": s.notes, "decisions": s.decisions,
                        "done": s.done})
        return
    from reader.tables import render_documents

    out.print(render_documents(who, rows))
    warn(ws.damage())


@app.command("search")
def search_(
    query: Annotated[str, typer.Argument(help='Words (accents, apostrophes and case folded), "a phrase", or '
                                              "word* for every word it begins.", show_default=False)] = "",
    label: Annotated[list[str] | None, typer.Option(help="Sentences tagged with this label (repeatable: all of "
                                                         "them).")] = None,
    entity: Annotated[str | None, typer.Option(help="Sentences mentioning this entity, however it is spelt "
                                                    "(« Kim Jong Un », « Kim Jong-un »).")] = None,
    note: Annotated[bool, typer.Option("--note", help="Search the notes' text instead of the sentences'.")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many hits.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per hit, as each is read.")] = False,
) -> None:
    """Sentences across the library, newest document first: words, phrases, labels (--label), entity mentions
    (--entity) and notes (--note); --annotator limits labels and notes to that annotator's."""
    from reader.library import CAP, Search, fts_query

    match = fts_query(query)
    if match is None and not label and entity is None:
        fail("nothing to search for: give words, --label or --entity")
    ws = open_workspace(read_only=True)
    library = ready_library(ws)
    keys = library.entity_keys(entity) if entity is not None else None
    search = Search(match, tuple(label or ()), keys, ws.annotator if OPTIONS.annotator_given else None, note)
    texts: dict[str, str] = {}

    def text_of(doc_id: str) -> str:
        if doc_id not in texts:
            texts.clear()  # hits come a document at a time
            texts[doc_id] = ws.document(doc_id).text
        return texts[doc_id]

    walk = library.search_count(search, CAP)[0] >= CAP
    hits = paged(lambda offset, size: library.search(search, offset, size, walk=walk), limit)
    if as_json:
        for hit in hits:
            record = {"doc": hit.doc_id, "sentence": hit.sentence, "start": hit.start, "end": hit.end,
                      "text": text_of(hit.doc_id)[hit.start:hit.end], "title": hit.title}
            write_json(record if hit.note is None else {**record, "note": hit.note})
        return
    from rich.text import Text

    from reader.library import query_terms
    from reader.untrusted import visible

    count, docs = library.search_count(search)
    what = " ".join([query, *(f"label:{name}" for name in label or ()), *([f"entity:{entity}"] if entity else [])])
    out.print(Text(visible(f"Search {what.strip()} · {count:,} {'note' if note else 'sentence'}"
                           f"{'' if count == 1 else 's'} in {docs:,} document{'' if docs == 1 else 's'}, "
                           "newest first", one_line=True), style="bold"))
    terms, last = query_terms(query), None
    for hit in hits:
        if hit.doc_id != last:
            last = hit.doc_id
            out.print(Text.assemble((hit.doc_id, "cyan"), "  ", visible(hit.title, one_line=True)))
        number = "doc" if hit.sentence is None and hit.note is not None else \
            "¶" if hit.sentence is None else str(hit.sentence)
        line = Text.assemble(f"{number:>5}  ", highlighted(text_of(hit.doc_id)[hit.start:hit.end], [] if note
                                                           else terms))
        if hit.note is not None:
            line.append_text(Text.assemble("\n       note: ", highlighted(hit.note, terms)))
        out.print(line, no_wrap=True, overflow="ellipsis")
    warn(ws.damage())


@app.command("entities")
def entities_(
    name: Annotated[str, typer.Argument(help="Only the entities whose name holds these words.",
                                        show_default=False)] = "",
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many entities.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per entity.")] = False,
) -> None:
    """Every entity of the store, most mentioned first: its spellings grouped (accents, case, hyphens), its
    mentions, documents and labels as the analysts see them (their decisions over the model's)."""
    ws = open_workspace(read_only=True)
    library = ready_library(ws)
    found = paged(lambda offset, size: library.entities(name, offset, size), limit)
    if as_json:
        for e in found:
            write_json({"name": e.surfaces[0][0] if e.surfaces else e.key, "key": e.key, "mentions": e.mentions,
                        "documents": e.docs, "labels": dict(e.labels), "spellings": dict(e.surfaces)})
        return
    from rich.text import Text

    from reader.untrusted import visible

    count = library.entity_count(name)
    out.print(Text(f"Entities · {count:,}, most mentioned first", style="bold"))
    out.print(Text(f"{'mentions':>8} {'docs':>6}  name · labels", style="bold"))
    for e in found:
        names = " / ".join(visible(s, one_line=True) for s, _ in e.surfaces[:3])
        labels = ", ".join(f"{label} {n}" for label, n in e.labels)
        out.print(Text(f"{e.mentions:>8,} {e.docs:>6,}  ") + Text(names) + Text(f" · {labels}", style="dim"),
                  no_wrap=True, overflow="ellipsis")
    warn(ws.damage())


def highlighted(text: str, terms):
    """A sentence on one line, the searched words in bold (controls made visible, then nothing highlighted: the
    offsets would no longer hold)."""
    import re

    from rich.text import Text

    from reader.search import find_all
    from reader.untrusted import visible

    line = re.sub(r"[\t\n\r]", " ", text)
    if visible(line, one_line=True) != line:
        return Text(visible(line, one_line=True))
    shown = Text(line)
    for term, _ in terms:
        for start, end in find_all(line, term):
            shown.stylize("bold reverse", start, end)
    return shown
