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
    make_document,
    sanitize,
    split_header,
)
from reader.loading import load_file, load_inputs, load_paths

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


# --- Markdown -------------------------------------------------------------------------------------------------

MARKDOWN = Path(__file__).resolve().parent / "data" / "markdown"


def test_markdown_is_stored_as_its_plain_text():
    [doc] = load_file(MARKDOWN / "depeche.md")
    assert doc.text == (
        "Grève à la SNCF\n\n"
        "Les syndicats de la SNCF ont appelé à une grève reconductible à partir de lundi, selon un communiqué "
        "publié sur leur site.\n\n"
        "Ce que demandent les syndicats\n\n"
        "- une hausse des salaires de 5 % ;\n- le maintien des petites lignes ;\n  - dont celle de Nantes-Pornic.\n\n"
        "1. Premier point.\n2. Second point.\n\n"
        "« Nous ne lâcherons rien », a déclaré un délégué.\n\n"
        "trafic_prevu = 0.5\n\n"
        "La direction parle d’un trafic « très perturbé ».\nFin de la dépêche."
    )
    assert dict(doc.meta) == {
        "title": "Grève : « on ne lâchera rien », disent les cheminots",  # quotes are YAML's, not the title's
        "author": "Marie L'Hôte",
        "date": "2024-12-16",
        "tags": "social, transports, SNCF",
        "source": "depeche.md",
        "lang": "fr",
    }


def test_markdown_title_is_the_first_level_one_heading_without_front_matter():
    [doc] = load_file(MARKDOWN / "sans-titre.md")
    assert doc.title == "Le vrai titre de l’article"
    assert doc.text == ("Texte d’introduction sans front matter, avec un mot en gras.\n\n"
                        "Le vrai titre de l’article\n\n"
                        "Le corps de l’article, avec une et du HTML brut.")


def test_markdown_character_references_follow_the_text_rule():
    doc = make_document("Un &#27;[31m échappement &amp; une &#x85;fin.", markdown=True)
    assert doc.text == "Un \ufffd[31m échappement & une \ufffdfin."  # markdown-it's replacement for a control


@pytest.mark.parametrize(
    ("block", "meta"),
    [
        ('title: "Deux : points"', {"title": "Deux : points"}),
        ("title: 'L''Hôte'", {"title": "L'Hôte"}),
        ('title: "a \\"b\\" \\u00e9\\x41"', {"title": 'a "b" éA'}),
        ("title: plain # comment\nurl: https://x.fr/#ancre", {"title": "plain", "url": "https://x.fr/#ancre"}),
        ("authors:\n  - Jean\n  - 'Marie'\n", {"authors": "Jean, Marie"}),
        ("tags: [a, 'b, c', \"d\"]", {"tags": "a, b, c, d"}),
        ("summary: >\n  une ligne\n  et une autre\ntitle: T", {"summary": "une ligne et une autre", "title": "T"}),
        ("place:\n  city: Lyon\ntitle: T", {"title": "T"}),  # a nested mapping is not one value
        ("Title: Majuscules", {"title": "Majuscules"}),
        ("title: Réforme : ce qui change\nauthor: X", {"title": "Réforme : ce qui change", "author": "X"}),  # no YAML
        ("t: " + "[" * 3000 + "]" * 3000 + "\ntitle: T", {"t": "[" * 3000 + "]" * 3000, "title": "T"}),  # too deep
    ],
)
def test_front_matter_values_are_read_as_yaml_reads_them(block, meta):
    body, found = split_header(f"---\n{block}\n---\nLe texte.")
    assert (body, found) == ("Le texte.", meta)


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéèàçô", min_size=1, max_size=8)
_WRAPS = [("{}", "{}"), ("**{}**", "{}"), ("*{}*", "{}"), ("_{}_", "{}"), ("`{}`", "{}"),
          ("[{}](https://x.fr/a)", "{}"), ("~~{}~~", "{}")]


@given(st.lists(st.tuples(st.sampled_from(["", "# ", "## ", "- ", "1. ", "> "]),
                          st.lists(st.tuples(st.sampled_from(_WRAPS), _WORD), min_size=1, max_size=6)),
                min_size=1, max_size=6))
def test_markdown_text_holds_the_words_and_none_of_the_markers(paragraphs):
    source = "\n\n".join(prefix + " ".join(wrap[0].format(word) for wrap, word in words)
                         for prefix, words in paragraphs)
    doc = make_document(source, markdown=True)
    again = make_document(source, markdown=True)
    assert (again.id, again.text) == (doc.id, doc.text)  # the same file is the same document
    assert not set(doc.text) & set("*_`[]()#>~")
    position = 0
    for _, words in paragraphs:
        for _, word in words:  # every word, in order, at an offset of the stored text
            position = doc.text.index(word, position)
            assert doc.text[position : position + len(word)] == word
            position += len(word)


# --- several inputs ---------------------------------------------------------------------------------------------


def test_bad_inputs_are_refused_one_each_and_the_good_ones_loaded(tmp_path):
    (tmp_path / "a.txt").write_text("Premier article du dossier, en bon UTF-8.", encoding="utf-8")
    (tmp_path / "b.md").write_text("# Second\n\nUn article en **Markdown**.", encoding="utf-8")
    (tmp_path / "c-vide.txt").write_bytes(b"")
    (tmp_path / "d-latin1.txt").write_bytes("Un article enregistré en latin-1, café.".encode("latin-1"))
    loaded = load_inputs([tmp_path, tmp_path / "absent.txt"])
    assert [d.meta["source"] for d in loaded.documents] == ["a.txt", "b.md"]
    assert loaded.refused == [
        f"{tmp_path / 'c-vide.txt'}: the file is empty",
        f"{tmp_path / 'd-latin1.txt'}: not valid UTF-8 (byte 20); convert it with iconv first",
        f"{tmp_path / 'absent.txt'}: no such file or folder",
    ]
    with pytest.raises(DocumentError, match="c-vide.txt: the file is empty"):
        load_paths([tmp_path])  # all or nothing where only one thing can be said


def test_a_bad_jsonl_line_is_refused_and_the_others_loaded(tmp_path):
    path = tmp_path / "docs.jsonl"
    path.write_text('{"text": "Premier."}\nnot json\n{"txt": "x"}\n{"text": "Quatrième."}\n', encoding="utf-8")
    loaded = load_inputs([path])
    assert [d.text for d in loaded.documents] == ["Premier.", "Quatrième."]
    assert loaded.refused == [f"{path}:2: not valid JSON (Expecting value)",
                              f"{path}:3: each line needs a \"text\" string"]
