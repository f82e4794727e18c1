"""Entity label sets (`--entity-labels FILE`): the labels analysts add and relabel entities with, in the sentence
label files' TOML format and read by their loader (`reader.labels`), so a bad file gets the same one-line errors.

Without the option the set is the model's four (`entity_labels.toml`), shown in help, while the pickers keep
guessing the model's scheme (`reader.session.entity_label_choices`) and any label is accepted, as before sets
existed. A set that is given is the team's word: the pickers offer its labels first (then any other label in
the document) and the command line refuses a label outside it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from reader.labels import COLOURS, LabelSet, load_labels

DEFAULT_ENTITY_LABELS = Path(__file__).with_name("entity_labels.toml")
ENTITY_TINTS = 11
"""Entity palette slots (`article-view--ent-N` in app.tcss): as many tints as stay ΔE 20 apart with readable text
on a dark page (tests/test_contrast.py); a twelfth label shares a tint."""
COLOUR_TINTS = {"blue": 0, "green": 1, "purple": 2, "yellow": 3, "orange": 4, "red": 5, "cyan": 6, "teal": 8,
                "grey": 9}
"""The tint a colour name asks for; 7 and 10 are taken by labels whose colour is already taken."""


@dataclass(frozen=True)
class EntityLabels:
    labels: LabelSet
    given: bool = False
    """From --entity-labels: the pickers offer these labels and the command line refuses others."""

    @property
    def names(self) -> list[str]:
        return self.labels.names

    def keys(self) -> dict[str, int]:
        """The picker's digit of each label that has one (the first nine, or the labels' own keys)."""
        return {lb.name: lb.key for lb in self.labels.labels if lb.key is not None}

    def choices(self, present: Iterable[str]) -> list[str]:
        """The picker's labels: the set's, then any other label in the document (a model's, an older set's)."""
        return list(dict.fromkeys([*self.names, *present]))

    def tints(self) -> dict[str, int]:
        """A palette slot per label, never two labels on one while slots last: a colour already taken (or none
        given: the loader then cycles through the colours) moves to the next free slot. Empty when no set was
        given, so the model's labels keep their usual tints."""
        if not self.given:
            return {}
        tints: dict[str, int] = {}
        for number, label in enumerate(self.labels.labels):
            wanted = COLOUR_TINTS[COLOURS[label.colour]]
            free = [t for t in range(ENTITY_TINTS) if t not in tints.values()]
            tints[label.name] = wanted if wanted in free else min(free, key=lambda t: (t < wanted, t)) if free \
                else number % ENTITY_TINTS
        return tints

    def refuse_unknown(self, label: str) -> str | None:
        """Why `label` cannot be used (a given set that lacks it), or None."""
        if self.given and label not in self.names:
            return f"{label!r} is not in the entity label set ({', '.join(self.names)}; see --entity-labels)"
        return None


def load_entity_labels(path: Path | None = None) -> EntityLabels:
    """The set in `path`, or the model's four when None; errors are `reader.labels.LabelError` lines."""
    return EntityLabels(load_labels(path or DEFAULT_ENTITY_LABELS), given=path is not None)
