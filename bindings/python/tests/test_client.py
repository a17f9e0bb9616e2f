"""libstream.client against a real streamd.

meson sets STREAMD_BIN (the built daemon) and STREAMD_DEMO_CATALOG; the
daemon runs on an ephemeral loopback port with a temporary data directory,
--seed-demo, a 2-second access-token lifetime (so the automatic refresh on
401 happens for real) and a 1-second device interval.
"""
import json
import os
import secrets
import select
import shutil
import subprocess
import tempfile
import threading
import time

import pytest

import libstream
from libstream import client as lc

pytestmark = pytest.mark.skipif(not lc.AVAILABLE, reason="libstream built without the client feature")

PASSWORD = "correct horse battery"


class Streamd:
    def __init__(self, *extra):
        self.tmp = tempfile.mkdtemp(prefix="pyclient-")
        self.err = open(os.path.join(self.tmp, "stderr.log"), "wb")
        cmd = [os.environ["STREAMD_BIN"], "--port", "0", "--listen-address", "127.0.0.1",
               "--data-dir", os.path.join(self.tmp, "data"),
               "--access-log", os.path.join(self.tmp, "access.log"),
               "--seed-demo", "--demo-catalog", os.environ["STREAMD_DEMO_CATALOG"],
               "--access-token-ttl", "2", "--device-interval", "1"] + list(extra)
        env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMD_")}
        # The daemon is not instrumented by the Python test's sanitizer preload.
        env.pop("LD_PRELOAD", None)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.err, env=env)
        self.buf = b""
        listening = json.loads(self._line())
        assert listening["event"] == "listening"
        self.url = "http://127.0.0.1:%d" % listening["port"]
        demo = json.loads(self._line())
        assert demo["event"] == "demo"
        self.demo_email, self.demo_password = demo["email"], demo["password"]

    def _line(self, timeout=30):
        deadline = time.time() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.time()
            assert left > 0, "streamd printed nothing"
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 4096)
                assert chunk, "streamd exited early"
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

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


@pytest.fixture(scope="module")
def streamd():
    if "STREAMD_BIN" not in os.environ:
        pytest.skip("STREAMD_BIN is not set (libstream built without the server feature)")
    d = Streamd("--login-account-burst", "0", "--login-address-burst", "0")
    yield d
    d.stop()


def new_email(tag="py"):
    return "%s-%s@example.test" % (tag, secrets.token_hex(6))


@pytest.fixture
def account(streamd):
    """A fresh account and a Client signed in to it."""
    email = new_email()
    with lc.Client(streamd.url) as c:
        c.register(email, PASSWORD)
        c.login(email, PASSWORD)
        yield c, email


# ---- without a server -------------------------------------------------------

def test_client_arguments():
    with pytest.raises(TypeError):
        lc.Client(None)
    with pytest.raises(libstream.InvalidArgument) as e:
        lc.Client("ftp://example.com")
    assert "http://" in e.value.message
    with pytest.raises(libstream.InvalidArgument):
        lc.Client("http://127.0.0.1:1", timeout=0)
    with pytest.raises(TypeError):
        lc.Client("http://127.0.0.1:1", timeout="5")
    with pytest.raises(libstream.InvalidArgument):
        lc.Client("http://127.0.0.1:1", user_agent="a\nb")
    with pytest.raises(libstream.InvalidArgument):
        lc.Client("http://127.0.0.1:1", max_response_bytes=10)
    c = lc.Client("http://127.0.0.1:1/api/")
    assert c.base_url == "http://127.0.0.1:1/api"
    assert c.session is None
    assert c.get_tokens() == (None, None)
    with pytest.raises(libstream.AuthError):
        c.genres()
    with pytest.raises(libstream.InvalidArgument):
        c.title("../etc")
    with pytest.raises(libstream.InvalidArgument):
        c.browse(limit=1000)
    with pytest.raises(TypeError):
        c.browse(limit=True)
    with pytest.raises(libstream.InvalidArgument):
        c.create_profile("x", pin="12")
    with pytest.raises(libstream.InvalidArgument):
        c.title("a\0b")
    c.close()
    c.close()
    with pytest.raises(libstream.InvalidArgument):
        c.genres()


