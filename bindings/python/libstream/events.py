"""Player events: the emitter (client side) and the ingest, event log and
consumer checkpoints (server side).

``Emitter`` (client feature) queues events without blocking and sends them to
streamd's ``POST /v1/events`` from a background C thread, batched, gzip'd,
retried, optionally spooled to disk::

    with libstream.events.Emitter("http://127.0.0.1:8080", access_token=tok,
                                  spool_path="/var/lib/player/events.spool") as em:
        em.emit("playrequest", view_id=view, title_id="t1")
        em.emit("heartbeat", view_id=view, playhead_ms=10000, br=3000)
        em.flush(5000)
        print(em.stats())

``Events`` (server feature) ingests batches over a :class:`libstream.store.Store`
and reads the event log::

    ev = libstream.events.Events(store)
    accepted, duplicates = ev.ingest(body, "protobuf", gzip=True, account_id="a1")
    start, events = ev.poll("qoe", limit=500)
    ev.commit("qoe", start, events[-1].seq)

Events come back as :class:`Event` named tuples with the type as its name
("heartbeat").

QoE and exports (server feature) over the same handle::

    ev.qoe_run()                          # catch the QoE consumer up with the log:
                                          # (events, views), .foreign_events,
                                          # .repair_failed
    ev.view("view-1")["startup_ms"]       # one view's record (a dict)
    ev.qoe_stats(title_id="t1", day="2026-12-05")["startup_ms_p95"]
    ev.concurrent()                       # viewers in the last 30 s
    ev.export("/data/export", "csv")      # resumable batch files (consumer "export")
"""
import collections

from ._ffi import ffi, lib
from ._util import Keep, new_struct, set_int, text, to_bytes, to_cstr, to_int
from .errors import check, raise_invalid

__all__ = ["AVAILABLE", "EMITTER_AVAILABLE", "TYPES", "Event", "Events", "Emitter", "QoeRun",
           "type_name", "validate", "VIEW_FIELDS", "QOE_FIELDS"]

AVAILABLE = hasattr(lib, "stream_events_new")
EMITTER_AVAILABLE = hasattr(lib, "stream_emitter_new")

Event = collections.namedtuple(
    "Event", "seq id type view_id session_id account_id profile_id title_id episode_id "
    "device_id client_ts server_ts playhead_ms br width height bl mtp sid cid ot su "
    "error_code error_fatal error_message")

#: Event type names by number (stream_event_type).
TYPES = {t: text(lib.stream_event_type_name(t))
         for t in range(lib.STREAM_EVENT_VIEWINIT, lib.STREAM_EVENT_HEARTBEAT + 1)}
_BY_NAME = {name: t for t, name in TYPES.items()}

_TEXT_FIELDS = ("view_id", "session_id", "profile_id", "title_id", "episode_id", "device_id",
                "sid", "cid", "ot", "error_message")
_INT_FIELDS = ("client_ts", "playhead_ms", "br", "width", "height", "bl", "mtp", "error_code")
_BOOL_FIELDS = ("su", "error_fatal")


#: Fields of a view record (stream_events_view), the keys of Events.view()'s dict.
VIEW_FIELDS = ("view_id", "session_id", "account_id", "profile_id", "title_id", "episode_id",
               "device_id", "day", "start_ts", "last_ts", "last_seq", "events", "requested",
               "started", "failed", "start_failed", "ended", "exited_before_start", "error_code",
               "startup_ms", "watch_ms", "playing_ms", "rebuffer_count", "rebuffer_ms",
               "peak_br", "br_ms", "br_sum", "rebuffer_pct", "rebuffer_per_min", "avg_br")
_VIEW_TEXT = VIEW_FIELDS[:8]
_VIEW_BOOL = ("requested", "started", "failed", "start_failed", "ended", "exited_before_start")

#: Keys of Events.qoe_stats()'s dict (stream_events_qoe_summary).
QOE_FIELDS = ("views", "started", "failures", "start_failures", "exits_before_start",
              "failure_pct", "start_failure_pct", "ebvs_pct", "startup_ms_p50", "startup_ms_p95",
              "watch_ms", "playing_ms", "rebuffer_count", "rebuffer_ms", "rebuffer_pct",
              "rebuffer_per_min", "rebuffer_pct_p50", "rebuffer_pct_p95", "avg_br")

_EXPORT_FORMATS = {"ndjson": 1, "csv": 2}


