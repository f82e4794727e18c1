"""Progress is the active annotator's own (library, `reader list`, status line); adjudicated sets are not
annotators in `agree`; tables never cut a figure; headers give the title the room; the library's movement keys."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest
from rich.console import Console
from typer.testing import CliRunner

from reader.agreement import agreement
from reader.cli import app as cli_app
from reader.documents import make_document
from reader.session import AnnotationSession
from reader.stats import DECISIONS, percent_text, stats
from reader.store import Store
from reader.tables import render_agreement, render_stats
from reader.ui.app import ReaderApp
from reader.ui.screens.library import LibraryScreen
from reader.ui.screens.reading import ReadingScreen
from reader.workspace import Workspace
from tests.conftest import TEST_MODEL
from tests.test_stats import synthetic_analysis

ROOT = Path(__file__).resolve().parent.parent
NARROW = (80, 24)
runner = CliRunner()


def tag_all(ws: Workspace, doc, name: str, label: str = "event", only: int | None = None) -> None:
    """`name` tags every sentence of `doc` (or the first `only`)."""
    sentences = ws.cached_analysis(doc, any_pipeline=True).sentences
    session = AnnotationSession(ws.store, doc, name, ws.labels)
    session.use_sentences(sentences)
    for index in range(len(sentences) if only is None else only):
        session.set_tag(index, label, True)


@pytest.fixture
def alice(analysed_store, tmp_path):
    """The seed store where bob and gold tagged every sentence and alice two of them; opened as alice."""
    root = tmp_path / "store"
    shutil.copytree(analysed_store, root, ignore=shutil.ignore_patterns(".lock"))
    store = Store(root)
    ws = Workspace(store, model=TEST_MODEL, annotator="alice")
    doc = ws.document(ws.document_ids()[0])
    tag_all(ws, doc, "bob")
    tag_all(ws, doc, "gold", "claim")
    tag_all(ws, doc, "alice", "quote", only=2)
    yield ws
    store.close()


def cli(*args: str):
    return runner.invoke(cli_app, list(args))


# --- progress is the active annotator's ---------------------------------------------------------------------


def test_summary_is_one_annotators_progress(alice):
    doc_id = alice.document_ids()[0]
    assert alice.summary(doc_id).tagged == 2  # today: 14, everyone's tags counted together
    assert alice.summary(doc_id, "bob").tagged == 14
    assert alice.summary(doc_id, "nobody").tagged == 0


def test_reader_list_shows_the_annotators_own_progress(alice):
    root = str(alice.store.root)
    alice.store.close()
    for who, tagged in (("alice", 2), ("bob", 14), ("carol", 0)):
        result = cli("--store", root, "list", "--annotator", who, "--json")
        assert result.exit_code == 0, result.output
        (row,) = [json.loads(line) for line in result.stdout.splitlines()]
        assert (row["annotator"], row["tagged"], row["sentences"]) == (who, tagged, 14)
        table = cli("--store", root, "list", "--annotator", who)
        assert table.exit_code == 0, table.output
        assert f"progress of {who}" in table.stdout
        line = next(x for x in table.stdout.splitlines() if x.startswith(row["id"]))
        assert line.split()[-4:-2] == ["14", str(tagged)], line


async def test_library_shows_the_active_annotators_progress(alice):
    app = ReaderApp(alice, [*alice.document_ids(), add_second_document(alice)])
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LibraryScreen)
        table = app.screen.query_one("#documents")
        tagged = {str(table.get_row_at(i)[2]) for i in range(table.row_count)}
        assert tagged == {"2/14", "0/2"}, tagged  # today: 14/14 for the seed, bob's and gold's tags summed
        assert "progress of alice" in str(app.screen.query_one("#header").render())


async def test_status_line_counts_the_active_annotators_tags(alice):
    from tests.test_app import ready

    app = ReaderApp(alice, alice.document_ids())
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        assert isinstance(app.screen, ReadingScreen)
        status = str(app.screen.query_one("#status").render())
        assert "tagged 2/14" in status, status
        await pilot.press("j", "j", "1")  # alice tags a third sentence
        await pilot.pause()
        assert "tagged 3/14" in str(app.screen.query_one("#status").render())


def add_second_document(ws: Workspace) -> str:
    doc = make_document("Berlin est une ville. Paris aussi.", {"title": "Berlin"})
    ws.add_documents([doc])
    ws.store.cache_analysis(doc.id, ws.cache_key(doc), synthetic_analysis(doc.text))
    return doc.id


# --- the library's keys and cells -------------------------------------------------------------------------


@pytest.fixture
def many(workspace):
    """The seed store with 30 more documents, some with long titles: taller and wider than the library."""
    docs = [make_document(f"Document {i}. Une phrase de plus.", {"title": f"Titre {i:02d} " + "long " * (i % 3) * 12,
                                                                  "source": f"{'dossier/' * 6}f{i}.txt"})
            for i in range(30)]
    workspace.add_documents(docs)
    return workspace


@pytest.mark.parametrize(("keys", "row"), [
    (["j", "j", "j"], 3), (["down", "down", "k"], 1), (["G"], 30), (["end"], 30), (["G", "g"], 0),
    (["end", "home"], 0), (["end", "up"], 29), (["pagedown"], None),
])
async def test_library_keys_move_the_cursor_like_the_reader(many, keys, row):
    app = ReaderApp(many, many.document_ids())
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#documents")
        for key in keys:
            await pilot.press(key)
        await pilot.pause()
        if row is None:
            assert table.cursor_row > 5
        else:
            assert table.cursor_row == row, keys
        assert table.scroll_x == 0  # End used to scroll the table sideways and leave the cursor where it was


async def test_library_cuts_long_titles_and_sources_with_an_ellipsis(many):
    app = ReaderApp(many, many.document_ids())
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#documents")
        lines = [table.render_line(y).text for y in range(table.size.height)]
        long_rows = [line for line in lines if "Titre 01" in line or "Titre 02" in line]
        assert long_rows and all("long…" in line or "long …" in line for line in long_rows), long_rows
        table.scroll_x = table.max_scroll_x  # the source column, one → away
        await pilot.pause()
        lines = [table.render_line(y).text for y in range(table.size.height)]
        assert any("dossier/dossier/dossier/dossi…" in line for line in lines), lines


async def test_library_figures_are_never_cut(many, monkeypatch):
    from dataclasses import replace

    from reader.library import Library

    rows = Library.rows

    def with_a_large_first_row(self, query, offset=0, limit=-1):
        return [replace(r, tagged=12345, sentences=123456, notes=1234567, decisions=98765432) if n == 0 else r
                for n, r in enumerate(rows(self, query, offset, limit), offset)]

    monkeypatch.setattr(Library, "rows", with_a_large_first_row)
    app = ReaderApp(many, many.document_ids())
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#documents")
        text = "\n".join(table.render_line(y).text for y in range(table.size.height))
        for figure in ("12345/123456", "1234567"):
            assert figure in text, text
        assert "…" not in text.split("12345/123456")[1].split("\n")[0][:22]


# --- agree and stats: who is compared, and tables that never cut a figure ----------------------------------

LABELS = ["event", "claim", "quote", "assessment", "background", "figure"]
NAMES = ["alice", "bob", "carol", "dominique-longname"]


@pytest.fixture
def team(tmp_path):
    """Four documents, six labels; alice, bob and carol share two documents, dominique only one of their own;
    gold and a `panel` set are written by `reader merge`."""
    root = tmp_path / "team"
    store = Store(root)
    ws = Workspace(store, model="fr_core_news_sm")
    texts = ["Un fait. Une affirmation. Une citation. Un jugement. Un contexte. Un chiffre. Fin.",
             "Deux faits. Deux affirmations. Deux citations. Fin.",
             "Un document que seule Dominique a lu. Voilà.",
             "Personne. Rien."]
    docs = [make_document(t, {"source": f"t{i}.txt"}) for i, t in enumerate(texts)]
    ws.add_documents(docs)
    for doc in docs:
        store.cache_analysis(doc.id, ws.cache_key(doc), synthetic_analysis(doc.text))
    for n, name in enumerate(NAMES[:3]):
        for d, doc in enumerate(docs[:2]):
            session = AnnotationSession(store, doc, name, ws.labels)
            session.use_sentences(ws.cached_analysis(doc).sentences)
            for index in range(len(session._sentences) - 1):
                for k, label in enumerate(LABELS):
                    if (index + k + d + (n == 2)) % 3 == 0:  # alice and bob agree, carol does not
                        session.set_tag(index, label, True)
    session = AnnotationSession(store, docs[2], NAMES[3], ws.labels)
    session.use_sentences(ws.cached_analysis(docs[2]).sentences)
    session.set_tag(0, "event", True)
    store.close()
    for into in ("gold", "panel"):
        result = cli("--store", str(root), "merge", "--into", into)
        assert result.exit_code == 0, result.output
    store = Store(root)
    yield Workspace(store, model="fr_core_news_sm")
    store.close()


def test_agree_leaves_out_adjudicated_sets_and_pairs_that_shared_nothing(team):
    result = agreement(team)
    assert result.annotators == sorted(NAMES)  # today: gold is left out, panel is compared as an annotator
    assert result.pairs == [("alice", "bob"), ("alice", "carol"), ("bob", "carol")]  # never with dominique
    assert [(p.a, p.b) for p in result.entities] == result.pairs
    chosen = agreement(team, ["alice", "gold", "panel"])  # named, they are compared
    assert chosen.pairs == [("alice", "gold"), ("alice", "panel"), ("gold", "panel")]


def test_agree_json_lists_only_pairs_with_a_shared_document(team):
    root = str(team.store.root)
    team.store.close()
    result = cli("--store", root, "agree", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "gold" not in data["annotators"] and "panel" not in data["annotators"]
    pairs = {(p["a"], p["b"]) for p in data["entities"]["pairs"]}
    assert pairs == {("alice", "bob"), ("alice", "carol"), ("bob", "carol")}
    for label in data["labels"].values():
        assert {(p["a"], p["b"]) for p in label["pairs"]} == pairs


def test_stats_compares_annotators_only(team):
    result = stats(team)
    assert {a.name for a in result.annotators} == {*NAMES, "gold", "panel"}  # everyone's progress
    assert {(x.first, x.second) for x in result.agreement} == {("alice", "bob"), ("alice", "carol"), ("bob", "carol")}


def expected_stats_figures(result) -> list[list[str]]:
    rows = [[str(a.documents), str(a.tagged_sentences), *(str(a.labels[x]) for x in result.labels), str(a.notes),
             *(str(a.decisions[x]) for x in DECISIONS)] for a in result.annotators]
    rows += [[str(x.documents), str(x.sentences), percent_text(x.percent, True),
              *(percent_text(x.kappa[label]) for label in result.labels)] for x in result.agreement]
    return rows


def expected_agree_figures(result) -> list[list[str]]:
    rows = [[percent_text(x.alpha), *(percent_text(x.kappa[p]) for p in result.pairs)] for x in result.labels.values()]
    rows += [[percent_text(p.precision), percent_text(p.recall), percent_text(p.f1), str(p.boundary), str(p.label),
              str(p.missing)] for p in result.entities]
    rows += [[percent_text(f1)] for f1 in result.entity_f1.values()]
    return rows


FIGURE = re.compile(r"^(–|-?\d+(\.\d+)?%?)$")


def check_figures(text: str, width: int, expected: list[list[str]]) -> None:
    """Every line fits, nothing is cut, and every figure of the result is printed whole."""
    assert "…" not in text, text
    for line in text.splitlines()[1:]:  # the summary line above the tables is prose: the terminal wraps it
        assert len(line.rstrip()) <= width, line
    tokens = Counter(t for t in text.split() if FIGURE.match(t))
    wanted = Counter(x for row in expected for x in row)
    missing = wanted - tokens
    assert not missing, (missing, text)


@pytest.mark.parametrize("width", [60, 80, 120])
def test_stats_and_agree_tables_never_cut_a_figure(team, width):
    s, a = stats(team), agreement(team)
    assert len(s.labels) >= 6 and len(s.annotators) >= 3 and len(a.pairs) >= 3
    for renderable, expected in ((render_stats(s), expected_stats_figures(s)),
                                 (render_agreement(a), expected_agree_figures(a))):
        console = Console(record=True, width=width, highlight=False, soft_wrap=True)
        console.print(renderable)
        check_figures(console.export_text(), width, expected)


@pytest.mark.parametrize("width", [60, 80])
def test_stats_and_agree_commands_fit_columns(team, width):
    """The installed command, as a pipe with COLUMNS set (a script or `| less` in an 80-column terminal)."""
    root = str(team.store.root)
    s, a = stats(team), agreement(team)
    team.store.close()
    env = {**os.environ, "COLUMNS": str(width), "PYTHONPATH": str(ROOT)}
    for command, expected in (("stats", expected_stats_figures(s)), ("agree", expected_agree_figures(a))):
        done = subprocess.run([sys.executable, "-m", "reader", "--store", root, command], capture_output=True,
                              text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        check_figures(done.stdout, width, expected)


# --- headers: the title wins ---------------------------------------------------------------------------------


def header_line(screen) -> str:
    """The header row as the terminal shows it: each part's text where the layout put it."""
    cells = [" "] * NARROW[0]
    for widget in screen.query_one("#header").children:
        if widget.display:
            x = widget.content_region.x
            for i, char in enumerate(widget.render_line(0).text.rstrip()[: max(0, NARROW[0] - x)]):
                cells[x + i] = char
    return "".join(cells).rstrip()


