#!/usr/bin/python3
"""GET /metrics of the real streamd, parsed whole by the Prometheus client library's own text
parser (Debian python3-prometheus-client), and every operational family seen to move.

Phase 1 (transcode_workers 0, so jobs stay queued; qoe_interval 0, so nothing folds events):
- every family has # HELP and # TYPE, label names come from a small fixed set and no label
  value looks like an id (the route is public); build info and process start are present;
- two tus uploads created: streamd_uploads_in_progress +2; one completed (its transcode job
  queued: streamd_jobs{kind="transcode",state="queued"} +1, in progress -1), the other
  terminated (in progress back to 0); a subtitle upload queues a "subtitles" job (media builds);
- POST /v1/events: a batch counts its events as accepted, the same batch again as duplicate;
  malformed, oversized, wrong media type and another profile's events count as rejected
  batches by reason; 401s are not counted; streamd_qoe_lag_events is the number of events
  stored (no consumer runs), not the last sequence number (the duplicates took some);
- a password reset request is processed: the queue's depth (stored requests) returns to 0.
Phase 2, a restart on the same data directory with one transcode worker, one attempt per job
and the QoE consumer every second: the queued jobs fail (the "video" is text; the track has no
video to go into): streamd_jobs{state="failed"} counts them and queued returns to 0; the lag
drains to 0; the counters start again from 0 and process_start_time_seconds moved forward.

Store-derived values are cached for 1 s in streamd, so the test waits for a value to be
reached (a generous deadline, never a duration it asserts). Usage: test_metrics.py STREAMD
"""
import base64
import json
import re
import shutil
import sys
import tempfile
import time
import unittest

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("python3-prometheus-client is missing (tools/install-deps.sh)", file=sys.stderr)
    sys.exit(77)

from streamd_harness import Streamd, profile_token, register_login, request, unique_email

STREAMD = None
OP = "op-token-metrics-0123456789abcdef"
TITLE = "title-1"
WAIT = 60  # seconds: a deadline for a value to show up, never asserted as a duration
CATALOG = {"titles": [{"id": TITLE, "kind": "movie", "name": "Metrics Movie", "year": 2020,
                       "runtime_minutes": 90, "maturity_rating": 0, "genres": ["Drama"]}]}
# Label names /metrics may use: bounded sets, nothing that identifies a user or an object.
LABELS = {"route", "method", "status", "le", "kind", "state", "result", "reason", "version",
          "ot"}  # ot: CMCD object types (origin_cmcd.h), a fixed set
ID_LIKE = re.compile(r"[0-9a-f]{16,}|[0-9a-f]{8}-[0-9a-f]{4}-|@")
OPS_FAMILIES = {  # family name as the parser reports it (counters without _total) -> type
    "streamd_build_info": "gauge",
    "process_start_time_seconds": "gauge",
    "streamd_jobs": "gauge",
    "streamd_uploads_in_progress": "gauge",
    "streamd_events_ingested": "counter",
    "streamd_events_rejected_batches": "counter",
    "streamd_qoe_lag_events": "gauge",
    "streamd_qoe_foreign_events": "counter",
    "streamd_qoe_repair_failed": "counter",
    "streamd_password_reset_queue_depth": "gauge",
    "streamd_origin_cmcd_requests": "counter",
    "streamd_origin_cmcd_invalid": "counter",
    "streamd_origin_cmcd_buffer_starvation": "counter",
    "streamd_origin_cmcd_startup_requests": "counter",
}
N = [0]


def scrape(d):
    """(families by name, {(sample name, sorted label items): value}) of one GET /metrics."""
    r = d.request("GET", "/metrics")
    assert r.status == 200, (r.status, r.body)
    assert r.header("Content-Type").startswith("text/plain; version=0.0.4"), r.headers
    text = r.body.decode()
    fams = {}
    samples = {}
    for f in text_string_to_metric_families(text):
        assert f.name not in fams, "family %s twice" % f.name
        fams[f.name] = f
        for s in f.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return text, fams, samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def wait_value(d, want, name, **labels):
    """Scrape until the sample equals `want` (store values are cached for a second)."""
    deadline = time.monotonic() + WAIT
    while True:
        got = value(scrape(d)[2], name, **labels)
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def tus(d, method, path, body=None, headers=None):
    h = {"Tus-Resumable": "1.0.0"}
    h.update(headers or {})
    return d.request(method, path, body=body, headers=h, token=OP)


def create_upload(d, length, **meta):
    md = ",".join("%s %s" % (k, b64(v)) for k, v in meta.items())
    return tus(d, "POST", "/v1/uploads", headers={"Upload-Length": str(length),
                                                  "Upload-Metadata": md})


def patch_all(d, location, data):
    r = tus(d, "PATCH", location, body=data,
            headers={"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"})
    assert r.status == 204, (r.status, r.body)


