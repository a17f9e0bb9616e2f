#!/usr/bin/python3
"""Player events end to end: POST /v1/events on the real streamd, and the C
emitter (events_driver.c) flooding it.

- The route: JSON and protobuf batches (200 with accepted/duplicates; the same
  batch twice is stored once), 401 without a token, 415 for other media types,
  400 problem+json for malformed protobuf, truncated gzip and invalid events,
  413 for oversized batches; each refused batch stores nothing (checked in the
  SQLite file).
- kill -9 of streamd in the middle of an emitter flood, then a restart on the
  same port and data directory: after the emitter finished, every event it saw
  acknowledged is in the event log exactly once, and so is every event it
  emitted (the emitter retried through the outage).
- The spool survives kill -9 of the emitting process: events spooled while the
  server was unreachable are sent by the next run of the driver.

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

from streamd_harness import Streamd, free_port, login

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
        for cls in (T1Route, T2Flood, T3Spool):
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
