"""Re-anchoring: moving annotations onto the edited text of an article re-imported from the same source.

An exact quote search loses every annotation whose own text was touched (a typo fixed inside a tagged
sentence). So the old text is diffed against the new one (diff-match-patch) and each annotation's offsets are
carried through the diff: unchanged text keeps its exact quote; text moved elsewhere as a whole is found by its
quote; edited text keeps its place, now covering the edited text, while at least half of it is still there
(`SIMILAR`); deleted or rewritten text is lost, never moved onto a neighbour. Entity decisions and entity notes
are widened to whole words, as a decision is matched to the model's entity by its offsets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import NamedTuple

from diff_match_patch import diff_match_patch

from reader.analysis import trim_space
from reader.annotations import CONTEXT, DISMISSAL, Annotation, Quote, dismissal_id, entity_id, quote_at, tag_id

SIMILAR = 0.5
"""How much of an edited annotation's text must remain (2 x kept / (old + new length), as difflib's ratio)."""

_EQUAL, _DELETE, _INSERT = diff_match_patch.DIFF_EQUAL, diff_match_patch.DIFF_DELETE, diff_match_patch.DIFF_INSERT


def reanchor(annotations: Iterable[Annotation], old_text: str, new_text: str
             ) -> tuple[list[Annotation], list[Annotation]]:
    """Move annotations of `old_text` onto `new_text`: (re-anchored, lost). Document notes move as they are."""
    diffs = _diff(old_text, new_text)
    moved: list[Annotation] = []
    lost: list[Annotation] = []
    for ann in annotations:
        if ann.kind == "note" and ann.target == "document":
            moved.append(ann)
            continue
        span = _locate(ann, old_text, new_text, diffs)
        if span is None:
            lost.append(ann)
        else:
            moved.append(_moved(ann, new_text, *span))
    return moved, lost


class _Diffs(NamedTuple):
    exact: list[tuple[int, str]]
    """The character diff, which maps offsets: its equalities keep a sentence's full stop where it is, even when
    the words on both sides of it changed."""
    words: list[tuple[int, str]]
    """The same cleaned up to whole words (`diff_cleanupSemantic`), which says how much of a text is kept: a
    rewritten sentence shares scattered letters with its replacement, not words."""


def _diff(old_text: str, new_text: str) -> _Diffs:
    dmp = diff_match_patch()  # Diff_Timeout 1 s: texts that different (nothing kept) cost at most that
    exact = dmp.diff_main(old_text, new_text)
    words = list(exact)
    dmp.diff_cleanupSemantic(words)
    return _Diffs(exact, words)


def _locate(ann: Annotation, old_text: str, new_text: str, diffs: _Diffs) -> tuple[int, int] | None:
    """The annotation's span in the new text, or None when its text is gone."""
    quote = ann.quote
    exact = quote.exact
    if not exact:
        return None
    start, end = ann.start, ann.end
    if old_text[start:end] != exact:  # offsets not into this text (a record from elsewhere): trust the quote
        found = find_quote(quote, start, old_text)
        if found is None:
            return _anywhere(quote, start, new_text)
        start, end = found, found + len(exact)
    new_start, new_end = map_start(diffs.exact, start), map_end(diffs.exact, end)
    if new_text[new_start:new_end] == exact:
        return new_start, new_end
    # The diff may align the unchanged words with an inserted copy of them: the exact quote close by wins.
    near = find_quote(quote, new_start, new_text, new_start - len(exact), new_end + len(exact))
    if near is not None:
        return near, near + len(exact)
    anywhere = _anywhere(quote, new_start, new_text)  # moved as a whole (a paragraph put elsewhere)
    if anywhere is not None:
        return anywhere
    if ann.kind == "entity" or ann.target == "entity":
        new_start, new_end = _words(new_text, new_start, new_end)
    else:
        new_start, new_end = trim_space(new_text, new_start, new_end)
    if new_end > new_start and 2 * kept(diffs.words, start, end) / (len(exact) + new_end - new_start) >= SIMILAR:
        return new_start, new_end
    return None


def _anywhere(quote: Quote, hint: int, text: str) -> tuple[int, int] | None:
    """The exact quote elsewhere in the text (a paragraph moved as a whole), when that is evidence enough: a
    quote as long as a sentence, or a short one (a name) whose context came along, not the same name in
    another sentence."""
    found = _best(quote, hint, text)
    if found is None:
        return None
    score, position = found
    if len(quote.exact) < CONTEXT and 2 * score < len(quote.prefix) + len(quote.suffix):
        return None
    return position, position + len(quote.exact)


def _moved(ann: Annotation, text: str, start: int, end: int) -> Annotation:
    """The annotation at its new offsets, with its new quote, and the id those offsets give (tags, dismissals
    and entity decisions are one record per span: the session and adjudication find them by that id)."""
    ident = ann.id
    if ann.kind == "tag":
        ident = tag_id(start, end, ann.label)
    elif ann.kind == DISMISSAL:
        ident = dismissal_id(start, end, ann.label)
    elif ann.kind == "entity":
        ident = entity_id(start, end)
    return replace(ann, id=ident, start=start, end=end, quote=quote_at(text, start, end))


def map_start(diffs: Sequence[tuple[int, str]], start: int) -> int:
    """Where a span starting at old offset `start` starts in the new text: text inserted just before it is
    not part of it (diff-match-patch's own `diff_xIndex`)."""
    return diff_match_patch().diff_xIndex(diffs, start)


def map_end(diffs: Sequence[tuple[int, str]], end: int) -> int:
    """Where a span ending at old offset `end` ends in the new text: text inserted just after it is not part
    of it, unless it replaces the span's own last characters."""
    old = new = 0
    for i, (op, text) in enumerate(diffs):
        if op == _EQUAL:
            if old + len(text) >= end:
                return new + end - old
            old += len(text)
            new += len(text)
        elif op == _DELETE:
            old += len(text)
            if old >= end:
                if i + 1 < len(diffs) and diffs[i + 1][0] == _INSERT:
                    new += len(diffs[i + 1][1])
                return new
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
    """(characters of context that match, position) of `find_quote`'s occurrence."""
    if not quote.exact:
        return None
    lo = max(0, lo)
    hi = len(text) if hi is None else hi
    best: tuple[int, int] | None = None
    position = text.find(quote.exact, lo, hi)
    while position != -1:
        before = text[max(0, position - len(quote.prefix)) : position]
        after = text[position + len(quote.exact) : position + len(quote.exact) + len(quote.suffix)]
        score = _common_suffix(before, quote.prefix) + _common_prefix(after, quote.suffix)
        if best is None or (score, -abs(position - hint)) > (best[0], -abs(best[1] - hint)):
            best = (score, position)
        position = text.find(quote.exact, position + 1, hi)
    return best


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _common_suffix(a: str, b: str) -> int:
    return _common_prefix(a[::-1], b[::-1])
