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


TWELVE = "".join(f"[[label]]\nname = 'label{n:02d}'\ndescription = 'number {n}'\n" for n in range(1, 13))


def test_twelve_labels_load_nine_with_a_key():
    labels = parse_labels(TWELVE, "twelve.toml")
    assert len(labels.names) == 12
    assert [lb.key for lb in labels.labels] == [1, 2, 3, 4, 5, 6, 7, 8, 9, None, None, None]
    assert labels.by_key(9).name == "label09" and labels.get("label12").key is None
    assert len({lb.colour for lb in labels.labels}) == 9  # the colours go round


def test_a_tenth_key_says_only_nine_labels_can_have_one():
    with pytest.raises(LabelError, match=r"key must be a digit 1-9, got 10 \(only 9 labels can have a key: leave "
                                         r"`key` out and the label is tagged from the label picker\)"):
        parse_labels(TWELVE.replace("name = 'label10'\n", "name = 'label10'\nkey = 10\n"), "twelve.toml")
