#!/usr/bin/python3
"""End-to-end tests of streamd's service routes (auth, device grant, profiles,
catalog, viewing, operator) against the real daemon.

streamd runs on an ephemeral loopback port with a temporary data directory,
--seed-demo and a test catalog written here; requests go through
http.client and, for the login and a browse, the curl CLI.

Usage: /usr/bin/python3 test_streamd_api.py /path/to/streamd
Standard library only.
"""
import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
import time
import unittest
import urllib.parse

from streamd_harness import ApiTestCase, Streamd, start_refused, unique_email
from streamd_harness import register_login as harness_register_login

STREAMD = None
OP_TOKEN = "op-token-api-test-" + "5d1c9e7a3b"
DEVICE_LIFETIME = 60  # the shortest the auth service allows
DEVICE_INTERVAL = 1
ACCOUNT_BURST = 5
USER_CODE = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")
GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def test_catalog():
    titles = []
    genres = ["Drama", "Comedy", "Documentary", "Family"]
    for i in range(24):
        titles.append({
            "id": "test-movie-%02d" % i, "kind": "movie",
            "name": "Test Movie %02d" % i, "synopsis": "Plain test movie number %d." % i,
            "year": 2000 + i, "runtime_minutes": 90 + i,
            "maturity_rating": [0, 7, 13, 16][i % 4], "genres": [genres[i % 4]],
        })
    titles.append({"id": "test-amelie", "kind": "movie", "name": "Le Fabuleux Destin d'Amélie Poulain",
                   "synopsis": "Une serveuse à Montmartre.", "year": 2001, "runtime_minutes": 122,
                   "maturity_rating": 7, "genres": ["Comedy", "Romance"]})
    titles.append({"id": "test-mature", "kind": "movie", "name": "Zealous Mature Thriller",
                   "synopsis": "Strictly for grown-ups.", "year": 2020, "runtime_minutes": 101,
                   "maturity_rating": 18, "genres": ["Thriller", "Family"]})
    titles.append({"id": "test-series", "kind": "series", "name": "Two Season Show",
                   "synopsis": "A series in two seasons.", "year": 2019, "maturity_rating": 0,
                   "genres": ["Family"],
                   "seasons": [
                       {"number": 1, "episodes": [
                           {"id": "test-s1e1", "number": 1, "name": "Pilot", "runtime_minutes": 30},
                           {"id": "test-s1e2", "number": 2, "name": "Second", "runtime_minutes": 31}]},
                       {"number": 2, "episodes": [
                           {"id": "test-s2e1", "number": 1, "name": "Return", "runtime_minutes": 32}]}]})
    return {"titles": titles}


def start_daemon(extra=(), seed=True, data_dir=None):
    return Streamd(STREAMD, ["--device-code-lifetime", str(DEVICE_LIFETIME),
                             "--device-interval", str(DEVICE_INTERVAL),
                             "--login-account-burst", str(ACCOUNT_BURST),
                             "--login-account-interval", "600",
                             "--login-address-burst", "0"] + list(extra),
                   prefix="streamd-api-", data_dir=data_dir, log_level="warn",
                   catalog=test_catalog() if seed else None, operator_token=OP_TOKEN,
                   demo_timeout=10)


D = None  # the shared daemon
T0 = None


def call(method, path, body=None, token=None, ctype=None, headers=None, json_body=None, form=None):
    return D.request(method, path, body=body, token=token, ctype=ctype, headers=headers,
                     json_body=json_body, form=form)


T_LOGIN = [0.0]


def new_email(tag="user"):
    return unique_email(tag)


def register_login(tag="user", password="correct horse 42"):
    email = new_email(tag)
    tokens = harness_register_login(D, email, password)
    T_LOGIN[0] = time.time()
    return email, password, tokens


def browse_all(token, limit=7, between=None, genre=None):
    ids, cursor, pages = [], None, 0
    while True:
        q = {"limit": str(limit)}
        if cursor:
            q["cursor"] = cursor
        if genre:
            q["genre"] = genre
        r = call("GET", "/v1/browse?" + urllib.parse.urlencode(q), token=token)
        assert r.status == 200, (r.status, r.body)
        page = r.json
        ids += [t["id"] for t in page["items"]]
        cursor = page.get("next_cursor")
        pages += 1
        assert pages < 100
        if not cursor:
            return ids
        if between:
            between(pages)


class Base(ApiTestCase):
    def oauth_error(self, r, error):
        self.assertEqual(r.status, 400, r.body)
        self.assertEqual(r.ctype, "application/json")
        self.assertEqual(r.json["error"], error, r.body)


class T01Startup(Base):
    def test_data_dir_and_key_modes(self):
        dd = D.data_dir
        self.assertEqual(stat.S_IMODE(os.stat(dd).st_mode), 0o700)
        key = os.path.join(dd, "keys", "access.key")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(dd, "keys")).st_mode), 0o700)
        self.assertTrue(os.path.exists(os.path.join(dd, "streamd.db")))
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(dd, "streamd.db")).st_mode) & 0o077, 0)
        with open(key) as f:
            text = f.read().strip()
        self.assertRegex(text, r"^[A-Za-z0-9_-]{43}=?$")  # 32 bytes, base64url
        # The key never reaches the logs.
        self.assertNotIn(text.rstrip("="), D.stderr_text())

    def test_demo_line_and_credentials(self):
        demo = D.demo
        self.assertEqual(demo["event"], "demo")
        self.assertEqual(demo["url"], "http://127.0.0.1:%d" % D.port)
        self.assertEqual(demo["email"], "demo@example.com")
        self.assertGreaterEqual(len(demo["password"]), 12)
        cred = os.path.join(D.data_dir, "demo-credentials.json")
        self.assertEqual(stat.S_IMODE(os.stat(cred).st_mode), 0o600)

    def test_curl_login_and_browse(self):
        base = "http://127.0.0.1:%d" % D.port
        out = subprocess.run(
            ["curl", "-sS", "--fail-with-body", "-X", "POST", base + "/v1/auth/login",
             "-H", "Content-Type: application/json",
             "-d", json.dumps({"email": D.demo["email"], "password": D.demo["password"]})],
            capture_output=True, check=True, timeout=30)
        tokens = json.loads(out.stdout)
        self.assertEqual(tokens["token_type"], "Bearer")
        self.assertEqual(tokens["expires_in"], 900)
        out = subprocess.run(
            ["curl", "-sS", "--fail-with-body", "-H", "Authorization: Bearer " + tokens["access_token"],
             base + "/v1/browse?limit=100"], capture_output=True, check=True, timeout=30)
        names = {t["name"] for t in json.loads(out.stdout)["items"]}
        self.assertIn("Two Season Show", names)
        self.assertGreaterEqual(len(names), 20)
        # The demo account comes with a Demo and a Kids profile.
        r = call("GET", "/v1/profiles", token=tokens["access_token"])
        self.assertEqual(sorted(p["name"] for p in r.json["profiles"]), ["Demo", "Kids"])


