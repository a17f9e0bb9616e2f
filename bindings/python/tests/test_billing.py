"""libstream.billing over a real SQLite store in a temporary directory, the
built-in local payment provider and an injected clock: plans, payment methods,
subscribe (trial and paid), a declined card (PaymentError, nothing charged),
idempotent replays and key conflicts, upgrade with a prorated invoice,
downgrade at period end, cancel / resume, renewals over simulated months,
refunds, entitlements and screen leases (Busy listing the devices in use,
lapse after the TTL). The books balance after every scenario."""
import dataclasses

import pytest

import libstream
from libstream import Key, KeyRing

from conftest import assert_status

billing_mod = pytest.importorskip("libstream.billing")
if not billing_mod.AVAILABLE:  # pragma: no cover - client-only builds
    pytest.skip("libstream built without the server feature", allow_module_level=True)

from libstream.auth import Auth  # noqa: E402
from libstream.billing import (Billing, Entitlement, InvoiceStatus, LocalProvider, Plan,  # noqa: E402
                               Reason, Status)
from libstream.catalog import Catalog  # noqa: E402
from libstream.store import Store  # noqa: E402

NOW = 1767225600  # 2026-01-01T00:00:00Z
DAY = 86400
FAST = {"m_cost": 64, "t_cost": 1}
OK_CARD = "tok_4242424242424242"
DECLINE_CARD = "tok_4000000000000002"
HAS_LEASES = hasattr(libstream.lib, "stream_billing_lease_acquire")


class Clock:
    def __init__(self):
        self.t = NOW

    def __call__(self):
        return self.t


@pytest.fixture
def env(tmp_path):
    clock = Clock()
    with Store(str(tmp_path / "billing.db")) as st, \
            KeyRing([Key.generate("hmac", "at-1")]) as ring, LocalProvider() as prov:
        auth = Auth(st, ring, password_params=FAST, clock=clock)
        b = Billing(st, prov, clock=clock, lease_ttl=90)
        e = {"b": b, "auth": auth, "clock": clock, "prov": prov, "store": st}
        yield e
        # The books balance after every scenario.
        b.books_check()
        b.close()
        auth.close()


def account(env, tag="user"):
    acct = env["auth"].register("%s%d@billing.test" % (tag, id(object())), "correct horse 42")
    return acct.id


def no_trial_plans(b):
    b.plan_put(Plan("solo", "Solo", 500, "USD", 1, 0, 1, 720))
    b.plan_put(Plan("duo", "Duo", 1000, "USD", 1, 0, 2, 1080))
    b.plan_put({"id": "quad", "name": "Quad", "price": 2000, "screens": 4, "max_height": 2160})


def test_plans_seed_and_put(env):
    b = env["b"]
    assert b.seed_plans() == 3
    assert b.seed_plans() == 0
    plans = b.plans()
    assert [p.id for p in plans] == ["basic", "standard", "premium"]  # by price
    basic = b.plan("basic")
    assert (basic.price, basic.currency, basic.screens, basic.max_height, basic.trial_days) == \
        (799, "USD", 1, 720, 7)
    b.plan_put(dataclasses.replace(basic, active=False))
    assert "basic" not in [p.id for p in b.plans()]
    assert "basic" in [p.id for p in b.plans(include_inactive=True)]
    with pytest.raises(libstream.InvalidArgument):
        b.plan_put(Plan("bad plan", "Bad", 100))
    with pytest.raises(libstream.InvalidArgument):
        b.plan_put(Plan("neg", "Negative", -1))
    with pytest.raises(libstream.NotFound):
        b.plan("no-such-plan")
    with pytest.raises(TypeError):
        b.plan_put(["not", "a", "plan"])


