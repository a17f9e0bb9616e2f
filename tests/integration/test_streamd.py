#!/usr/bin/python3
"""Integration tests for streamd's HTTP skeleton.

Runs the real built daemon on an ephemeral loopback port (port 0; the bound
port is read from the JSON line streamd prints on stdout) with a temporary
data dir, and talks to it with http.client, raw sockets and the curl CLI.

Usage: /usr/bin/python3 test_streamd.py /path/to/streamd
Standard library only (unittest, http.client, socket, subprocess, json).
"""
import json
import random
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from streamd_harness import Streamd, streamd_env

STREAMD = None  # set from argv in main
TOKEN = "op-token-" + "7f3a9c1e5b2d4f6a8c0e"
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "request_id"}
HEX32 = re.compile(r"^[0-9a-f]{32}$")


class Daemon(Streamd):
    """One streamd process with its own temp dir, config file and logs."""

    def __init__(self, args=(), env=None, config=None, token=True):
        super().__init__(STREAMD, args, env=env, config=config,
                         operator_token=TOKEN if token else None, token_file=True, strict=True,
                         start_timeout=10)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        return super().stop(sig, timeout)

    def raw(self, data, timeout=5):
        """Send raw bytes, read until the server closes or times out."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        try:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            out = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except (socket.timeout, ConnectionResetError):
                    break
                if not chunk:
                    break
                out += chunk
                if b"\r\n\r\n" in out and _complete(out):
                    break
            return out
        finally:
            s.close()


def _complete(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    return m is not None and len(body) >= int(m.group(1))


def parse_raw(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def metric_value(text, name, labels):
    want = ",".join('%s="%s"' % kv for kv in labels)
    for line in text.splitlines():
        if line.startswith(name + "{" + want + "}"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


class HttpSkeleton(unittest.TestCase):
    """Most checks share one daemon; limits come from file < env < flags."""

    @classmethod
    def setUpClass(cls):
        # Precedence: the file says 100, env says 2048, the flag says 4096 (wins).
        config = {"max_body_bytes": 100, "cors_origins": ["https://app.example"],
                  "max_header_bytes": 4096, "threads": 2, "connection_timeout": 10}
        env = {"STREAMD_MAX_BODY_BYTES": "2048", "STREAMD_LOG_LEVEL": "info"}
        cls.d = Daemon(args=["--max-body-bytes", "4096"], env=env, config=config)
        cls.auth = {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"}

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        cls.d.cleanup()
        assert rc == 0, rc

    # -- helpers ---------------------------------------------------------
    def assertProblem(self, status, headers, body, want_status, detail_re=None):
        self.assertEqual(status, want_status, body)
        self.assertTrue(headers.get("content-type", "").startswith("application/problem+json"),
                        headers)
        p = json.loads(body)
        self.assertTrue(PROBLEM_KEYS <= set(p), p)
        self.assertEqual(p["status"], want_status)
        self.assertTrue(p["type"].startswith("urn:libstream:problem:"), p)
        self.assertEqual(p["request_id"], headers["x-request-id"])
        if detail_re:
            self.assertRegex(p["detail"], detail_re)
        return p

    def echo(self, body, headers=None, query=""):
        h = dict(self.auth)
        h.update(headers or {})
        return self.d.request("POST", "/v1/echo" + query, body=body, headers=h)

    # -- health ------------------------------------------------------------
    def test_healthz_readyz_metrics(self):
        st, h, b = self.d.request("GET", "/healthz")
        self.assertEqual((st, json.loads(b)), (200, {"status": "ok"}))
        self.assertEqual(h["content-type"], "application/json")
        st, h, b = self.d.request("GET", "/readyz")
        self.assertEqual((st, json.loads(b)), (200, {"status": "ready"}))
        st, h, b = self.d.request("GET", "/metrics")
        self.assertEqual(st, 200)
        self.assertTrue(h["content-type"].startswith("text/plain; version=0.0.4"))
        text = b.decode()
        self.assertIn("# TYPE streamd_http_requests_total counter", text)
        self.assertIn("# TYPE streamd_http_request_duration_seconds histogram", text)
        self.assertIn('streamd_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"}', text)
        self.assertIn("streamd_draining 0", text)
        st, h, b = self.d.request("HEAD", "/healthz")
        self.assertEqual((st, b), (200, b""))

    def test_metrics_counters_increase(self):
        labels = [("route", "/healthz"), ("method", "GET"), ("status", "200")]
        before = metric_value(self.d.request("GET", "/metrics")[2].decode(),
                              "streamd_http_requests_total", labels)
        for _ in range(3):
            self.d.request("GET", "/healthz")
        text = self.d.request("GET", "/metrics")[2].decode()
        self.assertEqual(metric_value(text, "streamd_http_requests_total", labels), before + 3)
        count = metric_value(text, "streamd_http_request_duration_seconds_count",
                             [("route", "/healthz")])
        self.assertGreaterEqual(count, before + 3)
        lbl404 = [("route", "unmatched"), ("method", "GET"), ("status", "404")]
        b404 = metric_value(text, "streamd_http_requests_total", lbl404)
        self.d.request("GET", "/nope")
        text = self.d.request("GET", "/metrics")[2].decode()
        self.assertEqual(metric_value(text, "streamd_http_requests_total", lbl404), b404 + 1)

    # -- routing -------------------------------------------------------------
    def test_404_problem(self):
        st, h, b = self.d.request("GET", "/v1/does-not-exist")
        p = self.assertProblem(st, h, b, 404, "no route")
        self.assertEqual(p["instance"], "/v1/does-not-exist")
        # SQL metacharacters in the path are just a path that matches nothing.
        st, h, b = self.d.request("GET", "/v1/nothing/1'%20OR%20'1'='1;--")
        self.assertProblem(st, h, b, 404)
        # Percent-encoded invalid UTF-8 in the path: still a valid JSON problem.
        st, h, b = self.d.request("GET", "/v1/%ff%fe")
        self.assertProblem(st, h, b, 404)

    def test_encoded_nul_in_path(self):
        # %00 once cut the path short: "/v1/echo%00/x" was served by /v1/echo (and
        # "DELETE /v1/profiles/<id>%00/switch" deleted the profile). Now a 400 for the path.
        for path in ("/v1/echo%00/x", "/v1/echo%C0%80", "/healthz%00"):
            method = "GET" if path.startswith("/healthz") else "POST"
            body = b'{"message":"x"}' if method == "POST" else None
            st, h, b = self.d.request(method, path, body=body, headers=self.auth)
            self.assertProblem(st, h, b, 400, "encoded NUL")
        st, h, b = self.echo(b'{"message":"still served"}')
        self.assertEqual(st, 200, b)

    def test_405_with_allow(self):
        st, h, b = self.d.request("DELETE", "/healthz")
        self.assertProblem(st, h, b, 405, "DELETE")
        self.assertEqual(h["allow"], "GET, HEAD")
        st, h, b = self.d.request("GET", "/v1/echo")
        self.assertProblem(st, h, b, 405)
        self.assertEqual(h["allow"], "POST")

    def test_keep_alive_many_requests(self):
        c = self.d.conn()
        try:
            for i in range(20):
                st, h, b = self.d.request("GET", "/healthz", conn=c)
                self.assertEqual(st, 200)
            st, _, b = self.d.request("POST", "/v1/echo", body=b'{"i":1}', headers=self.auth, conn=c)
            self.assertEqual(st, 200, b)
        finally:
            c.close()

    # -- JSON bodies -----------------------------------------------------------
    def test_echo_ok(self):
        doc = {"message": "héllo ✓", "repeat": 3, "flag": True, "nested": {"a": [1, 2, None]}}
        st, h, b = self.echo(json.dumps(doc).encode())
        self.assertEqual(st, 200, b)
        out = json.loads(b)
        self.assertEqual(out["echo"], doc)
        self.assertEqual(out["subject"], "operator")
        self.assertEqual(out["request_id"], h["x-request-id"])

    def test_valid_json_edge_cases(self):
        for body in [b'{"a":0}', b'{"a":10}', b'{"a":-0.5}', b'{"a":1.05e-01}', b'{"a":1E+00}',
                     b' \r\n\t{"a":"\\u0041\\\\u0000"} ', b'{"a":"\\ud83d\\ude00"}', b"{}"]:
            with self.subTest(body=body):
                st, h, b = self.echo(body)
                self.assertEqual(st, 200, b)
                self.assertEqual(json.loads(b)["echo"], json.loads(body))

    def test_sql_metacharacters_are_data(self):
        doc = {"message": "'; DROP TABLE users; -- \" OR 1=1 /* */ \\x00"}
        st, h, b = self.echo(json.dumps(doc).encode())
        self.assertEqual(st, 200, b)
        self.assertEqual(json.loads(b)["echo"], doc)

    def test_malformed_json(self):
        cases = [b'{"a":', b'{"a":1}x', b'{a:1}', b"{'a':1}", b'{"a":1,}', b"",
                 b'{"a":1}\x00', b'{"a":1,"a":2}', b'{"x":{"b":1,"b":2}}',
                 b"[" * 40 + b"]" * 40, b'{"a":' + b"[" * 100 + b"]" * 100 + b"}",
                 b'{"a":"\\ud800"}', b"\xef\xbb\xbf{}", b'{"a":"x\ty"}', b'{"a":"\x01"}',
                 b'{"a":"adm\\u0000in"}', b'{"a":01}', b'{"a":-01}', b'{"a":1e999}',
                 b'{"a":NaN}', b'{"a":.5}']
        for body in cases:
            with self.subTest(body=body[:30]):
                st, h, b = self.echo(body)
                self.assertProblem(st, h, b, 400)

    def test_non_object_json(self):
        for body in [b"[1,2]", b'"text"', b"42", b"true", b"null"]:
            with self.subTest(body=body):
                st, h, b = self.echo(body)
                self.assertProblem(st, h, b, 400, "must be a JSON object")

    def test_invalid_utf8(self):
        for body in [b'{"a":"\xff"}', b'{"a":"\xc0\xaf"}', b'{"a":"\xed\xa0\x80"}',
                     b'{"a":"\xf4\x90\x80\x80"}', b'{"\xe2\x82":1}']:
            with self.subTest(body=body):
                st, h, b = self.echo(body)
                self.assertProblem(st, h, b, 400, "UTF-8")

    def test_wrong_types(self):
        cases = [({"message": 5}, "field 'message' must be a string"),
                 ({"repeat": "3"}, "field 'repeat' must be an integer"),
                 ({"repeat": 1.5}, "field 'repeat' must be an integer"),
                 ({"repeat": 1000}, "field 'repeat' must be between 0 and 100"),
                 ({"flag": "yes"}, "field 'flag' must be a boolean"),
                 ({"message": "x" * 2000}, "field 'message' must be at most 1024 bytes long")]
        for doc, detail in cases:
            with self.subTest(doc=str(doc)[:40]):
                st, h, b = self.echo(json.dumps(doc).encode())
                p = self.assertProblem(st, h, b, 400)
                self.assertEqual(p["detail"], detail)

    def test_unsupported_media_type(self):
        st, h, b = self.echo(b'{"a":1}', headers={"Content-Type": "text/plain"})
        self.assertProblem(st, h, b, 415)
        st, h, b = self.echo(b'{"a":1}', headers={"Content-Type": "application/json; charset=utf-8"})
        self.assertEqual(st, 200, b)

    # -- limits -------------------------------------------------------------------
    def test_body_limit(self):
        # Effective limit is 4096 (flag beat env 2048 and file 100).
        pad = 4096 - len(b'{"p":""}')
        st, h, b = self.echo(b'{"p":"' + b"a" * pad + b'"}')
        self.assertEqual(st, 200, b)
        st, h, b = self.echo(b'{"p":"' + b"a" * 3000 + b'"}')
        self.assertEqual(st, 200, b)
        st, h, b = self.echo(b'{"p":"' + b"a" * (pad + 1) + b'"}')
        self.assertProblem(st, h, b, 413, "4096")

    def test_huge_content_length_rejected_at_once(self):
        t0 = time.time()
        raw = self.d.raw(b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                         TOKEN.encode() + b"\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000000000\r\n\r\n{")
        st, h, b = parse_raw(raw)
        self.assertProblem(st, h, b, 413)
        self.assertEqual(h.get("connection", "").lower(), "close")
        self.assertLess(time.time() - t0, 3)

    def test_chunked_body_over_limit(self):
        chunk = b"a" * 3000
        body = b""
        for _ in range(3):
            body += b"%x\r\n%s\r\n" % (len(chunk), chunk)
        body += b"0\r\n\r\n"
        raw = self.d.raw(b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                         TOKEN.encode() + b"\r\nContent-Type: application/json\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n" + body)
        st, h, b = parse_raw(raw)
        self.assertProblem(st, h, b, 413)

    def test_header_limit(self):
        # Over our 4096-byte limit but inside MHD's buffer: problem+json 431.
        st, h, b = self.d.request("GET", "/healthz", headers={"X-Fill": "a" * 6000})
        self.assertProblem(st, h, b, 431, "limit is 4096")
        # Far over: libmicrohttpd itself answers 431 (not JSON) and closes.
        raw = self.d.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Fill: " + b"a" * 300000 +
                         b"\r\n\r\n")
        self.assertTrue(raw == b"" or parse_raw(raw)[0] == 431, raw[:200])

    # -- roles ----------------------------------------------------------------------
    def test_operator_token(self):
        body = b'{"a":1}'
        st, h, b = self.d.request("POST", "/v1/echo", body=body,
                                  headers={"Content-Type": "application/json"})
        self.assertProblem(st, h, b, 401, "missing")
        self.assertIn("Bearer", h["www-authenticate"])
        for bad in ["Bearer wrong-token-000000000000", "Bearer " + TOKEN[:-1],
                    "Bearer " + TOKEN + "x", "Basic " + TOKEN, "Bearer ", "Bearer " + "a" * 1000]:
            with self.subTest(auth=bad[:20]):
                st, h, b = self.d.request("POST", "/v1/echo", body=body, headers={
                    "Content-Type": "application/json", "Authorization": bad})
                self.assertIn(st, (401, 403))
                self.assertProblem(st, h, b, st)
                self.assertNotIn(TOKEN.encode(), b)
        st, h, b = self.echo(body)
        self.assertEqual(st, 200, b)
        # A public route ignores credentials entirely.
        st, _, _ = self.d.request("GET", "/healthz", headers={"Authorization": "Bearer nope"})
        self.assertEqual(st, 200)

    # -- CORS ----------------------------------------------------------------------
    def test_cors(self):
        st, h, b = self.d.request("OPTIONS", "/v1/echo", headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        self.assertEqual(st, 204, b)
        self.assertEqual(h["access-control-allow-origin"], "https://app.example")
        self.assertIn("POST", h["access-control-allow-methods"])
        self.assertIn("Authorization", h["access-control-allow-headers"])
        self.assertIn("Origin", h["vary"])
        # a web player posts gzip event batches; a web account page sends Idempotency-Key
        for path, method, hdr in (("/v1/events", "POST", "content-encoding"),
                                  ("/v1/billing/subscription", "POST", "idempotency-key")):
            st, h, b = self.d.request("OPTIONS", path, headers={
                "Origin": "https://app.example", "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "authorization, content-type, " + hdr})
            self.assertEqual(st, 204, (path, b))
            allowed = [x.strip().lower() for x in h["access-control-allow-headers"].split(",")]
            self.assertIn(hdr, allowed, path)
            self.assertIn(method, h["access-control-allow-methods"], path)
        st, h, b = self.d.request("OPTIONS", "/v1/echo", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
        self.assertProblem(st, h, b, 403, "evil.example")
        self.assertNotIn("access-control-allow-origin", h)
        st, h, b = self.d.request("GET", "/healthz", headers={"Origin": "https://app.example"})
        self.assertEqual(h["access-control-allow-origin"], "https://app.example")
        self.assertIn("X-Request-Id", h["access-control-expose-headers"])
        st, h, b = self.d.request("GET", "/healthz", headers={"Origin": "https://evil.example"})
        self.assertEqual(st, 200)
        self.assertNotIn("access-control-allow-origin", h)
        self.assertEqual(h["vary"], "Origin")
        st, h, b = self.d.request("OPTIONS", "/healthz")
        self.assertEqual((st, h["allow"]), (204, "GET, HEAD, OPTIONS"))
        st, h, b = self.d.request("OPTIONS", "/nothing-here")
        self.assertProblem(st, h, b, 404)

    # -- request ids & logs ------------------------------------------------------------
    def test_request_id(self):
        st, h, b = self.d.request("GET", "/healthz", headers={"X-Request-Id": "abc-123.X_y:z"})
        self.assertEqual(h["x-request-id"], "abc-123.X_y:z")
        for bad in ["has space", "x" * 65, "semi;colon", "<script>"]:
            st, h, b = self.d.request("GET", "/healthz", headers={"X-Request-Id": bad})
            self.assertRegex(h["x-request-id"], HEX32)
        st, h, b = self.d.request("GET", "/healthz")
        self.assertRegex(h["x-request-id"], HEX32)
        st, h, b = self.d.request("GET", "/missing", headers={"X-Request-Id": "trace-404"})
        self.assertEqual(json.loads(b)["request_id"], "trace-404")

    def test_access_log(self):
        rid = "log-check-%d" % os.getpid()
        self.echo(b'{"secret_body":"do-not-log-me"}', headers={"X-Request-Id": rid})
        deadline = time.time() + 5
        found = None
        while time.time() < deadline and not found:
            with open(self.d.access_log, "rb") as f:
                data = f.read()
            lines = [l for l in data.decode().splitlines() if l.strip()]
            entries = [json.loads(l) for l in lines]  # every line is valid JSON
            found = [e for e in entries if e.get("request_id") == rid]
            if not found:
                time.sleep(0.05)
        self.assertTrue(found, "no access line for " + rid)
        e = found[0]
        for k in ("time", "request_id", "method", "route", "status", "bytes", "duration_ms"):
            self.assertIn(k, e)
        self.assertEqual((e["method"], e["route"], e["status"]), ("POST", "/v1/echo", 200))
        self.assertNotIn(TOKEN, data.decode())
        self.assertNotIn("do-not-log-me", data.decode())
        self.assertNotIn(TOKEN, self.d.stderr_text())

    def test_curl_cli(self):
        curl = shutil.which("curl")
        if not curl:
            self.skipTest("curl not installed")
        out = subprocess.run(
            [curl, "-sS", "-D", "-", "-H", "X-Request-Id: curl-check-1", "-X", "POST",
             "-H", "Authorization: Bearer " + TOKEN, "-H", "Content-Type: application/json",
             "--data-binary", '{"via":"curl"}', "http://127.0.0.1:%d/v1/echo" % self.d.port],
            capture_output=True, timeout=20, check=True).stdout.decode()
        head, _, body = out.partition("\r\n\r\n")
        self.assertIn(" 200", head.splitlines()[0])
        self.assertIn("X-Request-Id: curl-check-1", head)
        self.assertEqual(json.loads(body)["echo"], {"via": "curl"})
        # Expect: 100-continue with an over-limit body: refused before the upload.
        out = subprocess.run(
            [curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
             "-H", "Authorization: Bearer " + TOKEN, "-H", "Content-Type: application/json",
             "-H", "Expect: 100-continue", "--data-binary", "@-",
             "http://127.0.0.1:%d/v1/echo" % self.d.port],
            input=b"{" + b" " * 100000 + b"}", capture_output=True, timeout=20).stdout.decode()
        self.assertEqual(out, "413")

    def test_fuzzed_bodies(self):
        """Truncated, bit-flipped and random bodies: always 200 or a 4xx problem."""
        rng = random.Random(20261125)
        seed = json.dumps({"message": "héllo", "repeat": 3, "flag": False,
                           "n": {"a": [1, 2.5, None, "x\u00e9"]}}).encode()
        c = self.d.conn()
        try:
            for i in range(300):
                body = bytearray(seed)
                kind = i % 3
                if kind == 0:
                    body = body[:rng.randrange(len(body))]
                elif kind == 1:
                    for _ in range(rng.randint(1, 4)):
                        j = rng.randrange(len(body))
                        body[j] ^= 1 << rng.randrange(8)
                else:
                    body = bytearray(rng.randbytes(rng.randint(1, 200)))
                st, h, b = self.d.request("POST", "/v1/echo", body=bytes(body), headers=self.auth, conn=c)
                self.assertTrue(st == 200 or 400 <= st < 500, (st, bytes(body), b))
                if st != 200:
                    self.assertProblem(st, h, b, st)
                else:
                    json.loads(b)
        finally:
            c.close()

    def test_zz_still_serving_after_bad_input(self):
        # Garbage on raw sockets, then normal service for everyone else.
        for junk in [b"\x00\xff\xfe garbage\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                     b"POST /v1/echo HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                     b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{"]:
            self.d.raw(junk, timeout=1)
        st, h, b = self.d.request("GET", "/healthz")
        self.assertEqual(st, 200)
        st, h, b = self.echo(b'{"still":"alive"}')
        self.assertEqual(st, 200, b)
        self.assertIsNone(self.d.proc.poll())


class ConnectionLimit(unittest.TestCase):
    def test_too_many_connections(self):
        d = Daemon(args=["--max-connections", "4", "--threads", "2",
                         "--connection-timeout", "30"])
        try:
            idle = [socket.create_connection(("127.0.0.1", d.port)) for _ in range(4)]
            time.sleep(0.3)  # let the daemon accept them
            extra = socket.create_connection(("127.0.0.1", d.port), timeout=1.5)
            extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            served = b""
            try:
                served = extra.recv(4096)
            except (socket.timeout, ConnectionResetError):
                pass
            self.assertFalse(served.startswith(b"HTTP/1.1 200"),
                             "a fifth connection was served with the limit at 4")
            extra.close()
            for s in idle:
                s.close()
            time.sleep(0.3)
            st, _, _ = d.request("GET", "/healthz")
            self.assertEqual(st, 200)
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()


class Drain(unittest.TestCase):
    def test_sigterm_completes_in_flight_then_exits_0(self):
        d = Daemon(args=["--drain-timeout", "15"])
        try:
            keep = d.conn()
            self.assertEqual(d.request("GET", "/readyz", conn=keep)[0], 200)
            result = {}

            def slow():
                result["r"] = d.request("POST", "/v1/echo?delay_ms=1500", body=b'{"slow":true}',
                                        headers={"Authorization": "Bearer " + TOKEN,
                                                 "Content-Type": "application/json"})

            t = threading.Thread(target=slow)
            t.start()
            time.sleep(0.4)
            t0 = time.time()
            d.proc.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            # An already-open keep-alive connection sees readiness drop.
            st, h, b = d.request("GET", "/readyz", conn=keep)
            self.assertEqual(st, 503)
            self.assertEqual(json.loads(b)["type"], "urn:libstream:problem:draining")
            keep.close()
            # New connections are no longer accepted.
            with self.assertRaises(OSError):
                c = d.conn(timeout=1)
                c.request("GET", "/healthz")
                c.getresponse().read()
            t.join(10)
            st, h, b = result["r"]
            self.assertEqual(st, 200, b)
            self.assertEqual(json.loads(b)["echo"], {"slow": True})
            rc = d.proc.wait(10)
            d.check_sanitizers()
            self.assertEqual(rc, 0)
            self.assertLess(time.time() - t0, 10)
            self.assertIn("draining", d.stderr_text())
        finally:
            d.cleanup()


class Config(unittest.TestCase):
    def run_bad(self, args, env=None, expect=""):
        tmp = tempfile.mkdtemp(prefix="streamd-cfg-")
        try:
            e = streamd_env(env)
            p = subprocess.run([STREAMD, "--port", "0", "--data-dir", os.path.join(tmp, "d")] + args,
                               capture_output=True, env=e, timeout=10)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(expect, p.stderr.decode())
            return p.stderr.decode()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_bad_configuration_is_refused(self):
        self.run_bad(["--threads", "0"], expect="threads must be between 1 and 256")
        self.run_bad(["--threads", "x"], expect="threads must be a non-negative integer")
        self.run_bad(["--bogus", "1"], expect="unknown flag --bogus")
        self.run_bad(["--bogus"], expect="unknown flag --bogus")  # not "needs a value"
        self.run_bad(["--threads"], expect="flag --threads needs a value")
        self.run_bad([], env={"STREAMD_MAX_BODY_BYTES": "-1"}, expect="STREAMD_MAX_BODY_BYTES")
        self.run_bad([], env={"STREAMD_OPERATOR_TOKEN": "short"}, expect="operator token")
        self.run_bad(["--log-level", "loud"], expect="log_level")

    def test_url_secrets_are_refused_and_never_shown(self):
        """A store_url holding a password however written is refused (libpq decodes parameter
        names and user information), so is one with an '@' past the host (port or not), so are
        NATS URLs with credentials; no message shows a secret: not a store_url that is not
        postgresql:// (a typo of the scheme), nor the failure to open an unreachable one
        (scheme://host:port/dbname and parameter names)."""
        for url in ["postgresql://h/db?pass%77ord=s3cret", "postgresql://h/db?PASSWORD=s3cret",
                    "postgresql://h/db?sslmode=disable&sslpassword=s3cret",
                    "postgresql://h/db?Pass%57ord=s3cret", "postgres://h/db?password=s3cret",
                    "postgresql://someone%3As3cret@h/db", "postgresql://someone:s3cret@h/db",
                    "postgresql://someone:s3c@ret@h/db", "postgresql://h/db?user=someone:s3cret",
                    "postgresql://someone:s3cret@h:5432/db?application_name=a@b"]:
            err = self.run_bad(["--store-url", url], expect="store_url must not hold a password")
            self.assertNotIn("s3cret", err, url)
        # An '@' past the first '/' of the authority: a password's unescaped '/' puts its '@'
        # there, and so does a value's '@' not written %40; they cannot be told apart, so each is
        # refused, with a port or without (one answer), and none is shown.
        at_past_host = ("store_url has an '@' past the host: write an '@' of a value as %40, a "
                        "password's '/' as %2F")
        for url in ("postgresql://someone:ab/s3cret@h/db",
                    "postgresql://someone:12/x?s3cret=1@127.0.0.1/x",
                    "postgresql://someone:12/x?sslmode=s3cret@127.0.0.1/x",
                    "postgresql://someone:s3cret,x://y@h/db",
                    "postgresql://h:5432/stream?application_name=s3cret@node1",
                    "postgresql://h/stream?application_name=s3cret@node1",
                    "postgresql://[::1]/stream?application_name=s3cret@node1",
                    "postgresql://[::1]:5432/stream?application_name=s3cret@node1",
                    "postgresql:///stream?host=/run/pg&application_name=s3cret@node1"):
            err = self.run_bad(["--store-url", url], expect=at_past_host)
            self.assertNotIn("s3cret", err, url)
            self.assertNotIn("must not hold a password", err, url)
        err = self.run_bad(["--store-url", "postgressql://someone:s3cret@h:5432/db?sslmode=require"],
                           expect="store_url must be a postgresql:// URI (libpq), got "
                                  "postgressql://h:5432/db?sslmode=...")
        self.assertNotIn("s3cret", err)
        err = self.run_bad(["--store-url", "someone:s3cret@h/db"], expect="(not a URL: not shown)")
        self.assertNotIn("s3cret", err)
        # A password holding an unescaped '?', '#' or '/' puts its user information past where
        # libpq's authority ends: no part of such a URL is shown.
        for url in ("postgressql://someone:pa?s3cret@h/db", "postgressql://someone:pa#s3cret@h/db",
                    "postgressql://someone:ab/s3cret@h/db"):
            err = self.run_bad(["--store-url", url],
                               expect="got postgressql://(not shown: it holds an '@' outside a "
                                      "user information)")
            self.assertNotIn("s3cret", err, url)
            self.assertNotIn("someone", err, url)
        # A store_url is one URI (libpq has no URL lists): a ",x://" in a password or a value
        # starts no URL of its own, whose text would be shown.
        for url, shown in (("postgressql://someone:s3cret,x://y@h/db",
                            "got postgressql://(not shown: it holds an '@' outside a user "
                            "information)"),
                           ("postgressql://h/db?application_name=a,s3cret://x",
                            "got postgressql://h/db?application_name=...")):
            err = self.run_bad(["--store-url", url], expect=shown)
            self.assertNotIn("s3cret", err, url)
        # (the relay quoted a URL of another scheme, credentials and all)
        for key in ("--nats-url", "--nats-reader-url"):
            for url in ("nats://someone:s3cret@127.0.0.1:4222", "natss://someone:s3cret@h:4222"):
                err = self.run_bad([key, url], expect="must not carry credentials")
                self.assertNotIn("s3cret", err)
        # Port 1 on loopback refuses at once; "someone" is a user name, s3cret any value.
        err = self.run_bad(["--store-url", "postgresql://someone@127.0.0.1:1/db?"
                            "application_name=s3cret&connect_timeout=5"],
                           expect="opening postgresql://127.0.0.1:1/db?application_name=...&"
                                  "connect_timeout=...: ")
        self.assertNotIn("s3cret", err)
        self.assertNotIn("someone", err)
        err = self.run_bad(["--store-url", "postgresql://127.0.0.1:1/db?"
                            "application_name=a,s3cret://x&connect_timeout=5"],
                           expect="opening postgresql://127.0.0.1:1/db?application_name=...&"
                                  "connect_timeout=...: ")
        self.assertNotIn("s3cret", err)

    def test_one_streamd_per_sqlite_data_dir(self):
        """A second streamd on the data directory of a running one (SQLite store) stops at
        start, naming the first one's pid, instead of sharing the database; once the first
        has stopped, the directory is free again."""
        d = Daemon()
        try:
            p = subprocess.run([STREAMD, "--port", "0", "--data-dir", d.data_dir],
                               capture_output=True, env=streamd_env(None), timeout=20)
            self.assertEqual(p.returncode, 2, p.stderr)
            err = p.stderr.decode()
            self.assertIn("another streamd (pid %d) is running on the data directory" % d.proc.pid,
                          err)
            st, _, _ = d.request("GET", "/healthz")  # the first one keeps serving
            self.assertEqual(st, 200)
            self.assertEqual(d.stop(), 0)
            d.start()  # the same directory, after the first process ended
            st, _, _ = d.request("GET", "/healthz")
            self.assertEqual(st, 200)
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()

    def test_start_logs_no_libmicrohttpd_warning(self):
        """A default start (a thread per connection) and an epoll-pool start log no warning
        of libmicrohttpd's (it warned "Zero size, specified for thread pool size, is ignored"
        on every default start)."""
        for args in ([], ["--max-connections", "5000"]):
            d = Daemon(args)
            try:
                self.assertEqual(d.request("GET", "/healthz")[0], 200)
                self.assertEqual(d.stop(), 0)
                with open(d.stderr_path, encoding="utf-8") as f:
                    lines = [json.loads(x) for x in f if x.startswith("{")]
                mhd = [x["msg"] for x in lines if x.get("level") in ("warn", "error")
                       and "operator token" not in x["msg"]]
                self.assertEqual(mhd, [], args)
            finally:
                d.cleanup()

    def test_help(self):
        p = subprocess.run([STREAMD, "--help"], capture_output=True, timeout=10)
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"STREAMD_MAX_BODY_BYTES", p.stdout)

    def test_operator_token_from_env(self):
        tok = "env-token-abcdefghijklmnop"
        d = Daemon(env={"STREAMD_OPERATOR_TOKEN": tok}, token=False)
        try:
            st, _, b = d.request("POST", "/v1/echo", body=b"{}", headers={
                "Authorization": "Bearer " + tok, "Content-Type": "application/json"})
            self.assertEqual(st, 200, b)
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()


if __name__ == "__main__":
    if len(sys.argv) < 2 or not os.access(sys.argv[1], os.X_OK):
        sys.exit("usage: test_streamd.py /path/to/streamd")
    STREAMD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
