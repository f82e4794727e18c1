"""The store: `files` (atomic writes, locks, JSON), `tinydb_storage` (annotation files) and `store` (what goes
where); everything the rest of reader uses is importable from here."""

from reader.store.errors import StoreCorrupt, StoreError, StoreReadOnly, UnknownDocument
from reader.store.files import atomic_write, encode_record, fsync_dir
from reader.store.store import SCHEMA_FILE, Store, decode_name, encode_name
from reader.store.tinydb_storage import TABLE, AtomicJSONStorage, RecordDB

__all__ = ["SCHEMA_FILE", "TABLE", "AtomicJSONStorage", "RecordDB", "Store", "StoreCorrupt", "StoreError",
           "StoreReadOnly", "UnknownDocument", "atomic_write", "decode_name", "encode_name", "encode_record",
           "fsync_dir"]
