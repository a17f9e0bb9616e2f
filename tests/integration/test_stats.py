#!/usr/bin/python3
"""QoE statistics end to end on the real streamd, and streamctl stats / export on its data
directory.

- A viewer posts the events of two hand-built views (player timestamps chosen so every number
  is known); the operator endpoints GET /v1/admin/stats/views/{id}, /v1/admin/stats/qoe (with
  title/day/device filters) and /v1/admin/stats/concurrent answer with those numbers; viewers
  get 403, unknown views 404, a bad day 400.
- The QoE consumer thread (qoe_interval 1 s) catches up without a stats request.
- streamctl stats --json reads the same numbers from the store while streamd runs;
  streamctl export writes NDJSON batches and resumes with only the new events.
- streamctl's own QoE run says what streamd would count (on a daemon without a QoE thread, so
  streamctl's run is the one that meets them): another account's events left out of their
  view, and failed repairs of a marked view, on stderr and in stats --json "qoe_run".

Usage: /usr/bin/python3 test_stats.py STREAMD STREAMCTL
Standard library only.
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

from streamd_harness import Streamd, login, register_login, unique_email

STREAMD = STREAMCTL = None
D = None
TOKEN = None
OP = "op-token-stats-0123456789abcdef"
T0 = 1700000000000  # 2023-11-14T22:13:20Z
N = [0]


def ev(view, etype, t, **kw):
    N[0] += 1
    e = {"id": "%08x-0000-4000-8000-%012x" % (N[0], N[0]), "viewId": view, "type": etype,
         "clientTs": T0 + t, "titleId": "title-1", "deviceId": kw.pop("device", "tv")}
    e.update(kw)
    return e


def post(events):
    r = D.request("POST", "/v1/events", body=json.dumps({"events": events}),
                  headers={"Content-Type": "application/json"}, token=TOKEN)
    assert r.status == 200, (r.status, r.body)
    return r.json


def get(path, token=OP):
    return D.request("GET", path, token=token)


def view_a(view):
    # startup 2000; watch 50000 (pause excluded); 1 rebuffer of 3000 ms = 6 %;
    # bitrate 3000 for 25000 ms, 1500 for 19500 ms
    return [ev(view, "playrequest", 0), ev(view, "playing", 2000, br=3000),
            ev(view, "heartbeat", 12000, br=3000), ev(view, "rebufferstart", 20000),
            ev(view, "rebufferend", 23000), ev(view, "renditionchange", 30000, br=1500),
            ev(view, "pause", 40000), ev(view, "play", 100000), ev(view, "playing", 100500),
            ev(view, "ended", 110000)]


def metric(name):
    """The unlabelled sample `name` of D's /metrics (None when absent)."""
    return D.metric(name)


