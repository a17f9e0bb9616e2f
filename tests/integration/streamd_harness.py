"""Shared harness for the streamd integration tests (tests/integration/test_*.py).

Starts the real built streamd on a loopback port (port 0: the bound port is read from the
"listening" JSON line streamd prints on stdout) with a data directory in a temporary directory,
stops, kills and restarts it on the same data directory and port, and makes HTTP requests to it
(JSON and form bodies, bearer tokens, idempotency keys). Also: register/login helpers and the
problem+json assertions the API tests share.

Standard library only (Debian's /usr/bin/python3). The test scripts import it from their own
directory: Python puts the script's directory first on sys.path.
"""
import http.client
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse

HOST = "127.0.0.1"
PASSWORD = "correct horse 42"
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def free_port():
    """A loopback TCP port nothing listens on right now."""
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def streamd_env(extra=None):
    """os.environ without STREAMD_* variables, updated with extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMD_")}
    env.update(extra or {})
    return env


def start_refused(streamd, data_dir, extra=()):
    """Start `streamd` on `data_dir` (loopback, port 0) when it must stop at start: (started,
    exit status, stderr). One that starts instead is killed at its listening line and `started`
    is True, for the caller to fail on."""
    with tempfile.TemporaryFile() as log:
        p = subprocess.Popen([streamd, "--port", "0", "--listen-address", HOST,
                              "--data-dir", data_dir] + list(extra),
                             stdout=subprocess.PIPE, stderr=log, env=streamd_env())
        line = p.stdout.readline()  # the listening line, or EOF when it stops
        if line:
            p.kill()
        rc = p.wait(timeout=120)
        p.stdout.close()
        log.seek(0)
        err = log.read().decode()
    return line != b"", rc, err


class Response(tuple):
    """An HTTP answer. Unpacks and indexes as (status, headers, body) with headers a dict of
    lower-cased names (the last value wins); also .status, .headers, .body, .header_list (the
    (name, value) pairs as received), .header(name), .h(name), .json and .ctype."""

    def __new__(cls, status, header_list, body):
        header_list = list(header_list)
        headers = {k.lower(): v for k, v in header_list}
        self = super().__new__(cls, (status, headers, body))
        self.status, self.headers, self.body, self.header_list = status, headers, body, header_list
        return self

    def header(self, name):
        """All values of the header joined with ", ", or None."""
        vals = [v for k, v in self.header_list if k.lower() == name.lower()]
        return ", ".join(vals) if vals else None

    h = header

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def ctype(self):
        """The media type of Content-Type without parameters ("" without one)."""
        return (self.header("Content-Type") or "").split(";")[0].strip()


def request(port, method, path, body=None, headers=None, token=None, json_body=None, form=None,
            ctype=None, key=None, conn=None, timeout=30):
    """One HTTP request to 127.0.0.1:port with http.client (the path is sent as given).

    json_body / form encode the body and default the Content-Type; a str body is UTF-8; token
    adds "Authorization: Bearer"; key adds Idempotency-Key. With conn (an open
    http.client.HTTPConnection) the request goes on it and it stays open."""
    h = dict(headers or {})
    if json_body is not None:
        body = json.dumps(json_body).encode()
        ctype = ctype or "application/json"
    if form is not None:
        body = urllib.parse.urlencode(form).encode()
        ctype = ctype or "application/x-www-form-urlencoded"
    if isinstance(body, str):
        body = body.encode()
    if ctype:
        h["Content-Type"] = ctype
    if token:
        h["Authorization"] = "Bearer " + token
    if key is not None:
        h["Idempotency-Key"] = key
    c = conn or http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        return Response(r.status, r.getheaders(), r.read())
    finally:
        if conn is None:
            c.close()


class Streamd:
    """One streamd process on 127.0.0.1.

    binary: the streamd executable; args: extra command-line flags (last on the command line).
    tmp: the directory for the data dir, logs and generated files (default: a new temporary
    directory, removed by cleanup()); data_dir: default <tmp>/data; port: 0 for an ephemeral one.
    log_level: --log-level when given; access_log: --access-log <tmp>/access.log.
    catalog: a dict (written to <tmp>/catalog.json) or a path: --seed-demo --demo-catalog, and the
    "demo" line is read into .demo. operator_token: in STREAMD_OPERATOR_TOKEN, or with
    token_file in <tmp>/operator.token (--operator-token-file). config: a dict written to
    <tmp>/streamd.json (--config). env: more environment (STREAMD_* from ours is dropped).
    strict: stop() fails when streamd needs SIGKILL and checks stderr for sanitizer reports.

    Usable as a context manager (stop and cleanup on exit)."""

    def __init__(self, binary, args=(), tmp=None, prefix="streamd-test-", data_dir=None, port=0,
                 log_level=None, access_log=True, catalog=None, operator_token=None,
                 token_file=False, config=None, env=None, start_timeout=60, demo_timeout=30,
                 strict=False):
        self.own_tmp = tmp is None
        self.tmp = tempfile.mkdtemp(prefix=prefix) if tmp is None else tmp
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.port = port
        self.operator_token = operator_token
        self.strict = strict
        self.start_timeout, self.demo_timeout = start_timeout, demo_timeout
        self.proc = self.stderr = None
        self.demo = None
        self.access_log = os.path.join(self.tmp, "access.log") if access_log else None
        self.catalog_path = None
        flags = []
        if log_level:
            flags += ["--log-level", log_level]
        if self.access_log:
            flags += ["--access-log", self.access_log]
        if config is not None:
            path = os.path.join(self.tmp, "streamd.json")
            with open(path, "w") as f:
                json.dump(config, f)
            flags += ["--config", path]
        self.env = streamd_env(env)
        if operator_token and token_file:
            path = os.path.join(self.tmp, "operator.token")
            with open(path, "w") as f:
                f.write(operator_token + "\n")
            os.chmod(path, 0o600)
            flags += ["--operator-token-file", path]
        elif operator_token:
            self.env["STREAMD_OPERATOR_TOKEN"] = operator_token
        if catalog is not None:
            self.catalog_path = catalog
            if not isinstance(catalog, str):
                self.catalog_path = os.path.join(self.tmp, "catalog.json")
                with open(self.catalog_path, "w", encoding="utf-8") as f:
                    json.dump(catalog, f, ensure_ascii=False)
            flags += ["--seed-demo", "--demo-catalog", self.catalog_path]
        self.binary, self.flags = binary, flags + list(args)
        self.start()

    @property
    def url(self):
        """http://127.0.0.1:<port>"""
        return "http://%s:%d" % (HOST, self.port)

    base_url = url

    def start(self):
        """Start the process (on self.port, 0 the first time); wait for its listening line."""
        cmd = [self.binary, "--port", str(self.port), "--listen-address", HOST,
               "--data-dir", self.data_dir] + self.flags
        fd, self.stderr_path = tempfile.mkstemp(prefix="stderr-", suffix=".log", dir=self.tmp)
        os.close(fd)
        self.stderr = open(self.stderr_path, "wb")
        self._buf = b""
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr, env=self.env)
        try:
            line = self.read_line(self.start_timeout)
            info = json.loads(line)
            assert info["event"] == "listening", line
            self.port = int(info["port"])
            assert self.port > 0, line
            if self.catalog_path:
                self.demo = json.loads(self.read_line(self.demo_timeout))
                assert self.demo["event"] == "demo", self.demo
        except BaseException:
            self.kill()
            raise

    def restart(self):
        """Stop (if running) and start again on the same port and data directory."""
        self.stop()
        self.start()

    def read_line(self, timeout):
        """The next line streamd prints on stdout (AssertionError after timeout s or at exit)."""
        deadline = time.time() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("no line from streamd; stderr: " + self.stderr_text(4000))
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise AssertionError("streamd exited; stderr: " + self.stderr_text(4000))
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode()

    def stderr_text(self, tail=None):
        """streamd's stderr so far (the last tail characters with tail)."""
        if not self.stderr.closed:
            self.stderr.flush()
        with open(self.stderr_path, "rb") as f:
            text = f.read().decode(errors="replace")
        return text[-tail:] if tail else text

    def check_sanitizers(self):
        text = self.stderr_text()
        for marker in SANITIZER_MARKERS:
            assert marker not in text, "sanitizer report in streamd stderr:\n" + text[-4000:]

    def conn(self, timeout=30):
        """A new http.client connection to streamd (caller closes it)."""
        return http.client.HTTPConnection(HOST, self.port, timeout=timeout)

    def request(self, method, path, **kw):
        """request() to this streamd: a Response."""
        return request(self.port, method, path, **kw)

    def metric(self, name):
        """The value of the unlabelled sample `name` in GET /metrics, None when absent."""
        r = self.request("GET", "/metrics")
        assert r.status == 200, (r.status, r.body)
        for line in r.body.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    def _close_files(self):
        for f in (self.proc.stdout, self.stderr):
            if not f.closed:
                f.close()

    def kill(self):
        """SIGKILL (if running) and reap."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._close_files()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Send sig (if running) and wait up to timeout s, then SIGKILL. Returns the exit status
        (negative for a signal). Can be called again. With strict, a SIGKILL fails and stderr
        must hold no sanitizer report."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            if self.strict:
                raise AssertionError("streamd did not exit after signal")
        self._close_files()
        if self.strict:
            self.check_sanitizers()
        return rc

    def cleanup(self):
        """Kill streamd if still running; remove the temporary directory if it is ours."""
        if self.proc is not None:
            self.kill()
        if self.own_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        self.cleanup()
        return False


_n = [0]


def unique_email(tag="user", domain="example.test"):
    """<tag><pid>.<n>@<domain>, new on every call."""
    _n[0] += 1
    return "%s%d.%d@%s" % (tag, os.getpid(), _n[0], domain)


def login(d, email, password=PASSWORD):
    """POST /v1/auth/login (must answer 200): the token response's JSON."""
    r = d.request("POST", "/v1/auth/login", json_body={"email": email, "password": password})
    assert r.status == 200, (r.status, r.body)
    return r.json


def register_login(d, email, password=PASSWORD):
    """POST /v1/auth/register (must answer 201), then login()."""
    r = d.request("POST", "/v1/auth/register", json_body={"email": email, "password": password})
    assert r.status == 201, (r.status, r.body)
    return login(d, email, password)


def profile_token(d, token, name="Main"):
    """Create a profile with the account token and switch to it: (profile id, the switch
    answer's JSON, which holds the profile's access_token)."""
    r = d.request("POST", "/v1/profiles", json_body={"name": name}, token=token)
    assert r.status == 201, (r.status, r.body)
    pid = r.json["id"]
    r = d.request("POST", "/v1/profiles/%s/switch" % pid, json_body={}, token=token)
    assert r.status == 200, (r.status, r.body)
    return pid, r.json


class ApiTestCase(unittest.TestCase):
    def problem(self, r, status, slug=None):
        """r is a problem+json answer with this status (and type urn:libstream:problem:<slug>)."""
        self.assertEqual(r.status, status, r.body)
        self.assertEqual(r.ctype, "application/problem+json", r.body)
        p = r.json
        self.assertEqual(p["status"], status)
        if slug:
            self.assertEqual(p["type"], "urn:libstream:problem:" + slug, p)
        return p
