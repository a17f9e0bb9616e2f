"""The event log relayed to NATS JetStream (nats feature; stream/relay.h).

``Relay`` publishes the events after its checkpoint to a JetStream stream, one batch per
``run_once()``, and advances the checkpoint only when JetStream acknowledged every event of the
batch (each message carries ``Nats-Msg-Id`` = the event id, so a batch published twice is
stored once)::

    with libstream.relay.Relay(events, "nats://127.0.0.1:4222", create_stream=True) as r:
        published, duplicates = r.run_once()
        print(r.lag())

Messages: subject ``<subject_prefix>.<type name>``, headers ``Nats-Msg-Id``, ``Outbox-Seq``,
``Event-Type``, ``Content-Type: application/x-protobuf``, payload the ``Event`` message of
events.proto (docs/api/relay.md). Credentials: ``user`` + ``password``, or ``token``, or
``secret_file`` (its first line: the password with ``user``, else the token), or
``creds_file``; they are never part of an error message. TLS: ``tls://host:port`` URLs, or
any of ``tls_ca_file`` (PEM CA of the server's certificate, trusted besides the system's),
``tls_cert_file`` + ``tls_key_file`` (client certificate for mutual TLS); the server's
certificate and host name are always verified::

    Relay(events, "tls://nats.example:4222", tls_ca_file="/etc/nats/ca.pem",
          tls_cert_file="/etc/streamd/nats.pem", tls_key_file="/etc/streamd/nats.key")

``Reader`` is the other end: it reads the stream through a durable pull consumer into another
event log (an analytics replica), exactly once (docs/api/relay.md, "Consuming into another
event log")::

    with libstream.relay.Reader(replica_events, "nats://127.0.0.1:4222") as rd:
        appended, duplicates, rejected = rd.run_once()
"""
from ._ffi import ffi, lib
from ._util import Handle, Keep, new_struct, set_int, text
from .errors import check, raise_invalid

__all__ = ["AVAILABLE", "Relay", "Reader"]

AVAILABLE = hasattr(lib, "stream_relay_new")


class Relay(Handle):
    """A relay of an :class:`libstream.events.Events` log (borrowed: closing its Store closes
    this first) to a JetStream stream. One thread at a time, like the C handle. Raises
    InvalidArgument (bad options), IOFailure (NATS unreachable: the message names the URL),
    AuthError (credentials refused; those of ``creds_file``: the message names the file),
    NotFound (no stream and ``create_stream`` false); IOFailure too for a TLS file that
    cannot be read or a failed TLS handshake, and for a ``creds_file`` (a NATS credentials
    file: user JWT and NKey seed, as nsc writes it) that cannot be opened or used (the
    message names the file, never the seed)."""

    def __init__(self, events, url, *, stream_name=None, subject_prefix=None, consumer=None,
                 batch=None, timeout_ms=None, create_stream=False, user=None, password=None,
                 token=None, secret_file=None, creds_file=None, tls_ca_file=None,
                 tls_cert_file=None, tls_key_file=None):
        if not AVAILABLE:
            raise ImportError("libstream was built without the nats feature (relay)")
        from .events import Events

        if not isinstance(events, Events):
            raise TypeError("events must be a libstream.events.Events, not %s"
                            % type(events).__name__)
        keep = Keep()
        o = new_struct("stream_relay_options")
        o.events = events._h
        _connection_options(o, keep, url, stream_name, batch, timeout_ms, user, password, token,
                            secret_file, creds_file, tls_ca_file, tls_cert_file, tls_key_file)
        o.subject_prefix = keep.cstr(subject_prefix, "subject_prefix", allow_none=True)
        o.consumer = keep.cstr(consumer, "consumer", allow_none=True)
        o.create_stream = 1 if create_stream else 0
        out = ffi.new("stream_relay **")
        check(lib.stream_relay_new(out, o))
        self._events = events
        deps = (events._h_,)
        self._ptr = ffi.gc(out[0], lambda p, _deps=deps: lib.stream_relay_free(p))
        events._store._attach(self)

    _repr_name = "libstream.relay.Relay"

    @property
    def _h(self):
        if self._ptr is None:
            raise_invalid("the relay is closed")
        if self._events.closed:
            raise_invalid("the events handle of this relay is closed")
        return self._ptr

    def run_once(self):
        """One round: (published, duplicates). (0, 0) when there was nothing new, or when
        another relay of the same consumer committed first. On error (TimedOut, IOFailure,
        ProtocolError; NotFound: the stream had disappeared and was created again with
        ``create_stream``, or it is missing) the checkpoint is unchanged and the next round
        publishes again."""
        p = ffi.new("int64_t *")
        d = ffi.new("int64_t *")
        check(lib.stream_relay_run_once(self._h, p, d))
        return p[0], d[0]

    def lag(self):
        """The log's last sequence number minus the relay's checkpoint (0 when caught up): an
        upper bound of the events not relayed yet, not their count, since sequence numbers
        skip (a duplicate id takes one, deleted events leave holes).
        ``Events.lag(consumer)`` with the relay's consumer name counts them."""
        out = ffi.new("int64_t *")
        check(lib.stream_relay_lag(self._h, out))
        return out[0]


