"""Billing and entitlements: plans, payment methods, subscriptions with trials,
prorated upgrades, downgrades and cancellation at period end, invoices,
refunds, the renewal job with dunning, the books check, entitlement checks
and screen leases (``stream/billing.h``).

``Billing`` wraps one ``stream_billing`` handle over a
:class:`libstream.store.Store` and a payment provider; the only provider in
this release is :class:`LocalProvider`, the built-in test provider whose card
numbers decide the outcome ("tok_4242424242424242" succeeds,
"tok_4000000000000002" is declined, ...). Money is an ``int`` of minor units
(cents) with a ``currency``; times are Unix seconds.

Calls that change billing state take a ``key`` (the idempotency key, 1..255
printable ASCII characters without spaces): repeating a call with the same key
and arguments returns the first result without doing anything again; the
same key with other arguments raises ``Conflict``. ``key=None`` uses a fresh
random key (no protection against repeats: pass your own key when a call may
be retried). A declined or failed charge raises ``PaymentError`` with the
provider's reason; every screen in use raises ``Busy`` whose
``devices_in_use`` lists the :class:`Lease` objects holding them.

Results are frozen dataclasses (:class:`Plan`, :class:`Card`,
:class:`Subscription`, :class:`Invoice` with :class:`Line`, :class:`Lease`,
:class:`Entitlement`, :class:`RunReport`). A Billing is thread-safe, like the
C handle; a ``clock`` (a callable returning Unix seconds) replaces the system
clock for tests. Only available in builds with the server feature
(``libstream.billing.AVAILABLE``).

    from libstream.store import Store
    from libstream.billing import Billing, LocalProvider
    with Store("streamd.db") as st, LocalProvider() as prov, Billing(st, prov) as b:
        b.seed_plans()
        card = b.card_add(account_id, "tok_4242424242424242", key="card-1")
        sub, invoice_id = b.subscribe(account_id, "standard", key="sub-1")
"""
import dataclasses
import enum
import uuid

from ._ffi import ffi, lib
from ._util import ClockedHandle, Handle, Keep, new_struct, set_int, text, to_cstr, to_int
from .errors import Busy, PaymentError, check, raise_invalid  # noqa: F401

__all__ = ["AVAILABLE", "Billing", "LocalProvider", "Plan", "Card", "Subscription", "Invoice",
           "Line", "Lease", "Entitlement", "RunReport", "Status", "InvoiceStatus", "Reason",
           "PaymentError"]

AVAILABLE = hasattr(lib, "stream_billing_new")


def _require():
    if not AVAILABLE:
        raise ImportError("libstream was built without the server feature (billing)")


class Status(enum.IntEnum):
    """Subscription states (live: TRIALING, ACTIVE, PAST_DUE)."""
    TRIALING = getattr(lib, "STREAM_BILLING_TRIALING", 0)
    ACTIVE = getattr(lib, "STREAM_BILLING_ACTIVE", 1)
    PAST_DUE = getattr(lib, "STREAM_BILLING_PAST_DUE", 2)
    CANCELED = getattr(lib, "STREAM_BILLING_CANCELED", 3)
    EXPIRED = getattr(lib, "STREAM_BILLING_EXPIRED", 4)

    @property
    def label(self):
        """"trialing", "active", ... (stream_billing_status_name)."""
        return text(lib.stream_billing_status_name(int(self)))


class InvoiceStatus(enum.IntEnum):
    OPEN = getattr(lib, "STREAM_BILLING_INVOICE_OPEN", 0)
    PAID = getattr(lib, "STREAM_BILLING_INVOICE_PAID", 1)
    VOID = getattr(lib, "STREAM_BILLING_INVOICE_VOID", 2)
    UNCOLLECTIBLE = getattr(lib, "STREAM_BILLING_INVOICE_UNCOLLECTIBLE", 3)

    @property
    def label(self):
        """"open", "paid", "void", "uncollectible" (stream_billing_invoice_status_name)."""
        return text(lib.stream_billing_invoice_status_name(int(self)))


