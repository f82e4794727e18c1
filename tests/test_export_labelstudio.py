"""Label Studio tasks read by label-studio-sdk: every task's annotations and predictions validate against the
labeling config of the README (`LabelInterface`), and hold the native records' spans, labels and annotators."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from label_studio_sdk.label_interface import LabelInterface

from reader.export import export
from reader.store import Store
from reader.workspace import Workspace
from tests import export_cases

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parent.parent / "README.md"
FILTERS = ({}, {"annotator": "alice"}, {"annotator": "bob"}, {"annotated_only": True})


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    with export_cases.read_only(export_cases.new_store(tmp_path_factory, "labelstudio")) as ws:
        yield ws


def readme_config() -> str:
    """The labeling config the README shows."""
    text = README.read_text(encoding="utf-8")
    return re.search(r"```xml\n\s*(<View>.*?</View>)\n\s*```", text, re.S).group(1)


def config(entity_labels: set[str], sentence_labels: list[str]) -> str:
    """The README's config with this store's labels."""
    shown = readme_config()
    spans = "".join(f'<Label value="{name}"/>' for name in sorted(entity_labels))
    choices = "".join(f'<Choice value="{name}"/>' for name in sentence_labels)
    shown = re.sub(r'(<Labels name="label" toName="text">).*?(</Labels>)', rf"\g<1>{spans}\g<2>", shown, flags=re.S)
    return re.sub(r'(<Choices name="sentence"[^>]*>).*?(</Choices>)', rf"\g<1>{choices}\g<2>", shown, flags=re.S)


def native(ws: Workspace, unit: str, options: dict) -> list[dict]:
    return export(ws, "jsonl", unit, align="expand", **options).records


@pytest.mark.parametrize("unit", ["sentence", "document"])
@pytest.mark.parametrize("options", FILTERS, ids=["all", "alice", "bob", "annotated-only"])
def test_tasks_validate_in_label_studio_and_hold_the_store(workspace, unit, options) -> None:
    result = export(workspace, "labelstudio", unit, align="expand", unreviewed="include", **options)
    again = export(workspace, "labelstudio", unit, align="expand", unreviewed="include", **options)
    assert result.data == again.data
    tasks = json.loads(result.data)
    records = native(workspace, unit, options)
    assert isinstance(tasks, list) and len(tasks) == len(records) == result.count
    entity_labels = {s["label"] for r in records for s in r["spans"]}
    interface = LabelInterface(config(entity_labels, [*workspace.labels.names, "rumeur"]))
    interface.validate()
    for task, record in zip(tasks, records, strict=True):
        data = task["data"]
        assert interface.load_task(data).task_loaded
        assert data["text"] == record["text"]
        assert set(task) == {"data", "annotations", "predictions"}
        regions = []
        for annotation in task["annotations"]:
            assert interface.validate_annotation(annotation), interface.validate_prediction(annotation, True)
            assert annotation["completed_by"] == {"email": data["annotator"]} and data["annotator"] is not None
            regions += annotation["result"]
        for prediction in task["predictions"]:
            assert interface.validate_prediction(prediction, return_errors=True) == []
            assert prediction["model_version"].startswith(export_cases.MODEL)
            regions += prediction["result"]
        spans = [r["value"] for r in regions if r["type"] == "labels"]
        for value in spans:
            assert data["text"][value["start"]:value["end"]] == value["text"]
        kept = [s for s in record["spans"] if s["status"] != "rejected"]
        assert sorted((v["start"], v["end"], v["labels"][0]) for v in spans) == sorted(
            (s["start"], s["end"], s["label"]) for s in kept)
        predicted = {(v["start"], v["end"], v["labels"][0]) for p in task["predictions"] for r in p["result"]
                     for v in [r["value"]]}
        assert predicted == {(s["start"], s["end"], s["label"]) for s in kept if s["status"] == "predicted"}
        choices = [r["value"]["choices"] for a in task["annotations"] for r in a["result"] if r["type"] == "choices"]
        labels = ({n for n, v in record["cats"].items() if v} if "cats" in record
                  else {n for s in record["sentences"] for n in s["labels"]})
        assert set(*choices) == labels if choices else not labels


def test_model_output_nobody_reviewed_is_a_prediction_only(workspace) -> None:
    tasks = json.loads(export(workspace, "labelstudio", "sentence", align="expand", unreviewed="include").data)
    nobody = [t for t in tasks if t["data"]["annotator"] is None]
    assert nobody and all(not t["annotations"] for t in nobody)
    assert any(t["predictions"] for t in nobody)
    reviewed = [t for t in tasks if t["annotations"]]
    assert reviewed and all(t["data"]["annotator"] in ("alice", "bob") for t in reviewed)


def test_by_default_only_reviewed_work_and_a_done_document_is_all_annotations(tmp_path) -> None:
    """Reviewed units only (the exports' one rule); in a done document the model's entities nobody rejected are
    accepted, so they are the annotator's result, not predictions."""
    from reader.annotations import DONE

    root = tmp_path / "store"
    root.mkdir()
    export_cases.build_store(root)
    store = Store(root)
    try:
        ws = Workspace(store, model=export_cases.MODEL, annotator="alice")
        tasks = json.loads(export(ws, "labelstudio", "sentence", align="expand", annotator="alice").data)
        assert tasks and all(t["annotations"] for t in tasks)
        doc_id = tasks[0]["data"]["doc_id"]
        ws.store.write(doc_id, "alice", upsert=[{"id": "done", "kind": DONE, "annotator": "alice", "start": 0,
                                                 "end": 0, "created": "2026-03-09T10:00:00Z"}])
        done = [t for t in json.loads(export(ws, "labelstudio", "sentence", align="expand", annotator="alice").data)
                if t["data"]["doc_id"] == doc_id]
        assert len(done) > len([t for t in tasks if t["data"]["doc_id"] == doc_id])
        assert all(t["annotations"] and not t["predictions"] for t in done)
    finally:
        store.close()
