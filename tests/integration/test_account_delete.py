#!/usr/bin/python3
"""Account deletion end to end on the real streamd: DELETE /v1/account (the viewer, confirmed
with the password) and DELETE /v1/admin/accounts/{id} (the operator).

- A wrong password is a 403 problem+json and changes nothing (the account still signs in and
  keeps its profile); strict bodies (unknown field, missing password) are 400; no token 401.
- The right password (here with a profile-scoped token) answers 204; afterwards sign-in with
  the e-mail gets the same 401 problem as an unknown e-mail, the refresh token is refused, the
  access tokens are refused at once (also when the daemon's verification cache holds them), the
  address registers again as a new account, and the daemon keeps serving.
- Wrong passwords draw from the sign-in rate limit: over it, 429 with Retry-After, for the
  deletion and for sign-in alike.
- The operator deletes by id (204), a second time 404; a viewer token cannot.
- A playback session's events token (POST /v1/playback) works until the account is deleted,
  then POST /v1/events answers 401 like an invalid token, for a token the daemon had verified
  (and cached) and for one it had never seen; the event log holds no event of the deleted
  account's ids afterwards. A disabled account's (never seen) events token is refused the same
  way, and accepted again once the account is enabled. Needs libstream's cffi module (third argument) to register a
  playable asset; skipped without it.
- `streamctl account show|delete` (second argument) on the daemon's store while it runs:
  delete refuses to run without a terminal unless --yes (exit 2), asks to type "yes" on one
  (a pseudo-terminal here: "no" deletes nothing), and then the account is gone for the API.

Usage: /usr/bin/python3 test_account_delete.py STREAMD [STREAMCTL [PYTHON_BINDINGS_DIR]]
Standard library (plus libstream's cffi module when given).
"""
import json
import os
import pty
import sqlite3
import subprocess
import sys
import unittest

from streamd_harness import (ApiTestCase, PASSWORD, Streamd, login, profile_token,
                             register_login, unique_email)

# In a sanitizer build meson preloads the ASan/UBSan runtimes for this interpreter (it loads the
# instrumented libstream through cffi); the programs it starts (streamd, ffmpeg, curl) must not
# inherit that (curl hangs with libasan preloaded).
os.environ.pop("LD_PRELOAD", None)

D = None
STREAMCTL = None
BINDINGS = None
OP = "op-token-account-delete-0123456789"
TITLE = "acctdel-movie"
OK_CARD = "tok_4242424242424242"
CATALOG = {"titles": [{"id": TITLE, "kind": "movie", "name": "Account Delete Movie",
                       "synopsis": "A movie for the account deletion tests.", "year": 2020,
                       "runtime_minutes": 90, "maturity_rating": 0, "genres": ["Drama"]}]}


def delete_account(token, body):
    return D.request("DELETE", "/v1/account", token=token, json_body=body)


def login_answer(email, password=PASSWORD):
    return D.request("POST", "/v1/auth/login", json_body={"email": email, "password": password})


