"""libstream.auth over an in-memory store with an injected clock: register ->
login -> refresh rotation -> reuse detection -> logout, access-token checks,
rate limits, the RFC 8628 device flow (pending, slow_down, expiry, denial,
tokens once) and profiles with PINs. Then a real streamd: every rate-limited
route answers 429 + Retry-After + application/problem+json."""
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

import libstream
from libstream import Key, KeyRing

from conftest import assert_status

auth_mod = pytest.importorskip("libstream.auth")
if not auth_mod.AVAILABLE:  # pragma: no cover - client-only builds
    pytest.skip("libstream built without the server feature", allow_module_level=True)

from libstream.auth import Auth, PollStatus, Role, normalize_email  # noqa: E402
from libstream.store import Store  # noqa: E402

NOW = 1700000000
FAST = {"m_cost": 64, "t_cost": 1}  # cheap Argon2id: the tests hash many passwords
PW = "correct horse battery"
USER_CODE = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")
VERIFY = "https://tv.example.com/activate"


class Clock:
    def __init__(self):
        self.t = NOW

    def __call__(self):
        return self.t


@pytest.fixture
def env():
    clock = Clock()
    with Store() as st, KeyRing([Key.generate("hmac", "at-1")]) as ring:
        a = Auth(st, ring, issuer="https://id.test", audience="tv", password_params=FAST,
                 verification_uri=VERIFY, device_interval=5, device_lifetime=600,
                 rate_account_burst=3, rate_account_interval=60, rate_address_burst=0,
                 clock=clock)
        yield a, clock, st, ring
        a.close()


def test_register_and_accounts(env):
    a, _, _, _ = env
    assert normalize_email("  Ada.Lovelace+TV@Example.COM ") == "ada.lovelace+tv@example.com"
    with pytest.raises(libstream.InvalidArgument):
        normalize_email("no-at-sign")
    acct = a.register("  Ada@Example.com", PW)
    assert acct.email == "ada@example.com"
    assert acct.role == Role.VIEWER and not acct.disabled and acct.created_at == NOW
    assert len(acct.id) == 22
    assert a.account(acct.id) == acct
    with pytest.raises(libstream.AlreadyExists) as ei:
        a.register("ADA@example.com", PW)
    assert_status(ei, libstream.AlreadyExists, "STREAM_EEXIST")
    with pytest.raises(libstream.InvalidArgument) as ei:
        a.register("short@example.com", "1234567")
    assert_status(ei, libstream.InvalidArgument, "STREAM_EINVAL")
    with pytest.raises(libstream.InvalidArgument):
        a.register("long@example.com", "x" * 1025)
    a.register("exact@example.com", "x" * 8)
    with pytest.raises(libstream.NotFound):
        a.account("no-such-account")
    op = a.create_account("op@example.com", PW, role="operator")
    assert op.role == Role.OPERATOR
    a.set_role(op.id, Role.VIEWER)
    assert a.account(op.id).role == Role.VIEWER
    with pytest.raises(libstream.InvalidArgument):
        a.create_account("op2@example.com", PW, role="admin")
    with pytest.raises(libstream.InvalidArgument):
        a.set_role(op.id, 7)
    # Wrong types never reach C; NUL bytes are refused.
    with pytest.raises(TypeError):
        a.register(None, PW)
    with pytest.raises(TypeError):
        a.set_disabled(op.id, 1)
    with pytest.raises(libstream.InvalidArgument, match="NUL"):
        a.register("nul@example.com", "pass\0word")


