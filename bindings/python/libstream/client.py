"""The client SDK: a streamd API client over the C library's libcurl client.

``Client`` wraps one ``stream_client`` handle: sign-in by password or TV code
(RFC 8628 device flow), sessions with automatic refresh on 401 (one refresh,
one retry, refresh-token rotation), profiles, catalog, progress and My List.
Catalog, profile and viewing calls return the server's JSON decoded
(``dict`` / ``list``). Errors raise the ``libstream.StreamError`` subclass
of the status (``AuthError``, ``NotFound``, ``Busy`` with
``retry_after()``...), carrying the server's problem ``detail``. A 2xx answer
that is not JSON, or not of the documented shape, raises ``ProtocolError``
(never ``TypeError``, ``KeyError`` or a JSON decoding error).

A Client is thread-safe, like the C handle, and the GIL is released during
every call. Only available when libstream was built with the client feature
(``libstream.client.AVAILABLE``).

    from libstream.client import Client
    with Client("http://127.0.0.1:8080") as c:
        dev = c.device_start()
        print("Go to", dev.verification_uri, "and enter", dev.user_code)
        c.device_wait(dev)
        for g in c.genres():
            print(g, [t["name"] for t in c.browse(genre=g)["items"]])
"""
import collections
import enum
import json

from ._ffi import ffi, lib
from ._util import Keep, new_struct, set_int, take_json, take_string, text, to_cstr, to_int
from .errors import ProtocolError, check, raise_invalid

__all__ = ["AVAILABLE", "Client", "Session", "Account", "DeviceAuthorization", "DeviceState",
           "CancelFlag", "last_http_status", "retry_after"]

AVAILABLE = hasattr(lib, "stream_client_new")

Session = collections.namedtuple("Session", "account_id profile_id expires_in")
Session.__doc__ = "Who is signed in (ids are '' when the server did not say)."
Account = collections.namedtuple("Account", "id email created_at")


class DeviceState(enum.IntEnum):
    APPROVED = getattr(lib, "STREAM_CLIENT_DEVICE_APPROVED", 0)
    PENDING = getattr(lib, "STREAM_CLIENT_DEVICE_PENDING", 1)
    SLOW_DOWN = getattr(lib, "STREAM_CLIENT_DEVICE_SLOW_DOWN", 2)


def _require():
    if not AVAILABLE:
        raise ImportError("libstream was built without the client feature (libcurl)")


def last_http_status():
    """HTTP status of the calling thread's last response (0: none). Thread-local."""
    _require()
    return lib.stream_client_last_http_status()


def retry_after():
    """Retry-After seconds of the calling thread's last response (429/503), or 0."""
    _require()
    return lib.stream_client_retry_after()


def _doc(pp, member=None, kind=None):
    """The JSON answer a call wrote to ``char **pp``, decoded. With ``member``, the answer must
    be an object whose ``member`` is a ``kind`` (list or dict); with only ``kind``, the answer
    must be one. Anything else, and a body Python cannot decode (the C side already checked that
    it is JSON of this shape), raises ProtocolError."""
    try:
        doc = take_json(pp)
    except (ValueError, RecursionError) as e:  # json.JSONDecodeError is a ValueError
        message = "the server's answer cannot be decoded (%s)" % type(e).__name__
        raise ProtocolError(lib.STREAM_EPROTO, message) from None
    if member is not None:
        if not isinstance(doc, dict) or not isinstance(doc.get(member), kind):
            raise ProtocolError(lib.STREAM_EPROTO, "the server's answer is not an object with %s %r"
                                % ("an array" if kind is list else "an object", member))
    elif kind is not None and not isinstance(doc, kind):
        raise ProtocolError(lib.STREAM_EPROTO, "the server's answer is not a JSON %s"
                            % ("array" if kind is list else "object"))
    return doc


def _session(p):
    return Session(text(p.account_id), text(p.profile_id), p.expires_in)


class CancelFlag:
    """Stops a ``Client.device_wait()`` running in another thread: ``flag.set()``."""

    __slots__ = ("_p",)

    def __init__(self):
        self._p = ffi.new("int *")

    def set(self):
        self._p[0] = 1

    def clear(self):
        self._p[0] = 0

    def is_set(self):
        return bool(self._p[0])


