"""Durable jobs: a job queue over the store with leases, heartbeats, retries
with exponential backoff and de-duplication; a worker pool running a Python
handler on C threads; and the registry of the media assets transcode jobs
produce.

``Jobs`` wraps one ``stream_jobs`` handle over a :class:`libstream.store.Store`
(borrowed). Jobs and assets come back as named tuples (:class:`Job`,
:class:`Asset`) with JSON fields decoded. A ``clock`` (callable returning
Unix seconds) replaces the system clock, for tests.

    from libstream.store import Store
    from libstream.jobs import Jobs
    with Store("db.sqlite") as st:
        jobs = Jobs(st, lease_seconds=30)
        job_id, created = jobs.enqueue("transcode", {"upload_id": "u1"}, dedup_key="u1")
        job = jobs.claim("worker-1")
        jobs.complete(job.id, "worker-1", {"ok": True})
"""
import collections
import json
import time

from ._ffi import ffi, lib
from ._util import Keep, new_struct, set_int, text, to_int
from .errors import check, raise_invalid

__all__ = ["AVAILABLE", "Jobs", "Job", "Asset", "JobContext", "Pool"]

AVAILABLE = hasattr(lib, "stream_jobs_new")

Job = collections.namedtuple(
    "Job", "id kind dedup_key status payload result error attempts max_attempts progress "
    "cancel_requested worker lease_until run_after created_at updated_at finished_at")
Asset = collections.namedtuple(
    "Asset", "id title_id episode_id status dir job_id summary error created_at ready_at")

_STATUSES = ("queued", "running", "succeeded", "failed", "canceled")


def _require():
    if not AVAILABLE:
        raise ImportError("libstream was built without the server feature (jobs)")


def _s(arr):
    return ffi.string(arr).decode("utf-8", "replace")


def _json(p):
    t = text(p)
    return None if t is None else json.loads(t)


def _job(p):
    return Job(_s(p.id), _s(p.kind), _s(p.dedup_key) or None,
               text(lib.stream_job_status_name(p.status)), _json(p.payload), _json(p.result),
               text(p.error), p.attempts, p.max_attempts, p.progress, bool(p.cancel_requested),
               _s(p.worker) or None, p.lease_until, p.run_after, p.created_at, p.updated_at,
               p.finished_at)


def _asset(p):
    return Asset(_s(p.id), _s(p.title_id), _s(p.episode_id) or None,
                 text(lib.stream_asset_status_name(p.status)), _s(p.dir), _s(p.job_id) or None,
                 _json(p.summary), text(p.error), p.created_at, p.ready_at)


def _dump(value, name):
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        return value
    return json.dumps(value)


class JobContext:
    """What a pool handler sees of its running job."""

    def __init__(self, ctx):
        self._ctx = ctx

    def progress(self, fraction):
        """Report progress (0..1); False when the handler should stop."""
        return lib.stream_jobs_ctx_progress(self._ctx, float(fraction)) == lib.STREAM_OK

    @property
    def canceled(self):
        return bool(lib.stream_jobs_ctx_canceled(self._ctx))

    @property
    def timed_out(self):
        """True past the pool's max_runtime (the job then fails for good), unlike a shutdown."""
        return bool(lib.stream_jobs_ctx_timed_out(self._ctx))

    def set_result(self, result):
        keep = Keep()
        check(lib.stream_jobs_ctx_set_result(
            self._ctx, keep.cstr(_dump(result, "result"), "result", allow_none=True)))

    def set_error(self, error, retry=True):
        keep = Keep()
        check(lib.stream_jobs_ctx_set_error(self._ctx, keep.cstr(error, "error"),
                                            1 if retry else 0))


