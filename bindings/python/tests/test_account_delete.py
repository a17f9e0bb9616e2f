"""libstream.auth account deletion over a real SQLite store (temp dir) with an
injected clock: a wrong password raises AuthError and changes nothing, the
right one deletes (sign-in then fails like an unknown e-mail, tokens are
refused, the e-mail registers again), a second delete raises NotFound, wrong
passwords share the sign-in rate limit, the operator variant needs no
password, and Store.close_account reports what it touched."""
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


class Clock:
    def __init__(self):
        self.t = NOW

    def __call__(self):
        return self.t


@pytest.fixture
def env(tmp_path):
    clock = Clock()
    with Store(str(tmp_path / "db.sqlite")) as st, KeyRing([Key.generate("hmac", "k")]) as ring:
        a = Auth(st, ring, password_params=FAST, rate_account_burst=3, rate_account_interval=60,
                 rate_address_burst=0, clock=clock)
        yield a, clock, st
        a.close()


def test_delete_account_with_password(env):
    a, clock, _ = env
    acct = a.register("gone@example.com", PW)
    prof = a.create_profile(acct.id, "Main")
    t = a.login("gone@example.com", PW)
    other = a.register("kept@example.com", PW)
    a.create_profile(other.id, "Kept")

    with pytest.raises(libstream.AuthError):
        a.delete_account(acct.id, "wrong password")
    assert [p["id"] for p in a.profiles(acct.id)] == [prof["id"]]
    assert a.verify_access(t.access_token).account_id == acct.id

    a.delete_account(acct.id, PW, client_address="192.0.2.7")
    with pytest.raises(libstream.AuthError) as gone:
        a.login("gone@example.com", PW)
    with pytest.raises(libstream.AuthError) as unknown:
        a.login("never@example.com", PW)
    assert gone.value.message == unknown.value.message
    with pytest.raises(libstream.AuthError):
        a.refresh(t.refresh_token)
    with pytest.raises(libstream.AuthError):
        a.verify_access(t.access_token)
    with pytest.raises(libstream.NotFound):
        a.account(acct.id)
    assert a.profiles(acct.id) == []
    assert [p["name"] for p in a.profiles(other.id)] == ["Kept"]
    # Twice: NotFound, for the owner and the operator alike.
    with pytest.raises(libstream.NotFound):
        a.delete_account(acct.id, PW)
    with pytest.raises(libstream.NotFound):
        a.delete_account_admin(acct.id)
    # The address is free again.
    again = a.register("gone@example.com", PW)
    assert again.id != acct.id
    with pytest.raises(libstream.InvalidArgument):
        a.delete_account(acct.id, "")
    with pytest.raises(TypeError):
        a.delete_account(None, PW)


def test_wrong_passwords_are_rate_limited(env):
    a, clock, _ = env
    acct = a.register("guess@example.com", PW)
    for i in range(3):
        with pytest.raises(libstream.AuthError):
            a.delete_account(acct.id, "guess %d!" % i)
    with pytest.raises(libstream.Busy) as e:
        a.delete_account(acct.id, PW)
    assert e.value.retry_after > 0
    with pytest.raises(libstream.Busy):
        a.login("guess@example.com", PW)
    clock.t += 3600
    a.delete_account(acct.id, PW)


def test_admin_delete_and_store_counts(env):
    a, clock, st = env
    acct = a.register("ops@example.com", PW)
    a.create_profile(acct.id, "One")
    a.create_profile(acct.id, "Two")
    a.login("ops@example.com", PW)
    a.delete_account_admin(acct.id)
    with pytest.raises(libstream.AuthError):
        a.login("ops@example.com", PW)
    b = a.register("store@example.com", PW)
    a.create_profile(b.id, "Solo")
    a.login("store@example.com", PW)
    counts = st.close_account(b.id, now=NOW + 5)
    assert counts["profiles"] == 1 and counts["refresh_tokens"] == 1
    assert counts["subscriptions"] == 0 and counts["cards"] == 0
    assert set(counts) == set(Store.CLOSE_TABLES)
    with pytest.raises(libstream.NotFound):
        st.close_account(b.id, now=NOW + 6)
    with pytest.raises(libstream.InvalidArgument):
        st.close_account(b.id, now=0)
