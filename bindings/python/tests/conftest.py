"""Shared fixtures for the libstream Python tests.

The tests run against the build tree: meson sets PYTHONPATH to
<builddir>/bindings/python, where the compiled _libstream_cffi and a copy of
the libstream package live.
"""
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

import libstream

# RFC 8032 §7.1 TEST 1 / RFC 8037 Appendix A key pair.
ED_SEED_HEX = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
ED_SEED_B64URL = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
ED_PUB_B64URL = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"


@pytest.fixture
def ed_key():
    with libstream.Key.from_bytes("ed25519", "ed", bytes.fromhex(ED_SEED_HEX)) as k:
        yield k


@pytest.fixture
def hmac_key():
    with libstream.Key.from_bytes("hmac", "h1", b"0123456789abcdef0123456789abcdef") as k:
        yield k


def make_pki(pki, client=False):
    """A CA (ca.pem, ca.key) and a server certificate for localhost (server.pem, server.key)
    made with the openssl CLI in the new directory ``pki``; with ``client`` also a client
    certificate (client.pem, client.key) for TLS client authentication."""
    pki.mkdir()
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def openssl(*args):
        subprocess.run(["openssl"] + list(args), cwd=str(pki), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
            "-subj", "/CN=py-ca")
    (pki / "server.ext").write_text("subjectAltName=DNS:localhost\n")
    (pki / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    who = [("server", "localhost")] + ([("client", "py-client")] if client else [])
    for n, (name, cn) in enumerate(who):
        openssl("req", *key, "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-set_serial", str(100 + n), "-days", "1", "-out", name + ".pem",
                "-extfile", name + ".ext")


def assert_status(excinfo, cls, status_name, words=None):
    """The raised error is ``cls`` with the status, its name and a message."""
    e = excinfo.value
    assert isinstance(e, cls)
    assert isinstance(e, libstream.StreamError)
    assert e.name == status_name
    assert e.status == getattr(libstream.lib, status_name)
    assert e.message
    if words:
        assert words in e.message, e.message


# nats-server (the relay tests): its path, or None when it is not installed.
NATS_SERVER = shutil.which("nats-server") or (
    "/usr/sbin/nats-server" if os.access("/usr/sbin/nats-server", os.X_OK) else None)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listening(proc, port):
    """Until `proc` (a server just started) accepts connections on `port`."""
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, "nats-server exited at start"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, "nats-server does not listen"
            time.sleep(0.05)


@pytest.fixture
def nats_url(tmp_path):
    """A nats-server with JetStream on a free loopback port and its own storage, killed after
    the test."""
    if NATS_SERVER is None:
        pytest.skip("nats-server is not installed")
    port = free_port()
    proc = subprocess.Popen([NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(port),
                             "-sd", str(tmp_path / "js")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(proc, port)
        yield "nats://127.0.0.1:%d" % port
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
