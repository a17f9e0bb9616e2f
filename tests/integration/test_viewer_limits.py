#!/usr/bin/python3
"""What a limited profile must not learn or do, and the viewer's region, on the real streamd.

- Resume positions (D1): a kids token's PUT /v1/progress on a title it may not see (rated 18, not
  yet available) is 404 with the very problem of a missing title, tells no movie from a series
  and no episode from another, and writes nothing (once the profile's limits are lifted, its
  continue-watching row still holds only the visible title it wrote).
- Billing (D3): for a profile token the entitlement of a title its profile may not see is the
  answer about an unknown title, and so is the refusal of a screen lease on it; a profile with
  parental limits lists only its own leases and cannot end or renew (heartbeat) another
  profile's session or lease (404, as if absent: the lease survives, not renewed), while an adult
  token still ends and renews the kids session. With every screen taken, its 409's
  devices_in_use shows which device is busy but not the title another profile plays (null), and
  never a profile; the entitlement's message names only the device.
- Region: with --region-header X-Test-Country a title limited to FR shows (detail, browse,
  search, genres, My List, playback's title check) for "FR" and "fr", and is hidden as a missing
  title for "DE", without the header, for "F1" and when the header comes twice; titles without
  regions show everywhere. Without the option the header is ignored (no region filter). An
  option value that is no header name is refused at start.

Usage: /usr/bin/python3 test_viewer_limits.py STREAMD
Standard library only.
"""
import http.client
import json
import subprocess
import sys
import unittest
import urllib.parse

from streamd_harness import (HOST, ApiTestCase, Streamd, register_login, streamd_env,
                             unique_email)

STREAMD = None
D = None  # no region header configured
R = None  # --region-header X-Test-Country
OK_CARD = "tok_4242424242424242"
REGION_HEADER = "X-Test-Country"

CATALOG = {"titles": [
    {"id": "vl-family", "kind": "movie", "name": "Vl Family Film", "maturity_rating": 0,
     "genres": ["Family"]},
    {"id": "vl-adult", "kind": "movie", "name": "Vl Adult Film", "maturity_rating": 18,
     "genres": ["Thriller"]},
    {"id": "vl-adult-series", "kind": "series", "name": "Vl Adult Series", "maturity_rating": 18,
     "genres": ["Thriller"],
     "seasons": [{"number": 1, "episodes": [
         {"id": "vl-as-s1e1", "number": 1, "name": "One", "runtime_minutes": 40}]}]},
    {"id": "vl-future", "kind": "movie", "name": "Vl Future Film", "maturity_rating": 0,
     "genres": ["Family"], "available_from": 4102444800},
    {"id": "vl-fr", "kind": "movie", "name": "Vl Zanzibarre", "maturity_rating": 0,
     "genres": ["Regionalia"], "regions": ["FR"]},
]}


def strip(p):
    """A problem body without what names the request (its id and path)."""
    return {k: v for k, v in p.items() if k not in ("request_id", "instance")}


def profile(d, acct, name, kids=False):
    """(profile id, profile token) of a new profile of the account."""
    r = d.request("POST", "/v1/profiles", json_body={"name": name, "kids": kids}, token=acct)
    assert r.status == 201, (r.status, r.body)
    return r.json["id"], switch(d, acct, r.json["id"])


def switch(d, acct, pid):
    r = d.request("POST", "/v1/profiles/%s/switch" % pid, json_body={}, token=acct)
    assert r.status == 200, (r.status, r.body)
    return r.json["access_token"]


def subscribe(d, acct, plan="premium"):
    r = d.request("POST", "/v1/billing/payment-methods", json_body={"token": OK_CARD}, token=acct,
                  key="card-" + acct[-12:])
    assert r.status == 201, (r.status, r.body)
    r = d.request("POST", "/v1/billing/subscription", json_body={"plan_id": plan},
                  token=acct, key="sub-" + acct[-12:])
    assert r.status == 201, (r.status, r.body)


