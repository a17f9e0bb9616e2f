#!/usr/bin/python3
"""Upload and job limits of streamd's ingest, against the real daemon (no FFmpeg tools needed).

1. An empty upload (tus Upload-Length: 0) is refused at creation, video or subtitles, with or
   without a body: 400 application/problem+json naming Upload-Length; no data file is made.
2. Defence in depth: an empty upload already in the store (made before that check, here with
   the Python binding while streamd is stopped) gets no job when its HEAD/GET comes.
3. A transcode of bytes that are not media fails for good; its error, shown by
   /v1/admin/jobs and /v1/admin/assets, names the upload relative to the data directory
   ("<data_dir>/uploads/<id>.part"), never the server's absolute path.
4. The upload of that failed job is kept for upload_expiry seconds after the job ended, then the
   sweeper deletes it (the job's end is moved back in the database, streamd restarted: its
   sweep runs at start).
5. With the media feature (a third argument "media") and the ffmpeg program: a transcode that
   runs past job_max_runtime (1 s here, on a 720p source that takes several seconds) is stopped,
   its job fails for good with the limit in its error, its asset is failed (not left
   "processing") and no staging directory of it is left in the media root.

Usage: test_upload_limits.py STREAMD_BIN PYTHON_BINDINGS_DIR [media].
"""
import base64
import glob
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

from streamd_harness import Streamd, request

OP_TOKEN = "upload-limits-operator-token-0123456789ab"
TITLE = "lim-a"
EXPIRY = 60  # upload_expiry (its minimum)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def call(d, method, path, body=None, headers=None, tus=True):
    h = dict(headers or {})
    if tus:
        h.setdefault("Tus-Resumable", "1.0.0")
    return request(d.port, method, path, body=body, headers=h, token=OP_TOKEN)


def part_files(d):
    return sorted(f for f in os.listdir(os.path.join(d.data_dir, "uploads")) if f.endswith(".part"))


def jobs(d):
    r = call(d, "GET", "/v1/admin/jobs?limit=1000", tus=False)
    check(r.status == 200, (r.status, r.body))
    return r.json["jobs"]


def job_of_upload(d, upload_id):
    for j in jobs(d):
        if j.get("dedup_key") == upload_id:
            return j
    return None


def empty_upload_refused(d):
    video = "title_id %s,filename %s" % (b64(TITLE), b64("empty.mp4"))
    subs = "title_id %s,kind %s,language %s" % (b64(TITLE), b64("subtitles"), b64("fr"))
    before = part_files(d)
    for meta, body in ((video, None), (subs, None), (video, b"x")):
        h = {"Upload-Length": "0", "Upload-Metadata": meta}
        if body is not None:
            h["Content-Type"] = "application/offset+octet-stream"
        r = call(d, "POST", "/v1/uploads", body=body, headers=h)
        check(r.status == 400, (r.status, r.body))
        check(r.ctype.startswith("application/problem+json"), r.headers)
        check("Upload-Length is 0" in r.json["detail"], r.json)
        check(r.h("Tus-Resumable") == "1.0.0", r.headers)
    check(part_files(d) == before, "an empty upload left a data file: %s" % part_files(d))
    # one byte is fine (it is the media check's job to judge it)
    r = call(d, "POST", "/v1/uploads", headers={"Upload-Length": "1", "Upload-Metadata": video})
    check(r.status == 201, (r.status, r.body))
    check(call(d, "DELETE", r.h("Location")).status == 204, "delete")
    print("ok - an empty upload is refused at creation (400 problem+json)")


def empty_upload_gets_no_job(d, bindings):
    sys.path.insert(0, bindings)
    from libstream import Store
    from libstream.upload import Uploads

    d.stop()
    with Store(os.path.join(d.data_dir, "streamd.db")) as store:
        u = Uploads(store, os.path.join(d.data_dir, "uploads")).create(
            0, metadata={"title_id": TITLE, "filename": "old-empty.mp4"})
        uid = u.id
    d.start()
    r = call(d, "GET", "/v1/uploads/" + uid, tus=False)
    check(r.status == 200 and r.json["completed_at"] > 0, (r.status, r.body))
    check("job_id" not in r.json, "an empty upload got a job: %s" % r.json)
    check(job_of_upload(d, uid) is None, "a job was enqueued for the empty upload")
    check(call(d, "DELETE", "/v1/uploads/" + uid).status == 204, "delete")
    print("ok - an empty upload already stored gets no job")


def failed_job(d):
    meta = "title_id %s,filename %s" % (b64(TITLE), b64("noise.mp4"))
    noise = bytes((i * 7919) % 251 for i in range(4096))
    r = call(d, "POST", "/v1/uploads", body=noise,
             headers={"Upload-Length": str(len(noise)), "Upload-Metadata": meta,
                      "Content-Type": "application/offset+octet-stream"})
    check(r.status == 201 and r.json.get("job_id"), (r.status, r.body))
    uid, jid = r.json["id"], r.json["job_id"]
    deadline = time.time() + 60
    while True:
        r = call(d, "GET", "/v1/admin/jobs/" + jid, tus=False)
        check(r.status == 200, (r.status, r.body))
        if r.json["status"] == "failed":
            break
        check(r.json["status"] in ("queued", "running"), r.json)
        check(time.time() < deadline, "the job of the noise upload never failed: %s" % r.json)
        time.sleep(0.1)
    job = r.json
    shown = [job["error"]]
    shown += [j["error"] for j in jobs(d) if j["id"] == jid]
    r = call(d, "GET", "/v1/admin/assets?title_id=" + TITLE, tus=False)
    check(r.status == 200, (r.status, r.body))
    shown += [a.get("error") or "" for a in r.json["assets"] if a.get("job_id") == jid]
    check(len(shown) == 3, "job or asset missing: %s" % shown)
    root = os.path.realpath(os.path.dirname(d.data_dir))
    for text in shown:
        check(d.data_dir not in text and root not in text, "a server path is shown: %s" % text)
    check("<data_dir>/uploads/%s.part" % uid in job["error"], job["error"])
    # the log keeps the full path
    check(os.path.join(d.data_dir, "uploads", uid + ".part") in d.stderr_text(),
          "the log lacks the full path")
    print("ok - a failed job's error names paths relative to the data directory")
    return uid, jid


