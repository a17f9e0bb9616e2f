"""libstream.relay: the event log of a real SQLite store relayed to a real nats-server with
JetStream (started on a loopback port with its own storage; skipped without nats-server)."""
import json
import shutil
import signal
import subprocess

import pytest

import libstream
from libstream import events as le
from libstream import relay as lr

from conftest import NATS_SERVER, free_port, make_pki, wait_listening

pytestmark = [
    pytest.mark.skipif(not lr.AVAILABLE, reason="built without the nats feature"),
    pytest.mark.skipif(NATS_SERVER is None, reason="nats-server is not installed"),
]


def ev(i):
    return {"id": "%08x-0000-4000-8000-%012x" % (i, i), "viewId": "v1", "type": "heartbeat",
            "clientTs": 1700000000000 + i}


@pytest.fixture
def evs(tmp_path):
    from libstream.store import Store
    with Store(str(tmp_path / "db.sqlite")) as st:
        with le.Events(st) as h:
            yield h


def test_relay_run_once_and_duplicates(evs, nats_url):
    evs.ingest(json.dumps({"events": [ev(i) for i in range(1, 8)]}), "json", account_id="a")
    with lr.Relay(evs, nats_url, create_stream=True, batch=5) as r:
        assert r.lag() == 7
        assert r.run_once() == (5, 0)
        assert r.run_once() == (2, 0)
        assert r.run_once() == (0, 0)
        assert r.lag() == 0
    # A relay that never committed (another checkpoint name) publishes the same events again:
    # JetStream knows every id.
    with libstream.Relay(evs, nats_url, consumer="relay.other", batch=100) as r2:
        assert r2.run_once() == (7, 7)
    assert r.closed and r2.closed


def test_relay_errors(evs, nats_url):
    from conftest import assert_status
    with pytest.raises(libstream.InvalidArgument) as e:
        lr.Relay(evs, "http://127.0.0.1:4222")
    assert_status(e, libstream.InvalidArgument, "STREAM_EINVAL", "nats://")
    with pytest.raises(libstream.InvalidArgument):
        lr.Relay(evs, nats_url, batch=0)
    with pytest.raises(libstream.InvalidArgument):
        lr.Relay(evs, nats_url, stream_name="")
    with pytest.raises(libstream.InvalidArgument):
        lr.Relay(evs, "nats://u:secret@127.0.0.1:1")
    with pytest.raises(libstream.NotFound):
        lr.Relay(evs, nats_url)  # no stream, create_stream false
    dead = "nats://127.0.0.1:%d" % free_port()
    with pytest.raises(libstream.IOFailure) as e:
        lr.Relay(evs, dead, timeout_ms=1000)
    assert dead in e.value.message
    with pytest.raises(TypeError):
        lr.Relay(object(), nats_url)
    r = lr.Relay(evs, nats_url, create_stream=True)
    r.close()
    with pytest.raises(libstream.InvalidArgument):
        r.run_once()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
def test_relay_tls(evs, tmp_path):
    """A nats-server with TLS and client certificates (conftest.make_pki: openssl)."""
    pki = tmp_path / "pki"
    make_pki(pki, client=True)
    port = free_port()
    (pki / "nats.conf").write_text(
        'listen: "127.0.0.1:%d"\njetstream { store_dir: "%s" }\ntls { cert_file: "%s", '
        'key_file: "%s", ca_file: "%s", verify: true }\n'
        % (port, tmp_path / "js", pki / "server.pem", pki / "server.key", pki / "ca.pem"))
    proc = subprocess.Popen([NATS_SERVER, "-c", str(pki / "nats.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(proc, port)
        url = "tls://localhost:%d" % port
        evs.ingest(json.dumps({"events": [ev(i) for i in range(1, 4)]}), "json",
                   account_id="a")
        ca = str(pki / "ca.pem")
        with lr.Relay(evs, url, create_stream=True, tls_ca_file=ca,
                      tls_cert_file=str(pki / "client.pem"),
                      tls_key_file=str(pki / "client.key")) as r:
            assert r.run_once() == (3, 0)
        with pytest.raises(libstream.IOFailure) as e:  # no client certificate
            lr.Relay(evs, url, tls_ca_file=ca)
        assert url in e.value.message and "client certificate" in e.value.message
        with pytest.raises(libstream.IOFailure) as e:  # the server's CA is not trusted
            lr.Relay(evs, url, tls_cert_file=str(pki / "client.pem"),
                     tls_key_file=str(pki / "client.key"))
        assert "TLS handshake" in e.value.message
        with pytest.raises(libstream.IOFailure) as e:
            lr.Relay(evs, url, tls_ca_file=str(pki / "missing.pem"))
        assert str(pki / "missing.pem") in e.value.message
        with pytest.raises(libstream.InvalidArgument):
            lr.Relay(evs, url, tls_ca_file=ca, tls_cert_file=str(pki / "client.pem"))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
