"""The reading screen's annotation keys: sentence tags, entity decisions, token selections, notes, undo."""

from __future__ import annotations

from bisect import bisect_left
from functools import partialmethod
from typing import TYPE_CHECKING

from textual.content import Content

from reader.annotations import DONE, AnnotationError
from reader.session import entity_label_choices
from reader.store import StoreError
from reader.ui.keymap import keys_for
from reader.untrusted import visible

if TYPE_CHECKING:
    from reader.annotations import EntityState
    from reader.labels import Label
    from reader.session import Change


class AnnotationActions:
    """Mixed into `ReadingScreen`: every change goes through `perform`, which writes through the session."""

    def perform(self, operation, *args, done: str = "saved") -> Change | None:
        """Says "saved" only once the store wrote it to disk; a failed write says so until a later one succeeds."""
        if self.reader_app.workspace.read_only:
            self.reader_app.check_writer()  # the other reader may have quit: then this write goes through
        if not self.check_annotations():
            self.notify(self.store_problem, severity="error", markup=False)
            return None
        try:
            change = operation(*args)
        except StoreError as exc:
            self.not_saved(exc)
            return None
        except AnnotationError as exc:
            self.notify(str(exc), severity="error", markup=False, timeout=8)
            return None
        if change is not None:
            self.saved_status = f"✓ {done}: {change.description}"
            self.refresh_marks(change.kinds, change.sentences, usable=True)  # checked above: once a keypress
        self.update_status()
        return change

    def not_saved(self, exc: StoreError) -> None:
        self.saved_status = "✗ not saved: " + " ".join(str(exc).split())
        self.notify(str(exc), title="Not saved", severity="error", markup=False, timeout=8)
        self.update_status()

    def needs_sentences(self) -> bool:
        if self.analysis is None:
            self.notify("Sentences are still being analysed; try again in a moment.", severity="warning")
            return False
        return True

    def action_tag(self, key: int) -> None:
        label = self.session.labels.by_key(key)
        if label is None:
            self.notify(f"No label on key {key} (see {keys_for(self.app.keymap, 'reader.help')} for the labels, "
                        f"{keys_for(self.app.keymap, 'reader.pick-label')} for the label picker).", severity="warning")
            return
        self.toggle_label(label)

    def toggle_label(self, label: Label) -> None:
        """Put the label on the sentence under the cursor, or take it off (a key or the label picker)."""
        if self.needs_sentences():
            self.perform(self.session.toggle_tag, self.view.cursor, label.name)

    def action_pick_label(self) -> None:
        """Every sentence label, the ones without a key (past the ninth) included; ✓ marks the sentence's."""
        if not self.needs_sentences():
            return
        from reader.ui.screens.dialogs import LabelPicker

        labels = self.session.labels
        index = self.view.cursor
        on = self.session.labels_on(index) if not self.store_problem else []

        def done(name: str | None) -> None:
            label = labels.get(name) if name else None
            if label is not None and self.view.cursor == index:
                self.toggle_label(label)

        keys = {lb.name: lb.key for lb in labels.labels if lb.key is not None}
        self.app.push_screen(LabelPicker(f"Label sentence {index + 1} (toggles)", labels.names, keys=keys,
                                         marked=on), done)

    def current_entity(self) -> EntityState | None:
        index = self.view.entity_cursor
        if index is not None and index < len(self.entities):
            return self.entities[index]
        self.notify(f"Move to an entity first ({keys_for(self.app.keymap, 'reader.next-entity')} / "
                    f"{keys_for(self.app.keymap, 'reader.prev-entity')}, or the side panel).", severity="warning")
        return None

    def decide_current_entity(self, status: str) -> None:
        if (entity := self.current_entity()) is not None:
            self.decide_entity(entity, status)

    action_accept_entity = partialmethod(decide_current_entity, "accepted")
    action_reject_entity = partialmethod(decide_current_entity, "rejected")

    def action_relabel_entity(self) -> None:
        entity = self.current_entity()
        if entity is None:
            return

        def done(label: str | None) -> None:
            if label:
                self.decide_entity(entity, "relabelled", label)

        surface = self.doc.text[entity.start:entity.end]
        self.app.push_screen(self.entity_picker(f"Label for “{surface}”", entity.label), done)

    def decide_entity(self, entity: EntityState, status: str, label: str | None = None) -> None:
        """The review screen decides gold's version instead (`ReviewScreen.decide_entity`)."""
        if status == "relabelled" and label == entity.label:  # the same label again keeps it (twice takes it back)
            self.notify(f"“{self.doc.text[entity.start:entity.end]}” stays {label}: nothing changed.",
                        timeout=4, markup=False)
        else:
            self.perform(self.session.decide, entity, status, label)

    def action_entity_all(self, action: str) -> None:
        """The same decision for every mention of the entity under the cursor in the document: one undo step."""
        entity = self.current_entity()
        if entity is None or not self.needs_sentences():
            return
        surface = " ".join(self.doc.text[entity.start:entity.end].split())
        if action != "relabel":
            self.decide_mentions(surface, action)
            return

        from reader.ui.screens.dialogs import LabelPicker

        def done(label: str | None) -> None:
            if label:
                self.decide_mentions(surface, action, label)

        self.app.push_screen(LabelPicker(f"Label for every “{surface}”", self.entity_labels(), entity.label), done)

    def decide_mentions(self, surface: str, action: str, label: str | None = None) -> None:
        predicted = {(e.start, e.end): e.label for e in self.analysis.entities}
        results = []

        def operation() -> Change | None:
            results.append(self.session.decide_mentions(surface, action, label, predicted=predicted,
                                                        tokens=self.analysis.tokens))
            return results[-1].change

        if self.perform(operation) is None and results:
            state = {"accept": "accepted", "reject": "rejected"}.get(action, f"{label}")
            self.notify(f"Every mention of “{surface}” is {state} already ({results[-1].unchanged}): nothing "
                        "changed.", timeout=4, markup=False)

    def entity_labels(self) -> list[str]:
        """A given --entity-labels set's labels, then the document's others; without one, the model's scheme."""
        present = [e.label for e in self.entities]
        labels = self.reader_app.workspace.entity_labels
        return labels.choices(present) if labels.given else entity_label_choices(present)

    def entity_picker(self, title: str, current: str | None = None):
        """The relabel/add picker: a set's labels on their own keys; without a set, the first nine on 1-9."""
        from reader.ui.screens.dialogs import LabelPicker

        labels = self.reader_app.workspace.entity_labels
        return LabelPicker(title, self.entity_labels(), current, keys=labels.keys() if labels.given else None)

    def action_extend(self, delta: int) -> None:
        if not self.needs_sentences():
            return
        tokens = self.analysis.tokens
        if not tokens:
            return
        if self.selection is None or self.view.selection is None:  # none yet, or the cursor moved away from it
            anchor = min(bisect_left(tokens, (self.selection_anchor(),)), len(tokens) - 1)
            self.selection = (anchor, anchor)
            self.view.clear_entity_cursor()  # from now on keys act on the selection, and the status says so
        else:
            anchor, head = self.selection
            self.selection = (anchor, max(0, min(len(tokens) - 1, head + delta)))
        first, last = sorted(self.selection)
        self.view.set_selection((tokens[first][0], tokens[last][1]))
        self.update_status()

    def selection_anchor(self) -> int:
        """Where a new selection starts: the current search match, else the entity, else the sentence."""
        view = self.view
        s_start, s_end = view.sentences[view.cursor]
        if view.match_index is not None:
            m_start = view.matches[view.match_index][0]
            if s_start <= m_start < s_end:
                return m_start
        if view.current_mark is not None:
            return view.current_mark.start
        return s_start

    def action_clear_selection(self) -> None:
        """Esc: drop the selection and the entity cursor, so the next note or decision is on the sentence."""
        self.selection = None
        self.view.set_selection(None)
        self.view.clear_entity_cursor()
        self.update_status()

    def action_add_entity(self) -> None:
        selected = self.view.selection
        if not selected:
            self.notify(f"Select tokens first: {keys_for(self.app.keymap, 'reader.extend-right')} / "
                        f"{keys_for(self.app.keymap, 'reader.extend-left')}.", severity="warning")
            return

        def done(label: str | None) -> None:
            if label and self.perform(self.session.add_entity, selected[0], selected[1], label):
                self.action_clear_selection()

        surface = self.doc.text[selected[0]:selected[1]]
        self.app.push_screen(self.entity_picker(f"Add “{surface}” as"), done)

    def action_note(self) -> None:
        if not self.needs_sentences():
            return
        mark = self.view.current_mark
        if mark is not None:
            target, start, end = "entity", mark.start, mark.end
        else:
            target, (start, end) = "sentence", self.view.sentences[self.view.cursor]
        self.edit_note(target, start, end)

    def action_document_note(self) -> None:
        self.edit_note("document", 0, 0)

    def edit_note(self, target: str, start: int, end: int) -> None:
        if not self.check_annotations():
            return
        existing = next((n for n in self.session.annotations("note")
                         if n.target == target and (target == "document" or (n.start, n.end) == (start, end))), None)
        context = "" if target == "document" else self.doc.text[start:end]
        from reader.ui.screens.dialogs import NoteEditor

        def save(run, text: str) -> None:
            if existing is not None:
                run(self.session.edit_note, existing.id, text)
            elif text.strip():
                run(self.session.add_note, target, start, end, text)

        def done(text: str | None) -> None:
            if text is not None:
                save(self.perform, text)

        def keep(text: str) -> None:
            """The app ends under the editor: save the draft as the note, without touching the screen."""
            if existing is None and not text.strip():
                return
            where = f"the note on the document {self.doc.id}"
            if target != "document":
                number = next((i for i, (s, e) in enumerate(self.view.sentences) if s <= start < e), None)
                where = (f"the note on the {target} in sentence {number + 1} of {self.doc.id}" if number is not None
                         else f"the note on the {target} of {self.doc.id}")
            try:
                save(lambda operation, *args: operation(*args), text)
            except (StoreError, AnnotationError) as exc:
                self.reader_app.kept.append(f"error: {where} was not saved: {' '.join(str(exc).split())}")
                return
            self.reader_app.kept.append(f"reader: saved the note you were writing ({where})")

        title = f"Note on the {target}" + (" (editing)" if existing else "")
        self.app.push_screen(NoteEditor(title, context, existing.text if existing else "", keep=keep), done)

    def action_notes_panel(self) -> None:
        if not self.check_annotations():
            return
        notes = self.session.annotations("note")
        items = []
        for note in notes:
            where = "document" if note.target == "document" else f"{note.target} · {self.doc.text[note.start:note.end]}"
            first = note.text.strip().splitlines()[0] if note.text.strip() else ""
            items.append((note.id, Content.assemble((visible(first[:60], one_line=True), "bold"),
                                                    ("  " + visible(where[:50], one_line=True), "dim"))))

        from reader.ui.screens.dialogs import NoteChoice, NotesList

        def done(choice: NoteChoice | None) -> None:
            note = next((n for n in notes if choice is not None and n.id == choice.note_id), None)
            if note is None:
                return
            if choice.action == "delete":
                self.perform(self.session.delete_note, note.id)
            elif choice.action == "edit":
                self.edit_note(note.target, note.start, note.end)
            elif note.target != "document":
                self.view.move_to_offset(note.start)

        self.app.push_screen(NotesList(items), done)

    def action_done(self) -> None:
        """Mark the document done for this annotator, or not done again: one undo step, as a tag."""
        change = self.perform(self.session.toggle_done)  # reads the file there, where a damaged one is reported
        if change is not None:
            self.notify(visible(f"Done: {self.doc.title}" if self.session.done else "Not done", one_line=True),
                        markup=False, timeout=3)

    def replay(self, step: str, done: str) -> None:
        """Undo or redo (`step`, a session method), then bring what it changed on screen."""
        if not getattr(self.session, f"can_{step}"):
            self.notify(f"Nothing to {step}.", timeout=3)
        else:
            self.show_change(self.perform(getattr(self.session, step), done=done))

    action_undo = partialmethod(replay, "undo", "undone")
    action_redo = partialmethod(replay, "redo", "redone")

    def show_change(self, change: Change | None) -> None:
        """The cursor on what came back: the analyst sees it."""
        if change is None or self.analysis is None:
            return
        records = [r for _, r in change.before + change.after
                   if r is not None and r.get("target") != "document" and r.get("kind") != DONE
                   and isinstance(r.get("start"), int)]
        if not records:
            return
        first = min(records, key=lambda r: (r["start"], r.get("end", r["start"])))
        view = self.view
        span = (first["start"], first.get("end"))
        entity = next((i for i, m in enumerate(view.marks) if (m.start, m.end) == span), None) \
            if first.get("kind") == "entity" else None
        if entity is not None:
            view.move_to_mark(entity)
        elif view.sentence_at(span[0]) == view.cursor:
            view.scroll_to_cursor()  # already there: only make sure it is on screen, keeping the entity cursor
        else:
            view.move_to_offset(span[0])
