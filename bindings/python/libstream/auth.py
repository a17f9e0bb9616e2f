"""The account service: registration, password sign-in (Argon2id, rate limits),
JWT access tokens, rotating refresh tokens with reuse detection, revocation
(RFC 7009), TV sign-in by code (RFC 8628 device grant) and profiles.

``Auth`` wraps one ``stream_auth`` handle over a :class:`libstream.store.Store`
and a :class:`libstream.KeyRing` (the access-token keys; the primary signs).
It speaks no HTTP; streamd maps its calls to routes. Results are named
tuples (:class:`Tokens`, :class:`Account`, :class:`Identity`,
:class:`DeviceCode`, :class:`DeviceInfo`) and plain dicts for profiles.
Errors raise the ``libstream.StreamError`` subclass of the status with the
library's message: ``AuthError`` (wrong e-mail or password, unknown or reused
refresh token), ``Busy`` (rate limited: ``e.retry_after`` seconds), ...
A failed device poll carries ``e.poll_status`` (a :class:`PollStatus`) and
``e.oauth_error`` (the RFC 8628 error string).

An Auth is thread-safe, like the C handle, and the GIL is released during
every call. A ``clock`` (a callable returning Unix seconds) replaces the
system clock, for tests; it is called from the thread making the call, and
an exception it raises is re-raised when that call returns (the call itself
saw the system time). Only available in builds with the server feature
(``libstream.auth.AVAILABLE``).

    from libstream import KeyRing, Key
    from libstream.store import Store
    from libstream.auth import Auth
    with Store("streamd.db") as st, KeyRing([Key.generate("hmac", "k1")]) as ring:
        auth = Auth(st, ring, issuer="https://id.example.com")
        auth.register("ada@example.com", "correct horse battery")
        t = auth.login("ada@example.com", "correct horse battery", client_address="203.0.113.9")
        print(auth.verify_access(t.access_token).account_id)
"""
import collections
import enum

from ._ffi import ffi, lib
from ._util import ClockedHandle, Handle, Keep, new_struct, set_int, text, to_cstr, to_int
from .errors import check, raise_invalid
from .keys import Key, KeyRing

__all__ = ["AVAILABLE", "Auth", "Role", "PollStatus", "Tokens", "Account", "Identity",
           "DeviceCode", "DeviceInfo", "DeviceStatus", "PasswordReset", "normalize_email"]

AVAILABLE = hasattr(lib, "stream_auth_new")

if AVAILABLE:
    PASSWORD_MIN = lib.STREAM_AUTH_PASSWORD_MIN
    PASSWORD_MAX = lib.STREAM_AUTH_PASSWORD_MAX
    PROFILES_MAX = lib.STREAM_AUTH_PROFILES_MAX
    USER_CODE_ALPHABET = ffi.string(lib.STREAM_AUTH_USER_CODE_ALPHABET).decode("ascii")
    # How long a claim of password_reset_process on a request lasts (a refused mail's retry).
    RESET_CLAIM_SECONDS = lib.STREAM_AUTH_RESET_CLAIM_SECONDS
    __all__ += ["PASSWORD_MIN", "PASSWORD_MAX", "PROFILES_MAX", "USER_CODE_ALPHABET",
                "RESET_CLAIM_SECONDS"]


class Role(enum.IntEnum):
    VIEWER = getattr(lib, "STREAM_AUTH_ROLE_VIEWER", 0)
    OPERATOR = getattr(lib, "STREAM_AUTH_ROLE_OPERATOR", 1)


class PollStatus(enum.IntEnum):
    """Outcome of a device poll; ``oauth_error`` is the RFC 8628 error string."""
    SUCCESS = getattr(lib, "STREAM_AUTH_POLL_SUCCESS", 0)
    PENDING = getattr(lib, "STREAM_AUTH_POLL_PENDING", 1)
    SLOW_DOWN = getattr(lib, "STREAM_AUTH_POLL_SLOW_DOWN", 2)
    EXPIRED = getattr(lib, "STREAM_AUTH_POLL_EXPIRED", 3)
    DENIED = getattr(lib, "STREAM_AUTH_POLL_DENIED", 4)
    INVALID_GRANT = getattr(lib, "STREAM_AUTH_POLL_INVALID_GRANT", 5)
    INVALID_REQUEST = getattr(lib, "STREAM_AUTH_POLL_INVALID_REQUEST", 6)
    ERROR = getattr(lib, "STREAM_AUTH_POLL_ERROR", 7)

    @property
    def oauth_error(self):
        return _OAUTH_ERRORS[self]


