"""The kiosk's local store: SQLite (stdlib ``sqlite3``) in one file, ``kiosk.db``.

- ``meta``: key/value settings and sync state (credential, place, cursor, ...).
- one table per synced entity (``shared.sync.ENTITIES``): the record as JSON text
  keyed by its key, plus the few columns the decision looks records up by.
- ``outbox``: every scan, durable before its verdict is shown, until the server
  confirms it (accepted or duplicate); scans the server rejected stay, marked
  ``rejected`` with the reason, and are never sent again.
- ``visits`` (booth kiosks): every booth scan, written in the outbox row's
  transaction; the granted ones are the exposant's leads. A note edited later is
  sent again under the same scan id (the server updates the visit's notes).

WAL journal, ``synchronous=FULL``: a committed scan survives a power cut. A change
page is committed with ``synchronous=NORMAL`` (atomic, not fsynced: if a power
cut undoes it, its cursor goes with it and the page is pulled again). Each thread
gets its own connection (WAL lets the scanning thread read while the sync thread
applies a page); writes are short transactions (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import nacl.signing
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from shared import sealing
from shared.badge import public_ref, redacted_payload
from shared.decision import Direction
from shared.gcpause import gc_paused
from shared.signing import NO_KEYS, Keyring, key_record, public_keys_from_records
from shared.sync import ENTITIES, MAX_NOTES, ChangePage, Scan
from shared.text import text_problem
from shared.timefmt import as_utc, iso, parse_iso, utcnow

log = logging.getLogger(__name__)

DB_NAME = "kiosk.db"
#: 2: the ``visits`` table (booth leads); 3: no badge secrets (members without
#: badge ids, sent scans without their badge); 4: a scan's direction (``in`` or
#: ``out``). The schema script is idempotent, so an older store gets what it
#: lacks on opening (see :meth:`KioskStore._upgrade`).
SCHEMA_VERSION = 4

#: The meta keys (values are stored as text; see the typed accessors).
META_KEYS = (
    "server_url",
    "device_token",
    "kiosk_id",
    "kiosk_name",
    "event_id",
    "event_name",
    "mode",
    "room_id",
    "room_name",
    "pinned_session_id",
    "direction",
    "exposant_user_id",
    "cursor",
    "last_seq",
    "latest_seq",
    "last_sync_at",
    "last_attempt_at",
    "last_error",
    "clock_offset_ms",
    "revoked",
    "online",
    "badge_keys",
    "seal_key",
)

#: entity -> (table, primary key column)
TABLES: dict[str, tuple[str, str]] = {
    "event": ("events", "id"),
    "room": ("rooms", "id"),
    "session": ("sessions", "id"),
    "member": ("members", "user_id"),
    "revoked_badge": ("revoked_badges", "badge_id"),
    "session_access": ("session_access", "key"),
}
assert set(TABLES) == set(ENTITIES)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rooms (id TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    room_id TEXT,
    start_time TEXT,  -- UTC, fixed width (sortable): 2025-11-29T10:30:00.000000+00:00
    end_time TEXT,
    data TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_by_room ON sessions (room_id, start_time);
-- no badge id, no email: a kiosk holds nothing a badge can be made from (badges
-- are checked by their signature) and a booth learns a visitor's email only after
-- the visit has synced
CREATE TABLE IF NOT EXISTS members (
    user_id INTEGER PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revoked_badges (
    badge_id TEXT PRIMARY KEY,
    user_id INTEGER,
    data TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS session_access (key TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
    client_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    scanned_at TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    room_id TEXT,
    session_id TEXT,
    notes TEXT,
    decided_offline INTEGER NOT NULL,
    direction TEXT NOT NULL DEFAULT 'in' CHECK (direction IN ('in', 'out')),
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'rejected')),
    reject_reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_by_state ON outbox (state);
-- booth kiosks: every scan at the booth, written with its outbox row; the granted
-- ones are the exposant's leads (notes are edited here, and re-sent)
CREATE TABLE IF NOT EXISTS visits (
    client_id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    scanned_at TEXT NOT NULL,  -- UTC, fixed width (sortable), as sessions.start_time
    user_id INTEGER,
    badge_id TEXT,
    name TEXT,
    email TEXT,
    organisation TEXT,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    notes TEXT,
    payload TEXT NOT NULL,
    decided_offline INTEGER NOT NULL,
    notes_updated_at TEXT
);
CREATE INDEX IF NOT EXISTS visits_by_time ON visits (status, scanned_at);
"""


def _encode(data: object) -> str:
    """A record as compact JSON text (orjson: several times faster than json.dumps)."""
    return orjson.dumps(data).decode()