def test_subscribe_decline_and_idempotency(env):
    b, prov = env["b"], env["prov"]
    no_trial_plans(b)
    a = account(env, "ada")
    card = b.card_add(a, OK_CARD, key="card-1")
    assert (card.brand, card.last4, card.is_default) == ("visa", "4242", True)
    assert b.card_add(a, OK_CARD, key="card-1") == card  # replay
    assert [c.id for c in b.cards(a)] == [card.id]
    with pytest.raises(libstream.InvalidArgument):
        b.card_add(a, "tok_1234", key="card-2")
    with pytest.raises(libstream.NotFound):
        b.subscription(a)

    sub, inv = b.subscribe(a, "duo", key="sub-1")
    assert (sub.status, sub.plan_id, sub.card_id) == (Status.ACTIVE, "duo", card.id)
    assert sub.status.label == "active"
    assert sub.period_start == NOW and sub.period_end > NOW
    assert inv
    assert b.subscribe(a, "duo", key="sub-1") == (sub, inv)  # same key, same answer
    with pytest.raises(libstream.Conflict) as ei:
        b.subscribe(a, "quad", key="sub-1")  # same key, other request
    assert_status(ei, libstream.Conflict, "STREAM_ECONFLICT")
    with pytest.raises(libstream.Conflict):
        b.subscribe(a, "duo", key="sub-2")  # one live subscription
    assert prov.totals() == (1, 1000, 0)  # charged once
    invoice = b.invoice(inv)
    assert (invoice.status, invoice.total, invoice.amount_paid, invoice.amount_due) == \
        (InvoiceStatus.PAID, 1000, 1000, 0)
    assert sum(line.amount for line in invoice.lines) == invoice.total

    d = account(env, "dan")
    b.card_add(d, DECLINE_CARD, key="card-d")
    with pytest.raises(libstream.PaymentError) as ei:
        b.subscribe(d, "solo", key="sub-d")
    assert_status(ei, libstream.PaymentError, "STREAM_EPAYMENT", "declined")
    assert "4000000000000002" not in ei.value.message
    with pytest.raises(libstream.NotFound):
        b.subscription(d)
    [void] = b.invoices(d)
    assert void.status == InvoiceStatus.VOID and void.lines == ()
    assert prov.totals()[0] == 1  # nothing more charged
    with pytest.raises(libstream.InvalidArgument):
        b.subscribe(d, "solo", key="bad key")
    with pytest.raises(libstream.NotFound):
        b.subscribe(d, "no-such-plan", key="sub-d2")


def test_trial_upgrade_downgrade_cancel_and_renewals(env):
    b, clock, prov = env["b"], env["clock"], env["prov"]
    b.seed_plans()
    no_trial_plans(b)
    a = account(env, "tia")
    b.card_add(a, OK_CARD)
    sub, inv = b.subscribe(a, "standard")
    assert (sub.status, inv, sub.trial_end) == (Status.TRIALING, "", NOW + 7 * DAY)
    assert prov.totals()[0] == 0
    clock.t = NOW + 7 * DAY
    report = b.run_renewals()
    assert report.trials_converted == 1
    sub = b.subscription(a)
    assert sub.status == Status.ACTIVE and prov.totals()[:2] == (1, 1549)

    # Upgrade half-way through the period: a prorated charge at once.
    clock.t = (sub.period_start + sub.period_end) // 2
    up, inv = b.change_plan(a, "premium", key="up-1")
    assert up.plan_id == "premium" and inv
    upinv = b.invoice(inv)
    assert 0 < upinv.total <= 2299 - 1549 and upinv.status == InvoiceStatus.PAID
    # Downgrade: scheduled for the period end.
    down, inv = b.change_plan(a, "basic", key="down-1")
    assert (down.plan_id, down.pending_plan_id, inv) == ("premium", "basic", "")
    cancel = b.cancel(a, key="cancel-1")
    assert cancel.cancel_at_period_end
    resumed = b.resume(a, key="resume-1")
    assert not resumed.cancel_at_period_end
    with pytest.raises(libstream.Conflict):
        b.resume(a, key="resume-2")

    clock.t = sub.period_end
    report = b.run_renewals()
    assert report.downgraded == 1 and report.renewed == 1
    assert b.subscription(a).plan_id == "basic"
    assert b.run_renewals().renewed == 0  # repeating is safe

    # Refunds: part, replay, too much.
    last = b.invoices(a)[0]
    part = b.refund(last.id, 100, key="refund-1")
    assert part.amount_refunded == 100
    assert b.refund(last.id, 100, key="refund-1").amount_refunded == 100
    with pytest.raises(libstream.InvalidArgument):
        b.refund(last.id, 10 ** 9, key="refund-2")
    assert prov.totals()[2] == 100

    b.cancel(a)
    clock.t = b.subscription(a).period_end
    assert b.run_renewals().canceled == 1
    assert b.subscription(a).status == Status.CANCELED
    assert [s.id for s in b.subscriptions(status=Status.CANCELED)] == [sub.id]
    assert b.subscriptions(status=Status.ACTIVE) == []