_OAUTH_ERRORS = {
    PollStatus.SUCCESS: None,
    PollStatus.PENDING: "authorization_pending",
    PollStatus.SLOW_DOWN: "slow_down",
    PollStatus.EXPIRED: "expired_token",
    PollStatus.DENIED: "access_denied",
    PollStatus.INVALID_GRANT: "invalid_grant",
    PollStatus.INVALID_REQUEST: "invalid_request",
    PollStatus.ERROR: "server_error",
}


class DeviceStatus(enum.IntEnum):
    """State of a device authorization as the activation page sees it."""
    PENDING = getattr(lib, "STREAM_STORE_DEVICE_PENDING", 0)
    APPROVED = getattr(lib, "STREAM_STORE_DEVICE_APPROVED", 1)
    DENIED = getattr(lib, "STREAM_STORE_DEVICE_DENIED", 2)
    CONSUMED = getattr(lib, "STREAM_STORE_DEVICE_CONSUMED", 3)
    EXPIRED = getattr(lib, "STREAM_STORE_DEVICE_EXPIRED", 4)


Tokens = collections.namedtuple(
    "Tokens", "access_token refresh_token token_type expires_in refresh_expires_in scope "
    "account_id profile_id role")
Tokens.__doc__ = ("Tokens of a sign-in, refresh, device poll or profile switch (bearer secrets: "
                  "do not log them). profile_id is '' when not scoped to a profile.")
Account = collections.namedtuple("Account", "id email role disabled created_at")
Identity = collections.namedtuple(
    "Identity", "account_id profile_id role kids maturity_ceiling scope jti issued_at expires_at")
Identity.__doc__ = "Who a verified access token speaks for (profile_id '' without a profile)."
DeviceCode = collections.namedtuple(
    "DeviceCode", "device_code user_code verification_uri verification_uri_complete expires_in "
    "interval")
DeviceCode.__doc__ = "RFC 8628 §3.2 response; device_code is the device's secret."
DeviceInfo = collections.namedtuple("DeviceInfo", "user_code client_id scope status expires_at")

_ROLE_NAMES = {"viewer": Role.VIEWER, "operator": Role.OPERATOR}


def _require():
    if not AVAILABLE:
        raise ImportError("libstream was built without the server feature (auth)")


def _role(value):
    if isinstance(value, str):
        try:
            return _ROLE_NAMES[value.lower()]
        except KeyError:
            raise_invalid("unknown role %r (one of: operator, viewer)" % value)
    return to_int(value, "role")  # unknown numbers: the C library says why


def _wipe(p):
    """Zero a C struct that held secrets (the Python copies cannot be wiped)."""
    ffi.memmove(p, b"\0" * ffi.sizeof(p[0]), ffi.sizeof(p[0]))


def _tokens(p):
    try:
        return Tokens(text(p.access_token), text(p.refresh_token), text(p.token_type),
                      p.expires_in, p.refresh_expires_in, text(p.scope), text(p.account_id),
                      text(p.profile_id), Role(p.role))
    finally:
        _wipe(p)


def _account(p):
    return Account(text(p.id), text(p.email), Role(p.role), bool(p.disabled), p.created_at)


def _profile(p):
    return {"id": text(p.id), "account_id": text(p.account_id), "name": text(p.name),
            "avatar": text(p.avatar), "kids": bool(p.kids),
            "maturity_ceiling": p.maturity_ceiling, "has_pin": bool(p.has_pin),
            "created_at": p.created_at}


def _bool_arg(value, name):
    if not isinstance(value, bool):
        raise TypeError("%s must be a bool, not %s" % (name, type(value).__name__))
    return 1 if value else 0


def normalize_email(email):
    """The normalized form of an e-mail address (trimmed, ASCII lowercased).
    Raises InvalidArgument for a malformed address."""
    _require()
    buf = ffi.new("char[]", lib.STREAM_AUTH_EMAIL_SIZE)
    check(lib.stream_auth_email_normalize(buf, lib.STREAM_AUTH_EMAIL_SIZE, to_cstr(email, "email")))
    return text(buf)


