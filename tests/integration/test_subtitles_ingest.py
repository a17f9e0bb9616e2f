#!/usr/bin/python3
"""Subtitles through streamd, end to end against the real daemon.

1. Upload-Metadata of a subtitle upload is checked at creation: a bad BCP 47
   language, a missing language, a bad flag or kind get 400 problem+json; a
   file over 10 MiB gets 413.
2. A generated 4 s video is uploaded (tus: POST + PATCH) and transcoded into
   the title's asset; then an .srt with language fr is uploaded: its
   "subtitles" job publishes a NEW asset (the old one stays on disk, its
   master playlist unchanged); playback now gets the new asset, whose
   master.m3u8 fetched through the signed origin has the fr SUBTITLES
   rendition, and one of its WebVTT segments fetched through the origin
   holds a cue's text. The upload is deleted after the job. A new video of
   the title is transcoded with the title's subtitle tracks carried over.
3. A subtitle upload for a title without any asset fails after the retries
   (--job-max-attempts) with an error naming the title.
4. The race of a transcode with a track published while it runs: while the
   transcode of a longer video is running (its job polled until "running"),
   a second publisher (this process, as another streamd on the same database
   would: libstream's add_subtitles + the asset registry through the Python
   bindings) publishes the title's latest asset with a new de track, then one
   with the fr track replaced. The transcode read the tracks when it started,
   so it is the publish-time check that must bring both into its asset:
   SUBTITLES lines for de and fr, the new fr cues, no staging directories left.
5. The reverse race: a subtitles job adds its track to the title's current
   asset N while a newer asset N+1 (a re-delivered video, here published by
   this process as another streamd would) becomes current. Made deterministic
   with a FIFO as N's summary.json: the job blocks reading it, after it chose
   N; the test publishes N+1 once the job has opened the FIFO, then feeds it.
   The job's publish is refused (N is not current any more) and it adds the
   track to N+1 instead: the title's current asset is the job's, with N+1's
   fr track and the new it track, not the old video plus the new track.
6. The window between a transcode's last resync read and its publish: while
   a 20 s video of that title transcodes (its staging directory exists, so
   it has read the title's tracks), the test publishes asset X, the current
   asset with a FIFO as its sub_fr.vtt: at publish time the transcode
   compares its fr track with X's and blocks reading the FIFO, after it read
   X as the current asset. The test then publishes Y (with a new de track)
   and feeds the FIFO the same fr bytes: nothing to apply from X, but the
   publish expecting X is refused, and the transcode resyncs with Y: its
   asset has de, fr and it.

Usage: test_subtitles_ingest.py STREAMD_BIN [PYTHON_BINDINGS_DIR]. Exits 77
(skipped) without ffmpeg; part 4 needs the bindings directory.
"""
import base64
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from streamd_harness import Streamd, profile_token, register_login, request, unique_email

# In a sanitizer build meson preloads the ASan/UBSan runtimes for this interpreter (it loads the
# instrumented libstream through cffi); the programs it starts (streamd, ffmpeg, curl) must not
# inherit that (curl hangs with libasan preloaded).
os.environ.pop("LD_PRELOAD", None)

OP_TOKEN = "subs-test-operator-token-0123456789abcdef"
OK_CARD = "tok_4242424242424242"
TITLE, EMPTY = "subs-movie", "subs-empty"
SRT = ("1\n00:00:00,500 --> 00:00:01,800\nBonjour tout le monde\n\n"
       "2\n00:00:02,400 --> 00:00:03,500\nDeuxi\u00e8me r\u00e9plique\n")


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def catalog():
    return {"titles": [
        {"id": TITLE, "kind": "movie", "name": "Subtitled Movie", "synopsis": "Test pattern.",
         "year": 2024, "runtime_minutes": 1, "maturity_rating": 0, "genres": ["Documentary"]},
        {"id": EMPTY, "kind": "movie", "name": "No Video", "synopsis": "Nothing.",
         "year": 2024, "runtime_minutes": 1, "maturity_rating": 0, "genres": ["Drama"]},
        {"id": RACE, "kind": "movie", "name": "Race", "synopsis": "Two publishers.",
         "year": 2024, "runtime_minutes": 1, "maturity_rating": 0, "genres": ["Drama"]},
    ]}


