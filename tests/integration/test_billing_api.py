#!/usr/bin/python3
"""End-to-end tests of streamd's billing routes against the real daemon.

streamd runs on an ephemeral loopback port with a temporary data directory
and a small test catalog (--seed-demo); requests go through http.client.
The scenario: plans (seeded), operator plans without trial, payment methods
with the local provider's test tokens, subscribe (201), idempotent replay
(same key + body = same answer; same key + other body = 409), a declined card
(402 problem+json, no subscription), malformed bodies and keys (4xx problems,
the server keeps serving), entitlement, screen leases on a 2-screen plan (the
third device gets 409 listing the devices in use), upgrade with a prorated
invoice, cancel/resume, invoices (only the caller's own), operator listing,
renewal run, refund (idempotent) and the books check after every step that
moves money.

Renewals over simulated time are the library's unit tests (streamd has no
test clock): here only the run report is checked.

With a streamctl path, `streamctl billing` is checked on the daemon's store
while it runs (plans, subscriptions, books; refund usage errors).

Usage: /usr/bin/python3 test_billing_api.py /path/to/streamd [/path/to/streamctl]
Standard library only.
"""
import json
import os
import subprocess
import sys
import unittest
import urllib.parse

from streamd_harness import ApiTestCase, Streamd, profile_token, register_login, unique_email

STREAMD = None
STREAMCTL = None
OP_TOKEN = "op-token-billing-test-" + "7e2a91c4d0"
OK_CARD = "tok_4242424242424242"
DECLINE_CARD = "tok_4000000000000002"


def test_catalog():
    titles = [{"id": "bill-movie-%d" % i, "kind": "movie", "name": "Billing Movie %d" % i,
               "synopsis": "A movie for the billing tests.", "year": 2010 + i,
               "runtime_minutes": 95, "maturity_rating": 0, "genres": ["Drama"]}
              for i in range(3)]
    return {"titles": titles}


D = None
S = {}  # state shared by the ordered test classes


def call(method, path, json_body=None, token=None, key=None, body=None, ctype=None):
    return D.request(method, path, json_body=json_body, token=token, key=key, body=body,
                     ctype=ctype)


def viewer(tag):
    """Register, sign in, create a profile and switch to it: a profile token."""
    email = unique_email(tag, "billing.test")
    token = register_login(D, email, "correct horse 42")["access_token"]
    pid, switched = profile_token(D, token, "Main")
    return {"token": switched["access_token"], "account_id": switched.get("account_id"),
            "profile_id": pid}


class Base(ApiTestCase):
    def books_ok(self):
        r = call("GET", "/v1/admin/billing/books", token=OP_TOKEN)
        self.assertEqual(r.status, 200, r.body)
        self.assertIs(r.json["ok"], True)
        return r.json["invoices_checked"]

    def serving(self):
        self.assertEqual(call("GET", "/healthz").status, 200)


