"""The store keeps annotations safe: atomic files, deterministic bytes, one writer per annotator, damage reported
not spread."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reader.store import (
    SCHEMA_FILE,
    AtomicJSONStorage,
    RecordDB,
    Store,
    StoreCorrupt,
    StoreError,
    StoreReadOnly,
    UnknownDocument,
    decode_name,
    encode_name,
    files,
)
from reader.store.files import json_file, json_line, loads

DOC = {"id": "a1b2c3d4e5f6", "text": "Le président a parlé. La Bourse a monté.", "meta": {"source": "a.txt"}}
DOC2 = {"id": "a1ffffffffff", "text": "Autre texte.", "meta": {"source": "b.txt", "title": "Autre"}}


def tag(i: int, *labels: str) -> dict:
    return {"id": f"tag:{i}", "kind": "tag", "sentence": i, "labels": list(labels or ["ECONOMIE"])}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "store")
    s.add_document(DOC)
    s.add_document(DOC2)
    yield s
    s.close()


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- layout and round trip --------------------------------------------------------------------------------


def test_new_store_layout(tmp_path: Path) -> None:
    root = tmp_path / "annotations"
    with Store(root) as s:
        assert not s.read_only and s.lock_holder is None
    assert json.loads((root / SCHEMA_FILE).read_text()) == {"schema": 1}
    assert (root / ".lock").exists()
    for sub in ("documents", "analyses", "annotations"):
        assert (root / sub).is_dir()


def test_documents_round_trip(store: Store) -> None:
    assert store.add_document(DOC) is False  # already there: no-op
    assert store.has_document(DOC["id"]) and not store.has_document("ffffffffffff")
    assert store.document(DOC["id"]) == DOC
    copy = store.document(DOC["id"])
    copy["meta"]["title"] = "changed"
    assert "title" not in store.document(DOC["id"])["meta"]
    reopened = Store(store.root, read_only=True)
    assert reopened.document(DOC2["id"]) == DOC2
    assert reopened.document_ids() == [DOC["id"], DOC2["id"]]


def test_document_order_by_source_then_id(tmp_path: Path) -> None:
    with Store(tmp_path / "s") as s:
        for i, source in [(1, "f.jsonl:10"), (2, "f.jsonl:2"), (3, "a.txt"), (4, "f.jsonl:2")]:
            s.add_document({"id": f"d{i}", "text": str(i), "meta": {"source": source}})
        s.add_document({"id": "d5", "text": "5", "meta": {}})
        assert s.document_ids() == ["d5", "d3", "d2", "d4", "d1"]


def test_annotations_round_trip(store: Store) -> None:
    records = [tag(1, "A"), tag(0, "B"), {"id": "note:-", "kind": "note", "text": "«\u00a0Ça\u00a0» 🙂"}]
    store.write(DOC["id"], "alice", upsert=records)
    store.write(DOC["id"], "alice", upsert=[tag(2)], delete=["tag:0"])
    expected = {r["id"]: r for r in [records[0], records[2], tag(2)]}
    assert store.records(DOC["id"], "alice") == expected
    with Store(store.root, read_only=True) as other:
        assert other.records(DOC["id"], "alice") == expected
        assert other.annotators(DOC["id"]) == ["alice"]
    assert store.records(DOC["id"], "nobody") == {}
    assert store.annotators(DOC2["id"]) == []


def test_annotation_file_is_tinydb_with_one_record_per_line(store: Store) -> None:
    store.write(DOC["id"], "alice", upsert=[tag(1), tag(0)])
    path = store.annotation_path(DOC["id"], "alice")
    text = path.read_text(encoding="utf-8")
    assert text == (
        '{\n"_default": {\n'
        '"tag:0": {"id": "tag:0", "kind": "tag", "labels": ["ECONOMIE"], "sentence": 0},\n'
        '"tag:1": {"id": "tag:1", "kind": "tag", "labels": ["ECONOMIE"], "sentence": 1}\n'
        "}\n}\n"
    )
    db = RecordDB(path, storage=AtomicJSONStorage, read_only=True)
    assert sorted(db.all(), key=lambda d: d["id"]) == [tag(0), tag(1)]
    assert db.get(doc_id="tag:1") == tag(1)


def test_storage_works_for_plain_tinydb(tmp_path: Path) -> None:
    from tinydb import Query, TinyDB

    path = tmp_path / "plain.json"
    db = TinyDB(path, storage=AtomicJSONStorage)
    db.insert_multiple({"n": i, "tags": []} for i in range(5))
    db.update({"tags": ["x"]}, Query().n == 3)  # mutates records in place: must still be written
    db.remove(Query().n == 0)
    db.table("other").insert({"a": 1})
    expected = sorted(db.all(), key=lambda d: d["n"])
    db.close()
    assert json.loads(path.read_text())["_default"]["4"] == {"n": 3, "tags": ["x"]}
    again = TinyDB(path, storage=AtomicJSONStorage)
    assert sorted(again.all(), key=lambda d: d["n"]) == expected
    assert again.table("other").all() == [{"a": 1}]


def test_records_are_copied_on_the_way_in(store: Store) -> None:
    record = tag(3, "A")
    store.write(DOC["id"], "alice", upsert=[record])
    record["labels"].append("B")
    record["kind"] = "changed"
    assert store.records(DOC["id"], "alice")["tag:3"] == tag(3, "A")
    returned = store.records(DOC["id"], "alice")
    returned.clear()
    assert store.records(DOC["id"], "alice") == {"tag:3": tag(3, "A")}


def test_values_normalised_as_json(store: Store) -> None:
    store.write(DOC["id"], "alice", upsert=[{"id": "x", "span": (1, 2), "n": {1: "a"}}])
    assert store.records(DOC["id"], "alice")["x"] == {"id": "x", "span": [1, 2], "n": {"1": "a"}}
    with pytest.raises(StoreError, match="cannot be stored as JSON"):
        store.write(DOC["id"], "alice", upsert=[{"id": "y", "bad": float("nan")}])
    with pytest.raises(StoreError, match="cannot be stored as JSON"):
        store.write(DOC["id"], "alice", upsert=[{"id": "y", "bad": {1, 2}}])
    with pytest.raises(StoreError, match='"id"'):
        store.write(DOC["id"], "alice", upsert=[{"labels": []}])
    assert set(store.records(DOC["id"], "alice")) == {"x"}


def test_lone_surrogate_is_stored_escaped(store: Store) -> None:
    store.write(DOC["id"], "alice", upsert=[{"id": "s", "text": "a\ud800b"}])
    with Store(store.root, read_only=True) as other:
        assert other.records(DOC["id"], "alice")["s"]["text"] == "a\ud800b"


def test_write_to_unknown_document(store: Store) -> None:
    with pytest.raises(UnknownDocument):
        store.write("ffffffffffff", "alice", upsert=[tag(0)])
    with pytest.raises(UnknownDocument):
        store.write("../../etc", "alice", upsert=[tag(0)])
    assert not (store.root / "annotations" / "ffffffffffff").exists()


def test_no_change_no_write(store: Store) -> None:
    store.write(DOC["id"], "alice", upsert=[tag(0)])
    path = store.annotation_path(DOC["id"], "alice")
    before = path.stat().st_ino
    store.write(DOC["id"], "alice", upsert=[tag(0)], delete=["missing"])
    assert path.stat().st_ino == before
    store.write(DOC2["id"], "bob")
    assert store.annotators(DOC2["id"]) == []


# --- determinism ------------------------------------------------------------------------------------------


def test_deterministic_bytes_whatever_the_history(tmp_path: Path) -> None:
    records = [tag(i, f"L{i % 3}") for i in range(30)]
    a, b = Store(tmp_path / "a"), Store(tmp_path / "b")
    for s in (a, b):
        s.add_document(DOC)
    for r in records:
        a.write(DOC["id"], "alice", upsert=[r])
    b.write(DOC["id"], "alice", upsert=[tag(99), *reversed(records[10:])])
    b.write(DOC["id"], "alice", upsert=[{**r, "labels": ["WRONG"]} for r in records[:10]])
    b.write(DOC["id"], "alice", upsert=reversed(records[:10]), delete=["tag:99"])
    a.close()
    b.close()
    assert tree(tmp_path / "a" / "annotations") == tree(tmp_path / "b" / "annotations")
    assert tree(tmp_path / "a" / "documents") == tree(tmp_path / "b" / "documents")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 12), st.sampled_from(["A", "B", "Ç"])), max_size=15))
def test_file_depends_only_on_final_records(tmp_path_factory: pytest.TempPathFactory, ops: list) -> None:
    root = tmp_path_factory.mktemp("prop")
    with Store(root / "inc") as inc:
        inc.add_document(DOC)
        final: dict[str, dict] = {}
        for is_delete, i, label in ops:
            if is_delete:
                inc.write(DOC["id"], "al ice", delete=[f"tag:{i}"])
                final.pop(f"tag:{i}", None)
            else:
                inc.write(DOC["id"], "al ice", upsert=[tag(i, label)])
                final[f"tag:{i}"] = tag(i, label)
        assert inc.records(DOC["id"], "al ice") == final
    if not final:
        return
    with Store(root / "once") as once:
        once.add_document(DOC)
        once.write(DOC["id"], "al ice", upsert=list(final.values()))
    name = f"{encode_name('al ice')}.json"
    assert (root / "inc/annotations" / DOC["id"] / name).read_bytes() == \
        (root / "once/annotations" / DOC["id"] / name).read_bytes()


# --- decoding: the fast decoder reads exactly what json reads ----------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**80, 2**80) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_loads_reads_what_the_store_writes_as_json_does(value) -> None:
    for data in (json_line(value), json_file(value), json.dumps(value).encode()):
        assert repr(loads(data)) == repr(json.loads(data))  # repr: same types, -0.0, key order


@pytest.mark.parametrize("data", [
    b'"a\\ud800b"', b"NaN", b"[1e400, -Infinity]", b"\xef\xbb\xbf{}", b"[123456789012345678901234567890]",
    b"[18446744073709551616, -9223372036854775809]", "{\"é\": 1}".encode("utf-16"), b"[" * 5000 + b"]" * 5000,
    b'"\xff"', b'{"a": 1} x', b'{"a": 1, "a": 2}', b"", b'"\\udc00\\ud800"', "[0.1, \"\\u00e9\"]",
])
def test_loads_agrees_with_json_on_odd_input(data) -> None:
    def outcome(decode):
        try:
            return "ok", repr(decode(data))
        except (ValueError, RecursionError) as exc:
            return type(exc).__name__, str(exc)

    assert outcome(loads) == outcome(json.loads)



def test_annotation_file_bytes(store: Store) -> None:
    """The exact layout users keep in git: sorted keys, one record per line, UTF-8, escapes only when needed."""
    store.write(DOC["id"], "alice", upsert=[{"id": "b", "text": "é « »", "n": {2: 1.5, 10: None}, "s": (1, 2)},
                                            {"id": "a", "odd": "x\ud800"}])
    assert store.annotation_path(DOC["id"], "alice").read_bytes() == (
        b'{\n"_default": {\n"a": {"id": "a", "odd": "x\\ud800"},\n'
        b'"b": {"id": "b", "n": {"10": null, "2": 1.5}, "s": [1, 2], "text": "\xc3\xa9 \xc2\xab \xc2\xbb"}\n}\n}\n'
    )



STORE_BYTES = [  # (value, json_line(value)): the bytes teams keep in git
    ({"text": "é « Ça » 🙂", "b": [], "a": {}}, '{"a": {}, "b": [], "text": "é « Ça » 🙂"}'.encode()),
    ({"p": 1e-05, "q": 0.1, "r": 1e16, "s": -0.0, "t": 2.0, "n": 10**20},
     b'{"n": 100000000000000000000, "p": 1e-05, "q": 0.1, "r": 1e+16, "s": -0.0, "t": 2.0}'),
    ({"n": {2: [1, {"z": None, "y": True}], 10: "x"}}, b'{"n": {"2": [1, {"y": true, "z": null}], "10": "x"}}'),
    ({"odd": "é\ud800"}, b'{"odd": "\\u00e9\\ud800"}'),
    ({"c": "\t\n\"\\\u2028\x7f\x1f"}, '{"c": "\\t\\n\\"\\\\\u2028\x7f\\u001f"}'.encode()),
    ({}, b"{}"),
    ([], b"[]"),
]


@pytest.mark.parametrize(("value", "line"), STORE_BYTES)
def test_store_json_bytes_are_pinned(value, line) -> None:
    """Non-ASCII, floats, big and int keys, nesting, escapes, empty values: the exact bytes, whatever encodes."""
    assert json_line(value) == line


def test_store_json_file_bytes_are_pinned() -> None:
    assert json_file({"b": "é", "a": [1.5e-07, {}], "c": []}) == \
        '{\n  "a": [\n    1.5e-07,\n    {}\n  ],\n  "b": "é",\n  "c": []\n}\n'.encode()
    assert json_file({}) == b"{}\n"


def test_msgspec_would_change_the_store_bytes() -> None:
    """Why the store still writes with json: msgspec's bytes differ on real records (exponents, int keys sorted as
    numbers, a lone surrogate), so switching would churn every shared store's diffs."""
    import msgspec

    def msgspec_line(value):
        return msgspec.json.format(msgspec.json.encode(value, order="sorted"), indent=0)

    assert msgspec_line(STORE_BYTES[0][0]) == STORE_BYTES[0][1]  # the same where no such value appears
    assert msgspec_line(STORE_BYTES[1][0]) != STORE_BYTES[1][1]  # 0.00001, 1e16
    for value, _line in STORE_BYTES[2:4]:
        with pytest.raises((TypeError, UnicodeEncodeError)):  # int keys with sorted keys; a lone surrogate
            msgspec_line(value)


