"""spaCy DocBin (`.spacy`) for `spacy train`: one Doc per sentence (or document), `doc.ents` the non-rejected
entities without overlaps, every span in `doc.spans["sc"]`, `doc.cats` every label 0/1, the ids and notes in
`doc.user_data`.

The DocBin's arrays are filled directly, with the bytes `DocBin.add` would give for those Docs (a test reads
the DocBin back with spaCy and adds its Docs again): DocBin.add reads every token of a Doc back through Python
(nine strings each) and serialises its span groups and user data, which was most of the export's time. Here
each distinct word's row of attributes and its strings are computed once, from a one-token Doc (so the values
are spaCy's own), and a unit's rows are those rows plus its position-dependent columns (entity IOB and type,
sentence start).
"""

from __future__ import annotations

import contextlib
import itertools
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from reader.export.parallel import Peers
from reader.export.result import ExportError
from reader.export.tokens import Words, blank_vocab
from reader.export.units import Span, Unit, labels_of, notes_of


@dataclass
class Part:
    """Some units' share of a DocBin, in `DocBin.to_bytes`' terms: one row of attributes per token, trailing
    spaces, tokens per Doc, strings, and per Doc its cats, flags, span groups and user data (serialised). Parts
    built by several processes are put together by `join`."""

    tokens: Any
    """uint64 (tokens, attributes), C order."""
    spaces: Any
    """bool (tokens,)."""
    lengths: list[int]
    strings: set[str]
    cats: list[dict[str, float]] = field(default_factory=list)
    flags: list[dict[str, bool]] = field(default_factory=list)
    span_groups: list[bytes] = field(default_factory=list)
    user_data: list[bytes] = field(default_factory=list)
    stream: Stream | None = field(default=None, repr=False)
    """The file being compressed, that this part's tokens went to already (only in the first chunk's
    process: it is never sent to another one)."""
    received: list[Any] | None = field(default=None, repr=False)
    """In the first chunk's process: every chunk's token array, as handed over (None for this one's, and
    for a chunk whose process failed first or has no units)."""
    handed: bool = False
    """The tokens went to the first chunk's process already: they are not sent again with the part."""

    @property
    def rows(self) -> int:
        return sum(self.lengths)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(vars(self))
        if self.handed:
            state["tokens"] = None
        return state


BATCH = 1 << 16
"""Token rows made at a time."""
FIRST_CHUNK = 0.7
"""The first chunk's length next to the others' (`reader.export.parallel.chunks`): its process also
compresses the whole file."""