class Sealer:
    """Seals scanned payloads to the server's key (``shared.sealing``): one X25519
    key pair per run of the kiosk, its private half never written anywhere."""

    def __init__(self, server_public: bytes) -> None:
        private = x25519.X25519PrivateKey.generate()
        self.public = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        secret = private.exchange(x25519.X25519PublicKey.from_public_bytes(server_public))
        self._aead = ChaCha20Poly1305(sealing.session_key(secret, self.public, server_public))
        self.server_public = server_public

    def seal(self, client_id: str, payload: str) -> str:
        nonce = os.urandom(sealing.NONCE_BYTES)
        box = self._aead.encrypt(nonce, payload.encode("utf-8"), sealing.aad(client_id))
        return sealing.pack(self.public, nonce, box)


class StoreError(Exception):
    """The store cannot do what was asked (e.g. the kiosk is not provisioned)."""


class PageError(ValueError):
    """A change page that does not follow the protocol; nothing of it was applied."""


@dataclass(frozen=True, slots=True)
class PlaceConfig:
    """What the decision needs from ``meta``, read in one query."""

    event_id: str | None
    mode: str
    room_id: str | None
    pinned_session_id: str | None
    clock_offset_ms: int
    online: bool
    #: the way a door scans now: ``in`` (entries) or ``out`` (exits)
    direction: Direction = "in"


@dataclass(frozen=True, slots=True)
class PageResult:
    applied: int  # changes of known entities in the page (upserts + tombstones)
    upserts: int
    deletes: int
    skipped: int  # changes of unknown entities, ignored
    reset: bool
    cursor: str
    has_more: bool
    latest_seq: int = 0
    last_seq: int | None = None  # the page's highest seq
    server_time: str | None = None


@dataclass(frozen=True, slots=True)
class BoothVisit:
    """Who was scanned at the booth (as the store's member record named them)."""

    user_id: int | None
    badge_id: str | None
    name: str | None
    email: str | None
    organisation: str | None


#: the columns of :meth:`KioskStore.leads` rows, in order
VISIT_COLUMNS = (
    "client_id",
    "event_id",
    "scanned_at",
    "user_id",
    "badge_id",
    "name",
    "email",
    "organisation",
    "status",
    "reason",
    "notes",
    "decided_offline",
    "notes_updated_at",
)


def sortable_time(value: object) -> str | None:
    """An ISO instant as fixed-width UTC text (sorts like the instant), else None."""
    if isinstance(value, datetime):
        dt: datetime | None = as_utc(value)
    else:
        dt = parse_iso(value)  # type: ignore[arg-type]
    if dt is None:
        return None
    return dt.isoformat(timespec="microseconds")


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _member_key(key: str) -> int:
    """A member's key is a user id, in canonical decimal."""
    # the usual key, first: ASCII digits, no leading zero, within 64 bits
    if key.isascii() and key.isdigit() and len(key) < 19 and (key[0] != "0" or key == "0"):
        return int(key)
    try:
        value = int(key)
    except ValueError:
        value = None
    if value is None or str(value) != key or not -(2**63) <= value < 2**63:
        raise PageError(f"member key must be a user id, got {key!r}")
    return value


#: the WAL size (8 KB pages) past which a commit checkpoints, if nothing else did
AUTOCHECKPOINT_PAGES = 16384

#: fields of a member record a kiosk never stores
_MEMBER_SECRETS = frozenset({"badge_id", "email"})


def _member_rows(items: list[tuple[str, dict[str, Any]]]) -> list[tuple[int, str]]:
    """(user id, record text) of member upserts: the key in canonical decimal,
    the record never with a badge id or an email, whatever the server sent.
    One loop with its names bound locally: the first sync writes 100,000 of them."""
    dumps, secrets, out = orjson.dumps, _MEMBER_SECRETS, []
    append = out.append
    key = _member_key
    for k, d in items:
        if not secrets.isdisjoint(d):
            d = {f: v for f, v in d.items() if f not in secrets}
        append((key(k), dumps(d).decode()))
    return out


def _rows(entity: str, items: list[tuple[str, dict[str, Any]]]) -> list[tuple[Any, ...]]:
    """The parameters of the upserts of one entity (column order of :data:`_UPSERT`)."""
    enc = _encode
    if entity == "member":
        return _member_rows(items)  # type: ignore[return-value]
    if entity == "session":
        return [
            (
                k,
                _text(d.get("room_id")),
                sortable_time(d.get("start_time")),
                sortable_time(d.get("end_time")),
                enc(d),
            )
            for k, d in items
        ]
    if entity == "revoked_badge":
        return [
            (k, d.get("user_id") if type(d.get("user_id")) is int else None, enc(d))
            for k, d in items
        ]
    return [(k, enc(d)) for k, d in items]  # event, room, session_access


