#!/usr/bin/python3
"""Player events end to end: POST /v1/events on the real streamd, and the C
emitter (events_driver.c) flooding it.

- The route: JSON and protobuf batches (200 with accepted/duplicates; the same
  batch twice is stored once), 401 without a token, 415 for other media types,
  400 problem+json for malformed protobuf, truncated gzip, invalid events and
  JSON bodies with bytes after the object, 413 for oversized batches; each
  refused batch stores nothing (checked in the SQLite file).
- kill -9 of streamd in the middle of an emitter flood, then a restart on the
  same port and data directory: after the emitter finished, every event it saw
  acknowledged is in the event log exactly once, and so is every event it
  emitted (the emitter retried through the outage).
- The spool survives kill -9 of the emitting process: events spooled while the
  server was unreachable are sent by the next run of the driver.
- An account token without a profile (a second daemon with a trained
  recommendations model) may name its own account's profiles only: an hour of
  another account's profile watching a title (the RV6 scenario), JSON or
  protobuf, is refused with 403 and stores nothing, so the victim's home gets no
  "Because you watched" row; an unknown profile gets the same answer, word for
  word; the account's own profile is accepted.
- The emitter after such a refusal (RV7): a batch naming a profile deleted
  since (account token), or the profile before a switch (the new profile's
  token), is answered 403 event-profile-forbidden, counted in `rejected`,
  acknowledged in the spool, and the later batches are delivered; a token the
  server refuses (401) is still retried until the emitter gets a new one.

Usage: /usr/bin/python3 test_events.py STREAMD EVENTS_DRIVER
Standard library only.
"""
import gzip
import http.client
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

from streamd_harness import Streamd, free_port, login, profile_token, register_login, unique_email

STREAMD = None
DRIVER = None


D = None
TMP = None
TOKEN = None


def call(method, path, body=None, ctype=None, token=None, encoding=None):
    r = D.request(method, path, body=body, ctype=ctype, token=token,
                  headers={"Content-Encoding": encoding} if encoding else None)
    return r.status, r.header("Content-Type") or "", r.body


def db_ids():
    """Event ids in the log with their counts (read-only, beside the running daemon)."""
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(D.data_dir, "streamd.db"), uri=True,
                          timeout=30)
    try:
        return dict(con.execute("SELECT id, count(*) FROM event_log GROUP BY id").fetchall())
    finally:
        con.close()


def ev(i, **kw):
    e = {"id": "%08x-0000-4000-8000-%012x" % (i, i), "viewId": "view-http", "type": "heartbeat",
         "clientTs": 1700000000000 + i, "titleId": "title-1"}
    e.update(kw)
    return e


# ---- a protobuf encoder for the few fields the tests send (events.proto) ----
def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def pb_str(field, s):
    b = s.encode()
    return varint(field << 3 | 2) + varint(len(b)) + b


def pb_int(field, n):
    return varint(field << 3) + varint(n)


def pb_event(i, etype=13):
    e = (pb_str(1, "%08x-0000-4000-8000-%012x" % (i, i)) + pb_str(2, "view-pb") +
         pb_int(8, 1700000000000 + i) + pb_int(10, etype) + pb_int(12, 2500))
    return e


def pb_batch(events):
    return b"".join(varint(1 << 3 | 2) + varint(len(e)) + e for e in events)


