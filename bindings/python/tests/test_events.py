"""libstream.events: the ingest, event log and checkpoints over a real SQLite
store, and the emitter against the real streamd (STREAMD_BIN, set by meson)."""
import contextlib
import gzip
import json
import os
import select
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.request

import pytest

import libstream
from libstream import events as le

from conftest import make_pki

needs_server = pytest.mark.skipif(not le.AVAILABLE, reason="built without the server feature")
needs_client = pytest.mark.skipif(not le.EMITTER_AVAILABLE, reason="built without the client feature")


def ev(i, **kw):
    e = {"id": "%08x-0000-4000-8000-%012x" % (i, i), "viewId": "v1", "type": "heartbeat",
         "clientTs": 1700000000000 + i}
    e.update(kw)
    return e


@pytest.fixture
def evs(tmp_path):
    from libstream.store import Store
    with Store(str(tmp_path / "db.sqlite")) as st:
        with le.Events(st) as h:
            yield h


def test_type_names():
    assert le.type_name(8) == "rebufferstart"
    assert le.type_name(0) is None
    assert le.TYPES[13] == "heartbeat"


@needs_server
def test_ingest_dedup_read(evs):
    body = json.dumps({"events": [ev(1), ev(2, type="error", error={"code": 5, "message": "m",
                                                                   "fatal": True})]})
    assert evs.ingest(body, "json", account_id="acct") == (2, 0)
    assert evs.ingest(gzip.compress(body.encode()), "json", gzip=True, account_id="acct") == (0, 2)
    rows = evs.read()
    assert [r.seq for r in rows] == [1, 2]
    assert rows[0].type == "heartbeat" and rows[0].account_id == "acct"
    assert rows[1].type == "error" and rows[1].error_fatal is True and rows[1].error_message == "m"
    assert evs.get(rows[1].id).seq == 2
    assert evs.stats() == (2, 2)
    with pytest.raises(libstream.NotFound):
        evs.get("00000000-0000-4000-8000-0000000000ff")


@needs_server
def test_append_copies_another_log(evs, tmp_path):
    """Events.append: another log's events (read()'s tuples) stored with their account,
    profile and server time; all-or-nothing, de-duplicated, validated."""
    from libstream.store import Store
    body = json.dumps({"events": [ev(1, playheadMs=500, br=800000, su=True),
                                  ev(2, type="error", error={"code": 5, "message": "m",
                                                             "fatal": True})]})
    assert evs.ingest(body, "json", account_id="acct", profile_id="p-1") == (2, 0)
    src = evs.read()
    with Store(str(tmp_path / "replica.sqlite")) as st, le.Events(st) as rep:
        assert rep.append(src) == (2, 0)
        assert rep.append(src) == (0, 2)
        got = rep.read()
        assert [g._replace(seq=0) for g in got] == [e._replace(seq=0) for e in src]
        assert got[0].account_id == "acct" and got[0].profile_id == "p-1"
        assert got[0].server_ts == src[0].server_ts > 0
        # A mapping works too; an invalid event stores nothing of its batch.
        new = dict(src[0]._asdict(), id="00000000-0000-4000-8000-0000000000aa")
        bad = dict(new, id="00000000-0000-4000-8000-0000000000bb", account_id="")
        with pytest.raises(libstream.ProtocolError) as e:
            rep.append([new, bad])
        assert "account" in str(e.value)
        assert rep.stats()[0] == 2
        assert rep.append([new]) == (1, 0)
        with pytest.raises(libstream.OutOfRange):
            rep.append([])
        with pytest.raises(libstream.InvalidArgument):
            rep.append([dict(new, account_id="x" * 100)])
    # The same check without storing: le.validate (stream_events_validate).
    le.validate(src[0])
    for field, value, words in (("account_id", "", "account"), ("server_ts", 0, "serverTs"),
                                ("view_id", "", "viewId")):
        with pytest.raises(libstream.ProtocolError) as e:
            le.validate(dict(src[0]._asdict(), **{field: value}))
        assert words in str(e.value), str(e.value)


@needs_server
def test_malformed_batches_store_nothing(evs):
    with pytest.raises(libstream.ProtocolError):
        evs.ingest(json.dumps({"events": [ev(1), ev(2, type="nope")]}), "json", account_id="a")
    with pytest.raises(libstream.ProtocolError):
        evs.ingest(b"\x0a\x05\x0f", "protobuf", account_id="a")
    with pytest.raises(libstream.ProtocolError):
        evs.ingest(gzip.compress(b'{"events":[]}')[:-4], "json", gzip=True, account_id="a")
    with pytest.raises(libstream.OutOfRange):
        evs.ingest(json.dumps({"events": [ev(i) for i in range(1001)]}), "json", account_id="a")
    with pytest.raises(libstream.Forbidden):
        evs.ingest(json.dumps({"events": [ev(1, profileId="p2")]}), "json", account_id="a",
                   profile_id="p1")
    assert evs.stats() == (0, 0)