def test_login_refresh_rotation_reuse_logout(env):
    a, clock, _, _ = env
    acct = a.register("flow@example.com", PW)
    t1 = a.login("FLOW@example.com", PW, client_address="203.0.113.9")
    assert t1.token_type == "Bearer" and t1.expires_in == 900
    assert t1.account_id == acct.id and t1.profile_id == "" and t1.role == Role.VIEWER
    assert t1.scope == "stream"
    assert len(t1.refresh_token) == 43 and t1.access_token.count(".") == 2
    ident = a.verify_access(t1.access_token)
    assert ident.account_id == acct.id and ident.profile_id == ""
    assert ident.issued_at == NOW and ident.expires_at == NOW + 900
    assert ident.maturity_ceiling == 18 and not ident.kids and ident.jti

    # Wrong password and unknown e-mail: the same error and message.
    with pytest.raises(libstream.AuthError) as wrong:
        a.login("flow@example.com", "wrong password")
    with pytest.raises(libstream.AuthError) as unknown:
        a.login("nobody@example.com", "wrong password")
    assert wrong.value.message == unknown.value.message == "invalid e-mail or password"

    # Rotation: every refresh consumes the token and returns a new one.
    clock.t += 10
    t2 = a.refresh(t1.refresh_token)
    assert t2.refresh_token != t1.refresh_token and t2.account_id == acct.id
    assert a.verify_access(t2.access_token).issued_at == NOW + 10
    t3 = a.refresh(t2.refresh_token)
    # Reuse of a consumed token revokes the whole family, t3 included.
    with pytest.raises(libstream.AuthError) as ei:
        a.refresh(t1.refresh_token)
    assert_status(ei, libstream.AuthError, "STREAM_EAUTH", "reuse")
    with pytest.raises(libstream.AuthError):
        a.refresh(t3.refresh_token)

    # Logout ends one session; RFC 7009 revocation accepts anything well-formed.
    s1 = a.login("flow@example.com", PW)
    s2 = a.login("flow@example.com", PW)
    a.logout(s1.refresh_token)
    a.logout(s1.refresh_token)  # idempotent
    with pytest.raises(libstream.AuthError):
        a.refresh(s1.refresh_token)
    s2 = a.refresh(s2.refresh_token)
    a.revoke("garbage", "weird hint")
    a.revoke(s2.access_token, "access_token")
    a.revoke(s2.refresh_token)
    with pytest.raises(libstream.AuthError):
        a.refresh(s2.refresh_token)
    with pytest.raises(libstream.InvalidArgument):
        a.revoke("")
    with pytest.raises(libstream.InvalidArgument):
        a.refresh("too-short")
    with pytest.raises(libstream.AuthError):
        a.logout("A" * 43)

    # Sign out everywhere; a new password also does.
    s3, s4 = a.login("flow@example.com", PW), a.login("flow@example.com", PW)
    assert a.logout_all(acct.id) == 2
    for s in (s3, s4):
        with pytest.raises(libstream.AuthError):
            a.refresh(s.refresh_token)
    s5 = a.login("flow@example.com", PW)
    a.set_password(acct.id, "another fine password")
    with pytest.raises(libstream.AuthError):
        a.refresh(s5.refresh_token)
    with pytest.raises(libstream.AuthError):
        a.login("flow@example.com", PW)
    a.login("flow@example.com", "another fine password")

    # Refresh tokens expire (sliding 30 days).
    s6 = a.login("flow@example.com", "another fine password")
    clock.t += 2592000 + 1
    with pytest.raises(libstream.Expired):
        a.refresh(s6.refresh_token)

    # Disabled accounts cannot sign in (said only after the right password).
    a.set_disabled(acct.id)
    with pytest.raises(libstream.Forbidden):
        a.login("flow@example.com", "another fine password")
    a.set_disabled(acct.id, False)
    a.login("flow@example.com", "another fine password")


def test_access_token_checks(env):
    a, clock, st, ring = env
    a.register("tok@example.com", PW)
    t = a.login("tok@example.com", PW)
    h, p, s = t.access_token.split(".")
    for bad in (h + "." + p + "." + ("A" if s[0] != "A" else "B") + s[1:],  # bit-flipped
                h + "." + p + ".", t.access_token[:-5]):  # truncated
        with pytest.raises((libstream.AuthError, libstream.InvalidArgument)):
            a.verify_access(bad)
    for junk in ("", "a.b.c", "x" * 100, "\u00e9.\u00e9.\u00e9"):
        with pytest.raises(libstream.StreamError):
            a.verify_access(junk)
    # Another audience on the same store and keys: the token is not for it.
    other = Auth(st, ring, issuer="https://id.test", audience="web", password_params=FAST,
                 clock=clock)
    with pytest.raises(libstream.Forbidden):
        other.verify_access(t.access_token)
    other.close()
    # Another key: unknown kid.
    with KeyRing([Key.generate("hmac", "at-2")]) as r2:
        third = Auth(st, r2, issuer="https://id.test", audience="tv", password_params=FAST,
                     clock=clock)
        with pytest.raises(libstream.AuthError):
            third.verify_access(t.access_token)
        third.close()
    clock.t += 901
    with pytest.raises(libstream.Expired):
        a.verify_access(t.access_token)