@pytest.mark.parametrize("review", [False, True])
async def test_header_shows_the_whole_title_before_the_file_name_and_author(workspace, review):
    from reader.ui.screens.review import ReviewScreen
    from reader.worklist import ReviewOptions

    seed = workspace.document(workspace.document_ids()[0])
    meta = {"date": "2024-12-16", "source": "un_tres_long_nom_de_fichier_exporte_du_cms_000123.txt",
            "author": "Jean-Baptiste de La Fontaine-Villeneuve", "title": "Kim Jong Un au cosmodrome de Vostochny"}
    short = replace(seed, meta=MappingProxyType({**seed.meta, **meta}))
    long = replace(seed, meta=MappingProxyType({**seed.meta, **meta, "title": "La Corée du Nord pourrait bientôt "
                                                "bénéficier d’une assistance technologique pour ses satellites"}))
    app = ReaderApp(workspace, workspace.document_ids())
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        for doc in (short, long):
            screen = ReviewScreen(doc, ReviewOptions()) if review else ReadingScreen(doc)
            await app.push_screen(screen)
            await pilot.pause()
            line = header_line(screen)
            assert len(line) <= NARROW[0]
            if doc is short:  # today: "Kim Jong Un au cosmodrome…  2024-12-16 · un_tres_long_nom…"
                assert line.lstrip().startswith(meta["title"] + " "), line
                assert "2024-12-16" in line and meta["source"] not in line, line  # the file name gives way
                assert review or "un_tres_long_nom_de_fi…" in line, line  # cut with … where there is room
            else:
                assert line.lstrip().startswith(doc.meta["title"][:40]) and "…" in line, line
                assert "un_tres_long" not in line and "2024-12-16" in line, line  # the date is short: kept
            assert ("review → gold" in line) is review, line
            app.pop_screen()
            await pilot.pause()