_UPSERT: dict[str, str] = {
    "event": "INSERT OR REPLACE INTO events (id, data) VALUES (?, ?)",
    "room": "INSERT OR REPLACE INTO rooms (id, data) VALUES (?, ?)",
    "session": (
        "INSERT OR REPLACE INTO sessions (id, room_id, start_time, end_time, data)"
        " VALUES (?, ?, ?, ?, ?)"
    ),
    "member": "INSERT OR REPLACE INTO members (user_id, data) VALUES (?, ?)",
    "revoked_badge": (
        "INSERT OR REPLACE INTO revoked_badges (badge_id, user_id, data) VALUES (?, ?, ?)"
    ),
    "session_access": "INSERT OR REPLACE INTO session_access (key, data) VALUES (?, ?)",
}
_DELETE: dict[str, str] = {
    entity: f"DELETE FROM {table} WHERE {pk} = ?" for entity, (table, pk) in TABLES.items()
}


def _key_records_text(records: list[Any]) -> str:
    """The usable public keys of ``records`` (``shared.signing.key_record``), as JSON."""
    return _encode([key_record(k) for k in public_keys_from_records(records).values()])


def _seal_key_text(record: object) -> str | None:
    """The server's sealing key record, as JSON, if it is a usable one."""
    public = sealing.public_key_from_record(record)
    return _encode(sealing.key_record(public)) if public is not None else None


def _page_fields(
    page: Mapping[str, Any] | ChangePage,
) -> tuple[list[Any], str, bool, bool, int, str | None, list[Any] | None]:
    if isinstance(page, ChangePage):
        return (
            [c.to_dict() for c in page.changes],
            page.cursor,
            page.reset,
            page.has_more,
            page.latest_seq,
            page.server_time,
            page.badge_keys,
        )
    if not isinstance(page, Mapping):
        raise PageError("a change page must be a JSON object")
    changes = page.get("changes")
    cursor = page.get("cursor")
    if not isinstance(changes, list):
        raise PageError("changes must be a list")
    if not isinstance(cursor, str) or not cursor:
        raise PageError("cursor must be a non-empty string")
    latest = page.get("latest_seq")
    server_time = page.get("server_time")
    keys = page.get("badge_keys")
    return (
        changes,
        cursor,
        page.get("reset") is True,
        page.get("has_more") is True,
        latest if type(latest) is int else 0,
        server_time if isinstance(server_time, str) else None,
        keys if isinstance(keys, list) else None,
    )