def test_dunning(env):
    b, clock = env["b"], env["clock"]
    no_trial_plans(b)
    a = account(env, "dun")
    b.card_add(a, "tok_4000000000000341")  # first charge succeeds, later ones declined
    sub, _ = b.subscribe(a, "solo")
    clock.t = sub.period_end
    assert b.run_renewals().failed == 1
    assert b.subscription(a).status == Status.PAST_DUE
    for _ in range(20):
        clock.t += DAY
        b.run_renewals()
    assert b.subscription(a).status == Status.EXPIRED
    assert b.invoices(a)[0].status == InvoiceStatus.UNCOLLECTIBLE


def test_names_and_closed_handles(env):
    from libstream.billing import invoice_status_name, reason_name, status_name

    assert status_name(Status.PAST_DUE) == "past_due"
    assert invoice_status_name(InvoiceStatus.UNCOLLECTIBLE) == "uncollectible"
    assert status_name(99) is None
    if hasattr(libstream.lib, "stream_billing_reason_name"):
        assert reason_name(Reason.SCREENS) == "screens"
        assert Reason.NO_SUBSCRIPTION.label == "no_subscription"
    with Store() as st, LocalProvider() as prov:
        b = Billing(st, prov)
        assert repr(b) == "<libstream.billing.Billing>"
    assert b.closed  # closing the store closed it
    with pytest.raises(libstream.InvalidArgument):
        b.plans()
    with pytest.raises(TypeError):
        Billing("not a store", prov)
    with pytest.raises(libstream.InvalidArgument):
        with Store() as st, LocalProvider() as prov:
            Billing(st, prov, lease_ttl=1)
    with pytest.raises(TypeError):
        with Store() as st, LocalProvider() as prov:
            Billing(st, prov, clock=5)


@pytest.mark.skipif(not HAS_LEASES, reason="entitlements and leases not in this libstream yet")
def test_entitlement_and_leases(env):
    b, clock, auth, st = env["b"], env["clock"], env["auth"], env["store"]
    no_trial_plans(b)
    with Catalog(st) as cat:
        cat.put({"id": "film-1", "kind": "movie", "name": "Film One", "year": 2020,
                       "runtime_minutes": 90, "maturity_rating": 0, "genres": ["Drama"]})
    a = account(env, "lea")
    profile = auth.create_profile(a, "Main")["id"]
    e = b.entitlement(a, profile, "film-1", "tv-1")
    assert isinstance(e, Entitlement)
    assert (e.allowed, e.reason) == (False, Reason.NO_SUBSCRIPTION)
    with pytest.raises(libstream.Forbidden):
        b.lease_acquire(a, profile, "film-1", "tv-1")

    b.card_add(a, OK_CARD)
    b.subscribe(a, "duo")
    e = b.entitlement(a, profile, "film-1", "tv-1")
    assert (e.allowed, e.reason, e.plan_id, e.max_height, e.screens) == \
        (True, Reason.OK, "duo", 1080, 2)
    assert b.entitlement(a, profile, "no-such-title", "tv-1").reason == Reason.UNKNOWN_TITLE
    tv = b.lease_acquire(a, profile, "film-1", "tv-1", "Living room TV")
    phone = b.lease_acquire(a, profile, "film-1", "phone-1")
    assert tv.expires_at == NOW + 90
    with pytest.raises(libstream.Busy) as ei:
        b.lease_acquire(a, profile, "film-1", "tablet-1")
    assert sorted(l.device_id for l in ei.value.devices_in_use) == ["phone-1", "tv-1"]
    assert "Living room TV" in ei.value.message
    assert b.lease_acquire(a, profile, "film-1", "tv-1").id == tv.id  # same device: same lease
    assert [l.id for l in b.leases(a)] == [tv.id, phone.id]

    clock.t += 60
    assert b.lease_heartbeat(a, tv.id).expires_at == clock.t + 90
    clock.t += 60  # the phone is now silent for 120 s > 90 s
    with pytest.raises(libstream.Expired):
        b.lease_heartbeat(a, phone.id)
    tablet = b.lease_acquire(a, profile, "film-1", "tablet-1")
    b.lease_release(a, tablet.id)
    assert [l.id for l in b.leases(a)] == [tv.id]
    with pytest.raises(libstream.NotFound):
        b.lease_release(account(env, "other"), tv.id)


