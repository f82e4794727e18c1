"""The review worklist: which items of a document are still disputed, shared by `reader review` and its screen."""

from __future__ import annotations

from dataclasses import dataclass

from reader.adjudication import DocumentItems, Item, Rule, SentenceItem, document_items, resolve
from reader.adjudication import item_key as item_key  # the screen's order of items


@dataclass(frozen=True)
class ReviewOptions:
    """What `reader review` was asked for: into whom, by which rule, whose work (`--only`), which `--label`."""

    into: str = "gold"
    rule: Rule = "majority"
    annotators: tuple[str, ...] | None = None
    label: str | None = None


def concerns(item: Item, label: str) -> bool:
    """Whether an item's disagreement is about `label`, as `reader agree` counts it."""
    having = [label in (version if isinstance(item, SentenceItem) else {lb for _, _, lb in version.spans})
              for version in item.versions.values()]
    return any(having) and not all(having)


def disputed(items: DocumentItems, options: ReviewOptions) -> list[Item]:
    """The items the rule does not settle (decided by gold or not), in document order."""
    return [i for i in items.items() if not resolve(i, options.rule).settled
            and (options.label is None or concerns(i, options.label))]


def review_items(workspace, doc_id: str, analysis, options: ReviewOptions) -> DocumentItems:
    """Items on `analysis`, so the command line and the screen count the same conflicts whatever the pipeline."""
    parts = (analysis.model, (), (), analysis.sentences, [(e.start, e.end, e.label) for e in analysis.entities])
    return document_items(workspace, doc_id, options.annotators, options.into, parts=parts)
