#!/usr/bin/python3
"""Thumbs up/down end to end on the real streamd: GET/PUT/DELETE /v1/ratings/{title_id} for the
token's profile.

- A rating is per profile: put up, replace with down, clear (idempotent), read back each time.
- Bad bodies are 400 problem+json, unknown titles 404, a title the profile may not see (a kids
  profile and an 18 title) 404, an account token without a profile 403, no token 401.
- Deleting the title (operator) takes its ratings with it: the route answers 404, and a title
  re-created with the same id starts unrated.

Usage: /usr/bin/python3 test_ratings.py STREAMD
Standard library only.
"""
import sys
import unittest

from streamd_harness import ApiTestCase, Streamd, register_login, unique_email

STREAMD = None
D = None
OP = "op-token-ratings-0123456789abcdef"

CATALOG = {"titles": [
    {"id": "r-family", "kind": "movie", "name": "Family Film", "maturity_rating": 0,
     "genres": ["Family"]},
    {"id": "r-mature", "kind": "movie", "name": "Mature Film", "maturity_rating": 18,
     "genres": ["Thriller"]},
    {"id": "r-series", "kind": "series", "name": "A Series", "maturity_rating": 7,
     "genres": ["Drama"]},
]}


def viewer(kids=False):
    """(profile token, account token) of a fresh account with one profile."""
    t = register_login(D, unique_email("rating"))
    acct = t["access_token"]
    r = D.request("POST", "/v1/profiles", json_body={"name": "K" if kids else "A", "kids": kids},
                  token=acct)
    assert r.status == 201, (r.status, r.body)
    r = D.request("POST", "/v1/profiles/%s/switch" % r.json["id"], json_body={}, token=acct)
    assert r.status == 200, (r.status, r.body)
    return r.json["access_token"], acct


def rating(method, title_id, token, body=None, **kw):
    return D.request(method, "/v1/ratings/" + title_id, token=token, json_body=body, **kw)


class T1Ratings(ApiTestCase):
    def state(self, r, title_id, value):
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.ctype, "application/json")
        self.assertEqual(r.json, {"title_id": title_id, "rating": value})

    def test_1_put_get_clear(self):
        tok, _ = viewer()
        other, _ = viewer()
        self.state(rating("GET", "r-family", tok), "r-family", None)
        self.state(rating("PUT", "r-family", tok, {"rating": "up"}), "r-family", "up")
        self.state(rating("GET", "r-family", tok), "r-family", "up")
        # Another profile has its own rating.
        self.state(rating("GET", "r-family", other), "r-family", None)
        self.state(rating("PUT", "r-family", other, {"rating": "down"}), "r-family", "down")
        self.state(rating("GET", "r-family", tok), "r-family", "up")
        # Replace, then clear twice.
        self.state(rating("PUT", "r-family", tok, {"rating": "down"}), "r-family", "down")
        self.state(rating("GET", "r-family", tok), "r-family", "down")
        self.state(rating("DELETE", "r-family", tok), "r-family", None)
        self.state(rating("DELETE", "r-family", tok), "r-family", None)
        self.state(rating("GET", "r-family", tok), "r-family", None)
        self.state(rating("GET", "r-family", other), "r-family", "down")
        self.state(rating("PUT", "r-series", tok, {"rating": "up"}), "r-series", "up")

    def test_2_bad_bodies(self):
        tok, _ = viewer()
        for body in ({"rating": "sideways"}, {"rating": 1}, {"rating": None}, {},
                     {"rating": "up", "extra": 1}, {"rating": "UP"}):
            self.problem(rating("PUT", "r-family", tok, body), 400)
        p = self.problem(rating("PUT", "r-family", tok, {"rating": "up", "extra": 1}), 400)
        self.assertIn("unknown field 'extra'", p["detail"])
        self.problem(D.request("PUT", "/v1/ratings/r-family", token=tok, body="{not json",
                               ctype="application/json"), 400)
        self.problem(D.request("PUT", "/v1/ratings/r-family", token=tok, body="[]",
                               ctype="application/json"), 400)
        # Nothing was stored by the refused requests.
        self.state(rating("GET", "r-family", tok), "r-family", None)

    def test_3_unknown_hidden_and_auth(self):
        tok, acct = viewer()
        kid, _ = viewer(kids=True)
        for method, body in (("GET", None), ("PUT", {"rating": "up"}), ("DELETE", None)):
            self.problem(rating(method, "no-such-title", tok, body), 404)
            # A kids profile never reaches an 18 title, not even to rate it.
            self.problem(rating(method, "r-mature", kid, body), 404)
            # An account token without a profile: 403, as My List.
            self.problem(rating(method, "r-family", acct, body), 403)
            self.problem(rating(method, "r-family", None, body), 401)
        self.state(rating("PUT", "r-family", kid, {"rating": "up"}), "r-family", "up")
        self.state(rating("PUT", "r-mature", tok, {"rating": "up"}), "r-mature", "up")

    def test_4_deleted_title_takes_its_ratings(self):
        tok, _ = viewer()
        doc = {"kind": "movie", "name": "Short Lived", "maturity_rating": 0}
        r = D.request("PUT", "/v1/admin/titles/r-gone", token=OP, json_body=doc)
        self.assertIn(r.status, (200, 201), r.body)
        self.state(rating("PUT", "r-gone", tok, {"rating": "down"}), "r-gone", "down")
        r = D.request("DELETE", "/v1/admin/titles/r-gone", token=OP)
        self.assertIn(r.status, (200, 204), r.body)
        self.problem(rating("GET", "r-gone", tok), 404)
        r = D.request("PUT", "/v1/admin/titles/r-gone", token=OP, json_body=doc)
        self.assertIn(r.status, (200, 201), r.body)
        self.state(rating("GET", "r-gone", tok), "r-gone", None)


def main():
    global STREAMD, D
    STREAMD = sys.argv[1]
    D = Streamd(STREAMD, ["--login-address-burst", "0"], prefix="streamd-ratings-",
                log_level="warn", access_log=False, catalog=CATALOG, demo_timeout=10,
                operator_token=OP)
    ok = False
    try:
        suite = unittest.TestLoader().loadTestsFromTestCase(T1Ratings)
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