class T1Route(unittest.TestCase):
    def problem(self, status, ctype, body, code):
        self.assertEqual(status, code, body)
        self.assertTrue(ctype.startswith("application/problem+json"), ctype)
        self.assertEqual(json.loads(body)["status"], code)

    def test_1_json_and_dedup(self):
        body = json.dumps({"events": [ev(1), ev(2), ev(3, type="error",
                                                     error={"code": 3, "message": "x",
                                                            "fatal": True})]})
        st, ct, data = call("POST", "/v1/events", body, "application/json", TOKEN)
        self.assertEqual(st, 200, data)
        self.assertEqual(json.loads(data), {"accepted": 3, "duplicates": 0})
        st, ct, data = call("POST", "/v1/events", body, "application/json", TOKEN)
        self.assertEqual(st, 200, data)
        self.assertEqual(json.loads(data), {"accepted": 0, "duplicates": 3})
        ids = db_ids()
        self.assertEqual(ids.get(ev(1)["id"]), 1)
        self.assertEqual(len([k for k in ids if k.startswith("0000000")]), 3)

    def test_2_protobuf_gzip(self):
        raw = pb_batch([pb_event(100 + i) for i in range(5)])
        st, ct, data = call("POST", "/v1/events", gzip.compress(raw),
                            "application/x-protobuf", TOKEN, "gzip")
        self.assertEqual(st, 200, data)
        self.assertEqual(json.loads(data)["accepted"], 5)
        st, ct, data = call("POST", "/v1/events", raw, "application/x-protobuf", TOKEN)
        self.assertEqual(json.loads(data), {"accepted": 0, "duplicates": 5})

    def test_3_refused_store_nothing(self):
        before = len(db_ids())
        raw = pb_batch([pb_event(200 + i) for i in range(5)])
        st, ct, data = call("POST", "/v1/events", raw[:-3], "application/x-protobuf", TOKEN)
        self.problem(st, ct, data, 400)
        z = gzip.compress(raw)
        st, ct, data = call("POST", "/v1/events", z[:-6], "application/x-protobuf", TOKEN, "gzip")
        self.problem(st, ct, data, 400)
        bad_enum = pb_batch([pb_event(300), pb_event(301, etype=77)])
        st, ct, data = call("POST", "/v1/events", bad_enum, "application/x-protobuf", TOKEN)
        self.problem(st, ct, data, 400)
        self.assertIn("event 1", json.loads(data).get("detail", ""))
        # A JSON body is exactly one object: trailing bytes, or a second object, are a 400.
        one = json.dumps({"events": [ev(500)]})
        for body, at in ((one + " junk", len(one) + 1), (one + one, len(one)),
                         (one + "\0", len(one))):
            st, ct, data = call("POST", "/v1/events", body.encode(), "application/json", TOKEN)
            self.problem(st, ct, data, 400)
            self.assertIn("offset %d" % at, json.loads(data).get("detail", ""))
        huge = json.dumps({"events": [ev(1000 + i) for i in range(1001)]})
        st, ct, data = call("POST", "/v1/events", huge, "application/json", TOKEN)
        self.problem(st, ct, data, 413)
        bomb = gzip.compress(b"\0" * (4 << 20))
        st, ct, data = call("POST", "/v1/events", bomb, "application/x-protobuf", TOKEN, "gzip")
        self.problem(st, ct, data, 413)
        # Over the route's body limit by Content-Length: answered before the body is sent.
        c = http.client.HTTPConnection("127.0.0.1", D.port, timeout=30)
        c.putrequest("POST", "/v1/events")
        c.putheader("Content-Type", "application/json")
        c.putheader("Authorization", "Bearer " + TOKEN)
        c.putheader("Content-Length", str((1 << 20) + 10))
        c.endheaders()
        r = c.getresponse()
        self.assertEqual(r.status, 413)
        c.close()
        st, ct, data = call("POST", "/v1/events", json.dumps({"events": [ev(400)]}), "text/plain",
                            TOKEN)
        self.problem(st, ct, data, 415)
        st, ct, data = call("POST", "/v1/events", json.dumps({"events": [ev(401)]}),
                            "application/json")
        self.problem(st, ct, data, 401)
        self.assertEqual(len(db_ids()), before)
        self.assertEqual(call("GET", "/healthz")[0], 200)


def run_driver(args, env_token=True, timeout=180):
    env = dict(os.environ)
    if env_token:
        env["EVENTS_TOKEN"] = TOKEN
    return subprocess.Popen([DRIVER] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)


