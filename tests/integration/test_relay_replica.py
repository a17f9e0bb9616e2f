"""streamd as the analytics replica: a front daemon relays, another reads (nats_reader_url).

A real nats-server with JetStream on a loopback port and two real streamd, each with its own
SQLite data directory: A (front, --nats-url) takes player events over HTTP and relays its event
log to JetStream; B (analytics, --nats-reader-url) reads the stream into its own event log.

- Views with rebuffering, a fatal error after the first frame and a start failure, POSTed to A:
  once B's metrics count them appended, B's QoE routes (/v1/admin/stats/views/{id} and
  /v1/admin/stats/qoe) answer exactly what A's answer.
- B killed with SIGKILL in the middle of a flood and restarted on its data directory: every
  event is in B's log exactly once (the ids are A's ids), and the accounting is exact: what the
  restarted B appended is what the killed one had not stored, its duplicates are what the killed
  one had stored but JetStream had not had acknowledged (read from the consumer after the kill).
- B stopped; two messages published into the stream by hand that are not Events and A's next
  events; B restarted with its event log refusing inserts for a while (a trigger): its first
  fetch holds them all, the round fails (counted, logged once with the recovery), nothing is
  acknowledged, the same events are appended afterwards, and the bad messages are terminated,
  counted (streamd_reader_rejected_total 2) and logged one warn line each with its stream
  sequence although their round failed.
- Another such message with B running: terminated, logged, and B goes on appending.
- B restarted with a new durable: the whole stream again, every event a duplicate.
- A daemon configured with both the relay and the reader on the stream exits 2 at start.
- NATS killed under a running reader: streamd_reader_lag_messages disappears (no sample rather
  than the last one) until NATS is back on its storage, and the outage is logged in one warn
  line ("not connected ... (reconnecting)"), however the reader's rounds met it.
- Version skew (a newer streamd relays an event type this build does not know): an otherwise
  valid Event of type 14 published by hand next to a valid one and a poison message is put
  back, not terminated: counted in streamd_reader_deferred_total, logged in one warn line per
  round naming its stream seq and type, kept by the durable (streamd_reader_lag_messages 1),
  not stored; the valid event is stored and the poison message still terminated. B runs with
  nats_reader_defer_delay_ms 1000 (default 60 s): the reader logs that delay at start and the
  message put back comes again (counted again) a second later.
- A nats_reader_defer_delay_ms out of the reader's range (1000..3600000) stops the start (exit 2)
  naming the key.

B creates its durable consumer with a 2 s ack wait (nats_reader_ack_wait_ms) instead of the
default 30 s, so the messages the killed B had fetched come again within the test's time.

usage: test_relay_replica.py STREAMD
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

import streamd_harness as h
from test_relay import CURL, NATS_SERVER, STREAM, JetStream, NatsServer, wait_for

STREAMD = None
OP = "op-token-replica-0123456789abcdef"
DURABLE = "replica-test"
T0 = 1700000000000  # player clock of the QoE views: 2023-11-14


def metrics(d, prefix="streamd_reader_"):
    r = d.request("GET", "/metrics")
    assert r.status == 200, r.status
    out = {}
    for line in r.body.decode().splitlines():
        if line.startswith(prefix):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def post(d, token, events):
    r = d.request("POST", "/v1/events", json_body={"events": events}, token=token)
    assert r.status == 200, (r.status, r.body)
    assert r.json == {"accepted": len(events), "duplicates": 0}, r.body
    return [e["id"] for e in events]


def ev(view, etype, t, device="tv", **kw):
    e = {"id": str(uuid.uuid4()), "viewId": view, "type": etype, "clientTs": T0 + t,
         "titleId": "title-replica", "deviceId": device}
    e.update(kw)
    return e


def views():
    """Three views whose QoE differs in every respect the records keep."""
    fatal = {"code": 503, "message": "segment unavailable", "fatal": True}
    return [
        # startup 2000 ms, a 3000 ms rebuffer, a rendition change, a pause, ended
        [ev("rv-rebuffer", "playrequest", 0), ev("rv-rebuffer", "playing", 2000, br=3000),
         ev("rv-rebuffer", "heartbeat", 12000, br=3000),
         ev("rv-rebuffer", "rebufferstart", 20000), ev("rv-rebuffer", "rebufferend", 23000),
         ev("rv-rebuffer", "renditionchange", 30000, br=1500),
         ev("rv-rebuffer", "pause", 40000), ev("rv-rebuffer", "play", 100000),
         ev("rv-rebuffer", "playing", 100500), ev("rv-rebuffer", "ended", 110000)],
        # plays, rebuffers twice, then a fatal error: a playback failure
        [ev("rv-error", "playrequest", 0, device="web"),
         ev("rv-error", "playing", 4000, device="web", br=800),
         ev("rv-error", "rebufferstart", 9000, device="web"),
         ev("rv-error", "rebufferend", 9500, device="web"),
         ev("rv-error", "rebufferstart", 15000, device="web"),
         ev("rv-error", "error", 18000, device="web", error=fatal)],
        # a fatal error before the first frame: a start failure
        [ev("rv-startfail", "playrequest", 0, device="phone"),
         ev("rv-startfail", "error", 1500, device="phone", error=fatal)],
    ]


def heartbeats(n, view="rv-flood"):
    now = int(time.time() * 1000)
    return [{"id": str(uuid.uuid4()), "viewId": view, "type": "heartbeat", "clientTs": now,
             "playheadMs": 1000 * k} for k in range(n)]


def pb_varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def pb_event(eid, view, etype, account="acct-skew"):
    """A relayed libstream.events.v1.Event (events.proto), encoded by hand: id, view_id,
    client_ts, server_ts, type and account_id."""
    def s(num, v):
        v = v.encode()
        return pb_varint(num << 3 | 2) + pb_varint(len(v)) + v

    def i(num, v):
        return pb_varint(num << 3) + pb_varint(v)
    now = int(time.time() * 1000)
    return (s(1, eid) + s(2, view) + i(8, now) + i(9, now) + i(10, etype) +
            s(22, account))


def log_ids(d):
    """Event id -> how many times it is in d's event log (read-only SQLite)."""
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(d.data_dir, "streamd.db"), uri=True,
                          timeout=30)
    try:
        return dict(con.execute("SELECT id, count(*) FROM event_log GROUP BY id").fetchall())
    finally:
        con.close()


