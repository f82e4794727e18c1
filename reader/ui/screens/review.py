"""The review screen: a reading screen whose annotations are gold's, plus keys that step through the items
where annotators differ and take a version. `reader.adjudication` decides what an item is and what a decision
writes, so this screen and `reader merge` cannot disagree."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import replace
from functools import partialmethod
from typing import TYPE_CHECKING, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Static

from reader.adjudication import merge_document, take, take_all, take_none, take_version
from reader.annotations import EntityState
from reader.store import StoreError
from reader.ui.keymap import bindings, keys_for
from reader.ui.screens.dialogs import Picker
from reader.ui.screens.reading import ALL_KINDS, AnalysisReady, ReadingScreen
from reader.ui.widgets.article_view import ArticleView
from reader.untrusted import visible
from reader.worklist import ReviewOptions, disputed, item_key, review_items

if TYPE_CHECKING:
    from reader.adjudication import DocumentItems, EntityItem, EntityVersion, Item, SentenceItem
    from reader.documents import Document
    from reader.session import AnnotationSession, Change


class ConflictView(ArticleView):
    """The article with `≠` (open) or `=` (decided) in a conflicting sentence's gutter; disputed entities styled."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"article-view--conflict", "article-view--conflict-open",
                                             "article-view--conflict-decided"}
    conflict_sentences: dict[int, bool] = {}  # sentence -> holds an open conflict (replaced, never changed)
    conflict_spans: list[tuple[int, int]] = []  # entity items under dispute, sorted

    def set_conflicts(self, sentences: dict[int, bool], spans: list[tuple[int, int]]) -> None:
        self.conflict_sentences = sentences
        self.conflict_spans = sorted(spans)
        self._changed()

    def _gutter(self, sentence: int, row: int, is_cursor: bool, base: Style) -> list[Segment]:
        out = super()._gutter(sentence, row, is_cursor, base)
        state = self.conflict_sentences.get(sentence) if row == 0 else None
        if state is not None:
            note = "✎" if sentence in self.notes else " "
            style = base + self._style("conflict-open" if state else "conflict-decided")
            out[1:2] = [Segment("≠" if state else "=", style), Segment(note, base + self._style("note"))]
        return out

    def _ranges(self, start: int, end: int, is_cursor: bool, c_start: int, c_end: int) -> list:
        ranges = super()._ranges(start, end, is_cursor, c_start, c_end)
        spans = self.conflict_spans  # disjoint (items are groups of overlapping spans) and sorted
        i = max(0, bisect_left(spans, (start, start)) - 1)
        while i < len(spans) and spans[i][0] < end:
            s, e = spans[i]
            if e > start:
                ranges.append((max(start, s), min(end, e), self._style("conflict")))
            i += 1
        return ranges


class VersionPicker(Picker):
    """Whose version to take, the most common one highlighted; Enter or the annotator's number takes it."""

    BINDINGS: ClassVar = [*Picker.BINDINGS, *(Binding(str(n), f"pick({n})", show=False) for n in range(1, 10))]

    def __init__(self, title: str, rows: list[tuple[str, str]], preferred: str | None = None) -> None:
        width = max((len(name) for name, _ in rows), default=0)
        numbered = list(enumerate(rows, 1))
        super().__init__(title, [(name, f"{n} {name:<{width}}  {text}") for n, (name, text) in numbered], preferred,
                         "Enter or 1-9 takes it · Esc cancels", {name: n for n, (name, _) in numbered})


