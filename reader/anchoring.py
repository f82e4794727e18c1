"""Re-anchoring: moving annotations onto the edited text of an article re-imported from the same source. Offsets
are carried through a diff-match-patch diff, so an edit inside a tagged sentence keeps the tag; moved text is found
by its quote; text mostly rewritten (`SIMILAR`) or deleted is lost, never moved onto a neighbour. Entity spans are
widened to whole words, to line up with the model's."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from diff_match_patch import diff_match_patch

from reader.analysis import trim_space
from reader.annotations import CONTEXT, DISMISSAL, Annotation, Quote, dismissal_id, entity_id, quote_at, tag_id

SIMILAR = 0.5  # how much of an edited annotation's text must remain: 2 x kept / (old + new length), as difflib

_EQUAL, _DELETE, _INSERT = diff_match_patch.DIFF_EQUAL, diff_match_patch.DIFF_DELETE, diff_match_patch.DIFF_INSERT


def reanchor(annotations: Iterable[Annotation], old_text: str, new_text: str
             ) -> tuple[list[Annotation], list[Annotation]]:
    """Move annotations of `old_text` onto `new_text`: (re-anchored, lost). Document notes move as they are."""
    dmp = diff_match_patch()  # Diff_Timeout 1 s: texts that different (nothing kept) cost at most that
    exact = dmp.diff_main(old_text, new_text)  # maps offsets (a full stop stays in place when words around it change)
    words = list(exact)
    dmp.diff_cleanupSemantic(words)  # measures what is kept: a rewrite shares scattered letters, not words
    moved: list[Annotation] = []
    lost: list[Annotation] = []
    for ann in annotations:
        if ann.kind == "note" and ann.target == "document":
            moved.append(ann)
        elif (span := _locate(ann, old_text, new_text, exact, words)) is None:
            lost.append(ann)
        else:
            moved.append(_moved(ann, new_text, *span))
    return moved, lost


def _locate(ann: Annotation, old_text: str, new_text: str, exact_diff: list[tuple[int, str]],
            word_diff: list[tuple[int, str]]) -> tuple[int, int] | None:
    """The annotation's span in the new text, or None when its text is gone."""
    quote, exact, start, end = ann.quote, ann.quote.exact, ann.start, ann.end
    if not exact:
        return None
    if old_text[start:end] != exact:  # offsets not into this text (a record from elsewhere): trust the quote
        found = find_quote(quote, start, old_text)
        if found is None:
            return _anywhere(quote, start, new_text)
        start, end = found, found + len(exact)
    new_start, new_end = diff_match_patch().diff_xIndex(exact_diff, start), map_end(exact_diff, end)
    if new_text[new_start:new_end] == exact:
        return new_start, new_end
    # The diff may align the unchanged words with an inserted copy of them, or with the same sentence repeated
    # next to them: the exact quote close by (a copy and a separator away) wins.
    reach = len(exact) + 1
    if (near := find_quote(quote, new_start, new_text, new_start - reach, new_end + reach)) is not None:
        return near, near + len(exact)
    if (anywhere := _anywhere(quote, new_start, new_text)) is not None:  # moved as a whole (a paragraph)
        return anywhere
    if ann.kind == "entity" or ann.target == "entity":
        new_start, new_end = _words(new_text, new_start, new_end)
    else:
        new_start, new_end = trim_space(new_text, new_start, new_end)
    if new_end > new_start and 2 * kept(word_diff, start, end) / (len(exact) + new_end - new_start) >= SIMILAR:
        return new_start, new_end
    return None


def _anywhere(quote: Quote, hint: int, text: str) -> tuple[int, int] | None:
    """The exact quote elsewhere (a paragraph moved), when long enough or, if short (a name), with its context."""
    found = _best(quote, hint, text)
    if found is None or (len(quote.exact) < CONTEXT and 2 * found[0] < len(quote.prefix) + len(quote.suffix)):
        return None
    return found[1], found[1] + len(quote.exact)


def _moved(ann: Annotation, text: str, start: int, end: int) -> Annotation:
    """The annotation at its new offsets and quote, with the id those offsets give (one record per span)."""
    if ann.kind in ("tag", DISMISSAL):
        ident = (tag_id if ann.kind == "tag" else dismissal_id)(start, end, ann.label)
    else:
        ident = entity_id(start, end) if ann.kind == "entity" else ann.id
    return replace(ann, id=ident, start=start, end=end, quote=quote_at(text, start, end))


def map_end(diffs: Sequence[tuple[int, str]], end: int) -> int:
    """Where a span ending at old offset `end` ends in the new text: text inserted just after it is not part
    of it, unless it replaces the span's own last characters (`diff_xIndex` maps starts)."""
    old = new = 0
    for i, (op, text) in enumerate(diffs):
        if op == _EQUAL:
            if old + len(text) >= end:
                return new + end - old
            old += len(text)
            new += len(text)
        elif op == _DELETE:
            old += len(text)
            if old >= end:  # deleted up to the span's end: what replaces it belongs to the span
                return new + (len(diffs[i + 1][1]) if i + 1 < len(diffs) and diffs[i + 1][0] == _INSERT else 0)
        else:
            new += len(text)
    return new


def kept(diffs: Sequence[tuple[int, str]], start: int, end: int) -> int:
    """How many characters of old [start, end) the new text still has."""
    old = count = 0
    for op, text in diffs:
        if op == _INSERT:
            continue
        if op == _EQUAL:
            count += max(0, min(end, old + len(text)) - max(start, old))
        old += len(text)
        if old >= end:
            break
    return count


def _words(text: str, start: int, end: int) -> tuple[int, int]:
    """The span widened to whole words, so an edited entity still lines up with the model's tokens."""
    start, end = trim_space(text, start, end)
    while 0 < start < end and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while start < end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    return start, end


def find_quote(quote: Quote, hint: int, text: str, lo: int = 0, hi: int | None = None) -> int | None:
    """Where the exact quote is in text[lo:hi]: the occurrence whose context matches best, nearest `hint`."""
    found = _best(quote, hint, text, lo, hi)
    return None if found is None else found[1]


def _best(quote: Quote, hint: int, text: str, lo: int = 0, hi: int | None = None) -> tuple[int, int] | None:
    """(characters of context that match, position)."""
    exact, prefix, suffix = quote.exact, quote.prefix, quote.suffix
    found = []
    position = text.find(exact, max(0, lo), hi) if exact else -1
    while position != -1:
        before = text[max(0, position - len(prefix)) : position]
        after = text[position + len(exact) : position + len(exact) + len(suffix)]
        found.append((_common(before[::-1], prefix[::-1]) + _common(after, suffix), position))
        position = text.find(exact, position + 1, hi)
    return max(found, key=lambda item: (item[0], -abs(item[1] - hint)), default=None)


def _common(a: str, b: str) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
