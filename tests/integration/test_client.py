#!/usr/bin/python3
"""Integration tests of the C client SDK against the real streamd.

Starts the built daemon on an ephemeral loopback port (port 0) with a
temporary data directory, --seed-demo, a 2-second access-token lifetime (so
that automatic refresh on 401 happens for real) and a 1-second device
interval, then runs tests/integration/client_driver.c scenarios against it,
and/or the examples/browse program (device flow approved through
POST /activate, as a person would).

Usage:
  /usr/bin/python3 test_client.py --streamd PATH --catalog PATH
                                  [--driver PATH] [--browse PATH]
Standard library only.
"""
import argparse
import http.client
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

ARGS = None


class Daemon:
    """One streamd with its own temporary data directory."""

    def __init__(self, extra=()):
        self.tmp = tempfile.mkdtemp(prefix="client-test-")
        self.stderr_path = os.path.join(self.tmp, "stderr.log")
        self.access_log = os.path.join(self.tmp, "access.log")
        cmd = [ARGS.streamd, "--port", "0", "--listen-address", "127.0.0.1",
               "--data-dir", os.path.join(self.tmp, "data"), "--access-log", self.access_log,
               "--seed-demo", "--demo-catalog", ARGS.catalog,
               "--access-token-ttl", "2", "--device-interval", "1"] + list(extra)
        env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMD_")}
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr, env=env)
        self.buf = b""
        info = json.loads(self._line(15))
        assert info["event"] == "listening", info
        self.port = int(info["port"])
        self.url = "http://127.0.0.1:%d" % self.port
        demo = json.loads(self._line(30))
        assert demo["event"] == "demo", demo
        self.demo_email = demo["email"]
        self.demo_password = demo["password"]

    def _line(self, timeout):
        deadline = time.time() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("streamd printed nothing; stderr: " + self.stderr_text())
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise AssertionError("streamd exited early; stderr: " + self.stderr_text())
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def stderr_text(self):
        self.stderr.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.stderr.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def activate(self, user_code, email, password, action="approve"):
        body = urllib.parse.urlencode({"user_code": user_code, "email": email,
                                       "password": password, "action": action})
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request("POST", "/activate", body=body,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
            r = c.getresponse()
            return r.status, r.read().decode(errors="replace")
        finally:
            c.close()


class DriverTests(unittest.TestCase):
    """client_driver scenarios against one shared daemon (each uses its own accounts)."""

    @classmethod
    def setUpClass(cls):
        # No login rate limit here: the scenarios sign in many times from 127.0.0.1.
        cls.d = Daemon(["--login-account-burst", "0", "--login-address-burst", "0"])

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def run_driver(self, scenario, daemon=None, timeout=120):
        d = daemon or self.d
        p = subprocess.run([ARGS.driver, d.url, scenario], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        out = p.stdout.decode(errors="replace")
        sys.stderr.write(out)
        self.assertEqual(p.returncode, 0, "client_driver %s failed:\n%s\nstreamd stderr:\n%s"
                         % (scenario, out, d.stderr_text()))
        self.assertIn("done " + scenario, out)
        return out

    def test_accounts(self):
        self.run_driver("accounts")

    def test_refresh_on_401(self):
        self.run_driver("refresh")

    def test_concurrent_refresh(self):
        self.run_driver("concurrency")

    def test_device_flow(self):
        self.run_driver("device")

    def test_device_deny_cancel_timeout(self):
        self.run_driver("device-deny")

    def test_profiles(self):
        self.run_driver("profiles")

    def test_catalog(self):
        self.run_driver("catalog")

    def test_viewing(self):
        self.run_driver("viewing")

    def test_billing(self):
        self.run_driver("billing")

    def test_rate_limit(self):
        d = Daemon(["--login-account-burst", "2", "--login-address-burst", "0"])
        try:
            self.run_driver("ratelimit", daemon=d)
        finally:
            d.stop()

    def test_no_token_in_daemon_logs(self):
        # After the other scenarios ran: neither the access log nor stderr
        # carries bearer tokens sent by the client.
        self.run_driver("refresh")
        with open(self.d.access_log, "rb") as f:
            log = f.read().decode(errors="replace")
        self.assertNotRegex(log + self.d.stderr_text(), r"eyJ[A-Za-z0-9_-]{10,}\.")


class BrowseTests(unittest.TestCase):
    """examples/browse: TV-code sign-in approved through /activate, home rows, search."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(["--login-account-burst", "0", "--login-address-burst", "0"])

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def test_device_flow_home_rows_and_search(self):
        p = subprocess.Popen([ARGS.browse, "--server", self.d.url, "--search", "lantern",
                              "--limit", "3", "--timeout", "60"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first = p.stdout.readline().decode()
        m = re.match(r"^Go to (\S+) and enter ([BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4})$",
                     first.strip())
        self.assertIsNotNone(m, first)
        self.assertTrue(m.group(1).endswith("/activate"), m.group(1))
        code = m.group(2)
        time.sleep(1.5)
        # A wrong password first: the TV keeps waiting.
        st, _ = self.d.activate(code, self.d.demo_email, "not the password")
        self.assertEqual(st, 401)
        st, page = self.d.activate(code.lower().replace("-", ""), self.d.demo_email,
                                   self.d.demo_password)
        self.assertEqual(st, 200, page)
        out, err = p.communicate(timeout=60)
        out = first + out.decode()
        self.assertEqual(p.returncode, 0, out + err.decode())
        self.assertIn("Signed in.", out)
        self.assertIn("Continue watching", out)
        self.assertRegex(out, r"Search: lantern\n  Lantern Road \(2019\)")
        # At least three genre rows with titles under them.
        rows = re.findall(r"^\S[^\n]*\n  \S", out, re.M)
        self.assertGreaterEqual(len(rows), 3, out)

    def test_password_sign_in(self):
        p = subprocess.run([ARGS.browse, "--server", self.d.url, "--email", self.d.demo_email,
                            "--password-stdin", "--search", "lantern"],
                           input=(self.d.demo_password + "\n").encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, out + p.stderr.decode())
        self.assertIn("Signed in as " + self.d.demo_email, out)
        self.assertIn("Lantern Road", out)

    def test_wrong_password_fails_cleanly(self):
        p = subprocess.run([ARGS.browse, "--server", self.d.url, "--email", self.d.demo_email,
                            "--password-stdin"], input=b"wrong-password\n",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(p.returncode, 1)
        err = p.stderr.decode()
        self.assertIn("signing in", err)
        self.assertNotIn("wrong-password", err)

    def test_bad_usage(self):
        p = subprocess.run([ARGS.browse, "--server", "ftp://x"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertIn("base_url", p.stderr.decode())
        p = subprocess.run([ARGS.browse], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=10)
        self.assertEqual(p.returncode, 2)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--streamd", required=True)
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--driver")
    ap.add_argument("--browse")
    ap.add_argument("unittest_args", nargs="*")
    ARGS = ap.parse_args()
    if not ARGS.driver and not ARGS.browse:
        ap.error("give --driver and/or --browse")
    loader = unittest.TestLoader()
    tests = []
    if ARGS.driver:
        tests += list(loader.loadTestsFromTestCase(DriverTests))
    if ARGS.browse:
        tests += list(loader.loadTestsFromTestCase(BrowseTests))
    if ARGS.unittest_args:  # run only the named tests
        tests = [t for t in tests if t.id().split(".")[-1] in set(ARGS.unittest_args)]
    suite = unittest.TestSuite(tests)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)


if __name__ == "__main__":
    main()
