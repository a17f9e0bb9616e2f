"""libstream.relay.Reader: store A -> Relay -> a real nats-server with JetStream (loopback port,
its own storage) -> Reader -> store B, exactly once; skipped without nats-server."""
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

import libstream
from libstream import events as le
from libstream import relay as lr

NATS_SERVER = shutil.which("nats-server") or (
    "/usr/sbin/nats-server" if os.access("/usr/sbin/nats-server", os.X_OK) else None)

pytestmark = [
    pytest.mark.skipif(not hasattr(lr, "Reader") or not lr.AVAILABLE,
                       reason="built without the nats feature"),
    pytest.mark.skipif(NATS_SERVER is None, reason="nats-server is not installed"),
]


def ev(i):
    return {"id": "%08x-0000-4000-8000-%012x" % (i, i), "viewId": "v%d" % (i % 3),
            "type": "heartbeat" if i % 2 else "playing", "clientTs": 1700000000000 + i}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def nats_url(tmp_path):
    port = free_port()
    proc = subprocess.Popen([NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(port),
                             "-sd", str(tmp_path / "js")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "nats-server exited at start"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nats-server does not listen"
                time.sleep(0.05)
        yield "nats://127.0.0.1:%d" % port
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


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
