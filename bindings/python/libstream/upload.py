"""Durable resumable uploads (the storage side of tus 1.0).

``Uploads`` wraps one ``stream_uploads`` handle over a :class:`libstream.store.Store`
(borrowed: closing the Store closes it first) and a data directory. A session
is created with a declared length and a metadata dict, then appended to at its
current offset; :meth:`Uploads.append` writes a chunk, verifies an optional tus
checksum ("sha1 <base64>" / "sha256 <base64>"), fsyncs and commits the offset
before returning it. :meth:`Uploads.writer` gives the streaming form (a chunk in
pieces). Errors: ``Conflict`` (wrong offset, complete), ``ProtocolError``
(checksum mismatch: the chunk was discarded), ``OutOfRange`` (too long),
``Expired``, ``NotFound``, ``Busy`` (another writer).

    from libstream.store import Store
    from libstream.upload import Uploads
    with Store("db.sqlite") as st:
        up = Uploads(st, "uploads")
        u = up.create(11, metadata={"filename": "a.txt"})
        up.append(u.id, 0, b"hello world", checksum="sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=")
"""
import collections
import json
import time

from ._ffi import ffi, lib
from ._util import Keep, new_struct, set_int, text, to_bytes, to_int
from .errors import check, raise_invalid

__all__ = ["AVAILABLE", "Uploads", "UploadInfo", "UploadWriter", "parse_metadata"]

AVAILABLE = hasattr(lib, "stream_upload_new")

UploadInfo = collections.namedtuple(
    "UploadInfo", "id owner length offset metadata created_at expires_at completed_at")


def _require():
    if not AVAILABLE:
        raise ImportError("libstream was built without the server feature (upload)")


def _info(p):
    meta = text(p.metadata)
    return UploadInfo(ffi.string(p.id).decode(), ffi.string(p.owner).decode() or None, p.length,
                      p.offset, json.loads(meta) if meta else {}, p.created_at, p.expires_at,
                      p.completed_at)


def parse_metadata(header):
    """A tus ``Upload-Metadata`` header as a dict of str (values base64-decoded)."""
    _require()
    keep = Keep()
    out = ffi.new("char **")
    check(lib.stream_upload_metadata_parse(out, keep.cstr(header, "header", allow_none=True)))
    try:
        return json.loads(ffi.string(out[0]).decode("utf-8"))
    finally:
        lib.stream_free(out[0])


class UploadWriter:
    """One chunk being appended (from :meth:`Uploads.writer`). ``write()`` the
    pieces, then ``end()``; as a context manager, leaving the block normally
    ends it complete, an exception ends it cut short."""

    def __init__(self, w):
        self._w = w

    def write(self, data):
        if self._w is None:
            raise_invalid("the writer has ended")
        b = to_bytes(data, "data")
        check(lib.stream_upload_write(self._w, b, len(b)))

    def end(self, complete=True):
        """Finish the chunk: the committed offset after the call (int)."""
        if self._w is None:
            raise_invalid("the writer has ended")
        w, self._w = self._w, None
        off = ffi.new("int64_t *")
        check(lib.stream_upload_end(off, w, 1 if complete else 0))
        return off[0]

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if self._w is not None:
            if exc_type is None:
                self.end(True)
            else:
                try:
                    self.end(False)
                except Exception:
                    pass