class DocBinWriter:
    def __init__(self, docbin: Any, vocab: Any) -> None:
        from spacy.attrs import ENT_IOB, ENT_TYPE, SENT_START

        self.docbin = docbin
        self.vocab = vocab
        self.attrs = list(docbin.attrs)
        self.iob = self.attrs.index(ENT_IOB)
        self.type = self.attrs.index(ENT_TYPE)
        self.sent = self.attrs.index(SENT_START)
        self.rows: dict[str, int] = {}
        self.table: list[Any] = []
        self.hashes: dict[str, int] = {}
        self._documents: dict[int, Words] = {}
        self._word_rows: dict[int, list[int | None]] = {}
        """Per document (its Words), each word's row in `table`, where made already."""

    def _row(self, word: str) -> int:
        from spacy.tokens import Doc

        doc = Doc(self.vocab, words=[word], spaces=[False])
        token = doc[0]
        self.docbin.strings.update((token.text, token.tag_, token.lemma_, token.norm_, str(token.morph),
                                    token.dep_, token.ent_type_, token.ent_kb_id_, token.ent_id_))
        row = self.rows[word] = len(self.table)
        self.table.append(doc.to_array(self.attrs)[0])
        return row

    def _label(self, label: str) -> int:
        key = self.hashes.get(label)
        if key is None:
            key = self.hashes[label] = self.vocab.strings.add(label)
            self.docbin.strings.add(label)
        return key

    def part(self, units: list[Unit], labels: Callable[[], list[str]], peers: Peers | None = None) -> Part:
        """What `DocBin.add` of each unit's Doc puts in the DocBin, as one array per attribute (`join`).

        With `peers`, the chunks tell each other how many rows they have (cheap: which tokens cover each unit)
        and the other chunks hand their rows over as soon as they are made, so that the first chunk's process
        (`FIRST_CHUNK`: it has fewer documents) starts the file as soon as its own rows are made (`Stream`,
        whose header holds the total) and compresses every chunk's rows in turn while the chunks make their
        cats and user data: zlib's 0.4 s on the benchmark is then mostly hidden. That process makes its rows
        before it asks anything, the others ask as early as they can: it never waits for them."""
        import numpy
        import srsly

        plans = self._plan(units)
        rows = sum(len(plan) if words is None else plan[1] - plan[0] for words, plan in plans)
        sends = peers is not None and peers.sends
        if sends:
            universe = labels()
            peers.exchange(rows)  # type: ignore[union-attr]
        spans_of, tokens, spaces, lengths = self._tokens(units, plans, rows)
        part = Part(tokens, numpy.asarray(spaces, dtype=bool), lengths, self.docbin.strings)
        if sends:
            peers.exchange(tokens, partial=True)  # type: ignore[union-attr]
            part.handed = True
        else:  # the first chunk (or the only one): the file, and the others' rows
            universe = labels()
            counts = peers.exchange(rows) if peers else None
            part.stream = stream = Stream.start(counts) if counts else None
            if stream is not None:
                stream.add(tokens)
            part.received = peers.exchange(None, partial=True) if peers else None
            if stream is not None:
                stream.take(part.received or [])
        try:  # what srsly.msgpack_dumps does, with one Packer instead of one per call
            dumps = srsly.msgpack.Packer(use_bin_type=True).pack
        except AttributeError:
            dumps = srsly.msgpack_dumps
        self._rest(units, universe, spans_of, dumps, part)
        return part

    def _plan(self, units: list[Unit]) -> list[tuple[Words | None, Any]]:
        """Per unit, (its document's Words, (first token, after last)) when they cover it plainly, else
        (None, `Tokens.units` of it): how many rows each unit has, known before any row is made."""
        documents = self._documents
        plans: list[tuple[Words | None, Any]] = []
        for u in units:
            tokens = u.view.tokens
            words = documents.get(id(tokens))
            if words is None:
                words = documents[id(tokens)] = Words(tokens)
            span = words.cover(u.start, u.end)
            plans.append((words, span) if span is not None else (None, tokens.units(u.start, u.end)))
        return plans

    def _tokens(self, units: list[Unit], plans: list[tuple[Words | None, Any]], rows: int
                ) -> tuple[list[list], Any, list[bool], list[int]]:
        """(spans of each unit as (first token, after last, label hash, start, end), the token array, trailing
        spaces, tokens per unit). The array is filled BATCH rows at a time (short lists of row numbers)."""
        import numpy

        row_of, label_of, width = self._row, self._label, len(self.attrs)
        known = self.rows
        word_rows = self._word_rows
        tokens = numpy.empty((rows, width), dtype="uint64")
        table = numpy.empty((0, width), dtype="uint64")
        spaces: list[bool] = []
        lengths: list[int] = []
        spans_of: list[list] = []
        flat: list[int] = []
        """The rows (of `self.table`) of the batch being made, whose first row is `done` in the array."""
        firsts: list[int] = []
        marks: list[tuple[int, int, int]] = []
        """(token, IOB, type hash) of the batch's entity tokens (everything else is O)."""
        done = 0

        def flush() -> None:
            nonlocal table, done
            end = done + len(flat)
            if len(self.table) > len(table):
                table = numpy.concatenate([table, numpy.asarray(self.table[len(table):], dtype="uint64")])
            block = tokens[done:end]
            numpy.take(table, numpy.asarray(flat, dtype="intp"), axis=0, out=block)
            block[:, self.iob] = 2
            block[:, self.sent] = 0
            block[numpy.asarray(firsts, dtype="intp") - done, self.sent] = 1
            if marks:
                where = numpy.asarray([m[0] for m in marks], dtype="intp") - done
                block[where, self.iob] = [m[1] for m in marks]
                block[where, self.type] = numpy.asarray([m[2] for m in marks], dtype="uint64")
            done = end
            flat.clear()
            firsts.clear()
            marks.clear()

        for u, (words, plan) in zip(units, plans, strict=True):
            v = u.view
            o = u.start
            base = done + len(flat)
            if words is not None:
                lo, hi = plan
                doc_rows = word_rows.get(id(words))
                if doc_rows is None:  # each word's row, where known already: a unit's missing ones are made below
                    doc_rows = word_rows[id(words)] = [known.get(w) for w in words.words]
                found = doc_rows[lo:hi]
                if None in found:  # a row only for words in some Doc: DocBin keeps the strings of those only
                    for k in range(lo, hi):
                        if doc_rows[k] is None:
                            word = words.words[k]
                            doc_rows[k] = known[word] if word in known else row_of(word)
                    found = doc_rows[lo:hi]
                flat.extend(found)
                spaces.extend(words.spaces[lo:hi - 1])
                spaces.append(False)
                starts, ends = v.tokens.starts, v.tokens.ends
            else:
                text = v.doc.text
                flat.extend(known[w] if w in known else row_of(w) for w in (text[s:e] for s, e, _ in plan))
                spaces.extend(ws for _, _, ws in plan)
                starts, ends = [s for s, _, _ in plan], [e for _, e, _ in plan]
                lo, hi = 0, len(plan)
            if hi > lo:  # a unit without tokens has no first one
                firsts.append(base)
            lengths.append(hi - lo)
            spans = []
            for s in u.spans:
                i, j = bisect_left(starts, s.start, lo, hi), bisect_left(ends, s.end, lo, hi)
                if i == hi or starts[i] != s.start or j == hi or ends[j] != s.end or j < i:
                    # cannot happen after the alignment check
                    raise ExportError(f"internal error: span {s.start}-{s.end} of {v.doc.id} does not align")
                spans.append((i - lo, j - lo + 1, label_of(s.label), s.start - o, s.end - o))
            spans_of.append(spans)
            ents = spans
            if any(a[1] > b[0] for a, b in itertools.pairwise(spans)):  # sorted: overlaps are neighbours
                ents = without_overlaps(u.spans, spans, lambda x: x[0], lambda x: x[1])
            for i, j, key, _, _ in ents:
                marks.append((base + i, 3, key))
                marks.extend((base + k, 1, key) for k in range(i + 1, j))
            if len(flat) >= BATCH:
                flush()
        flush()
        return spans_of, tokens, spaces, lengths

    def _rest(self, units: list[Unit], universe: list[str], spans_of: list[list], dumps: Callable[[Any], bytes],
              docbin: Part) -> None:
        """Each unit's span group, cats, user data and flags, as DocBin.add serialises them."""
        import struct

        pack = struct.Struct(">QQQllll").pack
        empty = None
        cats: dict[tuple[str, ...], dict[str, float]] = {}
        flags = {"has_unknown_spaces": False}  # one dict: DocBin only serialises them
        for u, spans in zip(units, spans_of, strict=True):
            v = u.view
            if spans:
                group = dumps({"name": "sc", "attrs": {}, "spans": [pack(0, 0, key, i, j, a, b)
                                                                    for i, j, key, a, b in spans]})
                docbin.span_groups.append(dumps({group: ["sc"]}))
            else:
                if empty is None:
                    empty = dumps({dumps({"name": "sc", "attrs": {}, "spans": []}): ["sc"]})
                docbin.span_groups.append(empty)
            labels = tuple(labels_of(u))
            cat = cats.get(labels)
            if cat is None:  # one dict per label combination: DocBin only serialises them
                cat = cats[labels] = {name: 1.0 if name in labels else 0.0 for name in universe}
            docbin.cats.append(cat)
            docbin.user_data.append(dumps({"doc_id": v.doc.id, "sentence": u.index, "annotator": v.annotator,
                                           "notes": notes_of(u)}))
            docbin.flags.append(flags)