class T02Accounts(Base):
    def test_register_validation_and_duplicate(self):
        email = new_email("dup")
        r = call("POST", "/v1/auth/register", json_body={"email": "  " + email.upper() + " ",
                                                         "password": "longenough1"})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json["email"], email)
        self.assertRegex(r.json["id"], r"^[A-Za-z0-9_-]{22}$")
        r = call("POST", "/v1/auth/register", json_body={"email": email, "password": "longenough1"})
        self.problem(r, 409, "already-exists")
        r = call("POST", "/v1/auth/register", json_body={"email": new_email(), "password": "short"})
        self.problem(r, 400)
        r = call("POST", "/v1/auth/register", json_body={"email": "not-an-email", "password": "longenough1"})
        self.problem(r, 400)
        r = call("POST", "/v1/auth/register",
                 json_body={"email": new_email(), "password": "longenough1", "admin": True})
        self.problem(r, 400)

    def test_refresh_rotation_reuse_and_logout(self):
        _, _, t = register_login("rot")
        r = call("POST", "/v1/auth/refresh", json_body={"refresh_token": t["refresh_token"]})
        self.assertEqual(r.status, 200, r.body)
        t2 = r.json
        self.assertNotEqual(t2["refresh_token"], t["refresh_token"])
        self.assertNotEqual(t2["access_token"], t["access_token"])
        self.assertEqual(r.header("Cache-Control"), "no-store")
        # The new access token works.
        self.assertEqual(call("GET", "/v1/profiles", token=t2["access_token"]).status, 200)
        # Reusing the old refresh token is detected: 401 and the whole family is revoked.
        r = call("POST", "/v1/auth/refresh", json_body={"refresh_token": t["refresh_token"]})
        self.problem(r, 401)
        r = call("POST", "/v1/auth/refresh", json_body={"refresh_token": t2["refresh_token"]})
        self.problem(r, 401)
        # Logout revokes the session.
        email, pw, t3 = register_login("logout")
        r = call("POST", "/v1/auth/logout", json_body={"refresh_token": t3["refresh_token"]})
        self.assertEqual(r.status, 204, r.body)
        self.assertEqual(r.body, b"")
        r = call("POST", "/v1/auth/refresh", json_body={"refresh_token": t3["refresh_token"]})
        self.problem(r, 401)
        r = call("POST", "/v1/auth/logout", json_body={"refresh_token": "A" * 43})
        self.problem(r, 401)

    def test_token_endpoint_refresh_grant_and_revoke(self):
        _, _, t = register_login("grant")
        r = call("POST", "/v1/auth/token", form={"grant_type": "refresh_token",
                                                 "refresh_token": t["refresh_token"]})
        self.assertEqual(r.status, 200, r.body)
        t2 = r.json
        r = call("POST", "/v1/auth/token", form={"grant_type": "refresh_token",
                                                 "refresh_token": t["refresh_token"]})
        self.oauth_error(r, "invalid_grant")
        r = call("POST", "/v1/auth/token", form={"grant_type": "password", "username": "x"})
        self.oauth_error(r, "unsupported_grant_type")
        r = call("POST", "/v1/auth/token", form={"refresh_token": "x"})
        self.oauth_error(r, "invalid_request")
        # RFC 7009: 200 for a valid token (then it is dead) and for garbage.
        _, _, t3 = register_login("revoke")
        r = call("POST", "/v1/auth/revoke", form={"token": t3["refresh_token"],
                                                  "token_type_hint": "refresh_token"})
        self.assertEqual(r.status, 200, r.body)
        r = call("POST", "/v1/auth/refresh", json_body={"refresh_token": t3["refresh_token"]})
        self.problem(r, 401)
        r = call("POST", "/v1/auth/revoke", json_body={"token": "garbage", "token_type_hint": "weird"})
        self.assertEqual(r.status, 200, r.body)
        r = call("POST", "/v1/auth/revoke", form={"token_type_hint": "refresh_token"})
        self.oauth_error(r, "invalid_request")
        r = call("POST", "/v1/auth/revoke", body="token=x", ctype="text/plain")
        self.problem(r, 415)
        del t2

    def test_same_error_for_unknown_email_and_wrong_password(self):
        email, _, _ = register_login("same")
        a = call("POST", "/v1/auth/login", json_body={"email": email, "password": "wrong password"})
        b = call("POST", "/v1/auth/login", json_body={"email": new_email("nobody"),
                                                      "password": "wrong password"})
        pa, pb = self.problem(a, 401), self.problem(b, 401)
        for k in ("type", "title", "status", "detail"):
            self.assertEqual(pa[k], pb[k])

    def test_login_rate_limit(self):
        email, pw, _ = register_login("rate")  # one attempt used (successful: bucket refilled)
        statuses = []
        for _ in range(ACCOUNT_BURST + 2):
            r = call("POST", "/v1/auth/login", json_body={"email": email, "password": "bad password"})
            statuses.append(r.status)
            if r.status == 429:
                break
        self.assertEqual(statuses[-1], 429, statuses)
        self.assertTrue(all(s == 401 for s in statuses[:-1]), statuses)
        p = self.problem(r, 429, "rate-limited")
        ra = int(r.header("Retry-After"))
        self.assertGreaterEqual(ra, 1)
        self.assertEqual(p["retry_after"], ra)
        # Even the right password is refused while limited; other accounts are unaffected.
        r = call("POST", "/v1/auth/login", json_body={"email": email, "password": pw})
        self.assertEqual(r.status, 429)
        register_login("other")

    def test_access_token_checks(self):
        r = call("GET", "/v1/profiles")
        self.problem(r, 401, "unauthenticated")
        self.assertIn("Bearer", r.header("WWW-Authenticate"))
        r = call("GET", "/v1/profiles", token="not.a.jwt")
        self.problem(r, 401)
        _, _, t = register_login("tamper")
        h, p, s = t["access_token"].split(".")
        forged = h + "." + p + "." + ("A" if s[0] != "A" else "B") + s[1:]
        self.problem(call("GET", "/v1/profiles", token=forged), 401)
        # Roles are separate: the operator token is no viewer, a viewer is no operator.
        self.problem(call("GET", "/v1/profiles", token=OP_TOKEN), 403)
        self.problem(call("DELETE", "/v1/admin/titles/test-movie-00", token=t["access_token"]), 403)


class T03Device(Base):
    def start(self, form=None):
        r = call("POST", "/v1/auth/device", form=form or {"client_id": "tv-test"})
        self.assertEqual(r.status, 200, r.body)
        d = r.json
        self.assertRegex(d["user_code"], USER_CODE)
        self.assertEqual(d["verification_uri"], "http://127.0.0.1:%d/activate" % D.port)
        self.assertEqual(d["verification_uri_complete"],
                         d["verification_uri"] + "?user_code=" + d["user_code"])
        self.assertEqual(d["interval"], DEVICE_INTERVAL)
        self.assertEqual(d["expires_in"], DEVICE_LIFETIME)
        self.assertEqual(len(d["device_code"]), 43)
        return d

    def poll(self, d, client_id="tv-test"):
        return call("POST", "/v1/auth/token", form={"grant_type": GRANT,
                                                    "device_code": d["device_code"],
                                                    "client_id": client_id})

    def activate(self, code, email, password, action="approve"):
        return call("POST", "/activate", form={"user_code": code, "email": email,
                                               "password": password, "action": action})

    def test_device_flow_end_to_end(self):
        email, pw, _ = register_login("tv")
        d = self.start()
        # streamd counts whole seconds (time(NULL)) and the interval is 1 s, so a second poll is
        # "sooner than the interval" only within the first one's second: both go right after a
        # second begins (two polls straddling a boundary were authorization_pending twice).
        time.sleep(1.0 - time.time() % 1.0 + 0.02)
        self.oauth_error(self.poll(d), "authorization_pending")
        self.oauth_error(self.poll(d), "slow_down")  # sooner than the interval
        # The page: GET shows the form with the code filled in.
        r = call("GET", "/activate?user_code=" + d["user_code"])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.ctype, "text/html")
        self.assertIn(b'name="user_code"', r.body)
        self.assertIn(d["user_code"].encode(), r.body)
        self.assertEqual(r.header("X-Frame-Options"), "DENY")
        # Wrong password: 401 page, nothing approved.
        r = self.activate(d["user_code"], email, "not the password")
        self.assertEqual(r.status, 401)
        time.sleep(DEVICE_INTERVAL + 5 + 0.2)  # slow_down added 5 s
        self.oauth_error(self.poll(d), "authorization_pending")
        # Lower-case code without the dash is accepted.
        r = self.activate(d["user_code"].replace("-", "").lower(), email, pw)
        self.assertEqual(r.status, 200, r.body)
        self.assertIn(b"signed in", r.body)
        r = self.activate(d["user_code"], email, pw)
        self.assertEqual(r.status, 409)
        time.sleep(DEVICE_INTERVAL + 5 + 0.2)
        r = self.poll(d)
        self.assertEqual(r.status, 200, r.body)
        tokens = r.json
        self.assertEqual(tokens["token_type"], "Bearer")
        r = call("GET", "/v1/profiles", token=tokens["access_token"])
        self.assertEqual(r.status, 200, r.body)
        # The grant is used up.
        time.sleep(DEVICE_INTERVAL + 5 + 0.2)
        self.oauth_error(self.poll(d), "invalid_grant")
        # Another client cannot redeem a code either.
        self.oauth_error(self.poll(self.start(), client_id="other-client"), "invalid_grant")

    def test_device_denied(self):
        email, pw, _ = register_login("deny")
        d = self.start({"client_id": "tv-test", "scope": "stream"})
        r = self.activate(d["user_code"], email, pw, action="deny")
        self.assertEqual(r.status, 200, r.body)
        self.oauth_error(self.poll(d), "access_denied")

    def test_device_bad_requests(self):
        r = call("POST", "/v1/auth/token", form={"grant_type": GRANT})
        self.oauth_error(r, "invalid_request")
        r = call("POST", "/v1/auth/token", form={"grant_type": GRANT, "device_code": "nope",
                                                 "client_id": "tv-test"})
        self.assertIn(r.json["error"], ("invalid_grant", "invalid_request"))
        r = call("POST", "/v1/auth/device", json_body={"client_id": "tv-json"})  # JSON accepted
        self.assertEqual(r.status, 200, r.body)
        r = call("POST", "/v1/auth/device", form={"client_id": "bad id \x01"})
        self.problem(r, 400)
        r = self.activate("BCDF-GHJK", D.demo["email"], D.demo["password"])
        self.assertIn(r.status, (400,))
        r = call("GET", "/activate?user_code=%22%3E%3Cb%3Ex")
        self.assertEqual(r.status, 200)
        self.assertNotIn(b'"><b>x', r.body)
        self.assertIn(b"&quot;&gt;&lt;b&gt;x", r.body)


