"""Writer for the crash test: writes to a store in a loop until killed, announcing each operation.

Usage: python store_writer.py STORE FIRST_OP SEED [ANNOTATOR]. For every operation it prints `begin {json}`
before the call and `ack N` once the call has returned, flushing each line, so that the test knows exactly which
writes were acknowledged when the process was killed.

With ANNOTATOR it is one of several writers: it takes that annotator's lock (exit 3 when another process holds
it), writes only that annotator's files, and adds the same documents and analyses as every other writer (same
ids, same bytes) so that concurrent writers of one content-addressed file are exercised too.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reader.store import Store

DOCS = ["c0ffee000001", "c0ffee000002"]
ANNOTATORS = ["alice", "Bob Dylan/2"]
IDS = 400
"""Record ids are drawn from a bounded range so that upserts replace records and deletes find some."""


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def analysis(doc_id: str) -> dict:
    """The analysis every writer caches for a document: the same bytes whoever writes it."""
    return {"doc": doc_id, "tokens": list(range(400)), "model": "test@1"}


def operation(rng: random.Random, n: int, annotator: str | None = None) -> dict:
    if annotator is not None and n % 7 == 3:
        return {"n": n, "kind": "analysis", "doc": rng.choice(DOCS)}
    if n % 25 == 0:
        return {"n": n, "kind": "document", "record": {"id": f"d{n:011d}", "text": f"Texte {n}.",
                                                       "meta": {"source": f"crash-{n}.txt"}}}
    upsert = [{"id": f"tag:{rng.randrange(IDS)}", "v": n, "labels": [rng.choice("ABCDE")], "pad": "é" * 60}
              for _ in range(rng.randint(0, 3))]
    delete = [f"tag:{rng.randrange(IDS)}" for _ in range(rng.choice([0, 0, 1, 2]))]
    return {"n": n, "kind": "write", "doc": rng.choice(DOCS), "annotator": annotator or rng.choice(ANNOTATORS),
            "upsert": upsert or [{"id": f"tag:{rng.randrange(IDS)}", "v": n}], "delete": delete}


def main() -> None:
    root, n, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    annotator = sys.argv[4] if len(sys.argv) > 4 else None
    rng = random.Random(seed)
    store = Store(root, annotator=annotator)
    if store.read_only:
        say(f"locked {store.lock_holder}")
        sys.exit(3)
    for doc_id in DOCS:
        store.add_document({"id": doc_id, "text": "Une phrase. Une autre.", "meta": {"source": doc_id}})
    say("ready")
    while True:
        op = operation(rng, n, annotator)
        say("begin " + json.dumps(op))
        if op["kind"] == "document":
            store.add_document(op["record"])
        elif op["kind"] == "analysis":
            store.cache_analysis(op["doc"], "test@1", analysis(op["doc"]))
        else:
            store.write(op["doc"], op["annotator"], upsert=op["upsert"], delete=op["delete"])
        say(f"ack {n}")
        n += 1


if __name__ == "__main__":
    main()