def bin_header(size: int) -> bytes:
    """The msgpack header of a `bin` value of `size` bytes (bin 8, 16 or 32: msgpack's spec), to write the
    bytes after it without copying them into a Packer."""
    if size < 1 << 8:
        return b"\xc4" + size.to_bytes(1, "big")
    if size < 1 << 16:
        return b"\xc5" + size.to_bytes(2, "big")
    return b"\xc6" + size.to_bytes(4, "big")


class Deflate:
    """`zlib.compress` of the chunks fed, computed in a thread as they come: the same bytes (deflate's output
    does not depend on how its input is cut; the tests compare with spaCy's own DocBin), while the caller
    goes on building the next chunk (zlib releases the GIL). Dropped without `result()` (an error on the
    way), its thread ends."""

    def __init__(self) -> None:
        import queue
        import threading
        import weakref
        import zlib

        self._queue: queue.SimpleQueue[bytes | memoryview | None] = queue.SimpleQueue()
        self._out: list[bytes | BaseException] = []
        self._thread = threading.Thread(target=_deflate, args=(self._queue, zlib.compressobj(), self._out),
                                        name="docbin-deflate", daemon=True)
        self._thread.start()
        weakref.finalize(self, self._queue.put, None)

    def feed(self, chunk: bytes | memoryview) -> None:
        self._queue.put(chunk)

    def result(self) -> bytes:
        self._queue.put(None)
        self._thread.join()
        for item in self._out:
            if isinstance(item, BaseException):
                raise item
        return b"".join(self._out)  # type: ignore[arg-type]