def test_header_meta_fits_its_room():
    from reader.ui.screens.reading import header_meta

    doc = make_document("Texte. Fin.", {"date": "2023-09", "source": "x" * 40, "author": "Anne"})
    assert header_meta(doc).plain == f"2023-09  ·  {'x' * 40}  ·  Anne"
    assert header_meta(doc, 30).plain == f"2023-09  ·  {'x' * 17}…"  # 30 cells exactly
    assert header_meta(doc, 10).plain == "2023-09"
    assert header_meta(doc, 3).plain == "2023-09"  # a date is a few cells: always kept
    assert header_meta(make_document("Texte. Fin.", {"source": "x" * 40}), 3).plain == ""
    assert header_meta(doc, -5, ("review → gold",)).plain == "review → gold  ·  2023-09"


def test_merge_does_not_count_another_adjudicated_set_as_a_voter(team):
    root = str(team.store.root)
    team.store.close()
    result = cli("--store", root, "merge", "--into", "final")
    assert result.exit_code == 0, result.output
    store = Store(Path(root))
    try:
        voters = {name for doc_id in store.document_ids() if "final" in store.annotators(doc_id)
                  for r in store.records(doc_id, "final").values() for name in (r.get("from") or [])}
        assert voters and voters <= set(NAMES), voters  # today: panel votes too
    finally:
        store.close()