# ---- libstream.client over a real streamd ------------------------------------

@pytest.fixture(scope="module")
def streamd():
    import os

    from libstream import client as lc
    if not lc.AVAILABLE or "STREAMD_BIN" not in os.environ:
        pytest.skip("needs the client feature and STREAMD_BIN (a built streamd)")
    from test_client import Streamd
    d = Streamd("--login-account-burst", "0", "--login-address-burst", "0")
    yield d
    d.stop()


def test_client_billing(streamd):
    import secrets

    from libstream import client as lc
    email = "bill-%s@example.test" % secrets.token_hex(6)
    with lc.Client(streamd.url) as c:
        c.register(email, "correct horse battery")
        c.login(email, "correct horse battery")
        assert {"basic", "standard", "premium"} <= {p["id"] for p in c.billing_plans()}
        with pytest.raises(libstream.NotFound):
            c.subscription()
        card = c.add_card(DECLINE_CARD, key="py-card-1")
        assert (card["brand"], card["last4"]) == ("visa", "0002")
        assert c.add_card(DECLINE_CARD, key="py-card-1") == card  # replay
        with pytest.raises(libstream.InvalidArgument):
            c.add_card("tok_0000", key="py-card-2")
        # The seeded plans have a trial: no charge, so even this card subscribes.
        first = c.subscribe("standard", key="py-sub-1")
        assert first["subscription"]["status"] == "trialing" and first["invoice_id"] is None
        assert c.subscribe("standard", key="py-sub-1") == first
        with pytest.raises(libstream.Conflict):
            c.subscribe("premium", key="py-sub-1")
        assert c.change_plan("premium")["subscription"]["plan_id"] == "premium"
        assert c.cancel_subscription()["cancel_at_period_end"] is True
        assert c.resume_subscription()["cancel_at_period_end"] is False
        assert c.subscription()["plan_id"] == "premium"
        assert c.invoices() == []

        movie = next(t for t in c.browse_all(limit=50) if t["kind"] == "movie")["id"]
        c.switch_profile(c.create_profile("Me")["id"])
        e = c.entitlement(movie, "tv-1")
        assert (e["allowed"], e["reason"], e["max_height"], e["screens"]) == (True, "ok", 2160, 4)
        leases = [c.lease_acquire(movie, "dev-%d" % i, "Device %d" % i) for i in range(4)]
        with pytest.raises(libstream.Busy) as ei:
            c.lease_acquire(movie, "dev-9")
        assert "Device 0" in ei.value.message
        assert c.lease_heartbeat(leases[0]["id"])["id"] == leases[0]["id"]
        c.lease_release(leases[0]["id"])
        assert c.lease_acquire(movie, "dev-9")["device_id"] == "dev-9"