class T01Plans(Base):
    def test_seeded_plans_are_public(self):
        r = call("GET", "/v1/billing/plans")
        self.assertEqual(r.status, 200, r.body)
        plans = {p["id"]: p for p in r.json["plans"]}
        for pid, screens, height, amount in (("basic", 1, 720, 799), ("standard", 2, 1080, 1549),
                                             ("premium", 4, 2160, 2299)):
            self.assertIn(pid, plans)
            p = plans[pid]
            self.assertEqual((p["screens"], p["max_height"], p["amount"], p["currency"]),
                             (screens, height, amount, "USD"))
            self.assertIsInstance(p["amount"], int)
            self.assertIs(p["active"], True)

    def test_operator_plans(self):
        for pid, name, amount, screens, height in (("t-solo", "Solo", 500, 1, 720),
                                                   ("t-duo", "Duo", 1000, 2, 1080),
                                                   ("t-quad", "Quad", 2000, 4, 2160)):
            body = {"name": name, "amount": amount, "currency": "USD", "period_months": 1,
                    "trial_days": 0, "screens": screens, "max_height": height}
            r = call("PUT", "/v1/admin/billing/plans/" + pid, body, token=OP_TOKEN)
            self.assertIn(r.status, (200, 201), r.body)
            self.assertEqual(r.json["id"], pid)
            r = call("PUT", "/v1/admin/billing/plans/" + pid, body, token=OP_TOKEN)
            self.assertEqual(r.status, 200, r.body)
        body = {"name": "Hidden", "amount": 1, "currency": "USD", "screens": 1,
                "max_height": 720, "active": False}
        r = call("PUT", "/v1/admin/billing/plans/t-hidden", body, token=OP_TOKEN)
        self.assertEqual(r.status, 201, r.body)
        self.assertIs(r.json["active"], False)
        public = {p["id"] for p in call("GET", "/v1/billing/plans").json["plans"]}
        self.assertTrue({"t-solo", "t-duo", "t-quad"} <= public)
        self.assertNotIn("t-hidden", public)
        admin = call("GET", "/v1/admin/billing/plans", token=OP_TOKEN)
        self.assertEqual(admin.status, 200)
        self.assertIn("t-hidden", {p["id"] for p in admin.json["plans"]})

    def test_bad_plans_change_nothing(self):
        good = {"name": "Bad", "amount": 100, "currency": "USD", "screens": 1, "max_height": 720}
        for change in ({"amount": -1}, {"amount": 1.5}, {"screens": 0}, {"screens": 99},
                       {"max_height": 100}, {"currency": "dollars"}, {"bogus": 1},
                       {"name": 7}):
            body = dict(good, **change)
            r = call("PUT", "/v1/admin/billing/plans/t-bad", body, token=OP_TOKEN)
            self.problem(r, 400)
        r = call("PUT", "/v1/admin/billing/plans/Not%20A%20Slug", good, token=OP_TOKEN)
        self.problem(r, 400)
        r = call("PUT", "/v1/admin/billing/plans/" + "p" * 65, good, token=OP_TOKEN)
        self.problem(r, 400)
        admin = call("GET", "/v1/admin/billing/plans", token=OP_TOKEN).json["plans"]
        self.assertNotIn("t-bad", {p["id"] for p in admin})
        self.assertFalse([p for p in admin if p["id"].startswith("ppp")])
        v = viewer("plan")
        r = call("PUT", "/v1/admin/billing/plans/t-bad", good, token=v["token"])
        self.problem(r, 403)
        self.problem(call("PUT", "/v1/admin/billing/plans/t-bad", good), 401)


