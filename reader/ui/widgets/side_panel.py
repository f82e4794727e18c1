"""Side panel: the entity legend and the list of the document's entities (grouped by surface and label)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.style import Style
from textual.widgets import OptionList, Static

from reader.ui.widgets.article_view import ArticleView, Mark
from reader.untrusted import visible


@dataclass(frozen=True)
class EntityGroup:
    text: str
    label: str
    mentions: tuple[int, ...]  # indexes into the view's marks, in document order


def group_marks(text: str, marks: Sequence[Mark]) -> list[EntityGroup]:
    """Mentions with the same surface and label, most frequent first."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, mark in enumerate(marks):
        if mark.status == "rejected":
            continue
        surface = visible(" ".join(text[mark.start : mark.end].split()), one_line=True)
        groups.setdefault((surface, visible(mark.label, one_line=True)), []).append(i)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[1][0]))
    return [EntityGroup(surface, label, tuple(idx)) for (surface, label), idx in ordered]


class EntityList(OptionList):
    """Entities of the document; Enter jumps to the next mention of the highlighted one."""

    @dataclass
    class Jump(Message):
        mark: int

    def __init__(self, **kwargs) -> None:
        super().__init__(markup=False, **kwargs)
        self.groups: list[EntityGroup] = []
        self._next_mention: dict[int, int] = {}

    def show(self, groups: list[EntityGroup], view: ArticleView) -> None:
        self.groups = groups
        self._next_mention = {}
        self.set_options(
            Content.assemble((f" {g.label:<4} ", Style.from_rich_style(view.mark_style(g.label))), " ", g.text,
                             (f"  ×{len(g.mentions)}" if len(g.mentions) > 1 else "", "dim"))
            for g in groups
        )

    def highlight_mark(self, mark: int | None) -> None:
        """Highlight the group of this mark (else the first), so Enter right after Tab jumps somewhere."""
        if not self.groups:
            return
        group = next((i for i, g in enumerate(self.groups) if mark in g.mentions), 0)
        self.highlighted = group
        mentions = self.groups[group].mentions
        if mark in mentions:  # not a rejected entity's, which no group lists
            self._next_mention[group] = (mentions.index(mark) + 1) % len(mentions)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        mentions = self.groups[event.option_index].mentions
        turn = self._next_mention.get(event.option_index, 0)
        self._next_mention[event.option_index] = (turn + 1) % len(mentions)
        self.post_message(self.Jump(mentions[turn]))


class SidePanel(Vertical):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.entity_list = EntityList(id="entity-list")

    def compose(self):
        yield Static(id="legend")

    def on_mount(self) -> None:
        """The list stays empty until the model answers: mounted after the first frame, so the text shows sooner
        (bench/README.md)."""
        self.call_after_refresh(self.mount_list)

    def mount_list(self) -> None:
        if not self.entity_list.is_attached:
            self.mount(self.entity_list)

    def show(self, text: str, marks: Sequence[Mark], view: ArticleView, status: str = "",
             groups: list[EntityGroup] | None = None) -> None:
        """`groups`: `group_marks(text, marks)` when the caller computed it already (off the UI thread)."""
        parts: list = []
        for label in sorted({m.label for m in marks}):
            parts += [(f" {label} ", Style.from_rich_style(view.mark_style(label))), " "]
        legend = Content.assemble(*parts) if parts else Content(status or "no entities")
        self.query_one("#legend", Static).update(legend)
        self.mount_list()
        self.entity_list.show(group_marks(text, marks) if groups is None else groups, view)
