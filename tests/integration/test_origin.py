#!/usr/bin/python3
"""The signed origin and playback sessions end to end, against the real streamd.

A 2 s 1920x1080 testsrc2 clip is transcoded with `streamctl transcode` (1080p,
720p, 360p) into <data_dir>/media/<dir>, registered as the ready asset of a
catalog title through libstream's jobs API (the asset registry), and played
through POST /v1/playback by viewers on the seeded plans. Media is fetched
with urllib / http.client: single ranges, 416, ETag 304, Last-Modified,
gzip manifests, CORS, 403 for expired / tampered / above-cap requests,
traversal attempts, and the screen limit of a two-screen plan.

Usage: /usr/bin/python3 test_origin.py STREAMD STREAMCTL PY_BINDINGS_DIR
Standard library plus libstream's cffi module (for the asset registry and
for signing test URLs with the daemon's own media key).
"""
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from streamd_harness import Response, Streamd, profile_token, register_login, unique_email

# In a sanitizer build meson preloads the ASan/UBSan runtimes for this interpreter (it loads the
# instrumented libstream through cffi); the programs it starts (streamd, ffmpeg, curl) must not
# inherit that (curl hangs with libasan preloaded).
os.environ.pop("LD_PRELOAD", None)

STREAMD = STREAMCTL = None
OP_TOKEN = "op-token-origin-test-7c1d2e"
ORIGIN = "http://player.example.test"
OK_CARD = "tok_4242424242424242"
TITLE = "origin-movie"


def catalog():
    return {"titles": [
        {"id": TITLE, "kind": "movie", "name": "Origin Test Movie", "synopsis": "Test pattern.",
         "year": 2024, "runtime_minutes": 1, "maturity_rating": 0, "genres": ["Documentary"]},
        {"id": "origin-mature", "kind": "movie", "name": "Origin Mature", "synopsis": "Adults.",
         "year": 2024, "runtime_minutes": 1, "maturity_rating": 18, "genres": ["Drama"]},
        {"id": "origin-empty", "kind": "movie", "name": "No Media Yet", "synopsis": "Nothing.",
         "year": 2024, "runtime_minutes": 1, "maturity_rating": 0, "genres": ["Drama"]},
    ]}


class Daemon(Streamd):
    def __init__(self, tmp, extra=()):
        super().__init__(STREAMD, ["--cors-origins", ORIGIN, "--login-address-burst", "0"] +
                         list(extra), tmp=tmp, log_level="warn", catalog=catalog(),
                         operator_token=OP_TOKEN, demo_timeout=10)

D = None
ASSET_DIR = "origin-movie-a1"
LEASE_TTL = 10  # the main daemon's --lease-ttl: test_11 waits for one lease to lapse


Resp = Response


def call(method, path, json_body=None, token=None, headers=None, key=None):
    return D.request(method, path, json_body=json_body, token=token, headers=headers,
                     key=key or None)