class QoeRun(collections.namedtuple("QoeRun", "events views")):
    """What :meth:`Events.qoe_run` did: the pair (events read, view records written), as it
    always was, and two attributes: ``foreign_events``, of the events read, those left out of
    their view because another account sent them under its view id (the view belongs to the
    account of its first event; docs/api/events.md, "View owner"); ``repair_failed``, failures
    of the repair of the views schema migration 16 marked for a rebuild (a view not rebuilt, a
    page of marks not listed or stored), which do not fail the run: each is logged as a
    warning and its mark kept for the next run. Compares and unpacks as the pair."""

    def __new__(cls, events, views, foreign_events=0, repair_failed=0):
        self = super().__new__(cls, events, views)
        self.foreign_events = foreign_events
        self.repair_failed = repair_failed
        return self

    def __repr__(self):
        return "QoeRun(events=%d, views=%d, foreign_events=%d, repair_failed=%d)" % (
            self.events, self.views, self.foreign_events, self.repair_failed)


def _export_format(fmt):
    if fmt not in _EXPORT_FORMATS:
        raise_invalid("fmt must be 'ndjson' or 'csv'")
    return _EXPORT_FORMATS[fmt]


def _view(p):
    d = {}
    for k in VIEW_FIELDS:
        v = getattr(p, k)
        if k in _VIEW_TEXT:
            v = _s(v)
        elif k in _VIEW_BOOL:
            v = bool(v)
        d[k] = v
    if d["startup_ms"] < 0:
        d["startup_ms"] = None
    if not d["failed"]:
        d["error_code"] = None
    return d


def type_name(t):
    """The name of an event type number ("rebufferstart"), or None."""
    return text(lib.stream_event_type_name(to_int(t, "type")))


def _s(arr):
    return ffi.string(arr).decode("utf-8", "replace")


def _event(p):
    return Event(p.seq, _s(p.id), TYPES.get(p.type, p.type), _s(p.view_id), _s(p.session_id),
                 _s(p.account_id), _s(p.profile_id), _s(p.title_id), _s(p.episode_id),
                 _s(p.device_id), p.client_ts, p.server_ts, p.playhead_ms, p.br, p.width,
                 p.height, p.bl, p.mtp, _s(p.sid), _s(p.cid), _s(p.ot), bool(p.su),
                 p.error_code, bool(p.error_fatal), _s(p.error_message))


def _take_events(pp, n):
    try:
        return [_event(pp[0][i]) for i in range(n)]
    finally:
        if pp[0] != ffi.NULL:
            lib.stream_free(pp[0])


def _fill_event(e, type_, fields):
    """Fill a stream_event from a type (name or number) and keyword fields."""
    if isinstance(type_, str):
        if type_ not in _BY_NAME:
            raise_invalid("unknown event type %r" % type_)
        e.type = _BY_NAME[type_]
    else:
        set_int(e, "type", type_, "type")
    for k, v in fields.items():
        if v is None:
            continue
        if k == "id" or k in _TEXT_FIELDS:
            b = to_bytes(v, k)
            size = len(getattr(e, k))
            if len(b) >= size or b"\0" in b:
                raise_invalid("%s is longer than %d bytes or contains NUL" % (k, size - 1))
            setattr(e, k, b)
        elif k in _INT_FIELDS:
            set_int(e, k, v, k)
        elif k in _BOOL_FIELDS:
            setattr(e, k, 1 if v else 0)
        else:
            raise TypeError("unknown event field %r" % k)


def _fill_log_event(e, ev):
    """A stored event (an :class:`Event` tuple or a mapping with its keys; ``seq`` ignored)
    into the C struct ``e``, account and server time included."""
    d = dict(ev._asdict() if hasattr(ev, "_asdict") else ev)
    d.pop("seq", None)
    account_id = d.pop("account_id", None)
    server_ts = d.pop("server_ts", None)
    type_ = d.pop("type", None)
    _fill_event(e, type_ if type_ is not None else 0, d)
    if account_id is not None:
        b = to_bytes(account_id, "account_id")
        if len(b) >= len(e.account_id) or b"\0" in b:
            raise_invalid("account_id is longer than %d bytes or contains NUL"
                          % (len(e.account_id) - 1))
        e.account_id = b
    if server_ts is not None:
        set_int(e, "server_ts", server_ts, "server_ts")


def validate(event):
    """Check one stored event (an :class:`Event` tuple or a mapping) as
    :meth:`Events.append` does, without storing it (stream_events_validate). Raises
    ProtocolError naming the field, or InvalidArgument for a value that does not fit."""
    if not AVAILABLE:
        raise ImportError("libstream was built without the server feature (events)")
    e = ffi.new("stream_event *")
    _fill_log_event(e, event)
    check(lib.stream_events_validate(e))


