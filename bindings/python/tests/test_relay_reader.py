"""libstream.relay.Reader: store A -> Relay -> a real nats-server with JetStream (loopback port,
its own storage) -> Reader -> store B, exactly once; skipped without nats-server."""
import json
import socket

import pytest

import libstream
from libstream import events as le
from libstream import relay as lr

from conftest import NATS_SERVER

pytestmark = [
    pytest.mark.skipif(not hasattr(lr, "Reader") or not lr.AVAILABLE,
                       reason="built without the nats feature"),
    pytest.mark.skipif(NATS_SERVER is None, reason="nats-server is not installed"),
]


def ev(i):
    return {"id": "%08x-0000-4000-8000-%012x" % (i, i), "viewId": "v%d" % (i % 3),
            "type": "heartbeat" if i % 2 else "playing", "clientTs": 1700000000000 + i}


@pytest.fixture
def two_logs(tmp_path):
    from libstream.store import Store
    with Store(str(tmp_path / "a.sqlite")) as sa, Store(str(tmp_path / "b.sqlite")) as sb:
        with le.Events(sa) as a, le.Events(sb) as b:
            yield a, b


def test_reader_replicates(two_logs, nats_url):
    a, b = two_logs
    a.ingest(json.dumps({"events": [ev(i) for i in range(1, 12)]}), "json",
             account_id="acct-1", profile_id="p-1")
    with lr.Relay(a, nats_url, create_stream=True) as r:
        assert r.run_once() == (11, 0)
    with lr.Reader(b, nats_url, batch=5, timeout_ms=1000) as rd:
        assert rd.lag() == 11
        assert rd.run_once() == (5, 0, 0)
        assert rd.run_once() == (5, 0, 0)
        assert rd.run_once() == (1, 0, 0)
        assert rd.run_once() == (0, 0, 0)
        assert rd.lag() == 0
        assert rd.rejection == ""
    assert rd.closed
    src = a.read(0, 100)
    assert b.stats()[0] == 11
    for e in src:
        got = b.get(e.id)
        assert got._replace(seq=0) == e._replace(seq=0)  # account, profile, server_ts too
    # Another durable reads it all again: every event a duplicate.
    with lr.Reader(b, nats_url, durable="second", timeout_ms=1000) as rd:
        assert rd.run_once() == (0, 11, 0)


def test_reader_errors(two_logs, nats_url):
    from conftest import assert_status
    a, b = two_logs
    with pytest.raises(libstream.InvalidArgument) as e:
        lr.Reader(b, nats_url, durable="has.dot")
    assert_status(e, libstream.InvalidArgument, "STREAM_EINVAL", "durable")
    with pytest.raises(libstream.InvalidArgument):
        lr.Reader(b, nats_url, filter_subject="a.>.b")
    with pytest.raises(libstream.InvalidArgument):
        lr.Reader(b, nats_url, batch=0)
    with pytest.raises(libstream.NotFound):
        lr.Reader(b, nats_url)  # no stream yet
    with pytest.raises(TypeError):
        lr.Reader(object(), nats_url)
    lr.Relay(a, nats_url, create_stream=True).close()
    rd = lr.Reader(b, nats_url, timeout_ms=500)
    rd.close()
    with pytest.raises(libstream.InvalidArgument):
        rd.run_once()


def publish_raw(url, subject, payload):
    """Publish bytes into the stream with a bare NATS connection; JetStream's stream seq."""
    host, port = url[len("nats://"):].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        f = s.makefile("rb")
        assert f.readline().startswith(b"INFO ")
        s.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\nSUB _INBOX.rawpub 1\r\n'
                  b"PUB %s _INBOX.rawpub %d\r\n%s\r\n" % (subject.encode(), len(payload), payload))
        while True:
            line = f.readline()
            if line.startswith(b"PING"):
                s.sendall(b"PONG\r\n")
            elif line.startswith(b"MSG "):
                ack = json.loads(f.read(int(line.split()[-1]) + 2))
                assert "seq" in ack, ack
                return ack["seq"]
            else:
                raise AssertionError(line)