class Reason(enum.IntEnum):
    """Why an entitlement check answered as it did."""
    OK = getattr(lib, "STREAM_BILLING_OK", 0)
    NO_SUBSCRIPTION = getattr(lib, "STREAM_BILLING_NO_SUBSCRIPTION", 1)
    PROFILE_MISMATCH = getattr(lib, "STREAM_BILLING_PROFILE_MISMATCH", 2)
    MATURITY = getattr(lib, "STREAM_BILLING_MATURITY", 3)
    UNKNOWN_TITLE = getattr(lib, "STREAM_BILLING_UNKNOWN_TITLE", 4)
    SCREENS = getattr(lib, "STREAM_BILLING_SCREENS", 5)

    @property
    def label(self):
        """"ok", "no_subscription", ... (stream_billing_reason_name)."""
        return text(lib.stream_billing_reason_name(int(self)))


@dataclasses.dataclass(frozen=True)
class Plan:
    """A plan; ``price`` in minor units per ``period_months``."""
    id: str
    name: str
    price: int
    currency: str = "USD"
    period_months: int = 1
    trial_days: int = 0
    screens: int = 1
    max_height: int = 1080
    active: bool = True


@dataclasses.dataclass(frozen=True)
class Card:
    """A payment method: never the card number."""
    id: str
    account_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool
    created_at: int


@dataclasses.dataclass(frozen=True)
class Subscription:
    id: str
    account_id: str
    plan_id: str
    pending_plan_id: str  # "" = no scheduled change
    card_id: str
    status: Status
    cancel_at_period_end: bool
    period_start: int
    period_end: int
    trial_end: int
    failed_attempts: int
    next_attempt_at: int
    created_at: int
    ended_at: int


@dataclasses.dataclass(frozen=True)
class Line:
    description: str
    plan_id: str
    amount: int
    period_start: int
    period_end: int


@dataclasses.dataclass(frozen=True)
class Invoice:
    """An invoice; ``lines`` is filled by :meth:`Billing.invoice` only (else ``()``)."""
    id: str
    account_id: str
    subscription_id: str
    status: InvoiceStatus
    currency: str
    total: int
    amount_paid: int
    amount_due: int
    amount_refunded: int
    created_at: int
    paid_at: int
    lines: tuple = ()


@dataclasses.dataclass(frozen=True)
class Lease:
    id: str
    account_id: str
    profile_id: str
    title_id: str
    device_id: str
    device_name: str
    started_at: int
    expires_at: int


@dataclasses.dataclass(frozen=True)
class Entitlement:
    allowed: bool
    reason: Reason
    message: str
    plan_id: str
    max_height: int
    screens: int
    screens_in_use: int


@dataclasses.dataclass(frozen=True)
class RunReport:
    """What one run of the renewal job did."""
    renewed: int
    trials_converted: int
    failed: int
    retried: int
    expired: int
    canceled: int
    downgraded: int
    settled: int


def _plan(p):
    return Plan(text(p.id), text(p.name), p.price, text(p.currency), p.period_months,
                p.trial_days, p.screens, p.max_height, bool(p.active))


def _card(p):
    return Card(text(p.id), text(p.account_id), text(p.brand), text(p.last4), p.exp_month,
                p.exp_year, bool(p.is_default), p.created_at)


def _enum(cls, v):
    try:
        return cls(v)
    except ValueError:
        return v


def _subscription(p):
    return Subscription(text(p.id), text(p.account_id), text(p.plan_id), text(p.pending_plan_id),
                        text(p.card_id), _enum(Status, p.status), bool(p.cancel_at_period_end),
                        p.period_start, p.period_end, p.trial_end, p.failed_attempts,
                        p.next_attempt_at, p.created_at, p.ended_at)