class T1Progress(ApiTestCase):
    """D1: PUT /v1/progress only for titles the profile may see."""

    def put(self, tok, **body):
        body.setdefault("position_s", 10)
        body.setdefault("duration_s", 100)
        return D.request("PUT", "/v1/progress", json_body=body, token=tok)

    def test_hidden_title_is_missing(self):
        acct = register_login(D, unique_email("vlprog"))["access_token"]
        kid_id, kid = profile(D, acct, "Kid", kids=True)
        self.assertEqual(D.request("GET", "/v1/titles/vl-adult", token=kid).status, 404)
        missing = strip(self.problem(self.put(kid, title_id="vl-nope"), 404))
        # Every hidden title, however asked about, answers what a missing one does.
        for title, extra in (("vl-adult", {}), ("vl-future", {}), ("vl-adult-series", {}),
                             ("vl-adult-series", {"episode_id": "vl-as-s1e1"}),
                             ("vl-adult-series", {"episode_id": "vl-as-s1e9"})):
            p = strip(self.problem(self.put(kid, title_id=title, **extra), 404))
            self.assertEqual(p, json.loads(json.dumps(missing).replace("vl-nope", title)),
                             (title, extra))
        # A title the profile may see is written.
        r = self.put(kid, title_id="vl-family", position_s=30)
        self.assertEqual(r.status, 204, r.body)
        r = D.request("GET", "/v1/continue-watching", token=kid)
        self.assertEqual([i["title"]["id"] for i in r.json["items"]], ["vl-family"])
        # Nothing of the hidden titles was written: with the limits lifted (an adult's change,
        # and a new token for the profile), the profile's row still holds only vl-family.
        r = D.request("PATCH", "/v1/profiles/" + kid_id,
                      json_body={"kids": False, "maturity_ceiling": 18}, token=acct)
        self.assertEqual(r.status, 200, r.body)
        lifted = switch(D, acct, kid_id)
        self.assertEqual(D.request("GET", "/v1/titles/vl-adult", token=lifted).status, 200)
        r = D.request("GET", "/v1/continue-watching", token=lifted)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual([i["title"]["id"] for i in r.json["items"]], ["vl-family"])