class T02Subscribe(Base):
    @classmethod
    def setUpClass(cls):
        S["a"] = viewer("alice")
        S["b"] = viewer("bob")

    def test_1_not_subscribed_yet(self):
        a = S["a"]
        self.problem(call("GET", "/v1/billing/subscription", token=a["token"]), 404)
        self.problem(call("GET", "/v1/billing/subscription"), 401)
        r = call("GET", "/v1/billing/invoices", token=a["token"])
        self.assertEqual((r.status, r.json), (200, {"invoices": []}))

    def test_2_payment_methods(self):
        a = S["a"]
        # The Idempotency-Key header is required.
        p = self.problem(call("POST", "/v1/billing/payment-methods", {"token": OK_CARD},
                              token=a["token"]), 400)
        self.assertIn("Idempotency-Key", p["detail"])
        r = call("POST", "/v1/billing/payment-methods", {"token": OK_CARD}, token=a["token"],
                 key="card-a-1")
        self.assertEqual(r.status, 201, r.body)
        card = r.json
        self.assertEqual((card["brand"], card["last4"], card["is_default"]), ("visa", "4242", True))
        self.assertNotIn(b"4242424242424242", r.body)
        S["a_card"] = card["id"]
        again = call("POST", "/v1/billing/payment-methods", {"token": OK_CARD}, token=a["token"],
                     key="card-a-1")
        self.assertEqual((again.status, again.json), (201, card))
        r = call("GET", "/v1/billing/payment-methods", token=a["token"])
        self.assertEqual(r.status, 200)
        self.assertEqual([c["id"] for c in r.json["payment_methods"]], [card["id"]])
        self.problem(call("POST", "/v1/billing/payment-methods", {"token": "tok_1234"},
                          token=a["token"], key="card-a-bad"), 400)

    def test_3_subscribe_and_replay(self):
        a = S["a"]
        n0 = self.books_ok()
        body = {"plan_id": "t-duo"}
        r = call("POST", "/v1/billing/subscription", body, token=a["token"], key="sub-a-1")
        self.assertEqual(r.status, 201, r.body)
        sub = r.json["subscription"]
        self.assertEqual((sub["plan_id"], sub["status"]), ("t-duo", "active"))
        self.assertIsInstance(sub["period_end"], int)
        self.assertGreater(sub["period_end"], sub["period_start"])
        self.assertTrue(r.json["invoice_id"])
        S["a_invoice"] = r.json["invoice_id"]
        # Same key, same body: the same answer, nothing done again.
        again = call("POST", "/v1/billing/subscription", body, token=a["token"], key="sub-a-1")
        self.assertEqual(again.status, 201, again.body)
        self.assertEqual(again.json, r.json)
        # Same key, another body: 409.
        self.problem(call("POST", "/v1/billing/subscription", {"plan_id": "t-quad"},
                          token=a["token"], key="sub-a-1"), 409)
        # A second live subscription: 409.
        self.problem(call("POST", "/v1/billing/subscription", body, token=a["token"],
                          key="sub-a-2"), 409)
        r = call("GET", "/v1/billing/invoices", token=a["token"])
        self.assertEqual(len(r.json["invoices"]), 1)
        inv = r.json["invoices"][0]
        self.assertEqual((inv["status"], inv["total"], inv["amount_paid"], inv["amount_due"]),
                         ("paid", 1000, 1000, 0))
        self.assertEqual(self.books_ok(), n0 + 1)
        got = call("GET", "/v1/billing/subscription", token=a["token"])
        self.assertEqual((got.status, got.json["subscription"]["id"]), (200, sub["id"]))

    def test_4_declined_card(self):
        b = S["b"]
        r = call("POST", "/v1/billing/payment-methods", {"token": DECLINE_CARD}, token=b["token"],
                 key="card-b-1")
        self.assertEqual(r.status, 201, r.body)
        r = call("POST", "/v1/billing/subscription", {"plan_id": "t-solo"}, token=b["token"],
                 key="sub-b-1")
        p = self.problem(r, 402, "payment-failed")
        self.assertIn("declined", p["detail"])
        self.assertNotIn("4000000000000002", p["detail"])
        self.problem(call("GET", "/v1/billing/subscription", token=b["token"]), 404)
        invs = call("GET", "/v1/billing/invoices", token=b["token"]).json["invoices"]
        self.assertEqual([i["status"] for i in invs], ["void"])
        S["b_invoice"] = invs[0]["id"]
        self.books_ok()

    def test_5_malformed_requests(self):
        a = S["a"]
        for key in ("has space", "x" * 256, "tab\tkey", "é"):
            try:
                r = call("POST", "/v1/billing/subscription/cancel", {}, token=a["token"], key=key)
            except (UnicodeEncodeError, ValueError):
                continue  # http.client refuses to send it at all
            self.problem(r, 400)
        bad_bodies = [(b"{", "application/json"), (b"[]", "application/json"),
                      (b'{"plan_id": 5}', "application/json"),
                      (b'{"plan_id": "t-duo", "extra": 1}', "application/json"),
                      (b'{"plan_id": ""}', "application/json"),
                      (b"plan_id=t-duo", "application/x-www-form-urlencoded"),
                      (b"", "application/json")]
        for body, ctype in bad_bodies:
            r = call("POST", "/v1/billing/subscription/change", body=body, ctype=ctype,
                     token=a["token"], key="bad-%d" % hash(body))
            self.assertGreaterEqual(r.status, 400, body)
            self.assertLess(r.status, 500, body)
            self.assertEqual(r.ctype, "application/problem+json")
        self.problem(call("POST", "/v1/billing/subscription/change", {"plan_id": "no-such-plan"},
                          token=a["token"], key="chg-unknown"), 404)
        self.problem(call("POST", "/v1/admin/billing/invoices/%s/refund" % S["a_invoice"],
                          {"amount": -5}, token=OP_TOKEN, key="refund-neg"), 400)
        self.problem(call("GET", "/v1/billing/entitlement?title_id=bill-movie-0",
                          token=a["token"]), 400)
        # Nothing changed, and the server keeps serving.
        sub = call("GET", "/v1/billing/subscription", token=a["token"]).json["subscription"]
        self.assertEqual((sub["plan_id"], sub["pending_plan_id"], sub["cancel_at_period_end"]),
                         ("t-duo", None, False))
        self.serving()
        self.books_ok()