def test_login_rate_limit(env):
    a, clock, _, _ = env
    a.register("rate@example.com", PW)
    for _ in range(3):
        with pytest.raises(libstream.AuthError):
            a.login("rate@example.com", "bad password")
    with pytest.raises(libstream.Busy) as ei:
        a.login("rate@example.com", PW)  # even the right password, while limited
    assert_status(ei, libstream.Busy, "STREAM_EBUSY")
    assert 1 <= ei.value.retry_after <= 60
    # Other accounts are unaffected; time refills the bucket.
    a.register("free@example.com", PW)
    a.login("free@example.com", PW)
    clock.t += ei.value.retry_after
    a.login("rate@example.com", PW)
    # Per client address.
    with Store() as st, KeyRing([Key.generate("hmac", "k")]) as ring:
        b = Auth(st, ring, password_params=FAST, rate_account_burst=0, rate_address_burst=2,
                 rate_address_interval=30, clock=clock)
        for e in ("x1@example.com", "x2@example.com"):
            with pytest.raises(libstream.AuthError):
                b.login(e, "bad password", client_address="198.51.100.7")
        with pytest.raises(libstream.Busy) as ei:
            b.login("x3@example.com", "bad password", client_address="198.51.100.7")
        assert 1 <= ei.value.retry_after <= 30
        with pytest.raises(libstream.AuthError):
            b.login("x3@example.com", "bad password", client_address="198.51.100.8")


def test_login_rate_limit_in_store(tmp_path):
    """rate_in_store: two Auth on two Store handles of one file share the account's bucket."""
    clock = Clock()
    path = str(tmp_path / "rate.db")
    with Store(path) as s1, Store(path) as s2, KeyRing([Key.generate("hmac", "k")]) as ring:
        a, b = (Auth(st, ring, password_params=FAST, rate_account_burst=3,
                     rate_account_interval=60, rate_address_burst=0, clock=clock,
                     rate_in_store=True) for st in (s1, s2))
        a.register("shared@example.com", PW)
        for d in (a, b, a):
            with pytest.raises(libstream.AuthError):
                d.login("shared@example.com", "bad password")
        for d in (a, b):
            with pytest.raises(libstream.Busy) as ei:
                d.login("shared@example.com", PW)
            assert ei.value.retry_after == 60
        assert s1.purge(NOW)["rate_buckets"] == 0  # not full yet
        assert s2.purge(NOW + 180)["rate_buckets"] == 1  # refilled: the row goes
        b.login("shared@example.com", PW)
        a.close()
        b.close()


def test_rate_key_shares_buckets_by_key(tmp_path):
    """rate_key: handles with the same key share the buckets, another key counts its own;
    a key that is not HMAC (or shorter than 32 bytes) is refused with a message."""
    clock = Clock()
    path = str(tmp_path / "rate.db")
    k1, k2 = Key.generate("hmac", "r1", 32), Key.generate("hmac", "r2", 32)
    with Store(path) as s1, Store(path) as s2, KeyRing([Key.generate("hmac", "k")]) as ring:
        def auth(st, key):
            return Auth(st, ring, password_params=FAST, rate_account_burst=2,
                        rate_account_interval=60, rate_address_burst=0, clock=clock,
                        rate_in_store=True, rate_key=key)
        a, b, c = auth(s1, k1), auth(s2, k1), auth(s2, k2)
        k1.close()  # the Auth handles keep their own reference
        a.register("keyed@example.com", PW)
        for d in (a, b):
            with pytest.raises(libstream.AuthError):
                d.login("keyed@example.com", "bad password")
        with pytest.raises(libstream.Busy):
            b.login("keyed@example.com", PW)
        c.login("keyed@example.com", PW)  # another key: another bucket
        with pytest.raises(libstream.InvalidArgument, match="at least 32 bytes"):
            auth(s1, Key.generate("hmac", "short", 16))
        with pytest.raises(TypeError):
            auth(s1, b"0" * 32)
        for d in (a, b, c):
            d.close()