class T2Billing(ApiTestCase):
    """D3: entitlement and leases of a profile with parental limits."""

    @classmethod
    def setUpClass(cls):
        cls.acct = register_login(D, unique_email("vlbill"))["access_token"]
        subscribe(D, cls.acct)
        cls.parent_id, cls.parent = profile(D, cls.acct, "Parent")
        cls.kid_id, cls.kid = profile(D, cls.acct, "Kid", kids=True)

    def entitlement(self, tok, title):
        q = urllib.parse.urlencode({"title_id": title, "device_id": "dev-x"})
        r = D.request("GET", "/v1/billing/entitlement?" + q, token=tok)
        self.assertEqual(r.status, 200, r.body)
        return r.json

    def test_1_entitlement_of_hidden_title_is_unknown(self):
        unknown = self.entitlement(self.kid, "vl-nope")
        self.assertEqual((unknown["allowed"], unknown["reason"]), (False, "unknown_title"))
        for title in ("vl-adult", "vl-future"):
            e = self.entitlement(self.kid, title)
            self.assertEqual(e, json.loads(json.dumps(unknown).replace("vl-nope", title)), title)
        self.assertEqual(self.entitlement(self.kid, "vl-family")["allowed"], True)
        # An adult profile may play the 18 title; nobody may play one not yet available.
        self.assertEqual(self.entitlement(self.parent, "vl-adult")["allowed"], True)
        self.assertEqual(self.entitlement(self.parent, "vl-future")["reason"], "unknown_title")

    def test_2_no_lease_on_hidden_title(self):
        body = {"title_id": "vl-nope", "device_id": "kid-tab"}
        missing = strip(self.problem(D.request("POST", "/v1/billing/leases", json_body=body,
                                               token=self.kid), 403))
        for title in ("vl-adult", "vl-future"):
            body["title_id"] = title
            p = strip(self.problem(D.request("POST", "/v1/billing/leases", json_body=body,
                                             token=self.kid), 403))
            self.assertEqual(p, json.loads(json.dumps(missing).replace("vl-nope", title)))
        r = D.request("GET", "/v1/billing/leases", token=self.acct)
        self.assertEqual(r.json["leases"], [])

    def leases(self, tok):
        r = D.request("GET", "/v1/billing/leases", token=tok)
        self.assertEqual(r.status, 200, r.body)
        return {l["id"]: l for l in r.json["leases"]}

    def test_3_leases_of_a_kids_profile(self):
        r = D.request("POST", "/v1/billing/leases", token=self.parent,
                      json_body={"title_id": "vl-adult", "device_id": "parent-tv"})
        self.assertEqual(r.status, 201, r.body)
        parent_lease = r.json["id"]
        r = D.request("POST", "/v1/billing/leases", token=self.kid,
                      json_body={"title_id": "vl-family", "device_id": "kid-tab"})
        self.assertEqual(r.status, 201, r.body)
        kid_lease = r.json["id"]
        # The kids token sees its own screen only; adults and the account see both.
        self.assertEqual(list(self.leases(self.kid)), [kid_lease])
        self.assertEqual(set(self.leases(self.parent)), {parent_lease, kid_lease})
        self.assertEqual(set(self.leases(self.acct)), {parent_lease, kid_lease})
        # Ending the parent's session is refused as for a session that does not exist.
        absent = "A" * len(parent_lease)
        for path in ("/v1/playback/", "/v1/billing/leases/"):
            want = strip(self.problem(D.request("DELETE", path + absent, token=self.kid), 404))
            p = strip(self.problem(D.request("DELETE", path + parent_lease, token=self.kid), 404))
            self.assertEqual(p, json.loads(json.dumps(want).replace(absent, parent_lease)))
        self.assertIn(parent_lease, self.leases(self.acct))
        # An adult may stop any screen of the account, the kids one included.
        r = D.request("DELETE", "/v1/playback/" + kid_lease, token=self.parent)
        self.assertEqual(r.status, 204, r.body)
        self.assertEqual(set(self.leases(self.acct)), {parent_lease})
        # The kids profile still ends its own session.
        r = D.request("POST", "/v1/billing/leases", token=self.kid,
                      json_body={"title_id": "vl-family", "device_id": "kid-tab"})
        self.assertEqual(r.status, 201, r.body)
        r = D.request("DELETE", "/v1/playback/" + r.json["id"], token=self.kid)
        self.assertEqual(r.status, 204, r.body)
        r = D.request("DELETE", "/v1/billing/leases/" + parent_lease, token=self.acct)
        self.assertEqual(r.status, 204, r.body)

    def test_4_heartbeat_of_another_profiles_lease(self):
        r = D.request("POST", "/v1/billing/leases", token=self.parent,
                      json_body={"title_id": "vl-adult", "device_id": "parent-tv-hb"})
        self.assertEqual(r.status, 201, r.body)
        parent_lease = r.json["id"]
        expires = r.json["expires_at"]
        # The kids token renews the parent's lease as it would one that does not exist (404,
        # the same problem): no title, no profile, no renewal.
        absent = "A" * len(parent_lease)
        for path, body in (("/v1/billing/leases/%s/heartbeat", None),
                           ("/v1/playback/%s/heartbeat", {})):
            want = strip(self.problem(D.request("POST", path % absent, json_body=body,
                                                token=self.kid), 404))
            got = self.problem(D.request("POST", path % parent_lease, json_body=body,
                                         token=self.kid), 404)
            self.assertEqual(strip(got), json.loads(json.dumps(want).replace(absent, parent_lease)))
            self.assertNotIn("vl-adult", json.dumps(got))
            self.assertNotIn(self.parent_id, json.dumps(got))
        self.assertEqual(self.leases(self.acct)[parent_lease]["expires_at"], expires)
        # Its own lease it renews; an adult renews any lease of the account.
        r = D.request("POST", "/v1/billing/leases", token=self.kid,
                      json_body={"title_id": "vl-family", "device_id": "kid-tab-hb"})
        self.assertEqual(r.status, 201, r.body)
        kid_lease = r.json["id"]
        for tok, lease in ((self.kid, kid_lease), (self.parent, kid_lease),
                           (self.parent, parent_lease), (self.acct, parent_lease)):
            r = D.request("POST", "/v1/billing/leases/%s/heartbeat" % lease, token=tok)
            self.assertEqual((r.status, r.json["id"]), (200, lease), r.body)
            r = D.request("POST", "/v1/playback/%s/heartbeat" % lease, json_body={}, token=tok)
            self.assertEqual((r.status, r.json["session_id"]), (200, lease), r.body)
        for lease in (parent_lease, kid_lease):
            r = D.request("DELETE", "/v1/billing/leases/" + lease, token=self.acct)
            self.assertEqual(r.status, 204, r.body)