class KioskStore:
    """The kiosk's SQLite store in ``data_dir/kiosk.db`` (created if missing)."""

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = self.data_dir / DB_NAME
        if not self.path.exists():  # it will hold the device credential: owner only
            self.path.touch(mode=0o600)
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._closed = False
        #: booth scans handed to a push (by :meth:`pending`): client id -> the notes sent
        self._sent_notes: dict[str, str | None] = {}
        self._keyring: tuple[str | None, Keyring] = (None, NO_KEYS)
        self._sealer: tuple[str | None, Sealer | None] = (None, None)
        conn = self._conn()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version < SCHEMA_VERSION:
            self._upgrade(conn, version)

    def _upgrade(self, conn: sqlite3.Connection, version: int) -> None:
        """Bring a store of schema ``version`` (0: a new file) to :data:`SCHEMA_VERSION`."""
        if 0 < version < 3:
            # no badge secrets: members (badge ids, emails) come again with the next
            # snapshot; what was sent keeps the visitor's user id, not their badge
            with self.transaction() as tx:
                tables = {r[0] for r in tx.execute("SELECT name FROM sqlite_master")}
                tx.execute("DROP TABLE IF EXISTS members")
                tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('cursor', '0')")
                if "visits" in tables:
                    rows = tx.execute("SELECT client_id, payload, badge_id FROM visits")
                    tx.executemany(
                        "UPDATE visits SET payload = ?, badge_id = ? WHERE client_id = ?",
                        [(redacted_payload(p), public_ref(b), c) for c, p, b in rows.fetchall()],
                    )
                rows = tx.execute("SELECT client_id, payload FROM outbox WHERE state = 'rejected'")
                tx.executemany(
                    "UPDATE outbox SET payload = ? WHERE client_id = ?",
                    [(redacted_payload(p), c) for c, p in rows.fetchall()],
                )
        if 0 < version < 4:
            # every scan queued before directions was an entry
            with self.transaction() as tx:
                columns = {r[1] for r in tx.execute("PRAGMA table_info(outbox)")}
                if columns and "direction" not in columns:
                    tx.execute(
                        "ALTER TABLE outbox ADD COLUMN direction TEXT NOT NULL DEFAULT 'in'"
                        " CHECK (direction IN ('in', 'out'))"
                    )
        conn.executescript(_SCHEMA)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- connections and transactions ---------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if self._closed:
            raise StoreError("the store is closed")
        conn = sqlite3.connect(
            self.path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA page_size = 8192")  # a new database only (bulk inserts)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA cache_size = -32000")  # 32 MB
        # WAL checkpoints are the sync loop's work (:meth:`checkpoint`), not the
        # commit's that happens to cross SQLite's default of 1000 pages: a scan's
        # commit then never waits for one (8 MB written back and synced), nor
        # does each page of a first sync. This is a ceiling for a store with no
        # sync loop (128 MB); SQLite also checkpoints when the last connection closes.
        conn.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}")
        self._local.conn = conn
        with self._conns_lock:
            self._conns.append(conn)
        return conn

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is committed, or none of it.

        ``durable=False`` commits without waiting for the disk (``synchronous=
        NORMAL``): still atomic and consistent, but a power cut may undo it. Only
        for what can be fetched again (a change page and its cursor go together).
        """
        conn = self._conn()
        if not durable:
            conn.execute("PRAGMA synchronous = NORMAL")
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        finally:
            if not durable:
                conn.execute("PRAGMA synchronous = FULL")

    def checkpoint(self) -> bool:
        """Copy what the write-ahead log holds into the database file, without
        waiting for anyone (readers and writers go on). True when all of it was."""
        try:
            busy, logged, copied = self._conn().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:  # a full disk: the WAL keeps it meanwhile
            log.warning("kiosk store checkpoint failed: %s", exc)
            return False
        return not busy and logged == copied

    def close(self) -> None:
        self._closed = True
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    def __enter__(self) -> KioskStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- meta ---------------------------------------------------------------

    def meta(self) -> dict[str, str | None]:
        return dict(self._conn().execute("SELECT key, value FROM meta").fetchall())

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None or row[0] is None else row[0]

    def set_meta(self, conn: sqlite3.Connection | None = None, /, **values: object) -> None:
        """Set meta keys (None clears one); in ``conn``'s transaction when given."""
        rows = []
        for key, value in values.items():
            if key not in META_KEYS:
                raise KeyError(f"unknown meta key {key!r}")
            if isinstance(value, bool):
                value = int(value)
            rows.append((key, None if value is None else str(value)))
        if conn is not None:
            conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", rows)
            return
        with self.transaction() as tx:
            tx.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", rows)

    @property
    def provisioned(self) -> bool:
        return bool(self.get_meta("device_token")) and bool(self.get_meta("event_id"))

    @property
    def revoked(self) -> bool:
        return self.get_meta("revoked") == "1"

    @property
    def cursor(self) -> str:
        return self.get_meta("cursor") or "0"

    @property
    def clock_offset_ms(self) -> int | None:
        value = self.get_meta("clock_offset_ms")
        return int(value) if value else None

    def place(self) -> PlaceConfig:
        m = dict(
            self._conn()
            .execute(
                "SELECT key, value FROM meta WHERE key IN"
                " ('event_id', 'mode', 'room_id', 'pinned_session_id', 'clock_offset_ms',"
                " 'online', 'direction')"
            )
            .fetchall()
        )
        offset = m.get("clock_offset_ms")
        return PlaceConfig(
            event_id=m.get("event_id") or None,
            mode="booth" if m.get("mode") == "booth" else "door",
            room_id=m.get("room_id") or None,
            pinned_session_id=m.get("pinned_session_id") or None,
            clock_offset_ms=int(offset) if offset else 0,
            online=m.get("online") == "1",
            direction="out" if m.get("direction") == "out" else "in",
        )

    def keyring(self) -> Keyring:
        """The public keys badges are checked with (from the last page or provisioning)."""
        raw = self.get_meta("badge_keys")
        cached_raw, cached = self._keyring
        if raw == cached_raw:
            return cached
        try:
            records = json.loads(raw) if raw else []
        except ValueError:
            records = []
        keys = Keyring(public_keys_from_records(records), nacl.signing)
        self._keyring = (raw, keys)
        return keys

    def sealer(self) -> Sealer | None:
        """What seals scans to the server's key (None: this server sent none)."""
        raw = self.get_meta("seal_key")
        cached_raw, cached = self._sealer
        if raw == cached_raw:
            return cached
        try:
            public = sealing.public_key_from_record(json.loads(raw)) if raw else None
        except ValueError:
            public = None
        sealer = Sealer(public) if public is not None else None
        self._sealer = (raw, sealer)
        return sealer

    def provision(
        self,
        server_url: str,
        device_token: str,
        kiosk: Mapping[str, Any],
        event: Mapping[str, Any] | None = None,
        badge_keys: list[Any] | None = None,
        seal_key: Mapping[str, Any] | None = None,
    ) -> None:
        """Store a new credential and place, and the public keys badges are signed
        with; forget the synced data (cursor back to 0).

        The outbox is kept: scans not yet confirmed are sent with the new credential.
        """
        event = event or {}
        with self.transaction() as conn:
            for table, _pk in TABLES.values():
                conn.execute(f"DELETE FROM {table}")
            conn.execute("DELETE FROM meta")
            self.set_meta(
                conn,
                server_url=server_url.rstrip("/"),
                device_token=device_token,
                kiosk_id=_text(kiosk.get("id")),
                kiosk_name=_text(kiosk.get("name")),
                event_id=_text(kiosk.get("event_id") or event.get("id")),
                event_name=_text(event.get("name")),
                mode="booth" if kiosk.get("mode") == "booth" else "door",
                room_id=_text(kiosk.get("room_id")),
                room_name=_text(kiosk.get("room_name")),
                pinned_session_id=_text(kiosk.get("pinned_session_id")),
                exposant_user_id=_text(kiosk.get("exposant_user_id")),
                cursor="0",
                revoked=0,
                badge_keys=_key_records_text(badge_keys or []),
                seal_key=_seal_key_text(seal_key),
            )

    # -- the change feed ----------------------------------------------------

    @gc_paused()  # thousands of fresh records: collect after the page, not during
    def apply_page(self, page: Mapping[str, Any] | ChangePage | str | bytes) -> PageResult:
        """Apply one change page atomically, with its cursor (and reset, if set).

        ``page`` is the parsed JSON object, a :class:`ChangePage`, or JSON text.

        Every upsert is written in page order (``INSERT OR REPLACE``: the last
        one of a key wins), then the keys whose last change in the page is a
        tombstone are deleted: the same end state as applying the changes one
        by one, with one statement per entity. Unknown entities are skipped (a
        newer server). A malformed page raises :class:`PageError` and nothing
        of it is kept; nor is anything kept if writing fails half way.
        """
        if isinstance(page, str | bytes | bytearray):
            if isinstance(page, bytes | bytearray):
                try:
                    page = page.decode("utf-8")
                except UnicodeDecodeError:
                    raise PageError("a change page must be UTF-8 JSON") from None
            try:
                page = orjson.loads(page)
            except ValueError:
                raise PageError("a change page must be JSON") from None
        return self._apply_mapping(page)  # type: ignore[arg-type]

    def _apply_mapping(self, page: Mapping[str, Any] | ChangePage) -> PageResult:
        changes, cursor, reset, has_more, latest_seq, server_time, keys = _page_fields(page)
        items: dict[str, list[tuple[str, dict[str, Any]]]] = {e: [] for e in ENTITIES}
        n_del = skipped = 0
        max_seq: int | None = None
        for i, change in enumerate(changes):
            try:
                entity, key, op = change["entity"], change["key"], change["op"]
                seq = change.get("seq")
            except (TypeError, KeyError, AttributeError):
                raise PageError(f"changes[{i}] needs an entity, a key and an op") from None
            if type(key) is not str or not key or type(entity) is not str:
                raise PageError(f"changes[{i}] needs an entity and a key")
            if type(seq) is int and (max_seq is None or seq > max_seq):
                max_seq = seq
            if op == "upsert":
                data = change.get("data")
                if type(data) is not dict:
                    raise PageError(f"changes[{i}]: an upsert needs its data")
                bucket = items.get(entity)
                if bucket is None:
                    skipped += 1
                else:
                    bucket.append((key, data))
            elif op == "delete":
                if entity not in TABLES:
                    skipped += 1
                    continue
                if entity == "member":
                    _member_key(key)
                n_del += 1
            else:
                raise PageError(f"changes[{i}].op must be upsert or delete")
        upserts = {e: _rows(e, bucket) for e, bucket in items.items()}
        n_up = sum(len(bucket) for bucket in items.values())
        deletes: dict[str, list[tuple[Any, ...]]] = {e: [] for e in ENTITIES}
        if n_del:  # delete the keys whose last change in the page is a tombstone
            last_op = {(c["entity"], c["key"]): c["op"] for c in changes}
            for (entity, key), op in last_op.items():
                if op == "delete" and entity in TABLES:
                    deletes[entity].append((_member_key(key) if entity == "member" else key,))
        if skipped:
            log.warning("skipped %d changes of unknown entities", skipped)

        # not fsynced: a page lost in a power cut takes its cursor with it, and is
        # pulled again; the outbox (scans) is always committed durably
        with self.transaction(durable=False) as conn:
            if reset:
                for table, _pk in TABLES.values():
                    conn.execute(f"DELETE FROM {table}")
            for entity in ENTITIES:
                self._write(conn, entity, upserts[entity], deletes[entity])
            self._store_position(conn, cursor, latest_seq, max_seq)
            if keys is not None:
                self.set_meta(conn, badge_keys=_key_records_text(keys))
            seal_key = page.get("seal_key") if isinstance(page, Mapping) else None
            if seal_key is not None:
                self.set_meta(conn, seal_key=_seal_key_text(seal_key))
        return PageResult(
            n_up + n_del, n_up, n_del, skipped, reset, cursor, has_more, latest_seq, max_seq,
            server_time,
        )  # fmt: skip

    def _write(
        self,
        conn: sqlite3.Connection,
        entity: str,
        upserts: Sequence[tuple[Any, ...]],
        deletes: Sequence[tuple[Any, ...]],
    ) -> None:
        """Write one entity of a page: its upserts in page order, then its tombstones."""
        if upserts:
            conn.executemany(_UPSERT[entity], upserts)
        if deletes:
            conn.executemany(_DELETE[entity], deletes)

    def _store_position(
        self, conn: sqlite3.Connection, cursor: str, latest_seq: int, last_seq: int | None
    ) -> None:
        values: dict[str, object] = {"cursor": cursor, "latest_seq": latest_seq}
        if last_seq is not None:
            values["last_seq"] = last_seq
        self.set_meta(conn, **values)

    # -- lookups for the decision ------------------------------------------

    def _record(self, sql: str, key: object) -> dict[str, Any] | None:
        row = self._conn().execute(sql, (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def member(self, user_id: int) -> dict[str, Any] | None:
        if not -(2**63) <= user_id < 2**63:
            return None
        return self._record("SELECT data FROM members WHERE user_id = ?", user_id)

    def revoked_badge(self, badge_id: str) -> dict[str, Any] | None:
        return self._record("SELECT data FROM revoked_badges WHERE badge_id = ?", badge_id)

    def session(self, session_id: str) -> dict[str, Any] | None:
        return self._record("SELECT data FROM sessions WHERE id = ?", session_id)

    def session_access(self, participant_id: str, session_id: str) -> dict[str, Any] | None:
        return self._record(
            "SELECT data FROM session_access WHERE key = ?", f"{participant_id}:{session_id}"
        )

    def room(self, room_id: str) -> dict[str, Any] | None:
        return self._record("SELECT data FROM rooms WHERE id = ?", room_id)

    def event(self, event_id: str) -> dict[str, Any] | None:
        return self._record("SELECT data FROM events WHERE id = ?", event_id)

    def sessions_in_room(self, room_id: str, at: datetime | None = None) -> list[dict[str, Any]]:
        """The room's sessions; only those held at ``at`` when given (for pick_session)."""
        conn = self._conn()
        if at is None:
            rows = conn.execute("SELECT data FROM sessions WHERE room_id = ?", (room_id,))
        else:
            t = sortable_time(at)
            rows = conn.execute(
                "SELECT data FROM sessions WHERE room_id = ? AND start_time <= ? AND end_time > ?",
                (room_id, t, t),
            )
        return [json.loads(r[0]) for r in rows.fetchall()]

    def count(self, entity: str) -> int:
        table, _pk = TABLES[entity]
        return int(self._conn().execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    # -- the outbox ---------------------------------------------------------

    def enqueue(self, scan: Scan, visit: BoothVisit | None = None) -> None:
        """Write a scan durably (committed, fsynced) before its verdict is shown; a
        booth scan's ``visit`` is written in the same transaction."""
        with self.transaction() as conn:
            self._insert_outbox(conn, scan)
            if visit is not None:
                self._insert_visit(conn, scan, visit)

    def _insert_outbox(self, conn: sqlite3.Connection, scan: Scan) -> None:
        d = scan.to_dict()
        sealer = self.sealer()
        if sealer is not None and not sealing.is_sealed(d["payload"]):
            d["payload"] = sealer.seal(d["client_id"], d["payload"])
        conn.execute(
            "INSERT INTO outbox (client_id, kind, payload, scanned_at, status, reason,"
            " room_id, session_id, notes, decided_offline, direction, state, attempts,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)",
            (
                d["client_id"],
                d["kind"],
                d["payload"],
                d["scanned_at"],
                d["status"],
                d["reason"],
                d["room_id"],
                d["session_id"],
                d["notes"],
                int(scan.decided_offline),
                d["direction"],
                iso(utcnow()),
            ),
        )

    def pending(self, limit: int = 500) -> list[Scan]:
        """The oldest scans not yet confirmed (rejected ones never come back)."""
        return self.pending_after(0, limit)[0]

    def pending_after(self, position: int, limit: int = 500) -> tuple[list[Scan], int]:
        """The oldest waiting scans queued after ``position`` (0: from the start),
        and the position to read the next ones from: a push reads its next batch
        while earlier ones are still on their way."""
        rows = (
            self._conn()
            .execute(
                "SELECT client_id, kind, payload, scanned_at, status, reason, room_id,"
                " session_id, notes, decided_offline, direction, rowid FROM outbox"
                " WHERE state = 'pending' AND rowid > ? ORDER BY rowid LIMIT ?",
                (position, limit),
            )
            .fetchall()
        )
        scans = [_scan_from_row(r[:-1]) for r in rows]
        for scan in scans:  # what a push will carry: ack() checks a note edited meanwhile
            if scan.kind == "booth_visit":
                self._sent_notes[str(scan.client_id)] = scan.notes
        return scans, (rows[-1][-1] if rows else position)

    def mark_pending_offline(self) -> int:
        """Flag every scan still waiting as decided offline (the server was unreachable)."""
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE outbox SET decided_offline = 1"
                " WHERE state = 'pending' AND decided_offline = 0"
            )
            return cur.rowcount

    def mark_sent(self, client_ids: Sequence[str]) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1 WHERE client_id = ?",
                [(c,) for c in client_ids],
            )

    def ack(self, results: Sequence[Mapping[str, Any]]) -> dict[str, int]:
        """Apply the server's answers: accepted/duplicate leave the outbox, rejected
        ones stay (state ``rejected``, with the reason, their badge redacted: never
        sent again). Unknown ids are ignored. A booth visit the server let in comes
        back with the visitor's contact (``visitor``): the lead gets their email."""
        gone: list[tuple[str]] = []
        rejected: list[tuple[str | None, str]] = []
        contacts: list[tuple[str, str]] = []
        counts = {"accepted": 0, "duplicate": 0, "rejected": 0, "unknown": 0}
        for r in results:
            client_id = r.get("client_id")
            result = r.get("result")
            if not isinstance(client_id, str) or result not in counts or result == "unknown":
                counts["unknown"] += 1
                continue
            counts[result] += 1
            if result == "rejected":
                reason = r.get("reason") or r.get("server_reason") or "rejected"
                rejected.append((str(reason), client_id))
            else:
                gone.append((client_id,))
                visitor = r.get("visitor")
                email = visitor.get("email") if isinstance(visitor, Mapping) else None
                if isinstance(email, str) and email and len(email) <= 254:
                    contacts.append((email, client_id))
        with self.transaction() as conn:
            gone = self._unless_note_edited(conn, gone, [c for _r, c in rejected])
            conn.executemany("DELETE FROM outbox WHERE client_id = ?", gone)
            conn.executemany(
                "UPDATE outbox SET state = 'rejected', reject_reason = ? WHERE client_id = ?",
                rejected,
            )
            if rejected:
                rows = conn.execute(
                    "SELECT client_id, payload FROM outbox WHERE client_id IN"
                    f" ({','.join('?' * len(rejected))})",
                    [c for _r, c in rejected],
                ).fetchall()
                conn.executemany(
                    "UPDATE outbox SET payload = ? WHERE client_id = ?",
                    [(redacted_payload(p), c) for c, p in rows],
                )
            if contacts:
                conn.executemany(
                    "UPDATE visits SET email = ? WHERE client_id = ? AND status = 'granted'",
                    contacts,
                )
        return counts

    def queue_length(self) -> int:
        row = self._conn().execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
        return int(row.fetchone()[0])

    def rejected_count(self) -> int:
        row = self._conn().execute("SELECT COUNT(*) FROM outbox WHERE state = 'rejected'")
        return int(row.fetchone()[0])

    def rejected(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest rejected scans, for the operator."""
        rows = (
            self._conn()
            .execute(
                "SELECT client_id, scanned_at, payload, status, reason, reject_reason FROM outbox"
                " WHERE state = 'rejected' ORDER BY rowid DESC LIMIT ?",
                (limit,),
            )
            .fetchall()
        )
        keys = ("client_id", "scanned_at", "payload", "status", "reason", "reject_reason")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # -- booth visits (leads) ------------------------------------------------

    def _insert_visit(self, conn: sqlite3.Connection, scan: Scan, visit: BoothVisit) -> None:
        row = conn.execute("SELECT value FROM meta WHERE key = 'event_id'").fetchone()
        if row is None or not row[0]:
            raise StoreError("this kiosk is not provisioned")
        conn.execute(
            "INSERT INTO visits (client_id, event_id, scanned_at, user_id, badge_id, name,"
            " email, organisation, status, reason, notes, payload, decided_offline)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                str(scan.client_id),
                row[0],
                sortable_time(scan.scanned_at),
                visit.user_id,
                public_ref(visit.badge_id),
                visit.name,
                visit.email,
                visit.organisation,
                scan.status,
                scan.reason,
                scan.notes,
                redacted_payload(scan.payload),  # sent with the outbox row, never kept
                int(scan.decided_offline),
            ),
        )

    def _unless_note_edited(
        self, conn: sqlite3.Connection, gone: list[tuple[str]], rejected: Sequence[str]
    ) -> list[tuple[str]]:
        """The confirmed scans that may leave the outbox: not those whose note was edited
        after :meth:`pending` handed them to the push (they go again, with the new note)."""
        keep: list[tuple[str]] = []
        for (client_id,) in gone:
            if client_id in self._sent_notes:
                sent = self._sent_notes.pop(client_id)
                now = conn.execute(
                    "SELECT notes FROM outbox WHERE client_id = ?", (client_id,)
                ).fetchone()
                if now is not None and now[0] != sent:
                    continue
            keep.append((client_id,))
        for client_id in rejected:
            self._sent_notes.pop(client_id, None)
        return keep

    def _visit_rows(self, where: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        rows = (
            self._conn()
            .execute(
                "SELECT " + ", ".join(f"v.{c}" for c in VISIT_COLUMNS) + ", o.state"
                " FROM visits v LEFT JOIN outbox o ON o.client_id = v.client_id"
                f" WHERE {where} ORDER BY v.scanned_at, v.rowid",
                params,
            )
            .fetchall()
        )
        out = []
        for r in rows:
            d = dict(zip(VISIT_COLUMNS, r[:-1], strict=True))
            d["scanned_at"] = iso(parse_iso(d["scanned_at"]))
            d["decided_offline"] = bool(d["decided_offline"])
            # sent: the server has the scan and its note; pending: not yet; rejected: never
            d["sync"] = r[-1] or "sent"
            out.append(d)
        return out

    def leads(self, *, every_scan: bool = False) -> list[dict[str, Any]]:
        """The current event's booth visits, oldest first: the granted ones (the leads),
        or with ``every_scan`` the refused badges too."""
        where = "v.event_id = ?" + ("" if every_scan else " AND v.status = 'granted'")
        return self._visit_rows(where, (self.get_meta("event_id") or "",))

    def visit(self, client_id: str) -> dict[str, Any] | None:
        found = self._visit_rows("v.client_id = ?", (client_id,))
        return found[0] if found else None

    def set_note(self, client_id: str, text: str) -> str:
        """Change a lead's note. The server gets it with the scan if that is still in the
        outbox (``"queued"``); once sent, the same scan id is queued again with the new
        note (``"resent"``): the server answers duplicate and updates the visit's notes.
        A scan the server rejected keeps the note here only (``"rejected"``).
        """
        if not isinstance(text, str) or len(text) > MAX_NOTES:
            raise StoreError(f"a note is text of at most {MAX_NOTES} characters")
        if "\x00" in text:
            raise StoreError("a note cannot contain NUL characters")
        problem = text_problem(text, controls="text")  # what the server refuses
        if problem is not None:
            raise StoreError(f"a note {problem}")
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT status, reason, payload, scanned_at, decided_offline FROM visits"
                " WHERE client_id = ?",
                (client_id,),
            ).fetchone()
            if row is None:
                raise StoreError(f"no visit {client_id}")
            status, reason, payload, scanned_at, offline = row
            if status != "granted":
                raise StoreError(f"visit {client_id} is not a lead: the badge was refused")
            conn.execute(
                "UPDATE visits SET notes = ?, notes_updated_at = ? WHERE client_id = ?",
                (text, iso(utcnow()), client_id),
            )
            queued = conn.execute(
                "SELECT state FROM outbox WHERE client_id = ?", (client_id,)
            ).fetchone()
            if queued is not None:  # pending: sent with the scan; rejected: never sent
                conn.execute("UPDATE outbox SET notes = ? WHERE client_id = ?", (text, client_id))
                return "queued" if queued[0] == "pending" else "rejected"
            scan = Scan(
                client_id=uuid.UUID(client_id),
                kind="booth_visit",
                payload=payload,
                scanned_at=parse_iso(scanned_at) or utcnow(),
                status=status,
                reason=reason,
                decided_offline=bool(offline),
                notes=text,
            )
            self._insert_outbox(conn, scan)
            return "resent"

    # -- status -------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Everything an operator wants to see, as plain JSON-able data."""
        m = self.meta()
        last_seq, latest_seq = m.get("last_seq"), m.get("latest_seq")
        online, offset = m.get("online"), m.get("clock_offset_ms")
        return {
            "provisioned": bool(m.get("device_token") and m.get("event_id")),
            "server_url": m.get("server_url"),
            "kiosk_id": m.get("kiosk_id"),
            "kiosk_name": m.get("kiosk_name"),
            "event_id": m.get("event_id"),
            "event_name": m.get("event_name"),
            "mode": m.get("mode"),
            "room_id": m.get("room_id"),
            "room_name": m.get("room_name"),
            "pinned_session_id": m.get("pinned_session_id"),
            "exposant_user_id": m.get("exposant_user_id"),
            "online": None if online is None else online == "1",
            "revoked": m.get("revoked") == "1",
            "cursor": m.get("cursor"),
            "last_seq": int(last_seq) if last_seq else None,
            "latest_seq": int(latest_seq) if latest_seq else None,
            "last_sync": m.get("last_sync_at"),
            "last_attempt": m.get("last_attempt_at"),
            "last_error": m.get("last_error"),
            "clock_offset_ms": int(offset) if offset else None,
            "queue_length": self.queue_length(),
            "rejected": self.rejected_count(),
            "rejected_scans": self.rejected(),
            "counts": {entity: self.count(entity) for entity in ENTITIES},
        }


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _scan_from_row(row: Sequence[Any]) -> Scan:
    (
        client_id,
        kind,
        payload,
        scanned_at,
        status,
        reason,
        room_id,
        session_id,
        notes,
        offline,
        direction,
    ) = row
    return Scan(
        client_id=uuid.UUID(client_id),
        kind=kind,
        payload=payload,
        scanned_at=parse_iso(scanned_at) or utcnow(),
        status=status,
        reason=reason,
        decided_offline=bool(offline),
        room_id=_uuid_or_none(room_id),
        session_id=_uuid_or_none(session_id),
        notes=notes,
        direction=direction,
    )