def call(d, method, path, body=None, headers=None, token=OP_TOKEN, tus=True):
    h = dict(headers or {})
    if tus:
        h.setdefault("Tus-Resumable", "1.0.0")
    return request(d.port, method, path, body=body, headers=h, token=token)


def metadata(**kv):
    return ",".join("%s %s" % (k, b64(v)) if v else k for k, v in kv.items())


def create(d, length, **meta):
    return call(d, "POST", "/v1/uploads",
                headers={"Upload-Length": str(length), "Upload-Metadata": metadata(**meta)})


def upload(d, data, **meta):
    r = create(d, len(data), **meta)
    check(r.status == 201, "create upload: %d %s" % (r.status, r.body[:300]))
    r2 = call(d, "PATCH", r.header("Location"), body=data,
              headers={"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"})
    check(r2.status == 204, "PATCH: %d %s" % (r2.status, r2.body[:300]))
    return r.json["id"]


def job_of_upload(d, upload_id):
    r = call(d, "GET", "/v1/admin/jobs?limit=1000", tus=False)
    check(r.status == 200, r.body)
    for j in r.json["jobs"]:
        if j.get("dedup_key") == upload_id:
            return j
    return None


def wait_job(d, upload_id, want, timeout=180):
    deadline, j = time.time() + timeout, None
    while time.time() < deadline:
        j = job_of_upload(d, upload_id)
        if j and j["status"] == want:
            return j
        if j and j["status"] in ("failed", "canceled", "succeeded") and want != j["status"]:
            raise AssertionError("job ended %s: %s" % (j["status"], j.get("error")))
        time.sleep(0.1)
    raise AssertionError("job of upload %s never reached %s (last: %s)" % (upload_id, want, j))


def problem(r, status):
    check(r.status == status, "expected %d, got %d %s" % (status, r.status, r.body[:300]))
    check(r.header("Content-Type") == "application/problem+json", r.headers)
    return json.loads(r.body)


def fetch(d, url):
    path = url.split("://", 1)[1].split("/", 1)[1]
    return request(d.port, "GET", "/" + path)


def bad_metadata(d):
    p = problem(create(d, 100, title_id=TITLE, kind="subtitles", language="fr_FR"), 400)
    check("BCP 47" in p["detail"], p)
    p = problem(create(d, 100, title_id=TITLE, kind="subtitles"), 400)
    check("language" in p["detail"], p)
    problem(create(d, 100, title_id=TITLE, kind="subtitles", language="fr", forced="maybe"), 400)
    problem(create(d, 100, title_id=TITLE, kind="subtitles", language="fr", name='say "hi"'), 400)
    problem(create(d, 100, title_id=TITLE, kind="audio"), 400)
    p = problem(create(d, 11 << 20, title_id=TITLE, kind="subtitles", language="fr"), 413)
    check("10485760" in p["detail"], p)
    print("ok - subtitle upload metadata is checked at creation")


def viewer(d):
    tok = register_login(d, unique_email("subs"), "correct horse 42")["access_token"]
    tok = profile_token(d, tok, "Main")[1]["access_token"]
    r = d.request("POST", "/v1/billing/payment-methods", json_body={"token": OK_CARD}, token=tok,
                  key="card-subs")
    check(r.status == 201, r.body)
    r = d.request("POST", "/v1/billing/subscription", json_body={"plan_id": "basic"}, token=tok,
                  key="sub-subs")
    check(r.status == 201, r.body)
    return tok


