#!/usr/bin/python3
"""Account self-service end to end on the real streamd: the forgotten-password e-mail flow,
the password change, GET /v1/account and sign-out everywhere.

- POST /v1/auth/password-reset answers 202 with the same body for a known and an unknown
  e-mail; only the known one puts a message in the outbox (<data_dir>/outbox): one RFC 5322
  .eml file, mode 0600, CRLF line ends, From/To/Subject/Date/Message-ID/Content-Type headers,
  the link = --reset-url-base + a 43-character token. Confirming with that token (204) sets the
  new password: the old one and the old refresh tokens are refused, the new one signs in; the
  token works once. Over the per-e-mail limit: 429 with Retry-After, for unknown e-mails too.
- The mail is written after the answer, by streamd's reset queue (one thread, in request
  order): the tests poll the outbox with a deadline (never a timing threshold) and use the
  order: once a known address's mail is there, every earlier request has been handled. A burst
  of requests for one address gives one mail each, and only the newest link works. SIGTERM
  right after a burst of 202s still leaves every mail in the outbox (the queue is drained).
- Nothing acknowledged is lost: the 202 comes after the request was committed to the store.
  SIGSTOP right after a burst of 202s freezes every thread at once, so the outbox then shows
  exactly what the worker had written; SIGKILL, restart on the same data directory, and every
  request has its mail (a request being mailed at the kill may be mailed twice, never not at
  all). A round whose worker had written everything before the stop tests nothing and is
  repeated (up to 5 rounds; the test fails if none caught a request in flight). Once a
  request made after the restart has its mail, every earlier one has been handled (request
  order), so the count is final. An outbox that refuses writes (a file where the directory
  was) keeps the requests pending instead of dropping them; after SIGKILL and a restart with
  the outbox back, each gets its mail.
- POST /v1/account/password: wrong current password 403, weak new one 400, right one 204, and
  then the other device's refresh token is refused and only the new password signs in.
- GET /v1/account: id, email, role, created_at, no hash.
- POST /v1/account/logout-all: {"revoked": n}; every refresh token is refused afterwards.

Usage: /usr/bin/python3 test_password_reset.py STREAMD
Standard library only.
"""
import email
import email.policy
import os
import re
import signal
import stat
import sys
import time
import unittest
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from streamd_harness import ApiTestCase, PASSWORD, Streamd, login, register_login, unique_email

D = None
BASE = "https://app.example/reset?token="
FROM = "Stream Support <support@app.example>"
NEW = "a brand new secret 7"
FLAGS = ["--login-address-burst", "0", "--trust-forwarded-for", "--reset-url-base", BASE,
         "--mail-from", FROM]
MAIL_DEADLINE = 30  # seconds the reset queue gets to write a mail (a deadline, not a threshold)


def outbox(d=None):
    return os.path.join((d or D).data_dir, "outbox")


def mails(d=None):
    """The .eml files of the outbox (not the hidden temporary files of a write in progress)."""
    box = outbox(d)
    return sorted(m for m in os.listdir(box) if not m.startswith(".")) if os.path.isdir(box) else []


def wait_mails(before, n, d=None):
    """The outbox files not in `before`, as soon as there are at least n (fewer after the
    deadline: the caller's assertion says so)."""
    deadline = time.monotonic() + MAIL_DEADLINE
    while True:
        new = [m for m in mails(d) if m not in before]
        if len(new) >= n or time.monotonic() > deadline:
            return new
        time.sleep(0.02)


def read_mail(name, d=None):
    with open(os.path.join(outbox(d), name), "rb") as f:
        return email.message_from_bytes(f.read(), policy=email.policy.default)


def token_in(msg):
    m = re.search(re.escape(BASE) + r"([A-Za-z0-9_-]{43})\r?$", msg.get_content(), re.M)
    assert m, msg.get_content()
    return m.group(1)


def reset(addr, client=None, d=None):
    """POST /v1/auth/password-reset; `client` is the X-Forwarded-For address (streamd runs
    with --trust-forwarded-for), so each test has its own per-address bucket."""
    headers = {"X-Forwarded-For": client} if client else None
    return (d or D).request("POST", "/v1/auth/password-reset", json_body={"email": addr},
                            headers=headers)


def confirm(token, password):
    return D.request("POST", "/v1/auth/password-reset/confirm",
                     json_body={"token": token, "new_password": password})


def login_answer(addr, password):
    return D.request("POST", "/v1/auth/login", json_body={"email": addr, "password": password})


def refresh(rt):
    return D.request("POST", "/v1/auth/refresh", json_body={"refresh_token": rt})