def test_device_flow_with_injected_clock(env):
    a, clock, _, _ = env
    acct = a.register("tv@example.com", PW)
    prof = a.create_profile(acct.id, "Living room", maturity_ceiling=13)
    dc = a.device_start("tv-app", "stream")
    assert USER_CODE.match(dc.user_code), dc.user_code
    assert len(dc.device_code) == 43
    assert dc.verification_uri == VERIFY
    assert dc.verification_uri_complete == VERIFY + "?user_code=" + dc.user_code
    assert (dc.expires_in, dc.interval) == (600, 5)

    def poll():
        return a.device_poll(dc.device_code, "tv-app")

    with pytest.raises(libstream.Busy) as ei:
        poll()
    assert ei.value.poll_status == PollStatus.PENDING
    assert ei.value.oauth_error == "authorization_pending"
    # Polling again before the interval: slow_down, and the interval grows by 5 s.
    clock.t += 2
    with pytest.raises(libstream.Busy) as ei:
        poll()
    assert ei.value.poll_status == PollStatus.SLOW_DOWN and ei.value.oauth_error == "slow_down"
    clock.t += 6  # 6 s later: enough for the old interval, not for 10 s
    with pytest.raises(libstream.Busy) as ei:
        poll()
    assert ei.value.poll_status == PollStatus.SLOW_DOWN
    clock.t += 15  # more than the grown interval
    with pytest.raises(libstream.Busy) as ei:
        poll()
    assert ei.value.poll_status == PollStatus.PENDING
    # Another client with the same device code: invalid_grant.
    with pytest.raises(libstream.AuthError) as ei:
        a.device_poll(dc.device_code, "other-app")
    assert ei.value.poll_status == PollStatus.INVALID_GRANT

    # The activation page: look up (lowercase, no dash) and approve with a profile.
    loose = dc.user_code.replace("-", "").lower()
    info = a.device_lookup(loose)
    assert info.user_code == dc.user_code and info.client_id == "tv-app"
    assert info.scope == "stream" and info.status == auth_mod.DeviceStatus.PENDING
    assert info.expires_at == NOW + 600
    a.device_approve(loose, acct.id, prof["id"])
    with pytest.raises(libstream.Conflict):
        a.device_approve(dc.user_code, acct.id)
    clock.t += 20
    t = poll()
    assert t.account_id == acct.id and t.profile_id == prof["id"]
    ident = a.verify_access(t.access_token)
    assert ident.profile_id == prof["id"] and ident.maturity_ceiling == 13
    a.refresh(t.refresh_token)
    # Tokens are issued once.
    clock.t += 20
    with pytest.raises(libstream.AuthError) as ei:
        poll()
    assert ei.value.poll_status == PollStatus.INVALID_GRANT

    # Denied.
    d2 = a.device_start("tv-app")
    a.device_deny(d2.user_code)
    with pytest.raises(libstream.Forbidden) as ei:
        a.device_poll(d2.device_code, "tv-app")
    assert ei.value.poll_status == PollStatus.DENIED and ei.value.oauth_error == "access_denied"

    # Expired after its lifetime, for the device and for the approver.
    d3 = a.device_start("tv-app")
    clock.t += 601
    with pytest.raises(libstream.Expired) as ei:
        a.device_poll(d3.device_code, "tv-app")
    assert ei.value.poll_status == PollStatus.EXPIRED and ei.value.oauth_error == "expired_token"
    with pytest.raises(libstream.Expired):
        a.device_approve(d3.user_code, acct.id)

    # Bad input.
    with pytest.raises(libstream.InvalidArgument):
        a.device_lookup("AEIO-UAEI")  # vowels are not in the alphabet
    with pytest.raises(libstream.NotFound):
        a.device_lookup("BCDF-GHJK")
    with pytest.raises(libstream.AuthError):
        a.device_poll("B" * 43, "tv-app")
    with pytest.raises(libstream.InvalidArgument) as ei:
        a.device_poll("", "tv-app")
    assert ei.value.poll_status == PollStatus.INVALID_REQUEST
    with pytest.raises(libstream.InvalidArgument):
        a.device_start("bad client\n")


def test_device_approve_needs_a_locked_profiles_pin(env):
    a, clock, _, _ = env
    acct = a.register("tvpin@example.com", PW)
    kid = a.create_profile(acct.id, "Kid", kids=True, pin="1234")
    dc = a.device_start("tv-app", "stream")
    with pytest.raises(libstream.Forbidden) as ei:
        a.device_approve(dc.user_code, acct.id, kid["id"])  # no PIN
    assert "requires its PIN" in str(ei.value)
    with pytest.raises(libstream.Forbidden):
        a.device_approve(dc.user_code, acct.id, kid["id"], pin="9999")
    with pytest.raises(libstream.InvalidArgument):
        a.device_approve(dc.user_code, acct.id, pin="1234")  # a PIN without a profile
    assert a.device_lookup(dc.user_code).status == auth_mod.DeviceStatus.PENDING
    a.device_approve(dc.user_code, acct.id, kid["id"], pin="1234")
    clock.t += 10
    t = a.device_poll(dc.device_code, "tv-app")
    assert t.profile_id == kid["id"]