def read_ids(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


class T2Flood(unittest.TestCase):
    def test_kill9_mid_flood(self):
        count = 30000
        emitted = os.path.join(TMP, "flood-emitted.txt")
        acked = os.path.join(TMP, "flood-acked.txt")
        url = "http://127.0.0.1:%d" % D.port
        p = run_driver(["flood", url, str(count), emitted, acked])
        # Wait until the server has acknowledged some batches, then kill it mid-flood.
        deadline = time.time() + 60
        while time.time() < deadline:
            if os.path.exists(acked) and len(read_ids(acked)) >= 2000:
                break
            time.sleep(0.02)
        self.assertGreaterEqual(len(read_ids(acked)), 2000, "no acknowledgements")
        D.kill()
        acked_at_kill = len(read_ids(acked))
        time.sleep(0.5)
        D.restart()  # the same port and data directory
        out, err = p.communicate(timeout=180)
        self.assertEqual(p.returncode, 0, err.decode())
        stats = json.loads(out.decode().strip().splitlines()[-1])
        self.assertLess(acked_at_kill, count, "the kill came after the flood")
        acked_ids = read_ids(acked)
        emitted_ids = read_ids(emitted)
        self.assertEqual(len(emitted_ids), count)
        ids = db_ids()
        missing = [i for i in acked_ids if ids.get(i) != 1]
        self.assertEqual(missing, [], "acknowledged events missing or repeated")
        self.assertEqual([i for i in emitted_ids if ids.get(i) != 1], [])
        self.assertEqual(stats["sent"], count, stats)
        self.assertEqual(stats["dropped"], 0, stats)
        self.assertEqual(stats["rejected"], 0, stats)
        self.assertGreater(stats["retried"], 0, stats)


class T3Spool(unittest.TestCase):
    def test_spool_survives_kill9(self):
        spool = os.path.join(TMP, "events.spool")
        emitted = os.path.join(TMP, "spool-emitted.txt")
        dead = "http://127.0.0.1:%d" % free_port()  # nothing listens there
        p = run_driver(["spool", dead, "750", emitted, spool])
        line = b""
        deadline = time.time() + 60
        while b"spooled" not in line and time.time() < deadline:
            line += p.stdout.readline()
        self.assertIn(b"spooled", line, p.stderr.read() if p.poll() is not None else "")
        p.send_signal(signal.SIGKILL)
        p.wait()
        p.stdout.close()
        p.stderr.close()
        # A torn record at the end (a write cut by the kill) must be discarded, not fatal.
        with open(spool, "ab") as f:
            f.write(b"SPL1B\0\0\0\xff\x00\x00")
        acked = os.path.join(TMP, "spool-acked.txt")
        url = "http://127.0.0.1:%d" % D.port
        q = run_driver(["drain", url, spool, acked])
        out, err = q.communicate(timeout=120)
        self.assertEqual(q.returncode, 0, err.decode())
        stats = json.loads(out.decode().strip().splitlines()[-1])
        self.assertEqual(stats["sent"], 750, stats)
        ids = db_ids()
        emitted_ids = read_ids(emitted)
        self.assertEqual(len(emitted_ids), 750)
        self.assertEqual([i for i in emitted_ids if ids.get(i) != 1], [])
        self.assertEqual(sorted(read_ids(acked)), sorted(emitted_ids))
        self.assertEqual(os.path.getsize(spool), 0)  # nothing pending: emptied


def owner_movie(tid, name):
    return {"id": tid, "kind": "movie", "name": name, "year": 2020, "runtime_minutes": 120,
            "maturity_rating": 0, "genres": ["Drama"]}


OWNER_OP = "op-token-events-owner-0123456789"
OWNER_CATALOG = {"titles": [owner_movie("glass-harbour", "Glass Harbour"),
                            owner_movie("salt-road", "Salt Road"),
                            owner_movie("tin-lantern", "Tin Lantern"),
                            owner_movie("far-field", "Far Field")]}


class T4ViewOwner(unittest.TestCase):
    """RV6: an account token without a profile names another account's profile."""

    @classmethod
    def setUpClass(cls):
        cls.d = Streamd(STREAMD, ["--login-address-burst", "0", "--recs-interval", "0",
                                  "--qoe-interval", "0"],
                        prefix="streamd-events-owner-", log_level="warn", access_log=False,
                        catalog=OWNER_CATALOG, demo_timeout=10, operator_token=OWNER_OP)
        cls.n = 0
        # Three viewers watch Glass Harbour with Salt Road and Tin Lantern: the model's
        # neighbours of Glass Harbour, which a "Because you watched" row would show.
        for i in range(3):
            acct = register_login(cls.d, unique_email("owner-seed"))["access_token"]
            tok = profile_token(cls.d, acct)[1]["access_token"]
            for tid, frac in (("glass-harbour", 0.5), ("salt-road", 0.4), ("tin-lantern", 0.3)):
                r = cls.d.request("PUT", "/v1/progress", token=tok,
                                  json_body={"title_id": tid, "position_s": int(7200 * frac),
                                             "duration_s": 7200})
                assert r.status == 204, (r.status, r.body)
        cls.retrain()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.d.cleanup()

    @classmethod
    def retrain(cls):
        """Retrain the model; the retrain first runs the QoE consumer to the log's end."""
        r = cls.d.request("POST", "/v1/admin/recs/retrain", token=OWNER_OP)
        assert r.status == 200, (r.status, r.body)

    def view(self, profile_id, view_id):
        """The RV6 batch: an hour of Glass Harbour, request to end, naming `profile_id`."""
        t = int(time.time() * 1000) - 4000000
        out = []
        for etype, dt in (("playrequest", 0), ("playing", 500), ("heartbeat", 3599000),
                          ("ended", 3600000)):
            type(self).n += 1
            out.append({"id": "%08x-0000-4000-8000-%012x" % (0x0e0000 + self.n, self.n),
                        "viewId": view_id, "profileId": profile_id, "titleId": "glass-harbour",
                        "deviceId": "m", "clientTs": t + dt, "type": etype,
                        "playheadMs": max(0, dt - 1000)})
        return out

    def post(self, token, events):
        r = self.d.request("POST", "/v1/events", body=json.dumps({"events": events}),
                           ctype="application/json", token=token)
        return r

    def byw(self, token):
        r = self.d.request("GET", "/v1/home?per_row=10", token=token)
        self.assertEqual(r.status, 200, r.body)
        return [(row["name"], row.get("source_title_id")) for row in r.json["rows"]
                if row["id"] == "because_you_watched"]

    def view_record(self, view_id):
        return self.d.request("GET", "/v1/admin/stats/views/" + view_id, token=OWNER_OP)

    def test_1_other_accounts_profile_refused(self):
        victim_acct = register_login(self.d, unique_email("victim"))["access_token"]
        victim, sw = profile_token(self.d, victim_acct, "Victim")
        vtok = sw["access_token"]
        self.assertEqual(self.byw(vtok), [])
        mallory = register_login(self.d, unique_email("mallory"))["access_token"]

        r = self.post(mallory, self.view(victim, "owner-view-json"))
        pb = pb_batch([pb_str(1, e["id"]) + pb_str(2, e["viewId"]) + pb_str(4, victim) +
                       pb_str(5, "glass-harbour") + pb_int(8, e["clientTs"]) +
                       pb_int(10, {"playrequest": 2, "playing": 4, "heartbeat": 13,
                                   "ended": 12}[e["type"]])
                       for e in self.view(victim, "owner-view-pb")])
        rp = self.d.request("POST", "/v1/events", body=pb, ctype="application/x-protobuf",
                            token=mallory)
        self.retrain()
        # Both answers and what they left behind, in one comparison: a regression shows all.
        self.assertEqual(
            (r.status, rp.status, self.view_record("owner-view-json").status,
             self.view_record("owner-view-pb").status, self.byw(vtok)),
            (403, 403, 404, 404, []), (r.body, rp.body))
        self.assertEqual(r.json["type"], "urn:libstream:problem:event-profile-forbidden")
        self.assertIn("event 0", r.json["detail"])

        # An unknown profile: the same answer, word for word.
        u = self.post(mallory, self.view("no-such-profile", "owner-view-unknown"))
        self.assertEqual((u.status, u.json["detail"]), (403, r.json["detail"]))

    def test_2_own_profile_accepted(self):
        acct = register_login(self.d, unique_email("owner-self"))["access_token"]
        pid, sw = profile_token(self.d, acct, "Self")
        r = self.post(acct, self.view(pid, "owner-view-self"))
        self.assertEqual((r.status, r.json), (200, {"accepted": 4, "duplicates": 0}), r.body)
        self.retrain()
        rec = self.view_record("owner-view-self")
        self.assertEqual(rec.status, 200, rec.body)
        self.assertEqual((rec.json["profile_id"], rec.json["watch_ms"]), (pid, 3600000))
        self.assertEqual(self.byw(sw["access_token"]),
                         [("Because you watched Glass Harbour", "glass-harbour")])


class T5RefusedProfile(unittest.TestCase):
    """RV7: a batch refused for its profile must not hold back the emitter's later batches."""

    def forbidden_batches(self):
        r = D.request("GET", "/metrics")
        for line in r.body.decode().splitlines():
            if line.startswith('streamd_events_rejected_batches_total{reason="forbidden"}'):
                return float(line.split()[1])
        return 0.0

    def drive(self, tag, token, profiles, next_token=None):
        """Run the C emitter (one batch per profile, with a spool): (stats, emitted ids,
        acknowledged ids, spool path)."""
        emitted = os.path.join(TMP, tag + "-emitted.txt")
        acked = os.path.join(TMP, tag + "-acked.txt")
        spool = os.path.join(TMP, tag + ".spool")
        env = dict(os.environ, EVENTS_TOKEN=token)
        if next_token:
            env["EVENTS_TOKEN_NEXT"] = next_token
        p = subprocess.Popen([DRIVER, "profiles", "http://127.0.0.1:%d" % D.port, emitted, acked,
                              spool] + profiles, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env)
        out, err = p.communicate(timeout=180)
        self.assertEqual(p.returncode, 0, (out.decode(), err.decode()))
        return json.loads(out.decode().strip().splitlines()[-1]), read_ids(emitted), \
            read_ids(acked), spool

    def test_1_deleted_profile(self):
        acct = register_login(D, unique_email("rv7-deleted"))["access_token"]
        keep = D.request("POST", "/v1/profiles", json_body={"name": "Keep"}, token=acct).json["id"]
        gone = D.request("POST", "/v1/profiles", json_body={"name": "Gone"}, token=acct).json["id"]
        r = D.request("DELETE", "/v1/profiles/" + gone, token=acct)
        self.assertEqual(r.status, 204, r.body)
        before = self.forbidden_batches()
        st, emitted, acked, spool = self.drive("rv7-deleted", acct, [keep, gone, keep, keep, keep])
        self.assertEqual((st["flush"], st["sent"], st["rejected"], st["retried"], st["batches"]),
                         (0, 4, 1, 0, 4), st)
        good = [emitted[0]] + emitted[2:]
        self.assertEqual(acked, good)
        ids = db_ids()
        self.assertEqual([ids.get(i) for i in good], [1, 1, 1, 1])
        self.assertNotIn(emitted[1], ids)
        self.assertEqual(os.path.getsize(spool), 0)  # the refused batch was acknowledged too
        self.assertEqual(self.forbidden_batches(), before + 1)

    def test_2_profile_switched(self):
        acct = register_login(D, unique_email("rv7-switch"))["access_token"]
        old, _ = profile_token(D, acct, "Before")
        new, sw = profile_token(D, acct, "After")
        # Events of the profile switched away from, still queued, sent with the new one's token.
        st, emitted, acked, spool = self.drive("rv7-switch", sw["access_token"],
                                               [old, new, old, "-"])
        self.assertEqual((st["flush"], st["sent"], st["rejected"], st["retried"]),
                         (0, 2, 2, 0), st)
        self.assertEqual(acked, [emitted[1], emitted[3]])
        ids = db_ids()
        self.assertEqual([ids.get(i) for i in emitted], [None, 1, None, 1])
        self.assertEqual(os.path.getsize(spool), 0)

    def test_3_refused_token_still_retried(self):
        acct = register_login(D, unique_email("rv7-token"))["access_token"]
        pid = D.request("POST", "/v1/profiles", json_body={"name": "P"}, token=acct).json["id"]
        # 401 for the token: retried (the driver waits for a retry, then sets the good token).
        st, emitted, acked, spool = self.drive("rv7-token", "not-a-valid-token", [pid, "-"],
                                               next_token=acct)
        self.assertEqual((st["flush"], st["sent"], st["rejected"]), (0, 2, 0), st)
        self.assertGreaterEqual(st["retried"], 1, st)
        self.assertEqual(sorted(acked), sorted(emitted))
        ids = db_ids()
        self.assertEqual([ids.get(i) for i in emitted], [1, 1])


def main():
    global STREAMD, DRIVER, D, TMP, TOKEN
    STREAMD, DRIVER = sys.argv[1], sys.argv[2]
    TMP = tempfile.mkdtemp(prefix="streamd-events-")
    catalog = {"titles": [{"id": "title-1", "kind": "movie", "name": "Events Movie",
                           "year": 2020, "runtime_minutes": 90, "maturity_rating": 0,
                           "genres": ["Drama"]}]}
    D = Streamd(STREAMD, ["--login-address-burst", "0"], tmp=TMP, log_level="warn",
                access_log=False, catalog=catalog, demo_timeout=10)
    TOKEN = login(D, D.demo["email"], D.demo["password"])["access_token"]
    ok = False
    try:
        suite = unittest.TestSuite()
        loader = unittest.TestLoader()
        for cls in (T1Route, T2Flood, T3Spool, T4ViewOwner, T5RefusedProfile):
            suite.addTests(loader.loadTestsFromTestCase(cls))
        ok = unittest.TextTestRunner(verbosity=2).run(suite).wasSuccessful()
    finally:
        D.stop()
        if ok:
            shutil.rmtree(TMP, ignore_errors=True)
        else:
            print("kept", TMP, file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