class T04Profiles(Base):
    def test_profiles_limit_pin_and_switch(self):
        _, _, t = register_login("prof")
        tok = t["access_token"]
        made = []
        for i, body in enumerate([{"name": "Main"}, {"name": "Kid", "kids": True},
                                  {"name": "Locked", "pin": "1234"},
                                  {"name": "Teen", "maturity_ceiling": 13},
                                  {"name": "Fifth", "avatar": "https://img.example/a.png"}]):
            r = call("POST", "/v1/profiles", json_body=body, token=tok)
            self.assertEqual(r.status, 201, r.body)
            self.assertEqual(r.header("Location"), "/v1/profiles/" + r.json["id"])
            made.append(r.json)
        self.assertTrue(made[1]["kids"])
        self.assertLessEqual(made[1]["maturity_ceiling"], 7)
        self.assertTrue(made[2]["has_pin"])
        self.assertNotIn("pin", made[2])
        r = call("POST", "/v1/profiles", json_body={"name": "Sixth"}, token=tok)
        self.problem(r, 400, "out-of-range")
        r = call("GET", "/v1/profiles", token=tok)
        # (Created within the same second: the order among them is not asserted.)
        self.assertEqual(sorted(p["name"] for p in r.json["profiles"]),
                         ["Fifth", "Kid", "Locked", "Main", "Teen"])
        # PIN: missing or wrong -> 403, right -> tokens scoped to the profile.
        locked = made[2]["id"]
        self.problem(call("POST", "/v1/profiles/%s/switch" % locked, token=tok), 403)
        self.problem(call("POST", "/v1/profiles/%s/switch" % locked, json_body={"pin": "9999"},
                          token=tok), 403)
        r = call("POST", "/v1/profiles/%s/switch" % locked, json_body={"pin": "1234"}, token=tok)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json["profile_id"], locked)
        # Update, then remove the PIN (with the account password); bad fields refused.
        r = call("PATCH", "/v1/profiles/%s" % locked,
                 json_body={"name": "Open", "pin": None, "password": "correct horse 42"}, token=tok)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json["name"], "Open")
        self.assertFalse(r.json["has_pin"])
        self.problem(call("PATCH", "/v1/profiles/%s" % locked, json_body={"kids": "yes"}, token=tok), 400)
        self.problem(call("PATCH", "/v1/profiles/%s" % locked, json_body={"pin": "12a4"}, token=tok), 400)
        self.problem(call("POST", "/v1/profiles", json_body={"name": "Main"}, token=tok), 400, "out-of-range")
        # Delete frees a slot; another account cannot touch these profiles.
        _, _, other = register_login("prof2")
        self.problem(call("DELETE", "/v1/profiles/%s" % made[4]["id"], token=other["access_token"]), 404)
        r = call("DELETE", "/v1/profiles/%s" % made[4]["id"], token=tok)
        self.assertEqual(r.status, 204)
        self.problem(call("DELETE", "/v1/profiles/%s" % made[4]["id"], token=tok), 404)
        r = call("POST", "/v1/profiles", json_body={"name": "Main"}, token=tok)
        self.problem(r, 409, "already-exists")
        r = call("POST", "/v1/profiles", json_body={"name": "Sixth"}, token=tok)
        self.assertEqual(r.status, 201, r.body)

    def test_deleted_profile_token_fails_everywhere_at_once(self):
        """A token of a profile deleted meanwhile is refused by every route alike (401), reads
        and writes, as a deleted account's; a parent's change to the profile (kids, ceiling)
        applies to the tokens already issued."""
        _, _, t = register_login("gone")
        tok = t["access_token"]
        r = call("POST", "/v1/profiles", json_body={"name": "Teen", "maturity_ceiling": 16},
                 token=tok)
        self.assertEqual(r.status, 201, r.body)
        pid = r.json["id"]
        r = call("POST", "/v1/profiles/%s/switch" % pid, token=tok)
        self.assertEqual(r.status, 200, r.body)
        ptok = r.json["access_token"]
        self.assertEqual(call("GET", "/v1/titles/test-movie-02", token=ptok).status, 200)  # 13
        # The parent makes it a kids profile: the same token no longer sees the 13 title.
        r = call("PATCH", "/v1/profiles/%s" % pid, json_body={"kids": True}, token=tok)
        self.assertEqual(r.status, 200, r.body)
        self.problem(call("GET", "/v1/titles/test-movie-02", token=ptok), 404)
        self.assertEqual(call("GET", "/v1/titles/test-movie-01", token=ptok).status, 200)  # 7
        self.assertEqual(call("GET", "/v1/home", token=ptok).status, 200)
        r = call("DELETE", "/v1/profiles/%s" % pid, token=tok)
        self.assertEqual(r.status, 204)
        for method, path, body in (("GET", "/v1/home", None), ("GET", "/v1/browse", None),
                                   ("GET", "/v1/my-list", None),
                                   ("PUT", "/v1/progress", {"title_id": "test-movie-01",
                                                            "position_s": 10, "duration_s": 100}),
                                   ("PUT", "/v1/my-list/test-movie-01", None)):
            self.problem(call(method, path, json_body=body, token=ptok), 401)
        # The account's own token is unaffected.
        self.assertEqual(call("GET", "/v1/profiles", token=tok).status, 200)

    def test_limited_profile_cannot_lift_its_limits(self):
        """A token of a kids profile, or of one with a ceiling below 18, cannot create, change or
        delete profiles (403): it could otherwise PATCH its own limits away, take the PIN off a
        locked profile, or create an unlimited profile and switch to it."""
        _, _, t = register_login("limits")
        tok = t["access_token"]
        ids = {}
        for body in ({"name": "Kid", "kids": True}, {"name": "Teen", "maturity_ceiling": 13},
                     {"name": "Parent", "pin": "1234"}, {"name": "Adult"}):
            r = call("POST", "/v1/profiles", json_body=body, token=tok)
            self.assertEqual(r.status, 201, r.body)
            ids[body["name"]] = r.json["id"]
        scoped = {}
        for name in ("Kid", "Teen", "Adult"):
            r = call("POST", "/v1/profiles/%s/switch" % ids[name], token=tok)
            self.assertEqual(r.status, 200, r.body)
            scoped[name] = r.json["access_token"]
        for name in ("Kid", "Teen"):
            ltok = scoped[name]
            self.problem(call("PATCH", "/v1/profiles/%s" % ids[name],
                              json_body={"kids": False, "maturity_ceiling": 18}, token=ltok), 403)
            self.problem(call("PATCH", "/v1/profiles/%s" % ids["Parent"], json_body={"pin": None},
                              token=ltok), 403)
            self.problem(call("POST", "/v1/profiles", json_body={"name": "Free " + name},
                              token=ltok), 403)
            self.problem(call("DELETE", "/v1/profiles/%s" % ids["Parent"], token=ltok), 403)
            # The PIN still guards the locked profile.
            self.problem(call("POST", "/v1/profiles/%s/switch" % ids["Parent"], token=ltok), 403)
        # Nothing changed, and the limits still apply to the tokens.
        r = call("GET", "/v1/profiles", token=tok)
        got = {p["name"]: p for p in r.json["profiles"]}
        self.assertEqual(sorted(got), ["Adult", "Kid", "Parent", "Teen"])
        self.assertTrue(got["Kid"]["kids"])
        self.assertEqual(got["Teen"]["maturity_ceiling"], 13)
        self.assertTrue(got["Parent"]["has_pin"])
        self.problem(call("GET", "/v1/titles/test-mature", token=scoped["Kid"]), 404)
        self.problem(call("GET", "/v1/titles/test-mature", token=scoped["Teen"]), 404)
        # The account's token and an unlimited profile's token still manage profiles.
        r = call("PATCH", "/v1/profiles/%s" % ids["Adult"], json_body={"name": "Grown-up"},
                 token=scoped["Adult"])
        self.assertEqual(r.status, 200, r.body)
        r = call("PATCH", "/v1/profiles/%s" % ids["Teen"], json_body={"maturity_ceiling": 16},
                 token=tok)
        self.assertEqual(r.status, 200, r.body)

    def test_pin_change_needs_the_account_password(self):
        """A PIN keeps housemates signed in to the same account out of a profile: an adult
        profile's token (or the account's) cannot take another profile's PIN off, or set a new
        one, without the account password (400 missing, 403 wrong: the bearer is valid, as for
        DELETE /v1/account); with it, it can."""
        _, password, t = register_login("pinlock")
        tok = t["access_token"]
        ids = {}
        for body in ({"name": "Parent", "pin": "1234"}, {"name": "Adult"}):
            r = call("POST", "/v1/profiles", json_body=body, token=tok)  # no password to create
            self.assertEqual(r.status, 201, r.body)
            ids[body["name"]] = r.json["id"]
        r = call("POST", "/v1/profiles/%s/switch" % ids["Adult"], token=tok)
        self.assertEqual(r.status, 200, r.body)
        adult = r.json["access_token"]
        parent = "/v1/profiles/%s" % ids["Parent"]
        # Without the password: 400 naming it, for removing, changing and setting a PIN alike.
        for who in (adult, tok):
            for body in ({"pin": None}, {"pin": "0000"}, {"pin": None, "password": None},
                         {"pin": None, "password": ""}, {"pin": None, "name": "Open"}):
                p = self.problem(call("PATCH", parent, json_body=body, token=who), 400)
                self.assertIn("password", p["detail"], body)
        p = self.problem(call("PATCH", "/v1/profiles/%s" % ids["Adult"], json_body={"pin": "0000"},
                              token=adult), 400)
        self.assertIn("password", p["detail"])
        # A wrong password: 403, and nothing changed.
        for body in ({"pin": None, "password": "not the password 1"},
                     {"pin": "0000", "password": "not the password 1", "name": "Open"}):
            p = self.problem(call("PATCH", parent, json_body=body, token=adult), 403)
            self.assertNotIn("not the password", json.dumps(p))
        # "password" is not accepted without "pin", nor on create.
        self.problem(call("PATCH", parent, json_body={"name": "Open", "password": password},
                          token=adult), 400)
        self.problem(call("POST", "/v1/profiles", json_body={"name": "New", "password": password},
                          token=tok), 400)
        r = call("GET", "/v1/profiles", token=tok)
        got = {p["name"]: p for p in r.json["profiles"]}
        self.assertEqual(sorted(got), ["Adult", "Parent"])
        self.assertTrue(got["Parent"]["has_pin"])
        self.problem(call("POST", "%s/switch" % parent, token=adult), 403)
        self.problem(call("POST", "%s/switch" % parent, json_body={"pin": "0000"}, token=adult),
                     403)
        # The right password: the PIN goes, and the profile opens without one.
        r = call("PATCH", parent, json_body={"pin": None, "password": password}, token=adult)
        self.assertEqual(r.status, 200, r.body)
        self.assertFalse(r.json["has_pin"])
        self.assertEqual(r.json["name"], "Parent")
        r = call("POST", "%s/switch" % parent, token=adult)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json["profile_id"], ids["Parent"])
        # Setting one again takes the password too.
        r = call("PATCH", parent, json_body={"pin": "4321", "password": password}, token=tok)
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(r.json["has_pin"])
        self.problem(call("POST", "%s/switch" % parent, token=adult), 403)
        self.assertEqual(call("POST", "%s/switch" % parent, json_body={"pin": "4321"},
                              token=adult).status, 200)
        self.assertNotIn(password, D.stderr_text())

    def test_new_pin_signs_the_profile_out(self):
        """RV7: a housemate who entered a profile before it had a PIN kept refreshing its session
        for ever. Setting or changing the PIN revokes every refresh token bound to the profile,
        the owner's own session in it included; the account's and other profiles' sessions stay,
        and removing the PIN signs no one out. Access tokens already issued run out by
        themselves (15 minutes)."""
        _, password, t = register_login("pinout")
        tok = t["access_token"]
        ids = {}
        for name in ("Owner", "Other"):
            r = call("POST", "/v1/profiles", json_body={"name": name}, token=tok)
            self.assertEqual(r.status, 201, r.body)
            ids[name] = r.json["id"]
        owner = "/v1/profiles/%s" % ids["Owner"]

        def enter(name, body=None):
            r = call("POST", "/v1/profiles/%s/switch" % ids[name], json_body=body or {},
                     token=tok)
            self.assertEqual(r.status, 200, r.body)
            return r.json

        def refresh(session):
            return call("POST", "/v1/auth/refresh",
                        json_body={"refresh_token": session["refresh_token"]})

        mate, own, other = enter("Owner"), enter("Owner"), enter("Other")
        # The owner locks the profile with the account password, from its own Owner session.
        r = call("PATCH", owner, json_body={"pin": "4321", "password": password},
                 token=own["access_token"])
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(r.json["has_pin"])
        self.problem(call("POST", "%s/switch" % owner, json_body={}, token=tok), 403)
        # The housemate's session (and the owner's own one in Owner) no longer refreshes...
        self.problem(refresh(mate), 401)
        self.problem(refresh(own), 401)
        # ... though its access token works until it expires.
        self.assertEqual(call("GET", "/v1/continue-watching",
                              token=mate["access_token"]).status, 200)
        # The account's session and the other profile's still refresh.
        r = refresh(t)
        self.assertEqual(r.status, 200, r.body)
        tok = r.json["access_token"]
        self.assertEqual(refresh(other).status, 200)
        # The owner gets back in with the new PIN; changing the PIN signs that session out too.
        own = enter("Owner", {"pin": "4321"})
        r = call("PATCH", owner, json_body={"pin": "1357", "password": password}, token=tok)
        self.assertEqual(r.status, 200, r.body)
        self.problem(refresh(own), 401)
        # Removing the PIN, or editing another field, signs no one out.
        own = enter("Owner", {"pin": "1357"})
        r = call("PATCH", owner, json_body={"name": "Owner 2"}, token=tok)
        self.assertEqual(r.status, 200, r.body)
        r = refresh(own)
        self.assertEqual(r.status, 200, r.body)
        own = r.json
        r = call("PATCH", owner, json_body={"pin": None, "password": password}, token=tok)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(refresh(own).status, 200)

    def test_pin_change_password_is_rate_limited(self):
        """Wrong passwords on a PIN change use the account's sign-in bucket: once it is empty
        the answer is 429 with Retry-After, even for the right password."""
        email, password, t = register_login("pinrate")
        tok = t["access_token"]
        r = call("POST", "/v1/profiles", json_body={"name": "Parent", "pin": "1234"}, token=tok)
        self.assertEqual(r.status, 201, r.body)
        parent = "/v1/profiles/%s" % r.json["id"]
        for _ in range(ACCOUNT_BURST):
            self.problem(call("PATCH", parent, json_body={"pin": None, "password": "wrong one 1"},
                              token=tok), 403)
        r = call("PATCH", parent, json_body={"pin": None, "password": password}, token=tok)
        p = self.problem(r, 429, "rate-limited")
        self.assertGreater(int(r.header("Retry-After")), 0)
        self.assertGreater(p["retry_after"], 0)
        r = call("GET", "/v1/profiles", token=tok)
        self.assertTrue(r.json["profiles"][0]["has_pin"])


    def _locked_and_adult(self, tag):
        """A new account with a PIN-locked "Parent" and an unlocked "Adult" profile; the
        Adult profile's token (an adult housemate), the account's token, the ids, the
        password."""
        _, password, t = register_login(tag)
        tok = t["access_token"]
        ids = {}
        for body in ({"name": "Parent", "pin": "1234"}, {"name": "Adult"}):
            r = call("POST", "/v1/profiles", json_body=body, token=tok)
            self.assertEqual(r.status, 201, r.body)
            ids[body["name"]] = r.json["id"]
        r = call("POST", "/v1/profiles/%s/switch" % ids["Adult"], token=tok)
        self.assertEqual(r.status, 200, r.body)
        return r.json["access_token"], tok, ids, password

    def _profiles(self, tok):
        r = call("GET", "/v1/profiles", token=tok)
        self.assertEqual(r.status, 200, r.body)
        return {p["name"]: p for p in r.json["profiles"]}

    def test_pin_change_locked_profile_delete_needs_the_account_password(self):
        """PINLOCK2: any adult token of the account could DELETE a PIN-locked profile (its
        progress, My List and ratings with it) without the PIN or the password. Now the
        account password goes in the DELETE's body: 400 missing (naming 'password', saying
        the profile is locked), 403 wrong, 204 right; a profile without a PIN is deleted as
        before, without a body."""
        adult, tok, ids, password = self._locked_and_adult("pindel")
        parent = "/v1/profiles/%s" % ids["Parent"]
        for who in (adult, tok):
            p = self.problem(call("DELETE", parent, token=who), 400)
            self.assertIn("password", p["detail"])
            self.assertIn("locked", p["detail"])
            for body in ({}, {"password": None}):
                p = self.problem(call("DELETE", parent, json_body=body, token=who), 400)
                self.assertIn("password", p["detail"])
        # Malformed bodies: 400 before anything is looked at.
        for body in ({"password": ""}, {"password": 42}, {"pin": "1234"},
                     {"password": password, "pin": "1234"}):
            self.problem(call("DELETE", parent, json_body=body, token=adult), 400)
        self.problem(call("DELETE", parent, body=b"password=x", ctype="text/plain",
                          token=adult), 415)
        p = self.problem(call("DELETE", parent, json_body={"password": "not the password 1"},
                              token=adult), 403)
        self.assertNotIn("not the password", json.dumps(p))
        self.assertIn("Parent", self._profiles(tok))
        self.assertEqual(call("POST", "%s/switch" % parent, json_body={"pin": "1234"},
                              token=adult).status, 200)
        r = call("DELETE", parent, json_body={"password": password}, token=adult)
        self.assertEqual(r.status, 204, r.body)
        self.assertNotIn("Parent", self._profiles(tok))
        # Unlocked: no body needed (a password sent anyway is not checked).
        r = call("DELETE", "/v1/profiles/%s" % ids["Adult"], token=tok)
        self.assertEqual(r.status, 204, r.body)
        r = call("POST", "/v1/profiles", json_body={"name": "Third"}, token=tok)
        self.assertEqual(r.status, 201, r.body)
        r = call("DELETE", "/v1/profiles/%s" % r.json["id"],
                 json_body={"password": "not the password 1"}, token=tok)
        self.assertEqual(r.status, 204, r.body)
        self.assertEqual(self._profiles(tok), {})
        self.assertNotIn(password, D.stderr_text())

    def test_pin_change_locked_profile_limits_need_the_account_password(self):
        """PINLOCK2: an adult housemate could PATCH a PIN-locked profile's kids flag or
        maturity ceiling without the PIN or the password. Now a change of either (to another
        value than stored) takes the account password: 400 / 403 / 200; name and avatar stay
        free, as do the limits of a profile without a PIN."""
        adult, tok, ids, password = self._locked_and_adult("pinlim")
        parent = "/v1/profiles/%s" % ids["Parent"]
        for body in ({"kids": True}, {"maturity_ceiling": 13}, {"kids": True, "password": None},
                     {"maturity_ceiling": 7, "name": "Kid"}):
            p = self.problem(call("PATCH", parent, json_body=body, token=adult), 400)
            self.assertIn("password", p["detail"], body)
            self.assertIn("locked", p["detail"], body)
        self.problem(call("PATCH", parent, json_body={"kids": True, "password": ""},
                          token=adult), 400)
        for body in ({"kids": True, "password": "not the password 1"},
                     {"maturity_ceiling": 0, "name": "Kid", "password": "not the password 1"}):
            self.problem(call("PATCH", parent, json_body=body, token=adult), 403)
        got = self._profiles(tok)["Parent"]
        self.assertEqual((got["kids"], got["maturity_ceiling"]), (False, 18))
        # The stored values, a name, an avatar: free.
        r = call("PATCH", parent, json_body={"kids": False, "maturity_ceiling": 18,
                                             "name": "Parent 2", "avatar": "owl.png"},
                 token=adult)
        self.assertEqual(r.status, 200, r.body)
        r = call("PATCH", parent, json_body={"kids": True, "password": password}, token=adult)
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(r.json["kids"])
        self.assertEqual(r.json["maturity_ceiling"], 7)
        self.assertTrue(r.json["has_pin"])
        # Without a PIN nothing is asked; a password beside kids is accepted (and not checked).
        adult_path = "/v1/profiles/%s" % ids["Adult"]
        r = call("PATCH", adult_path, json_body={"maturity_ceiling": 16}, token=tok)
        self.assertEqual(r.status, 200, r.body)
        r = call("PATCH", adult_path, json_body={"maturity_ceiling": 18,
                                                 "password": "not the password 1"}, token=tok)
        self.assertEqual(r.status, 200, r.body)
        # Still refused beside name or avatar alone.
        self.problem(call("PATCH", adult_path, json_body={"avatar": "x", "password": password},
                          token=tok), 400)

    def test_pin_change_locked_profile_delete_is_rate_limited(self):
        """The DELETE's password draws from the account's sign-in bucket: 429 + Retry-After."""
        _, tok, ids, password = self._locked_and_adult("pindelrate")
        parent = "/v1/profiles/%s" % ids["Parent"]
        for _ in range(ACCOUNT_BURST):
            self.problem(call("DELETE", parent, json_body={"password": "wrong one 1"},
                              token=tok), 403)
        r = call("DELETE", parent, json_body={"password": password}, token=tok)
        p = self.problem(r, 429, "rate-limited")
        self.assertGreater(int(r.header("Retry-After")), 0)
        self.assertGreater(p["retry_after"], 0)
        self.assertIn("Parent", self._profiles(tok))