class T1AccountDelete(ApiTestCase):
    def test_1_wrong_password_then_delete(self):
        email = unique_email("delete")
        t = register_login(D, email)
        acct = t["access_token"]
        pid, switched = profile_token(D, acct)
        ptok = switched["access_token"]

        # Refused requests change nothing.
        p = self.problem(delete_account(acct, {"password": "not the password"}), 403)
        self.assertNotIn("not the password", p["detail"])
        p = self.problem(delete_account(acct, {"password": PASSWORD, "extra": 1}), 400)
        self.assertIn("unknown field 'extra'", p["detail"])
        self.problem(delete_account(acct, {}), 400)
        self.problem(delete_account(None, {"password": PASSWORD}), 401)
        self.problem(D.request("DELETE", "/v1/account", token=acct, body="{not json",
                               ctype="application/json"), 400)
        r = D.request("GET", "/v1/profiles", token=acct)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual([x["id"] for x in r.json["profiles"]], [pid])
        again = login(D, email)

        # The right password, with the profile's token.
        r = delete_account(ptok, {"password": PASSWORD})
        self.assertEqual(r.status, 204, r.body)
        self.assertEqual(r.body, b"")

        # Sign-in fails exactly like an unknown e-mail.
        gone = self.problem(login_answer(email), 401)
        unknown = self.problem(login_answer(unique_email("never")), 401)
        for k in ("type", "title", "status", "detail"):
            self.assertEqual(gone[k], unknown[k])
        # Refresh tokens of the account are refused.
        for rt in (t["refresh_token"], again["refresh_token"], switched["refresh_token"]):
            r = D.request("POST", "/v1/auth/refresh", json_body={"refresh_token": rt})
            self.problem(r, 401)
        # Its access tokens (both were used, so both sat in the daemon's verification cache):
        # refused at once, not when the cache entry or the token expires.
        for tok in (acct, ptok):
            self.problem(D.request("GET", "/v1/profiles", token=tok), 401)

        # The address is free: a new, empty account.
        r = D.request("POST", "/v1/auth/register", json_body={"email": email,
                                                             "password": PASSWORD})
        self.assertEqual(r.status, 201, r.body)
        self.assertNotEqual(r.json["id"], t["account_id"])
        fresh = login(D, email)
        r = D.request("GET", "/v1/profiles", token=fresh["access_token"])
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json["profiles"], [])
        r = D.request("GET", "/healthz")
        self.assertEqual(r.status, 200)

    def test_2_wrong_passwords_are_rate_limited_like_sign_in(self):
        email = unique_email("guess")
        t = register_login(D, email)
        tok = t["access_token"]
        statuses = [delete_account(tok, {"password": "guess number %d" % i}).status
                    for i in range(5)]
        self.assertEqual(statuses, [403] * 5)
        r = delete_account(tok, {"password": PASSWORD})
        self.problem(r, 429, "rate-limited")
        self.assertTrue(r.header("Retry-After"))
        self.problem(login_answer(email), 429)
        # Nothing was deleted.
        r = D.request("GET", "/v1/profiles", token=tok)
        self.assertEqual(r.status, 200, r.body)

    def test_3_operator_deletes_by_id(self):
        email = unique_email("opdel")
        t = register_login(D, email)
        path = "/v1/admin/accounts/" + t["account_id"]
        self.problem(D.request("DELETE", path, token=t["access_token"]), 403)
        self.problem(D.request("DELETE", path), 401)
        r = D.request("GET", "/v1/profiles", token=t["access_token"])  # cached as verified
        self.assertEqual(r.status, 200, r.body)
        r = D.request("DELETE", path, token=OP)
        self.assertEqual(r.status, 204, r.body)
        self.problem(D.request("GET", "/v1/profiles", token=t["access_token"]), 401)
        self.problem(D.request("DELETE", path, token=OP), 404)
        self.problem(D.request("DELETE", "/v1/admin/accounts/bad%20id", token=OP), 400)
        self.problem(login_answer(email), 401)
        r = D.request("POST", "/v1/auth/refresh", json_body={"refresh_token": t["refresh_token"]})
        self.problem(r, 401)


def cffi():
    """libstream's cffi module (ffi, lib), or None when it is not available."""
    if not BINDINGS:
        return None
    if BINDINGS not in sys.path:
        sys.path.insert(0, BINDINGS)
    try:
        from _libstream_cffi import ffi, lib
    except ImportError:
        return None
    return ffi, lib


def open_store():
    """The daemon's store through the cffi module (WAL: safe while streamd runs)."""
    ffi, lib = cffi()
    st = ffi.new("stream_store **")
    so = ffi.new("stream_store_options *")
    so.version = lib.STREAM_STORE_OPTIONS_VERSION
    path = ffi.new("char[]", os.path.join(D.data_dir, "streamd.db").encode())
    so.path = path
    so.readers = 1
    # Zeroed options wait 0 ms for a lock: streamd writing at that moment failed the open
    # ("database is locked beyond the busy timeout", seen under ASan in CI). The store's
    # default is 5 s; a test waits longer on a loaded host.
    so.busy_timeout_ms = 30000
    assert lib.stream_store_open(st, so) == 0, ffi.string(lib.stream_error_last().message)
    return st[0]


def set_disabled(account_id, disabled):
    """Disable or enable an account in the store behind the daemon's back (no HTTP route does
    it), so the daemon's verification cache is not told."""
    ffi, lib = cffi()
    st = open_store()
    try:
        a = ffi.new("stream_store_account *")
        assert lib.stream_store_account_get(a, st, account_id.encode()) == 0
        a.disabled = disabled
        assert lib.stream_store_account_update(st, a) == 0
    finally:
        lib.stream_store_close(st)