@needs_server
def test_checkpoints(evs):
    evs.ingest(json.dumps({"events": [ev(i) for i in range(1, 6)]}), "json", account_id="a")
    start, rows = evs.poll("qoe", limit=3)
    assert start == 0 and [r.seq for r in rows] == [1, 2, 3]
    evs.commit("qoe", start, rows[-1].seq)
    with pytest.raises(libstream.Conflict):
        evs.commit("qoe", 0, 1)
    assert evs.checkpoint("qoe") == 3
    start, rows = evs.poll("qoe")
    assert start == 3 and [r.seq for r in rows] == [4, 5]
    with pytest.raises(libstream.InvalidArgument):
        evs.commit("qoe", 3, 99)


@needs_server
def test_lag_counts_events_not_seqs(evs):
    """A duplicate id still takes a sequence number: the lag counts events."""
    first = json.dumps({"events": [ev(i) for i in range(1, 4)]})
    evs.ingest(first, "json", account_id="a")
    assert evs.ingest(first, "json", account_id="a") == (0, 3)
    evs.ingest(json.dumps({"events": [ev(i) for i in range(4, 6)]}), "json", account_id="a")
    seqs = [r.seq for r in evs.read()]
    assert len(seqs) == 5 and seqs[-1] > 5  # the duplicates left a gap
    assert evs.lag("qoe") == 5
    assert evs.lag("qoe", max=2) == 2
    evs.commit("qoe", 0, seqs[2])
    assert evs.lag("qoe") == 2
    evs.commit("qoe", seqs[2], seqs[-1])
    assert evs.lag("qoe") == 0
    with pytest.raises(libstream.InvalidArgument):
        evs.lag("qoe", max=0)


@needs_client
def test_emitter_validates_without_a_server():
    with le.Emitter("http://127.0.0.1:9", flush_interval_ms=60000, shutdown_ms=10) as em:
        with pytest.raises(libstream.InvalidArgument):
            em.emit("dance", view_id="v")
        with pytest.raises(libstream.InvalidArgument):
            em.emit("play")  # no view id
        with pytest.raises(libstream.InvalidArgument):
            em.emit("play", view_id="v", ot="zz")
        with pytest.raises(TypeError):
            em.emit("play", view_id="v", colour="red")
        eid = em.emit("play", view_id="v")
        assert len(eid) == 36 and eid[14] == "4"
        assert em.stats()["emitted"] == 1
    with pytest.raises(libstream.InvalidArgument):
        le.Emitter("ftp://x")
    # stream_client_new's base URL rule (review RV10): "#x" and "?q=" moved the events to
    # another path, whose 404 refused every batch for good.
    for url in ("http://", "http://a b/", "http://h/#x", "http://h/?q=", "http://u:p@h/",
                "http://h\r\nX: y"):
        with pytest.raises(libstream.InvalidArgument):
            le.Emitter(url)
    # A token goes into the Authorization header as it is: CR/LF would add header lines.
    with pytest.raises(libstream.InvalidArgument):
        le.Emitter("http://127.0.0.1:9", access_token="A\r\nX-Injected: yes")
    with le.Emitter("http://127.0.0.1:9", access_token="ok", shutdown_ms=10) as em:
        with pytest.raises(libstream.InvalidArgument):
            em.set_token("A\r\nX-Injected: yes")
        em.set_token("other")