class ReviewScreen(ReadingScreen):
    """One document under review: gold's annotations and the versions of the item under the cursor."""

    SCOPE = "review"
    BINDINGS = bindings("review")
    ARTICLE_VIEW = ConflictView
    FOOTER_HIDDEN = frozenset({"reader.search", "reader.library"})  # room for the review keys below `NARROW`

    def __init__(self, doc: Document, options: ReviewOptions | None = None) -> None:
        super().__init__(doc)
        self.options = options or ReviewOptions()
        self.items: DocumentItems | None = None
        self.conflicts: list[Item] = []
        self._sentence_items: dict[int, SentenceItem] = {}
        self._entity_items: dict[int, list[EntityItem]] = {}

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if widget.id == "status":
                yield Static(id="versions")
            yield widget

    def header_lead(self) -> tuple[str, ...]:
        return (f"review → {self.options.into}",)

    @property
    def active_bindings(self) -> dict:
        active = super().active_bindings
        if self.size.width >= self.NARROW:
            return active
        return {key: a._replace(binding=replace(a.binding, show=False)) if a.binding.id in self.FOOTER_HIDDEN else a
                for key, a in active.items()}

    @property
    def session(self) -> AnnotationSession:
        return self.reader_app.workspace.session(self.doc, self.options.into)

    def on_analysis_ready(self, message: AnalysisReady) -> None:
        """Once the reading screen took the sentences: merge what the rule settles, go to the first open conflict."""
        message.prevent_default()
        super().on_analysis_ready(message)
        if message.doc_id != self.doc.id or self.store_problem:
            return
        self.merge_agreed()
        self.refresh_marks()
        first = next((i for i in self.conflicts if i.gold is None), self.conflicts[0] if self.conflicts else None)
        if first is not None:
            self.go_to(first)
        self.update_status()

    def merge_agreed(self) -> None:
        """Write into gold what the rule settles, as `reader merge` does (one undo step)."""
        items = self.load_items()
        if not items.annotators or self.reader_app.workspace.read_only:
            return
        try:
            result = merge_document(self.reader_app.workspace, self.doc.id, self.options.rule,
                                    self.options.annotators, self.options.into, session=self.session, items=items)
        except StoreError as exc:
            self.not_saved(exc)
            return
        if result.written:
            self.saved_status = f"✓ saved: merge ({self.options.rule}): {result.agreed} agreed items"

    def load_items(self) -> DocumentItems:
        """Read the items again after every gold write: what gold decided changes them."""
        assert self.analysis is not None
        items = review_items(self.reader_app.workspace, self.doc.id, self.analysis, self.options)
        self.items = items
        self.conflicts = disputed(items, self.options)
        self._sentence_items = {i.index: i for i in items.sentence_items}
        self._entity_items = {}
        for item in items.entity_items:
            if item.sentence is not None:
                self._entity_items.setdefault(item.sentence, []).append(item)
        return items

    def refresh_marks(self, kinds=ALL_KINDS, sentences=None, *, usable: bool | None = None) -> None:
        """Gold's marks, plus spans only some annotator has (`proposed`), so the cursor can reach them."""
        view = self.view
        was = view.current_mark
        if self.analysis is not None and not self.store_problem:
            self.load_items()
        super().refresh_marks(kinds, sentences, usable=usable)
        if self.items is None:
            return
        if "entity" in kinds:
            have = {(e.start, e.end) for e in self.entities}
            spans = [span for item in self.conflicts if item.kind == "entity" for version in item.versions.values()
                     for span in sorted(version.spans)]
            proposed = {(s, e): label for s, e, label in reversed(spans) if (s, e) not in have}  # the first label
            if proposed:
                extra = [EntityState(s, e, label, "proposed", label) for (s, e), label in proposed.items()]
                self.show_entities(sorted([*self.entities, *extra], key=lambda x: (x.start, x.end)))
            if was is not None:  # the entity cursor stays on the same span when marks come and go
                index = next((i for i, m in enumerate(view.marks) if (m.start, m.end) == (was.start, was.end)), None)
                view.entity_cursor = index
        sentences_state: dict[int, bool] = {}
        for item in self.conflicts:
            index = item.index if item.kind == "sentence" else item.sentence
            if index is not None:
                sentences_state[index] = sentences_state.get(index, False) or item.gold is None
        view.set_conflicts(sentences_state, [(i.start, i.end) for i in self.conflicts if i.kind == "entity"])

    def item_here(self) -> Item | None:
        """The item holding the entity cursor's entity, else the sentence's (a conflict first, labels first)."""
        view = self.view
        index = view.cursor
        entity_items = self._entity_items.get(index, [])
        mark = view.current_mark
        if mark is not None:
            return next((i for i in entity_items if i.start < mark.end and mark.start < i.end), None)
        sentence = self._sentence_items.get(index)
        candidates = ([sentence] if sentence else []) + entity_items
        return next((i for i in candidates if i in self.conflicts), candidates[0] if candidates else None)

    def conflict_index(self, item: Item | None) -> int | None:
        return self.conflicts.index(item) if item in self.conflicts else None

    def go_to(self, item: Item) -> None:
        view = self.view
        if item.kind == "sentence":
            view.move_to_sentence(item.index)
            return
        mark = next((n for n, m in enumerate(view.marks) if item.start <= m.start and m.end <= item.end), None)
        if mark is not None:
            view.move_to_mark(mark)
        elif item.sentence is not None:
            view.move_to_sentence(item.sentence)

    def status_parts(self) -> list[tuple[int, str]]:
        if self.items is None:
            return []
        total = len(self.conflicts)
        if not total:
            return [(2, "no conflict" + (f" on {self.options.label}" if self.options.label else ""))]
        here = self.conflict_index(self.item_here())
        open_ = sum(i.gold is None for i in self.conflicts)
        return [(2, f"conflict {'–' if here is None else here + 1}/{total}"),
                (4, f"{open_} open" if open_ else "all decided")]

    def update_status(self) -> None:
        """The status line, and the versions of the item under the cursor above it."""
        super().update_status()
        if (panel := self.query_one_optional("#versions", Static)) is not None:
            panel.update(self.versions_panel())

    def versions_panel(self) -> Content:
        if self.items is None:
            return Content("Versions appear once the sentences are analysed." if self.analysis is None
                           else "No annotator's work to compare.")
        item = self.item_here()
        keys = self.app.keymap
        if item is None:
            return Content(f"No disagreement here · {keys_for(keys, 'reader.next-conflict')} next conflict, "
                           f"{keys_for(keys, 'reader.prev-conflict')} previous" if self.conflicts else
                           "The annotators agree on everything here.")
        here = self.conflict_index(item)
        state = "agreed" if here is None else f"conflict {here + 1}/{len(self.conflicts)}"
        what = f"Sentence {item.index + 1}" if item.kind == "sentence" else \
            f"Entity {self.quote(item.start, item.end, 40)}"
        rows = [(f"{n} ", name, self.version_text(item, v)) for n, (name, v) in enumerate(item.versions.items(), 1)]
        rows.append(("→ ", self.options.into, None if item.gold is None else self.version_text(item, item.gold)))
        width = max(len(name) for _, name, _ in rows)
        return Content("\n").join([Content.assemble((visible(f"{what} · {state}", one_line=True), "bold")), *(
            Content.assemble((lead, "dim"), (f"{visible(name, one_line=True):<{width}}", "bold"), "  ",
                             ("not decided", "italic") if text is None else visible(text, one_line=True))
            for lead, name, text in rows)])

    def quote(self, start: int, end: int, cells: int = 30) -> str:
        """A span's words in quotes, cut with `…` after `cells` characters."""
        words = " ".join(self.doc.text[start:end].split())
        return f"“{words[:cells]}{'…' if len(words) > cells else ''}”"

    def version_text(self, item: Item, version) -> str:
        return (", ".join(sorted(version)) or "no label") if item.kind == "sentence" else self.describe(version)

    def describe(self, version: EntityVersion) -> str:
        """An entity version as a line: each span and how it came to be, then what was rejected."""
        how = {(s, e): "accepted" for s, e, _ in version.accepted}
        how |= {(s, e): "added" for s, e, _ in version.added}
        how |= {(s, e): f"relabelled from {was}" for s, e, was, _ in version.relabelled}
        parts = [f"{label} {self.quote(s, e)} {how.get((s, e), '(model)')}" for s, e, label in sorted(version.spans)]
        parts += [f"rejected {label} {self.quote(s, e)}" for s, e, label in version.rejected]
        return " · ".join(parts) or "no entity"

    def review_item(self) -> Item | None:
        item = self.item_here()  # None until the items are read
        if item is None and self.items is None:
            self.needs_sentences()
        elif item is None:
            self.notify(f"No item where annotators differ here: {keys_for(self.app.keymap, 'reader.next-conflict')}"
                        " goes to the next conflict.", severity="warning")
        return item

    def step(self, delta: int) -> None:
        if self.items is None:
            self.needs_sentences()
            return
        if not self.conflicts:
            self.notify("No conflict to review" + (f" on {self.options.label}." if self.options.label else "."))
            return
        item = self.item_here()
        mark = self.view.current_mark
        start = self.view.sentences[self.view.cursor][0]
        key = item_key(item) if item is not None else (mark.start, 1, mark.end) if mark else (start, 0, start)
        keys = [item_key(c) for c in self.conflicts]  # in document order
        target = bisect_right(keys, key) if delta > 0 else bisect_left(keys, key) - 1
        if not 0 <= target < len(keys):
            self.notify(f"No conflict {'after' if delta > 0 else 'before'} this one ({len(keys)} in all).")
            return
        self.go_to(self.conflicts[target])
        self.update_status()

    action_next_conflict = partialmethod(step, 1)
    action_prev_conflict = partialmethod(step, -1)

    def decide(self, operation, *args) -> Change | None:
        """A gold decision through `perform` (durable before `✓ saved`)."""
        change = self.perform(operation, *args)
        if change is None and not self.saved_status.startswith("✗"):
            self.notify("Gold already holds that version.", timeout=3)
        return change

    def action_take_version(self) -> None:
        item = self.review_item()
        if item is None:
            return
        rows = [(name, self.version_text(item, version)) for name, version in item.versions.items()]
        preferred = item.groups()[0][1][0] if item.versions else None
        what = f"sentence {item.index + 1}" if item.kind == "sentence" else self.quote(item.start, item.end, 40)

        def done(name: str | None) -> None:
            if name:
                self.decide(take, self.session, item, name)

        self.app.push_screen(VersionPicker(f"Take whose version of {what}?", rows, preferred), done)

    def action_take_all(self) -> None:
        item = self.review_item()
        if item is None:
            return
        if item.kind == "entity":
            labelled = {span for v in item.versions.values() for span in v.spans}
            if len(labelled) != len({(s, e) for s, e, _ in labelled}):
                self.notify("The versions give one span different labels, and gold keeps one label per span: "
                            f"take one version ({keys_for(self.app.keymap, 'reader.take-version')}).",
                            severity="warning")
                return
        self.decide(take_all, self.session, item)

    def action_take_none(self) -> None:
        item = self.review_item()
        if item is not None:
            self.decide(take_none, self.session, item)

    def toggle_label(self, label) -> None:
        """Through the adjudication, so a tag keeps `from` and the versions, and an emptied sentence is decided."""
        item = self._sentence_items.get(self.view.cursor)
        if item is None:
            super().toggle_label(label)
            return
        on = set(self.session.labels_on(item.index))
        name = label.name
        labels = on - {name} if name in on else {name} if self.session.labels.exclusive else on | {name}
        who = tuple(name for name, version in item.versions.items() if version == labels)
        self.perform(take_version, self.session, item, frozenset(labels), who)

    def decide_entity(self, entity: EntityState, status: str, label: str | None = None) -> None:
        """In an item under review, gold takes the item's version with the entity set to its label, or left out,
        naming who had that version."""
        item = next((i for i in self._entity_items.get(self.view.cursor, [])
                     if i.start <= entity.start and entity.end <= i.end), None)
        if item is None:  # in no item under review: the reading keys apply
            super().decide_entity(entity, status, label)
            return
        version = {(e.start, e.end, e.label) for e in self.entities
                   if item.start <= e.start and e.end <= item.end and e.status not in ("rejected", "proposed")
                   and (e.start, e.end) != (entity.start, entity.end)}
        if status != "rejected":
            version.add((entity.start, entity.end, label or entity.label))
        who = tuple(name for name, v in item.versions.items() if v.spans == version)
        self.decide(take_version, self.session, item, frozenset(version), who)
