#!/usr/bin/python3
"""examples/player end to end: the headless C player against the real streamd.

The demo title is made playable through the upload + transcode job path
(tools/seed_demo_media.py, as `make run` and the browser test do: an ffmpeg
source, a tus upload, the transcode job, the asset; a test card and a
subscription for the demo account; a 12 s 640x360 source, so two 6 s segments per
rendition). Then the player:

- signs in by TV code (the test approves the code through POST /activate),
  plays the title with --fast to the end: exit 0, frames decoded, no rebuffer;
- signs in by password and plays in real time with a bandwidth cap (a third
  of the lowest rendition's bandwidth) that empties the buffer: at least one
  rebuffer, and heartbeats (--heartbeat-s 1);
- asks for a title without media: a fatal error event (404) ends the view.

For each run, the events the player emitted (its --events-log: id and type,
in emit order) are in the event log (the SQLite file of the data directory,
read-only beside the running daemon) exactly once, in the same order, with the
view's session, title, profile and device, and the types follow the player's
state machine: viewinit, playrequest, play, playing first; ended last; every
rebufferstart closed by a rebufferend.

Usage: /usr/bin/python3 test_player.py STREAMD PLAYER REPO_ROOT
Standard library only (ffmpeg for the source); exits 77 (skipped) without ffmpeg.
"""
import json
import os
import re
import select
import shutil
import sqlite3
import subprocess
import sys
import time
import unittest

from streamd_harness import Streamd

STREAMD = PLAYER = ROOT = None
TITLE = "lantern-road"
NO_MEDIA = "static-orchard"  # in the demo catalog, never transcoded here
D = None
OP_TOKEN = "op-token-player-test-5e2b9a"


def db_events(view_id):
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(D.data_dir, "streamd.db"), uri=True,
                          timeout=30)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(
            "SELECT * FROM event_log WHERE view_id = ? ORDER BY seq", (view_id,)).fetchall()]
    finally:
        con.close()


def db_count(event_id):
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(D.data_dir, "streamd.db"), uri=True,
                          timeout=30)
    try:
        return con.execute("SELECT count(*) FROM event_log WHERE id = ?", (event_id,)).fetchone()[0]
    finally:
        con.close()


def lease_heartbeats(session_id):
    """Statuses of POST /v1/playback/<session>/heartbeat in streamd's access log."""
    out = []
    with open(D.access_log) as f:
        for line in f:
            try:
                a = json.loads(line)
            except ValueError:
                continue
            if a.get("method") == "POST" and a.get("path") == \
                    "/v1/playback/%s/heartbeat" % session_id:
                out.append(a.get("status"))
    return out


def read_log(path):
    with open(path) as f:
        return [tuple(line.split()) for line in f if line.strip()]


def summary_of(stdout):
    for line in stdout.splitlines():
        if line.startswith("summary "):
            return json.loads(line[len("summary "):])
    raise AssertionError("no summary line in the player's output:\n" + stdout)


TYPES = {1: "viewinit", 2: "playrequest", 3: "play", 4: "playing", 5: "pause", 6: "seeking",
         7: "seeked", 8: "rebufferstart", 9: "rebufferend", 10: "renditionchange", 11: "error",
         12: "ended", 13: "heartbeat"}