def streamctl(*args):
    p = subprocess.run([STREAMCTL] + list(args), capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


class T1Stats(unittest.TestCase):
    def test_1_view_and_aggregates(self):
        post(view_a("http-a"))
        post([ev("http-b", "playrequest", 0, device="web"),
              ev("http-b", "playing", 4000, device="web"),
              ev("http-b", "ended", 10000, device="web")])
        r = get("/v1/admin/stats/views/http-a")
        self.assertEqual(r.status, 200, r.body)
        v = r.json
        self.assertEqual(v["startup_ms"], 2000)
        self.assertEqual(v["watch_ms"], 50000)
        self.assertEqual(v["playing_ms"], 44500)
        self.assertEqual(v["rebuffer_count"], 1)
        self.assertAlmostEqual(v["rebuffer_pct"], 6.0)
        self.assertAlmostEqual(v["rebuffer_per_min"], 1.2)
        self.assertAlmostEqual(v["avg_br"], 104250000 / 44500)
        self.assertEqual(v["day"], "2023-11-14")
        self.assertTrue(v["ended"])
        self.assertIsNone(v["error_code"])

        r = get("/v1/admin/stats/qoe?title_id=title-1&day=2023-11-14")
        self.assertEqual(r.status, 200, r.body)
        s = r.json
        self.assertEqual(s["views"], 2)
        self.assertEqual(s["startup_ms_p50"], 2000)  # nearest rank of [2000, 4000]
        self.assertEqual(s["startup_ms_p95"], 4000)
        self.assertEqual(s["watch_ms"], 60000)
        self.assertAlmostEqual(s["rebuffer_pct"], 3000 * 100 / 60000)
        r = get("/v1/admin/stats/qoe?device=web")
        self.assertEqual(r.json["views"], 1)
        self.assertEqual(r.json["filter"], {"title_id": None, "day": None, "device": "web"})
        r = get("/v1/admin/stats/qoe?day=2023-11-15")
        self.assertEqual(r.json["views"], 0)
        self.assertIsNone(r.json["startup_ms_p50"])

    def test_2_errors(self):
        self.assertEqual(get("/v1/admin/stats/views/none").status, 404)
        self.assertEqual(get("/v1/admin/stats/qoe?day=yesterday").status, 400)
        self.assertEqual(get("/v1/admin/stats/qoe", token=TOKEN).status, 403)
        self.assertEqual(get("/v1/admin/stats/concurrent", token=None).status, 401)

    def test_3_concurrent(self):
        # The window is on the server's clock: events just received count.
        post([ev("live-1", "heartbeat", 1), ev("live-2", "playing", 1),
              ev("gone", "heartbeat", 1), ev("gone", "ended", 2)])
        r = get("/v1/admin/stats/concurrent")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json["window_s"], 30)
        self.assertGreaterEqual(r.json["concurrent_viewers"], 2)

    def test_4_consumer_thread(self):
        post([ev("thread-v", "playrequest", 0), ev("thread-v", "playing", 700)])
        db = os.path.join(D.data_dir, "streamd.db")
        deadline = time.time() + 20
        row = None
        while time.time() < deadline and row is None:
            con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
            try:
                row = con.execute("SELECT startup_ms FROM qoe_views WHERE view_id = 'thread-v'"
                                  ).fetchone()
            finally:
                con.close()
            if row is None:
                time.sleep(0.2)
        self.assertEqual(row, (700,))

    def test_5_streamctl(self):
        rc, out, err = streamctl("stats", "--data-dir", D.data_dir, "--title", "title-1",
                                 "--day", "2023-11-14", "--json")
        self.assertEqual(rc, 0, err)
        s = json.loads(out)
        self.assertGreaterEqual(s["views"], 2)
        self.assertEqual((s["qoe_run"]["foreign_events"], s["qoe_run"]["repair_failed"]), (0, 0))
        self.assertNotIn("QoE consumer", err)  # nothing to say
        rc, out, err = streamctl("stats", "--data-dir", D.data_dir, "--view", "http-a", "--json")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["watch_ms"], 50000)
        rc, out, err = streamctl("stats", "--data-dir", D.data_dir, "--day", "2023-1-1")
        self.assertEqual(rc, 1, out)

        out_dir = os.path.join(D.tmp, "export")
        rc, out, err = streamctl("export", "--data-dir", D.data_dir, "--out", out_dir,
                                 "--batch", "5")
        self.assertEqual(rc, 0, err)
        files = sorted(os.listdir(out_dir))
        seqs = []
        for f in files:
            with open(os.path.join(out_dir, f)) as fh:
                seqs += [json.loads(line)["seq"] for line in fh]
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)))
        post([ev("late", "heartbeat", 5)])
        rc, out, err = streamctl("export", "--data-dir", D.data_dir, "--out", out_dir)
        self.assertEqual(rc, 0, err)
        new = sorted(set(os.listdir(out_dir)) - set(files))
        self.assertEqual(len(new), 1)
        with open(os.path.join(out_dir, new[0])) as fh:
            lines = [json.loads(line) for line in fh]
        self.assertEqual([x["seq"] for x in lines], [len(seqs) + 1])
        self.assertEqual(lines[0]["view_id"], "late")
        rc, out, err = streamctl("export", "--data-dir", D.data_dir, "--out", out_dir,
                                 "--format", "csv", "--views")
        self.assertEqual(rc, 0, err)
        with open(os.path.join(out_dir, "views-all.csv")) as fh:
            header = fh.readline().strip()
        self.assertTrue(header.startswith("view_id,session_id,"), header)

    def test_6_other_account_same_view_id(self):
        # Another account's events under view http-a's id (a request earlier than the view's, a
        # fatal error) stay in the log but out of the view, which stays the first account's;
        # streamd warns about them and counts them in streamd_qoe_foreign_events_total.
        # Nothing is marked for a rebuild (a new database), so no repair fails: the counter is
        # there and stays 0.
        owner = get("/v1/admin/stats/views/http-a").json["account_id"]
        self.assertTrue(owner)
        self.assertEqual(metric("streamd_qoe_foreign_events_total"), 0)
        self.assertEqual(metric("streamd_qoe_repair_failed_total"), 0)
        other = register_login(D, unique_email("stats-other"))["access_token"]
        r = D.request("POST", "/v1/events", token=other,
                      body=json.dumps({"events": [
                          ev("http-a", "playrequest", -5000),
                          ev("http-a", "error", 50000,
                             error={"code": 5, "message": "m", "fatal": True})]}),
                      headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json["accepted"], 2)
        r = get("/v1/admin/stats/views/http-a")
        self.assertEqual(r.status, 200, r.body)
        v = r.json
        self.assertEqual(v["account_id"], owner)
        self.assertEqual(v["events"], 10)
        self.assertEqual(v["startup_ms"], 2000)
        self.assertEqual(v["watch_ms"], 50000)
        self.assertFalse(v["failed"])
        self.assertIsNone(v["error_code"])
        deadline = time.time() + 10
        while "left out of their view" not in D.stderr_text() and time.time() < deadline:
            time.sleep(0.1)
        self.assertIn("qoe: 2 events left out of their view", D.stderr_text())
        # The run that committed the batch (the thread's or the route's) counts it once it
        # returns: wait for it, then check it stays at 2 (another catch-up finds nothing new).
        deadline = time.time() + 10
        while metric("streamd_qoe_foreign_events_total") != 2 and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual(metric("streamd_qoe_foreign_events_total"), 2)
        self.assertEqual(get("/v1/admin/stats/views/http-a").status, 200)
        self.assertEqual(metric("streamd_qoe_foreign_events_total"), 2)
        self.assertEqual(metric("streamd_qoe_repair_failed_total"), 0)

    def test_7_streamctl_reports_its_qoe_run(self):
        # A daemon without a QoE thread nor a recs retrain (whose runs fold events too), and no
        # stats request: streamctl's run folds the events.
        d = Streamd(STREAMD, ["--login-address-burst", "0", "--qoe-interval", "0",
                              "--recs-interval", "0"], log_level="warn", access_log=False)
        try:
            owner = register_login(d, unique_email("ctl-owner"))["access_token"]
            other = register_login(d, unique_email("ctl-other"))["access_token"]
            for tok, evs in ((owner, view_a("ctl-a")[:3]),
                             (other, [ev("ctl-a", "heartbeat", 13000),
                                      ev("ctl-a", "error", 14000,
                                         error={"code": 5, "message": "m", "fatal": True})])):
                r = d.request("POST", "/v1/events", token=tok, body=json.dumps({"events": evs}),
                              headers={"Content-Type": "application/json"})
                self.assertEqual(r.status, 200, r.body)
            rc, out, err = streamctl("stats", "--data-dir", d.data_dir, "--json")
            self.assertEqual(rc, 0, err)
            s = json.loads(out)
            self.assertEqual(s["qoe_run"], {"events": 5, "views": 1, "foreign_events": 2,
                                            "repair_failed": 0})
            self.assertIn("streamctl stats: QoE consumer: 2 events left out of their view: "
                          "another account's view id", err)
            self.assertNotIn("failed repairs", err)
            # The view marked for a rebuild (as schema migration 16 marks one) and a store that
            # refuses its record (SQLite triggers, as a full disk would): every run fails the
            # repair once and says so, text, JSON and export --views alike, and still succeeds.
            con = sqlite3.connect(os.path.join(d.data_dir, "streamd.db"), isolation_level=None,
                                  timeout=30)
            try:
                con.executescript(
                    "INSERT INTO qoe_rebuild (view_id) VALUES ('ctl-a');"
                    "CREATE TRIGGER refuse_i BEFORE INSERT ON qoe_views"
                    " WHEN NEW.view_id = 'ctl-a' BEGIN SELECT RAISE(ABORT, 'refused'); END;"
                    "CREATE TRIGGER refuse_u BEFORE UPDATE ON qoe_views"
                    " WHEN NEW.view_id = 'ctl-a' BEGIN SELECT RAISE(ABORT, 'refused'); END;")
            finally:
                con.close()
            failed = ("QoE consumer: 1 failed repairs of views marked by schema migration 16")
            rc, out, err = streamctl("stats", "--data-dir", d.data_dir)
            self.assertEqual(rc, 0, err)
            self.assertIn("views", out)
            self.assertIn("streamctl stats: " + failed, err)
            self.assertNotIn("left out of their view", err)
            rc, out, err = streamctl("stats", "--data-dir", d.data_dir, "--json")
            self.assertEqual(rc, 0, err)
            self.assertEqual(json.loads(out)["qoe_run"], {"events": 0, "views": 0,
                                                          "foreign_events": 0,
                                                          "repair_failed": 1})
            self.assertIn(failed, err)
            rc, out, err = streamctl("stats", "--data-dir", d.data_dir, "--view", "ctl-a")
            self.assertEqual(rc, 0, err)
            self.assertIn(failed, err)
            rc, out, err = streamctl("export", "--data-dir", d.data_dir, "--out",
                                     os.path.join(d.tmp, "export"), "--views")
            self.assertEqual(rc, 0, err)
            self.assertIn("streamctl export: " + failed, err)
        finally:
            d.stop()
            d.cleanup()


def main():
    global STREAMD, STREAMCTL, D, TOKEN
    STREAMD, STREAMCTL = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="streamd-stats-")
    catalog = {"titles": [{"id": "title-1", "kind": "movie", "name": "Stats Movie",
                           "year": 2020, "runtime_minutes": 90, "maturity_rating": 0,
                           "genres": ["Drama"]}]}
    D = Streamd(STREAMD, ["--login-address-burst", "0", "--qoe-interval", "1"], tmp=tmp,
                log_level="warn", access_log=False, catalog=catalog, demo_timeout=10,
                operator_token=OP)
    ok = False
    try:
        TOKEN = login(D, D.demo["email"], D.demo["password"])["access_token"]
        suite = unittest.TestLoader().loadTestsFromTestCase(T1Stats)
        ok = unittest.TextTestRunner(verbosity=2).run(suite).wasSuccessful()
    finally:
        D.stop()
        D.cleanup()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