def test_reader_list_sorts_and_limits(alice):
    root = str(alice.store.root)
    add_second_document(alice)
    alice.store.close()
    rows = [json.loads(x) for x in cli("--store", root, "--annotator", "bob", "list", "--sort", "tagged", "--limit",
                                       "1", "--json").stdout.splitlines()]
    assert [r["tagged"] for r in rows] == [14]
    listed = cli("--store", root, "--annotator", "alice", "list", "--sort", "progress", "--json")
    rows = [json.loads(x) for x in listed.stdout.splitlines()]
    assert [r["sentences"] for r in rows] == [2, 14]
    bad = cli("--store", root, "list", "--sort", "size")
    assert bad.exit_code == 2 and "error: unknown sort 'size'" in bad.output


@pytest.mark.parametrize("width", [60, 80])
def test_reader_list_fits_the_terminal_and_cuts_only_the_title(alice, width):
    """An 80-column terminal (here a pipe with COLUMNS) gets rows that fit it: the title gives way with `…`,
    every figure stays whole (rich shrinks only columns that may wrap)."""
    root = str(alice.store.root)
    alice.store.close()
    env = {**os.environ, "COLUMNS": str(width), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "reader", "--store", root, "--annotator", "alice", "list"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(len(line) <= width for line in lines), lines
    header = next(line for line in lines if line.startswith("id"))
    assert header.split()[-5:] == ["sentences", "tagged", "notes", "decisions", "done"], header
    row = next(line for line in lines if line[:1].isalnum() and not line.startswith(("id", "Documents")))
    assert row.split()[-4:-2] == ["14", "2"] and "…" in row, row
