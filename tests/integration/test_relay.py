"""streamd's event-log relay to NATS JetStream (nats_url), end to end.

A real nats-server with JetStream on a loopback port (its own storage directory), the real
streamd started with --nats-url, player events POSTed to /v1/events with curl. The stream is
read back over the NATS protocol itself (a few lines below: the JetStream API's STREAM.INFO and
STREAM.MSG.GET requests, standard library only). nats-server is killed with SIGKILL while events
keep arriving and restarted on the same storage: every event ends up in the stream exactly
once, in event-log order, and /metrics shows the relay's counters. The stream deleted under
the running relay is created again by it (logged once): every event after the deletion is in
the new stream once. With a nats-server that
requires a token, streamd given nats_secret_file relays, and neither that token nor a wrong one
(refused) shows in its log. Run by tests/pg/pg_run.sh
(STREAM_TEST_PG set), two streamd on one PostgreSQL database relay to one NATS: every event in
the stream once, each committed by one of the two relays. Exits 77 (skipped) without
nats-server or curl.

usage: test_relay.py STREAMD
"""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

import streamd_harness as h

STREAMD = None
NATS_SERVER = shutil.which("nats-server") or (
    "/usr/sbin/nats-server" if os.access("/usr/sbin/nats-server", os.X_OK) else None)
CURL = shutil.which("curl")
STREAM = "STREAM_EVENTS"