def test_device_grant_disabled_without_uri():
    with Store() as st, KeyRing([Key.generate("hmac", "k")]) as ring:
        a = Auth(st, ring, password_params=FAST)
        with pytest.raises(libstream.NotSupported):
            a.device_start("tv-app")


def test_profiles_pin_and_switch(env):
    a, clock, _, _ = env
    acct = a.register("family@example.com", PW)
    made = [a.create_profile(acct.id, "P%d" % i) for i in range(4)]
    kid = a.create_profile(acct.id, "Kid", kids=True, avatar="fox.png", pin="1234")
    assert kid["kids"] and kid["maturity_ceiling"] == 7 and kid["has_pin"]
    assert kid["avatar"] == "fox.png" and "pin" not in kid
    with pytest.raises(libstream.OutOfRange) as ei:
        a.create_profile(acct.id, "Sixth")
    assert_status(ei, libstream.OutOfRange, "STREAM_ERANGE")
    assert [p["id"] for p in a.profiles(acct.id)] == [p["id"] for p in made] + [kid["id"]]
    with pytest.raises(libstream.AlreadyExists):
        a.update_profile(acct.id, made[1]["id"], name="P0")
    with pytest.raises(libstream.InvalidArgument):
        a.create_profile(acct.id, "Kid2", kids=True, maturity_ceiling=13)
    with pytest.raises(libstream.InvalidArgument):
        a.update_profile(acct.id, made[0]["id"], maturity_ceiling=12)

    with pytest.raises(libstream.Forbidden):
        a.switch_profile(acct.id, kid["id"])
    with pytest.raises(libstream.Forbidden):
        a.switch_profile(acct.id, kid["id"], pin="9999")
    with pytest.raises(libstream.InvalidArgument):
        a.switch_profile(acct.id, kid["id"], pin="12a4")
    t = a.switch_profile(acct.id, kid["id"], pin="1234")
    assert t.profile_id == kid["id"]
    ident = a.verify_access(t.access_token)
    assert ident.kids and ident.maturity_ceiling == 7 and ident.profile_id == kid["id"]
    # Refreshing a profile-bound token keeps the profile.
    assert a.refresh(t.refresh_token).profile_id == kid["id"]
    # Too many wrong PINs: rate limited like sign-ins.
    with pytest.raises(libstream.Busy) as ei:
        for _ in range(10):
            with pytest.raises(libstream.Forbidden):
                a.switch_profile(acct.id, kid["id"], pin="0000")
    assert ei.value.retry_after >= 1
    clock.t += 3600

    # Removing (or changing) the PIN takes the account password: without it, or with a wrong
    # one, nothing changes.
    with pytest.raises(libstream.InvalidArgument) as ei:
        a.update_profile(acct.id, kid["id"], name="Big kid", pin="")
    assert "password" in str(ei.value)
    with pytest.raises(libstream.AuthError):
        a.update_profile(acct.id, kid["id"], name="Big kid", pin="", password="not it at all",
                         client_address="192.0.2.1")
    assert a.profile(acct.id, kid["id"])["has_pin"]
    assert a.profile(acct.id, kid["id"])["name"] == "Kid"
    p = a.update_profile(acct.id, kid["id"], name="Big kid", pin="", password=PW,
                         client_address="192.0.2.1")
    assert p["name"] == "Big kid" and not p["has_pin"]
    assert a.profile(acct.id, kid["id"]) == p
    a.switch_profile(acct.id, kid["id"])
    other = a.register("stranger@example.com", PW)
    with pytest.raises(libstream.NotFound):
        a.profile(other.id, kid["id"])
    with pytest.raises(libstream.NotFound):
        a.switch_profile(other.id, kid["id"])
    a.delete_profile(acct.id, kid["id"])
    with pytest.raises(libstream.NotFound):
        a.delete_profile(acct.id, kid["id"])
    assert len(a.profiles(acct.id)) == 4


