"""libstream.store.Store.purge over a real SQLite store in a temporary directory
and an injected clock: the counts per table, the policy checks, expired refresh
tokens going while a rotated but unexpired one stays (reuse detection still
revokes its family)."""
import pytest

import libstream
from libstream import Key, KeyRing

from conftest import assert_status

store_mod = pytest.importorskip("libstream.store")
if not store_mod.AVAILABLE:  # pragma: no cover - client-only builds
    pytest.skip("libstream built without the server feature", allow_module_level=True)

from libstream.auth import Auth  # noqa: E402
from libstream.store import Store  # noqa: E402

NOW = 1780000000
DAY = 86400
FAST = {"m_cost": 64, "t_cost": 1}
PW = "correct horse battery"


class Clock:
    def __init__(self):
        self.t = NOW

    def __call__(self):
        return self.t


def test_purge_empty_store_and_policy_checks(tmp_path):
    with Store(str(tmp_path / "p.db")) as st:
        assert st.purge(NOW) == {"refresh_tokens": 0, "device_authorizations": 0,
                                 "idempotency_keys": 0, "screen_leases": 0,
                                 "password_resets": 0, "rate_buckets": 0}
        assert st.purge() == dict.fromkeys(Store.PURGE_TABLES, 0)  # the system clock
        with pytest.raises(libstream.InvalidArgument) as ei:
            st.purge(NOW, idempotency_retention=DAY - 1)  # 24 h of replay are promised
        assert_status(ei, libstream.InvalidArgument, "STREAM_EINVAL")
        assert st.purge(NOW, idempotency_retention=DAY)["idempotency_keys"] == 0
        with pytest.raises(libstream.InvalidArgument):
            st.purge(NOW, refresh_grace=-1)
        with pytest.raises(libstream.InvalidArgument):
            st.purge(NOW, reset_grace=-1)
        with pytest.raises(libstream.InvalidArgument):
            st.purge(NOW, batch_size=0)
        with pytest.raises(libstream.InvalidArgument):
            st.purge(0)


def test_purge_tokens_keeps_reuse_detection(tmp_path):
    clock = Clock()
    with Store(str(tmp_path / "p.db")) as st, KeyRing([Key.generate("hmac", "at-1")]) as ring:
        a = Auth(st, ring, password_params=FAST, clock=clock)
        a.register("old@example.com", PW)
        a.register("new@example.com", PW)
        stale = a.login("old@example.com", PW)  # expires NOW + 30 days
        clock.t = NOW + 20 * DAY
        t1 = a.login("new@example.com", PW)
        clock.t += 100
        t2 = a.refresh(t1.refresh_token)  # t1 is now used, expires NOW + 50 days
        clock.t = NOW + 40 * DAY
        counts = st.purge(clock.t, refresh_grace=DAY)
        assert counts["refresh_tokens"] == 1  # only the stale session's token
        with pytest.raises(libstream.AuthError, match="unknown"):
            a.refresh(stale.refresh_token)
        with pytest.raises(libstream.AuthError, match="reuse detected"):
            a.refresh(t1.refresh_token)
        with pytest.raises(libstream.AuthError, match="revoked"):
            a.refresh(t2.refresh_token)
        assert st.purge(clock.t)["refresh_tokens"] == 0
        a.close()