def _invoice(p):
    lines = tuple(Line(text(p.lines[i].description), text(p.lines[i].plan_id), p.lines[i].amount,
                       p.lines[i].period_start, p.lines[i].period_end)
                  for i in range(p.line_count)) if p.lines != ffi.NULL else ()
    return Invoice(text(p.id), text(p.account_id), text(p.subscription_id),
                   _enum(InvoiceStatus, p.status), text(p.currency), p.total, p.amount_paid,
                   p.amount_due, p.amount_refunded, p.created_at, p.paid_at, lines)


def _lease(p):
    return Lease(text(p.id), text(p.account_id), text(p.profile_id), text(p.title_id),
                 text(p.device_id), text(p.device_name), p.started_at, p.expires_at)


def _key(key):
    """The idempotency key argument: the caller's, or a fresh random one."""
    if key is None:
        return ("py-" + uuid.uuid4().hex).encode("ascii")
    return to_cstr(key, "key")


def status_name(status):
    """"trialing", "active", ... for a status value, or None when unknown."""
    _require()
    return text(lib.stream_billing_status_name(to_int(status, "status")))


def invoice_status_name(status):
    """"open", "paid", "void", "uncollectible", or None when unknown."""
    _require()
    return text(lib.stream_billing_invoice_status_name(to_int(status, "status")))


def reason_name(reason):
    """"ok", "no_subscription", ..., or None when unknown."""
    _require()
    return text(lib.stream_billing_reason_name(to_int(reason, "reason")))


class LocalProvider(Handle):
    """The built-in local payment provider (an in-memory ledger; test card numbers
    decide outcomes). Keep it open while a Billing uses it (closing it closes them)."""

    _repr_name = "libstream.billing.LocalProvider"

    def __init__(self):
        _require()
        import weakref

        out = ffi.new("stream_billing_local **")
        check(lib.stream_billing_local_new(out))
        self._ptr = ffi.gc(out[0], lib.stream_billing_local_free)
        self._services = weakref.WeakSet()

    @property
    def _cptr(self):
        if self._ptr is None:
            raise_invalid("the payment provider is closed")
        return self._ptr

    def totals(self):
        """(charges, charged, refunded): the number of successful charges, their
        sum and the sum refunded, in minor units."""
        n = ffi.new("size_t *")
        charged = ffi.new("int64_t *")
        refunded = ffi.new("int64_t *")
        check(lib.stream_billing_local_totals(self._cptr, n, charged, refunded))
        return n[0], charged[0], refunded[0]

    def close(self):
        """Close the Billing services using it, then free the provider."""
        for s in list(self._services):
            s.close()
        super().close()