class T03Screens(Base):
    def test_1_entitlement(self):
        a = S["a"]
        q = urllib.parse.urlencode({"title_id": "bill-movie-0", "device_id": "tv-1"})
        r = call("GET", "/v1/billing/entitlement?" + q, token=a["token"])
        self.assertEqual(r.status, 200, r.body)
        e = r.json
        self.assertEqual((e["allowed"], e["reason"], e["plan_id"], e["max_height"], e["screens"]),
                         (True, "ok", "t-duo", 1080, 2))
        b = S["b"]
        r = call("GET", "/v1/billing/entitlement?" + q, token=b["token"])
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual((r.json["allowed"], r.json["reason"]), (False, "no_subscription"))
        # A profile token cannot ask for another profile (b's profile here).
        q3 = urllib.parse.urlencode({"title_id": "bill-movie-0", "device_id": "tv-1",
                                     "profile_id": b["profile_id"]})
        self.problem(call("GET", "/v1/billing/entitlement?" + q3, token=a["token"]), 403)
        q2 = urllib.parse.urlencode({"title_id": "no-such-title", "device_id": "tv-1"})
        r = call("GET", "/v1/billing/entitlement?" + q2, token=a["token"])
        self.assertEqual((r.status, r.json["allowed"]), (200, False))

    def test_2_leases(self):
        a = S["a"]
        leases = {}
        for dev, name in (("tv-1", "Living room TV"), ("phone-1", "Alice's phone")):
            r = call("POST", "/v1/billing/leases",
                     {"title_id": "bill-movie-0", "device_id": dev, "device_name": name},
                     token=a["token"])
            self.assertEqual(r.status, 201, r.body)
            self.assertEqual(r.json["device_id"], dev)
            self.assertGreater(r.json["expires_at"], r.json["started_at"] - 1)
            leases[dev] = r.json["id"]
        r = call("POST", "/v1/billing/leases", {"title_id": "bill-movie-1", "device_id": "tab-1"},
                 token=a["token"])
        p = self.problem(r, 409)
        self.assertEqual(sorted(d["device_id"] for d in p["devices_in_use"]), ["phone-1", "tv-1"])
        self.assertIn("Living room TV", [d["device_name"] for d in p["devices_in_use"]])
        # The device that holds a lease gets it back.
        r = call("POST", "/v1/billing/leases", {"title_id": "bill-movie-2", "device_id": "tv-1"},
                 token=a["token"])
        self.assertIn(r.status, (200, 201), r.body)
        self.assertEqual(r.json["id"], leases["tv-1"])
        r = call("POST", "/v1/billing/leases/%s/heartbeat" % leases["tv-1"], token=a["token"])
        self.assertEqual(r.status, 200, r.body)
        r = call("GET", "/v1/billing/leases", token=a["token"])
        self.assertEqual(sorted(l["device_id"] for l in r.json["leases"]), ["phone-1", "tv-1"])
        # Another account cannot touch them.
        self.problem(call("DELETE", "/v1/billing/leases/" + leases["phone-1"],
                          token=S["b"]["token"]), 404)
        self.assertEqual(call("DELETE", "/v1/billing/leases/" + leases["phone-1"],
                              token=a["token"]).status, 204)
        r = call("POST", "/v1/billing/leases", {"title_id": "bill-movie-1", "device_id": "tab-1"},
                 token=a["token"])
        self.assertEqual(r.status, 201, r.body)
        self.problem(call("POST", "/v1/billing/leases", {"title_id": "bill-movie-1"},
                          token=a["token"]), 400)
        self.problem(call("POST", "/v1/billing/leases",
                          {"title_id": "bill-movie-1", "device_id": "tab-2",
                           "profile_id": S["b"]["profile_id"]}, token=a["token"]), 403)
        # Without a subscription: forbidden.
        r = call("POST", "/v1/billing/leases", {"title_id": "bill-movie-1", "device_id": "x"},
                 token=S["b"]["token"])
        self.problem(r, 403)