class T1Account(ApiTestCase):
    def test_1_forgot_password(self):
        addr = unique_email("forgot")
        t = register_login(D, addr)
        before = mails()
        unknown = reset(unique_email("nobody"))
        self.assertEqual(unknown.status, 202, unknown.body)
        known = reset(addr)
        self.assertEqual(known.status, 202, known.body)
        # Identical answers: nothing tells the two apart.
        self.assertEqual(known.body, unknown.body)
        self.assertEqual(known.ctype, unknown.ctype)
        # The mail arrives after the answer. The queue works in request order, so once the
        # known address's mail is there the unknown one has been handled: no message for it.
        new = wait_mails(before, 1)
        self.assertEqual(len(new), 1, new)
        self.assertEqual(len(mails()), len(before) + 1)

        name = new[0]
        self.assertRegex(name, r"^\d{13}-[0-9a-f]{16}\.eml$")
        path = os.path.join(outbox(), name)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertFalse([f for f in os.listdir(outbox()) if f.endswith(".tmp")])
        raw = open(path, "rb").read()
        self.assertNotIn(b"\n", raw.replace(b"\r\n", b""))  # CRLF line ends only
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(msg["From"], FROM)
        self.assertEqual(msg["To"], addr)
        self.assertEqual(msg["Subject"], "Reset your password")
        self.assertTrue(msg["Date"])
        self.assertRegex(msg["Message-ID"], r"^<\d+\.[0-9a-f]{16}@streamd>$")
        self.assertEqual(msg.get_content_type(), "text/plain")
        self.assertEqual(msg.get_content_charset(), "utf-8")
        m = re.search(re.escape(BASE) + r"([A-Za-z0-9_-]{43})\r?$", msg.get_content(), re.M)
        self.assertTrue(m, msg.get_content())
        token = m.group(1)

        # Strict bodies and bad input change nothing.
        self.problem(D.request("POST", "/v1/auth/password-reset",
                               json_body={"email": addr, "extra": 1}), 400)
        self.problem(reset("not-an-email"), 400)
        p = self.problem(confirm(token, "short"), 400)
        self.assertIn("new password", p["detail"])
        self.problem(confirm("x" * 10, NEW), 400)
        self.problem(confirm("A" * 43, NEW), 401, "authentication-failed")
        login(D, addr)  # the old password still works

        r = confirm(token, NEW)
        self.assertEqual(r.status, 204, r.body)
        self.problem(confirm(token, "yet another one 9"), 401)  # once only
        self.problem(login_answer(addr, PASSWORD), 401)
        login(D, addr, NEW)
        self.problem(refresh(t["refresh_token"]), 401)

    def test_2_reset_requests_are_rate_limited(self):
        addr = unique_email("flood")  # unknown: limited all the same
        for _ in range(3):
            self.assertEqual(reset(addr).status, 202)
        r = reset(addr)
        self.problem(r, 429, "rate-limited")
        self.assertTrue(int(r.header("Retry-After")) > 0)

    def test_3_change_password(self):
        addr = unique_email("change")
        t = register_login(D, addr)
        other = login(D, addr)  # another device
        tok = t["access_token"]
        path = "/v1/account/password"
        self.problem(D.request("POST", path, token=tok,
                               json_body={"current_password": "wrong password",
                                          "new_password": NEW}), 403)
        p = self.problem(D.request("POST", path, token=tok,
                                   json_body={"current_password": PASSWORD,
                                              "new_password": "short"}), 400)
        self.assertIn("new password", p["detail"])
        self.problem(D.request("POST", path, token=tok,
                               json_body={"current_password": PASSWORD}), 400)
        self.problem(D.request("POST", path, json_body={"current_password": PASSWORD,
                                                        "new_password": NEW}), 401)
        login(D, addr)  # nothing changed yet
        before = mails()
        r = D.request("POST", path, token=tok,
                      json_body={"current_password": PASSWORD, "new_password": NEW})
        self.assertEqual(r.status, 204, r.body)
        self.problem(refresh(other["refresh_token"]), 401)
        self.problem(login_answer(addr, PASSWORD), 401)
        login(D, addr, NEW)
        self.assertEqual(mails(), before)

    def test_3b_changed_demo_password_is_kept_and_not_printed(self):
        """--seed-demo: a restart keeps the saved demo password; once the account's password
        was changed through the API, a restart keeps that one and prints "password": null,
        "password_changed": true, instead of the stale one saved in demo-credentials.json."""
        d = Streamd(sys.argv[1], [], prefix="streamd-demo-pw-", log_level="warn",
                    access_log=False, catalog={"titles": [
                        {"id": "demo-one", "kind": "movie", "name": "Demo One",
                         "maturity_rating": 0, "genres": ["Drama"]}]})
        try:
            self.assertFalse(d.demo["password_changed"])
            old = d.demo["password"]
            # A plain restart keeps (and prints) the saved password: before, the file was never
            # read back (its reader refused files under 64 KiB) and every start reset it.
            d.restart()
            self.assertEqual(d.demo["password"], old)
            self.assertFalse(d.demo["password_changed"])
            t = login(d, d.demo["email"], old)
            r = d.request("POST", "/v1/account/password", token=t["access_token"],
                          json_body={"current_password": old, "new_password": NEW})
            self.assertEqual(r.status, 204, r.body)
            d.restart()
            self.assertIsNone(d.demo["password"], d.demo)
            self.assertTrue(d.demo["password_changed"])
            login(d, d.demo["email"], NEW)  # the owner's password is kept
            self.assertEqual(d.request("POST", "/v1/auth/login", json_body={
                "email": d.demo["email"], "password": old}).status, 401)
            self.assertEqual(d.stop(), 0)
        finally:
            d.stop()
            d.cleanup()

    def test_4_account_get(self):
        addr = unique_email("me")
        t = register_login(D, addr)
        r = D.request("GET", "/v1/account", token=t["access_token"])
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json, {"id": t["account_id"], "email": addr, "role": "viewer",
                                  "created_at": r.json["created_at"]})
        self.assertIsInstance(r.json["created_at"], int)
        self.problem(D.request("GET", "/v1/account"), 401)

    def test_5_logout_all(self):
        addr = unique_email("everywhere")
        a = register_login(D, addr)
        b = login(D, addr)
        r = D.request("POST", "/v1/account/logout-all", token=a["access_token"])
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json, {"revoked": 2})
        for rt in (a["refresh_token"], b["refresh_token"]):
            self.problem(refresh(rt), 401)
        # Access tokens are stateless: they work until they expire (at most 15 min).
        self.assertEqual(D.request("GET", "/v1/account", token=b["access_token"]).status, 200)
        r = D.request("POST", "/v1/account/logout-all", token=a["access_token"])
        self.assertEqual(r.json, {"revoked": 0})

    def test_6_burst_for_a_known_address(self):
        addr = unique_email("burst")
        register_login(D, addr)
        nobody = unique_email("nobody")
        client = "198.51.100.6"  # this test's own per-address bucket (10 in a burst)
        before = mails()
        answers = [reset(nobody, client) for _ in range(3)] + [reset(addr, client)
                                                                for _ in range(3)]
        for r in answers:
            self.assertEqual(r.status, 202, r.body)
            self.assertEqual(r.body, answers[0].body)
        # The per-e-mail limit still answers at once, known address or not.
        self.problem(reset(addr, client), 429, "rate-limited")
        self.problem(reset(nobody, client), 429, "rate-limited")
        new = wait_mails(before, 3)
        self.assertEqual(len(new), 3, new)
        msgs = [read_mail(n) for n in new]
        self.assertEqual([m["To"] for m in msgs], [addr] * 3)  # none for the unknown address
        tokens = [token_in(m) for m in msgs]
        self.assertEqual(len(set(tokens)), 3)
        # Each request stored its own link and invalidated the earlier ones: one works.
        statuses = sorted(confirm(tok, NEW).status for tok in tokens)
        self.assertEqual(statuses, [204, 401, 401])
        login(D, addr, NEW)

    def test_7_sigterm_sends_every_accepted_request(self):
        # A streamd of its own: stopped in the middle of the test.
        with Streamd(D.binary, FLAGS, prefix="streamd-pwreset-drain-", log_level="warn",
                     access_log=False, strict=True) as d2:
            accounts = [unique_email("drain") for _ in range(7)]
            for a in accounts:
                r = d2.request("POST", "/v1/auth/register",
                               json_body={"email": a, "password": PASSWORD})
                self.assertEqual(r.status, 201, r.body)
            # 20 requests at once (3 per e-mail, 10 per client address: within every limit), so
            # they arrive faster than the queue's thread writes mails; SIGTERM right after the
            # last 202, while the queue usually still holds some (whether it does is not
            # asserted: that would be timing).
            asked = Counter(accounts[i // 3] for i in range(20))

            def one(i):
                return reset(accounts[i // 3], "198.51.100.%d" % (70 + i // 10), d=d2)

            with ThreadPoolExecutor(20) as pool:
                answers = list(pool.map(one, range(20)))
            self.assertEqual([r.status for r in answers], [202] * 20, [r.body for r in answers])
            self.assertEqual(d2.stop(), 0, d2.stderr_text(4000))
            names = mails(d2)
            self.assertEqual(len(names), 20, names)
            self.assertEqual(Counter(read_mail(n, d2)["To"] for n in names), asked)
            self.assertFalse([f for f in os.listdir(outbox(d2)) if f.endswith(".tmp")])

    def _register(self, d, tag, n):
        accounts = [unique_email(tag) for _ in range(n)]
        for a in accounts:
            r = d.request("POST", "/v1/auth/register", json_body={"email": a, "password": PASSWORD})
            self.assertEqual(r.status, 201, r.body)
        return accounts

    def _sentinel(self, d, before, client):
        """Request a reset for a new known address and wait for its mail: the worker works
        in request order, so every request accepted before it has been handled then. Returns
        the outbox names not in `before`, sentinel's excluded."""
        (addr,) = self._register(d, "sentinel", 1)
        self.assertEqual(reset(addr, client, d=d).status, 202)
        deadline = time.monotonic() + MAIL_DEADLINE
        while True:
            new = [m for m in mails(d) if m not in before]
            mine = [m for m in new if read_mail(m, d)["To"] == addr]
            if mine or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        self.assertEqual(len(mine), 1, "the sentinel's mail did not come: " + d.stderr_text(4000))
        return [m for m in new if m not in mine]

    def test_8_sigkill_right_after_the_202s_loses_nothing(self):
        with Streamd(D.binary, FLAGS, prefix="streamd-pwreset-kill-", log_level="warn",
                     access_log=False) as d2:
            caught = None
            for rnd in range(5):
                accounts = self._register(d2, "kill", 7)
                asked = Counter(accounts[i // 3] for i in range(20))
                before = set(mails(d2))

                def one(i):
                    # 3 per e-mail, 10 per client address: within every limit.
                    return reset(accounts[i // 3], "198.51.100.%d" % (100 + 2 * rnd + i // 10),
                                 d=d2)

                with ThreadPoolExecutor(20) as pool:
                    answers = list(pool.map(one, range(20)))
                self.assertEqual([r.status for r in answers], [202] * 20,
                                 [r.body for r in answers])
                # Every thread stops at once: what is in the outbox now is all the worker
                # wrote for these 202s before the kill.
                d2.proc.send_signal(signal.SIGSTOP)
                at_kill = [m for m in mails(d2) if m not in before]
                d2.kill()
                d2.start()  # same data directory and port
                got = self._sentinel(d2, before, "198.51.100.%d" % (150 + rnd))
                counts = Counter(read_mail(m, d2)["To"] for m in got)
                for a in accounts:  # at least once per accepted request
                    self.assertGreaterEqual(counts[a], asked[a],
                                            "round %d: %d of 20 mails written at the kill, %r "
                                            "after the restart" % (rnd, len(at_kill), counts))
                # One worker, one message in flight at the kill: at most one duplicate.
                self.assertLessEqual(len(got), 21, counts)
                if len(at_kill) < 20:
                    caught = (rnd, len(at_kill), len(got))
                    break
            self.assertIsNotNone(caught, "in 5 rounds the worker always wrote every mail before "
                                         "the SIGSTOP: the kill tested nothing")
            print("\n  sigkill round %d: %d of 20 mails written at the kill, %d after the restart"
                  % caught, file=sys.stderr)

    def test_9_refused_mails_stay_pending_across_a_kill(self):
        with Streamd(D.binary, FLAGS, prefix="streamd-pwreset-refused-", log_level="warn",
                     access_log=False) as d3:
            accounts = self._register(d3, "refused", 2)
            box = outbox(d3)
            os.makedirs(box, exist_ok=True)
            os.rename(box, box + ".off")
            with open(box, "w") as f:  # a file: no message can be written (root included)
                f.write("not a directory\n")
            for a in accounts:
                self.assertEqual(reset(a, "198.51.100.160", d=d3).status, 202)
            # The worker tried both and the hook refused both (an event, with a deadline).
            deadline = time.monotonic() + MAIL_DEADLINE
            while d3.stderr_text().count("was not accepted") < 2:
                self.assertLess(time.monotonic(), deadline, d3.stderr_text(4000))
                time.sleep(0.02)
            d3.kill()
            os.remove(box)
            os.rename(box + ".off", box)
            before = set(mails(d3))
            d3.start()
            got = self._sentinel(d3, before, "198.51.100.161")
            self.assertEqual(sorted(read_mail(m, d3)["To"] for m in got), sorted(accounts))
            for m in got:  # and the links work
                self.assertEqual(confirm_on(d3, token_in(read_mail(m, d3)), NEW).status, 204)


def confirm_on(d, token, password):
    return d.request("POST", "/v1/auth/password-reset/confirm",
                     json_body={"token": token, "new_password": password})


def main():
    global D
    D = Streamd(sys.argv[1], FLAGS, prefix="streamd-pwreset-", log_level="warn",
                access_log=False)
    ok = False
    try:
        suite = unittest.TestLoader().loadTestsFromTestCase(T1Account)
        ok = unittest.TextTestRunner(verbosity=2).run(suite).wasSuccessful()
        rc = D.stop()
        if rc != 0:
            print("streamd exited with %d" % rc, file=sys.stderr)
            ok = False
        if not ok:
            print("--- streamd stderr (tail) ---\n" + D.stderr_text(4000), file=sys.stderr)
    finally:
        D.stop()
        D.cleanup()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
