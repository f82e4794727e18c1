"""The app's screens, and what they ask of the app (`ReaderHost`): a protocol, since the app imports its screens
and imports run one way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    from textual.screen import Screen

    from reader.worklist import ReviewOptions
    from reader.workspace import Workspace


class ReaderHost(Protocol):
    """The part of `reader.ui.app.ReaderApp` screens use: its workspace and its navigation."""

    workspace: Workspace
    keymap: dict[str, str]
    review: ReviewOptions | None  # None unless the app reviews
    last_document: str | None
    kept: list[str]

    @property
    def progress_annotator(self) -> str: ...

    def open_document(self, doc_id: str, at: int | None = None, terms: Sequence[str] = ()) -> None: ...

    def document_screen(self, doc_id: str) -> Screen: ...

    def action_library(self) -> None: ...

    def check_writer(self) -> bool: ...

    def announce_damage(self) -> None: ...

    def text_field_takes(self) -> bool: ...