@contextlib.contextmanager
def demo_streamd(tmp_path):
    """The real streamd on a loopback port with the demo catalog: (url, access token, data)."""
    if "STREAMD_BIN" not in os.environ:
        pytest.skip("STREAMD_BIN is not set")
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMD_")}
    env.pop("LD_PRELOAD", None)
    proc = subprocess.Popen([os.environ["STREAMD_BIN"], "--port", "0", "--listen-address",
                             "127.0.0.1", "--data-dir", str(data), "--log-level", "warn",
                             "--seed-demo", "--demo-catalog",
                             os.environ["STREAMD_DEMO_CATALOG"]],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    try:
        lines, buf = [], b""
        deadline = time.time() + 60
        while len(lines) < 2 and time.time() < deadline:
            if select.select([proc.stdout], [], [], 1)[0]:
                chunk = os.read(proc.stdout.fileno(), 4096)
                assert chunk, "streamd exited"
                buf += chunk
                *lines, rest = buf.split(b"\n")
        listening, demo = json.loads(lines[0]), json.loads(lines[1])
        url = "http://127.0.0.1:%d" % listening["port"]
        req = urllib.request.Request(url + "/v1/auth/login", json.dumps(
            {"email": demo["email"], "password": demo["password"]}).encode(),
            {"Content-Type": "application/json"})
        token = json.loads(urllib.request.urlopen(req, timeout=30).read())["access_token"]
        yield url, token, data
    finally:
        proc.terminate()
        proc.wait(30)
        proc.stdout.close()


@needs_server
@needs_client
def test_emitter_to_streamd(tmp_path):
    with demo_streamd(tmp_path) as (url, token, data):
        ids = []
        with le.Emitter(url, access_token=token, spool_path=str(tmp_path / "spool"),
                        flush_interval_ms=100) as em:
            for i in range(50):
                ids.append(em.emit("heartbeat", view_id="pyview", playhead_ms=i * 1000, br=2500,
                                   su=(i == 0)))
            em.flush(30000)
            st = em.stats()
            assert st["sent"] == 50 and st["dropped"] == 0 and st["rejected"] == 0
        from libstream.store import Store
        with Store(str(data / "streamd.db")) as store, le.Events(store) as h:
            got = [h.get(i) for i in ids]
        assert all(g.view_id == "pyview" and g.br == 2500 for g in got)
        assert got[0].su is True and got[1].su is False


def tls_front(tmp_path, target):
    """A TLS-terminating relay to `target` (host, port), as a load balancer in front of streamd,
    with a certificate for localhost from a CA made here: (port, the CA's PEM file, closer)."""
    pki = tmp_path / "pki"
    make_pki(pki)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(pki / "server.pem"), str(pki / "server.key"))
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)

    def pump(t, u):  # one thread per connection: OpenSSL objects are not for two threads
        try:
            while True:
                ready = [t] if t.pending() else select.select([t, u], [], [], 60)[0]
                if not ready:
                    return
                for s in ready:
                    b = s.recv(65536)
                    if not b:
                        return
                    (u if s is t else t).sendall(b)
        except OSError:
            pass
        finally:
            t.close()
            u.close()

    def serve():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return  # closed
            try:
                t = ctx.wrap_socket(c, server_side=True)
            except OSError:  # the client refused the certificate
                c.close()
                continue
            u = socket.create_connection(target)
            threading.Thread(target=pump, args=(t, u), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return ls.getsockname()[1], str(pki / "ca.pem"), ls.close


@needs_server
@needs_client
@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
def test_emitter_https_ca_file(tmp_path):
    """https to streamd behind a TLS front whose CA only ca_file names: sent with it; with
    the system's trust store the certificate does not verify and nothing is sent."""
    with demo_streamd(tmp_path) as (url, token, data):
        port, ca, close = tls_front(tmp_path, ("127.0.0.1", int(url.rsplit(":", 1)[1])))
        try:
            https = "https://localhost:%d" % port
            with le.Emitter(https, access_token=token, backoff_base_ms=50, backoff_max_ms=100,
                            flush_interval_ms=50, shutdown_ms=10) as em:
                em.emit("heartbeat", view_id="tls-untrusted", playhead_ms=0)
                deadline = time.time() + 60  # until an attempt has failed (no timing assumed)
                while em.stats()["retried"] == 0 and time.time() < deadline:
                    time.sleep(0.05)
                st = em.stats()
                assert st["sent"] == 0 and st["retried"] >= 1, st
            with le.Emitter(https, access_token=token, ca_file=ca, flush_interval_ms=50) as em:
                ids = [em.emit("heartbeat", view_id="tls-view", playhead_ms=i * 1000)
                       for i in range(5)]
                em.flush(30000)
                st = em.stats()
                assert st["sent"] == 5 and st["rejected"] == 0, st
            with pytest.raises(libstream.InvalidArgument):
                le.Emitter(https, ca_file="")
        finally:
            close()
        from libstream.store import Store
        with Store(str(data / "streamd.db")) as store, le.Events(store) as h:
            assert [h.get(i).view_id for i in ids] == ["tls-view"] * 5


@needs_client
def test_emitter_spool_is_locked(tmp_path):
    # Two emitters on one spool would append over each other's records: the second is refused.
    spool = str(tmp_path / "spool")
    with le.Emitter("http://127.0.0.1:9", spool_path=spool, shutdown_ms=50):
        with pytest.raises(libstream.Busy):
            le.Emitter("http://127.0.0.1:9", spool_path=spool)
    with le.Emitter("http://127.0.0.1:9", spool_path=spool, shutdown_ms=50):
        pass
