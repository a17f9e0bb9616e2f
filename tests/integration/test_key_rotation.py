#!/usr/bin/python3
"""Key rotation on the real streamd: the access-token key and the native media key in
generations (daemon/streamd/keyfile.h streamd_key_generations, docs/streamd.md "Replacing a
key").

1. The fleet procedure on one daemon, both roles at once, with the keys written by
   `streamctl keygen` as docs/streamd.md says:
   - start: an access token T1 (kid access-1) and a playback session S1 (KeyId=media-1) of a
     real transcoded asset (seed_media);
   - add keys/access-2.next.key and keys/media-2.next.key, restart: T1 and S1's segment still
     work, new tokens and sessions are still signed with generation 1;
   - rename them to access-2.key / media-2.key, restart: T1 and S1 still work, a new token T2
     has kid access-2 and a new session S2 KeyId=media-2, both work;
   - delete access.key and media.key, restart: T1 401, S1's segment 403, T2 and S2 work, and
     no access.key or media.key is generated again.
2. Layouts streamd refuses at start (exit 2, a message naming the files): one generation both
   active and next, names of the pattern with a bad number, more than 8 keys of a role, .next
   keys without an active one, a generation file of mode 0644 or a symlink; names outside the
   pattern are ignored.
3. With STREAM_TEST_PG (tests/pg/pg_run.sh): two daemons on one PostgreSQL database and one
   data directory restarted one at a time (a rolling restart): after step 1 on both, A
   restarted with access-2.key signs with access-2 and B, not yet restarted, accepts A's new
   tokens; A accepts B's tokens of access-1. Skipped without a PostgreSQL server.

Usage: test_key_rotation.py STREAMD STREAMCTL [media]. Part 1's media half needs the media
feature ("media") and ffmpeg; without them only the access key is rotated there.
Standard library only (Debian's /usr/bin/python3).
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from streamd_harness import Streamd, profile_token, register_login, start_refused, unique_email

STREAMD = STREAMCTL = None
OP_TOKEN = "keyrot-operator-token-0123456789abcdef"
OK_CARD = "tok_4242424242424242"
TITLE = "keyrot-movie"


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def catalog():
    return {"titles": [{"id": TITLE, "kind": "movie", "name": "Key Rotation", "synopsis": "Keys.",
                        "year": 2024, "runtime_minutes": 1, "maturity_rating": 0,
                        "genres": ["Documentary"]}]}


def kid(token):
    """The kid of a JWT's protected header."""
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"]


def keygen(path):
    """A new 32-byte HMAC key written where streamd reads it, as docs/streamd.md says."""
    r = subprocess.run([STREAMCTL, "keygen", "--type", "hmac", "--bytes", "32", "--out", path],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, ("streamctl keygen", r.returncode, r.stderr))
    check(oct(os.stat(path).st_mode & 0o777) == oct(0o600), "keygen writes 0600")


def logged(d, msg):
    """Whether daemon d's stderr (JSON lines) holds a line whose "msg" is exactly msg."""
    for line in d.stderr_text().splitlines():
        try:
            if json.loads(line).get("msg") == msg:
                return True
        except ValueError:
            pass
    return False


def fetch(url):
    """GET with urllib: (status, body), HTTP errors included."""
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def status(d, token):
    """The status of GET /v1/account with `token` on daemon d."""
    return d.request("GET", "/v1/account", token=token).status


def new_token(d, email):
    r = d.request("POST", "/v1/auth/login", json_body={"email": email,
                                                       "password": "correct horse 42"})
    check(r.status == 200, ("login", r.status, r.body))
    return r.json["access_token"]


class Viewer:
    """An account with a premium subscription and a profile token that plays TITLE."""

    def __init__(self, d):
        self.email = unique_email("keyrot")
        tok = register_login(d, self.email)["access_token"]
        self.profile, sw = profile_token(d, tok, "Main")
        self.token = sw["access_token"]
        r = d.request("POST", "/v1/billing/payment-methods", json_body={"token": OK_CARD},
                      token=self.token, key="keyrot-card")
        check(r.status == 201, ("payment method", r.status, r.body))
        r = d.request("POST", "/v1/billing/subscription", json_body={"plan_id": "premium"},
                      token=self.token, key="keyrot-sub")
        check(r.status == 201, ("subscription", r.status, r.body))

    def profile_token(self, d):
        """A new profile access token from daemon d (signed with its current key)."""
        tok = new_token(d, self.email)
        r = d.request("POST", "/v1/profiles/%s/switch" % self.profile, json_body={}, token=tok)
        check(r.status == 200, ("switch", r.status, r.body))
        return r.json["access_token"]

    def session(self, d, token):
        """A new playback session from daemon d: the URL of its first video segment."""
        r = d.request("POST", "/v1/playback", token=token,
                      json_body={"title_id": TITLE, "device_id": "keyrot-tv",
                                 "device_name": "Key rotation TV"})
        check(r.status == 201, ("playback", r.status, r.body))
        master = r.json["hls_url"]
        base = master.rsplit("/", 1)[0] + "/"
        st, body = fetch(master)
        check(st == 200, ("master playlist", st, body[:300]))
        variant = next(x for x in body.decode().splitlines() if x and not x.startswith("#"))
        st, body = fetch(base + variant)
        check(st == 200, ("media playlist", st, body[:300]))
        seg = next(x for x in body.decode().splitlines() if x and not x.startswith("#"))
        return base + variant.rsplit("/", 1)[0] + "/" + seg