class PasswordReset(Handle):
    """A prepared password reset request (``Auth.password_reset_prepare``): it holds
    the e-mail and the secret token of the link. ``send()`` looks the account up and,
    for an existing enabled one only, stores the link and calls the Auth's
    ``send_mail`` (on the calling thread); it returns None either way and may be
    called once (InvalidArgument after). ``close()`` (or the garbage collector)
    wipes the token and frees it, sent or not: closing it unsent drops the request.
    A context manager. Keeps its Auth alive; the Auth must still be open to send."""

    _repr_name = "libstream.auth.PasswordReset"

    def __init__(self, auth, ptr):
        self._auth = auth
        self._ptr = ffi.gc(ptr, lib.stream_auth_reset_free)

    def send(self):
        """Do the account-dependent half. Raises InvalidArgument (closed, sent
        already), or a store error (IOFailure, Busy)."""
        if self._ptr is None:
            raise_invalid("the password reset is closed")
        self._auth._run(lib.stream_auth_password_reset_send, self._auth._h, self._ptr)


class Auth(ClockedHandle):
    """The account service over a Store and a KeyRing (both borrowed: keep them open
    while the Auth lives; closing the Store closes the Auth first).

    Options (defaults as in C): ``issuer``/``audience`` ("iss"/"aud" of access tokens),
    ``access_ttl`` (900 s), ``refresh_ttl`` (30 days), ``password_params`` (a dict
    of Argon2id ``m_cost``, ``t_cost``, ``parallelism``, ``hash_len``, ``salt_len``),
    ``scope`` ("stream"), ``rate_account_burst``/``rate_account_interval`` (5 per
    60 s), ``rate_address_burst``/``rate_address_interval`` (20 per 6 s; burst 0 =
    no limit), ``rate_table_size``, ``verification_uri`` (None disables the device
    grant), ``device_interval`` (5 s), ``device_lifetime`` (600 s), ``clock``,
    ``rate_in_store`` (False: the rate-limit buckets in this process's memory;
    True: in the store, shared by every process on it), ``rate_key`` (with
    ``rate_in_store``: an HMAC ``Key`` of at least 32 bytes naming the stored
    buckets by HMAC-SHA256 instead of the plain SHA-256 of the e-mail or
    address; every process sharing the store needs the same key).

    Password reset by e-mail (``password_reset_start``) needs ``send_mail``, a
    callable ``send_mail(to, subject, text_body)`` that delivers one message (the
    body holds the secret link: do not log it), and ``reset_url_base``, the
    absolute http(s) URL the token is appended to; ``reset_lifetime`` is the
    link's lifetime (1800 s). ``send_mail`` runs on the thread making the call;
    an exception it raises counts as a failed delivery: the library logs it
    (without the token) and the call still succeeds, so that a caller cannot
    tell known e-mails from unknown ones (``password_reset_process``: the
    request stays pending and is retried later).
    """

    _repr_name = "libstream.auth.Auth"

    def __init__(self, store, keys, *, issuer=None, audience=None, access_ttl=None,
                 refresh_ttl=None, password_params=None, scope=None, rate_account_burst=None,
                 rate_account_interval=None, rate_address_burst=None, rate_address_interval=None,
                 rate_table_size=None, verification_uri=None, device_interval=None,
                 device_lifetime=None, clock=None, send_mail=None, reset_url_base=None,
                 reset_lifetime=None, rate_in_store=None, rate_key=None):
        _require()
        from .store import Store  # local: store.py is optional in the same way
        from .password import _params

        if not isinstance(store, Store):
            raise TypeError("store must be a libstream.store.Store, not %s" % type(store).__name__)
        if not isinstance(keys, KeyRing):
            raise TypeError("keys must be a libstream.KeyRing, not %s" % type(keys).__name__)
        keep = Keep()
        o = new_struct("stream_auth_options")
        o.store = store._cptr
        o.keys = keys._cptr
        if rate_key is not None:
            if not isinstance(rate_key, Key):
                raise TypeError("rate_key must be a libstream.Key, not %s" % type(rate_key).__name__)
            o.rate_key = rate_key._cptr  # the library keeps its own reference
        o.issuer = keep.cstr(issuer, "issuer", allow_none=True)
        o.audience = keep.cstr(audience, "audience", allow_none=True)
        o.scope = keep.cstr(scope, "scope", allow_none=True)
        o.verification_uri = keep.cstr(verification_uri, "verification_uri", allow_none=True)
        o.reset_url_base = keep.cstr(reset_url_base, "reset_url_base", allow_none=True)
        self._mail_cb = None
        if send_mail is not None:
            if not callable(send_mail):
                raise TypeError("send_mail must be callable (to, subject, text_body)")

            def mail_trampoline(_ud, to, subject, body):
                try:
                    send_mail(text(to), text(subject), text(body))
                    return 0
                except BaseException:  # a failed delivery: the library logs it
                    return -1

            self._mail_cb = ffi.callback("stream_auth_mail_fn", mail_trampoline)
            o.send_mail = self._mail_cb
        for field, value in (("access_ttl", access_ttl), ("refresh_ttl", refresh_ttl),
                             ("rate_account_burst", rate_account_burst),
                             ("rate_account_interval", rate_account_interval),
                             ("rate_address_burst", rate_address_burst),
                             ("rate_address_interval", rate_address_interval),
                             ("rate_table_size", rate_table_size),
                             ("device_interval", device_interval),
                             ("device_lifetime", device_lifetime),
                             ("reset_lifetime", reset_lifetime),
                             ("rate_in_store", None if rate_in_store is None
                              else int(bool(rate_in_store)))):
            if value is not None:
                set_int(o, field, value, field)
        if password_params is not None:
            if not hasattr(password_params, "items"):
                raise TypeError("password_params must be a dict of Argon2id parameters")
            allowed = {"m_cost", "t_cost", "parallelism", "hash_len", "salt_len"}
            unknown = set(password_params) - allowed
            if unknown:
                raise_invalid("unknown password parameter(s): %s (allowed: %s)" %
                              (", ".join(sorted(unknown)), ", ".join(sorted(allowed))))
            pp, _ = _params(**password_params)
            keep.refs.append(pp)
            o.password = pp
        if self._clock("stream_auth_clock_fn", clock) is not None:
            o.now = self._clock_cb
        out = ffi.new("stream_auth **")
        self._pending.errors = []
        rc = lib.stream_auth_new(out, o)
        errs, self._pending.errors = self._pending.errors, None
        check(rc)
        # The destructor keeps the store's and ring's C objects (and the clock
        # callback) alive until the auth handle is freed, whatever the
        # garbage collector's order.
        self._store, self._ring = store, keys
        deps = (store._ptr, keys._ptr, self._clock_cb, self._mail_cb)
        self._ptr = ffi.gc(out[0], lambda p, _deps=deps: lib.stream_auth_free(p))
        store._attach(self)
        if errs:
            self.close()
            raise errs[0]

    # ---- lifetime ---------------------------------------------------------

    @property
    def _h(self):
        if self._ptr is None:
            raise_invalid("the auth service is closed")
        if self._store.closed:
            raise_invalid("the store of this auth service is closed")
        if self._ring._ptr is None:
            raise_invalid("the key ring of this auth service is closed")
        return self._ptr

    # ---- accounts ---------------------------------------------------------

    def register(self, email, password):
        """Create a viewer account (does not sign in). Returns the ``Account``.
        Raises InvalidArgument (e-mail, password length 8..1024), AlreadyExists."""
        out = ffi.new("stream_auth_account *")
        self._run(lib.stream_auth_register, out, self._h, to_cstr(email, "email"),
                  to_cstr(password, "password"))
        return _account(out)

    def create_account(self, email, password, role=Role.VIEWER):
        """Create an account with a role ("viewer", "operator" or a ``Role``)."""
        out = ffi.new("stream_auth_account *")
        self._run(lib.stream_auth_account_create, out, self._h, to_cstr(email, "email"),
                  to_cstr(password, "password"), _role(role))
        return _account(out)

    def account(self, account_id):
        """The ``Account`` with this id (NotFound otherwise)."""
        out = ffi.new("stream_auth_account *")
        self._run(lib.stream_auth_account_get, out, self._h, to_cstr(account_id, "account_id"))
        return _account(out)

    def set_password(self, account_id, password):
        """Replace the password and sign out every device of the account."""
        self._run(lib.stream_auth_account_set_password, self._h,
                  to_cstr(account_id, "account_id"), to_cstr(password, "password"))

    def set_role(self, account_id, role):
        self._run(lib.stream_auth_account_set_role, self._h, to_cstr(account_id, "account_id"),
                  _role(role))

    def set_disabled(self, account_id, disabled=True):
        """Disable (revoking every refresh token) or re-enable an account."""
        self._run(lib.stream_auth_account_set_disabled, self._h,
                  to_cstr(account_id, "account_id"), _bool_arg(disabled, "disabled"))

    def delete_account(self, account_id, password, client_address=None):
        """Delete the account at its owner's request, confirmed with its password
        (the same Argon2id check and rate limits as ``login``). Profiles with their
        progress, My List and ratings, refresh tokens, device sign-ins, saved cards
        and screen leases go; the live subscription ends now (no refund, never
        renewed); invoices, payments and refunds stay against a tombstone that
        releases the e-mail (see ``Store.close_account``). Afterwards ``login``
        fails like an unknown e-mail and the account's tokens are refused.
        Raises AuthError (wrong password: nothing changed), NotFound (no such or
        already deleted account), Busy (rate limited, ``e.retry_after``; or a
        payment being collected, ``e.retry_after`` 0), InvalidArgument."""
        retry = ffi.new("int64_t *")
        rc = self._call(lib.stream_auth_account_delete, retry, self._h,
                        to_cstr(account_id, "account_id"), to_cstr(password, "password"),
                        to_cstr(client_address, "client_address", allow_none=True))
        self._raise_busy(rc, retry[0])

    def delete_account_admin(self, account_id):
        """The operator's ``delete_account``: no password, no rate limit (the caller
        checked the operator's authority). Raises NotFound, Busy, InvalidArgument."""
        self._run(lib.stream_auth_account_delete_admin, self._h,
                  to_cstr(account_id, "account_id"))

    # ---- password change and reset ---------------------------------------

    def change_password(self, account_id, current_password, new_password, client_address=None):
        """Change the password of a signed-in account: ``current_password`` is checked
        like ``login`` (same Argon2id work and rate limits), ``new_password`` must be
        8..1024 bytes. Every refresh token of the account is revoked (all devices
        sign in again; access tokens run until they expire).
        Raises AuthError (wrong current password: nothing changed), InvalidArgument
        (a weak new password, checked first), NotFound, Forbidden (disabled), Busy
        (rate limited, ``e.retry_after``)."""
        retry = ffi.new("int64_t *")
        rc = self._call(lib.stream_auth_change_password, retry, self._h,
                        to_cstr(account_id, "account_id"),
                        to_cstr(current_password, "current_password"),
                        to_cstr(new_password, "new_password"),
                        to_cstr(client_address, "client_address", allow_none=True))
        self._raise_busy(rc, retry[0])

    def password_reset_start(self, email, client_address=None):
        """Forgotten password: e-mail a one-time link (``reset_url_base`` + token,
        valid ``reset_lifetime`` s) through ``send_mail`` when an enabled account has
        this address. Returns None either way (no account enumeration); a newer
        link replaces the older ones. Raises InvalidArgument (malformed e-mail),
        NotSupported (no ``send_mail``), Busy (too many requests for the e-mail or
        the address, ``e.retry_after``)."""
        retry = ffi.new("int64_t *")
        rc = self._call(lib.stream_auth_password_reset_start, retry, self._h,
                        to_cstr(email, "email"),
                        to_cstr(client_address, "client_address", allow_none=True))
        self._raise_busy(rc, retry[0])

    def password_reset_prepare(self, email, client_address=None):
        """The first half of ``password_reset_start``, for a caller that must answer in
        the same time for every address: the checks, the rate limits and the token,
        but no account lookup, no store write and no mail. Returns a
        :class:`PasswordReset` whose ``send()`` does the rest later (on any thread;
        the link's lifetime counts from now). Raises like ``password_reset_start``."""
        out = ffi.new("stream_auth_reset **")
        retry = ffi.new("int64_t *")
        rc = self._call(lib.stream_auth_password_reset_prepare, out, retry, self._h,
                        to_cstr(email, "email"),
                        to_cstr(client_address, "client_address", allow_none=True))
        self._raise_busy(rc, retry[0])
        return PasswordReset(self, out[0])

    def password_reset_request(self, email, client_address=None):
        """Accept a forgotten-password request durably: the checks and the rate limits
        of ``password_reset_start``, then one row committed to the store (the
        normalized e-mail and the time), the same work for every address; no
        account lookup, no token, no mail. ``password_reset_process`` (here or in
        another process on the same database, also after a crash) mails it. Returns
        None. Raises InvalidArgument (malformed e-mail), NotSupported (no
        ``send_mail``), Busy (rate limited, ``e.retry_after`` > 0; or the store is
        locked), IOFailure (nothing was recorded)."""
        retry = ffi.new("int64_t *")
        rc = self._call(lib.stream_auth_password_reset_request, retry, self._h,
                        to_cstr(email, "email"),
                        to_cstr(client_address, "client_address", allow_none=True))
        self._raise_busy(rc, retry[0])

    def password_reset_process(self, max=None):
        """Process pending reset requests oldest first, at most ``max`` (None: until
        none is left): for a known, enabled account a new link is stored and mailed
        through ``send_mail`` (on the calling thread), then the request is deleted;
        other addresses are just deleted. Returns how many requests were finished.
        A message ``send_mail`` refused (it raised) stays pending and is retried
        with a new link once its claim has run out (``RESET_CLAIM_SECONDS``):
        the other requests are processed,
        then IOFailure says how many were refused. Raises NotSupported (no
        ``send_mail``), IOFailure / Busy (store). An exception carries ``e.done``,
        the requests finished before it."""
        n = ffi.new("size_t *")
        limit = ffi.cast("size_t", -1) if max is None else to_int(max, "max")
        if max is not None and limit < 0:
            raise_invalid("max must be >= 0, not %d" % limit)
        rc = self._call(lib.stream_auth_password_reset_process, n, self._h, limit)
        try:
            check(rc)
        except Exception as e:
            e.done = int(n[0])
            raise
        return int(n[0])

    def password_reset_pending(self):
        """How many reset requests are stored and not yet finished (claimed ones
        and ones waiting for a retry included)."""
        n = ffi.new("size_t *")
        self._run(lib.stream_auth_password_reset_pending, n, self._h)
        return int(n[0])

    def password_reset_finish(self, token, new_password):
        """Set ``new_password`` with the token of an e-mailed link (once): revokes
        every refresh token of the account; does not sign in. Returns the
        ``Account``. Raises AuthError (unknown or used token), Expired, Forbidden
        (disabled account), InvalidArgument (malformed token, weak password)."""
        out = ffi.new("stream_auth_account *")
        self._run(lib.stream_auth_password_reset_finish, out, self._h, to_cstr(token, "token"),
                  to_cstr(new_password, "new_password"))
        return _account(out)

    # ---- sign-in and tokens ----------------------------------------------

    def login(self, email, password, client_address=None):
        """Sign in: ``Tokens`` of a new session (not scoped to a profile).
        Raises AuthError ("invalid e-mail or password", the same for an unknown
        e-mail), Forbidden (disabled), Busy (rate limited; ``e.retry_after``)."""
        out = ffi.new("stream_auth_tokens *")
        retry = ffi.new("int64_t *")
        rc = self._call(lib.stream_auth_login, out, retry, self._h, to_cstr(email, "email"),
                        to_cstr(password, "password"),
                        to_cstr(client_address, "client_address", allow_none=True))
        self._raise_busy(rc, retry[0])
        return _tokens(out)

    @staticmethod
    def _raise_busy(rc, retry_after):
        try:
            check(rc)
        except Exception as e:
            if rc == lib.STREAM_EBUSY:
                e.retry_after = int(retry_after)
            raise

    def refresh(self, refresh_token):
        """Rotate a refresh token: new ``Tokens`` of the same family. Presenting a
        used token again raises AuthError ("reuse detected") and revokes the family."""
        out = ffi.new("stream_auth_tokens *")
        self._run(lib.stream_auth_refresh, out, self._h, to_cstr(refresh_token, "refresh_token"))
        return _tokens(out)

    def logout(self, refresh_token):
        """Sign out the session of this refresh token (its whole family)."""
        self._run(lib.stream_auth_logout, self._h, to_cstr(refresh_token, "refresh_token"))

    def logout_all(self, account_id):
        """Sign out every session of the account; returns how many tokens were revoked."""
        n = ffi.new("size_t *")
        self._run(lib.stream_auth_logout_all, n, self._h, to_cstr(account_id, "account_id"))
        return n[0]

    def revoke(self, token, token_type_hint=None):
        """RFC 7009 revocation: unknown, malformed or access tokens are not an error."""
        self._run(lib.stream_auth_revoke, self._h, to_cstr(token, "token"),
                  to_cstr(token_type_hint, "token_type_hint", allow_none=True))

    def verify_access(self, access_token):
        """Verify an access token (signature, expiry, iss, aud): an ``Identity``.
        Raises AuthError, Expired, Forbidden (issuer/audience), InvalidArgument."""
        out = ffi.new("stream_auth_identity *")
        self._run(lib.stream_auth_verify_access, out, self._h, to_cstr(access_token, "token"))
        return Identity(text(out.account_id), text(out.profile_id), Role(out.role),
                        bool(out.kids), out.maturity_ceiling, text(out.scope), text(out.jti),
                        out.issued_at, out.expires_at)

    # ---- TV sign-in (RFC 8628) -------------------------------------------

    def device_start(self, client_id, scope=None):
        """Start a device authorization: a ``DeviceCode`` (show user_code and
        verification_uri; keep device_code secret). NotSupported without a
        verification_uri."""
        out = ffi.new("stream_auth_device_code *")
        self._run(lib.stream_auth_device_start, out, self._h, to_cstr(client_id, "client_id"),
                  to_cstr(scope, "scope", allow_none=True))
        try:
            return DeviceCode(text(out.device_code), text(out.user_code),
                              text(out.verification_uri), text(out.verification_uri_complete),
                              out.expires_in, out.interval)
        finally:
            _wipe(out)

    def device_poll(self, device_code, client_id):
        """Poll once: ``Tokens`` once approved. Otherwise raises the status's error
        with ``e.poll_status`` (PollStatus) and ``e.oauth_error``: Busy for
        authorization_pending / slow_down, Expired, Forbidden (denied), AuthError
        (invalid_grant), InvalidArgument."""
        out = ffi.new("stream_auth_tokens *")
        st = ffi.new("int *")
        rc = self._call(lib.stream_auth_device_poll, out, st, self._h,
                        to_cstr(device_code, "device_code"), to_cstr(client_id, "client_id"))
        try:
            check(rc)
        except Exception as e:
            try:
                e.poll_status = PollStatus(st[0])
            except ValueError:
                e.poll_status = PollStatus.ERROR
            e.oauth_error = e.poll_status.oauth_error
            raise
        return _tokens(out)

    def device_lookup(self, user_code):
        """What the activation page shows about a user code: a ``DeviceInfo``."""
        out = ffi.new("stream_auth_device_info *")
        self._run(lib.stream_auth_device_lookup, out, self._h, to_cstr(user_code, "user_code"))
        return DeviceInfo(text(out.user_code), text(out.client_id), text(out.scope),
                          DeviceStatus(out.status), out.expires_at)

    def device_approve(self, user_code, account_id, profile_id=None, pin=None):
        """Approve the pending authorization of ``user_code`` for an account (and profile).

        The device gets tokens scoped to the profile, so a profile with a PIN needs
        ``pin``, checked like ``switch_profile``: Forbidden (PIN missing or wrong; the
        authorization stays pending), Busy (too many PIN attempts; ``e.retry_after``).
        A ``pin`` without a ``profile_id`` is InvalidArgument."""
        retry = ffi.new("int64_t *")
        rc = self._call(lib.stream_auth_device_approve_pin, retry, self._h,
                        to_cstr(user_code, "user_code"), to_cstr(account_id, "account_id"),
                        to_cstr(profile_id, "profile_id", allow_none=True),
                        to_cstr(pin, "pin", allow_none=True))
        self._raise_busy(rc, retry[0])

    def device_deny(self, user_code):
        self._run(lib.stream_auth_device_deny, self._h, to_cstr(user_code, "user_code"))

    # ---- profiles ---------------------------------------------------------

    @staticmethod
    def _profile_input(keep, name, avatar, kids, maturity_ceiling, pin):
        p = new_struct("stream_auth_profile_input")
        p.name = keep.cstr(name, "name", allow_none=True)
        p.avatar = keep.cstr(avatar, "avatar", allow_none=True)
        p.pin = keep.cstr(pin, "pin", allow_none=True)
        if kids is not None:
            p.kids = _bool_arg(kids, "kids")
        if maturity_ceiling is not None:
            set_int(p, "maturity_ceiling", maturity_ceiling, "maturity_ceiling")
        return p

    def create_profile(self, account_id, name, *, avatar=None, kids=None, maturity_ceiling=None,
                       pin=None):
        """Create a profile (at most 5 per account: OutOfRange past that). Returns it
        as a dict (id, account_id, name, avatar, kids, maturity_ceiling, has_pin,
        created_at). ``pin``: 4 ASCII digits."""
        keep = Keep()
        p = self._profile_input(keep, name, avatar, kids, maturity_ceiling, pin)
        out = ffi.new("stream_auth_profile *")
        self._run(lib.stream_auth_profile_create, out, self._h,
                  to_cstr(account_id, "account_id"), p)
        return _profile(out)

    def profiles(self, account_id):
        """The account's profiles, oldest first (a list of dicts)."""
        arr = ffi.new("stream_auth_profile[]", lib.STREAM_AUTH_PROFILES_MAX)
        n = ffi.new("size_t *")
        self._run(lib.stream_auth_profile_list, arr, n, self._h,
                  to_cstr(account_id, "account_id"))
        return [_profile(arr + i) for i in range(n[0])]

    def profile(self, account_id, profile_id):
        out = ffi.new("stream_auth_profile *")
        self._run(lib.stream_auth_profile_get, out, self._h, to_cstr(account_id, "account_id"),
                  to_cstr(profile_id, "profile_id"))
        return _profile(out)

    def update_profile(self, account_id, profile_id, *, name=None, avatar=None, kids=None,
                       maturity_ceiling=None, pin=None, password=None, client_address=None):
        """Change the given fields (None keeps one; ``pin=""`` removes the PIN). Returns the
        profile (a dict).

        Setting, changing or removing a PIN (``pin`` not None) takes the account's
        ``password``, checked like ``login`` (same Argon2id work and rate-limit buckets, per
        account and ``client_address``) before anything is written
        (``stream_auth_profile_update_checked``): a PIN keeps housemates out of a profile.
        So does changing ``kids`` or ``maturity_ceiling`` of a profile that has a PIN (to a
        value other than the stored one). Otherwise no password is needed (one given is
        ignored): name and avatar changes, any change of a profile without a PIN.
        Raises InvalidArgument (a password needed but missing, a bad field), AuthError (wrong
        password: nothing changed), Busy (too many password attempts, ``e.retry_after``),
        Forbidden (account disabled), NotFound, AlreadyExists (name taken)."""
        keep = Keep()
        p = self._profile_input(keep, name, avatar, kids, maturity_ceiling, pin)
        out = ffi.new("stream_auth_profile *")
        retry = ffi.new("int64_t *")
        rc = self._call(lib.stream_auth_profile_update_checked, out, retry, self._h,
                        to_cstr(account_id, "account_id"), to_cstr(profile_id, "profile_id"), p,
                        to_cstr(password, "password", allow_none=True),
                        to_cstr(client_address, "client_address", allow_none=True))
        self._raise_busy(rc, retry[0])
        return _profile(out)

    def delete_profile(self, account_id, profile_id, *, password=None, client_address=None):
        """Delete a profile with its progress, My List and ratings
        (``stream_auth_profile_delete_checked``).

        A profile that has a PIN is deleted only with the account's ``password``, checked
        like ``login`` (same Argon2id work and rate-limit buckets, per account and
        ``client_address``) before anything is deleted; one without a PIN needs none (one
        given is ignored). Raises InvalidArgument (the profile has a PIN and no password
        was given), AuthError (wrong password: nothing deleted), Busy (too many password
        attempts, ``e.retry_after``), Forbidden (account disabled), NotFound."""
        retry = ffi.new("int64_t *")
        rc = self._call(lib.stream_auth_profile_delete_checked, retry, self._h,
                        to_cstr(account_id, "account_id"), to_cstr(profile_id, "profile_id"),
                        to_cstr(password, "password", allow_none=True),
                        to_cstr(client_address, "client_address", allow_none=True))
        self._raise_busy(rc, retry[0])

    def switch_profile(self, account_id, profile_id, pin=None):
        """``Tokens`` scoped to the profile (a new session). Raises Forbidden (PIN
        missing or wrong), Busy (too many PIN attempts; ``e.retry_after``)."""
        out = ffi.new("stream_auth_tokens *")
        retry = ffi.new("int64_t *")
        rc = self._call(lib.stream_auth_switch_profile, out, retry, self._h,
                        to_cstr(account_id, "account_id"), to_cstr(profile_id, "profile_id"),
                        to_cstr(pin, "pin", allow_none=True))
        self._raise_busy(rc, retry[0])
        return _tokens(out)
