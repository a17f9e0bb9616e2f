#!/usr/bin/python3
"""Account self-service end to end on the real streamd: the forgotten-password e-mail flow,
the password change, GET /v1/account and sign-out everywhere.

- POST /v1/auth/password-reset answers 202 with the same body for a known and an unknown
  e-mail; only the known one puts a message in the outbox (<data_dir>/outbox): one RFC 5322
  .eml file, mode 0600, CRLF line ends, From/To/Subject/Date/Message-ID/Content-Type headers,
  the link = --reset-url-base + a 43-character token. Confirming with that token (204) sets the
  new password: the old one and the old refresh tokens are refused, the new one signs in; the
  token works once. Over the per-e-mail limit: 429 with Retry-After, for unknown e-mails too.
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
import stat
import sys
import unittest

from streamd_harness import ApiTestCase, PASSWORD, Streamd, login, register_login, unique_email

D = None
BASE = "https://app.example/reset?token="
FROM = "Stream Support <support@app.example>"
NEW = "a brand new secret 7"


def outbox():
    return os.path.join(D.data_dir, "outbox")


def mails():
    d = outbox()
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def reset(addr):
    return D.request("POST", "/v1/auth/password-reset", json_body={"email": addr})


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
        known = reset(addr)
        self.assertEqual(known.status, 202, known.body)
        new = [m for m in mails() if m not in before]
        self.assertEqual(len(new), 1, new)
        unknown = reset(unique_email("nobody"))
        self.assertEqual(unknown.status, 202, unknown.body)
        # Identical answers: nothing tells the two apart.
        self.assertEqual(known.body, unknown.body)
        self.assertEqual(known.ctype, unknown.ctype)
        self.assertEqual(len(mails()), len(before) + 1)  # no message for the unknown e-mail

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


def main():
    global D
    D = Streamd(sys.argv[1], ["--login-address-burst", "0", "--reset-url-base", BASE,
                              "--mail-from", FROM],
                prefix="streamd-pwreset-", log_level="warn", access_log=False)
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