def _deflate(chunks: Any, compressor: Any, out: list) -> None:
    try:
        while (chunk := chunks.get()) is not None:
            out.append(compressor.compress(chunk))
        out.append(compressor.flush())
    except Exception as exc:  # handed to the caller by result()
        out.append(exc)
        while chunks.get() is not None:
            pass


def without_overlaps(states: list[Span], spans: list, first: Callable[[Any], int] = lambda s: s.start,
                     end: Callable[[Any], int] = lambda s: s.end) -> list:
    """Entities for doc.ents: reviewed spans first, then the longest, then the earliest; no two overlap.

    `first` and `end` read a span's token start and end."""
    ranked = sorted(zip(states, spans, strict=True),
                    key=lambda p: (p[0].status == "predicted", -(end(p[1]) - first(p[1])), first(p[1])))
    taken: set[int] = set()
    ents = []
    for _, span in ranked:
        tokens = range(first(span), end(span))
        if taken.isdisjoint(tokens):
            taken.update(tokens)
            ents.append(span)
    return sorted(ents, key=first)


@contextlib.contextmanager
def msgpack_lookups_cached() -> Iterator[None]:
    """Look srsly's msgpack encoders and decoders up once instead of on every call.

    srsly searches the whole catalogue registry and the package entry points on every msgpack call (about
    0.5 ms once spaCy is imported), and DocBin calls it three times per Doc, when adding and when reading:
    26,000 sentences took 30 s to serialise instead of 2. The registries do not change meanwhile; they are
    restored afterwards.
    """
    try:
        from srsly.msgpack import msgpack_decoders, msgpack_encoders
    except ImportError:  # another srsly: nothing to speed up
        yield
        return
    saved = []
    for registry in (msgpack_encoders, msgpack_decoders):
        found = registry.get_all()
        saved.append((registry, registry.__dict__.get("get_all")))
        registry.get_all = lambda found=found: found
    try:
        yield
    finally:
        for registry, previous in saved:
            if previous is None:
                del registry.get_all
            else:
                registry.get_all = previous


def write(units: list[Unit], labels: Callable[[], list[str]], unit: str, peers: Peers | None = None
          ) -> Part | None:
    """The units' share of the DocBin (None without units): see `join`."""
    if not units:
        return _no_units(labels, peers)
    from spacy.tokens import DocBin

    with msgpack_lookups_cached():
        writer = DocBinWriter(DocBin(store_user_data=True), blank_vocab())
        if peers:
            peers.keep(writer)
        return writer.part(units, labels, peers)


def _no_units(labels: Callable[[], list[str]], peers: Peers | None) -> Part | None:
    """A chunk without units exchanges what the others do; the first one takes the others' rows (an empty
    part carrying them), the others have no part."""
    import numpy

    labels()
    counts = peers.exchange(0) if peers else None
    received = peers.exchange(None, partial=True) if peers else None
    if not counts or not sum(counts):
        return None
    part = Part(numpy.empty((0, 0), dtype="uint64"), numpy.empty(0, dtype=bool), [], set(), received=received)
    part.stream = Stream.start(counts)
    if part.stream is not None:
        part.stream.take(received or [])
    return part


def join(parts: list[Part | None]) -> bytes:
    """The `.spacy` file of the parts (one per chunk, in order): `zlib.compress(msgpack(msg))` of
    `DocBin.to_bytes`' msg (the tests hold the bytes to spaCy's own), compressed as it is made (`Stream`)."""
    from spacy.tokens import DocBin

    found = [p for p in parts if p is not None]
    if not found:
        return DocBin(store_user_data=True).to_bytes()
    lead = parts[0]
    received = (lead.received if lead is not None else None) or [None] * len(parts)

    def tokens(k: int) -> Any:
        part = parts[k]
        array = part.tokens if part is not None and not part.handed else received[k]
        if array is None and part is not None and part.rows:
            raise ExportError(f"internal error: the tokens of chunk {k + 1} are missing")
        return array

    counts = [0 if p is None else p.rows for p in parts]
    stream = lead.stream if lead is not None else None
    if stream is None or stream.counts != counts:  # it cannot hold what was made: a new one
        stream = Stream.start(counts)
        if stream is None:
            return _spacy_join([p for p in parts if p is not None], [tokens(k) for k, p in enumerate(parts) if p])
    for k in range(stream.fed, len(parts)):
        array = tokens(k)
        if array is not None:
            stream.add(array)
    stream.fed = len(parts)
    return stream.finish(found)