def profile_token(kids):
    _, _, t = register_login("kids" if kids else "adult")
    body = {"name": "K", "kids": True} if kids else {"name": "A"}
    r = call("POST", "/v1/profiles", json_body=body, token=t["access_token"])
    assert r.status == 201, r.body
    pid = r.json["id"]
    r = call("POST", "/v1/profiles/%s/switch" % pid, token=t["access_token"])
    assert r.status == 200, r.body
    return r.json["access_token"], t["access_token"]


class T05Catalog(Base):
    def test_kids_profile_never_sees_mature_titles(self):
        kid, _ = profile_token(True)
        adult, _ = profile_token(False)
        ids = browse_all(kid)
        self.assertNotIn("test-mature", ids)
        self.assertIn("test-series", ids)
        self.assertNotIn("test-movie-02", ids)  # rated 13
        self.assertIn("test-mature", browse_all(adult))
        self.assertNotIn("test-mature", browse_all(kid, genre="Family"))
        r = call("GET", "/v1/search?q=zealous", token=kid)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json["items"], [])
        r = call("GET", "/v1/search?q=zealous", token=adult)
        self.assertEqual([t["id"] for t in r.json["items"]], ["test-mature"])
        self.problem(call("GET", "/v1/titles/test-mature", token=kid), 404)
        r = call("GET", "/v1/titles/test-mature", token=adult)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["maturity_rating"], 18)

    def test_detail_genres_search(self):
        adult, _ = profile_token(False)
        r = call("GET", "/v1/titles/test-series", token=adult)
        self.assertEqual(r.status, 200, r.body)
        seasons = r.json["seasons"]
        self.assertEqual([s["number"] for s in seasons], [1, 2])
        self.assertEqual(len(seasons[0]["episodes"]), 2)
        r = call("GET", "/v1/genres", token=adult)
        self.assertTrue({"Comedy", "Drama", "Family"} <= set(r.json["genres"]))
        # A genre is found whatever the case of its ASCII letters.
        drama = browse_all(adult, genre="Drama")
        self.assertTrue(drama)
        for spelling in ("drama", "DRAMA", "dRaMa"):
            self.assertEqual(browse_all(adult, genre=spelling), drama, spelling)
        for q in ("amelie", "AMELIE", "amél", "poulain"):
            r = call("GET", "/v1/search?q=" + urllib.parse.quote(q), token=adult)
            self.assertEqual(r.status, 200, r.body)
            self.assertIn("test-amelie", [t["id"] for t in r.json["items"]], q)
        self.problem(call("GET", "/v1/search", token=adult), 400)
        self.problem(call("GET", "/v1/browse?limit=0", token=adult), 400)
        self.problem(call("GET", "/v1/browse?limit=abc", token=adult), 400)
        self.problem(call("GET", "/v1/browse?cursor=bogus", token=adult), 400)
        self.problem(call("GET", "/v1/titles/no-such-title", token=adult), 404)

    def test_genres_are_what_the_viewer_can_browse(self):
        kid, account = profile_token(True)
        adult, _ = profile_token(False)
        r = call("POST", "/v1/profiles", json_body={"name": "T", "maturity_ceiling": 13},
                 token=account)
        self.assertEqual(r.status, 201, r.body)
        r = call("POST", "/v1/profiles/%s/switch" % r.json["id"], token=account)
        self.assertEqual(r.status, 200, r.body)
        teen = r.json["access_token"]
        # A genre whose only title is out of its window (ended), and one not yet open.
        made = []
        for name, genre, window in (("Ended Opera", "Opera", {"available_until": 1000000000}),
                                    ("Future Polka", "Polka", {"available_from": 4102444800})):
            doc = {"kind": "movie", "name": name, "maturity_rating": 0, "genres": [genre]}
            doc.update(window)
            r = call("POST", "/v1/admin/titles", token=OP_TOKEN, json_body=doc)
            self.assertEqual(r.status, 201, r.body)
            made.append(r.json["id"])
        try:
            lists = {}
            for who, tok in (("kid", kid), ("adult", adult), ("teen", teen),
                             ("account", account)):
                r = call("GET", "/v1/genres", token=tok)
                self.assertEqual(r.status, 200, r.body)
                g = r.json["genres"]
                self.assertEqual(g, sorted(g), who)
                lists[who] = g
                self.assertNotIn("Opera", g, who)
                self.assertNotIn("Polka", g, who)
                # The point: every genre shown browses to at least one title, and every
                # genre of a browsable title is shown.
                for genre in g:
                    self.assertTrue(browse_all(tok, limit=1, genre=genre), (who, genre))
                r = call("GET", "/v1/browse?limit=100", token=tok)
                self.assertEqual(r.status, 200, r.body)
                self.assertEqual(set(g), {x for t in r.json["items"] for x in t["genres"]}, who)
            # Thriller's only title is rated 18.
            self.assertNotIn("Thriller", lists["kid"])
            self.assertNotIn("Thriller", lists["teen"])
            self.assertIn("Thriller", lists["adult"])
            self.assertIn("Family", lists["kid"])
        finally:
            for tid in made:
                self.assertEqual(call("DELETE", "/v1/admin/titles/" + tid, token=OP_TOKEN).status,
                                 204)

    def test_playable_flag(self):
        """"playable" on detail, browse and search says whether POST /v1/playback finds a
        published asset: rows written into the asset registry as a transcode job leaves them
        (2 = ready, 1 = still processing)."""
        adult, _ = profile_token(False)
        now = int(time.time())
        rows = [("pl-movie-ready", "test-movie-05", "", 2), ("pl-movie-busy", "test-movie-06", "", 1),
                ("pl-episode", "test-series", "test-s1e2", 2)]
        db = sqlite3.connect(os.path.join(D.data_dir, "streamd.db"), timeout=10)
        with db:
            for aid, tid, eid, status in rows:
                db.execute("INSERT INTO assets (id, title_id, episode_id, status, dir, created_at,"
                           " ready_at, publish_seq) VALUES (?, ?, ?, ?, ?, ?, ?, CASE WHEN ? = 2"
                           " THEN (SELECT coalesce(max(publish_seq), 0) + 1 FROM assets) ELSE 0"
                           " END)", (aid, tid, eid, status, aid, now, now if status == 2 else 0,
                                     status))
        try:
            def detail(tid):
                r = call("GET", "/v1/titles/" + tid, token=adult)
                self.assertEqual(r.status, 200, r.body)
                return r.json
            # streamd remembers each answer for 1 s (playable.h), and rows written into the
            # registry from outside (as here) show within that second: wait until they do.
            deadline = time.time() + 10
            while detail("test-movie-05")["playable"] is not True and time.time() < deadline:
                time.sleep(0.1)
            time.sleep(1.1)  # every title's answer from before the insert has lapsed
            self.assertIs(detail("test-movie-05")["playable"], True)
            self.assertIs(detail("test-movie-06")["playable"], False)  # still processing
            self.assertIs(detail("test-movie-07")["playable"], False)  # no asset at all
            series = detail("test-series")
            self.assertIs(series["playable"], True)  # one episode has media
            self.assertEqual({e["id"]: e["playable"] for s in series["seasons"]
                              for e in s["episodes"]},
                             {"test-s1e1": False, "test-s1e2": True, "test-s2e1": False})
            r = call("GET", "/v1/browse?limit=100", token=adult)
            self.assertEqual(r.status, 200, r.body)
            flags = {t["id"]: t["playable"] for t in r.json["items"]}
            self.assertTrue(all(isinstance(v, bool) for v in flags.values()), flags)
            self.assertEqual({k for k, v in flags.items() if v},
                             {"test-movie-05", "test-series"})
            r = call("GET", "/v1/search?q=" + urllib.parse.quote("test movie 05"), token=adult)
            self.assertEqual([(t["id"], t["playable"]) for t in r.json["items"]],
                             [("test-movie-05", True)])
            # The same flag on the title cards of My List, Continue Watching and the home rows.
            for tid in ("test-movie-05", "test-movie-06"):
                self.assertEqual(call("PUT", "/v1/my-list/" + tid, token=adult).status, 204)
                self.assertEqual(call("PUT", "/v1/progress", token=adult, json_body={
                    "title_id": tid, "position_s": 60, "duration_s": 6000}).status, 204)
            for path in ("/v1/my-list", "/v1/continue-watching"):
                items = call("GET", path, token=adult).json["items"]
                self.assertEqual({i["title"]["id"]: i["title"]["playable"] for i in items},
                                 {"test-movie-05": True, "test-movie-06": False}, path)
            rows = call("GET", "/v1/home", token=adult).json["rows"]
            cards = [i.get("title", i) for row in rows for i in row["items"]]
            self.assertTrue(cards)
            for c in cards:
                self.assertIs(c["playable"], c["id"] in ("test-movie-05", "test-series"), c["id"])
            # The flag agrees with playback: a title that says false is refused for lack of media.
            r = call("POST", "/v1/playback", token=adult,
                     json_body={"title_id": "test-movie-06", "device_id": "pl-dev"})
            self.assertEqual(r.status, 404, r.body)
            self.assertIn("no playable media", r.body.decode())
        finally:
            with db:
                db.execute("DELETE FROM assets WHERE id LIKE 'pl-%'")
            db.close()

    def test_pagination_stable_under_inserts(self):
        adult, _ = profile_token(False)
        before = browse_all(adult, limit=100)
        inserted = []

        def insert(page):
            for name in ("AAA Inserted %d" % page, "Mmm Inserted %d" % page, "Zzz Inserted %d" % page):
                r = call("POST", "/v1/admin/titles", token=OP_TOKEN,
                         json_body={"kind": "movie", "name": name, "maturity_rating": 0,
                                    "genres": ["Inserted"]})
                assert r.status == 201, r.body
                inserted.append(r.json["id"])

        seen = browse_all(adult, limit=4, between=insert)
        self.assertEqual(len(seen), len(set(seen)), "a title came twice")
        self.assertTrue(set(before) <= set(seen), set(before) - set(seen))
        self.assertGreater(len(inserted), 0)
        for tid in inserted:
            self.assertEqual(call("DELETE", "/v1/admin/titles/" + tid, token=OP_TOKEN).status, 204)

    def test_progress_continue_watching_my_list(self):
        adult, account_token = profile_token(False)
        r = call("PUT", "/v1/progress", token=adult,
                 json_body={"title_id": "test-movie-01", "position_s": 600, "duration_s": 5400})
        self.assertEqual(r.status, 204, r.body)
        r = call("PUT", "/v1/progress", token=adult,
                 json_body={"title_id": "test-series", "episode_id": "test-s1e2",
                            "position_s": 60, "duration_s": 1800})
        self.assertEqual(r.status, 204, r.body)
        r = call("GET", "/v1/continue-watching", token=adult)
        self.assertEqual(r.status, 200, r.body)
        items = r.json["items"]
        # (Written within the same second: their order is not asserted.)
        self.assertEqual(sorted(i["title"]["id"] for i in items), ["test-movie-01", "test-series"])
        self.assertTrue(all(0 < i["progress"] < 0.95 for i in items), items)
        r = call("PUT", "/v1/progress", token=adult,
                 json_body={"title_id": "test-movie-01", "position_s": 5300, "duration_s": 5400})
        self.assertEqual(r.status, 204)
        r = call("GET", "/v1/continue-watching", token=adult)
        self.assertEqual([i["title"]["id"] for i in r.json["items"]], ["test-series"])
        for bad in ({"title_id": "test-movie-01", "position_s": -1, "duration_s": 10},
                    {"title_id": "test-movie-01", "position_s": "1", "duration_s": 10},
                    {"title_id": "test-movie-01", "position_s": 1, "duration_s": 10, "x": 1},
                    {"title_id": "test-series", "position_s": 1, "duration_s": 10}):
            self.problem(call("PUT", "/v1/progress", token=adult, json_body=bad), 400)
        self.problem(call("PUT", "/v1/progress", token=adult,
                          json_body={"title_id": "nope", "position_s": 1, "duration_s": 10}), 404)
        # My List.
        self.assertEqual(call("PUT", "/v1/my-list/test-amelie", token=adult).status, 204)
        self.assertEqual(call("PUT", "/v1/my-list/test-amelie", token=adult).status, 204)
        self.assertEqual(call("PUT", "/v1/my-list/test-series", token=adult).status, 204)
        r = call("GET", "/v1/my-list", token=adult)
        self.assertEqual(sorted(i["title"]["id"] for i in r.json["items"]), ["test-amelie", "test-series"])
        self.assertEqual(call("DELETE", "/v1/my-list/test-series", token=adult).status, 204)
        r = call("GET", "/v1/my-list", token=adult)
        self.assertEqual([i["title"]["id"] for i in r.json["items"]], ["test-amelie"])
        self.problem(call("PUT", "/v1/my-list/nope", token=adult), 404)
        # Without a profile: 403.
        self.problem(call("GET", "/v1/my-list", token=account_token), 403)
        self.problem(call("GET", "/v1/continue-watching", token=account_token), 403)
        kid, _ = profile_token(True)
        self.problem(call("PUT", "/v1/my-list/test-mature", token=kid), 404)


