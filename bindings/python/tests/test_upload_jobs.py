"""libstream.upload and libstream.jobs over a real SQLite store in a temporary
directory: tus-style appends with checksums and crash leftovers, expiry, and
the durable queue (dedup, leases, retries), the worker pool with a Python
handler, and the asset registry."""
import base64
import hashlib
import os
import threading
import time

import pytest

import libstream

up_mod = pytest.importorskip("libstream.upload")
if not up_mod.AVAILABLE:  # pragma: no cover - client-only builds
    pytest.skip("libstream built without the server feature", allow_module_level=True)

from libstream.jobs import Jobs  # noqa: E402
from libstream.store import Store  # noqa: E402
from libstream.upload import Uploads, parse_metadata  # noqa: E402

NOW = 1700000000


class Clock:
    def __init__(self):
        self.t = NOW

    def __call__(self):
        return self.t


@pytest.fixture
def store(tmp_path):
    with Store(str(tmp_path / "db.sqlite")) as st:
        yield st


def sha1(b):
    return "sha1 " + base64.b64encode(hashlib.sha1(b).digest()).decode()


def test_upload_append_checksum_and_leftovers(store, tmp_path):
    clock = Clock()
    up = Uploads(store, str(tmp_path / "up"), max_length=100, expiry_seconds=60, clock=clock)
    u = up.create(11, owner="op", metadata={"title_id": "t1"})
    assert (u.length, u.offset, u.metadata, u.expires_at) == (11, 0, {"title_id": "t1"}, NOW + 60)
    assert up.append(u.id, 0, b"hello ") == 6
    with pytest.raises(libstream.Conflict):
        up.append(u.id, 0, b"x")
    with pytest.raises(libstream.ProtocolError):
        up.append(u.id, 6, b"WORLD", checksum=sha1(b"world"))
    with up.writer(u.id, 6, checksum=sha1(b"world")) as w:
        w.write(b"wor")
        w.write(b"ld")
    info = up.get(u.id)
    assert info.offset == 11 and info.completed_at == NOW
    with open(up.path(u.id), "rb") as f:
        assert f.read() == b"hello world"
    with pytest.raises(libstream.OutOfRange):
        up.create(101)
    # crash leftovers past the committed offset are cut off
    assert up.count_active() == 0  # u is complete
    v = up.create(10)
    up.append(v.id, 0, b"abc")
    assert up.count_active() == 1
    with open(up.path(v.id), "ab") as f:
        f.write(b"garbage")
    assert up.append(v.id, 3, b"d") == 4
    with open(up.path(v.id), "rb") as f:
        assert f.read() == b"abcd"
    clock.t += 61
    assert up.count_active() == 0  # v expired (before the sweep)
    with pytest.raises(libstream.Expired):
        up.get(v.id)
    assert up.sweep() == 1
    assert not os.path.exists(up.path(v.id))
    up.terminate(u.id)
    with pytest.raises(libstream.NotFound):
        up.get(u.id)
    assert parse_metadata("filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential") == {
        "filename": "world_domination_plan.pdf", "is_confidential": ""}
    with pytest.raises(libstream.InvalidArgument):
        parse_metadata("a YQ==,a YQ==")


def test_jobs_queue_lease_retry(store):
    clock = Clock()
    jobs = Jobs(store, lease_seconds=10, max_attempts=2, backoff_seconds=5, clock=clock)
    a, created = jobs.enqueue("transcode", {"upload_id": "u1"}, dedup_key="u1")
    assert created
    assert jobs.enqueue("transcode", {}, dedup_key="u1") == (a, False)
    j = jobs.claim("w1")
    assert (j.id, j.status, j.attempts, j.payload) == (a, "running", 1, {"upload_id": "u1"})
    assert jobs.claim("w2") is None
    jobs.heartbeat(a, "w1", 0.5)
    clock.t += 11
    j = jobs.claim("w2")  # w1 died: its lease expired
    assert j.id == a and j.attempts == 2 and j.worker == "w2"
    with pytest.raises(libstream.Conflict):
        jobs.complete(a, "w1")
    assert jobs.fail(a, "w2", "boom") == "failed"  # last attempt
    assert jobs.get(a).error == "boom"
    b, _ = jobs.enqueue("transcode", None)
    jobs.claim("w1")
    assert jobs.fail(b, "w1", "flaky") == "queued"
    assert jobs.get(b).run_after == clock.t + 5
    clock.t += 5
    jobs.claim("w1")
    jobs.complete(b, "w1", {"ok": 1})
    assert jobs.get(b).result == {"ok": 1}
    assert [x.id for x in jobs.list("succeeded")] == [b]
    c, _ = jobs.enqueue("transcode")
    jobs.cancel(c)
    assert jobs.get(c).status == "canceled"
    jobs.enqueue("thumbs")
    assert jobs.counts() == {("thumbs", "queued"): 1, ("transcode", "succeeded"): 1,
                             ("transcode", "failed"): 1, ("transcode", "canceled"): 1}
    assert jobs.counts(["queued", "failed"]) == {("thumbs", "queued"): 1,
                                                 ("transcode", "failed"): 1}
    assert jobs.counts(["running"]) == {}
    with pytest.raises(libstream.InvalidArgument):
        jobs.counts(["done"])
    jobs.close()