def ev(**kw):
    N[0] += 1
    e = {"id": "%08x-0000-4000-8000-%012x" % (N[0], N[0]), "viewId": "metrics-view",
         "type": "heartbeat", "clientTs": 1700000000000 + N[0], "titleId": TITLE}
    e.update(kw)
    return e


class T1Metrics(unittest.TestCase):
    """Phase 1 and 2 on one data directory (the tests run in name order)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="streamd-metrics-")
        cls.t_before = time.time()
        cls.d = Streamd(STREAMD, ["--login-address-burst", "0", "--transcode-workers", "0",
                                  "--qoe-interval", "0", "--job-max-attempts", "1",
                                  "--job-retry-backoff", "1"],
                        tmp=cls.tmp, log_level="warn", access_log=False, catalog=CATALOG,
                        operator_token=OP, demo_timeout=10, strict=True)
        cls.t_after = time.time()
        cls.jobs_queued = {"transcode": 0, "subtitles": 0}  # jobs left queued by phase 1

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.d.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_1_format(self):
        text, fams, samples = scrape(self.d)
        for name, typ in OPS_FAMILIES.items():
            self.assertIn(name, fams, "family %s missing" % name)
            self.assertEqual(fams[name].type, typ, name)
        for f in fams.values():
            # Without its # TYPE line a family parses as "unknown", without # HELP it has no text.
            self.assertNotEqual(f.type, "unknown", f.name)
            self.assertTrue(f.documentation, f.name)
            # (The parser names a counter family without its _total.)
            types = re.findall(r"^# TYPE %s(?:_total)? " % re.escape(f.name), text, re.M)
            self.assertEqual(len(types), 1, f.name)
            for s in f.samples:
                self.assertLessEqual(set(s.labels), LABELS, s)
                for v in s.labels.values():
                    self.assertIsNone(ID_LIKE.search(v), s)
        version = [dict(k[1])["version"] for k in samples if k[0] == "streamd_build_info"]
        self.assertEqual(len(version), 1)
        self.assertRegex(version[0], r"^\d+\.\d+\.\d+")
        self.assertEqual(value(samples, "streamd_build_info", version=version[0]), 1.0)
        start = value(samples, "process_start_time_seconds")
        self.assertGreaterEqual(start, int(self.t_before))
        self.assertLessEqual(start, self.t_after + 1)
        for kind in ("transcode", "subtitles"):
            for state in ("queued", "running", "failed", "canceled"):
                self.assertEqual(value(samples, "streamd_jobs", kind=kind, state=state), 0.0)
        self.assertIsNone(value(samples, "streamd_jobs", kind="transcode", state="succeeded"))
        self.assertEqual(value(samples, "streamd_uploads_in_progress"), 0.0)
        self.assertEqual(value(samples, "streamd_qoe_lag_events"), 0.0)
        for reason in ("invalid", "too_large", "forbidden", "media_type", "error"):
            self.assertEqual(value(samples, "streamd_events_rejected_batches_total",
                                   reason=reason), 0.0)

    def test_2_uploads_and_jobs(self):
        d = self.d
        a = create_upload(d, 18, title_id=TITLE, filename="a.mp4")
        self.assertEqual(a.status, 201, a.body)
        b = create_upload(d, 100, title_id=TITLE, filename="b.mp4")
        self.assertEqual(b.status, 201, b.body)
        self.assertEqual(wait_value(d, 2.0, "streamd_uploads_in_progress"), 2.0)
        # Complete a: its transcode job is queued (no worker runs); it is not in progress.
        patch_all(d, a.header("Location"), b"not a video at all")
        self.jobs_queued["transcode"] += 1
        self.assertEqual(wait_value(d, 1.0, "streamd_jobs", kind="transcode", state="queued"), 1.0)
        self.assertEqual(wait_value(d, 1.0, "streamd_uploads_in_progress"), 1.0)
        # Terminate b.
        r = tus(d, "DELETE", b.header("Location"))
        self.assertEqual(r.status, 204, r.body)
        self.assertEqual(wait_value(d, 0.0, "streamd_uploads_in_progress"), 0.0)
        # A subtitle track: a "subtitles" job (media builds only; others refuse the upload).
        srt = b"1\n00:00:01,000 --> 00:00:02,000\nBonjour\n\n"
        s = create_upload(d, len(srt), title_id=TITLE, kind="subtitles", language="fr")
        if s.status == 201:
            patch_all(d, s.header("Location"), srt)
            self.jobs_queued["subtitles"] += 1
            self.assertEqual(wait_value(d, 1.0, "streamd_jobs", kind="subtitles",
                                        state="queued"), 1.0)
        else:
            self.assertEqual(s.status, 400, s.body)
            self.assertIn(b"without the media feature", s.body)
        samples = scrape(d)[2]
        self.assertEqual(value(samples, "streamd_jobs", kind="transcode", state="running"), 0.0)
        self.assertEqual(value(samples, "streamd_jobs", kind="transcode", state="failed"), 0.0)

    def test_3_events(self):
        d = self.d
        tok = register_login(d, unique_email("metrics"))["access_token"]
        pid, sw = profile_token(d, tok)
        ptok = sw["access_token"]
        before = scrape(d)[2]

        def counter(samples, name, **labels):
            return value(samples, name, **labels) - value(before, name, **labels)

        batch = json.dumps({"events": [ev(), ev(), ev(profileId=pid)]})
        r = d.request("POST", "/v1/events", body=batch, ctype="application/json", token=ptok)
        self.assertEqual((r.status, r.json), (200, {"accepted": 3, "duplicates": 0}))
        r = d.request("POST", "/v1/events", body=batch, ctype="application/json", token=ptok)
        self.assertEqual((r.status, r.json), (200, {"accepted": 0, "duplicates": 3}))
        # The duplicates took sequence numbers (4..6): this event is the 4th stored, seq 7.
        r = d.request("POST", "/v1/events", body=json.dumps({"events": [ev()]}),
                      ctype="application/json", token=ptok)
        self.assertEqual((r.status, r.json), (200, {"accepted": 1, "duplicates": 0}))
        # Refused batches, one of each reason a client can cause.
        refused = [
            ('{"events": [{"id": 1}]}', "application/json", 400, "invalid"),
            ("{not json", "application/json", 400, "invalid"),
            (json.dumps({"events": [ev() for _ in range(1001)]}), "application/json", 413,
             "too_large"),
            (json.dumps({"events": [ev(profileId="somebody-else")]}), "application/json", 403,
             "forbidden"),
            (json.dumps({"events": [ev()]}), "text/plain", 415, "media_type"),
        ]
        for body, ctype, status, _ in refused:
            r = d.request("POST", "/v1/events", body=body, ctype=ctype, token=ptok)
            self.assertEqual(r.status, status, r.body)
        # Unauthenticated: not an ingest outcome.
        r = d.request("POST", "/v1/events", body=batch, ctype="application/json")
        self.assertEqual(r.status, 401)
        samples = scrape(d)[2]
        self.assertEqual(counter(samples, "streamd_events_ingested_total", result="accepted"), 4)
        self.assertEqual(counter(samples, "streamd_events_ingested_total", result="duplicate"), 3)
        want = {"invalid": 2, "too_large": 1, "forbidden": 1, "media_type": 1, "error": 0}
        for reason, n in want.items():
            self.assertEqual(counter(samples, "streamd_events_rejected_batches_total",
                                     reason=reason), n, reason)
        # No QoE consumer runs: every stored event is lag (these are the first events), counted:
        # not the last seq (7) less the checkpoint (0), which overstated it.
        self.assertEqual(wait_value(d, 4.0, "streamd_qoe_lag_events"), 4.0)

    def test_4_password_reset_queue(self):
        d = self.d
        r = d.request("POST", "/v1/auth/password-reset", json_body={"email": d.demo["email"]})
        self.assertEqual(r.status, 202, r.body)
        self.assertEqual(wait_value(d, 0.0, "streamd_password_reset_queue_depth"), 0.0)

    def test_5_restart_with_workers(self):
        d = self.d
        samples = scrape(d)[2]
        start1 = value(samples, "process_start_time_seconds")
        d.stop()
        # One transcode worker (the subtitles worker starts with it), one attempt per job (set
        # when the jobs were enqueued too), the QoE consumer every second.
        for flag in ("--transcode-workers", "--qoe-interval"):
            d.flags[d.flags.index(flag) + 1] = "1"
        d.start()
        for kind, n in self.jobs_queued.items():
            self.assertEqual(wait_value(d, float(n), "streamd_jobs", kind=kind, state="failed"),
                             float(n), kind)
            self.assertEqual(wait_value(d, 0.0, "streamd_jobs", kind=kind, state="queued"), 0.0)
        self.assertEqual(wait_value(d, 0.0, "streamd_qoe_lag_events"), 0.0)
        samples = scrape(d)[2]
        self.assertEqual(value(samples, "streamd_jobs", kind="transcode", state="running"), 0.0)
        # Process-local counters start again; the start time moved forward.
        self.assertEqual(value(samples, "streamd_events_ingested_total", result="accepted"), 0.0)
        self.assertGreater(value(samples, "process_start_time_seconds"), start1)


def main():
    global STREAMD
    STREAMD = sys.argv[1]
    suite = unittest.TestLoader().loadTestsFromTestCase(T1Metrics)
    ok = unittest.TextTestRunner(verbosity=2).run(suite).wasSuccessful()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