def add_and_play(d, tmp):
    video = os.path.join(tmp, "in.mp4")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=48000", "-t", "4", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
                    video], check=True)
    with open(video, "rb") as f:
        vid = upload(d, f.read(), title_id=TITLE, filename="in.mp4")
    first = wait_job(d, vid, "succeeded", timeout=240)
    old_dir = first["result"]["dir"]
    media = os.path.join(d.data_dir, "media")
    with open(os.path.join(media, old_dir, "master.m3u8")) as f:
        old_master = f.read()
    check("TYPE=SUBTITLES" not in old_master, old_master)

    sid = upload(d, SRT.encode(), title_id=TITLE, kind="subtitles", language="fr",
                 name="Fran\u00e7ais", default="true", filename="fr.srt")
    job = wait_job(d, sid, "succeeded", timeout=120)
    check(job["kind"] == "subtitles", job)
    new_dir = job["result"]["dir"]
    check(new_dir != old_dir and new_dir == job["id"], job)
    with open(os.path.join(media, old_dir, "master.m3u8")) as f:
        check(f.read() == old_master, "the old asset's master playlist changed")
    r = call(d, "HEAD", "/v1/uploads/" + sid)
    check(r.status == 404, "the subtitle upload should be deleted: %d" % r.status)
    print("ok - the fr track is published as a new asset, the old one untouched")

    tok = viewer(d)
    r = d.request("POST", "/v1/playback", json_body={"title_id": TITLE, "device_id": "tv-1",
                                                     "device_name": "Test tv-1"}, token=tok)
    check(r.status == 201, (r.status, r.body))
    s = r.json
    check(s["asset_id"] == job["result"]["asset_id"], (s, job["result"]))
    r = fetch(d, s["hls_url"])
    check(r.status == 200, (r.status, r.body[:300]))
    master = r.body.decode()
    line = [l for l in master.splitlines() if l.startswith("#EXT-X-MEDIA:TYPE=SUBTITLES")]
    check(len(line) == 1, master)
    check('LANGUAGE="fr"' in line[0] and 'NAME="Fran\u00e7ais"' in line[0] and
          "DEFAULT=YES" in line[0], line)
    uri = line[0].split('URI="', 1)[1].split('"', 1)[0]
    variants = [l for l in master.splitlines() if l.startswith("#EXT-X-STREAM-INF")]
    check(variants and all('SUBTITLES="subs"' in v for v in variants), master)
    base = s["hls_url"].rsplit("/", 1)[0]
    r = fetch(d, base + "/" + uri)
    check(r.status == 200, (r.status, r.body[:300]))
    segs = [l for l in r.body.decode().splitlines() if l and not l.startswith("#")]
    check(len(segs) >= 1, r.body)
    texts = []
    for seg in segs:
        r = fetch(d, base + "/" + uri.rsplit("/", 1)[0] + "/" + seg)
        check(r.status == 200 and (r.header("Content-Type") or "").startswith("text/vtt"),
              (r.status, r.headers))
        texts.append(r.body.decode())
    check(texts[0].startswith("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:"), texts[0][:80])
    check(any("Bonjour tout le monde" in t for t in texts), texts)
    check(any("Deuxi\u00e8me r\u00e9plique" in t for t in texts), texts)
    r = fetch(d, s["dash_url"])
    check(r.status == 200 and 'lang="fr"' in r.body.decode(), r.body[:500])
    print("ok - playback of the new asset: SUBTITLES rendition and cue text through the origin")

    # A new video of the title keeps the title's subtitle tracks.
    with open(video, "rb") as f:
        vid2 = upload(d, f.read(), title_id=TITLE, filename="in-v2.mp4")
    third = wait_job(d, vid2, "succeeded", timeout=240)["result"]["dir"]
    with open(os.path.join(media, third, "master.m3u8")) as f:
        m3 = f.read()
    check('LANGUAGE="fr"' in m3 and 'NAME="Fran\u00e7ais"' in m3 and "DEFAULT=YES" in m3, m3)
    with open(os.path.join(media, third, "sub_fr.vtt"), encoding="utf-8") as f:
        check("Bonjour tout le monde" in f.read(), "the fr cues were not carried over")
    print("ok - a new video of the title keeps its subtitle tracks")
    return old_dir


def no_asset(d):
    sid = upload(d, SRT.encode(), title_id=EMPTY, kind="subtitles", language="de")
    j = wait_job(d, sid, "failed", timeout=60)
    check(j["attempts"] == 3, j)
    check("has no ready asset" in j["error"] and EMPTY in j["error"], j)
    print("ok - a title without an asset: retried, then failed with a clear error")


