"""The store, in three layers: `files` (atomic durable writes, the lock file, JSON in and out), `tinydb_storage`
(annotation files through TinyDB, the only module importing tinydb) and `store` (the `Store`: what goes where).

Everything the rest of reader uses is importable from here: `from reader.store import Store, StoreError`.
"""

from reader.store.errors import StoreCorrupt, StoreError, StoreReadOnly, UnknownDocument
from reader.store.files import atomic_write, bulk_reads, encode_record, fsync_dir
from reader.store.store import LOCK_FILE, LOCKS_FOLDER, SCHEMA, SCHEMA_FILE, Store, decode_name, encode_name
from reader.store.tinydb_storage import TABLE, AtomicJSONStorage, RecordDB, RecordTable

__all__ = [
    "LOCKS_FOLDER",
    "LOCK_FILE",
    "SCHEMA",
    "SCHEMA_FILE",
    "TABLE",
    "AtomicJSONStorage",
    "RecordDB",
    "RecordTable",
    "Store",
    "StoreCorrupt",
    "StoreError",
    "StoreReadOnly",
    "UnknownDocument",
    "atomic_write",
    "bulk_reads",
    "decode_name",
    "encode_name",
    "encode_record",
    "fsync_dir",
]