PRINTABLE = st.text(st.characters(blacklist_categories=("Cc",)), max_size=5)
STORED_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | PRINTABLE | st.just("x\ud800"),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
    | st.dictionaries(PRINTABLE, inner, max_size=3) | st.dictionaries(st.integers(-20, 20), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(STORED_VALUES, STORED_VALUES)
def test_a_record_is_written_as_the_copy_the_store_keeps(tmp_path_factory: pytest.TempPathFactory, first,
                                                         second) -> None:
    """The bytes are those of the store's own copy, int keys and tuples included, on the first write of a file
    and on later ones."""
    with Store(tmp_path_factory.mktemp("once")) as store:
        store.add_document(DOC)
        store.write(DOC["id"], "alice", upsert=[{"id": "b", "v": first}])
        store.write(DOC["id"], "alice", upsert=[{"id": "a", "v": second}])
        copies = store.records(DOC["id"], "alice")
        assert store.annotation_path(DOC["id"], "alice").read_bytes() == (
            b'{\n"_default": {\n"a": ' + json_line(copies["a"]) + b',\n"b": ' + json_line(copies["b"]) + b"\n}\n}\n")


# --- annotators ---------------------------------------------------------------------------------------------


def test_two_annotators_have_separate_files(store: Store) -> None:
    store.write(DOC["id"], "alice", upsert=[tag(0, "A")])
    store.write(DOC["id"], "bob", upsert=[tag(0, "B")])
    assert store.annotators(DOC["id"]) == ["alice", "bob"]
    assert store.records(DOC["id"], "alice") == {"tag:0": tag(0, "A")}
    assert store.records(DOC["id"], "bob") == {"tag:0": tag(0, "B")}
    files = sorted(p.name for p in (store.root / "annotations" / DOC["id"]).iterdir())
    assert files == ["alice.json", "bob.json"]


@pytest.mark.parametrize("name", ["jean/paul", "Marie Curie", "..", ".hidden", "é%20ü", "a\\b:c*?", "名前"])
def test_annotator_names_are_filename_safe_and_round_trip(store: Store, name: str) -> None:
    store.write(DOC["id"], name, upsert=[tag(0)])
    folder = store.root / "annotations" / DOC["id"]
    [file] = list(folder.iterdir())
    assert file.parent == folder and not file.name.startswith(".") and "/" not in file.stem
    assert decode_name(file.stem) == name
    assert store.annotators(DOC["id"]) == [name]
    with Store(store.root, read_only=True) as other:
        assert other.records(DOC["id"], name) == {"tag:0": tag(0)}


def test_bad_annotator_names(store: Store) -> None:
    for name in ["", "   ", "x" * 300]:
        with pytest.raises(StoreError):
            store.write(DOC["id"], name, upsert=[tag(0)])


# --- ids ------------------------------------------------------------------------------------------------------


def test_resolve(store: Store) -> None:
    assert store.resolve(DOC["id"]) == DOC["id"]
    assert store.resolve("a1b") == DOC["id"]
    assert store.resolve(" A1F ") == DOC2["id"]
    with pytest.raises(UnknownDocument, match="ambiguous.*a1b2c3d4e5f6.*a1ffffffffff"):
        store.resolve("a1")
    with pytest.raises(UnknownDocument, match="no document"):
        store.resolve("zz")
    with pytest.raises(UnknownDocument):
        store.resolve("")
    with pytest.raises(UnknownDocument, match="no document"):
        store.document("ffffffffffff")
    with pytest.raises(UnknownDocument):
        store.document("../reader-store")


# --- schema ---------------------------------------------------------------------------------------------------


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "s"
    Store(root).close()
    (root / SCHEMA_FILE).write_text('{"schema": 2}\n')
    for read_only in (False, True):
        with pytest.raises(StoreError, match="newer version of reader"):
            Store(root, read_only=read_only)


@pytest.mark.parametrize("content", ['{"schema": "one"}', "[]", '{"version": 1}'])
def test_unknown_schema_is_refused(tmp_path: Path, content: str) -> None:
    (tmp_path / SCHEMA_FILE).write_text(content)
    with pytest.raises(StoreError, match="unknown store schema"):
        Store(tmp_path)


def test_store_path_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(StoreError, match="not a folder"):
        Store(tmp_path / "f")


# --- damage ---------------------------------------------------------------------------------------------------


def test_corrupt_annotation_file(store: Store) -> None:
    store.write(DOC["id"], "alice", upsert=[tag(0)])
    store.write(DOC2["id"], "alice", upsert=[tag(0)])
    path = store.annotation_path(DOC["id"], "alice")
    damaged = path.read_bytes()[:-9]  # as if cut short by a bad disk or a bad merge
    path.write_bytes(damaged)
    with pytest.raises(StoreCorrupt, match="alice.json") as info:
        store.records(DOC["id"], "alice")
    assert info.value.path == path
    with pytest.raises(StoreCorrupt):
        store.write(DOC["id"], "alice", upsert=[tag(1)])
    with pytest.raises(StoreCorrupt), Store(store.root, read_only=True) as other:
        other.records(DOC["id"], "alice")
    assert path.read_bytes() == damaged
    assert [p.name for p in path.parent.iterdir()] == ["alice.json"]  # no temporary file left
    # everything else still works
    store.write(DOC2["id"], "alice", upsert=[tag(1)])
    store.write(DOC["id"], "bob", upsert=[tag(1)])
    assert set(store.records(DOC2["id"], "alice")) == {"tag:0", "tag:1"}
    assert store.records(DOC["id"], "bob") == {"tag:1": tag(1)}
    # once repaired, it is read again
    path.write_text('{"_default": {"tag:5": {"id": "tag:5"}}}')
    assert store.records(DOC["id"], "alice") == {"tag:5": {"id": "tag:5"}}


@pytest.mark.parametrize("content", ["", "[1, 2]", '{"_default": []}', '{"_default": {"a": 1}}',
                                     '{"_default": {"a": {"id": "b"}}}', "\xff\xfe"])
def test_damaged_shapes_are_reported(store: Store, content: str) -> None:
    path = store.annotation_path(DOC["id"], "alice")
    path.parent.mkdir(parents=True)
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(StoreCorrupt, match=str(path)):
        store.records(DOC["id"], "alice")
    with pytest.raises(StoreCorrupt):
        store.write(DOC["id"], "alice", upsert=[tag(0)])
    assert path.read_bytes() == content.encode("latin-1")


@pytest.mark.parametrize("content", ["", "[1, 2]", '{"_default": []}', '{"_default": {"a": 1}}',
                                     '{"_default": {"a": {"id": "b"}}}', "\xff\xfe",
                                     '{"_default": {"a": {"id": "a", "x": NaN}}}'])
def test_damage_is_reported_when_reading_some_fields_too(store: Store, content: str) -> None:
    """The subset read (export) falls back to the ordinary read, which reports the damage and keeps the file."""
    path = store.annotation_path(DOC["id"], "alice")
    path.parent.mkdir(parents=True)
    path.write_bytes(content.encode("latin-1"))
    if "NaN" in content:  # json reads it, msgspec does not: the ordinary read gives json's value
        reader = Store(store.root, read_only=True)
        assert reader.records(DOC["id"], "alice", ("id",))["a"]["id"] == "a"
        reader.close()
    with pytest.raises(StoreCorrupt, match=str(path)):  # a writer cannot write NaN back: damage
        store.records(DOC["id"], "alice", ("id", "kind"))
    assert path.read_bytes() == content.encode("latin-1")


def test_reading_some_fields_skips_the_others_and_keeps_nothing(store: Store) -> None:
    record = {"id": "n1", "kind": "note", "start": 0, "end": 5, "quote": {"exact": "Le pr"}, "text": "x"}
    store.write(DOC["id"], "alice", upsert=[record, tag(0)])
    reader = Store(store.root, read_only=True)
    fields = ("id", "kind", "start", "end", "text")
    lean = reader.records(DOC["id"], "alice", fields)
    assert lean == {"n1": {k: v for k, v in record.items() if k != "quote"}, "tag:0": {"id": "tag:0", "kind": "tag"}}
    assert reader.records(DOC["id"], "alice") == {"n1": record, "tag:0": tag(0)}  # nothing lean was kept
    assert reader.records(DOC["id"], "alice", fields) == {"n1": record, "tag:0": tag(0)}  # read already: all
    assert store.records(DOC["id"], "bob", fields) == {}
    # a writer that read the file keeps every key, and writes them back
    store.write(DOC["id"], "alice", upsert=[{**record, "text": "y"}])
    assert json.loads(store.annotation_path(DOC["id"], "alice").read_text())["_default"]["n1"]["quote"] == \
        {"exact": "Le pr"}
    reader.close()


def test_corrupt_document_file(store: Store) -> None:
    path = store.root / "documents" / f"{DOC['id']}.json"
    path.write_text('{"id": "a1b2c3d4e5f6", "te')
    fresh = Store(store.root, read_only=True)
    assert DOC["id"] in fresh.document_ids()
    with pytest.raises(StoreCorrupt, match=DOC["id"]):
        fresh.document(DOC["id"])
    assert fresh.document(DOC2["id"]) == DOC2


def test_corrupt_analysis_cache_is_ignored(store: Store) -> None:
    key = "fr_core_news_md@3.8.0+1"
    assert store.cached_analysis(DOC["id"], key) is None
    analysis = {"model": "fr_core_news_md@3.8.0", "tokens": [0, 2, 3, 12], "sentences": [[0, 21]], "entities": []}
    store.cache_analysis(DOC["id"], key, analysis)
    assert store.cached_analysis(DOC["id"], key) == analysis
    [path] = (store.root / "analyses" / DOC["id"]).iterdir()
    assert path.name == f"{key}.json"
    for garbage in (b"", b'{"model": ', b"[1, 2]"):
        path.write_bytes(garbage)
        assert store.cached_analysis(DOC["id"], key) is None
    store.cache_analysis(DOC["id"], key, analysis)  # rebuilt over the damaged cache
    assert store.cached_analysis(DOC["id"], key) == analysis
    assert store.cached_analysis(DOC["id"], "other/key") is None


def test_file_replaced_on_disk_is_reread_before_writing(store: Store) -> None:
    store.write(DOC["id"], "alice", upsert=[tag(0)])
    path = store.annotation_path(DOC["id"], "alice")
    # someone (git pull, an editor) replaces the file while the store is open
    tmp = path.with_name("other")
    tmp.write_text('{"_default": {"tag:7": {"id": "tag:7"}}}')
    os.replace(tmp, path)
    assert store.records(DOC["id"], "alice") == {"tag:7": {"id": "tag:7"}}
    os.replace(path, tmp)
    tmp.write_text('{"_default": {"tag:8": {"id": "tag:8"}}}')
    os.replace(tmp, path)
    store.write(DOC["id"], "alice", upsert=[tag(1)])
    assert set(Store(store.root, read_only=True).records(DOC["id"], "alice")) == {"tag:8", "tag:1"}


def test_failed_write_changes_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.write(DOC["id"], "alice", upsert=[tag(0)])
    path = store.annotation_path(DOC["id"], "alice")
    before = path.read_bytes()

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(StoreError, match="No space left on device"):
        store.write(DOC["id"], "alice", upsert=[tag(1)], delete=["tag:0"])
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["alice.json"]
    assert store.records(DOC["id"], "alice") == {"tag:0": tag(0)}
    store.write(DOC["id"], "alice", upsert=[tag(2)])
    assert set(Store(store.root, read_only=True).records(DOC["id"], "alice")) == {"tag:0", "tag:2"}


def test_stale_temporary_files_are_removed(store: Store) -> None:
    folder = store.root / "annotations" / DOC["id"]
    folder.mkdir()
    (folder / ".alice.json.999999999.abcd.tmp").write_text('{"_def')  # its writer (no such pid) died
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:  # another writer, alive, may be about to rename its file: it stays
        live = folder / f".bob.json.{sleeper.pid}.abcd.tmp"
        live.write_text('{"_def')
        with Store(store.root, read_only=True) as other:
            assert other.annotators(DOC["id"]) == []
        store.write(DOC["id"], "alice", upsert=[tag(0)])
        assert sorted(p.name for p in folder.iterdir()) == [live.name, "alice.json"]
    finally:
        sleeper.kill()
        sleeper.wait()


def test_stale_temporary_documents_go_when_the_folder_is_listed(tmp_path: Path) -> None:
    """A write into `documents/` does not list the folder (100,000 files); the sweep that lists it cleans it."""
    store = Store(tmp_path / "store")
    store.add_document(DOC)
    stale = store.root / "documents" / ".a1ffffffffff.json.999999999.abcd.tmp"
    stale.write_text('{"id"')
    with Store(store.root) as again:
        again.add_document(DOC2)
        assert stale.exists()
        assert set(again.document_versions()) == {DOC["id"], DOC2["id"]} and not stale.exists()
    store.close()


# --- read-only and locking -----------------------------------------------------------------------------------


def test_read_only_store_never_writes(store: Store) -> None:
    store.write(DOC["id"], "alice", upsert=[tag(0)])
    store.cache_analysis(DOC["id"], "k", {"x": 1})
    store.close()
    before = tree(store.root)
    stamps = {p: p.stat().st_mtime_ns for p in store.root.rglob("*")}
    with Store(store.root, read_only=True) as ro:
        assert ro.read_only and ro.lock_holder is None
        assert ro.records(DOC["id"], "alice") == {"tag:0": tag(0)}
        assert ro.document_ids() == [DOC["id"], DOC2["id"]]
        assert ro.cached_analysis(DOC["id"], "k") == {"x": 1}
        ro.cache_analysis(DOC["id"], "k2", {"y": 2})  # a cache: silently not written
        with pytest.raises(StoreReadOnly, match="read-only"):
            ro.write(DOC["id"], "alice", upsert=[tag(1)])
        with pytest.raises(StoreReadOnly):
            ro.add_document({"id": "bbbbbbbbbbbb", "text": "new", "meta": {}})
        assert ro.add_document(DOC) is False
    assert tree(store.root) == before
    assert {p: p.stat().st_mtime_ns for p in store.root.rglob("*")} == stamps


def test_read_only_store_on_missing_folder_creates_nothing(tmp_path: Path) -> None:
    with Store(tmp_path / "nothing", read_only=True) as ro:
        assert ro.document_ids() == []
        assert ro.annotators("abc") == []
        assert ro.records("abc", "alice") == {}
        with pytest.raises(UnknownDocument):
            ro.resolve("abc")
    assert list(tmp_path.iterdir()) == []


def test_one_writer_per_annotator(store: Store) -> None:
    """A second store for the same annotator is read-only; another annotator's is not; a write to an annotator
    someone else writes is refused, nothing written."""
    assert store.claim("alice")
    second = Store(store.root, annotator="alice")
    assert second.read_only
    assert second.lock_holder and f"pid {os.getpid()}" in second.lock_holder
    assert second.read_only_reason == f"alice's annotations are open in {second.lock_holder}"
    with pytest.raises(StoreReadOnly, match=f"pid {os.getpid()}"):
        second.write(DOC["id"], "alice", upsert=[tag(0)])
    with Store(store.root, annotator="bob") as bob:
        assert not bob.read_only
        bob.write(DOC["id"], "bob", upsert=[tag(1)])
        assert bob.add_document({"id": "bbbbbbbbbbbb", "text": "new", "meta": {}})  # documents: anyone
        with pytest.raises(StoreReadOnly, match="alice's annotations .* are open in pid"):
            bob.write(DOC["id"], "alice", upsert=[tag(0)])
        store.write(DOC["id"], "alice", upsert=[tag(0)])
        with pytest.raises(StoreReadOnly, match="bob's annotations"):
            store.write(DOC["id"], "bob", upsert=[tag(2)])
    assert store.records(DOC["id"], "bob") == {"tag:1": tag(1)}
    assert (store.root / ".locks" / ".gitignore").read_text() == "*\n"
    assert sorted(p.name for p in (store.root / ".locks").iterdir()) == [".gitignore", "alice.lock", "bob.lock"]
    store.close()
    with pytest.raises(StoreReadOnly):
        store.write(DOC["id"], "alice", upsert=[tag(0)])
    third = Store(store.root, annotator="alice")
    assert not third.read_only
    third.close()


def test_a_reader_before_several_writers_keeps_them_out(store: Store) -> None:
    """Versions before one writer per annotator take `.lock` exclusively: while one writes, we are read-only,
    and while we write, it cannot take the lock."""
    store.close()
    old = files.LockFile(store.root / ".lock")
    assert old.acquire() is None
    with Store(store.root, annotator="alice") as ours:
        assert ours.read_only and ours.read_only_reason.startswith(f"it is open in pid {os.getpid()}")
    old.release()
    with Store(store.root, annotator="alice") as ours:
        assert not ours.read_only
        assert files.LockFile(store.root / ".lock").acquire().startswith("pid ")


def test_dropped_store_releases_its_lock(tmp_path: Path) -> None:
    first = Store(tmp_path / "s")
    assert not first.read_only
    del first
    with Store(tmp_path / "s") as second:
        assert not second.read_only


HOLDER = textwrap.dedent("""
    import sys
    from reader.store import Store
    store = Store(sys.argv[1], annotator="holder")
    print("writable" if not store.read_only else "read-only", flush=True)
    sys.stdin.readline()
    store.write("a1b2c3d4e5f6", "holder", upsert=[{"id": "last"}])
    print("wrote", flush=True)
""")


@pytest.mark.slow
def test_lock_between_processes(store: Store) -> None:
    root = store.root
    store.close()
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(root)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writable"
        before = tree(root)
        other = Store(root, annotator="holder")
        assert other.read_only
        assert other.lock_holder and other.lock_holder.startswith(f"pid {proc.pid} on ")
        assert " since " in other.lock_holder
        assert other.read_only_reason == f"holder's annotations are open in {other.lock_holder}"
        with pytest.raises(StoreReadOnly, match=f"pid {proc.pid}"):
            other.write(DOC["id"], "alice", upsert=[tag(0)])
        with pytest.raises(StoreReadOnly):
            other.add_document({"id": "bbbbbbbbbbbb", "text": "new", "meta": {}})
        assert Store(root, read_only=True, annotator="holder").lock_holder == other.lock_holder
        assert Store(root, read_only=True, annotator="alice").lock_holder is None
        assert tree(root) == before
        with Store(root, annotator="alice") as alice:  # another annotator writes beside the holder
            assert not alice.read_only
            alice.write(DOC["id"], "alice", upsert=[tag(0)])
            with pytest.raises(StoreReadOnly, match=f"holder's annotations .* are open in pid {proc.pid}"):
                alice.write(DOC["id"], "holder", upsert=[tag(0)])
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "wrote"
        assert other.records(DOC["id"], "holder") == {"last": {"id": "last"}}  # sees the other's writes
        proc.stdin.close()
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()
    with Store(root, annotator="holder") as again:
        assert not again.read_only and again.lock_holder is None
        again.write(DOC["id"], "holder", upsert=[tag(0)])
    assert Store(root, read_only=True).records(DOC["id"], "alice") == {"tag:0": tag(0)}


def test_analysis_keys_most_recent_first(store: Store) -> None:
    assert store.analysis_keys(DOC["id"]) == []
    store.cache_analysis(DOC["id"], "fr_core_news_sm@3.8.0+2", {"model": "sm"})
    older = store.root / "analyses" / DOC["id"] / "fr_core_news_sm@3.8.0+2.json"
    os.utime(older, (1, 1))
    store.cache_analysis(DOC["id"], "a/b c@1+2", {"model": "odd"})
    assert store.analysis_keys(DOC["id"]) == ["a/b c@1+2", "fr_core_news_sm@3.8.0+2"]