def register_asset(title, dirname):
    """A ready asset of `title` in the daemon's store (the asset registry, as a transcode job
    would leave it): enough for POST /v1/playback to sign URLs and issue an events token."""
    ffi, lib = cffi()
    st = open_store()
    jo = ffi.new("stream_jobs_options *")
    jo.version = lib.STREAM_JOBS_OPTIONS_VERSION
    jo.store = st
    j = ffi.new("stream_jobs **")
    assert lib.stream_jobs_new(j, jo) == 0, ffi.string(lib.stream_error_last().message)
    out = ffi.new("char[]", 65)
    try:
        assert lib.stream_jobs_asset_create(out, j[0], title.encode(), ffi.NULL,
                                            dirname.encode(), ffi.NULL) == 0
        assert lib.stream_jobs_asset_ready(j[0], out, b"{}") == 0
    finally:
        lib.stream_jobs_free(j[0])
        lib.stream_store_close(st)


def event(n):
    return {"events": [{"id": "%08x-0000-4000-8000-%012x" % (0xacde1, n), "viewId": "view-%d" % n,
                        "type": "heartbeat", "clientTs": 1700000000000 + n, "titleId": TITLE}]}


def event_log(sql, *args):
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(D.data_dir, "streamd.db"), uri=True,
                          timeout=30)
    try:
        return con.execute(sql, args).fetchone()[0]
    finally:
        con.close()


def streamctl(*args, stdin=subprocess.DEVNULL):
    return subprocess.run([STREAMCTL] + list(args) + ["--data-dir", D.data_dir], stdin=stdin,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)