def test_network_error_is_iofailure():
    with lc.Client("http://127.0.0.1:1", connect_timeout=2) as c:
        with pytest.raises(libstream.IOFailure) as e:
            c.login("a@b.c", "password1")
        assert "POST /v1/auth/login" in e.value.message
        assert "password1" not in e.value.message
        assert lc.last_http_status() == 0


# ---- against streamd ----------------------------------------------------------

def test_register_login_tokens(streamd):
    email = new_email()
    with lc.Client(streamd.url) as c:
        acct = c.register(email, PASSWORD)
        assert len(acct.id) == 22 and acct.email == email
        with pytest.raises((libstream.AlreadyExists, libstream.Conflict)):
            c.register(email, PASSWORD)
        assert lc.last_http_status() == 409
        with pytest.raises(libstream.AuthError) as e:
            c.login(email, "wrong password!")
        assert "wrong password" not in e.value.message
        s = c.login(email, PASSWORD)
        assert s.account_id == acct.id and s.profile_id == "" and s.expires_in == 2
        assert c.session == s
        access, refresh = c.get_tokens()
        assert access.count(".") == 2 and refresh
        # Persisted tokens work in another client.
        with lc.Client(streamd.url) as c2:
            c2.set_tokens(access, refresh)
            assert isinstance(c2.profiles(), list)
            c2.refresh()
            assert c2.get_tokens()[1] != refresh
        # refresh was used up by c2: reusing it revokes the family.
        with pytest.raises(libstream.AuthError):
            c.refresh()
        assert c.session is None
        c.login(email, PASSWORD)
        c.logout()
        assert c.session is None
        with pytest.raises(libstream.AuthError):
            c.genres()


def test_automatic_refresh_on_401(account):
    c, _ = account
    before = c.get_tokens()[1]
    time.sleep(3)  # the 2 s access token expired
    assert len(c.genres()) >= 3
    assert lc.last_http_status() == 200
    assert c.get_tokens()[1] != before  # rotated


def test_threads_share_one_client(account):
    c, _ = account
    c.set_tokens("bad.access.token", c.get_tokens()[1])
    errors = []

    def work():
        try:
            for _ in range(5):
                assert c.browse(limit=5)["items"]
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    c.refresh()  # one refresh happened: the family is still alive


def test_device_flow(streamd, account):
    owner, email = account
    with lc.Client(streamd.url) as tv:
        dev = tv.device_start()
        assert len(dev.user_code) == 9 and dev.user_code[4] == "-"
        assert dev.verification_uri.endswith("/activate")
        assert dev.user_code in dev.verification_uri_complete
        assert dev.interval == 1
        # streamd counts whole seconds and the interval is 1 s, so the second poll is "too fast"
        # only within the first one's second: both go right after a second begins (two polls
        # straddling a boundary are both pending; seen once under ASan in CI).
        time.sleep(1.0 - time.time() % 1.0 + 0.02)
        assert tv.device_poll(dev) in (lc.DeviceState.PENDING, lc.DeviceState.SLOW_DOWN)
        assert tv.device_poll(dev) == lc.DeviceState.SLOW_DOWN
        assert dev.interval >= 6
        with pytest.raises(libstream.AuthError):
            owner.activate(dev.user_code, email, "wrong password!")
        states = []
        threading.Timer(1.0, owner.activate, (dev.user_code, email, PASSWORD)).start()
        s = tv.device_wait(dev, timeout=60, on_poll=lambda st, iv: states.append(st))
        assert states[-1] == lc.DeviceState.APPROVED
        assert s.account_id == owner.session.account_id
        assert tv.genres()