def test_profile_pin_change_rate_limited(env):
    """Wrong passwords on a PIN change share the account's sign-in bucket (burst 3 here)."""
    a, clock, _, _ = env
    acct = a.register("lock@example.com", PW)
    locked = a.create_profile(acct.id, "Locked", pin="1234")
    for _ in range(3):
        with pytest.raises(libstream.AuthError):
            a.update_profile(acct.id, locked["id"], pin="", password="wrong password")
    with pytest.raises(libstream.Busy) as ei:
        a.update_profile(acct.id, locked["id"], pin="", password=PW)
    assert ei.value.retry_after >= 1
    with pytest.raises(libstream.Busy):
        a.login("lock@example.com", PW)
    assert a.profile(acct.id, locked["id"])["has_pin"]
    # No PIN in the edit: no password, no bucket.
    assert a.update_profile(acct.id, locked["id"], name="Still locked")["has_pin"]
    clock.t += ei.value.retry_after
    assert not a.update_profile(acct.id, locked["id"], pin="", password=PW)["has_pin"]


def test_locked_profile_delete_and_limits_need_the_password(env):
    """A PIN-locked profile's deletion and a change of its kids flag or maturity ceiling take
    the account password (PINLOCK2); name changes, the stored values and unlocked profiles
    need none."""
    a, clock, _, _ = env
    acct = a.register("vandal@example.com", PW)
    locked = a.create_profile(acct.id, "Locked", pin="1234")
    mine = a.create_profile(acct.id, "Mine")
    with pytest.raises(libstream.InvalidArgument) as ei:
        a.delete_profile(acct.id, locked["id"])
    assert "password" in str(ei.value) and "locked" in str(ei.value)
    with pytest.raises(libstream.AuthError):
        a.delete_profile(acct.id, locked["id"], password="not it at all",
                         client_address="192.0.2.1")
    with pytest.raises(libstream.InvalidArgument) as ei:
        a.update_profile(acct.id, locked["id"], kids=True)
    assert "password" in str(ei.value)
    with pytest.raises(libstream.AuthError):
        a.update_profile(acct.id, locked["id"], maturity_ceiling=7, password="not it at all")
    p = a.profile(acct.id, locked["id"])
    assert (p["kids"], p["maturity_ceiling"], p["has_pin"]) == (False, 18, True)
    assert a.update_profile(acct.id, locked["id"], name="Renamed", maturity_ceiling=18)["name"] \
        == "Renamed"
    p = a.update_profile(acct.id, locked["id"], kids=True, password=PW)
    assert p["kids"] and p["maturity_ceiling"] == 7
    assert a.update_profile(acct.id, mine["id"], maturity_ceiling=13)["maturity_ceiling"] == 13
    a.delete_profile(acct.id, mine["id"])
    a.delete_profile(acct.id, locked["id"], password=PW, client_address="192.0.2.1")
    assert a.profiles(acct.id) == []


def test_clock_exceptions_and_lifetime():
    calls = []

    def broken():
        calls.append(1)
        raise RuntimeError("clock broke")

    with Store() as st, KeyRing([Key.generate("hmac", "k")]) as ring:
        a = Auth(st, ring, password_params=FAST, clock=broken)
        with pytest.raises(RuntimeError, match="clock broke"):
            a.register("clock@example.com", PW)
        assert calls
        with pytest.raises(TypeError):
            Auth(st, ring, clock="now")
        with pytest.raises(TypeError):
            Auth("store", ring)
        with pytest.raises(TypeError):
            Auth(st, "ring")
        with pytest.raises(libstream.InvalidArgument):
            Auth(st, ring, password_params={"memory": 1})
        with pytest.raises(libstream.InvalidArgument):
            Auth(st, ring, access_ttl=0)
        with pytest.raises(libstream.InvalidArgument):
            Auth(st, ring, verification_uri="not a uri")
        b = Auth(st, ring, password_params=FAST)
        with pytest.raises(libstream.InvalidArgument, match="key ring"):
            with KeyRing([Key.generate("hmac", "k2")]) as r2:
                c = Auth(st, r2, password_params=FAST)
            c.verify_access("a.b.c")
    # Closing the store closed every service on it.
    assert a.closed and b.closed
    with pytest.raises(libstream.InvalidArgument, match="closed"):
        b.register("late@example.com", PW)


# ---- a real streamd: rate-limited routes answer 429 problem+json -----------------