class T06Admin(Base):
    def test_operator_crud_and_import(self):
        doc = {"kind": "movie", "name": "Operator Made", "maturity_rating": 13, "year": 1999}
        r = call("POST", "/v1/admin/titles", token=OP_TOKEN, json_body=doc)
        self.assertEqual(r.status, 201, r.body)
        tid = r.json["id"]
        self.assertEqual(r.header("Location"), "/v1/admin/titles/" + tid)
        r = call("PUT", "/v1/admin/titles/" + tid, token=OP_TOKEN,
                 json_body=dict(doc, name="Operator Renamed"))
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json["name"], "Operator Renamed")
        r = call("PUT", "/v1/admin/titles/" + tid, token=OP_TOKEN, json_body=dict(doc, id="other"))
        self.problem(r, 400)
        r = call("PUT", "/v1/admin/titles/op-put-new", token=OP_TOKEN, json_body=doc)
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json["id"], "op-put-new")
        self.assertEqual(r.header("Location"), "/v1/admin/titles/op-put-new")
        self.problem(call("POST", "/v1/admin/titles", token=OP_TOKEN,
                          json_body={"kind": "movie", "name": "X", "maturity_rating": 12}), 400)
        self.problem(call("POST", "/v1/admin/titles", token=OP_TOKEN,
                          json_body={"kind": "movie", "name": "X", "maturity_rating": 0, "bogus": 1}), 400)
        self.assertEqual(call("DELETE", "/v1/admin/titles/" + tid, token=OP_TOKEN).status, 204)
        self.assertEqual(call("DELETE", "/v1/admin/titles/op-put-new", token=OP_TOKEN).status, 204)
        self.problem(call("DELETE", "/v1/admin/titles/" + tid, token=OP_TOKEN), 404)
        self.problem(call("POST", "/v1/admin/titles", json_body=doc), 401)
        # Import: re-importing the seed changes nothing; an invalid item rejects the whole document.
        with open(D.catalog_path, encoding="utf-8") as f:
            seed = f.read()
        r = call("POST", "/v1/admin/import", token=OP_TOKEN, body=seed.encode(), ctype="application/json")
        self.assertEqual(r.status, 200, r.body)
        rep = r.json
        self.assertEqual(rep["total"], len(test_catalog()["titles"]))
        self.assertEqual(rep["unchanged"], rep["total"])
        bad = {"titles": [{"id": "imp-ok", "kind": "movie", "name": "Fine", "maturity_rating": 0},
                          {"id": "imp-bad", "kind": "film", "name": "Bad", "maturity_rating": 0}]}
        r = call("POST", "/v1/admin/import", token=OP_TOKEN, json_body=bad)
        p = self.problem(r, 400)
        self.assertIn("report", p)
        self.problem(call("DELETE", "/v1/admin/titles/imp-ok", token=OP_TOKEN), 404)