def test_device_deny_cancel_and_callback_stop(streamd, account):
    owner, email = account
    with lc.Client(streamd.url) as tv:
        dev = tv.device_start()
        owner.activate(dev.user_code, email, PASSWORD, approve=False)
        with pytest.raises(libstream.Forbidden):
            tv.device_wait(dev, timeout=30)
        dev = tv.device_start()
        flag = lc.CancelFlag()
        threading.Timer(0.5, flag.set).start()
        t0 = time.time()
        with pytest.raises(libstream.Canceled):
            tv.device_wait(dev, timeout=30, cancel=flag)
        assert time.time() - t0 < 5
        with pytest.raises(libstream.Canceled):
            tv.device_wait(dev, timeout=30, on_poll=lambda st, iv: True)

        class Boom(Exception):
            pass

        def explode(st, iv):
            raise Boom()

        with pytest.raises(Boom):
            tv.device_wait(dev, timeout=30, on_poll=explode)
        with pytest.raises(libstream.TimedOut):
            tv.device_wait(dev, timeout=1.5)


def test_profiles_and_maturity(account):
    c, _ = account
    c.create_profile("Adult")
    kids = c.create_profile("Kids", kids=True, maturity_ceiling=7)
    locked = c.create_profile("Locked", pin="1234")
    assert locked["has_pin"] is True and kids["kids"] is True
    with pytest.raises((libstream.Conflict, libstream.AlreadyExists)):
        c.create_profile("Kids")
    c.create_profile("Four")
    five = c.create_profile("Five")
    with pytest.raises(libstream.OutOfRange):
        c.create_profile("Six")
    c.delete_profile(five["id"])
    with pytest.raises(libstream.NotFound):
        c.delete_profile(five["id"])
    # (oldest first, but these were created within the same second)
    assert sorted(p["name"] for p in c.profiles()) == ["Adult", "Four", "Kids", "Locked"]
    # A PIN-locked profile goes only with the account password (sent in the DELETE's body).
    gone = c.create_profile("Locked too", pin="4321")
    with pytest.raises(libstream.InvalidArgument) as ei:
        c.delete_profile(gone["id"])
    assert "locked" in str(ei.value)
    with pytest.raises(libstream.Forbidden):
        c.delete_profile(gone["id"], password="not the password")
    with pytest.raises(libstream.InvalidArgument):
        c.delete_profile(gone["id"], password="")
    c.delete_profile(gone["id"], password=PASSWORD)
    assert len(c.profiles()) == 4
    with pytest.raises((libstream.Forbidden, libstream.AuthError)):
        c.switch_profile(locked["id"], pin="0000")
    assert c.switch_profile(locked["id"], pin="1234").profile_id == locked["id"]
    adult = [t["id"] for t in c.browse_all(limit=6)]
    assert len(adult) == len(set(adult)) >= 20
    assert c.switch_profile(kids["id"]).profile_id == kids["id"]
    child = [t["id"] for t in c.browse_all(limit=6)]
    assert 0 < len(child) < len(adult) and set(child) <= set(adult)
    assert all(t.get("maturity_rating", 0) <= 7 for t in c.browse_all())


def test_catalog(account):
    c, _ = account
    genres = c.genres()
    assert genres == sorted(genres) and len(genres) >= 3
    titles = list(c.browse_all(limit=4))
    ids = [t["id"] for t in titles]
    assert len(ids) == len(set(ids)) >= 20
    per_genre = set()
    for g in genres:
        per_genre.update(t["id"] for t in c.browse_all(genre=g, limit=5))
    assert per_genre == set(ids)
    res = c.search("lantern", limit=5)
    assert res["items"][0]["name"] == "Lantern Road"
    assert c.search("LANTE")["items"]
    assert c.search("zzzzqqqxxy")["items"] == []
    assert isinstance(c.search("'; DROP TABLE titles; --")["items"], list)
    detail = c.title(res["items"][0]["id"])
    assert detail["name"] == "Lantern Road"
    with pytest.raises(libstream.NotFound) as e:
        c.title("no-such-title-xyz")
    assert e.value.message
    series = [t for t in titles if t["kind"] == "series"]
    assert any(len(c.title(t["id"]).get("seasons", [])) >= 2 for t in series)
    with pytest.raises(libstream.InvalidArgument):
        c.browse(cursor="garbage!!")
    assert c.request("GET", "/healthz") == {"status": "ok"}
    with pytest.raises(libstream.NotFound):
        c.request("GET", "/v1/nope")