class Events:
    """Event ingest and the event log over a Store (borrowed: closing the Store closes
    this first). Thread-safe, like the C handle. ``max_body`` and ``max_events`` lower
    the caps (decompressed body bytes, events per batch)."""

    def __init__(self, store, *, max_body=None, max_events=None):
        if not AVAILABLE:
            raise ImportError("libstream was built without the server feature (events)")
        from .store import Store

        self._h_ = None
        if not isinstance(store, Store):
            raise TypeError("store must be a libstream.store.Store, not %s" % type(store).__name__)
        o = new_struct("stream_events_options")
        o.store = store._cptr
        if max_body is not None:
            set_int(o, "max_body", max_body, "max_body")
        if max_events is not None:
            set_int(o, "max_events", max_events, "max_events")
        out = ffi.new("stream_events **")
        check(lib.stream_events_new(out, o))
        self._store = store
        deps = (store._ptr,)
        self._h_ = ffi.gc(out[0], lambda p, _deps=deps: lib.stream_events_free(p))
        store._attach(self)

    @property
    def _h(self):
        if self._h_ is None:
            raise_invalid("the events handle is closed")
        if self._store.closed:
            raise_invalid("the store of this events handle is closed")
        return self._h_

    def close(self):
        """Free the handle now (not the store). No call may be running."""
        h, self._h_ = getattr(self, "_h_", None), None
        if h is not None:
            ffi.release(h)

    @property
    def closed(self):
        return self._h_ is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def ingest(self, body, fmt="protobuf", *, gzip=False, account_id, profile_id=None):
        """Store one batch all-or-nothing; returns (accepted, duplicates). ``fmt`` is
        "protobuf" or "json". Raises ProtocolError (malformed: nothing stored),
        OutOfRange (too big), Forbidden (another profile's event), Busy, IOFailure."""
        formats = {"protobuf": lib.STREAM_EVENTS_PROTOBUF, "json": lib.STREAM_EVENTS_JSON}
        if fmt not in formats:
            raise_invalid("fmt must be 'protobuf' or 'json'")
        data = to_bytes(body, "body")
        keep = Keep()
        r = ffi.new("stream_events_result *")
        check(lib.stream_events_ingest(self._h, r, data, len(data), formats[fmt],
                                       1 if gzip else 0, keep.cstr(account_id, "account_id"),
                                       keep.cstr(profile_id, "profile_id", allow_none=True)))
        return r.accepted, r.duplicates

    def append(self, events):
        """Trusted append (stream_events_append): store events that already carry their
        account, profile and server time — :class:`Event` tuples as :meth:`read` and
        :meth:`get` return them (another log's events), or mappings with those keys (``seq``
        is ignored, missing fields are empty or 0). One transaction, all-or-nothing, ids the
        log holds skipped; returns (accepted, duplicates). Never for player input. Raises
        ProtocolError (an invalid event: the message names its index and field; nothing
        stored), OutOfRange (none, or over 10000), InvalidArgument, Busy, IOFailure."""
        items = list(events)
        arr = ffi.new("stream_event[]", max(len(items), 1))
        for i, ev in enumerate(items):
            _fill_log_event(arr[i], ev)
        r = ffi.new("stream_events_result *")
        check(lib.stream_events_append(self._h, r, arr, len(items)))
        return r.accepted, r.duplicates

    def read(self, after=0, limit=100):
        """Up to ``limit`` events with seq > ``after``, in order."""
        pp = ffi.new("stream_event **")
        n = ffi.new("size_t *")
        check(lib.stream_events_read(self._h, pp, n, to_int(after, "after"),
                                     to_int(limit, "limit")))
        return _take_events(pp, n[0])

    def get(self, event_id):
        """The stored event with this id (NotFound)."""
        e = ffi.new("stream_event *")
        check(lib.stream_events_get(self._h, e, to_cstr(event_id, "event_id")))
        return _event(e)

    def stats(self):
        """(number of events in the log, highest sequence number)."""
        n = ffi.new("int64_t *")
        last = ffi.new("int64_t *")
        check(lib.stream_events_stats(self._h, n, last))
        return n[0], last[0]

    def checkpoint(self, consumer):
        """The consumer's checkpoint (0 when it never committed)."""
        out = ffi.new("int64_t *")
        check(lib.stream_events_checkpoint(self._h, out, to_cstr(consumer, "consumer")))
        return out[0]

    def lag(self, consumer, max=1000000):
        """Events in the log after the consumer's checkpoint, counted up to max."""
        out = ffi.new("int64_t *")
        check(lib.stream_events_lag(self._h, out, to_cstr(consumer, "consumer"), max))
        return out[0]

    def poll(self, consumer, limit=100):
        """(checkpoint, events after it): pass the checkpoint to commit()."""
        pp = ffi.new("stream_event **")
        n = ffi.new("size_t *")
        start = ffi.new("int64_t *")
        check(lib.stream_events_poll(self._h, pp, n, start, to_cstr(consumer, "consumer"),
                                     to_int(limit, "limit")))
        return start[0], _take_events(pp, n[0])

    def commit(self, consumer, from_seq, to_seq):
        """Advance the checkpoint from ``from_seq`` to ``to_seq`` (Conflict when it moved)."""
        check(lib.stream_events_commit(self._h, to_cstr(consumer, "consumer"),
                                       to_int(from_seq, "from_seq"), to_int(to_seq, "to_seq")))

    # ---- QoE ----------------------------------------------------------------

    def qoe_run(self):
        """Run the QoE consumer until it caught up with the log: a :class:`QoeRun`, the pair
        (events read, view records written) with ``.foreign_events`` (events of another
        account left out of their view) and ``.repair_failed`` (failures of the repair of the
        views marked by schema migration 16; they do not fail the run, their marks are kept
        for the next one). Idempotent; Conflict when another instance moved the checkpoint."""
        r = ffi.new("stream_events_qoe_run_result *")
        # The version whose fields are read below (repair_failed came with 2), not the header's
        # latest: a newer library still fills exactly these.
        r.version = 2
        check(lib.stream_events_qoe_run_ex(self._h, r))
        return QoeRun(r.events, r.views, r.foreign_events, r.repair_failed)

    def view(self, view_id):
        """One view's QoE record as a dict (keys VIEW_FIELDS; startup_ms and error_code are
        None when unknown / no failure). NotFound before the consumer has seen the view."""
        v = ffi.new("stream_events_view *")
        check(lib.stream_events_view_get(self._h, v, to_cstr(view_id, "view_id")))
        return _view(v)

    def qoe_stats(self, title_id=None, day=None, device_id=None):
        """Aggregates of the view records matching the filters (None = any; day is
        "YYYY-MM-DD", UTC) as a dict (keys QOE_FIELDS; the startup percentiles are None
        when no view started). Percentiles are exact nearest-rank values."""
        keep = Keep()
        s = ffi.new("stream_events_qoe_summary *")
        check(lib.stream_events_qoe_stats(self._h, s,
                                          keep.cstr(title_id, "title_id", allow_none=True),
                                          keep.cstr(day, "day", allow_none=True),
                                          keep.cstr(device_id, "device_id", allow_none=True)))
        d = {k: getattr(s, k) for k in QOE_FIELDS}
        for k in ("startup_ms_p50", "startup_ms_p95"):
            if d[k] < 0:
                d[k] = None
        return d

    def concurrent(self):
        """Concurrent viewers now: views with a playing/heartbeat event in the last 30 s."""
        out = ffi.new("int64_t *")
        check(lib.stream_events_concurrent(self._h, out))
        return out[0]

    # ---- exports ------------------------------------------------------------

    def export(self, directory, fmt="ndjson", *, consumer=None, batch_max=None, max_files=None):
        """Write the events after ``consumer``'s checkpoint (default "export") to
        ``directory`` as events-<first>-<last>.ndjson|.csv batch files (BigQuery schema:
        docs/api/events-bigquery-schema.json), resumably. Returns a dict with events, files,
        from_seq, to_seq."""
        keep = Keep()
        o = new_struct("stream_events_export_options")
        o.dir = keep.cstr(directory, "directory")
        o.format = _export_format(fmt)
        o.consumer = keep.cstr(consumer, "consumer", allow_none=True)
        if batch_max is not None:
            set_int(o, "batch_max", batch_max, "batch_max")
        if max_files is not None:
            set_int(o, "max_files", max_files, "max_files")
        r = ffi.new("stream_events_export_result *")
        check(lib.stream_events_export(self._h, r, o))
        return {"events": r.events, "files": r.files, "from_seq": r.from_seq,
                "to_seq": r.to_seq}

    def export_views(self, path, fmt="ndjson", day=None):
        """Write the QoE view records (of UTC ``day``, else all) to ``path`` atomically
        (docs/api/views-bigquery-schema.json). Returns the number of rows."""
        keep = Keep()
        n = ffi.new("int64_t *")
        check(lib.stream_events_export_views(self._h, n, keep.cstr(path, "path"),
                                             _export_format(fmt),
                                             keep.cstr(day, "day", allow_none=True)))
        return n[0]


