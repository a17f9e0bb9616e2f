"""libstream.store on the PostgreSQL backend, from Python: the same Store class opened with a
postgresql:// URI (a database of its own on the throwaway server `make test` runs the suites
with: tests/pg/pg_run.sh sets STREAM_TEST_PG). Two handles stand in for two processes: what one
commits the other reads, and the auth service's profile limit holds across them."""
import os
import shutil
import subprocess

import pytest

from libstream.store import Store

auth_mod = pytest.importorskip("libstream.auth")
if not auth_mod.AVAILABLE:  # pragma: no cover - client-only builds
    pytest.skip("libstream built without the server feature", allow_module_level=True)

from libstream import Key, KeyRing  # noqa: E402
from libstream.auth import Auth  # noqa: E402

URL = os.environ.get("STREAM_TEST_PG", "")
pytestmark = pytest.mark.skipif(not URL or not shutil.which("psql"),
                                reason="no PostgreSQL (run under tests/pg/pg_run.sh)")
FAST = {"m_cost": 64, "t_cost": 1}


@pytest.fixture
def url():
    name = "py_%d_%d" % (os.getpid(), id(object()))
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}  # the ASan run's preload
    subprocess.run(["psql", URL, "-q", "-c", "CREATE DATABASE " + name], check=True, env=env)
    return "postgresql:///%s?%s" % (name, URL.split("?", 1)[1])


def test_two_handles_share_one_database(url):
    with Store(url, readers=2) as a, Store(url, readers=2) as b, \
            KeyRing([Key.generate("hmac", "at-1")]) as ring:
        assert a.backend == b.backend == "postgres"
        assert a.schema_version == b.schema_version > 0
        auth_a = Auth(a, ring, issuer="py", audience="py", password_params=FAST)
        auth_b = Auth(b, ring, issuer="py", audience="py", password_params=FAST)
        acct = auth_a.register("pg@example.com", "correct horse battery")
        # Registered through handle A: B signs it in (one table, two connection pools).
        assert auth_b.login("pg@example.com", "correct horse battery").account_id == acct.id
        for i in range(5):
            (auth_a if i % 2 else auth_b).create_profile(acct.id, "P%d" % i)
        with pytest.raises(Exception) as e:
            auth_b.create_profile(acct.id, "P5")
        assert "5 profiles" in str(e.value)
        assert len(auth_a.profiles(acct.id)) == 5
        auth_a.close()
        auth_b.close()


def test_bad_url_is_a_clear_error():
    with pytest.raises(Exception) as e:
        Store("postgresql:///nope?host=/nonexistent-dir&connect_timeout=2")
    assert "connect to PostgreSQL" in str(e.value)