def test_viewing(account):
    c, _ = account
    titles = list(c.browse_all(limit=50))
    movie = next(t for t in titles if t["kind"] == "movie")["id"]
    series = next(t for t in titles if t["kind"] == "series")["id"]
    episode = c.title(series)["seasons"][0]["episodes"][0]["id"]
    with pytest.raises(libstream.Forbidden):
        c.continue_watching()
    c.switch_profile(c.create_profile("Me")["id"])
    assert c.continue_watching() == []
    c.put_progress(movie, 600, 6000)
    time.sleep(1)
    c.put_progress(series, 100, 1500, episode_id=episode)
    row = c.continue_watching()
    assert [r["title"]["id"] for r in row] == [series, movie]
    assert abs(row[1]["progress"] - 0.1) < 1e-6
    c.put_progress(movie, 5900, 6000)
    assert [r["title"]["id"] for r in c.continue_watching()] == [series]
    with pytest.raises(libstream.InvalidArgument):
        c.put_progress(series, 1, 100)  # a series needs the episode
    c.add_to_my_list(movie)
    c.add_to_my_list(movie)
    time.sleep(1)
    c.add_to_my_list(series)
    assert [i["title"]["id"] for i in c.my_list()] == [series, movie]
    c.remove_from_my_list(series)
    c.remove_from_my_list(series)
    assert [i["title"]["id"] for i in c.my_list()] == [movie]
    with pytest.raises(libstream.NotFound):
        c.add_to_my_list("no-such-title-xyz")


def test_rate_limited_login():
    if "STREAMD_BIN" not in os.environ:
        pytest.skip("STREAMD_BIN is not set")
    d = Streamd("--login-account-burst", "2", "--login-address-burst", "0")
    try:
        email = new_email("rate")
        with lc.Client(d.url) as c:
            c.register(email, PASSWORD)
            with pytest.raises(libstream.Busy) as e:
                for _ in range(5):
                    with pytest.raises(libstream.AuthError):
                        c.login(email, "wrong password!")
            assert lc.retry_after() >= 1
            assert lc.last_http_status() == 429
            assert "retry after" in e.value.message
    finally:
        d.stop()


def test_ratings(account):
    c, _ = account
    movie = next(t for t in c.browse_all(limit=50) if t["kind"] == "movie")["id"]
    with pytest.raises(libstream.Forbidden):
        c.rating(movie)  # no profile selected
    c.switch_profile(c.create_profile("Rater")["id"])
    assert c.rating(movie) == 0
    c.rate(movie, 1)
    assert c.rating(movie) == 1
    c.rating_put(movie, -1)
    assert c.rating_get(movie) == -1
    c.rate(movie, 0)
    c.rate(movie, 0)
    assert c.rating(movie) == 0
    with pytest.raises(libstream.InvalidArgument):
        c.rate(movie, 5)
    with pytest.raises(libstream.NotFound):
        c.rate("no-such-title-xyz", 1)
    with pytest.raises(libstream.NotFound):
        c.rating("no-such-title-xyz")


def test_home(account):
    c, _ = account
    with pytest.raises(libstream.Forbidden):
        c.home()  # no profile selected
    c.switch_profile(c.create_profile("Home")["id"])
    movie = next(t for t in c.browse_all(limit=50) if t["kind"] == "movie")["id"]
    c.put_progress(movie, 600, 6000)
    c.add_to_my_list(movie)
    h = c.home(per_row=5)
    assert isinstance(h["model_version"], int)
    rows = {r["id"]: r for r in h["rows"]}
    assert [i["title"]["id"] for i in rows["continue_watching"]["items"]] == [movie]
    assert [i["title"]["id"] for i in rows["my_list"]["items"]] == [movie]
    assert all(len(r["items"]) <= 5 for r in h["rows"])
    assert "items" in c.home()["rows"][0]
    with pytest.raises(libstream.InvalidArgument):
        c.home(per_row=51)
