"""The store: the SQLite-backed persistence under the auth and catalog services.

Only what Python needs to run those services is wrapped: open, close, the
schema version, the backend name, the retention purge (``Store.purge``) and the
shared rate-limit buckets (``Store.rate_take``, ``Store.rate_reset``). The per-entity store functions stay
reachable through ``libstream.lib`` for tools that need them.

A Store is thread-safe, like the C handle. Services created on a store
(``libstream.auth.Auth``, ``libstream.catalog.Catalog``) borrow it: closing
the store closes them first, and a store is never freed by the garbage
collector before a service still using it. Only available in builds with
the server feature (``libstream.store.AVAILABLE``).

    from libstream.store import Store
    with Store("/var/lib/streamd/streamd.db") as st:
        print(st.backend, st.schema_version)
"""
import os
import time
import weakref

from ._ffi import ffi, lib
from ._util import Keep, new_struct, set_int, text, to_cstr, to_int
from .errors import check, raise_invalid

__all__ = ["AVAILABLE", "Store", "MEMORY", "sqlite_memstatus_off"]

AVAILABLE = hasattr(lib, "stream_store_open")

#: The path of a private in-memory database (one connection: for tests).
MEMORY = ":memory:"


def _require():
    if not AVAILABLE:
        raise ImportError("libstream was built without the server feature (store)")


def sqlite_memstatus_off():
    """Turn SQLite's memory statistics off for the whole process (stream_store_sqlite_memstatus_off).

    With them on, every SQLite allocation takes one process-wide mutex, and a
    store read from several threads contends on it. Off, sqlite3_memory_used()
    reads 0 for the whole process (including Python's own sqlite3 module) and
    the soft heap limit limits nothing. Call at start, before the first Store
    is opened and before anything else in the process uses SQLite.
    Raises Busy when SQLite is already initialized in this process.
    """
    _require()
    check(lib.stream_store_sqlite_memstatus_off())