class Billing(ClockedHandle):
    """The billing service over a Store and a LocalProvider (both borrowed: keep
    them open while the Billing lives; closing either closes the Billing first).

    Options (defaults as in C): ``lease_ttl`` (90 s without a heartbeat),
    ``dunning_retries`` (3), ``dunning_span_days`` (7), ``clock``.
    """

    _repr_name = "libstream.billing.Billing"

    def __init__(self, store, provider, *, clock=None, lease_ttl=None, dunning_retries=None,
                 dunning_span_days=None):
        _require()
        from .store import Store

        if not isinstance(store, Store):
            raise TypeError("store must be a libstream.store.Store, not %s" % type(store).__name__)
        if not isinstance(provider, LocalProvider):
            raise TypeError("provider must be a libstream.billing.LocalProvider, not %s" %
                            type(provider).__name__)
        prov = ffi.new("stream_billing_provider *")
        check(lib.stream_billing_local_provider(prov, provider._cptr))
        o = new_struct("stream_billing_options")
        o.store = store._cptr
        o.provider = prov
        for field, value in (("lease_ttl", lease_ttl), ("dunning_retries", dunning_retries),
                             ("dunning_span_days", dunning_span_days)):
            if value is not None:
                set_int(o, field, value, field)
        if self._clock("stream_billing_clock_fn", clock) is not None:
            o.now = self._clock_cb
        out = ffi.new("stream_billing **")
        check(lib.stream_billing_new(out, o))
        self._store, self._provider = store, provider
        deps = (store._ptr, provider._ptr, self._clock_cb)
        self._ptr = ffi.gc(out[0], lambda p, _deps=deps: lib.stream_billing_free(p))
        store._attach(self)
        provider._services.add(self)

    # ---- lifetime ---------------------------------------------------------

    @property
    def _h(self):
        if self._ptr is None:
            raise_invalid("the billing service is closed")
        if self._store.closed:
            raise_invalid("the store of this billing service is closed")
        if self._provider.closed:
            raise_invalid("the payment provider of this billing service is closed")
        return self._ptr

    # ---- plans ------------------------------------------------------------

    def plan_put(self, plan):
        """Create or replace a plan (a :class:`Plan`, or a dict of its fields)."""
        if isinstance(plan, dict):
            plan = Plan(**plan)
        if not isinstance(plan, Plan):
            raise TypeError("plan must be a Plan or a dict, not %s" % type(plan).__name__)
        p = ffi.new("stream_billing_plan *")
        for field, size in (("id", lib.STREAM_BILLING_ID_SIZE),
                            ("name", lib.STREAM_BILLING_NAME_SIZE),
                            ("currency", lib.STREAM_BILLING_CURRENCY_SIZE)):
            b = to_cstr(getattr(plan, field), field)
            if len(b) >= size:
                raise_invalid("plan %s is longer than %d bytes" % (field, size - 1))
            setattr(p, field, b)
        for field in ("price", "period_months", "trial_days", "screens", "max_height"):
            set_int(p, field, getattr(plan, field), field)
        p.active = 1 if plan.active else 0
        self._run(lib.stream_billing_plan_put, self._h, p)

    def plan(self, plan_id):
        """The :class:`Plan` with this id (NotFound otherwise)."""
        out = ffi.new("stream_billing_plan *")
        self._run(lib.stream_billing_plan_get, out, self._h, to_cstr(plan_id, "plan_id"))
        return _plan(out)

    def plans(self, include_inactive=False):
        """Plans ordered by price then id (inactive ones only when asked)."""
        out = ffi.new("stream_billing_plan **")
        n = ffi.new("size_t *")
        self._run(lib.stream_billing_plan_list, out, n, self._h, 1 if include_inactive else 0)
        try:
            return [_plan(out[0] + i) for i in range(n[0])]
        finally:
            lib.stream_free(out[0])

    def seed_plans(self):
        """Insert basic, standard and premium when there are no plans; returns how many."""
        n = ffi.new("size_t *")
        self._run(lib.stream_billing_plans_seed, n, self._h)
        return n[0]

    # ---- payment methods --------------------------------------------------

    def card_add(self, account_id, token, *, key=None):
        """Tokenize a client token ("tok_<test card number>[_MMYY]") and attach it;
        the first method becomes the default. Returns the :class:`Card`."""
        out = ffi.new("stream_billing_card *")
        self._run(lib.stream_billing_card_add, out, self._h, to_cstr(account_id, "account_id"),
                  to_cstr(token, "token"), _key(key))
        return _card(out)

    def cards(self, account_id):
        """The account's payment methods, default first."""
        out = ffi.new("stream_billing_card **")
        n = ffi.new("size_t *")
        self._run(lib.stream_billing_card_list, out, n, self._h, to_cstr(account_id, "account_id"))
        try:
            return [_card(out[0] + i) for i in range(n[0])]
        finally:
            lib.stream_free(out[0])

    def set_default_card(self, account_id, card_id):
        self._run(lib.stream_billing_card_set_default, self._h,
                  to_cstr(account_id, "account_id"), to_cstr(card_id, "card_id"))

    def remove_card(self, account_id, card_id):
        """Detach a method (Conflict for the only method of a paid live subscription)."""
        self._run(lib.stream_billing_card_remove, self._h, to_cstr(account_id, "account_id"),
                  to_cstr(card_id, "card_id"))

    # ---- subscriptions ----------------------------------------------------

    def subscribe(self, account_id, plan_id, card_id=None, *, key=None):
        """Subscribe; returns (:class:`Subscription`, invoice id or "" for a trial).
        Raises PaymentError when the first charge is declined (no subscription)."""
        out = ffi.new("stream_billing_subscription *")
        inv = ffi.new("char[]", lib.STREAM_BILLING_ID_SIZE)
        self._run(lib.stream_billing_subscribe, out, inv, self._h,
                  to_cstr(account_id, "account_id"), to_cstr(plan_id, "plan_id"),
                  to_cstr(card_id, "card_id", allow_none=True), _key(key))
        return _subscription(out), text(inv)

    def subscription(self, account_id):
        """The live subscription, or else the most recent ended one (NotFound: never)."""
        out = ffi.new("stream_billing_subscription *")
        self._run(lib.stream_billing_subscription_get, out, self._h,
                  to_cstr(account_id, "account_id"))
        return _subscription(out)

    def change_plan(self, account_id, plan_id, *, key=None):
        """Upgrade at once (prorated charge; to a plan of another billing period,
        the new period starts now, charged less the unused time of the current
        one) or downgrade at period end; returns (:class:`Subscription`, invoice
        id or "")."""
        out = ffi.new("stream_billing_subscription *")
        inv = ffi.new("char[]", lib.STREAM_BILLING_ID_SIZE)
        self._run(lib.stream_billing_change_plan, out, inv, self._h,
                  to_cstr(account_id, "account_id"), to_cstr(plan_id, "plan_id"), _key(key))
        return _subscription(out), text(inv)

    def cancel(self, account_id, *, key=None):
        """Cancel at period end; returns the :class:`Subscription`."""
        out = ffi.new("stream_billing_subscription *")
        self._run(lib.stream_billing_cancel, out, self._h, to_cstr(account_id, "account_id"),
                  _key(key))
        return _subscription(out)

    def resume(self, account_id, *, key=None):
        """Undo a cancellation before the period ends; returns the :class:`Subscription`."""
        out = ffi.new("stream_billing_subscription *")
        self._run(lib.stream_billing_resume, out, self._h, to_cstr(account_id, "account_id"),
                  _key(key))
        return _subscription(out)

    def subscriptions(self, status=None, after=None, limit=100):
        """One page of subscriptions ordered by id (operator listing); ``status`` a
        :class:`Status` (None = all), ``after`` the last id of the previous page."""
        keep = Keep()
        q = ffi.new("stream_billing_subscription_query *")
        q.status = -1 if status is None else to_int(status, "status")
        q.after_id = keep.cstr(after, "after", allow_none=True)
        set_int(q, "limit", limit, "limit")
        out = ffi.new("stream_billing_subscription **")
        n = ffi.new("size_t *")
        self._run(lib.stream_billing_subscription_list, out, n, self._h, q)
        try:
            return [_subscription(out[0] + i) for i in range(n[0])]
        finally:
            lib.stream_free(out[0])

    # ---- invoices ---------------------------------------------------------

    def invoice(self, invoice_id):
        """The :class:`Invoice` with its lines."""
        out = ffi.new("stream_billing_invoice *")
        try:
            self._run(lib.stream_billing_invoice_get, out, self._h,
                      to_cstr(invoice_id, "invoice_id"))
            return _invoice(out)
        finally:
            lib.stream_billing_invoice_clear(out)

    def invoices(self, account_id):
        """The account's invoices, newest first, without lines."""
        out = ffi.new("stream_billing_invoice **")
        n = ffi.new("size_t *")
        self._run(lib.stream_billing_invoice_list, out, n, self._h,
                  to_cstr(account_id, "account_id"))
        try:
            return [_invoice(out[0] + i) for i in range(n[0])]
        finally:
            lib.stream_free(out[0])

    def refund(self, invoice_id, amount=0, *, key=None):
        """Refund ``amount`` (0 = all that is left) of an invoice; returns the :class:`Invoice`."""
        out = ffi.new("stream_billing_invoice *")
        try:
            self._run(lib.stream_billing_refund, out, self._h, to_cstr(invoice_id, "invoice_id"),
                      to_int(amount, "amount"), _key(key))
            return _invoice(out)
        finally:
            lib.stream_billing_invoice_clear(out)

    # ---- renewals and integrity -------------------------------------------

    def run_renewals(self):
        """Run the renewal job once at the clock's now; returns a :class:`RunReport`."""
        out = ffi.new("stream_billing_run_report *")
        self._run(lib.stream_billing_run_renewals, out, self._h)
        return RunReport(out.renewed, out.trials_converted, out.failed, out.retried, out.expired,
                         out.canceled, out.downgraded, out.settled)

    def books_check(self, pending_grace=3600):
        """Check the books; returns how many invoices were checked. Raises
        InternalError naming the first inconsistency."""
        n = ffi.new("size_t *")
        self._run(lib.stream_billing_books_check, n, self._h,
                  to_int(pending_grace, "pending_grace"))
        return n[0]

    # ---- entitlements and leases ------------------------------------------

    def entitlement(self, account_id, profile_id, title_id, device_id):
        """May this profile play this title on this device? An :class:`Entitlement`
        (not allowed is an answer, not an exception). Takes no lease."""
        out = ffi.new("stream_billing_entitlement *")
        self._run(lib.stream_billing_entitlement_check, out, self._h,
                  to_cstr(account_id, "account_id"), to_cstr(profile_id, "profile_id"),
                  to_cstr(title_id, "title_id"), to_cstr(device_id, "device_id"))
        return Entitlement(bool(out.allowed), _enum(Reason, out.reason), text(out.message),
                           text(out.plan_id), out.max_height, out.screens, out.screens_in_use)

    def lease_acquire(self, account_id, profile_id, title_id, device_id, device_name=None):
        """Take a screen; returns the :class:`Lease`. Raises Busy (with
        ``devices_in_use``, a list of Lease) when every screen is in use,
        Forbidden when not entitled."""
        out = ffi.new("stream_billing_lease *")
        in_use = ffi.new("stream_billing_lease[]", lib.STREAM_BILLING_SCREENS_MAX)
        n = ffi.new("size_t *")
        try:
            self._run(lib.stream_billing_lease_acquire, out, in_use, n, self._h,
                      to_cstr(account_id, "account_id"), to_cstr(profile_id, "profile_id"),
                      to_cstr(title_id, "title_id"), to_cstr(device_id, "device_id"),
                      to_cstr(device_name, "device_name", allow_none=True))
        except Busy as e:
            e.devices_in_use = [_lease(in_use + i)
                                for i in range(min(n[0], lib.STREAM_BILLING_SCREENS_MAX))]
            raise
        return _lease(out)

    def lease_heartbeat(self, account_id, lease_id):
        """Renew a lease; raises Expired when it lapsed (acquire again)."""
        out = ffi.new("stream_billing_lease *")
        self._run(lib.stream_billing_lease_heartbeat, out, self._h,
                  to_cstr(account_id, "account_id"), to_cstr(lease_id, "lease_id"))
        return _lease(out)

    def lease_release(self, account_id, lease_id):
        self._run(lib.stream_billing_lease_release, self._h, to_cstr(account_id, "account_id"),
                  to_cstr(lease_id, "lease_id"))

    def leases(self, account_id):
        """The account's live leases, oldest first."""
        out = ffi.new("stream_billing_lease **")
        n = ffi.new("size_t *")
        self._run(lib.stream_billing_lease_list, out, n, self._h,
                  to_cstr(account_id, "account_id"))
        try:
            return [_lease(out[0] + i) for i in range(n[0])]
        finally:
            lib.stream_free(out[0])