def key_id_of(url):
    """The KeyId of a native path token URL."""
    tok = url.split("stream-token=", 1)[1].split("/", 1)[0]
    return dict(p.split("=", 1) for p in tok.split("&"))["KeyId"]


def wait_asset(d):
    deadline = time.time() + 240
    while time.time() < deadline:
        r = d.request("GET", "/v1/admin/assets?title_id=" + TITLE, token=OP_TOKEN)
        check(r.status == 200, ("assets", r.status, r.body))
        if any(a["status"] == "ready" for a in r.json["assets"]):
            return
        time.sleep(0.5)
    raise AssertionError("the seeded asset was not transcoded: " + d.stderr_text(3000))


def rotation(tmp, media):
    """Part 1: the three steps on one daemon."""
    args = ["--login-address-burst", "0", "--login-account-burst", "0", "--log-level", "info"]
    if media:
        src = os.path.join(tmp, "src.mp4")
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=size=320x180:rate=25", "-t", "2", "-c:v", "libx264",
                        "-preset", "ultrafast", "-pix_fmt", "yuv420p", src], check=True,
                       timeout=120)
        args += ["--seed-media", "%s=%s" % (TITLE, src)]
    else:
        args += ["--transcode-workers", "0"]
    d = Streamd(STREAMD, args, tmp=tmp, catalog=catalog(), operator_token=OP_TOKEN)
    keys = os.path.join(d.data_dir, "keys")
    logs = []  # (message, seen): checked last, after what the daemon answered

    def saw(msg):
        logs.append((msg, logged(d, msg)))

    try:
        check(sorted(f for f in os.listdir(keys) if f.endswith(".key")) ==
              ["access.key", "media.key"], os.listdir(keys))
        v = Viewer(d)
        t1 = v.token
        check(kid(t1) == "access-1", kid(t1))
        seg1 = None
        if media:
            wait_asset(d)
            seg1 = v.session(d, t1)
            check(key_id_of(seg1) == "media-1", seg1)
            st, _ = fetch(seg1)
            check(st == 200, ("S1's segment", st))
            saw("media signing key: media-1 signs; accepted: media-1")
        saw("access-token signing key: access-1 signs; accepted: access-1")
        print("ok - generation 1: token kid access-1%s" % (", session KeyId media-1" if media
                                                             else ""))

        # Step 1: the new generation, accepted only.
        check(d.stop() == 0, "stop")
        keygen(os.path.join(keys, "access-2.next.key"))
        keygen(os.path.join(keys, "media-2.next.key"))
        d.start()
        check(status(d, t1) == 200, "T1 after step 1")
        t = v.profile_token(d)
        check(kid(t) == "access-1", ("still signed with access-1", kid(t)))
        if media:
            check(fetch(seg1)[0] == 200, "S1 after step 1")
            s = v.session(d, t)
            check(key_id_of(s) == "media-1", s)
            saw("media signing key: media-1 signs; accepted: media-1, media-2 (next)")
        saw("access-token signing key: access-1 signs; accepted: access-1, access-2 (next)")
        print("ok - step 1 (X-2.next.key): generation 1 still signs, both are accepted")

        # Step 2: the new generation signs.
        check(d.stop() == 0, "stop")
        os.rename(os.path.join(keys, "access-2.next.key"), os.path.join(keys, "access-2.key"))
        os.rename(os.path.join(keys, "media-2.next.key"), os.path.join(keys, "media-2.key"))
        d.start()
        check(status(d, t1) == 200, "T1 after step 2")
        t2 = v.profile_token(d)
        check(kid(t2) == "access-2", ("signed with access-2", kid(t2)))
        check(status(d, t2) == 200, "T2 after step 2")
        seg2 = None
        if media:
            check(fetch(seg1)[0] == 200, "S1 after step 2")
            seg2 = v.session(d, t2)
            check(key_id_of(seg2) == "media-2", seg2)
            check(fetch(seg2)[0] == 200, "S2 after step 2")
            saw("media signing key: media-2 signs; accepted: media-1, media-2")
        saw("access-token signing key: access-2 signs; accepted: access-1, access-2")
        print("ok - step 2 (X-2.key): generation 2 signs, generation 1 still accepted")

        # Step 3: generation 1 retired.
        check(d.stop() == 0, "stop")
        os.unlink(os.path.join(keys, "access.key"))
        os.unlink(os.path.join(keys, "media.key"))
        d.start()
        r = d.request("GET", "/v1/account", token=t1)
        check(r.status == 401, ("T1 after step 3", r.status, r.body))
        check(status(d, t2) == 200, "T2 after step 3")
        check(kid(v.profile_token(d)) == "access-2", "access-2 signs")
        if media:
            st, body = fetch(seg1)
            check(st == 403, ("S1 after step 3", st, body[:300]))
            check(fetch(seg2)[0] == 200, "S2 after step 3")
            saw("media signing key: media-2 signs; accepted: media-2")
        saw("access-token signing key: access-2 signs; accepted: access-2")
        check(not os.path.exists(os.path.join(keys, "access.key")), "access.key not regenerated")
        check(not os.path.exists(os.path.join(keys, "media.key")), "media.key not regenerated")
        print("ok - step 3 (X.key removed): what generation 1 signed is refused (401%s), "
              "generation 2 works" % (", 403" if media else ""))
        check(d.stop() == 0, "stop")
        for msg, seen in logs:
            check(seen, "not logged: " + msg)
        print("ok - each start logged which generation signs and which are accepted")
    except BaseException:
        sys.stderr.write("streamd log:\n%s\n" % d.stderr_text(4000))
        raise
    finally:
        d.cleanup()