SRT_DE = "1\n00:00:00,500 --> 00:00:01,800\nGuten Tag allerseits\n"
SRT_FR2 = "1\n00:00:00,500 --> 00:00:01,800\nSalut la compagnie\n"
SRT_IT = "1\n00:00:00,500 --> 00:00:01,800\nBuongiorno a tutti\n"
RACE = "subs-race"


def open_fifo_writer(d, path, upload_id, timeout=120):
    """Open the FIFO for writing once a reader has opened it (ENXIO until then)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            os.set_blocking(fd, True)
            return fd
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
        j = job_of_upload(d, upload_id)
        check(not j or j["status"] in ("queued", "running"), "the job ended: %s" % j)
        time.sleep(0.05)
    raise AssertionError("the subtitles job never opened %s" % path)


def new_video_during_subtitles(d, tmp, bindings, video_dir):
    """A newer asset published while a subtitles job adds its track is not replaced."""
    sys.path.insert(0, bindings)
    try:
        from libstream import Jobs, Store, media
    except ImportError as e:
        print("skipped: the race of a subtitles job with a new video (%s)" % e)
        return
    media_root = os.path.join(d.data_dir, "media")
    video = os.path.join(media_root, video_dir)  # a published 4 s video without tracks
    # Asset N: that video, with a FIFO as its summary.json.
    n_dir = os.path.join(media_root, "race-n")
    shutil.copytree(video, n_dir, copy_function=os.link)
    fifo = os.path.join(n_dir, "summary.json")
    with open(fifo, "rb") as f:
        n_summary = f.read()
    os.unlink(fifo)
    os.mkfifo(fifo)
    fr = os.path.join(tmp, "race-fr.srt")
    with open(fr, "w", encoding="utf-8") as f:
        f.write(SRT_FR2)
    with Store(os.path.join(d.data_dir, "streamd.db")) as store, Jobs(store) as jobs:
        n_id = jobs.asset_create(RACE, dir="race-n")
        jobs.asset_ready(n_id, json.loads(n_summary))
        sid = upload(d, SRT_IT.encode(), title_id=RACE, kind="subtitles", language="it",
                     name="Italiano", filename="it.srt")
        fd = open_fifo_writer(d, fifo, sid)  # the job has chosen N and reads its summary
        try:
            # N+1 becomes current meanwhile: the video with a fr track, as a transcode of a
            # re-delivered video (which keeps the title's tracks) would publish it.
            summary = media.add_subtitles(video, os.path.join(media_root, "race-n1"), fr, "fr",
                                          name="Fran\u00e7ais")
            n1_id = jobs.asset_create(RACE, dir="race-n1")
            jobs.asset_ready(n1_id, summary)
            view = memoryview(n_summary)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        job = wait_job(d, sid, "succeeded", timeout=120)
        cur = jobs.asset_for_title(RACE)
    check(cur.id == job["result"]["asset_id"] and cur.dir == job["id"], (cur.id, job))
    out = os.path.join(media_root, job["id"])
    with open(os.path.join(out, "master.m3u8"), encoding="utf-8") as f:
        master = f.read()
    lines = [l for l in master.splitlines() if l.startswith("#EXT-X-MEDIA:TYPE=SUBTITLES")]
    check(len(lines) == 2, master)
    check(any('LANGUAGE="fr"' in l for l in lines), "the track of N+1 was lost: %s" % lines)
    check(any('LANGUAGE="it"' in l and 'NAME="Italiano"' in l for l in lines), lines)
    with open(os.path.join(out, "sub_fr.vtt"), encoding="utf-8") as f:
        check("Salut la compagnie" in f.read(), "the fr cues of N+1 are missing")
    with open(os.path.join(out, "summary.json"), encoding="utf-8") as f:
        summary = json.load(f)
    check(sorted(t["language"] for t in summary["subtitles"]) == ["fr", "it"], summary)
    check(os.path.realpath(summary["outdir"]) == os.path.realpath(out), summary["outdir"])
    left = [e for e in os.listdir(media_root) if e.startswith(job["id"] + ".")]
    check(not left, left)
    check("became current while the it track was added" in (d.stderr_text() or ""),
          "the refused publish is not in the log")
    print("ok - a subtitles job racing a new video adds its track to the new video")


def publish_during_transcode(d, tmp, bindings):
    """Tracks published by another process while a transcode runs end up in its asset."""
    sys.path.insert(0, bindings)
    try:
        from libstream import Jobs, Store, media
    except ImportError as e:
        print("skipped: the race with a track published during a transcode (%s)" % e)
        return

    video = os.path.join(tmp, "long.mp4")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=1280x720:rate=25", "-f", "lavfi", "-i",
                    "sine=frequency=330:sample_rate=48000", "-t", "20", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
                    video], check=True)
    subs = {}
    for lang, text in (("de", SRT_DE), ("fr", SRT_FR2)):
        subs[lang] = os.path.join(tmp, "%s.srt" % lang)
        with open(subs[lang], "w", encoding="utf-8") as f:
            f.write(text)
    media_root = os.path.join(d.data_dir, "media")
    with open(video, "rb") as f:
        vid = upload(d, f.read(), title_id=TITLE, filename="long.mp4")
    running = wait_job(d, vid, "running", timeout=120)

    with Store(os.path.join(d.data_dir, "streamd.db")) as store, Jobs(store) as jobs:
        for n, (lang, name) in enumerate((("de", "Deutsch"), ("fr", "Fran\u00e7ais"))):
            latest = jobs.asset_for_title(TITLE)
            check(latest is not None and latest.dir != running["id"], latest)
            new_dir = "side-%d" % n
            summary = media.add_subtitles(os.path.join(media_root, latest.dir),
                                          os.path.join(media_root, new_dir), subs[lang], lang,
                                          name=name, default=(lang == "fr"))
            aid = jobs.asset_create(TITLE, dir=new_dir)
            jobs.asset_ready(aid, summary)
    j = job_of_upload(d, vid)
    check(j["status"] == "running",
          "the transcode ended before the tracks were published (make the source longer): %s" % j)
    print("ok - a de track and a new fr track published while the transcode runs")

    job = wait_job(d, vid, "succeeded", timeout=300)
    out = os.path.join(media_root, job["result"]["dir"])
    check(job["result"]["dir"] == job["id"], job)
    with open(os.path.join(out, "master.m3u8"), encoding="utf-8") as f:
        master = f.read()
    lines = [l for l in master.splitlines() if l.startswith("#EXT-X-MEDIA:TYPE=SUBTITLES")]
    check(len(lines) == 2, master)
    check(any('LANGUAGE="de"' in l and 'NAME="Deutsch"' in l for l in lines), lines)
    check(any('LANGUAGE="fr"' in l and "DEFAULT=YES" in l for l in lines), lines)
    with open(os.path.join(out, "sub_de.vtt"), encoding="utf-8") as f:
        check("Guten Tag allerseits" in f.read(), "the de track is missing its cues")
    with open(os.path.join(out, "sub_fr.vtt"), encoding="utf-8") as f:
        fr = f.read()
    check("Salut la compagnie" in fr and "Bonjour" not in fr, "the fr track is not the new one")
    with open(os.path.join(out, "summary.json"), encoding="utf-8") as f:
        summary = json.load(f)
    check(os.path.realpath(summary["outdir"]) == os.path.realpath(out), summary["outdir"])
    check(abs(summary["duration"] - 20) < 1, summary["duration"])  # the new video
    left = [e for e in os.listdir(media_root) if e.startswith(job["id"] + ".")]
    check(not left, left)
    print("ok - the transcode's asset has the tracks published while it ran")


def track_before_transcode_publish(d, tmp, bindings):
    """A track published between a transcode's resync and its publish is not lost."""
    sys.path.insert(0, bindings)
    try:
        from libstream import Jobs, Store, media
    except ImportError as e:
        print("skipped: a track published just before a transcode publishes (%s)" % e)
        return
    media_root = os.path.join(d.data_dir, "media")
    de = os.path.join(tmp, "window-de.srt")
    with open(de, "w", encoding="utf-8") as f:
        f.write(SRT_DE)
    with Store(os.path.join(d.data_dir, "streamd.db")) as store, Jobs(store) as jobs:
        base = jobs.asset_for_title(RACE)  # fr and it, regular files
        check(base is not None, "the title has no asset")
        base_dir = os.path.join(media_root, base.dir)
        with open(os.path.join(tmp, "long.mp4"), "rb") as f:
            vid = upload(d, f.read(), title_id=RACE, filename="long.mp4")
        job = wait_job(d, vid, "running", timeout=120)
        deadline = time.time() + 120  # its staging directory: the tracks were read
        while not any(e.startswith(job["id"] + ".partial-") for e in os.listdir(media_root)):
            check(time.time() < deadline and job_of_upload(d, vid)["status"] == "running",
                  "the transcode never started writing")
            time.sleep(0.05)
        # X: the current asset again, with a FIFO as its sub_fr.vtt.
        x_dir = os.path.join(media_root, "window-x")
        shutil.copytree(base_dir, x_dir, copy_function=os.link)
        fifo = os.path.join(x_dir, "sub_fr.vtt")
        os.unlink(fifo)
        os.mkfifo(fifo)
        x_id = jobs.asset_create(RACE, dir="window-x")
        jobs.asset_ready(x_id, base.summary)
        fd = open_fifo_writer(d, fifo, vid, timeout=300)  # the transcode read X, is comparing
        try:
            y_summary = media.add_subtitles(base_dir, os.path.join(media_root, "window-y"), de,
                                            "de", name="Deutsch")
            y_id = jobs.asset_create(RACE, dir="window-y")
            jobs.asset_ready(y_id, y_summary)
            with open(os.path.join(base_dir, "sub_fr.vtt"), "rb") as f:
                view = memoryview(f.read())
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        job = wait_job(d, vid, "succeeded", timeout=300)
        cur = jobs.asset_for_title(RACE)
    check(cur.id == job["result"]["asset_id"] and job["result"]["dir"] == job["id"], job)
    out = os.path.join(media_root, job["id"])
    with open(os.path.join(out, "summary.json"), encoding="utf-8") as f:
        summary = json.load(f)
    langs = sorted(t["language"] for t in summary["subtitles"])
    check(langs == ["de", "fr", "it"], "tracks of the transcode's asset: %s" % langs)
    check(abs(summary["duration"] - 20) < 1, summary["duration"])  # the new video
    with open(os.path.join(out, "sub_de.vtt"), encoding="utf-8") as f:
        check("Guten Tag allerseits" in f.read(), "the de track is missing its cues")
    left = [e for e in os.listdir(media_root) if e.startswith(job["id"] + ".")]
    check(not left, left)
    check("became current while publishing" in (d.stderr_text() or ""),
          "the refused publish is not in the log")
    print("ok - a track published just before a transcode publishes is in its asset")


def main():
    if not shutil.which("ffmpeg"):
        print("skipped: ffmpeg not found")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="streamd-subs-")
    d = Streamd(sys.argv[1], ["--job-retry-backoff", "1", "--job-max-attempts", "3",
                              "--transcode-workers", "1", "--login-address-burst", "0"],
                tmp=tmp, log_level="info", catalog=catalog(), operator_token=OP_TOKEN,
                demo_timeout=10)
    try:
        bad_metadata(d)
        no_asset(d)
        first_dir = add_and_play(d, tmp)
        if len(sys.argv) > 2:
            new_video_during_subtitles(d, tmp, sys.argv[2], first_dir)
            publish_during_transcode(d, tmp, sys.argv[2])
            track_before_transcode_publish(d, tmp, sys.argv[2])
    except BaseException:
        sys.stderr.write(d.stderr_text(tail=6000) or "")
        raise
    finally:
        d.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    print("test_subtitles_ingest: all passed")


if __name__ == "__main__":
    main()