class Emitter:
    """The event emitter: ``emit()`` never blocks; a C thread sends. Keyword options map
    to stream_emitter_options (queue_max, batch_max_events, batch_max_bytes,
    flush_interval_ms, backoff_base_ms, backoff_max_ms, timeout_ms, shutdown_ms,
    spool_max_bytes, at least twice batch_max_bytes or InvalidArgument; ``gzip=False`` sends
    uncompressed). Only the ingest's JSON answer acknowledges a batch: a captive portal's 200
    or 302 is retried. ``close()`` flushes for up to shutdown_ms, then stops the thread. A
    spool file serves one emitter at a time: another one on the same file raises Busy.
    ``base_url`` follows Client's rule (no query, fragment, credentials, spaces) and tokens
    hold printable ASCII only (``set_token`` too), or InvalidArgument. ``ca_file`` (a PEM
    bundle) and ``ca_path`` (a directory of hashed certificates) say whom to trust for
    https instead of the system's store."""

    _OPTS = ("queue_max", "batch_max_events", "batch_max_bytes", "flush_interval_ms",
             "backoff_base_ms", "backoff_max_ms", "timeout_ms", "shutdown_ms", "spool_max_bytes")

    def __init__(self, base_url, *, access_token=None, spool_path=None, gzip=True, ca_file=None,
                 ca_path=None, **opts):
        if not EMITTER_AVAILABLE:
            raise ImportError("libstream was built without the client feature (emitter)")
        self._em = None
        keep = Keep()
        o = new_struct("stream_emitter_options")
        o.base_url = keep.cstr(base_url, "base_url")
        o.access_token = keep.cstr(access_token, "access_token", allow_none=True)
        o.spool_path = keep.cstr(spool_path, "spool_path", allow_none=True)
        o.ca_file = keep.cstr(ca_file, "ca_file", allow_none=True)
        o.ca_path = keep.cstr(ca_path, "ca_path", allow_none=True)
        o.no_gzip = 0 if gzip else 1
        for k, v in opts.items():
            if k not in self._OPTS:
                raise TypeError("unknown emitter option %r" % k)
            if v is not None:
                set_int(o, k, v, k)
        out = ffi.new("stream_emitter **")
        check(lib.stream_emitter_new(out, o))
        self._em = ffi.gc(out[0], lib.stream_emitter_free)

    @property
    def _h(self):
        if self._em is None:
            raise_invalid("the emitter is closed")
        return self._em

    def emit(self, type_, **fields):
        """Queue an event; returns its id. ``type_`` is a name ("heartbeat") or number;
        fields are the stream_event names (view_id is required; su and error_fatal are
        bools). Raises InvalidArgument for an event the server would refuse."""
        e = ffi.new("stream_event *")
        _fill_event(e, type_, fields)
        out = ffi.new("char[%d]" % (lib.STREAM_EVENTS_UUID_LEN + 1))
        check(lib.stream_emitter_emit(out, self._h, e))
        return ffi.string(out).decode()

    def set_token(self, access_token):
        """Use a new access token from the next request on (None clears it)."""
        check(lib.stream_emitter_set_token(self._h, to_cstr(access_token, "access_token",
                                                            allow_none=True)))

    def flush(self, timeout_ms=10000):
        """Send the events emitted before the call (by any thread) and wait for their
        acknowledgements, not for those emitted meanwhile (TimedOut)."""
        check(lib.stream_emitter_flush(self._h, to_int(timeout_ms, "timeout_ms")))

    def stats(self):
        """The counters as a dict (emitted, queued, sent, duplicates, dropped, rejected,
        retried, spooled, spool_dropped, batches)."""
        s = ffi.new("stream_emitter_stats *")
        check(lib.stream_emitter_stats_get(s, self._h))
        return {k: getattr(s, k) for k in ("emitted", "queued", "sent", "duplicates", "dropped",
                                           "rejected", "retried", "spooled", "spool_dropped",
                                           "batches")}

    def close(self):
        """Flush (up to shutdown_ms) and stop. Events not acknowledged stay in the spool."""
        em, self._em = getattr(self, "_em", None), None
        if em is not None:
            ffi.release(em)

    @property
    def closed(self):
        return self._em is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