def fetch(url, headers=None, method="GET"):
    """urllib, with HTTP errors as responses."""
    req = urllib.request.Request(url, headers=dict(headers or {}), method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return Resp(r.status, list(r.headers.items()), r.read())
    except urllib.error.HTTPError as e:
        return Resp(e.code, list(e.headers.items()), e.read())


def raw_get(path, headers=None):
    """http.client with the path sent exactly as given (no normalisation)."""
    return call("GET", path, headers=headers)


_n = [0]


def viewer(plan):
    _n[0] += 1
    tok = register_login(D, unique_email("origin"), "correct horse 42")["access_token"]
    tok = profile_token(D, tok, "Main")[1]["access_token"]
    if plan:
        r = call("POST", "/v1/billing/payment-methods", {"token": OK_CARD}, token=tok,
                 key="card-%d" % _n[0])
        assert r.status == 201, r.body
        r = call("POST", "/v1/billing/subscription", {"plan_id": plan}, token=tok,
                 key="sub-%d" % _n[0])
        assert r.status == 201, r.body
    return tok


def play(tok, device, title=TITLE):
    return call("POST", "/v1/playback", {"title_id": title, "device_id": device,
                                         "device_name": "Test " + device}, token=tok)


def register_asset(data_dir, title, dirname, summary):
    from _libstream_cffi import ffi, lib
    st = ffi.new("stream_store **")
    so = ffi.new("stream_store_options *")
    so.version = lib.STREAM_STORE_OPTIONS_VERSION
    path = ffi.new("char[]", os.path.join(data_dir, "streamd.db").encode())
    so.path = path
    so.readers = 1
    # Zeroed options wait 0 ms for a lock: streamd writing at that moment failed the open
    # ("database is locked beyond the busy timeout", seen under ASan in CI). The store's
    # default is 5 s; a test waits longer on a loaded host.
    so.busy_timeout_ms = 30000
    assert lib.stream_store_open(st, so) == 0, ffi.string(lib.stream_error_last().message)
    jo = ffi.new("stream_jobs_options *")
    jo.version = lib.STREAM_JOBS_OPTIONS_VERSION
    jo.store = st[0]
    j = ffi.new("stream_jobs **")
    assert lib.stream_jobs_new(j, jo) == 0, ffi.string(lib.stream_error_last().message)
    out = ffi.new("char[]", 65)
    rc = lib.stream_jobs_asset_create(out, j[0], title.encode(), ffi.NULL, dirname.encode(),
                                      ffi.NULL)
    assert rc == 0, ffi.string(lib.stream_error_last().message)
    assert lib.stream_jobs_asset_ready(j[0], out, summary.encode()) == 0
    lib.stream_jobs_free(j[0])
    lib.stream_store_close(st[0])
    return ffi.string(out).decode()


def sign_path(data_dir, prefix, rest, expires):
    """A native path token made with the daemon's own media key."""
    from _libstream_cffi import ffi, lib
    key = ffi.new("stream_key **")
    assert lib.stream_key_load_file(key, lib.STREAM_KEY_HMAC, b"media-1",
                                    os.path.join(data_dir, "keys", "media.key").encode()) == 0
    ring = ffi.new("stream_keyring **")
    assert lib.stream_keyring_new(ring) == 0
    lib.stream_keyring_add(ring[0], key[0])
    lib.stream_keyring_set_primary(ring[0], b"media-1")
    o = ffi.new("stream_native_sign_options *")
    o.version = lib.STREAM_NATIVE_SIGN_OPTIONS_VERSION
    o.expires = expires
    out = ffi.new("char **")
    assert lib.stream_sign_native_path(out, ring[0], prefix.encode(), rest.encode(), o) == 0
    url = ffi.string(out[0]).decode()
    lib.stream_free(out[0])
    lib.stream_keyring_free(ring[0])
    lib.stream_key_free(key[0])
    return url


def cmcd(payload):
    """The CMCD query argument a player appends (CTA-5004: encodeURIComponent of the payload)."""
    return "CMCD=" + urllib.parse.quote(payload, safe="-_.!~*'()")


def with_cmcd(url, payload):
    return url + ("&" if "?" in url else "?") + cmcd(payload)


CMCD_SEG = 'bl=21300,br=2990,cid="origin-movie",d=2000,mtp=25400,ot=v,sf=h,sid="cmcd-sid-1",st=v,su'


def metric(name):
    """The sum of a /metrics family's samples whose name and labels start with `name`."""
    r = call("GET", "/metrics")
    assert r.status == 200, r.body
    return sum(float(x.rsplit(" ", 1)[1]) for x in r.body.decode().splitlines()
               if x.startswith(name))


def access_lines(pred, want=1, timeout=10):
    """The access-log lines for which pred(line) holds; waits (lines are written when a response
    completes) until there are `want` of them or the timeout passes."""
    deadline = time.time() + timeout
    while True:
        with open(D.access_log) as f:
            lines = [json.loads(x) for x in f if x.strip()]
        hits = [x for x in lines if pred(x)]
        if len(hits) >= want or time.time() > deadline:
            return hits
        time.sleep(0.1)


class T(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        global D
        cls.tmp = tempfile.mkdtemp(prefix="streamd-origin-")
        D = Daemon(cls.tmp, ["--lease-ttl", str(LEASE_TTL)])
        src = os.path.join(cls.tmp, "src.mp4")
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=size=1920x1080:rate=30", "-f", "lavfi", "-i",
                        "sine=frequency=440:sample_rate=48000", "-t", "2", "-c:v", "libx264",
                        "-preset", "ultrafast", "-c:a", "aac", "-shortest", src], check=True)
        out = os.path.join(D.data_dir, "media", ASSET_DIR)
        subprocess.run([STREAMCTL, "transcode", src, out, "--ladder", "1080p,720p,360p",
                        "--x264-preset", "ultrafast", "--segment", "2", "--no-thumbnails"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=180)
        with open(os.path.join(out, "summary.json")) as f:
            summary = f.read()
        cls.summary = json.loads(summary)
        cls.asset_id = register_asset(D.data_dir, TITLE, ASSET_DIR, summary)
        cls.dirs = {r["height"]: r["dir"] for r in cls.summary["renditions"]
                    if r["kind"] == "video"}
        assert sorted(cls.dirs) == [360, 720, 1080], cls.dirs
        cls.out = out
        # One 720p (basic plan) session shared by most cases.
        cls.basic = viewer("basic")
        r = play(cls.basic, "tv-1")
        assert r.status == 201, (r.status, r.body)
        cls.session = r.json

    @classmethod
    def tearDownClass(cls):
        D.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def url(self, rest):
        return self.session["hls_url"].rsplit("/", 1)[0] + "/" + rest

    def problem(self, r, status):
        self.assertEqual(r.status, status, r.body)
        self.assertEqual(r.header("Content-Type"), "application/problem+json")
        return json.loads(r.body)

    def test_01_session_shape(self):
        s = self.session
        self.assertEqual(s["max_height"], 720)
        self.assertEqual(s["asset_id"], self.asset_id)
        self.assertIn("/v1/media/%s/h720/stream-token=" % ASSET_DIR, s["hls_url"])
        self.assertTrue(s["hls_url"].endswith("/master.m3u8"))
        self.assertTrue(s["dash_url"].endswith("/manifest.mpd"))
        self.assertGreater(s["expires_at"], time.time() + 3600)
        self.assertEqual(s["resume_position_ms"], 0)
        lease = s["lease"]
        self.assertEqual(lease["id"], s["session_id"])
        self.assertTrue(lease["heartbeat_url"].endswith("/v1/playback/%s/heartbeat" % lease["id"]))
        self.assertGreaterEqual(lease["interval_s"], 1)
        r = call("POST", "/v1/playback/%s/heartbeat" % lease["id"], token=self.basic)
        self.assertEqual(r.status, 200, r.body)
        self.assertGreaterEqual(r.json["expires_at"], lease["expires_at"])

    def test_02_capped_manifests(self):
        r = fetch(self.session["hls_url"])
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.header("Content-Type"), "application/vnd.apple.mpegurl")
        text = r.body.decode()
        self.assertNotIn("1920x1080", text)
        self.assertNotIn(self.dirs[1080], text)
        self.assertIn(self.dirs[720] + "/index.m3u8", text)
        self.assertIn(self.dirs[720] + "/iframes.m3u8", text)
        self.assertIn(self.dirs[360] + "/index.m3u8", text)
        self.assertIn("max-age=", r.header("Cache-Control"))
        self.assertNotIn("immutable", r.header("Cache-Control"))
        r = fetch(self.session["dash_url"])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "application/dash+xml")
        self.assertNotIn(self.dirs[1080], r.body.decode())
        self.assertIn('maxHeight="720"', r.body.decode())

    def test_03_720p_plan_never_gets_1080p(self):
        seg = self.dirs[1080] + "/seg_00001.m4s"
        p = self.problem(fetch(self.url(seg)), 403)
        self.assertIn("above the signed cap", p["detail"])
        self.problem(fetch(self.url(self.dirs[1080] + "/init.mp4")), 403)
        self.problem(fetch(self.url(self.dirs[1080] + "/index.m3u8")), 403)
        # Raising the cap in the URL breaks the signature.
        p = self.problem(fetch(self.url(seg).replace("/h720/", "/h1080/")), 403)
        self.assertIn("signature", p["detail"])
        self.problem(fetch(self.url(seg).replace("/h720/", "/h0/")), 403)
        r = fetch(self.url(self.dirs[720] + "/seg_00001.m4s"))
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "video/iso.segment")
        self.assertEqual(r.header("Cache-Control"), "public, max-age=31536000, immutable")

    def test_04_ranges(self):
        path = os.path.join(self.out, self.dirs[720], "seg_00001.m4s")
        with open(path, "rb") as f:
            data = f.read()
        n = len(data)
        u = self.url(self.dirs[720] + "/seg_00001.m4s")
        r = fetch(u)
        self.assertEqual((r.status, r.body), (200, data))
        self.assertEqual(r.header("Accept-Ranges"), "bytes")
        self.assertEqual(int(r.header("Content-Length")), n)
        r = fetch(u, {"Range": "bytes=0-99"})
        self.assertEqual((r.status, r.body), (206, data[:100]))
        self.assertEqual(r.header("Content-Range"), "bytes 0-99/%d" % n)
        r = fetch(u, {"Range": "bytes=-100"})
        self.assertEqual((r.status, r.body), (206, data[-100:]))
        self.assertEqual(r.header("Content-Range"), "bytes %d-%d/%d" % (n - 100, n - 1, n))
        r = fetch(u, {"Range": "bytes=1000-"})
        self.assertEqual((r.status, r.body), (206, data[1000:]))
        r = fetch(u, {"Range": "bytes=%d-%d" % (n - 10, n + 500)})
        self.assertEqual((r.status, r.body), (206, data[-10:]))
        # 416: a problem that says 416 (RFC 9457), cached like the origin's other errors (never
        # the 200's year-long immutable policy or its validators: a CDN would keep it for all).
        huge = "9" * 30  # past 64 bits
        for rng in ("bytes=%d-" % n, "bytes=%d-%d" % (n, n + 9), "bytes=-0", "bytes=%s-" % huge,
                    "bytes=18446744073709551615-", "bytes=%d-%s" % (n, huge),
                    "bytes=%s-%s" % (huge, huge + "9")):
            r = fetch(u, {"Range": rng, "Origin": ORIGIN})
            self.assertEqual(r.status, 416, rng)
            p = self.problem(r, 416)
            self.assertEqual(p["status"], 416, rng)
            self.assertEqual(p["type"], "urn:libstream:problem:range-not-satisfiable")
            self.assertEqual(r.header("Content-Range"), "bytes */%d" % n, rng)
            self.assertEqual(r.header("Cache-Control"), "no-store", rng)
            for h in ("ETag", "Last-Modified", "Accept-Ranges"):
                self.assertIsNone(r.header(h), (rng, h))
            self.assertEqual(r.header("Access-Control-Allow-Origin"), ORIGIN)
            self.assertIn("Content-Range", r.header("Access-Control-Expose-Headers"))
        # A last position past 64 bits is "to the end"; so is a suffix longer than the file;
        # the unit has no case (RFC 9110 14.1); last < first is invalid, hence ignored.
        for rng, want in (("bytes=0-%s" % huge, (0, n - 1)), ("bytes=10-18446744073709551615",
                                                              (10, n - 1)),
                          ("bytes=-%s" % huge, (0, n - 1)), ("Bytes=0-9", (0, 9))):
            r = fetch(u, {"Range": rng})
            self.assertEqual(r.status, 206, rng)
            self.assertEqual(r.body, data[want[0]:want[1] + 1], rng)
            self.assertEqual(r.header("Content-Range"), "bytes %d-%d/%d" % (want + (n,)), rng)
        for rng in ("bytes=%s-5" % huge, "bytes=%s9-%s" % (huge, huge), "bytes=5-4"):
            r = fetch(u, {"Range": rng})
            self.assertEqual(r.status, 200, rng)
            self.assertEqual(r.body, data, rng)
        # Several ranges: the whole file (allowed by RFC 9110).
        r = fetch(u, {"Range": "bytes=0-1,5-9"})
        self.assertEqual((r.status, r.body), (200, data))
        # Signs and spaces are not digits: an invalid range is ignored (the whole file, 200),
        # not read as a huge number and clamped into a 206.
        for bad in ("bytes=--5", "bytes=0--5", "bytes=0-+5", "bytes=- 5", "bytes=0- 9"):
            r = fetch(u, {"Range": bad})
            self.assertEqual((r.status, r.body), (200, data), bad)
        # If-Range with another validator: the whole file.
        r = fetch(u, {"Range": "bytes=0-9", "If-Range": '"other"'})
        self.assertEqual((r.status, len(r.body)), (200, n))
        # curl, too.
        out = subprocess.run(["curl", "-sS", "-r", "10-19", "-o", "-", "-w", "%{http_code}", u],
                             capture_output=True, check=True, timeout=30).stdout
        self.assertEqual(out, data[10:20] + b"206")
        # HEAD: headers only.
        r = fetch(u, method="HEAD")
        self.assertEqual((r.status, r.body, int(r.header("Content-Length"))), (200, b"", n))

    def test_05_etag_and_last_modified(self):
        u = self.url(self.dirs[360] + "/init.mp4")
        r = fetch(u)
        etag, lm = r.header("ETag"), r.header("Last-Modified")
        self.assertTrue(etag.startswith('"') and etag.endswith('"'), etag)
        self.assertTrue(lm.endswith(" GMT"), lm)
        r = fetch(u, {"If-None-Match": etag})
        self.assertEqual((r.status, r.body), (304, b""))
        self.assertEqual(r.header("ETag"), etag)
        r = fetch(u, {"If-None-Match": '"nope", ' + etag})
        self.assertEqual(r.status, 304)
        # OWS in the list is spaces or tabs; "*" matches only alone; an entity-tag whole.
        for inm, want in (('"nope",\t' + etag, 304), ('\t' + etag + '\t,"x"', 304), ("*", 304),
                          (' * ', 304), ('"a", *x', 200), ('"a,' + etag[1:], 200),
                          (etag[:-1], 200), ("W/" + etag, 304)):
            self.assertEqual(fetch(u, {"If-None-Match": inm}).status, want, inm)
        self.assertEqual(fetch(u, {"If-None-Match": '"nope"'}).status, 200)
        self.assertEqual(fetch(u, {"If-Modified-Since": lm}).status, 304)
        self.assertEqual(fetch(u, {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}).status,
                         200)
        # The capped master has its own tag (its bytes differ from the file's).
        m = fetch(self.session["hls_url"])
        self.assertIn("-c720", m.header("ETag"))
        self.assertEqual(fetch(self.session["hls_url"], {"If-None-Match": m.header("ETag")}).status,
                         304)

    def test_05b_not_modified_length(self):
        """A 304's Content-Length, when sent, is the 200's (RFC 9110 8.6), never 0: files,
        capped and gzipped manifests, on a keep-alive connection that goes on serving."""
        seg = self.url(self.dirs[720] + "/seg_00001.m4s")
        gz = {"Accept-Encoding": "gzip"}
        conn = D.conn()
        try:
            for u, extra in ((seg, {}), (self.session["hls_url"], {}),
                             (self.session["dash_url"], gz), (self.url(self.dirs[360] +
                                                                       "/index.m3u8"), {})):
                path = u[len(D.url):]
                full = D.request("GET", path, headers=extra, conn=conn)
                self.assertEqual(full.status, 200, full.body)
                for cond in ({"If-None-Match": full.header("ETag")},
                             {"If-Modified-Since": full.header("Last-Modified")}):
                    r = D.request("GET", path, headers=dict(extra, **cond), conn=conn)
                    self.assertEqual((r.status, r.body), (304, b""), (path, cond))
                    self.assertIn(r.header("Content-Length"),
                                  (None, str(len(full.body))), (path, cond))
                    self.assertEqual(r.header("ETag"), full.header("ETag"))
                    self.assertEqual(r.header("Cache-Control"), full.header("Cache-Control"))
                    self.assertIsNone(r.header("Content-Type"))
                    # A Range with a matching validator: still 304, the whole file's length.
                    r = D.request("GET", path, headers=dict(extra, Range="bytes=0-9", **cond),
                             conn=conn)
                    self.assertEqual(r.status, 304)
                    self.assertIn(r.header("Content-Length"), (None, str(len(full.body))))
            r = D.request("GET", seg[len(D.url):], headers={"Range": "bytes=0-9"}, conn=conn)
            self.assertEqual(r.status, 206)
            self.assertEqual(len(r.body), 10)
        finally:
            conn.close()

    def test_05c_preconditions(self):
        """If-Match (strong comparison) and If-Unmodified-Since, evaluated before If-None-Match
        and Range (RFC 9110 13.2.2): a download manager resuming a segment with the validator it
        started with gets its range, one holding a stale validator a 412 instead of mixed bytes."""
        path = os.path.join(self.out, self.dirs[720], "seg_00001.m4s")
        with open(path, "rb") as f:
            data = f.read()
        u = self.url(self.dirs[720] + "/seg_00001.m4s")
        full = fetch(u)
        etag, lm = full.header("ETag"), full.header("Last-Modified")
        epoch = "Thu, 01 Jan 1970 00:00:00 GMT"
        for im in (etag, '"nope", ' + etag, "\t" + etag + "\t", "*"):
            r = fetch(u, {"If-Match": im})
            self.assertEqual((r.status, r.body), (200, data), im)
        r = fetch(u, {"If-Match": etag, "Range": "bytes=0-9"})
        self.assertEqual((r.status, r.body), (206, data[:10]))
        # Strong comparison: a weak tag never matches; an unknown tag, a broken list neither.
        for im in ("W/" + etag, '"nope"', etag[:-1], '"a", *'):
            for extra in ({}, {"Range": "bytes=0-9"}, {"If-None-Match": '"other"'}):
                r = fetch(u, dict(extra, **{"If-Match": im, "Origin": ORIGIN}))
                self.assertEqual(r.status, 412, (im, extra))
                p = self.problem(r, 412)
                self.assertEqual(p["type"], "urn:libstream:problem:precondition-failed")
                self.assertEqual(r.header("Cache-Control"), "no-store")
                for h in ("ETag", "Last-Modified", "Content-Range"):
                    self.assertIsNone(r.header(h), (im, h))
                self.assertEqual(r.header("Access-Control-Allow-Origin"), ORIGIN)
            self.assertEqual(fetch(u, {"If-Match": im}, method="HEAD").status, 412, im)
        # If-Unmodified-Since: the Last-Modified date or later passes, earlier fails; a date
        # that does not parse is ignored; If-Match, when present, decides alone.
        self.assertEqual(fetch(u, {"If-Unmodified-Since": lm}).status, 200)
        r = fetch(u, {"If-Unmodified-Since": lm, "Range": "bytes=5-9"})
        self.assertEqual((r.status, r.body), (206, data[5:10]))
        self.assertEqual(fetch(u, {"If-Unmodified-Since": epoch}).status, 412)
        self.assertEqual(fetch(u, {"If-Unmodified-Since": "yesterday"}).status, 200)
        self.assertEqual(fetch(u, {"If-Unmodified-Since": epoch, "If-Match": etag}).status, 200)
        # A precondition that holds leaves If-None-Match its say.
        self.assertEqual(fetch(u, {"If-Match": etag, "If-None-Match": etag}).status, 304)
        # The signature comes first: a bad one is 403 whatever the preconditions say.
        bad = u.replace("stream-token=", "stream-token=x")
        self.assertEqual(fetch(bad, {"If-Match": '"nope"'}).status, 403)

    def test_06_gzip_manifests(self):
        plain = fetch(self.session["dash_url"])
        r = fetch(self.session["dash_url"], {"Accept-Encoding": "gzip"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Encoding"), "gzip")
        self.assertIn("Accept-Encoding", r.header("Vary"))
        self.assertEqual(gzip.decompress(r.body), plain.body)
        self.assertNotEqual(r.header("ETag"), plain.header("ETag"))
        r = fetch(self.session["dash_url"], {"Accept-Encoding": "gzip;q=0, identity"})
        self.assertIsNone(r.header("Content-Encoding"))
        # Codings are whole tokens without case, weights with OWS around ';' and '=' (RFC 9110
        # 12.5.3), "x-gzip" is gzip, "*" stands for any coding not listed.
        for ae, want in (("gzip; q=0", None), ("gzip ;q = 0", None), ("gzip;\tQ=0.000", None),
                         ("x-gzipfoo", None), ("gzipx, br", None), ("identity", None),
                         ("*, gzip;q=0", None), ("*;q=0", None), ("deflate, br", None),
                         ("GZIP", "gzip"), ("x-gzip", "gzip"), ("br, gzip ; q=0.5", "gzip"),
                         ("*", "gzip"), ("gzip;q=1.000", "gzip"), ("gzip;level=1", "gzip")):
            r = fetch(self.session["dash_url"], {"Accept-Encoding": ae})
            self.assertEqual(r.status, 200, ae)
            self.assertEqual(r.header("Content-Encoding"), want, ae)
            self.assertEqual(gzip.decompress(r.body) if want else r.body, plain.body, ae)
        # Segments are never gzipped.
        r = fetch(self.url(self.dirs[360] + "/seg_00001.m4s"), {"Accept-Encoding": "gzip"})
        self.assertIsNone(r.header("Content-Encoding"))

    def test_07_cors(self):
        u = self.url(self.dirs[360] + "/seg_00001.m4s")
        path = u[len("http://127.0.0.1:%d" % D.port):]
        r = call("OPTIONS", path, headers={"Origin": ORIGIN,
                                           "Access-Control-Request-Method": "GET",
                                           "Access-Control-Request-Headers": "range"})
        self.assertEqual(r.status, 204, r.body)
        self.assertEqual(r.header("Access-Control-Allow-Origin"), ORIGIN)
        self.assertIn("GET", r.header("Access-Control-Allow-Methods"))
        self.assertIn("Range", r.header("Access-Control-Allow-Headers"))
        # Path signing: no cookie, so no credentials (cookie mode: test_12).
        self.assertIsNone(r.header("Access-Control-Allow-Credentials"))
        r = fetch(u, {"Origin": ORIGIN, "Range": "bytes=0-9"})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.header("Access-Control-Allow-Origin"), ORIGIN)
        self.assertIn("Content-Range", r.header("Access-Control-Expose-Headers"))
        r = fetch(u, {"Origin": "http://evil.example"})
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("Access-Control-Allow-Origin"))

    def test_08_expired_and_tampered(self):
        prefix = self.session["hls_url"].split("stream-token=")[0]
        expired = sign_path(D.data_dir, prefix, "master.m3u8", int(time.time()) - 120)
        p = self.problem(fetch(expired), 403)
        self.assertIn("expired", p["detail"])
        good = self.url(self.dirs[360] + "/seg_00001.m4s")
        i = good.index("Signature=") + 12
        bad = good[:i] + ("A" if good[i] != "A" else "B") + good[i + 1:]
        self.problem(fetch(bad), 403)
        other = good.replace("/v1/media/%s/" % ASSET_DIR, "/v1/media/another-asset/")
        self.problem(fetch(other), 403)
        unsigned = prefix + self.dirs[360] + "/seg_00001.m4s"
        self.problem(fetch(unsigned), 403)

    def test_09_traversal(self):
        base = self.url("")[len("http://127.0.0.1:%d" % D.port):]
        for rest in ["../../../../etc/passwd", "%2e%2e/%2e%2e/streamd.db", "..%2f..%2fstreamd.db",
                     self.dirs[360] + "/..%2f" + self.dirs[1080] + "/seg_00001.m4s",
                     "summary.json", ".%2e/x", "%00", "a\\..\\b", self.dirs[360] + "/",
                     "..", "./master.m3u8"]:
            r = raw_get(base + rest)
            # An encoded NUL is refused for any path (400) before the origin sees it (http.c).
            self.assertIn(r.status, (400,) if rest == "%00" else (403, 404),
                          (rest, r.status, r.body))
            self.assertNotIn(b"root:", r.body)
        r = raw_get("/v1/media/../../etc/passwd")
        self.assertIn(r.status, (403, 404))
        self.assertEqual(call("POST", base + "master.m3u8").status, 405)

    def test_10_playback_rules(self):
        # Not subscribed: refused; a mature title for a kids profile is hidden; no media: 404.
        nosub = viewer(None)
        self.assertEqual(play(nosub, "d").status, 403)
        self.assertEqual(play(self.basic, "tv-1", "origin-empty").status, 404)
        self.assertEqual(play(self.basic, "tv-1", "no-such-title").status, 404)
        r = call("POST", "/v1/playback", {"title_id": TITLE}, token=self.basic)
        self.assertEqual(r.status, 400)
        self.assertEqual(call("POST", "/v1/playback", {"title_id": TITLE, "device_id": "x"}).status,
                         401)

    def test_11_screens(self):
        tok = viewer("standard")  # two screens, 1080p
        a = play(tok, "dev-a")
        self.assertEqual(a.status, 201, a.body)
        self.assertEqual(a.json["max_height"], 1080)
        self.assertIn("/h1080/", a.json["hls_url"])
        self.assertEqual(fetch(a.json["hls_url"].replace("master.m3u8", self.dirs[1080] +
                                                          "/seg_00001.m4s")).status, 200)
        b = play(tok, "dev-b")
        self.assertEqual(b.status, 201, b.body)
        c = play(tok, "dev-c")
        self.assertEqual(c.status, 409, c.body)
        self.assertIn("screens", json.loads(c.body)["detail"])
        # The same device again is not a new screen.
        self.assertEqual(play(tok, "dev-a").status, 201)
        # Stopping one session frees its screen.
        self.assertEqual(call("DELETE", "/v1/playback/%s" % a.json["session_id"],
                              token=tok).status, 204)
        c = play(tok, "dev-c")
        self.assertEqual(c.status, 201, c.body)
        # A session without heartbeats lapses after lease_ttl and frees its screen; one that
        # heartbeats keeps its screen. b stops heartbeating, c keeps going.
        b_lease, c_lease = b.json["lease"], c.json["lease"]
        self.assertLessEqual(b_lease["expires_at"], time.time() + LEASE_TTL + 1)
        self.assertEqual(play(tok, "dev-d").status, 409)
        while time.time() < b_lease["expires_at"] + 1:
            r = call("POST", "/v1/playback/%s/heartbeat" % c_lease["id"], token=tok)
            self.assertEqual(r.status, 200, r.body)
            time.sleep(max(0.0, min(c_lease["interval_s"],
                                    b_lease["expires_at"] + 1 - time.time())))
        self.assertEqual(call("POST", "/v1/playback/%s/heartbeat" % c_lease["id"],
                              token=tok).status, 200)
        d = play(tok, "dev-d")
        self.assertEqual(d.status, 201, d.body)
        # The lapsed session cannot come back by heartbeat, and the screens are full again.
        self.assertIn(call("POST", "/v1/playback/%s/heartbeat" % b_lease["id"],
                           token=tok).status, (404, 409))
        self.assertEqual(play(tok, "dev-e").status, 409)

    def test_12_cookie_mode(self):
        global D
        main_daemon = D
        tmp2 = os.path.join(self.tmp, "cookie")
        os.mkdir(tmp2)
        # "null" listed: still never credentials (sandboxed frames and file: pages send it).
        D = Daemon(tmp2, ["--media-signing", "cookie", "--cors-origins", ORIGIN + ",null"])
        try:
            shutil.copytree(self.out, os.path.join(D.data_dir, "media", ASSET_DIR))
            register_asset(D.data_dir, TITLE, ASSET_DIR, json.dumps(self.summary))
            tok = viewer("basic")
            r = play(tok, "tv")
            self.assertEqual(r.status, 201, r.body)
            s = r.json
            self.assertNotIn("stream-token", s["hls_url"])
            self.assertTrue(s["hls_url"].endswith("/v1/media/%s/h720/master.m3u8" % ASSET_DIR))
            sc = r.header("Set-Cookie")
            self.assertTrue(sc.startswith("Stream-Cookie=URLPrefix="), sc)
            self.assertIn("Path=/v1/media/%s/h720/" % ASSET_DIR, sc)
            self.assertIn("HttpOnly", sc)
            cookie = sc.split(";")[0]
            self.problem(fetch(s["hls_url"]), 403)
            r = fetch(s["hls_url"], {"Cookie": "a=b; " + cookie, "Origin": ORIGIN})
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.header("Access-Control-Allow-Credentials"), "true")
            self.assertEqual(r.header("Access-Control-Allow-Origin"), ORIGIN)
            self.assertNotIn(self.dirs[1080], r.body.decode())
            base = s["hls_url"].rsplit("/", 1)[0]
            self.assertEqual(fetch(base + "/" + self.dirs[720] + "/seg_00001.m4s",
                                   {"Cookie": cookie}).status, 200)
            self.assertEqual(fetch(with_cmcd(base + "/" + self.dirs[720] + "/seg_00001.m4s",
                                             CMCD_SEG), {"Cookie": cookie}).status, 200)
            self.problem(fetch(base + "/" + self.dirs[1080] + "/seg_00001.m4s",
                               {"Cookie": cookie}), 403)
            self.problem(fetch(base.replace("/h720", "/h1080") + "/" + self.dirs[1080] +
                               "/seg_00001.m4s", {"Cookie": cookie}), 403)
            self.cookie_cors(base + "/" + self.dirs[720] + "/seg_00001.m4s", cookie)
        finally:
            D.stop()
            D = main_daemon

    def cookie_cors(self, seg, cookie):
        """Credentials only for an origin cors_origins names (ORIGIN), never for "null" nor an
        unlisted one, on answers and on media preflights (a credentialed request that needs one:
        CMCD header mode, a suffix Range)."""
        path = seg[len(D.url):]
        for origin, creds in ((ORIGIN, "true"), ("null", None), ("https://evil.example", None)):
            r = fetch(seg, {"Cookie": cookie, "Origin": origin, "Range": "bytes=-10"})
            self.assertEqual(r.status, 206, origin)
            self.assertEqual(r.header("Access-Control-Allow-Credentials"), creds, origin)
            r = call("OPTIONS", path, headers={"Origin": origin,
                                               "Access-Control-Request-Method": "GET",
                                               "Access-Control-Request-Headers":
                                               "range,cmcd-request"})
            self.assertEqual(r.status, 403 if origin.startswith("https://evil") else 204, origin)
            self.assertEqual(r.header("Access-Control-Allow-Credentials"), creds, origin)
        r = fetch(seg, {"Cookie": cookie, "Origin": ORIGIN, "Range": "bytes=%d-" % (1 << 40)})
        self.problem(r, 416)
        self.assertEqual(r.header("Access-Control-Allow-Credentials"), "true")
        self.assertEqual(r.header("Access-Control-Allow-Origin"), ORIGIN)

    def test_20_cookie_signing_refuses_any_origin(self):
        """cors_origins "*" with a media_signing that hands out cookies stops the start (exit 2)
        with a message naming both options: "*" never gets credentials, and a player needs them.
        With --print-routes, which streamd answers right after loading its configuration (exit
        0), so a daemon that took the combination does not stay up."""
        for i, (args, env) in enumerate((
                (["--media-signing", "cookie", "--cors-origins", ORIGIN + ",*"], {}),
                (["--media-signing", "cloudfront"], {"STREAMD_CORS_ORIGINS": "*"}),
                (["--media-signing", "cloudcdn", "--cors-origins", "*"], {}))):
            d = os.path.join(self.tmp, "cors-star-%d" % i)
            env = dict({k: v for k, v in os.environ.items() if not k.startswith("STREAMD_")},
                       **env)
            p = subprocess.run([STREAMD, "--print-routes", "--data-dir", d] + args,
                               capture_output=True, text=True, timeout=60, env=env)
            self.assertEqual(p.returncode, 2, (args, p.stdout, p.stderr))
            for word in ("media_signing", "cors_origins", '"*"', "list the player's origins"):
                self.assertIn(word, p.stderr, args)
        # Path signing (no cookies) keeps "*".
        d = os.path.join(self.tmp, "cors-star-path")
        os.mkdir(d)
        star = Daemon(d, ["--cors-origins", "*"])
        try:
            r = star.request("OPTIONS", "/v1/media/x/h720/master.m3u8",
                             headers={"Origin": "https://any.example",
                                      "Access-Control-Request-Method": "GET"})
            self.assertEqual(r.status, 204)
            self.assertEqual(r.header("Access-Control-Allow-Origin"), "https://any.example")
            self.assertIsNone(r.header("Access-Control-Allow-Credentials"))
        finally:
            star.stop()

    def cdn_daemon(self, name, extra):
        """A second daemon signing in a CDN format, with the test asset registered."""
        global D
        tmp = os.path.join(self.tmp, name)
        os.mkdir(tmp)
        D = Daemon(tmp, extra)
        shutil.copytree(self.out, os.path.join(D.data_dir, "media", ASSET_DIR))
        register_asset(D.data_dir, TITLE, ASSET_DIR, json.dumps(self.summary))
        return tmp

    def verify_url(self, url, fmt, key_file, key_name, *extra):
        return subprocess.run([STREAMCTL, "verify-url", url, "--format", fmt, "--key-name",
                               key_name, "--key-file", key_file] + list(extra),
                              capture_output=True, text=True, timeout=30)

    def test_13_cloudcdn(self):
        global D
        main_daemon = D
        try:
            # An operator-provided key file (the key the CDN was given), with its KeyName.
            tmp = os.path.join(self.tmp, "cloudcdn-key")
            os.mkdir(tmp)
            key_file = os.path.join(tmp, "cdn.key")
            import base64
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, base64.urlsafe_b64encode(os.urandom(16)) + b"\n")
            os.close(fd)
            self.cdn_daemon("cloudcdn", ["--media-signing", "cloudcdn", "--media-key-file",
                                         key_file, "--media-key-name", "edge-key-1"])
            tok = viewer("basic")
            r = play(tok, "tv")
            self.assertEqual(r.status, 201, r.body)
            s = r.json
            self.assertTrue(s["hls_url"].endswith("/v1/media/%s/h720/master.m3u8" % ASSET_DIR))
            sc = r.header("Set-Cookie")
            self.assertTrue(sc.startswith("Cloud-CDN-Cookie=URLPrefix="), sc)
            self.assertIn(":KeyName=edge-key-1:", sc)
            self.assertIn("Path=/v1/media/%s/h720/" % ASSET_DIR, sc)
            cookie = sc.split(";")[0]
            base = s["hls_url"].rsplit("/", 1)[0]
            seg = base + "/" + self.dirs[720] + "/seg_00001.m4s"
            # Cloud CDN's own check (the library, through streamctl) accepts it...
            v = self.verify_url(seg, "cloud-cdn", key_file, "edge-key-1", "--cookie", cookie)
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
            self.assertTrue(v.stdout.startswith("VALID key=edge-key-1"), v.stdout)
            # ...and so does the origin behind it.
            r = fetch(s["hls_url"], {"Cookie": cookie, "Origin": ORIGIN})
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.header("Access-Control-Allow-Credentials"), "true")
            self.assertNotIn(self.dirs[1080], r.body.decode())
            self.assertEqual(fetch(seg, {"Cookie": cookie}).status, 200)
            # No cookie, a tampered signature, above the cap: 403.
            self.problem(fetch(seg), 403)
            i = cookie.index("Signature=") + 12
            bad = cookie[:i] + ("A" if cookie[i] != "A" else "B") + cookie[i + 1:]
            self.problem(fetch(seg, {"Cookie": bad}), 403)
            v = self.verify_url(seg, "cloud-cdn", key_file, "edge-key-1", "--cookie", bad)
            self.assertEqual(v.returncode, 1, v.stdout)
            self.problem(fetch(base + "/" + self.dirs[1080] + "/seg_00001.m4s",
                               {"Cookie": cookie}), 403)
            # CMCD (CTA-5004) from the player: with the cookie, and after the Signature of the
            # URL-prefix query form (where hls.js / dash.js append it); tampered still 403.
            self.assertEqual(fetch(with_cmcd(seg, CMCD_SEG), {"Cookie": cookie}).status, 200)
            p = subprocess.run([STREAMCTL, "sign-url", seg, "--format", "cloud-cdn", "--prefix",
                                base + "/", "--key-name", "edge-key-1", "--key-file", key_file,
                                "--expires-in", "10m"], capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            qseg = p.stdout.strip()
            self.assertIn("?URLPrefix=", qseg)
            self.assertEqual(fetch(qseg).status, 200)
            self.assertEqual(fetch(with_cmcd(qseg, CMCD_SEG)).status, 200)
            i = qseg.index("Signature=") + 12
            qbad = qseg[:i] + ("A" if qseg[i] != "A" else "B") + qseg[i + 1:]
            self.problem(fetch(with_cmcd(qbad, CMCD_SEG)), 403)
            self.problem(fetch(qseg + "&CMCDX=1"), 403)  # only CMCD itself is left out
            self.problem(fetch(with_cmcd(qseg.replace("/h720/", "/h1080/"), CMCD_SEG)), 403)
            # A named key file that does not exist stops the start (never generated).
            bad_dir = os.path.join(self.tmp, "cloudcdn-missing")
            os.mkdir(bad_dir)
            p = subprocess.run([STREAMD, "--port", "0", "--data-dir",
                                os.path.join(bad_dir, "data"), "--media-signing", "cloudcdn",
                                "--media-key-file", os.path.join(bad_dir, "nope.key")],
                               capture_output=True, text=True, timeout=60,
                               env={k: v for k, v in os.environ.items()
                                    if not k.startswith("STREAMD_")})
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("nope.key", p.stderr)
        finally:
            D.stop()
            D = main_daemon

    def test_14_mediacdn(self):
        global D
        main_daemon = D
        try:
            # The default: <data_dir>/keys/mediacdn.key, an Ed25519 key generated at first start.
            self.cdn_daemon("mediacdn", ["--media-signing", "mediacdn"])
            key_file = os.path.join(D.data_dir, "keys", "mediacdn.key")
            self.assertEqual(os.stat(key_file).st_mode & 0o777, 0o600)
            tok = viewer("basic")
            r = play(tok, "tv")
            self.assertEqual(r.status, 201, r.body)
            s = r.json
            self.assertIsNone(r.header("Set-Cookie"))
            self.assertIn("/v1/media/%s/h720/edge-cache-token=Expires=" % ASSET_DIR,
                          s["hls_url"])
            self.assertIn("KeyName=streamd-media", s["hls_url"])
            self.assertTrue(s["hls_url"].endswith("/master.m3u8"))
            base = s["hls_url"].rsplit("/", 1)[0]
            seg = base + "/" + self.dirs[720] + "/seg_00001.m4s"
            for u in (s["hls_url"], s["dash_url"], seg):
                v = self.verify_url(u, "media-cdn", key_file, "streamd-media")
                self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
            r = fetch(s["hls_url"])
            self.assertEqual(r.status, 200, r.body)
            self.assertNotIn(self.dirs[1080], r.body.decode())
            self.assertIn(self.dirs[720] + "/index.m3u8", r.body.decode())
            self.assertEqual(fetch(s["dash_url"]).status, 200)
            self.assertEqual(fetch(seg).status, 200)
            # Tampered signature, raised cap, another asset, above the cap: 403.
            i = seg.index("Signature=") + 12
            bad = seg[:i] + ("A" if seg[i] != "A" else "B") + seg[i + 1:]
            self.problem(fetch(bad), 403)
            v = self.verify_url(bad, "media-cdn", key_file, "streamd-media")
            self.assertEqual(v.returncode, 1, v.stdout)
            self.problem(fetch(seg.replace("/h720/", "/h1080/")), 403)
            self.problem(fetch(base + "/" + self.dirs[1080] + "/seg_00001.m4s"), 403)
            # CMCD (CTA-5004) from the player: served; tampered still 403.
            self.assertEqual(fetch(with_cmcd(seg, CMCD_SEG)).status, 200)
            self.assertEqual(fetch(with_cmcd(s["hls_url"], 'ot=m,sid="x"')).status, 200)
            self.problem(fetch(with_cmcd(bad, CMCD_SEG)), 403)
            self.assert_log_redacted("edge-cache-token=redacted/")
        finally:
            D.stop()
            D = main_daemon

    def test_18_cloudfront(self):
        global D
        main_daemon = D
        try:
            # The default key: <data_dir>/keys/cloudfront.pem, RSA 2048 generated at first start;
            # media_key_name is the CloudFront public key id (Key-Pair-Id).
            kid = "K2JCJMDEHXQW5F"
            self.cdn_daemon("cloudfront", ["--media-signing", "cloudfront",
                                           "--media-key-name", kid])
            key_file = os.path.join(D.data_dir, "keys", "cloudfront.pem")
            self.assertEqual(os.stat(key_file).st_mode & 0o777, 0o600)
            with open(key_file) as f:
                self.assertTrue(f.read().startswith("-----BEGIN PRIVATE KEY-----"))
            tok = viewer("basic")
            r = play(tok, "tv")
            self.assertEqual(r.status, 201, r.body)
            s = r.json
            self.assertTrue(s["hls_url"].endswith("/v1/media/%s/h720/master.m3u8" % ASSET_DIR))
            # One Set-Cookie header per cookie, with the AWS SDK's cookie names.
            sc = [v for k, v in r.header_list if k.lower() == "set-cookie"]
            self.assertEqual([c.split("=", 1)[0] for c in sc],
                             ["CloudFront-Policy", "CloudFront-Signature",
                              "CloudFront-Key-Pair-Id"], sc)
            for c in sc:
                self.assertNotIn("\n", c)
                self.assertIn("; Path=/v1/media/%s/h720/;" % ASSET_DIR, c)
                self.assertIn("HttpOnly", c)
            self.assertTrue(sc[2].startswith("CloudFront-Key-Pair-Id=%s;" % kid), sc[2])
            import base64
            policy = json.loads(base64.b64decode(sc[0].split(";")[0].split("=", 1)[1].translate(
                str.maketrans("-_~", "+=/"))))
            prefix = s["hls_url"].rsplit("/", 1)[0] + "/"
            self.assertEqual(policy["Statement"][0]["Resource"], prefix + "*")
            self.assertEqual(policy["Statement"][0]["Condition"]["DateLessThan"]["AWS:EpochTime"],
                             s["expires_at"])
            cookie = "; ".join(c.split(";")[0] for c in sc)
            base = s["hls_url"].rsplit("/", 1)[0]
            seg = base + "/" + self.dirs[720] + "/seg_00001.m4s"
            # CloudFront's check (the library, through streamctl) accepts the cookies...
            v = self.verify_url(seg, "cloudfront", key_file, kid, "--cookie", cookie)
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
            self.assertTrue(v.stdout.startswith("VALID key=%s" % kid), v.stdout)
            # ...and so does the origin behind it.
            r = fetch(s["hls_url"], {"Cookie": "theme=dark; " + cookie, "Origin": ORIGIN})
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.header("Access-Control-Allow-Credentials"), "true")
            self.assertNotIn(self.dirs[1080], r.body.decode())
            self.assertEqual(fetch(s["dash_url"], {"Cookie": cookie}).status, 200)
            self.assertEqual(fetch(seg, {"Cookie": cookie}).status, 200)
            # No cookie, one missing, a tampered signature, above the cap, another cap: 403.
            self.problem(fetch(seg), 403)
            self.problem(fetch(seg, {"Cookie": cookie.rsplit(";", 1)[0]}), 403)
            i = cookie.index("CloudFront-Signature=") + 25
            bad = cookie[:i] + ("A" if cookie[i] != "A" else "B") + cookie[i + 1:]
            self.problem(fetch(seg, {"Cookie": bad}), 403)
            # CMCD (CTA-5004) from the player: served; tampered still 403.
            self.assertEqual(fetch(with_cmcd(seg, CMCD_SEG), {"Cookie": cookie}).status, 200)
            self.problem(fetch(with_cmcd(seg, CMCD_SEG), {"Cookie": bad}), 403)
            v = self.verify_url(seg, "cloudfront", key_file, kid, "--cookie", bad)
            self.assertEqual(v.returncode, 1, v.stdout)
            self.problem(fetch(base + "/" + self.dirs[1080] + "/seg_00001.m4s",
                               {"Cookie": cookie}), 403)
            self.problem(fetch(seg.replace("/h720/", "/h1080/").replace(self.dirs[720],
                                                                         self.dirs[1080]),
                               {"Cookie": cookie}), 403)

            def sign_cookies(resource, expires_at):
                p = subprocess.run([STREAMCTL, "sign-url", "--format", "cloudfront", "--cookie",
                                    "--prefix", resource, "--key-name", kid, "--key-file",
                                    key_file, "--expires-at", str(expires_at)],
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual(p.returncode, 0, p.stderr)
                return "; ".join(x.split(";")[0] for x in p.stdout.split())

            # The daemon's own key, the session prefix, but expired: 403.
            old = sign_cookies(prefix + "*", int(time.time()) - 60)
            self.problem(fetch(seg, {"Cookie": old}), 403)
            self.assertEqual(fetch(seg, {"Cookie": sign_cookies(prefix + "*",
                                                                int(time.time()) + 600)}).status,
                             200)
            # Validly signed with the daemon's key over a wider Resource (every cap of the
            # asset): CloudFront would take it, the origin does not, or h720 could open h1080.
            wide = sign_cookies(base.rsplit("/", 1)[0] + "/*", int(time.time()) + 600)
            v = self.verify_url(seg, "cloudfront", key_file, kid, "--cookie", wide)
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
            self.problem(fetch(seg, {"Cookie": wide}), 403)
            self.problem(fetch(base.replace("/h720", "/h1080") + "/" + self.dirs[1080] +
                               "/seg_00001.m4s", {"Cookie": wide}), 403)
            D.stop()
            # An operator's EC P-256 key (media_key_file) and media_hash sha256: four cookies.
            ec_dir = os.path.join(self.tmp, "cloudfront-ec")
            os.mkdir(ec_dir)
            ec_file = os.path.join(ec_dir, "cf-ec.pem")
            p = subprocess.run([STREAMCTL, "keygen", "--type", "ecdsa", "--out", ec_file,
                                "--public-out", os.path.join(ec_dir, "cf-ec.pub")],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.cdn_daemon("cloudfront-sha256", ["--media-signing", "cloudfront",
                                                  "--media-key-file", ec_file,
                                                  "--media-key-name", "KECP256", "--media-hash",
                                                  "sha256"])
            r = play(viewer("basic"), "tv")
            self.assertEqual(r.status, 201, r.body)
            sc = [v for k, v in r.header_list if k.lower() == "set-cookie"]
            self.assertEqual([c.split(";")[0].split("=", 1)[0] for c in sc],
                             ["CloudFront-Policy", "CloudFront-Signature",
                              "CloudFront-Key-Pair-Id", "CloudFront-Hash-Algorithm"], sc)
            self.assertTrue(sc[3].startswith("CloudFront-Hash-Algorithm=SHA256;"), sc[3])
            cookie = "; ".join(c.split(";")[0] for c in sc)
            seg = r.json["hls_url"].rsplit("/", 1)[0] + "/" + self.dirs[720] + "/seg_00001.m4s"
            self.assertEqual(fetch(seg, {"Cookie": cookie}).status, 200)
            v = self.verify_url(seg, "cloudfront", os.path.join(ec_dir, "cf-ec.pub"), "KECP256",
                                "--cookie", cookie)
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
            self.problem(fetch(seg, {"Cookie": cookie.rsplit(";", 1)[0]}), 403)
        finally:
            D.stop()
            D = main_daemon

    def assert_log_redacted(self, marker):
        """The access log shows the signed media requests with their token segment redacted:
        a signed URL is a bearer credential until it expires, so it never reaches a log."""
        deadline = time.time() + 10
        while True:  # access lines are written when a response completes
            with open(D.access_log) as f:
                lines = [json.loads(x) for x in f if x.strip()]
            media = [x["path"] for x in lines if x.get("path", "").startswith("/v1/media/")]
            if any(marker in p for p in media) or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertTrue(any(marker in p for p in media), media[:5])
        for x in lines:
            self.assertNotIn("Signature=", json.dumps(x))
            self.assertNotIn("Expires=", x.get("path", ""))

    def test_17_access_log_redacts_signatures(self):
        self.assertEqual(fetch(self.session["hls_url"]).status, 200)
        self.assertEqual(fetch(self.url(self.dirs[720] + "/seg_00001.m4s")).status, 200)
        self.assert_log_redacted("/h720/stream-token=redacted/" + self.dirs[720] + "/seg_00001.m4s")

    def test_19_cmcd(self):
        """CMCD (CTA-5004) on media requests: never changes the answer, is logged (sid, cid,
        ot, br, bl, mtp, su, bs, sf, st) and counted; headers win over the query argument."""
        seg_path = os.path.join(self.out, self.dirs[720], "seg_00001.m4s")
        with open(seg_path, "rb") as f:
            data = f.read()
        seg = self.url(self.dirs[720] + "/seg_00001.m4s")
        before = {n: metric(n) for n in ("streamd_origin_cmcd_requests_total{ot=\"v\"}",
                                         "streamd_origin_cmcd_requests_total{ot=\"m\"}",
                                         "streamd_origin_cmcd_invalid_total",
                                         "streamd_origin_cmcd_buffer_starvation_total",
                                         "streamd_origin_cmcd_startup_requests_total")}
        r = fetch(with_cmcd(seg, CMCD_SEG))
        self.assertEqual((r.status, r.body), (200, data))
        r = fetch(with_cmcd(seg, CMCD_SEG), {"Range": "bytes=0-9"})
        self.assertEqual((r.status, r.body), (206, data[:10]))
        self.assertEqual(fetch(with_cmcd(self.session["hls_url"],
                                         'ot=m,sid="cmcd-sid-1",sf=h,su')).status, 200)
        # Invalid CMCD is ignored: the request is served and the error logged and counted.
        r = fetch(with_cmcd(seg, 'br=oops,sid="cmcd-sid-bad"'))
        self.assertEqual((r.status, r.body), (200, data))
        # Header mode: the CMCD-* headers win over a CMCD query argument.
        r = fetch(with_cmcd(seg, 'sid="cmcd-from-query",ot=a'),
                  {"CMCD-Session": r'sid="cmcd-from-headers",cid="a\\\"b"',
                   "CMCD-Object": "ot=v,br=2990", "CMCD-Status": "bs",
                   "CMCD-Request": "bl=0,mtp=100"})
        self.assertEqual(r.status, 200)
        # A tampered signature with CMCD is still refused (and its CMCD still logged).
        i = seg.index("Signature=") + 12
        bad = seg[:i] + ("A" if seg[i] != "A" else "B") + seg[i + 1:]
        self.problem(fetch(with_cmcd(bad, 'ot=v,sid="cmcd-sid-tampered"')), 403)

        def by_sid(sid, want=1):
            return access_lines(lambda x: x.get("cmcd", {}).get("sid") == sid, want)

        self.assertEqual(len(by_sid("cmcd-sid-tampered")), 1)  # the last request: all are in
        hits = by_sid("cmcd-sid-1", 3)
        segs = [x for x in hits if x["cmcd"].get("ot") == "v"]
        self.assertEqual(len(segs), 2, hits)
        self.assertEqual(segs[0]["cmcd"], {"sid": "cmcd-sid-1", "cid": "origin-movie", "ot": "v",
                                           "br": 2990, "bl": 21300, "mtp": 25400, "su": True,
                                           "sf": "h", "st": "v"})
        self.assertEqual(sorted(x["status"] for x in segs), [200, 206])
        self.assertIn("stream-token=redacted", segs[0]["path"])
        self.assertEqual([x["cmcd"]["ot"] for x in hits if x["cmcd"].get("ot") != "v"], ["m"])
        hdr = by_sid("cmcd-from-headers")
        self.assertEqual(len(hdr), 1, hdr)
        self.assertEqual(hdr[0]["cmcd"], {"sid": "cmcd-from-headers", "cid": 'a\\"b', "ot": "v",
                                          "br": 2990, "bl": 0, "mtp": 100, "bs": True})
        self.assertEqual(by_sid("cmcd-from-query", 0), [])
        self.assertEqual([x["status"] for x in by_sid("cmcd-sid-tampered")], [403])
        errs = access_lines(lambda x: "cmcd_error" in x, 0)
        self.assertEqual(len(errs), 1, errs)
        self.assertIn("'br'", errs[0]["cmcd_error"])
        self.assertNotIn("cmcd", errs[0])
        self.assertEqual(errs[0]["status"], 200)
        # Counters, of signed requests only (the tampered one, logged above, counts nothing,
        # so unsigned requests cannot move them): 2 video + 1 header-mode video, 1 manifest,
        # 1 invalid, 1 starvation (the header-mode bs), 3 startup (su on the two segments and
        # the manifest).
        for _ in range(3):  # more refused requests with CMCD, valid and invalid
            self.problem(fetch(with_cmcd(bad, 'ot=v,bs,su,sid="cmcd-sid-tampered"')), 403)
            self.problem(fetch(with_cmcd(bad, 'br=oops')), 403)
        after = {n: metric(n) for n in before}
        delta = {n.split("_cmcd_")[1]: after[n] - before[n] for n in before}
        self.assertEqual(delta, {"requests_total{ot=\"v\"}": 3, "requests_total{ot=\"m\"}": 1,
                                 "invalid_total": 1, "buffer_starvation_total": 1,
                                 "startup_requests_total": 3})
        # A player in header mode may send the CMCD headers cross-origin.
        path = seg[len("http://127.0.0.1:%d" % D.port):]
        r = call("OPTIONS", path, headers={"Origin": ORIGIN,
                                           "Access-Control-Request-Method": "GET",
                                           "Access-Control-Request-Headers":
                                           "cmcd-request,cmcd-session"})
        self.assertEqual(r.status, 204, r.body)
        for h in ("CMCD-Request", "CMCD-Object", "CMCD-Status", "CMCD-Session", "Range"):
            self.assertIn(h, r.header("Access-Control-Allow-Headers"))

    def test_15_events_token(self):
        """POST /v1/playback's events_token: accepted by POST /v1/events only (issue #7)."""
        import base64
        import sqlite3

        def b64d(seg):
            return json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))

        s = self.session
        tok = s["events_token"]
        head, payload, _sig = tok.split(".")
        self.assertEqual(b64d(head)["typ"], "events+jwt")
        claims = b64d(payload)
        self.assertEqual(claims["scope"], "events")
        self.assertEqual(claims["sid"], s["session_id"])
        self.assertEqual(claims["aud"], "streamd-events")
        self.assertEqual(claims["exp"], s["expires_at"])
        self.assertTrue(claims["sub"] and claims["pid"])

        def event(i, **kw):
            e = {"id": "%08x-0000-4000-8000-%012x" % (0xe7, i), "viewId": "view-origin",
                 "type": "heartbeat", "clientTs": 1700000000000 + i, "titleId": TITLE}
            e.update(kw)
            return {"events": [e]}

        r = call("POST", "/v1/events", event(1), token=tok)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json, {"accepted": 1, "duplicates": 0})
        con = sqlite3.connect("file:%s?mode=ro" % os.path.join(D.data_dir, "streamd.db"),
                              uri=True, timeout=30)
        try:
            row = con.execute("SELECT account_id, profile_id FROM event_log WHERE id = ?",
                              (event(1)["events"][0]["id"],)).fetchone()
        finally:
            con.close()
        self.assertEqual(row, (claims["sub"], claims["pid"]))
        # The viewer access token still works; another profile's events are refused.
        self.assertEqual(call("POST", "/v1/events", event(2), token=self.basic).status, 200)
        self.problem(call("POST", "/v1/events", event(3, profileId="someone-else"), token=tok),
                     403)
        # Never an access token: viewer routes answer 401.
        self.problem(call("GET", "/v1/profiles", token=tok), 401)
        self.problem(call("GET", "/v1/continue-watching", token=tok), 401)
        self.problem(play(tok, "tv-events"), 401)
        # Tampered signature or claims: 401, nothing stored.
        flip = tok[:-2] + ("A" if tok[-2] != "A" else "B") + tok[-1]
        self.problem(call("POST", "/v1/events", event(4), token=flip), 401)
        forged = dict(claims, pid="p-other")
        fp = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
        self.problem(call("POST", "/v1/events", event(5), token=".".join([head, fp, _sig])), 401)
        self.problem(call("POST", "/v1/events", event(6)), 401)

        # Expired: a token signed with the daemon's own access key, issued two hours ago.
        from _libstream_cffi import ffi, lib
        key = ffi.new("stream_key **")
        assert lib.stream_key_load_file(key, lib.STREAM_KEY_HMAC, b"access-1",
                                        os.path.join(D.data_dir, "keys", "access.key").encode()) == 0
        ring = ffi.new("stream_keyring **")
        assert lib.stream_keyring_new(ring) == 0
        lib.stream_keyring_add(ring[0], key[0])
        lib.stream_keyring_set_primary(ring[0], b"access-1")
        keep = [ffi.new("char[]", v) for v in (b"streamd", b"streamd-events", b"events+jwt",
                                                claims["sub"].encode())]

        def sign(now):
            o = ffi.new("stream_token_issue_options *")
            o.version = lib.STREAM_TOKEN_ISSUE_OPTIONS_VERSION
            o.ttl, o.now, o.jti = 60, now, 1
            o.iss, o.aud, o.typ, o.sub = keep
            cj = json.dumps({"pid": claims["pid"], "sid": claims["sid"],
                             "scope": "events"}).encode()
            out = ffi.new("char **")
            assert lib.stream_token_issue(out, ring[0], ffi.NULL, cj, o) == 0
            t = ffi.string(out[0]).decode()
            lib.stream_free(out[0])
            return t

        try:
            fresh, old = sign(int(time.time())), sign(int(time.time()) - 7200)
        finally:
            lib.stream_keyring_free(ring[0])
            lib.stream_key_free(key[0])
        self.assertEqual(call("POST", "/v1/events", event(7), token=fresh).status, 200)
        body = self.problem(call("POST", "/v1/events", event(8), token=old), 401)
        self.assertIn("expired", body["detail"])

    def test_16_large_connection_limit(self):
        """Above 1024 connections streamd serves with an epoll pool instead of a thread per
        connection (http.c): the same bytes, Range and keep-alive there too; and a corked file
        response (>= 64 KiB) is followed at once by the next response on the connection."""
        global D
        main_daemon = D
        tmp = os.path.join(self.tmp, "pool")
        os.mkdir(tmp)
        D = Daemon(tmp, ["--max-connections", "2000"])
        try:
            shutil.copytree(self.out, os.path.join(D.data_dir, "media", ASSET_DIR))
            prefix = "%s/v1/media/%s/h720/" % (D.url, ASSET_DIR)
            seg = self.dirs[720] + "/seg_00001.m4s"
            with open(os.path.join(self.out, seg), "rb") as f:
                want = f.read()
            self.assertGreater(len(want), 64 * 1024)  # large enough to be corked
            url = sign_path(D.data_dir, prefix, seg, int(time.time()) + 600)
            path = url[len(D.url):]
            conn = D.conn()
            try:
                for _ in range(3):  # one keep-alive connection: full, range, full
                    conn.request("GET", path)
                    r = conn.getresponse()
                    self.assertEqual((r.status, r.read()), (200, want))
                    conn.request("GET", path, headers={"Range": "bytes=100-70099"})
                    r = conn.getresponse()
                    self.assertEqual(r.status, 206)
                    self.assertEqual(r.read(), want[100:70100])
                conn.request("GET", "/healthz")
                self.assertEqual(conn.getresponse().status, 200)
            finally:
                conn.close()
            i = url.index("Signature=") + 12
            self.problem(fetch(url[:i] + ("A" if url[i] != "A" else "B") + url[i + 1:]), 403)
        finally:
            D.stop()
            D = main_daemon

    def test_21_connections_per_ip(self):
        """max_connections_per_ip: a client address holding that many connections gets its next
        one closed unanswered; the others keep being served, and a freed slot serves again."""
        import socket
        d = os.path.join(self.tmp, "per-ip")
        os.mkdir(d)
        lim = Daemon(d, ["--max-connections-per-ip", "2"])
        req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"

        def answered(sock):
            """One whole response on sock (keep-alive), or False when it is closed unanswered."""
            buf = b""
            try:
                sock.sendall(req)
                while b"\r\n\r\n" not in buf:
                    chunk = sock.recv(4096)
                    if not chunk:
                        return False
                    buf += chunk
                head, body = buf.split(b"\r\n\r\n", 1)
                n = int([x.split(b":")[1] for x in head.split(b"\r\n")
                         if x.lower().startswith(b"content-length:")][0])
                while len(body) < n:
                    body += sock.recv(4096)
                return head.startswith(b"HTTP/1.1 200")
            except (ConnectionResetError, BrokenPipeError):
                return False

        held = []
        try:
            for _ in range(2):  # served (and so counted) before the next one connects
                held.append(socket.create_connection(("127.0.0.1", lim.port), timeout=30))
                self.assertTrue(answered(held[-1]))
            extra = socket.create_connection(("127.0.0.1", lim.port), timeout=30)
            self.assertFalse(answered(extra))
            extra.close()
            self.assertTrue(answered(held[0]))  # the held ones still work
            held.pop().close()
            deadline = time.time() + 30  # until streamd has seen the close
            while True:
                s = socket.create_connection(("127.0.0.1", lim.port), timeout=30)
                ok = answered(s)
                s.close()
                if ok or time.time() > deadline:
                    break
                time.sleep(0.1)
            self.assertTrue(ok)
        finally:
            for s in held:
                s.close()
            lim.stop()


def main():
    global STREAMD, STREAMCTL
    STREAMD, STREAMCTL = sys.argv[1], sys.argv[2]
    sys.path.insert(0, sys.argv[3])
    try:
        import _libstream_cffi  # noqa: F401
    except ImportError:
        print("skipped: the Python cffi module is not built in %s" % sys.argv[3])
        sys.exit(77)
    if not shutil.which("ffmpeg") or not shutil.which("curl"):
        print("skipped: ffmpeg or curl missing")
        sys.exit(77)
    unittest.main(argv=[sys.argv[0], "-v"])


if __name__ == "__main__":
    main()