class T4ScreensTaken(ApiTestCase):
    """RV7: every screen taken, a kids token learns which device is busy, not what plays."""

    @classmethod
    def setUpClass(cls):
        cls.acct = register_login(D, unique_email("vlfull"))["access_token"]
        subscribe(D, cls.acct, "basic")  # one screen
        cls.parent_id, cls.parent = profile(D, cls.acct, "Parent")
        cls.kid_id, cls.kid = profile(D, cls.acct, "Kid", kids=True)

    def take(self, tok, title, device, name=None, status=201):
        body = {"title_id": title, "device_id": device}
        if name:
            body["device_name"] = name
        r = D.request("POST", "/v1/billing/leases", json_body=body, token=tok)
        if status == 409:
            return self.problem(r, 409)
        self.assertEqual(r.status, status, r.body)
        return r.json

    def test_devices_in_use(self):
        lease = self.take(self.parent, "vl-adult", "parent-tv", "Bedroom TV")
        p = self.take(self.kid, "vl-family", "kid-tab", status=409)
        self.assertEqual(len(p["devices_in_use"]), 1, p)
        busy = p["devices_in_use"][0]
        self.assertEqual({k: busy[k] for k in ("device_id", "device_name", "title_id",
                                              "started_at", "expires_at")},
                         {"device_id": "parent-tv", "device_name": "Bedroom TV", "title_id": None,
                          "started_at": lease["started_at"], "expires_at": lease["expires_at"]})
        self.assertNotIn("profile_id", busy)
        self.assertNotIn("vl-adult", json.dumps(p))
        self.assertNotIn(self.parent_id, json.dumps(p))
        # The entitlement names the busy device, not the title or the profile.
        q = urllib.parse.urlencode({"title_id": "vl-family", "device_id": "kid-tab"})
        r = D.request("GET", "/v1/billing/entitlement?" + q, token=self.kid)
        self.assertEqual((r.status, r.json["reason"]), (200, "screens"), r.body)
        self.assertIn("Bedroom TV", r.json["message"])
        self.assertNotIn("vl-adult", r.body.decode())
        self.assertNotIn(self.parent_id, r.body.decode())
        # An adult profile and the account see the title.
        for tok in (self.parent, self.acct):
            body = {"title_id": "vl-family", "device_id": "other-tv"}
            if tok is self.acct:
                body["profile_id"] = self.parent_id
            r = D.request("POST", "/v1/billing/leases", json_body=body, token=tok)
            self.assertEqual(self.problem(r, 409)["devices_in_use"][0]["title_id"], "vl-adult")
        # The kids token sees the title of its own profile's screen.
        r = D.request("DELETE", "/v1/billing/leases/" + lease["id"], token=self.acct)
        self.assertEqual(r.status, 204, r.body)
        own = self.take(self.kid, "vl-family", "kid-tab")
        p = self.take(self.kid, "vl-family", "kid-phone", status=409)
        self.assertEqual([(d["device_id"], d["title_id"]) for d in p["devices_in_use"]],
                         [("kid-tab", "vl-family")])
        r = D.request("DELETE", "/v1/billing/leases/" + own["id"], token=self.kid)
        self.assertEqual(r.status, 204, r.body)


def get(d, path, tok, country=None, twice=False):
    """GET with the region header: none, once, or twice (as a forged copy beside the edge's)."""
    c = http.client.HTTPConnection(HOST, d.port, timeout=30)
    try:
        c.putrequest("GET", path)
        c.putheader("Authorization", "Bearer " + tok)
        for _ in range(2 if twice else (0 if country is None else 1)):
            c.putheader(REGION_HEADER, country)
        c.endheaders()
        r = c.getresponse()
        body = r.read()
        return r.status, (json.loads(body) if body else None)
    finally:
        c.close()


