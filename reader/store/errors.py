"""What can go wrong with the store, as exceptions whose messages are meant for the user as they are."""

from __future__ import annotations

from pathlib import Path


class StoreError(Exception):
    """Something the user must know about the store; the message is meant for them as is."""


class StoreCorrupt(StoreError):
    """A file that does not parse. It is never overwritten: the user repairs it or restores it from git."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path} is damaged ({reason}); it was left untouched: repair it or restore it "
                         "(for example from git)")


class UnknownDocument(StoreError):
    """No document (or more than one) answers to an id or prefix."""


class StoreReadOnly(StoreError):
    """A write on a store opened read-only, or open for writing in another process."""