class T07BadInput(Base):
    def still_serving(self):
        self.assertEqual(call("GET", "/healthz").status, 200)
        r = call("POST", "/v1/auth/login", json_body={"email": D.demo["email"],
                                                      "password": D.demo["password"]})
        self.assertEqual(r.status, 200, r.body)
        return r.json["access_token"]

    def test_bad_bodies(self):
        cases = [
            ("POST", "/v1/auth/login", b'{"email": "a@b.c", "password": ', "application/json", 400),
            ("POST", "/v1/auth/login", b'{"email": 5, "password": "x"}', "application/json", 400),
            ("POST", "/v1/auth/login", b'{"email": "a@b.c", "password": ["p"]}', "application/json", 400),
            ("POST", "/v1/auth/login", b'["not", "an", "object"]', "application/json", 400),
            ("POST", "/v1/auth/login", b'{"email":"a@b.c","email":"d@e.f","password":"xxxxxxxx"}',
             "application/json", 400),
            ("POST", "/v1/auth/login", b'{"email": "\xff\xfe@b.c", "password": "xxxxxxxx"}',
             "application/json", 400),
            ("POST", "/v1/auth/register", b'{"email": "\xc3\x28@b.c", "password": "xxxxxxxx"}',
             "application/json", 400),
            ("POST", "/v1/auth/login", b'email=a&password=b', "application/x-www-form-urlencoded", 415),
            ("POST", "/v1/auth/login", b"x" * (64 * 1024), "application/json", 413),
            ("POST", "/v1/auth/register", b'{"email":"x@y.z","password":"' + b"p" * 2000 + b'"}',
             "application/json", 400),
            ("POST", "/v1/auth/device", b'client_id=%ff%fe', "application/x-www-form-urlencoded", 400),
            ("POST", "/v1/auth/device", b'client_id=a%00b', "application/x-www-form-urlencoded", 400),
            ("POST", "/v1/auth/device", b'client_id=%zz', "application/x-www-form-urlencoded", 400),
            ("POST", "/v1/auth/device", b'{"client_id": 7}', "application/json", 400),
        ]
        for method, path, body, ctype, status in cases:
            r = call(method, path, body=body, ctype=ctype)
            self.problem(r, status)
        r = call("POST", "/v1/auth/token", body=b"grant_type=%ff", ctype="application/x-www-form-urlencoded")
        self.oauth_error(r, "invalid_request")
        # 8 MiB to a 16 MiB-capable operator route without the token is still refused.
        r = call("POST", "/v1/admin/import", body=b"{" + b" " * (2 << 20) + b"}", ctype="application/json")
        self.assertIn(r.status, (401, 413))
        self.still_serving()

    def test_sql_metacharacters(self):
        token = self.still_serving()
        for q in ("'; DROP TABLE titles; --", "\" OR 1=1 --", "amelie*", "NEAR(a b)", "a AND b OR",
                  "%", "_", "\\", "title:x", "^", "()", "'"):
            r = call("GET", "/v1/search?q=" + urllib.parse.quote(q), token=token)
            self.assertIn(r.status, (200, 400), (q, r.body))
            if r.status == 400:
                self.problem(r, 400)
        for tid in ("1' OR '1'='1", "x;DROP TABLE titles", "../../etc/passwd"):
            r = call("GET", "/v1/titles/" + urllib.parse.quote(tid, safe=""), token=token)
            self.assertIn(r.status, (400, 404), r.body)
            self.assertEqual(r.ctype, "application/problem+json")
        r = call("GET", "/v1/browse?genre=" + urllib.parse.quote("Drama' OR 1=1 --"), token=token)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json["items"], [])
        r = call("POST", "/v1/auth/login", json_body={"email": "a'--@x.io", "password": "' OR 1=1 --"})
        self.assertIn(r.status, (400, 401))
        r = call("GET", "/v1/search?q=%FF%FE", token=token)
        self.problem(r, 400)
        r = call("GET", "/v1/browse?limit=100", token=token)
        self.assertGreaterEqual(len(r.json["items"]), 27)  # nothing was dropped
        self.still_serving()