class T04Lifecycle(Base):
    def test_1_upgrade(self):
        a = S["a"]
        r = call("POST", "/v1/billing/subscription/change", {"plan_id": "t-quad"},
                 token=a["token"], key="chg-a-1")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json["subscription"]["plan_id"], "t-quad")
        inv_id = r.json["invoice_id"]
        self.assertTrue(inv_id)
        inv = call("GET", "/v1/billing/invoices/" + inv_id, token=a["token"])
        self.assertEqual(inv.status, 200, inv.body)
        inv = inv.json
        # Prorated: at most the price difference for a whole period, paid at once.
        self.assertTrue(0 < inv["total"] <= 1000, inv)
        self.assertEqual((inv["status"], inv["amount_due"]), ("paid", 0))
        self.assertEqual(sum(l["amount"] for l in inv["lines"]), inv["total"])
        self.books_ok()
        q = urllib.parse.urlencode({"title_id": "bill-movie-0", "device_id": "tv-9"})
        e = call("GET", "/v1/billing/entitlement?" + q, token=a["token"]).json
        self.assertEqual((e["max_height"], e["screens"]), (2160, 4))

    def test_2_cancel_resume(self):
        a = S["a"]
        r = call("POST", "/v1/billing/subscription/cancel", token=a["token"], key="cancel-a-1")
        self.assertEqual(r.status, 200, r.body)
        self.assertIs(r.json["subscription"]["cancel_at_period_end"], True)
        self.assertEqual(r.json["subscription"]["status"], "active")
        r = call("POST", "/v1/billing/subscription/resume", {}, token=a["token"],
                 key="resume-a-1")
        self.assertEqual(r.status, 200, r.body)
        self.assertIs(r.json["subscription"]["cancel_at_period_end"], False)
        self.problem(call("POST", "/v1/billing/subscription/resume", {}, token=a["token"],
                          key="resume-a-2"), 409)
        self.problem(call("POST", "/v1/billing/subscription/cancel", {}, token=S["b"]["token"],
                          key="cancel-b-1"), 404)

    def test_3_invoices_are_private(self):
        a, b = S["a"], S["b"]
        r = call("GET", "/v1/billing/invoices/" + S["a_invoice"], token=a["token"])
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json["account_id"], call("GET", "/v1/billing/subscription",
                                                    token=a["token"]).json["subscription"]
                         ["account_id"])
        self.assertTrue(r.json["lines"])
        self.problem(call("GET", "/v1/billing/invoices/" + S["b_invoice"], token=a["token"]), 404)
        self.problem(call("GET", "/v1/billing/invoices/" + S["a_invoice"], token=b["token"]), 404)
        self.problem(call("GET", "/v1/billing/invoices/nope", token=a["token"]), 404)
        invs = call("GET", "/v1/billing/invoices", token=a["token"]).json["invoices"]
        self.assertEqual(len(invs), 2)