def failed_upload_swept(d, uid, jid):
    check(uid + ".part" in part_files(d), "the failed job's upload went at once")
    check(call(d, "GET", "/v1/uploads/" + uid, tus=False).status == 200, "upload kept")
    d.stop()
    db = sqlite3.connect(os.path.join(d.data_dir, "streamd.db"), timeout=30)
    # Not yet past the window (ended EXPIRY - 30 s ago): kept.
    db.execute("UPDATE jobs SET finished_at = ? WHERE id = ?", (int(time.time()) - EXPIRY + 30, jid))
    db.commit()
    d.start()
    time.sleep(1)
    check(uid + ".part" in part_files(d), "deleted before upload_expiry")
    d.stop()
    db.execute("UPDATE jobs SET finished_at = ? WHERE id = ?", (int(time.time()) - EXPIRY - 5, jid))
    db.commit()
    db.close()
    d.start()  # the sweeper runs at start
    deadline = time.time() + 20
    while uid + ".part" in part_files(d):
        check(time.time() < deadline, "the failed job's upload was never deleted")
        time.sleep(0.1)
    check(call(d, "GET", "/v1/uploads/" + uid, tus=False).status == 404, "upload row kept")
    r = call(d, "GET", "/v1/admin/jobs/" + jid, tus=False)
    check(r.json["status"] == "failed", r.json)  # the job keeps its error
    print("ok - the upload of a failed job is deleted upload_expiry after the failure")


def runtime_limit(d):
    src = os.path.join(d.tmp, "long.mp4")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-nostdin", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                    "-t", "20", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
                    src], check=True)
    d.flags += ["--job-max-runtime", "1"]
    d.restart()
    with open(src, "rb") as f:
        body = f.read()
    meta = "title_id %s,filename %s" % (b64(TITLE), b64("long.mp4"))
    r = call(d, "POST", "/v1/uploads", body=body,
             headers={"Upload-Length": str(len(body)), "Upload-Metadata": meta,
                      "Content-Type": "application/offset+octet-stream"})
    check(r.status == 201 and r.json.get("job_id"), (r.status, r.body))
    jid = r.json["job_id"]
    deadline = time.time() + 120
    while True:
        r = call(d, "GET", "/v1/admin/jobs/" + jid, tus=False)
        check(r.status == 200, (r.status, r.body))
        if r.json["status"] not in ("queued", "running"):
            break
        check(time.time() < deadline, "the job never ended: %s" % r.json)
        time.sleep(0.1)
    job = r.json
    check(job["status"] == "failed", job)
    check("exceeded its runtime limit of 1 s" in (job.get("error") or ""), job)
    check(job["attempts"] == 1, job)  # not retried, although --job-max-attempts is 2
    r = call(d, "GET", "/v1/admin/assets?title_id=" + TITLE, tus=False)
    check(r.status == 200, (r.status, r.body))
    mine = [a for a in r.json["assets"] if a.get("job_id") == jid]
    check(len(mine) == 1 and mine[0]["status"] == "failed", mine)
    check("runtime limit" in (mine[0].get("error") or ""), mine)
    media = os.path.join(d.data_dir, "media")
    left = glob.glob(os.path.join(media, jid + "*"))
    check(not left, "the stopped transcode left %s" % left)
    print("ok - a transcode past job_max_runtime fails for good, and so does its asset")


def main():
    streamd, bindings = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="streamd-limits-")
    d = Streamd(streamd, ["--job-retry-backoff", "1", "--job-max-attempts", "2",
                          "--transcode-workers", "1", "--upload-expiry", str(EXPIRY)],
                tmp=tmp, log_level="info", operator_token=OP_TOKEN)
    try:
        r = call(d, "POST", "/v1/admin/titles", tus=False,
                 body='{"id":"%s","kind":"movie","name":"Limits","maturity_rating":0}' % TITLE,
                 headers={"Content-Type": "application/json"})
        check(r.status == 201, (r.status, r.body))
        empty_upload_refused(d)
        empty_upload_gets_no_job(d, bindings)
        uid, jid = failed_job(d)
        failed_upload_swept(d, uid, jid)
        if len(sys.argv) > 3 and sys.argv[3] == "media":
            check(shutil.which("ffmpeg"), "the media feature is built but ffmpeg is missing")
            runtime_limit(d)
    except BaseException:
        try:
            sys.stderr.write("streamd log:\n" + d.stderr_text(4000) + "\n")
        except Exception:
            pass
        raise
    finally:
        if d.proc and d.proc.poll() is None:
            d.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