def test_reader_options_and_rejections(two_logs, nats_url, tmp_path):
    import sqlite3
    a, b = two_logs
    a.ingest(json.dumps({"events": [ev(i) for i in range(1, 4)]}), "json",
             account_id="acct-1", profile_id="p-1")
    with lr.Relay(a, nats_url, create_stream=True) as r:
        assert r.run_once() == (3, 0)
    assert publish_raw(nats_url, "stream.events.play", b"\xff\xff not an Event") == 4
    assert publish_raw(nats_url, "stream.events.play", b"\xff\x01") == 5
    with pytest.raises(libstream.InvalidArgument):
        lr.Reader(b, nats_url, ack_wait_ms=999)
    with pytest.raises(libstream.InvalidArgument):
        lr.Reader(b, nats_url, fetch_wait_ms=600001)
    with lr.Reader(b, nats_url, durable="opts", timeout_ms=1000, ack_wait_ms=2000,
                   fetch_wait_ms=200) as rd:
        assert rd.rejections() == []
        # B's log refuses the append: the round fails, yet its two invalid messages were
        # terminated and are listed.
        con = sqlite3.connect(str(tmp_path / "b.sqlite"), isolation_level=None, timeout=30)
        try:
            con.execute("CREATE TRIGGER refuse BEFORE INSERT ON event_log "
                        "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
            with pytest.raises(libstream.StreamError):
                rd.run_once()
            why = rd.rejections()
            assert len(why) == 2, why
            assert "stream seq 4 (subject stream.events.play)" in why[0]
            assert "stream seq 5 (subject stream.events.play)" in why[1]
            assert all("not a protobuf" in w for w in why)
            assert rd.rejection == why[1]
        finally:
            con.execute("DROP TRIGGER refuse")
            con.close()
        assert rd.run_once() == (3, 0, 0)  # negatively acknowledged: at once again
        assert rd.rejections() == []
        assert rd.rejection == why[1]
        assert rd.run_once() == (0, 0, 0)
        assert rd.lag() == 0


def pb_event(eid, etype):
    """A relayed libstream.events.v1.Event encoded by hand (events.proto): id, view_id,
    client_ts, server_ts, type, account_id."""
    def varint(n):
        out = b""
        while True:
            b, n = n & 0x7F, n >> 7
            out += bytes([b | (0x80 if n else 0)])
            if not n:
                return out

    def s(num, v):
        return varint(num << 3 | 2) + varint(len(v)) + v

    def i(num, v):
        return varint(num << 3) + varint(v)
    return (s(1, eid.encode()) + s(2, b"v-new") + i(8, 1700000000000) + i(9, 1700000000005) +
            i(10, etype) + s(22, b"acct-1"))


def wait_lag(rd, n):
    """JetStream applies acknowledgements after it answered the round's flush: the lag comes to
    `n` shortly after the round."""
    import time
    for _ in range(100):
        if rd.lag() == n:
            return True
        time.sleep(0.05)
    return rd.lag() == n


def test_reader_defers_newer_event_types(two_logs, nats_url):
    a, b = two_logs
    a.ingest(json.dumps({"events": [ev(1)]}), "json", account_id="acct-1", profile_id="p-1")
    with lr.Relay(a, nats_url, create_stream=True) as r:
        assert r.run_once() == (1, 0)
    newer = "0000abcd-0000-4000-8000-000000000014"
    assert publish_raw(nats_url, "stream.events.play", pb_event(newer, 14)) == 2
    assert publish_raw(nats_url, "stream.events.play", b"\xff\x02") == 3
    with pytest.raises(libstream.InvalidArgument):
        lr.Reader(b, nats_url, defer_delay_ms=999)
    with lr.Reader(b, nats_url, timeout_ms=1000, fetch_wait_ms=200, defer_delay_ms=1000) as rd:
        assert rd.deferred == 0 and rd.deferral == ""
        assert rd.run_once() == (1, 0, 1)  # the poison message still terminated
        assert rd.deferred == 1
        assert "stream seq 2 (subject stream.events.play)" in rd.deferral
        assert "event type 14 is unknown" in rd.deferral
        assert "delivered again in 1000 ms" in rd.deferral
        assert wait_lag(rd, 1)  # kept by the durable
        with pytest.raises(libstream.NotFound):
            b.get(newer)
        again = 0
        for _ in range(50):  # 200 ms rounds: after the 1 s delay it comes again
            assert rd.run_once() == (0, 0, 0)
            again += rd.deferred
            if again:
                break
        assert again == 1
        assert wait_lag(rd, 1)