class DeviceAuthorization:
    """The codes of a TV sign-in (RFC 8628 §3.2). Show ``user_code`` and
    ``verification_uri``; ``device_code`` is the device's secret. ``interval``
    is live: a slow_down answer raises it."""

    __slots__ = ("_p",)

    def __init__(self):
        self._p = ffi.new("stream_client_device *")

    user_code = property(lambda self: text(self._p.user_code))
    verification_uri = property(lambda self: text(self._p.verification_uri))
    verification_uri_complete = property(lambda self: text(self._p.verification_uri_complete))
    device_code = property(lambda self: text(self._p.device_code))
    expires_in = property(lambda self: self._p.expires_in)
    interval = property(lambda self: self._p.interval)
    started_at = property(lambda self: self._p.started_at)

    def __repr__(self):
        return "DeviceAuthorization(user_code=%r, verification_uri=%r, interval=%d)" % (
            self.user_code, self.verification_uri, self.interval)


def _ms(seconds, name):
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError("%s must be a number of seconds" % name)
    if seconds <= 0:
        raise_invalid("%s must be positive, got %r" % (name, seconds))
    return int(seconds * 1000)


class Client:
    """A client of one streamd server. Use as a context manager or call close()."""

    def __init__(self, base_url, *, user_agent=None, connect_timeout=10.0, timeout=30.0,
                 max_response_bytes=None, ca_file=None, ca_path=None, client_id=None):
        _require()
        keep = Keep()
        o = new_struct("stream_client_options")
        o.base_url = keep.cstr(base_url, "base_url")
        o.user_agent = keep.cstr(user_agent, "user_agent", allow_none=True)
        o.ca_file = keep.cstr(ca_file, "ca_file", allow_none=True)
        o.ca_path = keep.cstr(ca_path, "ca_path", allow_none=True)
        o.client_id = keep.cstr(client_id, "client_id", allow_none=True)
        set_int(o, "connect_timeout_ms", _ms(connect_timeout, "connect_timeout"))
        set_int(o, "timeout_ms", _ms(timeout, "timeout"))
        if max_response_bytes is not None:
            set_int(o, "max_response_bytes", max_response_bytes, "max_response_bytes")
        out = ffi.new("stream_client **")
        check(lib.stream_client_new(out, o))
        self._c = ffi.gc(out[0], lib.stream_client_free)

    # ---- lifetime ---------------------------------------------------------

    def close(self):
        """Free the handle now (no call may be running). Does not sign out."""
        c, self._c = getattr(self, "_c", None), None
        if c is not None:
            ffi.release(c)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def _h(self):
        if self._c is None:
            raise_invalid("the client is closed")
        return self._c

    @property
    def base_url(self):
        return text(lib.stream_client_base_url(self._h))

    # ---- accounts and sessions -------------------------------------------

    def register(self, email, password):
        """Create an account (does not sign in). Returns an ``Account``."""
        out = ffi.new("stream_client_account *")
        check(lib.stream_client_register(out, self._h, to_cstr(email, "email"),
                                         to_cstr(password, "password")))
        return Account(text(out.id), text(out.email), out.created_at)

    def login(self, email, password):
        """Sign in; the tokens stay in the client. Returns a ``Session``."""
        out = ffi.new("stream_client_session *")
        check(lib.stream_client_login(out, self._h, to_cstr(email, "email"),
                                      to_cstr(password, "password")))
        return _session(out)

    def logout(self):
        """Revoke the session on the server and forget it locally."""
        check(lib.stream_client_logout(self._h))

    def refresh(self):
        """Rotate the refresh token now (calls also do it by themselves on 401)."""
        check(lib.stream_client_refresh(self._h))

    @property
    def session(self):
        """The current ``Session``, or None when not signed in."""
        out = ffi.new("stream_client_session *")
        rc = lib.stream_client_session_info(out, self._h)
        if rc == lib.STREAM_EAUTH:
            return None
        check(rc)
        return _session(out)

    def get_tokens(self):
        """(access_token, refresh_token) to persist; either may be None."""
        a = ffi.new("char **")
        r = ffi.new("char **")
        check(lib.stream_client_get_tokens(a, r, self._h))
        return take_string(a, secret=True), take_string(r, secret=True)

    def set_tokens(self, access_token=None, refresh_token=None):
        """Restore persisted tokens (both None forgets the session)."""
        check(lib.stream_client_set_tokens(self._h,
                                           to_cstr(access_token, "access_token", True),
                                           to_cstr(refresh_token, "refresh_token", True)))

    # ---- TV sign-in -------------------------------------------------------

    def device_start(self):
        """Start a TV sign-in: a ``DeviceAuthorization`` with the codes to show."""
        dev = DeviceAuthorization()
        check(lib.stream_client_device_start(dev._p, self._h))
        return dev

    def device_poll(self, dev):
        """Poll once: a ``DeviceState`` (APPROVED means signed in). Raises
        Forbidden (denied), Expired (codes expired), AuthError (used code)."""
        if not isinstance(dev, DeviceAuthorization):
            raise TypeError("dev must be a DeviceAuthorization")
        state = ffi.new("int *")
        check(lib.stream_client_device_poll(state, self._h, dev._p))
        return DeviceState(state[0])

    def device_wait(self, dev, timeout=None, cancel=None, on_poll=None):
        """Poll until approved, honouring the interval and slow_down. ``timeout``
        in seconds (None: until the codes expire); ``cancel`` a CancelFlag set
        from another thread; ``on_poll(state, interval)`` is called after each
        poll and may return True to stop. Returns the ``Session``. Raises
        Canceled, TimedOut, Expired, Forbidden."""
        if not isinstance(dev, DeviceAuthorization):
            raise TypeError("dev must be a DeviceAuthorization")
        if cancel is not None and not isinstance(cancel, CancelFlag):
            raise TypeError("cancel must be a libstream.client.CancelFlag")
        timeout_ms = 0 if timeout is None else _ms(timeout, "timeout")
        cb = ffi.NULL
        errors = []
        if on_poll is not None:
            if not callable(on_poll):
                raise TypeError("on_poll must be callable")

            def trampoline(state, interval, _ud):
                try:
                    return 1 if on_poll(DeviceState(state), interval) else 0
                except BaseException as e:  # stop waiting, re-raise after the call
                    errors.append(e)
                    return 1

            cb = ffi.callback("stream_client_device_fn", trampoline)
        rc = lib.stream_client_device_wait(self._h, dev._p, timeout_ms,
                                           cancel._p if cancel is not None else ffi.NULL,
                                           cb, ffi.NULL)
        if errors:
            raise errors[0]
        check(rc)
        return self.session

    def activate(self, user_code, email, password, approve=True):
        """Approve (or deny) a TV's code as the /activate page does."""
        check(lib.stream_client_activate(self._h, to_cstr(user_code, "user_code"),
                                         to_cstr(email, "email"), to_cstr(password, "password"),
                                         1 if approve else 0))

    # ---- profiles ---------------------------------------------------------

    def profiles(self):
        """The account's profiles (a list of dicts, oldest first)."""
        out = ffi.new("char **")
        check(lib.stream_client_profiles(out, self._h))
        return _doc(out, "profiles", list)["profiles"]

    def create_profile(self, name, *, avatar=None, kids=False, maturity_ceiling=None, pin=None):
        """Create a profile; returns it (a dict)."""
        keep = Keep()
        spec = new_struct("stream_client_profile_spec")
        spec.name = keep.cstr(name, "name")
        spec.avatar = keep.cstr(avatar, "avatar", allow_none=True)
        spec.pin = keep.cstr(pin, "pin", allow_none=True)
        if not isinstance(kids, bool):
            raise TypeError("kids must be a bool")
        spec.kids = 1 if kids else 0
        if maturity_ceiling is not None:
            set_int(spec, "maturity_ceiling", maturity_ceiling, "maturity_ceiling")
        out = ffi.new("char **")
        check(lib.stream_client_profile_create(out, self._h, spec))
        return _doc(out, kind=dict)

    def delete_profile(self, profile_id, password=None):
        """Delete a profile. One that has a PIN needs the account's ``password`` (sent in
        the request body): InvalidArgument without it, Forbidden when wrong, Busy when
        rate limited."""
        if password is None:
            check(lib.stream_client_profile_delete(self._h, to_cstr(profile_id, "profile_id")))
        else:
            check(lib.stream_client_profile_delete_locked(
                self._h, to_cstr(profile_id, "profile_id"), to_cstr(password, "password")))

    def switch_profile(self, profile_id, pin=None):
        """Use tokens scoped to the profile from now on. Returns the ``Session``."""
        out = ffi.new("stream_client_session *")
        check(lib.stream_client_profile_switch(out, self._h, to_cstr(profile_id, "profile_id"),
                                               to_cstr(pin, "pin", allow_none=True)))
        return _session(out)

    # ---- catalog ----------------------------------------------------------

    def genres(self):
        """Every genre name (a sorted list of str)."""
        out = ffi.new("char **")
        check(lib.stream_client_genres(out, self._h))
        return _doc(out, "genres", list)["genres"]

    def browse(self, genre=None, cursor=None, limit=0):
        """One page: ``{"items": [...], "next_cursor": str or None}``."""
        out = ffi.new("char **")
        check(lib.stream_client_browse(out, self._h, to_cstr(genre, "genre", True),
                                       to_cstr(cursor, "cursor", True), to_int(limit, "limit")))
        page = _doc(out, "items", list)
        if not isinstance(page.get("next_cursor"), (str, type(None))):
            raise ProtocolError(lib.STREAM_EPROTO, "the page's next_cursor is not a string or null")
        return page

    def browse_all(self, genre=None, limit=0):
        """Every title, following next_cursor page by page (a generator)."""
        cursor = None
        while True:
            page = self.browse(genre, cursor, limit)
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def search(self, query, limit=0):
        """Full-text search: ``{"query": ..., "items": [...]}``, best first."""
        out = ffi.new("char **")
        check(lib.stream_client_search(out, self._h, to_cstr(query, "query"),
                                       to_int(limit, "limit")))
        return _doc(out, "items", list)

    def title(self, title_id):
        """A title with its seasons and episodes (a dict)."""
        out = ffi.new("char **")
        check(lib.stream_client_title(out, self._h, to_cstr(title_id, "title_id")))
        return _doc(out, kind=dict)

    # ---- viewing (needs a profile) ---------------------------------------

    def put_progress(self, title_id, position_s, duration_s, episode_id=None):
        check(lib.stream_client_progress_put(self._h, to_cstr(title_id, "title_id"),
                                             to_cstr(episode_id, "episode_id", True),
                                             to_int(position_s, "position_s"),
                                             to_int(duration_s, "duration_s")))

    def continue_watching(self, limit=0):
        """The continue-watching row (a list, most recent first)."""
        out = ffi.new("char **")
        check(lib.stream_client_continue_watching(out, self._h, to_int(limit, "limit")))
        return _doc(out, "items", list)["items"]

    def my_list(self):
        out = ffi.new("char **")
        check(lib.stream_client_mylist(out, self._h))
        return _doc(out, "items", list)["items"]

    def add_to_my_list(self, title_id):
        check(lib.stream_client_mylist_add(self._h, to_cstr(title_id, "title_id")))

    def remove_from_my_list(self, title_id):
        check(lib.stream_client_mylist_remove(self._h, to_cstr(title_id, "title_id")))

    def home(self, per_row=0):
        """The profile's home screen: a dict with "profile_id", "model_version" and "rows"
        (each {"id", "name", "items"}, plus "source_title_id" for because_you_watched)."""
        out = ffi.new("char **")
        check(lib.stream_client_home(out, self._h, to_int(per_row, "per_row")))
        return _doc(out, "rows", list)

    def rate(self, title_id, value):
        """Rate a title for the selected profile: 1 (thumbs up), -1 (down) or 0 (clear)."""
        check(lib.stream_client_rating_put(self._h, to_cstr(title_id, "title_id"),
                                           to_int(value, "value")))

    rating_put = rate

    def rating(self, title_id):
        """The selected profile's rating of a title: 1 (up), -1 (down) or 0 (none)."""
        out = ffi.new("int *")
        check(lib.stream_client_rating_get(out, self._h, to_cstr(title_id, "title_id")))
        return int(out[0])

    rating_get = rating

    # ---- billing ----------------------------------------------------------
    # ``key`` is the Idempotency-Key of a call that changes billing state: the
    # same key and arguments give the first answer again (safe to retry); None
    # lets the C client generate one for this call. Declines raise PaymentError.

    def billing_plans(self):
        """The active plans (a list of dicts: id, name, amount, currency, screens, ...)."""
        out = ffi.new("char **")
        check(lib.stream_client_billing_plans(out, self._h))
        return _doc(out, "plans", list)["plans"]

    def subscription(self):
        """The account's subscription (a dict); NotFound when it never subscribed."""
        out = ffi.new("char **")
        check(lib.stream_client_billing_subscription(out, self._h))
        return _doc(out, "subscription", dict)["subscription"]

    def subscribe(self, plan_id, card_id=None, *, key=None):
        """Subscribe; returns {"subscription": {...}, "invoice_id": ...}."""
        out = ffi.new("char **")
        check(lib.stream_client_billing_subscribe(out, self._h, to_cstr(plan_id, "plan_id"),
                                                  to_cstr(card_id, "card_id", True),
                                                  to_cstr(key, "key", True)))
        return _doc(out, "subscription", dict)

    def change_plan(self, plan_id, *, key=None):
        """Change plan; returns {"subscription": {...}, "invoice_id": ...}."""
        out = ffi.new("char **")
        check(lib.stream_client_billing_change_plan(out, self._h, to_cstr(plan_id, "plan_id"),
                                                    to_cstr(key, "key", True)))
        return _doc(out, "subscription", dict)

    def cancel_subscription(self, *, key=None):
        """Cancel at period end; returns the subscription (a dict)."""
        out = ffi.new("char **")
        check(lib.stream_client_billing_cancel(out, self._h, to_cstr(key, "key", True)))
        return _doc(out, "subscription", dict)["subscription"]

    def resume_subscription(self, *, key=None):
        """Undo a cancellation; returns the subscription (a dict)."""
        out = ffi.new("char **")
        check(lib.stream_client_billing_resume(out, self._h, to_cstr(key, "key", True)))
        return _doc(out, "subscription", dict)["subscription"]

    def invoices(self):
        """The account's invoices, newest first (dicts without lines)."""
        out = ffi.new("char **")
        check(lib.stream_client_billing_invoices(out, self._h))
        return _doc(out, "invoices", list)["invoices"]

    def add_card(self, token, *, key=None):
        """Add a payment method from a provider token; returns it (brand, last4, ...)."""
        out = ffi.new("char **")
        check(lib.stream_client_billing_card_add(out, self._h, to_cstr(token, "token"),
                                                 to_cstr(key, "key", True)))
        return _doc(out, kind=dict)

    def entitlement(self, title_id, device_id):
        """{"allowed", "reason", "message", "plan_id", "max_height", "screens",
        "screens_in_use"} for the current profile."""
        out = ffi.new("char **")
        check(lib.stream_client_billing_entitlement(out, self._h, to_cstr(title_id, "title_id"),
                                                    to_cstr(device_id, "device_id")))
        return _doc(out, kind=dict)

    def lease_acquire(self, title_id, device_id, device_name=None):
        """Take a screen (a lease dict); Busy when every screen is in use."""
        out = ffi.new("char **")
        check(lib.stream_client_billing_lease_acquire(out, self._h,
                                                      to_cstr(title_id, "title_id"),
                                                      to_cstr(device_id, "device_id"),
                                                      to_cstr(device_name, "device_name", True)))
        return _doc(out, kind=dict)

    def lease_heartbeat(self, lease_id):
        """Renew a lease (the lease dict); Expired when it lapsed."""
        out = ffi.new("char **")
        check(lib.stream_client_billing_lease_heartbeat(out, self._h,
                                                        to_cstr(lease_id, "lease_id")))
        return _doc(out, kind=dict)

    def lease_release(self, lease_id):
        check(lib.stream_client_billing_lease_release(self._h, to_cstr(lease_id, "lease_id")))

    # ---- anything else ----------------------------------------------------

    def request(self, method, path, body=None):
        """Call any route: ``body`` (a dict/list, or JSON text) is sent as JSON;
        returns the decoded answer (None for an empty one)."""
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body, separators=(",", ":"))
        out = ffi.new("char **")
        check(lib.stream_client_request(out, self._h, to_cstr(method, "method"),
                                        to_cstr(path, "path"), to_cstr(body, "body", True)))
        return _doc(out)