class T08Purge(Base):
    """POST /v1/admin/purge: operator only; deletes the long-expired rows written straight
    into the daemon's database (the daemon's clock is the real one) and keeps live ones."""

    def test_admin_purge(self):
        self.problem(call("POST", "/v1/admin/purge"), 401)
        _, _, t = register_login("purge")
        self.problem(call("POST", "/v1/admin/purge", token=t["access_token"]), 403)
        now = int(time.time())
        old = now - 30 * 86400
        db = sqlite3.connect(os.path.join(D.data_dir, "streamd.db"), timeout=10)
        with db:
            for i in range(3):
                db.execute("INSERT INTO refresh_tokens (token_hash, family_id, account_id,"
                           " created_at, expires_at) VALUES (?, 'purge-fam', ?, ?, ?)",
                           ("%064d" % i, t["account_id"], old - 60, old))
            db.execute("INSERT INTO device_authorizations (device_code_hash, user_code, client_id,"
                       " status, interval_s, created_at, expires_at) VALUES (?, 'PURGE-TEST', 'tv',"
                       " 3, 5, ?, ?)", ("%064d" % 99, old - 600, old))
            db.execute("INSERT INTO idempotency_keys (scope, key, request_hash, code, response,"
                       " created_at) VALUES ('purge-scope', 'k1', 'h', 0, '{}', ?),"
                       " ('purge-scope', 'k2', 'h', 0, '{}', ?)", (old, now))
            # Two password reset tokens: one long expired (purged), one live (kept).
            db.execute("INSERT INTO password_resets (token_hash, account_id, created_at,"
                       " expires_at) VALUES (?, ?, ?, ?), (?, ?, ?, ?)",
                       ("%064d" % 7, t["account_id"], old - 1800, old,
                        "%064d" % 8, t["account_id"], now, now + 1800))
        db.close()
        r = call("POST", "/v1/admin/purge", token=OP_TOKEN)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.ctype, "application/json")
        self.assertEqual(r.json, {"refresh_tokens": 3, "device_authorizations": 1,
                                  "idempotency_keys": 1, "screen_leases": 0,
                                  "password_resets": 1, "rate_buckets": 0})
        # Nothing left to do; the live session still refreshes.
        r = call("POST", "/v1/admin/purge", token=OP_TOKEN)
        self.assertEqual(r.json, dict.fromkeys(r.json, 0))
        r = call("POST", "/v1/auth/refresh", json_body={"refresh_token": t["refresh_token"]})
        self.assertEqual(r.status, 200, r.body)
        self.problem(call("POST", "/v1/admin/purge", token=OP_TOKEN, json_body={"x": 1}), 400)

    def test_purge_at_startup(self):
        """A (re)started streamd purges once before it reports listening, so a daemon restarted
        more often than purge_interval still purges; purge_interval 0 means no purge at all."""
        now = int(time.time())
        old = now - 30 * 86400

        def write_rows(d):
            db = sqlite3.connect(os.path.join(d.data_dir, "streamd.db"), timeout=10)
            with db:
                db.execute("INSERT INTO idempotency_keys (scope, key, request_hash, code, response,"
                           " created_at) VALUES ('boot-scope', 'old', 'h', 0, '{}', ?),"
                           " ('boot-scope', 'new', 'h', 0, '{}', ?)", (old, now))
            db.close()

        def keys_left(d):
            db = sqlite3.connect(os.path.join(d.data_dir, "streamd.db"), timeout=10)
            rows = sorted(r[0] for r in db.execute(
                "SELECT key FROM idempotency_keys WHERE scope = 'boot-scope'"))
            db.close()
            return rows

        for interval, expect in (("0", ["new", "old"]), ("3600", ["new"])):
            with Streamd(STREAMD, ["--purge-interval", interval], prefix="streamd-purge-",
                         log_level="warn", operator_token=OP_TOKEN) as d:
                write_rows(d)
                d.restart()  # returns once the listening line is printed
                self.assertEqual(keys_left(d), expect, "purge_interval %s" % interval)
                self.assertEqual(d.request("GET", "/healthz").status, 200)


