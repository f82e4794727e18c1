"""Loading, sanitising, header metadata and ids."""

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reader.documents import (
    DocumentError,
    document_id,
    guess_language,
    load_file,
    load_paths,
    make_document,
    sanitize,
    split_header,
)

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def test_seed_header_goes_to_meta_not_body():
    [doc] = load_paths([SEEDS])
    assert doc.meta["date"] == "2023-09"
    assert doc.text.startswith("La Corée du Nord pourrait")
    assert "date 2023-09" not in doc.text
    assert doc.meta["lang"] == "fr"
    assert doc.meta["source"] == "000_e32d133477e55cfb.txt"
    assert doc.title.startswith("La Corée du Nord")


def test_id_is_sha256_prefix_of_stored_text():
    [doc] = load_paths([SEEDS])
    assert doc.id == hashlib.sha256(doc.text.encode()).hexdigest()[:12]
    assert document_id(doc.text) == doc.id


def test_sanitize_strips_controls_bom_and_crlf():
    raw = "\ufeffLine one\r\nline\ttwo\x1b[31m red\x1b[0m\x07\x85\x9b end\rthree"
    assert sanitize(raw) == "Line one\nline\ttwo[31m red[0m end\nthree"


@given(st.text())
def test_sanitize_leaves_no_control_characters(raw):
    import unicodedata

    clean = sanitize(raw)
    assert all(c in "\n\t" or unicodedata.category(c) != "Cc" for c in clean)
    assert sanitize(clean) == clean


def test_markup_is_kept_literally():
    doc = make_document("Texte [bold]gras[/bold] et [@click=app.quit]x[/] fin.")
    assert "[@click=app.quit]x[/]" in doc.text


def test_front_matter_and_header_lines():
    body, meta = split_header("---\ntitle: Un titre\nsource: AFP\n---\nLe texte.")
    assert body == "Le texte." and meta == {"title": "Un titre", "source": "AFP"}
    body, meta = split_header("Title: Headline\nDate: 2024-01-02\n\nBody here.")
    assert body == "Body here." and meta == {"title": "Headline", "date": "2024-01-02"}
    body, meta = split_header("Nothing: special here\nstill body")
    assert body == "Nothing: special here\nstill body" and meta == {}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"   \n\n  ", "empty"),
        (b"\x00\x01\x02binary", "binary"),
        ("caf\u00e9".encode("latin-1"), "not valid UTF-8"),
    ],
)
def test_bad_files_give_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(DocumentError, match=message) as info:
        load_file(path)
    assert str(path) in str(info.value)


def test_missing_path_and_empty_folder(tmp_path):
    with pytest.raises(DocumentError, match="no such file"):
        load_paths([tmp_path / "nope.txt"])
    with pytest.raises(DocumentError, match="no .txt"):
        load_paths([tmp_path])


def test_jsonl_documents_and_errors(tmp_path):
    path = tmp_path / "docs.jsonl"
    lines = [{"text": "Premier article.", "meta": {"title": "Un", "lang": "fr"}}, {"text": "Second text is here."}]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n", encoding="utf-8")
    docs = load_file(path)
    assert [d.text for d in docs] == ["Premier article.", "Second text is here."]
    assert docs[0].meta["title"] == "Un" and docs[0].meta["source"] == "docs.jsonl:1"
    path.write_text('{"text": "ok"}\n{"txt": "missing"}\n', encoding="utf-8")
    with pytest.raises(DocumentError, match=r"docs.jsonl:2.*text"):
        load_file(path)
    path.write_text('{"text": "ok"}\nnot json\n', encoding="utf-8")
    with pytest.raises(DocumentError, match=r"docs.jsonl:2: not valid JSON"):
        load_file(path)


def test_folder_loading_is_sorted_and_deduplicated(tmp_path):
    (tmp_path / "b.txt").write_text("Deuxième article du dossier.", encoding="utf-8")
    (tmp_path / "a.md").write_text("# Premier\n\nUn article en markdown.", encoding="utf-8")
    (tmp_path / "copy.txt").write_text("Deuxième article du dossier.", encoding="utf-8")
    (tmp_path / "ignored.csv").write_text("x,y", encoding="utf-8")
    docs = load_paths([tmp_path])
    assert [d.meta["source"] for d in docs] == ["a.md", "b.txt"]
    assert docs[0].title == "Premier"


def test_language_guess():
    assert guess_language("The government said on Monday that the plan is on track and it will be") == "en"
    assert guess_language("Le gouvernement a dit que le plan est dans les temps et qu'il sera") == "fr"
    assert guess_language("") == "fr"
