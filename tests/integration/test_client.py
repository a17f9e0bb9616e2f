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
import re
import subprocess
import sys
import threading
import time
import unittest

from streamd_harness import Streamd

ARGS = None


def start_daemon(extra=()):
    """One streamd with its own temporary data directory."""
    return Streamd(ARGS.streamd, ["--access-token-ttl", "2", "--device-interval", "1"] +
                   list(extra), prefix="client-test-", catalog=ARGS.catalog, start_timeout=15)


def stop_daemon(d):
    d.stop(timeout=15)
    d.cleanup()


def activate(d, user_code, email, password, action="approve"):
    r = d.request("POST", "/activate", form={"user_code": user_code, "email": email,
                                             "password": password, "action": action},
                  timeout=10)
    return r.status, r.body.decode(errors="replace")


class DriverTests(unittest.TestCase):
    """client_driver scenarios against one shared daemon (each uses its own accounts)."""

    @classmethod
    def setUpClass(cls):
        # No login rate limit here: the scenarios sign in many times from 127.0.0.1.
        cls.d = start_daemon(["--login-account-burst", "0", "--login-address-burst", "0"])

    @classmethod
    def tearDownClass(cls):
        stop_daemon(cls.d)

    def run_driver(self, scenario, daemon=None, timeout=120):
        d = daemon or self.d
        p = subprocess.run([ARGS.driver, d.url, scenario], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        out = p.stdout.decode(errors="replace")
        sys.stderr.write(out)
        self.assertEqual(p.returncode, 0, "client_driver %s failed:\n%s\nstreamd stderr:\n%s"
                         % (scenario, out, d.stderr_text(4000)))
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
        d = start_daemon(["--login-account-burst", "2", "--login-address-burst", "0"])
        try:
            self.run_driver("ratelimit", daemon=d)
        finally:
            stop_daemon(d)

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
        cls.d = start_daemon(["--login-account-burst", "0", "--login-address-burst", "0"])

    @classmethod
    def tearDownClass(cls):
        stop_daemon(cls.d)

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
        st, _ = activate(self.d, code, self.d.demo["email"], "not the password")
        self.assertEqual(st, 401)
        st, page = activate(self.d, code.lower().replace("-", ""), self.d.demo["email"],
                            self.d.demo["password"])
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
        p = subprocess.run([ARGS.browse, "--server", self.d.url, "--email", self.d.demo["email"],
                            "--password-stdin", "--search", "lantern"],
                           input=(self.d.demo["password"] + "\n").encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, out + p.stderr.decode())
        self.assertIn("Signed in as " + self.d.demo["email"], out)
        self.assertIn("Lantern Road", out)

    def test_wrong_password_fails_cleanly(self):
        p = subprocess.run([ARGS.browse, "--server", self.d.url, "--email", self.d.demo["email"],
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