class ReplicaJetStream(JetStream):
    def consumer(self):
        return self.request("$JS.API.CONSUMER.INFO.%s.%s" % (STREAM, DURABLE), {})

    def publish(self, subject, payload):
        """Publish raw bytes into the stream; JetStream's acknowledgement (the stream seq)."""
        self.sock.sendall(b"PUB %s _INBOX.relaytest %d\r\n%s\r\n" % (subject.encode(),
                                                                     len(payload), payload))
        while True:
            line = self._line()
            if line == b"PING":
                self.sock.sendall(b"PONG\r\n")
            elif line.startswith(b"MSG "):
                ack = json.loads(self._read(int(line.split()[-1])))
                assert "seq" in ack, ack
                return ack["seq"]
            else:
                raise AssertionError(line.decode())


class ReplicaTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="streamd-replica-")
        self.nats = NatsServer(self.tmp)
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            d.cleanup()
        self.nats.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def streamd(self, name, args):
        tmp = os.path.join(self.tmp, name)
        os.makedirs(tmp, exist_ok=True)
        d = h.Streamd(STREAMD, args=args, tmp=tmp, operator_token=OP, strict=True)
        self.daemons.append(d)
        return d

    def stats(self, d, path):
        r = d.request("GET", path, token=OP)
        self.assertEqual(r.status, 200, r.body)
        return r.json

    def test_front_relays_analytics_reads(self):
        a = self.streamd("a", ["--nats-url", self.nats.url])  # creates the stream
        js = ReplicaJetStream(self.nats.port)
        b = self.streamd("b", ["--nats-reader-url", self.nats.url,
                               "--nats-reader-durable", DURABLE,
                               "--nats-reader-ack-wait-ms", "2000"])
        config = js.consumer()["config"]  # created by B's reader
        self.assertEqual(config["ack_wait"], 2 * 10**9)
        self.assertEqual(config["filter_subject"], "stream.events.>")
        tok = h.register_login(a, h.unique_email("replica"))["access_token"]
        ptok = h.profile_token(a, tok)[1]["access_token"]

        # 1. Views through A, QoE on B equal to A's.
        ids = []
        for v in views():
            ids += post(a, ptok, v)
        wait_for("B appended the views",
                 lambda: metrics(b).get("streamd_reader_appended_total") == len(ids))
        for view in ("rv-rebuffer", "rv-error", "rv-startfail"):
            va = self.stats(a, "/v1/admin/stats/views/" + view)
            self.assertEqual(self.stats(b, "/v1/admin/stats/views/" + view), va)
        self.assertEqual(va["start_failed"], True)
        self.assertEqual(self.stats(a, "/v1/admin/stats/views/rv-rebuffer")["rebuffer_count"], 1)
        self.assertEqual(self.stats(a, "/v1/admin/stats/views/rv-error")["error_code"], 503)
        qa = self.stats(a, "/v1/admin/stats/qoe?title_id=title-replica")
        self.assertEqual(qa["views"], 3)
        self.assertEqual(qa["failures"], 2)
        self.assertEqual(self.stats(b, "/v1/admin/stats/qoe?title_id=title-replica"), qa)
        for device in ("tv", "web", "phone"):
            path = "/v1/admin/stats/qoe?title_id=title-replica&device=" + device
            self.assertEqual(self.stats(b, path), self.stats(a, path))

        # 2. B killed in the middle of a flood, restarted on its data directory.
        # The flood goes on until B was killed, and a little after (so some of it is new to
        # the restarted B whatever the moment of the kill).
        flood, errors, killed = [], [], threading.Event()

        def poster():
            try:
                after = 0
                for _ in range(300):
                    flood.extend(post(a, ptok, heartbeats(40)))
                    after += killed.is_set()
                    if after == 5:
                        return
            except BaseException as e:  # reported by the main thread
                errors.append(e)
        t = threading.Thread(target=poster)
        t.start()
        try:
            wait_for("B appending the flood",
                     lambda: metrics(b).get("streamd_reader_appended_total", 0) >= len(ids) + 80)
            b.kill()
        finally:
            killed.set()
            t.join()
        self.assertEqual(errors, [])
        total = ids + flood
        stored = log_ids(b)
        self.assertLess(len(stored), len(total))
        acked = js.consumer()["ack_floor"]["stream_seq"]  # the stream holds events only
        self.assertLessEqual(acked, len(stored))  # acknowledged only after the commit
        b.start()
        wait_for("B caught up", lambda: metrics(b).get("streamd_reader_lag_messages") == 0 and
                 metrics(b).get("streamd_reader_appended_total") == len(total) - len(stored))
        m = metrics(b)
        print("B killed with %d of %d events stored, %d acknowledged; the restarted B appended "
              "%d, duplicates %d" % (len(stored), len(total), acked,
                                     m["streamd_reader_appended_total"],
                                     m["streamd_reader_duplicates_total"]), file=sys.stderr)
        self.assertEqual(m["streamd_reader_duplicates_total"], len(stored) - acked)
        self.assertEqual(m["streamd_reader_rejected_total"], 0)
        have = log_ids(b)
        self.assertEqual(sorted(have), sorted(total))      # every event of A
        self.assertEqual(set(have.values()), {1})          # each once
        self.assertEqual(sorted(log_ids(a)), sorted(total))

        appended = len(total) - len(stored)

        # 3. B stopped; a poison message and A's next events go into the stream; B restarted
        # with its store refusing the append (a trigger of the test aborts every insert into the
        # event log): its first fetch holds them all, the round fails, nothing of it is
        # acknowledged, and once the trigger is gone the same messages come again and are
        # appended, each once. The poison message was terminated by the failed round: counted
        # and logged all the same (its round's counts are not lost with the round).
        self.assertEqual(b.stop(), 0)
        seq0 = js.publish("stream.events.heartbeat", b"\xff\x02 not an Event either")
        self.assertEqual(seq0, len(total) + 1)
        self.assertEqual(js.publish("stream.events.heartbeat", b"\xff\x03 nor this"), seq0 + 1)
        con = sqlite3.connect(os.path.join(b.data_dir, "streamd.db"), isolation_level=None,
                              timeout=30)
        try:
            con.execute("CREATE TRIGGER replica_test_refuse BEFORE INSERT ON event_log "
                        "BEGIN SELECT RAISE(ABORT, 'refused by the replica test'); END")
            published = metrics(a, "streamd_relay_")["streamd_relay_published_total"]
            refused = post(a, ptok, heartbeats(40, view="rv-refused"))
            wait_for("A relayed them", lambda: metrics(a, "streamd_relay_")[
                "streamd_relay_published_total"] == published + len(refused))
            b.start()
            wait_for("a failed reader round",
                     lambda: metrics(b).get("streamd_reader_errors_total", 0) >= 1)
            self.assertEqual(metrics(b)["streamd_reader_rejected_total"], 2)
            self.assertEqual(log_ids(b).keys() & set(refused), set())
        finally:
            con.execute("DROP TRIGGER replica_test_refuse")
            con.close()
        total += refused
        appended = len(refused)  # counters of the restarted B
        wait_for("B appended what its log refused",
                 lambda: metrics(b).get("streamd_reader_appended_total") == appended)
        self.assertEqual(sorted(log_ids(b)), sorted(total))

        # 4. A poison message with B running: terminated, reported, and B goes on.
        seq = js.publish("stream.events.heartbeat", b"\xff\x01 not an Event")
        self.assertEqual(seq, len(total) + 3)
        wait_for("the poison message rejected",
                 lambda: metrics(b).get("streamd_reader_rejected_total") == 3)
        more = post(a, ptok, heartbeats(5, view="rv-after"))
        wait_for("B appended after the poison",
                 lambda: metrics(b).get("streamd_reader_appended_total") == appended + 5)
        self.assertEqual(sorted(log_ids(b)), sorted(total + more))
        wait_for("lag 0", lambda: metrics(b).get("streamd_reader_lag_messages") == 0)
        js.close()
        # Each daemon shows the other's families without a lag sample (not configured there).
        self.assertNotIn("streamd_reader_lag_messages", metrics(a))
        self.assertEqual(metrics(a)["streamd_reader_appended_total"], 0)
        self.assertNotIn("streamd_relay_lag_events", metrics(b, "streamd_relay_"))
        self.assertEqual(b.stop(), 0)  # SIGTERM: the reader thread stops with the daemon
        self.assertEqual(a.stop(), 0)
        log = [json.loads(line) for line in b.stderr_text().splitlines() if line.startswith("{")]
        warns = [x["msg"] for x in log if x["level"] == "warn" and "terminated" in x["msg"]]
        self.assertEqual(len(warns), 3, warns)  # one line per message
        for w, s in zip(warns, (seq0, seq0 + 1, seq)):
            self.assertIn("stream seq %d (subject stream.events.heartbeat)" % s, w)
            self.assertIn("not a protobuf", w)
        # The store's refusal: logged once as it started (retried with backoff), once as it ended.
        fails = [x["msg"] for x in log if "(reader round; retrying)" in x["msg"]]
        self.assertEqual(len(fails), 1, fails)
        self.assertIn("refused by the replica test", fails[0])
        self.assertEqual(sum("reader: reading again (NATS at %s)" % self.nats.url == x["msg"]
                             for x in log), 1)

        # 5. B again with a new durable: the whole stream is delivered to it, and its log, which
        # holds every event, counts them all as duplicates (the poisons are terminated again).
        b.flags[b.flags.index(DURABLE)] = "replica-replay"
        b.start()
        wait_for("the replay", lambda: metrics(b).get("streamd_reader_duplicates_total") ==
                 len(total + more) and metrics(b).get("streamd_reader_lag_messages") == 0)
        m = metrics(b)
        self.assertEqual(m["streamd_reader_appended_total"], 0)
        self.assertEqual(m["streamd_reader_rejected_total"], 3)
        self.assertEqual(sorted(log_ids(b)), sorted(total + more))
        self.assertEqual(b.stop(), 0)

    def test_reader_lag_while_nats_is_down(self):
        js = ReplicaJetStream(self.nats.port)
        created = js.request("$JS.API.STREAM.CREATE." + STREAM,
                             {"name": STREAM, "subjects": ["stream.events.>"], "storage": "file"})
        self.assertIn("config", created, created)
        js.close()
        b = self.streamd("b", ["--nats-reader-url", self.nats.url, "--nats-reader-durable",
                               DURABLE])
        wait_for("a lag sample", lambda: metrics(b).get("streamd_reader_lag_messages") == 0)
        # NATS away: the lag cannot be had, so there is no sample (the line goes), not the
        # last number, which would show a replica that stopped reading as caught up.
        self.nats.kill()
        wait_for("no lag sample", lambda: "streamd_reader_lag_messages" not in metrics(b))
        self.assertGreaterEqual(metrics(b)["streamd_reader_errors_total"], 1)
        # Back on its storage: the reader reconnects by itself and the sample returns.
        self.nats.start()
        wait_for("the lag sample again",
                 lambda: metrics(b).get("streamd_reader_lag_messages") == 0)
        wait_for("the recovery logged", lambda: "reader: reading again" in b.stderr_text())
        self.assertEqual(b.stop(), 0)
        log = [json.loads(line) for line in b.stderr_text().splitlines() if line.startswith("{")]
        # One warn line for the outage: a round that met it inside its fetch says it as the
        # rounds after it do (it was "lost the connection" there, then "not connected").
        fails = [x["msg"] for x in log if "(reader round; retrying)" in x["msg"]]
        self.assertEqual(fails, ["relay reader: not connected to NATS at %s (reconnecting) "
                                 "(reader round; retrying)" % self.nats.url], fails)
        self.assertEqual(sum("reader: reading again (NATS at %s)" % self.nats.url == x["msg"]
                             for x in log), 1)

    def test_newer_event_type_put_back(self):
        js = ReplicaJetStream(self.nats.port)
        created = js.request("$JS.API.STREAM.CREATE." + STREAM,
                             {"name": STREAM, "subjects": ["stream.events.>"], "storage": "file"})
        self.assertIn("config", created, created)
        newer, known = str(uuid.uuid4()), str(uuid.uuid4())
        self.assertEqual(js.publish("stream.events.future", pb_event(newer, "v-new", 14)), 1)
        self.assertEqual(js.publish("stream.events.heartbeat", b"\xff\x04 not an Event"), 2)
        self.assertEqual(js.publish("stream.events.heartbeat", pb_event(known, "v-new", 13)), 3)
        b = self.streamd("b", ["--nats-reader-url", self.nats.url, "--nats-reader-durable",
                               DURABLE, "--nats-reader-defer-delay-ms", "1000"])
        # The reader's own options (what it passes JetStream's NakWithDelay): the configured
        # delay, not the library's default. With the default the message would come again only
        # after 60 s, not within the wait below.
        self.assertIn("messages only a newer build can read come again after 1000 ms",
                      b.stderr_text())
        wait_for("the rounds", lambda: metrics(b).get("streamd_reader_deferred_total", 0) >= 2
                 and metrics(b).get("streamd_reader_appended_total") == 1)
        wait_for("the lag of the message kept",
                 lambda: metrics(b).get("streamd_reader_lag_messages") == 1)
        m = metrics(b)
        self.assertEqual(m["streamd_reader_rejected_total"], 1)
        self.assertEqual(log_ids(b), {known: 1})
        consumer = js.consumer()
        self.assertEqual(consumer["num_ack_pending"], 1)  # held, neither acked nor terminated
        self.assertEqual(consumer["ack_floor"]["stream_seq"], 0)
        js.close()
        self.assertEqual(b.stop(), 0)
        log = [json.loads(line) for line in b.stderr_text().splitlines() if line.startswith("{")]
        puts = [x["msg"] for x in log if x["level"] == "warn" and "put back" in x["msg"]]
        # One line per round that put it back (it comes again every second: each round
        # counted it once; the sample may precede a last round).
        self.assertGreaterEqual(len(puts), m["streamd_reader_deferred_total"], puts)
        self.assertGreaterEqual(len(puts), 1)
        for p in puts:
            self.assertIn("put back 1 JetStream message(s)", p)
            self.assertIn("stream seq 1 (subject stream.events.future)", p)
            self.assertIn("event type 14 is unknown to this build", p)
        terms = [x["msg"] for x in log if x["level"] == "warn" and "terminated" in x["msg"]]
        self.assertEqual(len(terms), 1, terms)
        self.assertIn("stream seq 2 ", terms[0])

    def test_relay_and_reader_on_one_stream_refused(self):
        data = os.path.join(self.tmp, "both")
        p = subprocess.run([STREAMD, "--port", "0", "--data-dir", data, "--nats-url",
                            self.nats.url, "--nats-reader-url", self.nats.url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                           env=h.streamd_env())
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(p.stdout, b"")  # never listening
        self.assertIn(b"nats_url and nats_reader_url", p.stderr)
        self.assertIn(b"stream STREAM_EVENTS", p.stderr)
        # The same with the reader's filter naming one event type of the relay's subjects.
        p = subprocess.run([STREAMD, "--port", "0", "--data-dir", data, "--nats-url",
                            self.nats.url, "--nats-reader-url", self.nats.url,
                            "--nats-reader-filter", "*.events.error"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                           env=h.streamd_env({"STREAMD_NATS_SUBJECT_PREFIX": "stream.events"}))
        self.assertEqual(p.returncode, 2, p.stderr)
        # Subjects with nothing in common are not refused (the stream the relay makes does not
        # take other.>, so the reader's consumer is refused by JetStream and retried, logged).
        d = self.streamd("apart", ["--nats-url", self.nats.url, "--nats-reader-url",
                                   self.nats.url, "--nats-reader-filter", "other.events.>"])
        wait_for("the reader's refused consumer",
                 lambda: metrics(d).get("streamd_reader_errors_total", 0) >= 1)
        self.assertEqual(d.stop(), 0)
        self.assertIn("other.events.>", d.stderr_text())

    def test_defer_delay_out_of_range_refused(self):
        # A defer delay the reader would refuse stops the start, naming the key and the range.
        data = os.path.join(self.tmp, "defer")
        env_key = "STREAMD_NATS_READER_DEFER_DELAY_MS"
        for src, env, args in ((env_key, {env_key: "999"}, []),
                               ("flag --nats-reader-defer-delay-ms", {},
                                ["--nats-reader-defer-delay-ms", "3600001"])):
            p = subprocess.run([STREAMD, "--port", "0", "--data-dir", data, "--nats-reader-url",
                                self.nats.url] + args,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                               env=h.streamd_env(env))
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertEqual(p.stdout, b"")  # never listening
            self.assertIn(("%s: nats_reader_defer_delay_ms must be between 1000 and 3600000"
                           % src).encode(), p.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    STREAMD = sys.argv.pop(1)
    if not NATS_SERVER or not CURL:
        print("SKIP: needs nats-server and curl (apt install nats-server curl)")
        sys.exit(77)
    unittest.main()
