"""libstream.store.Store.rate_take / rate_reset over a real SQLite file (and the PostgreSQL
backend when tests/pg/pg_run.sh provides one): two handles on one database stand in for two
processes and draw from the same buckets; a take is all or none; waits are whole seconds; the
reset refills; bad buckets are refused with InvalidArgument naming the field."""
import os
import shutil
import subprocess

import pytest

import libstream

from conftest import assert_status

store_mod = pytest.importorskip("libstream.store")
if not store_mod.AVAILABLE:  # pragma: no cover - client-only builds
    pytest.skip("libstream built without the server feature", allow_module_level=True)

from libstream.store import Store  # noqa: E402

NOW = 1780000000
PG = os.environ.get("STREAM_TEST_PG", "")


def _pg_url():
    name = "py_rate_%d_%d" % (os.getpid(), id(object()))
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}  # the ASan run's preload
    subprocess.run(["psql", PG, "-q", "-c", "CREATE DATABASE " + name], check=True, env=env)
    return "postgresql:///%s?%s" % (name, PG.split("?", 1)[1])


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "rate.db")
    if not PG or not shutil.which("psql"):
        pytest.skip("no PostgreSQL (run under tests/pg/pg_run.sh)")
    return _pg_url()


def test_two_handles_share_a_bucket_all_or_none(db):
    with Store(db) as a, Store(db) as b:
        acct = ("api-account", "digest-of-someone", 3, 60)
        addr = ("api-address", "digest-of-an-address", 5, 10)
        # Three tokens in the account bucket, drawn alternately from both handles.
        assert a.rate_take([acct, addr], NOW) == 0
        assert b.rate_take([acct, addr], NOW) == 0
        assert a.rate_take([acct, addr], NOW) == 0
        # Empty: the wait is the account bucket's 60 s, and the address bucket is not charged.
        assert b.rate_take([acct, addr], NOW) == 60
        assert a.rate_take([addr], NOW) == 0
        assert a.rate_take([addr], NOW) == 0
        assert b.rate_take([addr], NOW) == 10  # 5 - 3 (with acct) - 2 = 0 left
        # Half a token after 30 s: 30 s more to wait; a full token after 60 s.
        assert a.rate_take([acct], NOW + 30) == 30
        assert b.rate_take([acct], NOW + 60) == 0
        assert a.rate_take([acct], NOW + 60) == 60
        # A clock behind the bucket refills nothing.
        assert b.rate_take([acct], NOW) == 60
        # Reset from the other handle: full again.
        b.rate_reset("api-account", "digest-of-someone")
        for _ in range(3):
            assert a.rate_take([acct], NOW + 60) == 0
        assert a.rate_take([acct], NOW + 60) == 60
        b.rate_reset("api-account", "never-charged")  # absent: not an error
        # The purge deletes buckets that are full again (here: all, an hour later).
        assert a.purge(NOW + 3600)["rate_buckets"] == 2


def test_bad_buckets_are_refused(tmp_path):
    with Store(str(tmp_path / "bad.db")) as st:
        ok = ("s", "k", 1, 1)
        cases = [
            ([], "n 0"),
            ([ok] * 2, "names the bucket"),
            ([("s", "k%d" % i, 1, 1) for i in range(5)], "n 5"),
            ([("", "k", 1, 1)], "scope"),
            ([("s", "", 1, 1)], "key"),
            ([("s", "x" * 256, 1, 1)], "key"),
            ([("s", "k", 0, 1)], "burst"),
            ([("s", "k", 1, 86401)], "interval"),
            ([("s", b"\xff", 1, 1)], "UTF-8"),
        ]
        for buckets, words in cases:
            with pytest.raises(libstream.InvalidArgument) as ei:
                st.rate_take(buckets, NOW)
            assert_status(ei, libstream.InvalidArgument, "STREAM_EINVAL")
            assert words in ei.value.message, (buckets, ei.value.message)
        with pytest.raises(libstream.InvalidArgument) as ei:
            st.rate_take([("s", "k", 1)], NOW)
        assert "tuple" in ei.value.message
        with pytest.raises(libstream.InvalidArgument):
            st.rate_take([ok], 0)
        with pytest.raises(libstream.InvalidArgument):
            st.rate_reset("", "k")
        # Nothing refused above was charged.
        assert st.rate_take([ok], NOW) == 0
        assert st.rate_take([ok], NOW) == 1