class NatsServer:
    """nats-server -js on a fixed loopback port with a storage directory kept across restarts."""

    def __init__(self, tmp):
        self.port = h.free_port()
        self.store = os.path.join(tmp, "js")
        self.log = open(os.path.join(tmp, "nats-server.log"), "ab")
        self.proc = None
        self.start()

    @property
    def url(self):
        return "nats://127.0.0.1:%d" % self.port

    def start(self):
        self.proc = subprocess.Popen([NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(self.port),
                                      "-sd", self.store], stdout=self.log, stderr=self.log)
        self.wait_listening()

    def wait_listening(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "nats-server exited at start"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("nats-server does not listen on %d" % self.port)

    def start_tls(self, pki):
        """Restart with TLS (pki/server.pem of pki/ca.pem) asking for a client certificate."""
        self.kill()
        conf = os.path.join(pki, "nats.conf")
        with open(conf, "w") as f:
            f.write('listen: "127.0.0.1:%d"\njetstream { store_dir: "%s" }\n'
                    'tls { cert_file: "%s/server.pem", key_file: "%s/server.key", '
                    'ca_file: "%s/ca.pem", verify: true, timeout: 2 }\n'
                    % (self.port, self.store, pki, pki, pki))
        self.proc = subprocess.Popen([NATS_SERVER, "-c", conf], stdout=self.log, stderr=self.log)
        self.wait_listening()

    def start_token(self, token):
        """Restart requiring the authentication token `token` (from a configuration file)."""
        self.kill()
        conf = os.path.join(os.path.dirname(self.store), "nats-token.conf")
        with open(conf, "w") as f:
            f.write('listen: "127.0.0.1:%d"\njetstream { store_dir: "%s" }\n'
                    'authorization { token: "%s" }\n' % (self.port, self.store, token))
        self.proc = subprocess.Popen([NATS_SERVER, "-c", conf], stdout=self.log, stderr=self.log)
        self.wait_listening()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def close(self):
        self.kill()
        self.log.close()


class JetStream:
    """Just enough of the NATS client protocol for JetStream API requests (JSON in, JSON out)."""

    def __init__(self, port, token=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        info = self._line()
        assert info.startswith(b"INFO "), info
        auth = b'"auth_token":%s,' % json.dumps(token).encode() if token else b""
        self.sock.sendall(b'CONNECT {%s"verbose":false,"pedantic":false,"headers":true,'
                          b'"no_responders":true,"protocol":1}\r\nSUB _INBOX.relaytest 1\r\n'
                          % auth)
        self.n = 0

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            assert chunk, "NATS connection closed"
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            assert chunk, "NATS connection closed"
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def request(self, subject, body):
        payload = json.dumps(body).encode()
        self.sock.sendall(b"PUB %s _INBOX.relaytest %d\r\n%s\r\n" % (subject.encode(),
                                                                     len(payload), payload))
        while True:
            line = self._line()
            if line == b"PING":
                self.sock.sendall(b"PONG\r\n")
            elif line.startswith(b"MSG "):
                return json.loads(self._read(int(line.split()[-1])))
            elif line.startswith(b"HMSG "):  # a status (no responders): headers only
                self._read(int(line.split()[-1]))
                raise AssertionError("no JetStream answer to %s" % subject)
            elif line.startswith(b"-ERR"):
                raise AssertionError(line.decode())

    def messages(self):
        info = self.request("$JS.API.STREAM.INFO." + STREAM, {})
        return info["state"]["messages"] if "state" in info else None

    def get(self, seq):
        """Stream message seq as (subject, headers dict, payload bytes)."""
        r = self.request("$JS.API.STREAM.MSG.GET." + STREAM, {"seq": seq})
        assert "message" in r, r
        m = r["message"]
        headers = {}
        for line in base64.b64decode(m.get("hdrs", "")).decode().split("\r\n")[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip()] = v.strip()
        return m["subject"], headers, base64.b64decode(m.get("data", ""))

    def close(self):
        self.sock.close()


def post_batch(d, token, n, ids=None):
    """POST n new events with curl (or again the events `ids`: all duplicates); their ids."""
    dups = len(ids) if ids else 0
    ids = ids or [str(uuid.uuid4()) for _ in range(n)]
    now = int(time.time() * 1000)
    body = json.dumps({"events": [{"id": i, "viewId": "view-relay", "type": "heartbeat",
                                   "clientTs": now, "playheadMs": 1000 * k}
                                  for k, i in enumerate(ids)]})
    out = subprocess.run([CURL, "-sS", "-X", "POST", "-H", "Content-Type: application/json",
                          "-H", "Authorization: Bearer " + token, "--data-binary", "@-",
                          d.url + "/v1/events"], input=body.encode(), stdout=subprocess.PIPE,
                         check=True).stdout
    assert json.loads(out) == {"accepted": n - dups, "duplicates": dups}, out
    return ids


def metrics(d):
    r = d.request("GET", "/metrics")
    assert r.status == 200, r.status
    out = {}
    for line in r.body.decode().splitlines():
        if line.startswith("streamd_relay_"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def wait_for(what, fn, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.1)


def make_pki(d):
    """A throwaway CA, a server certificate for localhost and a client certificate (openssl)."""
    os.makedirs(d)
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def ssl(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    ssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
        "-subj", "/CN=relay-it-ca")
    for n, (who, ext) in enumerate((("server", "subjectAltName=DNS:localhost"),
                                    ("client", "extendedKeyUsage=clientAuth"))):
        with open(os.path.join(d, who + ".ext"), "w") as f:
            f.write(ext + "\n")
        ssl("req", *key, "-keyout", who + ".key", "-out", who + ".csr",
            "-subj", "/CN=" + ("localhost" if who == "server" else "relay-client"))
        ssl("x509", "-req", "-in", who + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-set_serial", str(100 + n), "-days", "1", "-out", who + ".pem",
            "-extfile", who + ".ext")


class RelayTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="streamd-relay-")
        self.nats = NatsServer(self.tmp)

    def tearDown(self):
        self.nats.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_relay_through_a_nats_crash(self):
        with h.Streamd(STREAMD, args=["--nats-url", self.nats.url], tmp=self.tmp,
                       strict=True) as d:
            tok = h.register_login(d, h.unique_email("relay"))["access_token"]
            ptok = h.profile_token(d, tok)[1]["access_token"]
            ids = []
            for _ in range(4):
                ids += post_batch(d, ptok, 25)
            js = JetStream(self.nats.port)
            wait_for("100 events in the stream", lambda: js.messages() == 100)
            js.close()
            # NATS dies while events keep coming: they wait in the event log.
            self.nats.kill()
            for _ in range(3):
                ids += post_batch(d, ptok, 25)
            # Duplicates are stored once, but the sequence numbers they took are skipped by the
            # next new event.
            post_batch(d, ptok, 25, ids=ids[-25:])
            ids += post_batch(d, ptok, 1)
            wait_for("a failed relay round",
                     lambda: metrics(d).get("streamd_relay_errors_total", 0) >= 1)
            # The lag counts the 76 events waiting, not the sequence numbers.
            wait_for("lag 76", lambda: metrics(d).get("streamd_relay_lag_events") == 76)
            # Back on the same storage: the rest arrives, nothing twice.
            self.nats.start()
            js = JetStream(self.nats.port)
            wait_for("176 events in the stream", lambda: js.messages() == 176)
            wait_for("lag 0", lambda: metrics(d).get("streamd_relay_lag_events") == 0)
            self.assertEqual(js.messages(), 176)
            seen, seqs = [], []
            for seq in range(1, 177):
                subject, headers, payload = js.get(seq)
                self.assertEqual(subject, "stream.events.heartbeat")
                self.assertEqual(headers["Content-Type"], "application/x-protobuf")
                self.assertIn(headers["Nats-Msg-Id"].encode(), payload)  # the Event's id field
                seen.append(headers["Nats-Msg-Id"])
                seqs.append(int(headers["Outbox-Seq"]))
            js.close()
            self.assertEqual(sorted(seen), sorted(ids))  # every event, each once
            self.assertEqual(seqs, sorted(seqs))          # in event-log order
            m = metrics(d)
            self.assertEqual(m["streamd_relay_published_total"], 176)
            self.assertGreaterEqual(m["streamd_relay_errors_total"], 1)
            self.assertEqual(m["streamd_relay_lag_events"], 0)
            self.assertIn("streamd_relay_duplicates_total", m)
            d.stop()  # SIGTERM: the relay thread stops with the daemon (strict: exit 0)
        # NATS credentials never reach the log: nothing to leak here, but the URL is named.
        with open(d.stderr_path, "rb") as f:
            log = f.read()
        self.assertIn(self.nats.url.encode(), log)

    def test_relay_recreates_a_deleted_stream(self):
        with h.Streamd(STREAMD, args=["--nats-url", self.nats.url], tmp=self.tmp,
                       strict=True) as d:
            tok = h.register_login(d, h.unique_email("relaydel"))["access_token"]
            ptok = h.profile_token(d, tok)[1]["access_token"]
            post_batch(d, ptok, 10)
            js = JetStream(self.nats.port)
            wait_for("10 events in the stream", lambda: js.messages() == 10)
            # An operator deletes the stream: the next round finds nothing listening on its
            # subjects, creates it again (streamd relays with create_stream) and says so once.
            self.assertEqual(js.request("$JS.API.STREAM.DELETE." + STREAM, {}).get("success"),
                             True)
            ids = post_batch(d, ptok, 15)
            wait_for("15 events in the new stream", lambda: js.messages() == 15)
            wait_for("lag 0", lambda: metrics(d).get("streamd_relay_lag_events") == 0)
            self.assertEqual(sorted(js.get(seq)[1]["Nats-Msg-Id"] for seq in range(1, 16)),
                             sorted(ids))  # each event after the deletion, once
            js.close()
            m = metrics(d)
            self.assertEqual(m["streamd_relay_published_total"], 25)
            self.assertEqual(m["streamd_relay_errors_total"], 1)
            d.stop()
        log = [json.loads(line) for line in d.stderr_text().splitlines()
               if line.startswith("{")]
        warns = [x["msg"] for x in log if x["level"] == "warn" and "relay" in x["msg"]]
        self.assertEqual(len(warns), 1, warns)
        self.assertIn("JetStream stream %s at %s had disappeared" % (STREAM, self.nats.url),
                      warns[0])
        self.assertIn("created again", warns[0])
        self.assertEqual(sum(x["msg"] == "relay: relaying again (NATS at %s)" % self.nats.url
                             for x in log), 1)

    @unittest.skipUnless(shutil.which("openssl"), "needs the openssl CLI")
    def test_relay_over_mutual_tls(self):
        # The three nats_tls_* keys from the three sources: the CA from the environment, the
        # client certificate and key from flags (the config file goes through the same table).
        pki = os.path.join(self.tmp, "pki")
        make_pki(pki)
        self.nats.start_tls(pki)
        url = "tls://localhost:%d" % self.nats.port
        with h.Streamd(STREAMD, args=["--nats-url", url,
                                      "--nats-tls-cert-file", os.path.join(pki, "client.pem"),
                                      "--nats-tls-key-file", os.path.join(pki, "client.key")],
                       env={"STREAMD_NATS_TLS_CA_FILE": os.path.join(pki, "ca.pem")},
                       tmp=self.tmp, strict=True) as d:
            tok = h.register_login(d, h.unique_email("relaytls"))["access_token"]
            ptok = h.profile_token(d, tok)[1]["access_token"]
            post_batch(d, ptok, 10)
            wait_for("10 events relayed over TLS",
                     lambda: metrics(d).get("streamd_relay_published_total") == 10)
            wait_for("lag 0", lambda: metrics(d).get("streamd_relay_lag_events") == 0)
            self.assertEqual(metrics(d).get("streamd_relay_errors_total"), 0)
            d.stop()
        # Without the client certificate the server refuses the relay, which says why.
        os.makedirs(os.path.join(self.tmp, "nocert"))
        with h.Streamd(STREAMD, args=["--nats-url", url],
                       env={"STREAMD_NATS_TLS_CA_FILE": os.path.join(pki, "ca.pem")},
                       tmp=os.path.join(self.tmp, "nocert"), strict=True) as d:
            wait_for("a failed connect", lambda: metrics(d).get("streamd_relay_errors_total"))
            d.stop()
        with open(d.stderr_path, "rb") as f:
            log = f.read()
        self.assertIn(b"client certificate", log)
        self.assertIn(url.encode(), log)

    def test_relay_with_a_token_from_nats_secret_file(self):
        # nats-server requires a token; streamd reads it from nats_secret_file (no nats_user:
        # the first line is a token, not a password). The token never reaches streamd's log,
        # debug level included, nor does a wrong one, which the server refuses.
        token = "relay-tok-" + uuid.uuid4().hex
        wrong = "relay-wrong-" + uuid.uuid4().hex
        self.nats.start_token(token)
        secret = os.path.join(self.tmp, "nats.token")
        with open(secret, "w") as f:
            f.write(token + "\n")
        os.chmod(secret, 0o600)
        with h.Streamd(STREAMD, args=["--nats-url", self.nats.url, "--nats-secret-file", secret],
                       tmp=self.tmp, log_level="debug", strict=True) as d:
            tok = h.register_login(d, h.unique_email("relaytok"))["access_token"]
            ptok = h.profile_token(d, tok)[1]["access_token"]
            ids = post_batch(d, ptok, 10)
            wait_for("10 events relayed with the token",
                     lambda: metrics(d).get("streamd_relay_published_total") == 10)
            self.assertEqual(metrics(d).get("streamd_relay_errors_total"), 0)
            js = JetStream(self.nats.port, token)
            self.assertEqual(js.messages(), 10)
            self.assertEqual(sorted(js.get(seq)[1]["Nats-Msg-Id"] for seq in range(1, 11)),
                             sorted(ids))
            js.close()
            d.stop()
        with open(d.stderr_path, "rb") as f:
            log = f.read()
        self.assertIn(self.nats.url.encode(), log)
        self.assertNotIn(token.encode(), log)
        # A wrong token in the file: every connect is refused, the log says so without it.
        wrong_dir = os.path.join(self.tmp, "wrong")
        os.makedirs(wrong_dir)
        with open(secret, "w") as f:
            f.write(wrong + "\n")
        with h.Streamd(STREAMD, args=["--nats-url", self.nats.url, "--nats-secret-file", secret],
                       tmp=wrong_dir, log_level="debug", strict=True) as d:
            wait_for("a refused connect", lambda: metrics(d).get("streamd_relay_errors_total"))
            d.stop()
        with open(d.stderr_path, "rb") as f:
            log = f.read()
        self.assertIn(b"refused the credentials", log)
        self.assertIn(self.nats.url.encode(), log)
        self.assertNotIn(wrong.encode(), log)
        self.assertNotIn(token.encode(), log)

    @unittest.skipUnless(os.environ.get("STREAM_TEST_PG") and shutil.which("psql"),
                         "needs STREAM_TEST_PG (tests/pg/pg_run.sh) and psql")
    def test_two_daemons_one_pg_store(self):
        url = os.environ["STREAM_TEST_PG"]
        name = "relay_%d" % os.getpid()
        subprocess.run(["psql", url, "-q", "-c", "CREATE DATABASE " + name], check=True)
        url = "postgresql:///%s?%s" % (name, url.split("?", 1)[1])
        data_dir = os.path.join(self.tmp, "data")
        daemons = []
        try:
            for n in ("a", "b"):
                os.makedirs(os.path.join(self.tmp, n))
                daemons.append(h.Streamd(STREAMD, args=["--nats-url", self.nats.url,
                                                         "--store-url", url],
                                         tmp=os.path.join(self.tmp, n), data_dir=data_dir,
                                         strict=True))
            a, b = daemons
            tok = h.register_login(a, h.unique_email("relaypg"))["access_token"]
            ptok = h.profile_token(a, tok)[1]["access_token"]  # good on both (shared keys)
            ids = []
            for i in range(8):
                ids += post_batch(daemons[i % 2], ptok, 20)
            js = JetStream(self.nats.port)
            wait_for("160 events in the stream", lambda: js.messages() == 160)
            for d in daemons:
                wait_for("lag 0", lambda d=d: metrics(d).get("streamd_relay_lag_events") == 0)
            seen = [js.get(seq)[1]["Nats-Msg-Id"] for seq in range(1, 161)]
            js.close()
            self.assertEqual(sorted(seen), sorted(ids))  # each event once in the stream
            # Each batch was committed by one relay (the checkpoint's compare-and-set).
            self.assertEqual(sum(metrics(d)["streamd_relay_published_total"] for d in daemons),
                             160)
            for d in daemons:
                d.stop()
        finally:
            for d in daemons:
                d.cleanup()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    STREAMD = sys.argv.pop(1)
    if not NATS_SERVER or not CURL:
        print("SKIP: needs nats-server and curl (apt install nats-server curl)")
        sys.exit(77)
    unittest.main()
