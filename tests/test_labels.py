"""Label sets from TOML: the shipped default, and clear errors that name the file and the line."""

import pytest

from reader.labels import DEFAULT_LABELS, LabelError, load_labels, parse_labels


def test_default_labels():
    labels = load_labels()
    assert labels.names == ["event", "claim", "quote", "assessment", "background", "figure"]
    assert [lb.key for lb in labels.labels] == [1, 2, 3, 4, 5, 6]
    assert not labels.exclusive
    assert all(lb.description for lb in labels.labels)
    assert labels.by_key(3).name == "quote" and labels.by_key(9) is None
    assert DEFAULT_LABELS.is_file()


def test_custom_exclusive_set(tmp_path):
    path = tmp_path / "sentiment.toml"
    path.write_text('exclusive = true\n[[label]]\nname = "positive"\nkey = 1\ncolour = "green"\n'
                    '[[label]]\nname = "negative"\nkey = 2\ncolour = "red"\n', encoding="utf-8")
    labels = load_labels(path)
    assert labels.exclusive and labels.names == ["positive", "negative"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[label]\nname = 'x'\n", r"bad.toml: not valid TOML \(.*line 1"),
        ("exclusive = false\n", r"bad.toml: no labels"),
        ("[[label]]\nname = 'a'\nkey = 1\n[[label]]\nname = 'b'\nkey = 1\n", r"bad.toml:6: key 1 is used by two"),
        ("[[label]]\nname = 'a'\nkey = 12\n", r"bad.toml:3: label 'a': key must be a digit 1-9"),
        ("[[label]]\nname = 'a'\ncolour = 'pink'\n", r"bad.toml:3: label 'a': colour must be one of"),
        ("[[label]]\nname = 'a'\nshortcut = 'x'\n", r"bad.toml:3: label 'a' has unknown field 'shortcut'"),
        ("[[label]]\nname = 'a'\n[[label]]\nname = 'a'\n", r"bad.toml:4: label 'a' is defined twice"),
        ("[[label]]\nkey = 1\n", r"bad.toml:1: label 1 needs a name"),
        ("exclusive = 'yes'\n[[label]]\nname = 'a'\n", r"bad.toml:1: exclusive must be true or false"),
    ],
)
def test_malformed_label_files(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LabelError, match=message):
        load_labels(path)


def test_missing_file(tmp_path):
    with pytest.raises(LabelError, match="cannot read"):
        load_labels(tmp_path / "none.toml")


def test_parse_labels_line_numbers_point_at_the_entry():
    text = "[[label]]\nname = 'ok'\nkey = 1\n\n[[label]]\nname = 'broken'\nkey = 0\n"
    with pytest.raises(LabelError, match=r"where:7: label 'broken'"):
        parse_labels(text, "where")
