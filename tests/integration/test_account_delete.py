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

Usage: /usr/bin/python3 test_account_delete.py STREAMD
Standard library only.
"""
import sys
import unittest

from streamd_harness import (ApiTestCase, PASSWORD, Streamd, login, profile_token,
                             register_login, unique_email)

D = None
OP = "op-token-account-delete-0123456789"


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


def main():
    global D
    D = Streamd(sys.argv[1], ["--login-address-burst", "0"], prefix="streamd-acctdel-",
                log_level="warn", access_log=False, demo_timeout=10, operator_token=OP)
    ok = False
    try:
        suite = unittest.TestLoader().loadTestsFromTestCase(T1AccountDelete)
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