class T99Expiry(Base):
    """Runs last: the device code started at start-up must have expired by now."""

    def test_device_code_expires(self):
        d = EXPIRING
        left = T0 + DEVICE_LIFETIME + 2 - time.time()
        if left > 0:
            time.sleep(left)
        r = call("POST", "/v1/auth/token", form={"grant_type": GRANT, "device_code": d["device_code"],
                                                 "client_id": "tv-expiry"})
        self.oauth_error(r, "expired_token")
        r = call("POST", "/activate", form={"user_code": d["user_code"], "email": D.demo["email"],
                                            "password": D.demo["password"]})
        self.assertEqual(r.status, 410, r.body)

    def test_access_token_expiry_and_restart(self):
        # A second daemon whose access tokens live 1 second, then a restart on the same data dir.
        global D
        main = D
        D = start_daemon(extra=["--access-token-ttl", "1"], seed=False)
        first = D
        try:
            _, _, t = register_login("ttl")
            self.assertEqual(t["expires_in"], 1)
            with open(os.path.join(D.data_dir, "keys", "access.key")) as f:
                key = f.read()
            self.assertEqual(D.stop(), 0)
            # What a streamd killed between writing a key under its temporary name and linking
            # it leaves (keyfile.c): an old one is removed at the next start, a fresh one (maybe
            # another daemon's, being published right now) and other names are left alone.
            keys = os.path.join(first.data_dir, "keys")
            stale = os.path.join(keys, "access.key.0123456789ab.tmp")
            fresh = os.path.join(keys, "access.key.a1b2c3d4e5f6.tmp")
            other = os.path.join(keys, "access.key.0123456789ab.tmp.bak")
            for path in (stale, fresh, other):
                with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
                    f.write("never used\n")
            old = time.time() - 3600
            os.utime(stale, (old, old))
            os.utime(other, (old, old))
            D = start_daemon(seed=False, data_dir=first.data_dir)
            with open(os.path.join(D.data_dir, "keys", "access.key")) as f:
                self.assertEqual(f.read(), key)  # loaded, not regenerated
            self.assertFalse(os.path.exists(stale))
            self.assertTrue(os.path.exists(fresh))
            self.assertTrue(os.path.exists(other))
            self.assertIn("access.key.0123456789ab.tmp, a key file left half-published",
                          D.stderr_text())
            time.sleep(max(0.0, t["expires_in"] + 1.5 - (time.time() - T_LOGIN[0])))
            # Expired, not "bad signature": the same key verified it.
            r = call("GET", "/v1/profiles", token=t["access_token"])
            p = self.problem(r, 401, "credential-expired")
            self.assertIn("expired", p["detail"])
            r = call("POST", "/v1/auth/refresh", json_body={"refresh_token": t["refresh_token"]})
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.json["expires_in"], 900)
            self.assertEqual(call("GET", "/v1/profiles", token=r.json["access_token"]).status, 200)
            self.assertEqual(D.stop(), 0)
        finally:
            D.stop()
            D.cleanup()
            first.stop()
            first.cleanup()
            D = main

    def refused_start(self, data_dir, extra=()):
        """streamd on `data_dir` that must stop at start: its exit status and stderr (one that
        starts instead is stopped at its listening line, and the test fails)."""
        started, rc, err = start_refused(STREAMD, data_dir, extra)
        self.assertFalse(started, "streamd started: " + err)
        return rc, err

    def test_key_file_checked_on_what_is_read(self):
        # keyfile.c opens a key file once (no symlink followed, no waiting on a FIFO) and checks
        # the open file: type, mode and owner, then reads that very file.
        d = start_daemon(seed=False)
        try:
            self.assertEqual(d.stop(), 0)
            key = os.path.join(d.data_dir, "keys", "access.key")
            real = os.path.join(d.tmp, "access.key.real")
            os.rename(key, real)
            self.assertEqual(stat.S_IMODE(os.stat(real).st_mode), 0o600)
            # A symlink to a 0600 key file: refused, the message names the path, not the key.
            os.symlink(real, key)
            rc, err = self.refused_start(d.data_dir)
            self.assertEqual(rc, 2, err)
            self.assertIn(key + " must be a regular file of mode 0600, not a symlink", err)
            with open(real) as f:
                self.assertNotIn(f.read().strip().rstrip("="), err)
            os.unlink(key)
            # A FIFO (no writer): refused at once instead of hanging the start on the open.
            os.mkfifo(key, 0o600)
            rc, err = self.refused_start(d.data_dir)
            self.assertEqual(rc, 2, err)
            self.assertIn(key + " must be a regular file of mode 0600 (it is a FIFO)", err)
            os.unlink(key)
            os.rename(real, key)
            if os.geteuid() != 0:
                self.skipTest("the owner cases need root (chown)")
            # A 0600 key file of another uid in streamd's own keys directory: refused.
            import pwd
            nobody = pwd.getpwnam("nobody").pw_uid
            os.chown(key, nobody, -1)
            rc, err = self.refused_start(d.data_dir)
            self.assertEqual(rc, 2, err)
            self.assertIn("%s is owned by uid %d, not by this streamd's uid 0" % (key, nobody),
                          err)
            # An operator's media_key_file of another uid too (one of root or streamd's is
            # taken: test_origin's cloudcdn case).
            media = os.path.join(d.tmp, "cdn.key")
            fd = os.open(media, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, b"nZtRohdNF9m3cKM24IcK4w==\n")
            os.close(fd)
            os.chown(media, nobody, -1)
            os.chown(key, 0, -1)
            rc, err = self.refused_start(d.data_dir, ["--media-signing", "cloudcdn",
                                                      "--media-key-file", media])
            self.assertEqual(rc, 2, err)
            self.assertIn("%s is owned by uid %d: a key file must be owned by this streamd's "
                          "uid 0 or by root" % (media, nobody), err)
            # Owned by streamd's uid again: the same data directory starts, with the same key.
            with open(key) as f:
                text = f.read()
            d.start()
            with open(key) as f:
                self.assertEqual(f.read(), text)
            self.assertEqual(d.stop(), 0)
        finally:
            d.stop()
            d.cleanup()


EXPIRING = None


def main():
    global STREAMD, D, T0, EXPIRING
    if len(sys.argv) < 2:
        print("usage: test_streamd_api.py /path/to/streamd", file=sys.stderr)
        return 2
    STREAMD = os.path.abspath(sys.argv.pop(1))
    D = start_daemon()
    try:
        T0 = time.time()
        r = call("POST", "/v1/auth/device", form={"client_id": "tv-expiry"})
        assert r.status == 200, r.body
        EXPIRING = r.json
        prog = unittest.main(exit=False, verbosity=2)
        ok = prog.result.wasSuccessful()
        rc = D.stop()
        if rc != 0:
            print("streamd exited with %d; stderr:\n%s" % (rc, D.stderr_text(4000)),
                  file=sys.stderr)
            ok = False
        if not ok:
            print("--- streamd stderr (tail) ---\n" + D.stderr_text(4000), file=sys.stderr)
        return 0 if ok else 1
    finally:
        D.stop()
        D.cleanup()


if __name__ == "__main__":
    sys.exit(main())