class Stream:
    """The `.spacy` file compressed as it is made: `DocBin.to_bytes`' msg, key by key, to a `Deflate`. The
    token arrays go after their msgpack bin header as they are in memory, one chunk after the other (no copy
    of the 50 MB of tokens of the benchmark), as soon as every chunk has counted its rows; the rest once every
    part is in."""

    def __init__(self, counts: list[int], packer: Any, docbin: Any) -> None:
        self.counts = counts
        self.fed = 0
        """Chunks whose rows are all in (then those of the next chunk go in)."""
        self.pack = packer.pack
        self.deflate = Deflate()
        width = len(docbin.attrs)
        self.deflate.feed(packer.pack_map_header(len(_DOCBIN_MSG)) + self.pack("version") + self.pack(docbin.version)
                          + self.pack("attrs") + self.pack(docbin.attrs) + self.pack("tokens")
                          + bin_header(sum(counts) * width * 8))

    @classmethod
    def start(cls, counts: list[int]) -> Stream | None:
        """The file of chunks with `counts` rows each; None when srsly or spaCy is not the one this mirrors
        (then spaCy serialises: `_spacy_join`)."""
        import srsly
        from spacy.tokens import DocBin

        docbin = DocBin(store_user_data=True)
        try:
            packer = srsly.msgpack.Packer(use_bin_type=True)
        except AttributeError:
            return None
        if list(vars(docbin)) != _DOCBIN_FIELDS or docbin.version != "0.1":
            return None
        return cls(list(counts), packer, docbin)

    def add(self, rows: Any) -> None:
        """Token rows, after those fed before (the caller's chunk is `fed`'s)."""
        import numpy

        if len(rows):
            self.deflate.feed(memoryview(numpy.ascontiguousarray(rows)).cast("B"))

    def take(self, received: list[Any]) -> None:
        """The first chunk's rows being in, the next chunks' as handed over, as far as none is missing."""
        self.fed = 1
        for array in received[1:]:
            if array is None and self.counts[self.fed]:
                return
            if array is not None:
                self.add(array)
            self.fed += 1

    def finish(self, parts: list[Part]) -> bytes:
        """The rest of the msg, from all the parts (whose tokens are in), and the compressed file."""
        import numpy

        pack = self.pack
        spaces = numpy.concatenate([p.spaces for p in parts]) if len(parts) > 1 else parts[0].spaces
        self.deflate.feed(pack("spaces") + bin_header(spaces.nbytes))
        self.deflate.feed(memoryview(numpy.ascontiguousarray(spaces)).cast("B"))
        lengths = numpy.asarray([n for p in parts for n in p.lengths], dtype="int32")
        self.deflate.feed(pack("lengths") + bin_header(lengths.nbytes) + lengths.tobytes("C"))
        self.deflate.feed(pack("strings") + pack(sorted(set().union(*(p.strings for p in parts)))))
        for key in _DOCBIN_MSG[6:]:
            self.deflate.feed(pack(key) + pack([item for p in parts for item in getattr(p, key)]))
        return self.deflate.result()


def _spacy_join(parts: list[Part], tokens: list[Any]) -> bytes:
    """The parts (with their `tokens`) in a DocBin serialised by spaCy itself: slower, for a spaCy or srsly
    this does not know."""
    import numpy
    from spacy.tokens import DocBin

    docbin = DocBin(store_user_data=True)
    for p, array in zip(parts, tokens, strict=True):
        cuts = list(itertools.accumulate(p.lengths))[:-1]
        if p.lengths:
            docbin.tokens.extend(numpy.split(array, cuts))
            docbin.spaces.extend(numpy.split(p.spaces.reshape((-1, 1)), cuts))
        docbin.strings.update(p.strings)
        for key in _DOCBIN_MSG[6:]:
            getattr(docbin, key).extend(getattr(p, key))
    return docbin.to_bytes()


_DOCBIN_MSG = ("version", "attrs", "tokens", "spaces", "lengths", "strings", "cats", "flags", "span_groups",
               "user_data")
"""The keys of `DocBin.to_bytes`' msg, in order (with `store_user_data`)."""
_DOCBIN_FIELDS = ["version", "attrs", "tokens", "spaces", "cats", "span_groups", "user_data", "flags", "strings",
                  "store_user_data"]
"""DocBin's attributes in spaCy 3.8, whose `to_bytes` `Stream` mirrors: another DocBin is left to spaCy."""