class T3Region(ApiTestCase):
    """The viewer's region from the header the edge sets."""

    @classmethod
    def setUpClass(cls):
        cls.acct = register_login(R, unique_email("vlreg"))["access_token"]
        cls.pid, cls.tok = profile(R, cls.acct, "Main")

    def seen(self, d, tok, **kw):
        """Where vl-fr shows for this request: detail, browse, search, genres."""
        where = set()
        st, body = get(d, "/v1/titles/vl-fr", tok, **kw)
        self.assertIn(st, (200, 404), body)
        if st == 200:
            where.add("detail")
        else:
            self.assertEqual(body["detail"], "no title with id vl-fr")
        st, body = get(d, "/v1/browse?genre=Regionalia", tok, **kw)
        if [t["id"] for t in body["items"]] == ["vl-fr"]:
            where.add("browse")
        st, body = get(d, "/v1/search?q=zanzibarre", tok, **kw)
        if "vl-fr" in [t["id"] for t in body["items"]]:
            where.add("search")
        st, body = get(d, "/v1/genres", tok, **kw)
        if "Regionalia" in body["genres"]:
            where.add("genres")
        # Titles without regions show everywhere.
        self.assertEqual(get(d, "/v1/titles/vl-family", tok, **kw)[0], 200)
        return where

    ALL = {"detail", "browse", "search", "genres"}

    def test_1_visible_in_its_region(self):
        for tok in (self.tok, self.acct):
            self.assertEqual(self.seen(R, tok, country="FR"), self.ALL)
            self.assertEqual(self.seen(R, tok, country="fr"), self.ALL)

    def test_2_hidden_elsewhere_and_when_unknown(self):
        for tok in (self.tok, self.acct):
            for kw in ({"country": "DE"}, {}, {"country": "F1"}, {"country": "FRA"},
                       {"country": ""}, {"country": "FR", "twice": True}):
                self.assertEqual(self.seen(R, tok, **kw), set(), kw)

    def call(self, method, path, country, body=None):
        h = {REGION_HEADER: country} if country else {}
        return R.request(method, path, token=self.tok, json_body=body, headers=h)

    def test_3_profile_routes(self):
        # My List and resume positions: only where the title shows.
        self.problem(self.call("PUT", "/v1/my-list/vl-fr", "DE"), 404)
        self.assertEqual(self.call("PUT", "/v1/my-list/vl-fr", "FR").status, 204)
        ids = lambda r: [i["title"]["id"] for i in r.json["items"]]
        self.assertEqual(ids(self.call("GET", "/v1/my-list", "FR")), ["vl-fr"])
        self.assertEqual(ids(self.call("GET", "/v1/my-list", "DE")), [])
        body = {"title_id": "vl-fr", "position_s": 5, "duration_s": 100}
        self.problem(self.call("PUT", "/v1/progress", None, body), 404)
        self.assertEqual(self.call("PUT", "/v1/progress", "FR", body).status, 204)
        self.assertEqual(ids(self.call("GET", "/v1/continue-watching", "FR")), ["vl-fr"])
        self.assertEqual(ids(self.call("GET", "/v1/continue-watching", "DE")), [])
        # Playback checks the title first: hidden = missing; in FR it goes on to the media.
        body = {"title_id": "vl-fr", "device_id": "tv"}
        p = self.problem(self.call("POST", "/v1/playback", "DE", body), 404)
        self.assertEqual(p["detail"], "no title with id vl-fr")
        p = self.problem(self.call("POST", "/v1/playback", "FR", body), 404)
        self.assertIn("no playable media", p["detail"])

    def test_4_no_filter_without_the_option(self):
        acct = register_login(D, unique_email("vlnoreg"))["access_token"]
        _, tok = profile(D, acct, "Main")
        for kw in ({"country": "FR"}, {"country": "DE"}, {}, {"country": "F1"}):
            self.assertEqual(self.seen(D, tok, **kw), self.ALL, kw)

    def test_5_bad_option_refused(self):
        p = subprocess.run([STREAMD, "--region-header", "X Country", "--data-dir", R.tmp + "/x",
                            "--port", "0"], env=streamd_env(), capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"region_header", p.stderr)


def main():
    global STREAMD, D, R
    if len(sys.argv) < 2:
        print("usage: test_viewer_limits.py STREAMD", file=sys.stderr)
        return 2
    STREAMD = sys.argv.pop(1)
    ok, rcs = False, []
    D = Streamd(STREAMD, ["--login-address-burst", "0"], prefix="streamd-vl-", log_level="warn",
                catalog=CATALOG, demo_timeout=10)
    try:
        R = Streamd(STREAMD, ["--login-address-burst", "0", "--region-header", REGION_HEADER],
                    prefix="streamd-vlr-", log_level="warn", catalog=CATALOG, demo_timeout=10)
        try:
            prog = unittest.main(exit=False, verbosity=2)
            ok = prog.result.wasSuccessful()
        finally:
            rcs = [d.stop() for d in (D, R)]
            if not ok:
                for d in (D, R):
                    print("streamd stderr:\n" + d.stderr_text(4000), file=sys.stderr)
            R.cleanup()
    finally:
        D.stop()
        D.cleanup()
    if any(rcs):
        print("streamd exited with %s" % rcs, file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
