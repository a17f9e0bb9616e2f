"""libstream.auth password change and forgotten-password flow over a real
SQLite store (temp dir) with an injected clock and a Python mail hook: the
change needs the current password and revokes refresh tokens; a reset mails
one link only for a known e-mail, the link's token sets the new password once,
expires after reset_lifetime, and a newer link replaces it; without a hook the
flow is NotSupported; a raising hook is a failed delivery, not an error. The
two halves: password_reset_prepare() mails and stores nothing for any address,
PasswordReset.send() (on any thread) does it for the known one, once. The
durable flow: password_reset_request() stores a row and mails nothing,
password_reset_process() mails and deletes, and retries what a raising hook
refused."""
import re
import threading

import pytest

import libstream
from libstream import Key, KeyRing

auth_mod = pytest.importorskip("libstream.auth")
if not auth_mod.AVAILABLE:  # pragma: no cover - client-only builds
    pytest.skip("libstream built without the server feature", allow_module_level=True)

from libstream.auth import Auth  # noqa: E402
from libstream.store import Store  # noqa: E402

NOW = 1700000000
FAST = {"m_cost": 64, "t_cost": 1}
PW = "correct horse battery"
PW2 = "battery staple horse"
BASE = "https://app.example/reset?token="


class Clock:
    def __init__(self):
        self.t = NOW

    def __call__(self):
        return self.t


@pytest.fixture
def env(tmp_path):
    clock = Clock()
    outbox = []
    with Store(str(tmp_path / "db.sqlite")) as st, KeyRing([Key.generate("hmac", "k")]) as ring:
        a = Auth(st, ring, password_params=FAST, rate_address_burst=0, clock=clock,
                 send_mail=lambda to, subject, body: outbox.append((to, subject, body)),
                 reset_url_base=BASE, reset_lifetime=600)
        yield a, clock, outbox
        a.close()


def token_in(body):
    m = re.search(re.escape(BASE) + r"([A-Za-z0-9_-]{43})$", body, re.M)
    assert m, body
    return m.group(1)


def test_change_password(env):
    a, _, _ = env
    acct = a.register("ada@example.com", PW)
    t = a.login("ada@example.com", PW)
    with pytest.raises(libstream.AuthError):
        a.change_password(acct.id, "not the password", PW2)
    with pytest.raises(libstream.InvalidArgument) as ei:
        a.change_password(acct.id, PW, "short")
    assert "new password" in ei.value.message
    a.login("ada@example.com", PW)
    a.change_password(acct.id, PW, PW2, client_address="192.0.2.1")
    with pytest.raises(libstream.AuthError):
        a.refresh(t.refresh_token)
    with pytest.raises(libstream.AuthError):
        a.login("ada@example.com", PW)
    assert a.login("ada@example.com", PW2).account_id == acct.id


def test_reset_flow(env):
    a, clock, outbox = env
    acct = a.register("ada@example.com", PW)
    t = a.login("ada@example.com", PW)
    assert a.password_reset_start("nobody@example.com") is None
    assert outbox == []
    a.password_reset_start("Ada@Example.com", client_address="192.0.2.1")
    assert len(outbox) == 1
    to, subject, body = outbox[0]
    assert (to, subject) == ("ada@example.com", "Reset your password")
    assert "10 minutes" in body
    token = token_in(body)
    clock.t += 60
    got = a.password_reset_finish(token, PW2)
    assert got.id == acct.id and got.email == "ada@example.com"
    with pytest.raises(libstream.AuthError):
        a.password_reset_finish(token, "third password")
    with pytest.raises(libstream.AuthError):
        a.refresh(t.refresh_token)
    with pytest.raises(libstream.AuthError):
        a.login("ada@example.com", PW)
    a.login("ada@example.com", PW2)