class Store:
    """A storage handle. Use as a context manager or call close().

    ``path``: database file (created if missing; migrations are applied) or
    ``":memory:"`` (SQLite), or a libpq URI ``"postgresql://..."`` (the PostgreSQL
    backend, when built: a shared database for several processes); ``readers``: reader connections, 1..32; ``busy_timeout_ms``:
    how long a connection waits on a lock, 0..600000; ``sync``: ``"full"``
    (default: a returned commit survives a power loss) or ``"normal"`` (it
    survives a crash of the process only; see ``stream_store_sync``).
    Raises InvalidArgument, NotSupported (a database written by a newer
    libstream), Busy, IOFailure.
    """

    _SYNC = {"full": "STREAM_STORE_SYNC_FULL", "normal": "STREAM_STORE_SYNC_NORMAL"}

    def __init__(self, path=MEMORY, *, readers=None, busy_timeout_ms=None, sync="full"):
        _require()
        self._services = weakref.WeakSet()
        self._ptr = None
        keep = Keep()
        if isinstance(path, os.PathLike):
            path = os.fspath(path)
        o = new_struct("stream_store_options")
        o.path = keep.cstr(path, "path")
        if readers is not None:
            set_int(o, "readers", readers, "readers")
        if busy_timeout_ms is not None:
            set_int(o, "busy_timeout_ms", busy_timeout_ms, "busy_timeout_ms")
        if sync not in self._SYNC:
            raise_invalid("sync must be 'full' or 'normal', got %r" % (sync,))
        o.sync = getattr(lib, self._SYNC[sync])
        out = ffi.new("stream_store **")
        check(lib.stream_store_open(out, o))
        self._ptr = ffi.gc(out[0], lib.stream_store_close)

    @property
    def _cptr(self):
        if self._ptr is None:
            raise_invalid("the store is closed")
        return self._ptr

    def _attach(self, service):
        """Register a service that borrows this store (closed before the store)."""
        self._services.add(service)

    @property
    def schema_version(self):
        """The schema version applied to the database (int)."""
        out = ffi.new("int *")
        check(lib.stream_store_schema_version(out, self._cptr))
        return out[0]

    @property
    def backend(self):
        """The backend name ("sqlite" or "postgres")."""
        return text(lib.stream_store_backend_name(self._cptr))

    #: The tables stream_store_purge() deletes from, in the order of its counts.
    PURGE_TABLES = ("refresh_tokens", "device_authorizations", "idempotency_keys",
                    "screen_leases", "password_resets", "rate_buckets")

    def purge(self, now=None, *, refresh_grace=None, device_grace=None,
              idempotency_retention=None, lease_grace=None, reset_grace=None, batch_size=None):
        """Delete transient rows that outlived their use; returns {table: rows deleted}.

        ``now``: Unix seconds (default: the system clock). The keyword
        arguments override the library's default policy (seconds; see
        ``stream_store_purge`` in stream/store.h): expired refresh tokens
        ``refresh_grace`` after expiry (7 days; unexpired ones never go, so
        reuse detection keeps working), device authorizations
        ``device_grace`` after expiry (1 day), idempotency keys older than
        ``idempotency_retention`` (7 days, at least 86400), lapsed screen
        leases ``lease_grace`` after expiry (1 day), password reset tokens
        ``reset_grace`` after expiry (1 day); ``batch_size`` rows per write
        transaction (1000).
        Raises InvalidArgument (bad policy), Busy, IOFailure.
        """
        p = ffi.new("stream_store_purge_policy *")
        lib.stream_store_purge_policy_default(p)
        for field, value in (("refresh_grace", refresh_grace), ("device_grace", device_grace),
                             ("idempotency_retention", idempotency_retention),
                             ("lease_grace", lease_grace), ("reset_grace", reset_grace),
                             ("batch_size", batch_size)):
            if value is not None:
                set_int(p, field, value, field)
        out = ffi.new("stream_store_purge_counts *")
        when = int(time.time()) if now is None else to_int(now, "now")
        check(lib.stream_store_purge(out, self._cptr, when, p))
        return {t: int(getattr(out, t)) for t in self.PURGE_TABLES}

    CLOSE_TABLES = ("profiles", "refresh_tokens", "device_authorizations", "cards",
                    "screen_leases", "idempotency_keys", "subscriptions", "invoices_voided",
                    "events", "views")

    def close_account(self, account_id, now=None):
        """Close (delete) an account in one transaction; returns {what: rows}.

        Deletes its profiles (with their progress, My List, ratings), refresh
        tokens, device authorizations, saved cards, screen leases and billing
        idempotency records; ends its live subscription now (no refund) and voids
        that subscription's open invoice; blanks the account, profile and device
        ids of its event-log rows and QoE view records. The account row stays as
        a tombstone for the kept invoices, payments and refunds (e-mail
        ``deleted-<id>@invalid``, no password, disabled) and is absent from then
        on. ``now``: Unix seconds (default: the system clock). This is the store
        step of ``Auth.delete_account``, which checks the password first.
        Raises NotFound (no such account, or already closed), Busy (a payment of
        the account is in flight), InvalidArgument, IOFailure.
        """
        out = ffi.new("stream_store_account_close_counts *")
        when = int(time.time()) if now is None else to_int(now, "now")
        check(lib.stream_store_account_close(out, self._cptr,
                                             to_cstr(account_id, "account_id"), when))
        return {t: int(getattr(out, t)) for t in self.CLOSE_TABLES}

    def rate_take(self, buckets, now=None):
        """Take one token from each bucket, all or none (stream_store_rate_take).

        ``buckets``: 1..4 ``(scope, key, burst, interval)`` tuples naming
        distinct buckets: at most ``burst`` tokens, one more every ``interval``
        seconds; a bucket never charged is full. Every process on the store
        (several daemons on one PostgreSQL database) draws from the same
        buckets. Returns 0 when the tokens were taken, else the whole seconds
        (>= 1) until every bucket holds one again, and nothing was taken.
        ``now``: Unix seconds (default: the system clock). Pass a digest of a
        person's e-mail or address as the key, not the name: the store keeps
        what it is given.
        Raises InvalidArgument (a field out of range, repeated bucket), OutOfRange
        (a burst or interval that does not fit the C field, e.g. negative), Busy,
        IOFailure.
        """
        items = list(buckets)
        keys = ffi.new("stream_store_rate_key[]", max(len(items), 1))
        keep = []
        for i, b in enumerate(items):
            try:
                scope, key, burst, interval = b
            except (TypeError, ValueError):
                raise_invalid("buckets[%d] must be a (scope, key, burst, interval) tuple" % i)
            c_scope = ffi.new("char[]", to_cstr(scope, "buckets[%d].scope" % i))
            c_key = ffi.new("char[]", to_cstr(key, "buckets[%d].key" % i))
            keep += [c_scope, c_key]
            keys[i].scope = c_scope
            keys[i].key = c_key
            set_int(keys[i], "burst", burst, "buckets[%d].burst" % i)
            set_int(keys[i], "interval", interval, "buckets[%d].interval" % i)
        out = ffi.new("int64_t *")
        when = int(time.time()) if now is None else to_int(now, "now")
        check(lib.stream_store_rate_take(out, self._cptr, keys, len(items), when))
        return int(out[0])

    def rate_reset(self, scope, key):
        """Make the bucket (scope, key) full again (stream_store_rate_reset); an
        absent bucket is not an error. Raises InvalidArgument, Busy, IOFailure."""
        check(lib.stream_store_rate_reset(self._cptr, to_cstr(scope, "scope"),
                                          to_cstr(key, "key")))

    @property
    def closed(self):
        return self._ptr is None

    def close(self):
        """Close the services using this store, then the store. No call may be running."""
        for s in list(self._services):
            s.close()
        p, self._ptr = self._ptr, None
        if p is not None:
            ffi.release(p)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        if self._ptr is None:
            return "<libstream.Store closed>"
        return "<libstream.Store backend=%r schema_version=%d>" % (self.backend,
                                                                    self.schema_version)