def refused_start(data_dir, extra=()):
    """streamd on data_dir that must stop at start: (exit status, stderr)."""
    started, rc, err = start_refused(STREAMD, data_dir, extra)
    check(not started, "streamd started: " + err)
    return rc, err


def write_key(path, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    os.write(fd, base64.urlsafe_b64encode(os.urandom(32)) + b"\n")
    os.close(fd)
    os.chmod(path, mode)


def refusals(tmp):
    """Part 2: each layout streamd refuses, then an accepted one with foreign names."""
    d = Streamd(STREAMD, ["--transcode-workers", "0", "--log-level", "info"], tmp=tmp,
                access_log=False)
    check(d.stop() == 0, "stop")
    keys = os.path.join(d.data_dir, "keys")

    def refused(*expect):
        rc, err = refused_start(d.data_dir)
        check(rc == 2, ("exit status 2", rc, err))
        for e in expect:
            check(e in err, ("message", e, err))

    def k(name):
        return os.path.join(keys, name)

    try:
        for role in ("access", "media"):
            write_key(k(role + "-2.key"))
            write_key(k(role + "-2.next.key"))
            refused("%s: both %s-2.key and %s-2.next.key hold generation 2" % (keys, role, role))
            os.unlink(k(role + "-2.next.key"))
            for bad in ("01", "1", "0", "x", "10000", "2.old", "", "2.next.next"):
                name = "%s-%s.key" % (role, bad)
                write_key(k(name))
                refused("%s is not a key file name streamd takes: expected %s.key (generation 1), "
                        "%s-<n>.key or %s-<n>.next.key with n a decimal number from 2 to 9999 "
                        "without leading zeros" % (k(name), role, role, role))
                os.unlink(k(name))
            for n in range(3, 10):
                write_key(k("%s-%d.key" % (role, n)))
            refused("%s: 9 %s key files (%s.key, %s-2.key, %s-3.key" %
                    (keys, role, role, role, role), "at most 8 are loaded")
            for n in range(2, 10):
                os.unlink(k("%s-%d.key" % (role, n)))
            # A .next key alone: no key signs, and one is not generated next to it.
            os.rename(k(role + ".key"), os.path.join(tmp, role + ".key.saved"))
            write_key(k(role + "-2.next.key"))
            refused("no active", "%s-2.next.key is accepted only" % role,
                    "rename %s to %s-2.key" % (k(role + "-2.next.key"), role))
            check(not os.path.exists(k(role + ".key")), "no generation 1 made")
            os.unlink(k(role + "-2.next.key"))
            os.rename(os.path.join(tmp, role + ".key.saved"), k(role + ".key"))
            # Generation files are checked as access.key is: mode, symlink.
            write_key(k(role + "-3.key"), 0o644)
            refused(k(role + "-3.key") + " must be a regular file of mode 0600 (chmod 600 it)")
            os.unlink(k(role + "-3.key"))
            write_key(os.path.join(tmp, "real.key"))
            os.symlink(os.path.join(tmp, "real.key"), k(role + "-3.next.key"))
            refused(k(role + "-3.next.key") + " must be a regular file of mode 0600, not a symlink")
            os.unlink(k(role + "-3.next.key"))
            os.unlink(os.path.join(tmp, "real.key"))
        print("ok - refused at start (exit 2, files named): a generation both active and next, "
              "bad numbers, more than 8 keys, .next keys alone, mode 0644, a symlink")
        # Names outside the pattern are left alone.
        for name in ("access.key.0123456789ab.tmp", "access-2.key.bak", "access.next.key",
                     "accesses.key", "media-keys.txt", "rate.key.old"):
            write_key(k(name))
        d.start()
        check(logged(d, "access-token signing key: access-1 signs; accepted: access-1"),
              d.stderr_text(2000))
        check(d.stop() == 0, "stop")
        print("ok - other names in keys/ are ignored")
    finally:
        d.cleanup()


def rolling(tmp, url):
    """Part 3: a rolling restart of two daemons on one database and one data directory."""
    name = "keyrot_%d" % os.getpid()
    subprocess.run(["psql", url, "-q", "-c", "CREATE DATABASE " + name], check=True)
    url = "postgresql:///%s?%s" % (name, url.split("?", 1)[1])
    data_dir = os.path.join(tmp, "data")
    common = ["--store-url", url, "--transcode-workers", "0", "--login-address-burst", "0",
              "--login-account-burst", "0", "--log-level", "info"]
    ds = []
    try:
        for n in "ab":
            os.makedirs(os.path.join(tmp, n))
            ds.append(Streamd(STREAMD, common, tmp=os.path.join(tmp, n), data_dir=data_dir,
                              access_log=False))
        a, b = ds
        email = unique_email("rolling")
        t1 = register_login(a, email)["access_token"]
        check(kid(t1) == "access-1" and status(b, t1) == 200, "A's token on B")
        keys = os.path.join(data_dir, "keys")
        # Step 1 on every daemon (one at a time: each already accepts what the others sign).
        keygen(os.path.join(keys, "access-2.next.key"))
        for d in (a, b):
            d.restart()
        # Step 2, A first: A signs with access-2; B, not restarted yet, accepts it.
        os.rename(os.path.join(keys, "access-2.next.key"), os.path.join(keys, "access-2.key"))
        a.restart()
        ta = new_token(a, email)
        tb = new_token(b, email)
        check(kid(ta) == "access-2" and kid(tb) == "access-1", (kid(ta), kid(tb)))
        for d, n in ((a, "A"), (b, "B")):
            for t, what in ((t1, "T1"), (ta, "A's access-2 token"), (tb, "B's access-1 token")):
                check(status(d, t) == 200, "%s on %s mid-rollout" % (what, n))
        b.restart()
        check(kid(new_token(b, email)) == "access-2", "B signs with access-2 after its restart")
        print("ok - rolling restart on one database: between the restarts of A and B each "
              "accepts the other's tokens (access-1 and access-2)")
    except BaseException:
        for d in ds:
            sys.stderr.write("streamd log:\n%s\n" % d.stderr_text(3000))
        raise
    finally:
        for d in ds:
            d.stop()
            d.cleanup()


def main():
    global STREAMD, STREAMCTL
    STREAMD, STREAMCTL = sys.argv[1], sys.argv[2]
    media = len(sys.argv) > 3 and sys.argv[3] == "media" and shutil.which("ffmpeg") is not None
    tmp = tempfile.mkdtemp(prefix="streamd-keyrot-")
    ok = False
    try:
        if not media:
            print("# no media feature or no ffmpeg: the media key's rotation is not played")
        os.makedirs(os.path.join(tmp, "rot"))
        rotation(os.path.join(tmp, "rot"), media)
        os.makedirs(os.path.join(tmp, "bad"))
        refusals(os.path.join(tmp, "bad"))
        url = os.environ.get("STREAM_TEST_PG")
        if url and shutil.which("psql"):
            os.makedirs(os.path.join(tmp, "roll"))
            rolling(os.path.join(tmp, "roll"), url)
        else:
            print("# skip rolling restart: STREAM_TEST_PG is not set (tests/pg/pg_run.sh) or no "
                  "psql")
        ok = True
    finally:
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept " + tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