def test_reset_expiry_replacement_and_races(env):
    a, clock, outbox = env
    a.register("bob@example.com", PW)
    a.password_reset_start("bob@example.com")
    clock.t += 600
    with pytest.raises(libstream.Expired):
        a.password_reset_finish(token_in(outbox[0][2]), PW2)
    a.password_reset_start("bob@example.com")
    a.password_reset_start("bob@example.com")
    old, new = token_in(outbox[1][2]), token_in(outbox[2][2])
    with pytest.raises(libstream.AuthError):
        a.password_reset_finish(old, PW2)
    # Three requests per e-mail in a burst, known or not: the fourth waits.
    for _ in range(3):
        a.password_reset_start("flood@example.com")
    with pytest.raises(libstream.Busy) as ei:
        a.password_reset_start("flood@example.com")
    assert ei.value.retry_after > 0
    results = []

    def worker(pw):
        try:
            a.password_reset_finish(new, pw)
            results.append("ok")
        except libstream.AuthError:
            results.append("auth")

    threads = [threading.Thread(target=worker, args=("password-%d" % i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results) == ["auth", "ok"]


def test_reset_without_hook_and_failing_hook(tmp_path):
    with Store(str(tmp_path / "db.sqlite")) as st, KeyRing([Key.generate("hmac", "k")]) as ring:
        a = Auth(st, ring, password_params=FAST)
        a.register("ada@example.com", PW)
        with pytest.raises(libstream.NotSupported):
            a.password_reset_start("ada@example.com")
        with pytest.raises(libstream.InvalidArgument):
            Auth(st, ring, password_params=FAST, send_mail=lambda *x: None)  # no reset_url_base
        with pytest.raises(TypeError):
            Auth(st, ring, send_mail="not callable", reset_url_base=BASE)
        calls = []

        def broken(to, subject, body):
            calls.append(to)
            raise RuntimeError("SMTP down")

        b = Auth(st, ring, password_params=FAST, send_mail=broken, reset_url_base=BASE)
        b.password_reset_start("ada@example.com")  # the same answer as a delivered link
        assert calls == ["ada@example.com"]
        with pytest.raises(libstream.InvalidArgument):
            b.password_reset_finish("not a token", PW2)
        b.close()
        a.close()


def test_reset_prepare_then_send(env, tmp_path):
    a, clock, outbox = env
    a.register("ada@example.com", PW)
    known = a.password_reset_prepare("Ada@Example.com", client_address="192.0.2.1")
    unknown = a.password_reset_prepare("nobody@example.com")
    assert isinstance(known, auth_mod.PasswordReset)
    assert outbox == []  # nothing mailed (or stored) before send, known address or not
    with pytest.raises(libstream.AuthError):  # no link stored yet either
        a.password_reset_finish("A" * 43, PW2)
    clock.t += 60
    unknown.send()
    assert outbox == []
    th = threading.Thread(target=known.send)  # any thread may send
    th.start()
    th.join()
    assert len(outbox) == 1 and outbox[0][0] == "ada@example.com"
    with pytest.raises(libstream.InvalidArgument):
        known.send()  # once
    assert len(outbox) == 1
    known.close()
    unknown.close()
    with pytest.raises(libstream.InvalidArgument):
        known.send()
    # The lifetime (600 s here) counts from prepare, not from send.
    tok = token_in(outbox[0][2])
    clock.t = NOW + 600
    with pytest.raises(libstream.Expired):
        a.password_reset_finish(tok, PW2)
    clock.t = NOW + 599
    assert a.password_reset_finish(tok, PW2).email == "ada@example.com"

    # A request dropped unsent mails nothing but counted against the limit.
    with a.password_reset_prepare("bob@example.com"):
        pass
    a.password_reset_prepare("bob@example.com").close()
    a.password_reset_prepare("bob@example.com").close()
    with pytest.raises(libstream.Busy) as ei:
        a.password_reset_prepare("bob@example.com")
    assert ei.value.retry_after > 0
    with pytest.raises(libstream.InvalidArgument):
        a.password_reset_prepare("not an e-mail")
    assert len(outbox) == 1

    # Sending needs its Auth open; no hook: NotSupported at prepare.
    r = a.password_reset_prepare("carol@example.com")
    with Store(str(tmp_path / "other.sqlite")) as st, KeyRing([Key.generate("hmac", "k")]) as kr:
        plain = Auth(st, kr, password_params=FAST)
        with pytest.raises(libstream.NotSupported):
            plain.password_reset_prepare("ada@example.com")
        plain.close()
    a.close()
    with pytest.raises(libstream.InvalidArgument):
        r.send()
    r.close()


def test_reset_request_then_process(env, tmp_path):
    """The durable flow: request() stores a row for any address and mails nothing;
    process() mails the known one once and deletes both; a raising hook keeps the
    request pending (IOFailure says so) and a later process() after the claim time
    mails it with a new link; a second handle on the same database sees the rows."""
    a, clock, outbox = env
    a.register("ada@example.com", PW)
    assert a.password_reset_request("Ada@Example.com", client_address="192.0.2.1") is None
    a.password_reset_request("nobody@example.com")
    assert outbox == [] and a.password_reset_pending() == 2
    with pytest.raises(libstream.AuthError):  # no link stored yet
        a.password_reset_finish("A" * 43, PW2)
    clock.t += 60
    assert a.password_reset_process(max=1) == 1  # oldest first: the known one
    assert [m[0] for m in outbox] == ["ada@example.com"]
    assert "9 minutes" in outbox[0][2]  # 540 s of the 600 left
    assert a.password_reset_process() == 1  # the unknown one: no mail
    assert a.password_reset_process() == 0 and len(outbox) == 1
    assert a.password_reset_pending() == 0
    tok = token_in(outbox[0][2])
    clock.t = NOW + 600  # the lifetime counts from the request
    with pytest.raises(libstream.Expired):
        a.password_reset_finish(tok, PW2)
    clock.t = NOW + 599
    assert a.password_reset_finish(tok, PW2).email == "ada@example.com"

    # Rate limits at request time, unknown addresses too.
    for _ in range(3):
        a.password_reset_request("flood@example.com")
    with pytest.raises(libstream.Busy) as ei:
        a.password_reset_request("flood@example.com")
    assert ei.value.retry_after > 0
    with pytest.raises(libstream.InvalidArgument):
        a.password_reset_request("not an e-mail")
    with pytest.raises(libstream.InvalidArgument):
        a.password_reset_process(max=-1)
    with pytest.raises(TypeError):
        a.password_reset_process(max="all")
    assert a.password_reset_process() == 3

    # A failing hook: not lost, retried with a new link once the claim ran out.
    calls = []

    def flaky(to, subject, body):
        calls.append(token_in(body))
        if len(calls) == 1:
            raise RuntimeError("SMTP down")

    with Store(str(tmp_path / "db2.sqlite")) as st, KeyRing([Key.generate("hmac", "k")]) as ring:
        b = Auth(st, ring, password_params=FAST, clock=clock, send_mail=flaky,
                 reset_url_base=BASE)
        b.register("bob@example.com", PW)
        b.password_reset_request("bob@example.com")
        with pytest.raises(libstream.IOFailure) as ei:
            b.password_reset_process()
        assert "refused 1" in ei.value.message and ei.value.done == 0
        assert b.password_reset_pending() == 1
        assert b.password_reset_process() == 0  # still claimed
        clock.t += auth_mod.RESET_CLAIM_SECONDS
        assert b.password_reset_process() == 1
        assert len(calls) == 2 and calls[0] != calls[1]
        with pytest.raises(libstream.AuthError):
            b.password_reset_finish(calls[0], PW2)
        b.password_reset_finish(calls[1], PW2)
        # No hook: NotSupported for request and process.
        plain = Auth(st, ring, password_params=FAST)
        with pytest.raises(libstream.NotSupported):
            plain.password_reset_request("bob@example.com")
        with pytest.raises(libstream.NotSupported):
            plain.password_reset_process()
        assert plain.password_reset_pending() == 0
        plain.close()
        b.close()