class Uploads:
    """The upload service over a Store and a data directory (created 0700).
    ``max_length``: largest upload in bytes (default 10 GiB); ``expiry_seconds``:
    lifetime of an incomplete upload (default 86400, negative = never);
    ``clock``: a callable returning Unix seconds, for tests."""

    def __init__(self, store, directory, *, max_length=None, expiry_seconds=None, clock=None):
        _require()
        from .store import Store

        self._u = None
        if not isinstance(store, Store):
            raise TypeError("store must be a libstream.store.Store, not %s" % type(store).__name__)
        keep = Keep()
        o = new_struct("stream_upload_options")
        o.store = store._cptr
        o.dir = keep.cstr(directory, "directory")
        if max_length is not None:
            set_int(o, "max_length", max_length, "max_length")
        if expiry_seconds is not None:
            set_int(o, "expiry_seconds", expiry_seconds, "expiry_seconds")
        self._clock_cb = None
        if clock is not None:
            if not callable(clock):
                raise TypeError("clock must be callable (returning Unix seconds)")

            def trampoline(_ud):
                try:
                    return int(clock())
                except BaseException:
                    return int(time.time())

            self._clock_cb = ffi.callback("stream_upload_clock_fn", trampoline)
            o.now = self._clock_cb
        out = ffi.new("stream_uploads **")
        check(lib.stream_upload_new(out, o))
        deps = (store._ptr, self._clock_cb)
        self._u = ffi.gc(out[0], lambda p, _deps=deps: lib.stream_upload_free(p))
        store._attach(self)

    @property
    def _cptr(self):
        if self._u is None:
            raise_invalid("the upload service is closed")
        return self._u

    def close(self):
        p, self._u = self._u, None
        if p is not None:
            ffi.release(p)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def max_length(self):
        return lib.stream_upload_max_length(self._cptr)

    def create(self, length, owner=None, metadata=None):
        """A new session of ``length`` bytes with a dict of str ``metadata``: UploadInfo."""
        keep = Keep()
        meta = None if metadata is None else json.dumps(metadata)
        p = ffi.new("stream_upload_info *")
        check(lib.stream_upload_create(p, self._cptr, to_int(length, "length"),
                                       keep.cstr(owner, "owner", allow_none=True),
                                       keep.cstr(meta, "metadata", allow_none=True)))
        try:
            return _info(p)
        finally:
            lib.stream_upload_info_clear(p)

    def get(self, upload_id):
        keep = Keep()
        p = ffi.new("stream_upload_info *")
        check(lib.stream_upload_get(p, self._cptr, keep.cstr(upload_id, "upload_id")))
        try:
            return _info(p)
        finally:
            lib.stream_upload_info_clear(p)

    def writer(self, upload_id, offset, checksum=None):
        """Start a chunk at ``offset`` (the committed offset): an UploadWriter."""
        keep = Keep()
        out = ffi.new("stream_upload_writer **")
        check(lib.stream_upload_begin(out, self._cptr, keep.cstr(upload_id, "upload_id"),
                                      to_int(offset, "offset"),
                                      keep.cstr(checksum, "checksum", allow_none=True)))
        return UploadWriter(out[0])

    def append(self, upload_id, offset, data, checksum=None):
        """Append one chunk at ``offset``; the new committed offset (durable)."""
        b = to_bytes(data, "data")
        w = self.writer(upload_id, offset, checksum)
        try:
            w.write(b)
        except Exception:
            try:
                w.end(True)
            except Exception:
                pass
            raise
        return w.end(True)

    def path(self, upload_id):
        """The data file of the session (complete when the session is)."""
        keep = Keep()
        buf = ffi.new("char[]", lib.STREAM_UPLOAD_PATH_SIZE)
        check(lib.stream_upload_path(buf, lib.STREAM_UPLOAD_PATH_SIZE, self._cptr,
                                     keep.cstr(upload_id, "upload_id")))
        return ffi.string(buf).decode("utf-8")

    def terminate(self, upload_id):
        keep = Keep()
        check(lib.stream_upload_terminate(self._cptr, keep.cstr(upload_id, "upload_id")))

    def sweep(self):
        """Delete expired incomplete sessions: how many (int)."""
        n = ffi.new("size_t *")
        check(lib.stream_upload_sweep(n, self._cptr))
        return n[0]

    def count_active(self):
        """Sessions in progress: incomplete and not expired (int)."""
        n = ffi.new("int64_t *")
        check(lib.stream_upload_count_active(n, self._cptr))
        return n[0]