class PlayerTests(unittest.TestCase):
    runs = {}

    def check_view(self, summary, log):
        """The emitted events are stored once each, in emit order, with the view's fields."""
        self.assertEqual(summary["status"], "ended", summary)
        self.assertEqual(summary["events"], len(log))
        self.assertEqual(summary["events_sent"], len(log), summary)
        rows = db_events(summary["view_id"])
        self.assertEqual([(r["id"], TYPES[r["type"]]) for r in rows], log)
        for event_id, _ in log:
            self.assertEqual(db_count(event_id), 1, event_id)
        types = [t for _, t in log]
        # Heartbeats come every --heartbeat-s from the play request on, startup included.
        steps = [t for t in types if t != "heartbeat"]
        self.assertEqual(steps[:4], ["viewinit", "playrequest", "play", "playing"], types)
        self.assertEqual(types[-1], "ended", types)
        self.assertEqual(types.count("ended"), 1)
        self.assertNotIn("error", types)
        stalled = False
        for t in types:
            if t == "rebufferstart":
                self.assertFalse(stalled, types)
                stalled = True
            elif t == "rebufferend":
                self.assertTrue(stalled, types)
                stalled = False
        self.assertFalse(stalled, types)
        self.assertEqual(types.count("renditionchange"), summary["rendition_changes"])
        self.assertEqual(types.count("rebufferstart"), summary["rebuffers"])
        for r in rows:
            self.assertEqual(r["title_id"], TITLE)
            self.assertEqual(r["cid"], TITLE)
            self.assertEqual(r["sid"], summary["view_id"])
            self.assertTrue(r["device_id"].startswith("player-"), r)
            self.assertTrue(r["profile_id"], r)
            self.assertTrue(r["account_id"], r)
            if TYPES[r["type"]] not in ("viewinit", "playrequest"):
                self.assertEqual(r["session_id"], summary["session_id"], r)
        by_type = {}
        for r in rows:
            by_type.setdefault(TYPES[r["type"]], r)
        playing, ended = by_type["playing"], by_type["ended"]
        self.assertEqual(playing["su"], 1)
        self.assertGreater(playing["br"], 0)
        self.assertGreater(playing["width"], 0)
        self.assertGreater(playing["height"], 0)
        self.assertGreater(playing["mtp"], 0)
        self.assertEqual(playing["ot"], "v")
        self.assertEqual(ended["su"], 0)
        self.assertAlmostEqual(ended["playhead_ms"], summary["duration_ms"], delta=50)
        return rows

    def test_1_fast_tv_code(self):
        """TV-code sign-in approved through /activate, --fast to the end, no rebuffer."""
        log = os.path.join(D.tmp, "fast.events")
        p = subprocess.Popen([PLAYER, "--server", D.url, "--tv", "--title", TITLE, "--fast",
                              "--events-log", log, "--timeout", "60"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            out = ""
            deadline = time.time() + 30
            m = None
            while not m and time.time() < deadline:
                r, _, _ = select.select([p.stdout], [], [], 1)
                if r:
                    line = p.stdout.readline()
                    if not line:
                        break
                    out += line
                    m = re.match(r"^Go to (\S+) and enter (\S+)$", line.strip())
            self.assertTrue(m, "no user code printed: " + out)
            r = D.request("POST", "/activate", form={
                "user_code": m.group(2), "email": D.demo["email"],
                "password": D.demo["password"], "action": "approve"})
            self.assertEqual(r.status, 200, r.body[:300])
            rest, err = p.communicate(timeout=120)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        out += rest
        self.assertEqual(p.returncode, 0, out + err)
        s = summary_of(out)
        self.assertEqual(s["rebuffers"], 0, s)
        self.assertGreater(s["frames"], 0)
        self.assertGreaterEqual(s["startup_ms"], 0)
        self.assertGreater(s["duration_ms"], 2000)
        self.assertTrue(s["renditions"], s)
        self.check_view(s, read_log(log))
        PlayerTests.runs["fast"] = s

    def test_2_capped_rebuffers(self):
        """Real-time play under a bandwidth cap below the lowest rendition: rebuffers."""
        fast = PlayerTests.runs.get("fast")
        if not fast:
            self.skipTest("the fast run failed")
        low = min(r["bandwidth"] for r in fast["renditions"])
        cap = max(16, low // 1000 // 3)
        log = os.path.join(D.tmp, "capped.events")
        p = subprocess.run([PLAYER, "--server", D.url, "--email", D.demo["email"],
                            "--password-stdin", "--title", TITLE, "--max-kbps", str(cap),
                            "--heartbeat-s", "1", "--events-log", log],
                           input=D.demo["password"] + "\n", capture_output=True, text=True,
                           timeout=240)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        s = summary_of(p.stdout)
        self.assertGreaterEqual(s["rebuffers"], 1, s)
        self.assertGreater(s["rebuffer_ms"], 0, s)
        rows = self.check_view(s, read_log(log))
        types = [TYPES[r["type"]] for r in rows]
        self.assertIn("rebufferstart", types)
        self.assertIn("rebufferend", types)
        self.assertIn("heartbeat", types)
        start = next(r for r in rows if TYPES[r["type"]] == "rebufferstart")
        self.assertEqual(start["su"], 1)  # CMCD su: the buffer is empty
        self.assertLess(start["bl"], 500)
        # The cap shows in the measured throughput (loopback alone is far faster), so ABR
        # stays on the lowest rendition.
        self.assertGreater(start["mtp"], 0, start)
        self.assertLessEqual(start["mtp"], cap + cap // 10 + 1, start)
        self.assertEqual(s["rendition_changes"], 0, s)
        self.assertEqual(start["br"], low // 1000, start)
        # The screen lease was kept alive (every interval_s = 3 s) and never lapsed.
        self.assertNotIn("lease heartbeat", p.stderr)
        beats = lease_heartbeats(s["session_id"])
        self.assertTrue(beats, "no lease heartbeat in the access log")
        self.assertEqual(set(beats), {200}, beats)

    def test_4_pick_without_title(self):
        """Without --title the player takes the first title streamd marks "playable" in the
        genre rows: one POST /v1/playback, no probing of titles without media (404s)."""
        with open(D.access_log) as f:
            skip = sum(1 for _ in f)
        log = os.path.join(D.tmp, "pick.events")
        p = subprocess.run([PLAYER, "--server", D.url, "--email", D.demo["email"],
                            "--password-stdin", "--fast", "--events-log", log],
                           input=D.demo["password"] + "\n", capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        s = summary_of(p.stdout)
        self.assertEqual(s["status"], "ended", s)
        # The view played TITLE, the one title with media (the events before the session
        # started do not know the title yet).
        rows = db_events(s["view_id"])
        self.assertEqual({r["title_id"] for r in rows
                          if TYPES[r["type"]] not in ("viewinit", "playrequest")}, {TITLE})
        self.assertNotIn("error", [TYPES[r["type"]] for r in rows])
        starts = []
        with open(D.access_log) as f:
            for i, line in enumerate(f):
                try:
                    a = json.loads(line)
                except ValueError:
                    continue
                if i >= skip and a.get("method") == "POST" and a.get("path") == "/v1/playback":
                    starts.append(a.get("status"))
        self.assertEqual(len(starts), 1, starts)
        self.assertLess(starts[0], 300, starts)

    def test_3_error_event(self):
        """A title without media: the view ends with a fatal error event (the HTTP status)."""
        log = os.path.join(D.tmp, "error.events")
        p = subprocess.run([PLAYER, "--server", D.url, "--email", D.demo["email"],
                            "--password-stdin", "--title", NO_MEDIA, "--fast",
                            "--events-log", log],
                           input=D.demo["password"] + "\n", capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("no playable media", p.stderr)
        s = summary_of(p.stdout)
        self.assertEqual(s["status"], "error")
        rows = db_events(s["view_id"])
        self.assertEqual([(r["id"], TYPES[r["type"]]) for r in rows], read_log(log))
        self.assertEqual([TYPES[r["type"]] for r in rows], ["viewinit", "playrequest", "error"])
        self.assertEqual(rows[2]["error_code"], 404)
        self.assertEqual(rows[2]["error_fatal"], 1)
        self.assertIn("no playable media", rows[2]["error_message"])


def main():
    global STREAMD, PLAYER, ROOT, D
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    STREAMD, PLAYER, ROOT = (os.path.abspath(a) for a in sys.argv[1:4])
    if not shutil.which("ffmpeg"):
        print("SKIP: ffmpeg is not installed (the test transcodes a generated source)")
        return 77
    # --lease-ttl 10: the screen lease wants a heartbeat every 3 s, within the capped run.
    D = Streamd(STREAMD, args=["--login-address-burst", "0", "--login-account-burst", "0",
                               "--lease-ttl", "10"],
                prefix="libstream-player-", log_level="warn", operator_token=OP_TOKEN,
                token_file=True,
                catalog=os.path.join(ROOT, "examples", "data", "demo-catalog.json"))
    try:
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "seed_demo_media.py"),
                        "--url", D.url, "--operator-token-file",
                        os.path.join(D.tmp, "operator.token"), "--credentials",
                        os.path.join(D.data_dir, "demo-credentials.json"), "--title", TITLE,
                        "--seconds", "12", "--size", "640x360", "--timeout", "240"],
                       check=True, stdout=subprocess.DEVNULL, timeout=300)
        prog = unittest.main(argv=[sys.argv[0]], exit=False, verbosity=2)
        ok = prog.result.wasSuccessful()
    finally:
        D.stop()
        D.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