def streamctl_on_tty(answer, *args):
    """streamctl with a pseudo-terminal as stdin, `answer` typed on it."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([STREAMCTL] + list(args) + ["--data-dir", D.data_dir],
                                stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        os.write(master, answer.encode())
        out, err = proc.communicate(timeout=60)
        return proc.returncode, out, err
    finally:
        os.close(slave)
        os.close(master)


class T2EventsToken(ApiTestCase):
    def test_1_events_token_dies_with_the_account(self):
        if cffi() is None:
            self.skipTest("libstream's cffi module is not available (third argument)")
        register_asset(TITLE, "acctdel-asset")
        email = unique_email("events")
        t = register_login(D, email)
        pid, switched = profile_token(D, t["access_token"])
        ptok = switched["access_token"]
        r = D.request("POST", "/v1/billing/payment-methods", json_body={"token": OK_CARD},
                      token=ptok, key="acctdel-card")
        self.assertEqual(r.status, 201, r.body)
        r = D.request("POST", "/v1/billing/subscription", json_body={"plan_id": "premium"},
                      token=ptok, key="acctdel-sub")
        self.assertEqual(r.status, 201, r.body)
        tokens = []
        for device in ("tv-1", "tv-2", "tv-3"):  # the premium plan has four screens
            r = D.request("POST", "/v1/playback", token=ptok,
                          json_body={"title_id": TITLE, "device_id": device,
                                     "device_name": "Test " + device})
            self.assertEqual(r.status, 201, r.body)
            tokens.append(r.json["events_token"])
        used, unseen, other = tokens

        r = D.request("POST", "/v1/events", json_body=event(1), token=used)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json, {"accepted": 1, "duplicates": 0})
        acct = t["account_id"]
        self.assertEqual(event_log("SELECT count(*) FROM event_log WHERE account_id = ? AND "
                                   "profile_id = ?", acct, pid), 1)
        invalid = self.problem(D.request("POST", "/v1/events", json_body=event(9),
                                         token="not-a-token"), 401)

        # Disabled (behind the daemon's back, so only a token it never saw is read afresh):
        # refused like an invalid token; enabled again, accepted (failures are not cached).
        set_disabled(acct, 1)
        p = self.problem(D.request("POST", "/v1/events", json_body=event(4), token=other), 401)
        self.assertEqual((p["type"], p["detail"]), (invalid["type"], invalid["detail"]))
        set_disabled(acct, 0)
        r = D.request("POST", "/v1/events", json_body=event(5), token=other)
        self.assertEqual(r.status, 200, r.body)

        r = D.request("DELETE", "/v1/account", token=ptok, json_body={"password": PASSWORD})
        self.assertEqual(r.status, 204, r.body)
        # The verified (cached) token and the never-seen one: 401, as an invalid token.
        for n, tok in ((2, used), (3, unseen)):
            r = D.request("POST", "/v1/events", json_body=event(n), token=tok)
            p = self.problem(r, 401)
            self.assertEqual((p["type"], p["detail"]), (invalid["type"], invalid["detail"]))
            self.assertIn("invalid_token", r.header("WWW-Authenticate"))
        # Nothing of the account's ids is left in the log, and nothing new was stored.
        self.assertEqual(event_log("SELECT count(*) FROM event_log WHERE account_id = ? OR "
                                   "profile_id = ?", acct, pid), 0)
        ids = [event(n)["events"][0]["id"] for n in (2, 3, 4)]
        self.assertEqual(event_log("SELECT count(*) FROM event_log WHERE id IN (?, ?, ?)", *ids),
                         0)
        # The first event stays, without the person.
        self.assertEqual(event_log("SELECT count(*) FROM event_log WHERE id = ? AND "
                                   "account_id = ''", event(1)["events"][0]["id"]), 1)


class T3Streamctl(ApiTestCase):
    def test_1_show_and_delete(self):
        if not STREAMCTL:
            self.skipTest("no streamctl given (second argument)")
        email = unique_email("ctl")
        t = register_login(D, email)
        acct = t["account_id"]
        pid, _ = profile_token(D, t["access_token"], "Kid")

        r = streamctl("account", "show", acct)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("email\t%s\n" % email, r.stdout)
        self.assertIn("profiles\t1\n", r.stdout)
        r = streamctl("account", "show", acct, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        shown = json.loads(r.stdout)
        self.assertEqual((shown["id"], shown["email"], shown["role"], shown["disabled"]),
                         (acct, email, "viewer", False))
        self.assertEqual([p["id"] for p in shown["profiles"]], [pid])
        # By e-mail address too, in any case (normalized as sign-in does).
        r = streamctl("account", "show", email.upper(), "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["id"], acct)
        r = streamctl("account", "show", "nobody-" + email)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no account with e-mail nobody-", r.stderr)
        self.assertEqual(streamctl("account", "show", "a@@b").returncode, 1)

        # Usage errors and refusals delete nothing.
        self.assertEqual(streamctl("account", "frob", acct).returncode, 2)
        self.assertEqual(streamctl("account", "delete").returncode, 2)
        r = streamctl("account", "delete", acct)  # stdin is not a terminal, no --yes
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--yes", r.stderr)
        code, _out, err = streamctl_on_tty("no\n", "account", "delete", acct)
        self.assertEqual(code, 1, err)
        self.assertIn("Type yes to delete", err)
        self.assertIn("nothing was deleted", err)
        self.assertEqual(streamctl("account", "show", acct).returncode, 0)
        fresh = login(D, email)  # a token the daemon has never verified (nothing cached)

        code, out, err = streamctl_on_tty("yes\n", "account", "delete", acct)
        self.assertEqual(code, 0, err)
        self.assertIn("deleted account %s: 1 profiles" % acct, out)
        self.problem(D.request("GET", "/v1/profiles", token=fresh["access_token"]), 401)
        self.problem(login_answer(email), 401)
        r = streamctl("account", "show", acct)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no account with id " + acct, r.stderr)
        self.assertEqual(streamctl("account", "delete", acct, "--yes").returncode, 1)
        self.assertEqual(streamctl("account", "show", email).returncode, 1)  # e-mail released

        # --yes, unattended, with --json.
        t2 = register_login(D, unique_email("ctl"))
        r = streamctl("account", "delete", t2["account_id"], "--yes", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual((out["id"], out["deleted"], out["profiles"]),
                         (t2["account_id"], True, 0))
        self.assertGreaterEqual(out["refresh_tokens"], 1)
        r = D.request("POST", "/v1/auth/refresh", json_body={"refresh_token": t2["refresh_token"]})
        self.problem(r, 401)


def main():
    global D, STREAMCTL, BINDINGS
    STREAMCTL = sys.argv[2] if len(sys.argv) > 2 else None
    BINDINGS = sys.argv[3] if len(sys.argv) > 3 else None
    D = Streamd(sys.argv[1], ["--login-address-burst", "0"], prefix="streamd-acctdel-",
                log_level="warn", access_log=False, demo_timeout=10, operator_token=OP,
                catalog=CATALOG)
    ok = False
    try:
        loader = unittest.TestLoader()
        suite = unittest.TestSuite([loader.loadTestsFromTestCase(c)
                                    for c in (T1AccountDelete, T2EventsToken, T3Streamctl)])
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