class T04bKidsProfile(Base):
    def test_limited_profile_cannot_buy_or_cancel(self):
        """A kids profile's token (or one with a ceiling below 18) cannot subscribe, change
        plan, cancel, resume or manage payment methods (403): a child would otherwise buy an
        upgrade on the account's card. Reading and playing (entitlement) stay allowed."""
        email = unique_email("kidsbill", "billing.test")
        acct = register_login(D, email, "correct horse 42")["access_token"]
        r = call("POST", "/v1/profiles", {"name": "Kid", "kids": True}, token=acct)
        self.assertEqual(r.status, 201, r.body)
        r = call("POST", "/v1/profiles/%s/switch" % r.json["id"], {}, token=acct)
        self.assertEqual(r.status, 200, r.body)
        kid = r.json["access_token"]
        r = call("POST", "/v1/billing/payment-methods", {"token": OK_CARD}, token=acct,
                 key="kb-card")
        self.assertEqual(r.status, 201, r.body)
        card = r.json["id"]
        r = call("POST", "/v1/billing/subscription", {"plan_id": "standard"}, token=acct,
                 key="kb-sub")
        self.assertEqual(r.status, 201, r.body)
        invoices = len(call("GET", "/v1/billing/invoices", token=acct).json["invoices"])
        for method, path, body in (("POST", "/v1/billing/subscription/change",
                                    {"plan_id": "premium"}),
                                   ("POST", "/v1/billing/subscription/cancel", {}),
                                   ("POST", "/v1/billing/subscription/resume", {}),
                                   ("POST", "/v1/billing/subscription", {"plan_id": "premium"}),
                                   ("POST", "/v1/billing/payment-methods", {"token": OK_CARD}),
                                   ("DELETE", "/v1/billing/payment-methods/" + card, None),
                                   ("POST", "/v1/billing/payment-methods/%s/default" % card,
                                    None)):
            self.problem(call(method, path, body, token=kid, key="kb-kid-" + path[-8:]), 403)
        sub = call("GET", "/v1/billing/subscription", token=kid).json["subscription"]
        self.assertEqual((sub["plan_id"], sub["cancel_at_period_end"]), ("standard", False))
        self.assertEqual(len(call("GET", "/v1/billing/invoices", token=acct).json["invoices"]),
                         invoices)
        r = call("GET", "/v1/billing/payment-methods", token=acct)
        self.assertEqual([c["id"] for c in r.json["payment_methods"]], [card])
        # The account's token still manages the subscription.
        r = call("POST", "/v1/billing/subscription/cancel", {}, token=acct, key="kb-cancel")
        self.assertEqual(r.status, 200, r.body)
        self.books_ok()


class T05Operator(Base):
    def test_1_subscriptions(self):
        r = call("GET", "/v1/admin/billing/subscriptions?status=active", token=OP_TOKEN)
        self.assertEqual(r.status, 200, r.body)
        subs = r.json["subscriptions"]
        self.assertTrue(subs and all(s["status"] == "active" for s in subs))
        r1 = call("GET", "/v1/admin/billing/subscriptions?limit=1", token=OP_TOKEN).json
        self.assertEqual(len(r1["subscriptions"]), 1)
        self.problem(call("GET", "/v1/admin/billing/subscriptions?status=bogus",
                          token=OP_TOKEN), 400)
        self.problem(call("GET", "/v1/admin/billing/subscriptions?limit=0", token=OP_TOKEN), 400)
        self.problem(call("GET", "/v1/admin/billing/subscriptions", token=S["a"]["token"]), 403)

    def test_2_renewals_run(self):
        r = call("POST", "/v1/admin/billing/renewals/run", token=OP_TOKEN)
        self.assertEqual(r.status, 200, r.body)
        for k in ("renewed", "trials_converted", "failed", "retried", "expired", "canceled",
                  "downgraded", "settled"):
            self.assertIsInstance(r.json[k], int)
        self.assertEqual(r.json["renewed"], 0)  # nothing is due yet
        self.books_ok()

    def test_3_refund(self):
        inv = S["a_invoice"]
        path = "/v1/admin/billing/invoices/%s/refund" % inv
        self.problem(call("POST", path, {"amount": 100}, token=OP_TOKEN), 400)  # no key
        r = call("POST", path, {"amount": 100}, token=OP_TOKEN, key="refund-1")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json["amount_refunded"], 100)
        again = call("POST", path, {"amount": 100}, token=OP_TOKEN, key="refund-1")
        self.assertEqual((again.status, again.json["amount_refunded"]), (200, 100))
        self.problem(call("POST", path, {"amount": 200}, token=OP_TOKEN, key="refund-1"), 409)
        self.problem(call("POST", path, {"amount": 10 ** 6}, token=OP_TOKEN, key="refund-2"), 400)
        self.problem(call("POST", "/v1/admin/billing/invoices/nope/refund", {},
                          token=OP_TOKEN, key="refund-3"), 404)
        inv_now = call("GET", "/v1/billing/invoices/" + inv, token=S["a"]["token"]).json
        self.assertEqual(inv_now["amount_refunded"], 100)
        self.books_ok()

    def test_4_payment_method_management(self):
        a = S["a"]
        r = call("POST", "/v1/billing/payment-methods", {"token": "tok_5555555555554444"},
                 token=a["token"], key="card-a-2")
        self.assertEqual(r.status, 201, r.body)
        mc = r.json
        self.assertEqual((mc["brand"], mc["last4"], mc["is_default"]), ("mastercard", "4444", False))
        self.assertEqual(call("POST", "/v1/billing/payment-methods/%s/default" % mc["id"],
                              token=a["token"]).status, 204)
        cards = call("GET", "/v1/billing/payment-methods", token=a["token"]).json
        self.assertEqual(cards["payment_methods"][0]["id"], mc["id"])
        self.assertEqual(call("DELETE", "/v1/billing/payment-methods/" + S["a_card"],
                              token=a["token"]).status, 204)
        self.problem(call("DELETE", "/v1/billing/payment-methods/" + mc["id"],
                          token=S["b"]["token"]), 404)
        self.serving()
        self.books_ok()