def _connection_options(o, keep, url, stream_name, batch, timeout_ms, user, password, token,
                        secret_file, creds_file, tls_ca_file, tls_cert_file, tls_key_file):
    """The fields stream_relay_options and stream_relay_reader_options share."""
    o.url = keep.cstr(url, "url", allow_none=True)
    o.stream_name = keep.cstr(stream_name, "stream_name", allow_none=True)
    if batch is not None:
        set_int(o, "batch", batch, "batch")
    if timeout_ms is not None:
        set_int(o, "timeout_ms", timeout_ms, "timeout_ms")
    o.user = keep.cstr(user, "user", allow_none=True)
    o.password = keep.cstr(password, "password", allow_none=True)
    o.token = keep.cstr(token, "token", allow_none=True)
    o.secret_file = keep.cstr(secret_file, "secret_file", allow_none=True)
    o.creds_file = keep.cstr(creds_file, "creds_file", allow_none=True)
    o.tls_ca_file = keep.cstr(tls_ca_file, "tls_ca_file", allow_none=True)
    o.tls_cert_file = keep.cstr(tls_cert_file, "tls_cert_file", allow_none=True)
    o.tls_key_file = keep.cstr(tls_key_file, "tls_key_file", allow_none=True)


class Reader(Handle):
    """A reader of a JetStream stream (what a Relay publishes) into an
    :class:`libstream.events.Events` log (borrowed: closing its Store closes this first),
    through the durable pull consumer ``durable`` (created when missing, else resumed).
    Exactly once in that log: each round appends in one transaction, de-duplicated by event
    id, and acknowledges only after the commit. One thread at a time, like the C handle.
    Connection options as :class:`Relay`. ``ack_wait_ms``: the durable's ack wait (default
    30000; an existing durable is updated to it); ``fetch_wait_ms``: how long a round waits for
    a first message (default ``timeout_ms``); ``defer_delay_ms``: how long a message only a
    newer libstream can read waits before JetStream delivers it again (default 60000; see
    :attr:`deferred`). Raises InvalidArgument (bad options), IOFailure
    (NATS unreachable), AuthError, NotFound (no such stream), ProtocolError (the durable
    exists as another kind of consumer, or limits deliveries)."""

    def __init__(self, events, url, *, stream_name=None, durable=None, filter_subject=None,
                 batch=None, timeout_ms=None, user=None, password=None, token=None,
                 secret_file=None, creds_file=None, tls_ca_file=None, tls_cert_file=None,
                 tls_key_file=None, ack_wait_ms=None, fetch_wait_ms=None, defer_delay_ms=None):
        if not hasattr(lib, "stream_relay_reader_new"):
            raise ImportError("libstream was built without the nats feature (relay reader)")
        from .events import Events

        if not isinstance(events, Events):
            raise TypeError("events must be a libstream.events.Events, not %s"
                            % type(events).__name__)
        keep = Keep()
        o = new_struct("stream_relay_reader_options")
        o.events = events._h
        _connection_options(o, keep, url, stream_name, batch, timeout_ms, user, password, token,
                            secret_file, creds_file, tls_ca_file, tls_cert_file, tls_key_file)
        o.durable = keep.cstr(durable, "durable", allow_none=True)
        o.filter_subject = keep.cstr(filter_subject, "filter_subject", allow_none=True)
        if ack_wait_ms is not None:
            set_int(o, "ack_wait_ms", ack_wait_ms, "ack_wait_ms")
        if fetch_wait_ms is not None:
            set_int(o, "fetch_wait_ms", fetch_wait_ms, "fetch_wait_ms")
        if defer_delay_ms is not None:
            set_int(o, "defer_delay_ms", defer_delay_ms, "defer_delay_ms")
        out = ffi.new("stream_relay_reader **")
        check(lib.stream_relay_reader_new(out, o))
        self._events = events
        deps = (events._h_,)
        self._ptr = ffi.gc(out[0], lambda p, _deps=deps: lib.stream_relay_reader_free(p))
        events._store._attach(self)

    _repr_name = "libstream.relay.Reader"

    @property
    def _h(self):
        if self._ptr is None:
            raise_invalid("the reader is closed")
        if self._events.closed:
            raise_invalid("the events handle of this reader is closed")
        return self._ptr

    def run_once(self):
        """One round: (appended, duplicates, rejected). (0, 0, 0) when nothing came within
        ``fetch_wait_ms``. ``rejected`` messages (invalid payloads) were terminated: see
        :meth:`rejections`; those only a newer libstream can read were put back, not counted
        here: see :attr:`deferred`. On error (IOFailure: not connected; NotFound: the durable had
        vanished and was created again, or the stream is gone; Busy, IOFailure: the event
        log) nothing was acknowledged and the messages come again; invalid ones the round
        terminated before its append failed are still in :meth:`rejections`."""
        a = ffi.new("int64_t *")
        d = ffi.new("int64_t *")
        x = ffi.new("int64_t *")
        check(lib.stream_relay_reader_run_once(self._h, a, d, x))
        return a[0], d[0], x[0]

    @property
    def rejection(self):
        """Why the reader last terminated a message ("" when it never did)."""
        return text(lib.stream_relay_reader_rejection(self._h))

    def rejections(self):
        """Why each message the last round terminated was, in fetch order (a list of str,
        empty when it terminated none)."""
        n = ffi.new("size_t *")
        arr = lib.stream_relay_reader_rejections(self._h, n)
        return [text(arr[i]) for i in range(n[0])]

    @property
    def deferred(self):
        """How many messages the last round put back because only a newer libstream can read
        them (an event type or CMCD object type this build does not know): not stored, not
        terminated, delivered again after ``defer_delay_ms`` (each time counted again)."""
        out = ffi.new("int64_t *")
        check(lib.stream_relay_reader_deferred(self._h, out))
        return out[0]

    @property
    def deferral(self):
        """Why the reader last put a message back ("" when it never did)."""
        return text(lib.stream_relay_reader_deferral(self._h))

    def lag(self):
        """Messages of the stream the durable has not had acknowledged yet (deferred ones
        included)."""
        out = ffi.new("int64_t *")
        check(lib.stream_relay_reader_lag(self._h, out))
        return out[0]