def test_pool_runs_python_handler(store):
    jobs = Jobs(store)
    ids = [jobs.enqueue("echo", {"n": i})[0] for i in range(6)]
    seen = []
    lock = threading.Lock()

    def handler(ctx, job):
        assert ctx.progress(0.5)
        with lock:
            seen.append(job.payload["n"])
        if job.payload["n"] == 5:
            ctx.set_error("five is bad", retry=False)
            return False
        ctx.set_result({"double": job.payload["n"] * 2})

    with jobs.pool(handler, threads=2, poll_ms=10) as pool:
        pool.wake()
        deadline = time.time() + 60
        while len(jobs.list("succeeded")) + len(jobs.list("failed")) < 6:
            assert time.time() < deadline
            time.sleep(0.01)
    assert sorted(seen) == list(range(6))
    assert jobs.get(ids[2]).result == {"double": 4}
    assert jobs.get(ids[5]).status == "failed" and jobs.get(ids[5]).error == "five is bad"


def test_pool_runtime_limit(store):
    jobs = Jobs(store)
    jid = jobs.enqueue("hang", {})[0]

    seen = []

    def handler(ctx, job):
        assert not ctx.timed_out
        while ctx.progress(0.5):  # never finishes on its own
            time.sleep(0.01)
        seen.append((ctx.canceled, ctx.timed_out))

    with jobs.pool(handler, poll_ms=10, max_runtime=1) as pool:
        pool.wake()
        deadline = time.time() + 15
        while jobs.get(jid).status != "failed":
            assert time.time() < deadline
            time.sleep(0.05)
    j = jobs.get(jid)
    assert j.attempts == 1 and "exceeded its runtime limit of 1 s" in j.error
    assert seen == [(True, True)]


def test_assets(store):
    from libstream.catalog import Catalog

    cat = Catalog(store)
    cat.put({"id": "movie1", "kind": "movie", "name": "M", "maturity_rating": 0})
    jobs = Jobs(store)
    assert jobs.asset_for_title("movie1") is None
    a = jobs.asset_create("movie1", job_id="j1")
    assert jobs.asset_get(a).status == "processing"
    jobs.asset_ready(a, {"renditions": []})
    got = jobs.asset_for_title("movie1")
    assert got.id == a and got.dir == a and got.summary == {"renditions": []}
    b = jobs.asset_create("movie1", dir="other")
    jobs.asset_failed(b, "bad input")
    assert {x.status for x in jobs.asset_list("movie1")} == {"ready", "failed"}
    with pytest.raises(libstream.NotFound):
        jobs.asset_create("nope")


def test_asset_ready_if(store):
    from libstream.catalog import Catalog

    Catalog(store).put({"id": "movie2", "kind": "movie", "name": "M2", "maturity_rating": 0})
    jobs = Jobs(store)
    a, b, c = (jobs.asset_create("movie2") for _ in range(3))
    jobs.asset_ready_if(a, {"v": 1})  # the first asset: built on none
    with pytest.raises(libstream.Conflict) as e:
        jobs.asset_ready_if(b, {"v": 2})  # built on none, but a is current now
    assert a in str(e.value)
    assert jobs.asset_get(b).status == "processing"
    jobs.asset_ready_if(b, {"v": 2}, expected_current=a)
    with pytest.raises(libstream.Conflict):
        jobs.asset_ready_if(c, None, expected_current=a)  # built on a, b came first
    assert jobs.asset_for_title("movie2").id == b
    jobs.asset_ready_if(a, None, expected_current=c)  # already ready: left as it is
    assert jobs.asset_for_title("movie2").id == b