class T06Streamctl(Base):
    def ctl(self, *args):
        p = subprocess.run([STREAMCTL, "billing"] + list(args), capture_output=True, timeout=60)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def test_streamctl_billing(self):
        if not STREAMCTL:
            self.skipTest("no streamctl path given")
        db = os.path.join(D.data_dir, "streamd.db")
        rc, out, err = self.ctl("plans", "--db", db, "--json")
        self.assertEqual(rc, 0, err)
        plans = {p["id"]: p for p in json.loads(out)}
        self.assertEqual((plans["t-hidden"]["active"], plans["standard"]["amount"]), (False, 1549))
        rc, out, err = self.ctl("subscriptions", "--data-dir", D.data_dir, "--status", "active",
                                "--json")
        self.assertEqual(rc, 0, err)
        subs = json.loads(out)
        self.assertTrue(subs and all(s["status"] == "active" for s in subs))
        rc, out, err = self.ctl("subscriptions", "--db", db)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(out.splitlines()), len(call(
            "GET", "/v1/admin/billing/subscriptions?limit=100", token=OP_TOKEN).json
            ["subscriptions"]))
        rc, out, err = self.ctl("books", "--db", db)
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"^books balance: \d+ invoices checked")
        self.assertEqual(self.ctl("refund", S["a_invoice"], "--db", db)[0], 2)  # no --key
        self.assertEqual(self.ctl("refund", S["a_invoice"], "-5", "--key", "k", "--db", db)[0], 2)
        self.assertEqual(self.ctl("subscriptions", "--status", "bogus", "--db", db)[0], 2)
        self.assertEqual(self.ctl("plans")[0], 2)  # no store named
        self.assertEqual(self.ctl("plans", "--db", os.path.join(D.tmp, "none.db"))[0], 1)
        self.serving()


def main():
    global STREAMD, STREAMCTL, D
    if len(sys.argv) < 2:
        print("usage: test_billing_api.py STREAMD [STREAMCTL]", file=sys.stderr)
        return 2
    STREAMD = sys.argv.pop(1)
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        STREAMCTL = sys.argv.pop(1)
    D = Streamd(STREAMD, ["--login-address-burst", "0"], prefix="streamd-billing-",
                log_level="warn", catalog=test_catalog(), operator_token=OP_TOKEN, demo_timeout=10)
    ok = False
    try:
        prog = unittest.main(exit=False, verbosity=2)
        ok = prog.result.wasSuccessful()
    finally:
        rc = D.stop()
        if not ok:
            print("streamd stderr:\n" + D.stderr_text(4000), file=sys.stderr)
        D.cleanup()
    if rc != 0:
        print("streamd exited with %d" % rc, file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