class Pool:
    """Worker threads running ``handler(ctx, job)`` (from :meth:`Jobs.pool`).
    The handler returns None or True to complete the job (result from
    ``ctx.set_result``), False or raises to fail it (retried unless
    ``ctx.set_error(..., retry=False)``); returning None once ``ctx.canceled``
    is set releases the job (or ends it canceled). ``stop()`` (or leaving the ``with`` block) waits for the
    handlers."""

    def __init__(self, jobs, handler, threads, kind, worker_prefix, poll_ms, max_runtime=None):
        if not callable(handler):
            raise TypeError("handler must be callable")
        keep = Keep()

        def trampoline(ctx, job, _ud):
            c = JobContext(ctx)
            try:
                ok = handler(c, _job(job))
            except BaseException as e:  # noqa: BLE001 - reported as the job's error
                try:
                    c.set_error("%s: %s" % (type(e).__name__, e))
                except Exception:
                    pass
                return lib.STREAM_EINTERNAL
            if ok is False:
                return lib.STREAM_EINTERNAL
            if c.canceled and ok is not True:
                return lib.STREAM_ECANCELED
            return lib.STREAM_OK

        self._cb = ffi.callback("stream_jobs_handler_fn", trampoline)
        o = new_struct("stream_jobs_pool_options")
        set_int(o, "threads", threads, "threads")
        o.kind = keep.cstr(kind, "kind", allow_none=True)
        o.worker_prefix = keep.cstr(worker_prefix, "worker_prefix", allow_none=True)
        o.handler = self._cb
        if poll_ms is not None:
            set_int(o, "poll_ms", poll_ms, "poll_ms")
        if max_runtime is not None:
            set_int(o, "max_runtime_seconds", max_runtime, "max_runtime")
        out = ffi.new("stream_jobs_pool **")
        check(lib.stream_jobs_pool_start(out, jobs._cptr, o))
        self._p = out[0]
        self._jobs = jobs

    def wake(self):
        if self._p is not None:
            lib.stream_jobs_pool_wake(self._p)

    def stop(self):
        p, self._p = self._p, None
        if p is not None:
            lib.stream_jobs_pool_stop(p)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Jobs:
    """The job queue and asset registry over a Store. Options as in
    ``stream_jobs_options``: ``lease_seconds`` (60), ``max_attempts`` (5),
    ``backoff_seconds`` (10), ``backoff_max_seconds`` (3600), ``clock``."""

    def __init__(self, store, *, lease_seconds=None, max_attempts=None, backoff_seconds=None,
                 backoff_max_seconds=None, clock=None):
        _require()
        from .store import Store

        self._j = None
        if not isinstance(store, Store):
            raise TypeError("store must be a libstream.store.Store, not %s" % type(store).__name__)
        o = new_struct("stream_jobs_options")
        o.store = store._cptr
        for name, v in (("lease_seconds", lease_seconds), ("max_attempts", max_attempts),
                        ("backoff_seconds", backoff_seconds),
                        ("backoff_max_seconds", backoff_max_seconds)):
            if v is not None:
                set_int(o, name, v, name)
        self._clock_cb = None
        if clock is not None:
            if not callable(clock):
                raise TypeError("clock must be callable (returning Unix seconds)")

            def trampoline(_ud):
                try:
                    return int(clock())
                except BaseException:
                    return int(time.time())

            self._clock_cb = ffi.callback("stream_jobs_clock_fn", trampoline)
            o.now = self._clock_cb
        out = ffi.new("stream_jobs **")
        check(lib.stream_jobs_new(out, o))
        deps = (store._ptr, self._clock_cb)
        self._j = ffi.gc(out[0], lambda p, _deps=deps: lib.stream_jobs_free(p))
        self._pools = []
        store._attach(self)

    @property
    def _cptr(self):
        if self._j is None:
            raise_invalid("the job queue is closed")
        return self._j

    def close(self):
        for p in self._pools:
            p.stop()
        self._pools = []
        j, self._j = self._j, None
        if j is not None:
            ffi.release(j)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- queue --------------------------------------------------------------------

    def enqueue(self, kind, payload=None, dedup_key=None, max_attempts=0):
        """(job id, created): created is False when ``dedup_key`` matched a job."""
        keep = Keep()
        out = ffi.new("char[]", lib.STREAM_JOBS_ID_SIZE)
        created = ffi.new("int *")
        check(lib.stream_jobs_enqueue(out, created, self._cptr, keep.cstr(kind, "kind"),
                                      keep.cstr(_dump(payload, "payload"), "payload",
                                                allow_none=True),
                                      keep.cstr(dedup_key, "dedup_key", allow_none=True),
                                      to_int(max_attempts, "max_attempts")))
        return _s(out), bool(created[0])

    def claim(self, worker, kind=None):
        """The claimed Job, or None when nothing is runnable."""
        keep = Keep()
        p = ffi.new("stream_job *")
        rc = lib.stream_jobs_claim(p, self._cptr, keep.cstr(worker, "worker"),
                                   keep.cstr(kind, "kind", allow_none=True))
        if rc == lib.STREAM_ENOTFOUND:
            return None
        check(rc)
        try:
            return _job(p)
        finally:
            lib.stream_job_clear(p)

    def heartbeat(self, job_id, worker, progress=-1.0):
        keep = Keep()
        check(lib.stream_jobs_heartbeat(self._cptr, keep.cstr(job_id, "job_id"),
                                        keep.cstr(worker, "worker"), float(progress)))

    def complete(self, job_id, worker, result=None):
        keep = Keep()
        check(lib.stream_jobs_complete(self._cptr, keep.cstr(job_id, "job_id"),
                                       keep.cstr(worker, "worker"),
                                       keep.cstr(_dump(result, "result"), "result",
                                                 allow_none=True)))

    def fail(self, job_id, worker, error, retry=True):
        """Record a failure: the job's new status ("queued", "failed", "canceled")."""
        keep = Keep()
        st = ffi.new("int *")
        check(lib.stream_jobs_fail(st, self._cptr, keep.cstr(job_id, "job_id"),
                                   keep.cstr(worker, "worker"), keep.cstr(error, "error"),
                                   1 if retry else 0))
        return text(lib.stream_job_status_name(st[0]))

    def release(self, job_id, worker):
        keep = Keep()
        check(lib.stream_jobs_release(self._cptr, keep.cstr(job_id, "job_id"),
                                      keep.cstr(worker, "worker")))

    def cancel(self, job_id):
        keep = Keep()
        check(lib.stream_jobs_cancel(self._cptr, keep.cstr(job_id, "job_id")))

    def get(self, job_id):
        keep = Keep()
        p = ffi.new("stream_job *")
        check(lib.stream_jobs_get(p, self._cptr, keep.cstr(job_id, "job_id")))
        try:
            return _job(p)
        finally:
            lib.stream_job_clear(p)

    def list(self, status=None, limit=100):
        """Jobs newest first, optionally of one status ("queued", ...)."""
        code = 0
        if status is not None:
            if status not in _STATUSES:
                raise_invalid("status must be one of %s" % ", ".join(_STATUSES))
            code = _STATUSES.index(status) + 1
        out = ffi.new("stream_job **")
        n = ffi.new("size_t *")
        check(lib.stream_jobs_list(out, n, self._cptr, code, to_int(limit, "limit")))
        try:
            return [_job(out[0][i]) for i in range(n[0])]
        finally:
            lib.stream_job_list_free(out[0], n[0])

    def counts(self, statuses=None):
        """How many jobs of each kind are in each status: {(kind, status): count}, only pairs
        with jobs. ``statuses`` (names, e.g. ("queued", "running")) limits the statuses
        counted; None counts them all (succeeded jobs are kept for good: leave them out of a
        frequent count)."""
        codes = []
        for st in statuses if statuses is not None else ():
            if st not in _STATUSES:
                raise_invalid("status must be one of %s" % ", ".join(_STATUSES))
            codes.append(_STATUSES.index(st) + 1)
        if statuses is not None and not codes:
            return {}
        arr = ffi.new("int[]", codes or 1)
        out = ffi.new("stream_jobs_count **")
        n = ffi.new("size_t *")
        check(lib.stream_jobs_counts(out, n, self._cptr, arr, len(codes)))
        try:
            return {(_s(out[0][i].kind), _STATUSES[out[0][i].status - 1]): out[0][i].count
                    for i in range(n[0])}
        finally:
            lib.stream_free(out[0])

    def pool(self, handler, threads=1, kind=None, worker_prefix=None, poll_ms=None,
             max_runtime=None):
        """Start a worker Pool (stopped by ``stop()`` or when the Jobs closes).
        ``max_runtime``: seconds one attempt may run (None or 0 = no limit); past it
        ``ctx.canceled`` turns true and the job fails for good ("job exceeded its runtime
        limit of N s") unless the handler still completes it."""
        p = Pool(self, handler, threads, kind, worker_prefix, poll_ms, max_runtime)
        self._pools.append(p)
        return p

    # ---- assets -------------------------------------------------------------------

    def asset_create(self, title_id, episode_id=None, dir=None, job_id=None):
        keep = Keep()
        out = ffi.new("char[]", lib.STREAM_JOBS_ID_SIZE)
        check(lib.stream_jobs_asset_create(out, self._cptr, keep.cstr(title_id, "title_id"),
                                           keep.cstr(episode_id, "episode_id", allow_none=True),
                                           keep.cstr(dir, "dir", allow_none=True),
                                           keep.cstr(job_id, "job_id", allow_none=True)))
        return _s(out)

    def asset_ready(self, asset_id, summary=None):
        keep = Keep()
        check(lib.stream_jobs_asset_ready(self._cptr, keep.cstr(asset_id, "asset_id"),
                                          keep.cstr(_dump(summary, "summary"), "summary",
                                                    allow_none=True)))

    def asset_ready_if(self, asset_id, summary=None, expected_current=None):
        """Publish the asset only if the title's current asset is still
        ``expected_current`` (the asset it was built on; None = the title had
        none). Raises Conflict, publishing nothing, when another asset is
        current; an asset already ready is left as it is."""
        keep = Keep()
        check(lib.stream_jobs_asset_ready_if(
            self._cptr, keep.cstr(asset_id, "asset_id"),
            keep.cstr(_dump(summary, "summary"), "summary", allow_none=True),
            keep.cstr(expected_current, "expected_current", allow_none=True)))

    def asset_failed(self, asset_id, error):
        keep = Keep()
        check(lib.stream_jobs_asset_failed(self._cptr, keep.cstr(asset_id, "asset_id"),
                                           keep.cstr(error, "error")))

    def asset_get(self, asset_id):
        keep = Keep()
        p = ffi.new("stream_asset *")
        check(lib.stream_jobs_asset_get(p, self._cptr, keep.cstr(asset_id, "asset_id")))
        try:
            return _asset(p)
        finally:
            lib.stream_asset_clear(p)

    def asset_for_title(self, title_id, episode_id=None):
        """The latest ready Asset of a title (or episode), or None."""
        keep = Keep()
        p = ffi.new("stream_asset *")
        rc = lib.stream_jobs_asset_for_title(p, self._cptr, keep.cstr(title_id, "title_id"),
                                             keep.cstr(episode_id, "episode_id", allow_none=True))
        if rc == lib.STREAM_ENOTFOUND:
            return None
        check(rc)
        try:
            return _asset(p)
        finally:
            lib.stream_asset_clear(p)

    def asset_list(self, title_id=None, limit=100):
        keep = Keep()
        out = ffi.new("stream_asset **")
        n = ffi.new("size_t *")
        check(lib.stream_jobs_asset_list(out, n, self._cptr,
                                         keep.cstr(title_id, "title_id", allow_none=True),
                                         to_int(limit, "limit")))
        try:
            return [_asset(out[0][i]) for i in range(n[0])]
        finally:
            lib.stream_asset_list_free(out[0], n[0])