class Streamd:
    def __init__(self, *extra):
        self.tmp = tempfile.mkdtemp(prefix="pyauth-")
        self.err = open(os.path.join(self.tmp, "stderr.log"), "wb")
        cmd = [os.environ["STREAMD_BIN"], "--port", "0", "--listen-address", "127.0.0.1",
               "--data-dir", os.path.join(self.tmp, "data"),
               "--access-log", os.path.join(self.tmp, "access.log")] + list(extra)
        env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMD_")}
        env.pop("LD_PRELOAD", None)  # the daemon is not the instrumented interpreter
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.err, env=env)
        fd, buf, deadline = self.proc.stdout.fileno(), b"", time.time() + 30
        while b"\n" not in buf:
            assert time.time() < deadline, "streamd printed nothing"
            if select.select([fd], [], [], 1)[0]:
                chunk = os.read(fd, 4096)
                assert chunk, "streamd exited early"
                buf += chunk
        listening = json.loads(buf.split(b"\n", 1)[0])
        assert listening["event"] == "listening"
        self.url = "http://127.0.0.1:%d" % listening["port"]

    def call(self, method, path, body=None, token=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.err.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture
def daemon_factory():
    if "STREAMD_BIN" not in os.environ:
        pytest.skip("STREAMD_BIN is not set (libstream built without the server feature)")
    started = []

    def make(*extra):
        d = Streamd(*extra)
        started.append(d)
        return d

    yield make
    for d in started:
        d.stop()


def assert_rate_limited(status, headers, body):
    assert status == 429, (status, body)
    assert headers["Content-Type"].startswith("application/problem+json")
    ra = int(headers["Retry-After"])
    assert ra >= 1
    p = json.loads(body)
    assert p["status"] == 429 and p["type"].endswith("rate-limited") and p["title"]
    assert p["retry_after"] == ra and p["detail"]
    return p


def test_daemon_rate_limited_routes_answer_429(daemon_factory):
    d = daemon_factory("--login-account-burst", "2", "--login-account-interval", "60",
                       "--login-address-burst", "0")
    st, _, _ = d.call("POST", "/v1/auth/register", {"email": "r@example.com", "password": PW})
    assert st == 201
    # Per account: POST /v1/auth/login.
    for _ in range(2):
        st, _, _ = d.call("POST", "/v1/auth/login", {"email": "r@example.com", "password": "nope" * 3})
        assert st == 401
    assert_rate_limited(*d.call("POST", "/v1/auth/login", {"email": "r@example.com",
                                                           "password": PW}))
    # Wrong PINs on POST /v1/profiles/{id}/switch share the account's bucket.
    st, _, _ = d.call("POST", "/v1/auth/register", {"email": "p@example.com", "password": PW})
    st, _, body = d.call("POST", "/v1/auth/login", {"email": "p@example.com", "password": PW})
    assert st == 200, body
    tok = json.loads(body)["access_token"]
    st, _, body = d.call("POST", "/v1/profiles", {"name": "Locked", "pin": "1234"}, token=tok)
    assert st == 201, body
    pid = json.loads(body)["id"]
    statuses = []
    for _ in range(10):
        st, hdrs, body = d.call("POST", "/v1/profiles/%s/switch" % pid, {"pin": "0000"}, token=tok)
        statuses.append(st)
        if st == 429:
            break
    assert statuses[-1] == 429 and set(statuses[:-1]) == {403}, statuses
    assert_rate_limited(st, hdrs, body)
    # A PIN change through PATCH /v1/profiles/{id} checks the account password in the
    # sign-in bucket of the account (burst 2): 403 twice, then 429 even for the right one.
    for _ in range(2):
        st, _, body = d.call("PATCH", "/v1/profiles/%s" % pid,
                             {"pin": None, "password": "nope" * 3}, token=tok)
        assert st == 403, body
    assert_rate_limited(*d.call("PATCH", "/v1/profiles/%s" % pid, {"pin": None, "password": PW},
                                token=tok))

    # Per client address.
    d2 = daemon_factory("--login-account-burst", "0", "--login-address-burst", "2",
                        "--login-address-interval", "60")
    for i in range(2):
        st, _, _ = d2.call("POST", "/v1/auth/login", {"email": "a%d@example.com" % i,
                                                      "password": "nope" * 3})
        assert st == 401
    assert_rate_limited(*d2.call("POST", "/v1/auth/login", {"email": "a9@example.com",
                                                            "password": "nope" * 3}))
