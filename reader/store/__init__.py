"""The store: `files` (atomic writes, locks, JSON), `tinydb_storage` (annotation files) and `store` (what goes
where); everything the rest of reader uses is importable from here."""

from reader.store.errors import StoreCorrupt, StoreError, StoreReadOnly, UnknownDocument
from reader.store.files import atomic_write, encode_record, fsync_dir
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
    "decode_name",
    "encode_name",
    "encode_record",
    "fsync_dir",
]
