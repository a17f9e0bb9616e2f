#!/usr/bin/python3
"""tus 1.0 uploads and durable transcode jobs against the real streamd.

1. Protocol checks with http.client: OPTIONS discovery and CORS, 412 for a
   wrong Tus-Resumable, 415, 409 for a wrong offset, 460 for a checksum
   mismatch (the chunk is discarded), HEAD, termination; creation-with-upload
   (a first chunk in the POST: 415, 413, 460 deletes the new upload, 201 with
   Upload-Offset).
2. tus-js-client (npm, pinned in tus/package-lock.json, installed with
   `npm ci`) uploads a generated 4 s 640x360 video in 64 KiB chunks; streamd
   is SIGKILLed mid-upload and restarted on the same data directory and port;
   a second tus-js-client run finds the stored URL and resumes from the
   committed offset; the transcode job then runs to "succeeded" and the asset
   is ready with master.m3u8 on disk.
3. tus-js-client with uploadDataDuringCreation sends a 30 s video whole in
   its creation request, which completes the upload and enqueues its job; a
   worker killed mid-transcode (SIGKILL while the job runs) is reclaimed
   after its lease by the restarted streamd and the job completes on attempt 2.

Usage: test_upload_tus.py STREAMD_BIN. Exits 77 (skipped) without ffmpeg or node.
"""
import base64
import glob
import hashlib
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from streamd_harness import Streamd, request

HERE = os.path.dirname(os.path.abspath(__file__))
TUS_DIR = os.path.join(HERE, "tus")
OP_TOKEN = "tus-test-operator-token-0123456789abcdef"
LEASE = 3  # seconds: a dead worker's job comes back quickly


def fail(msg):
    raise AssertionError(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def start_daemon(streamd, tmp, data_dir):
    return Streamd(streamd, ["--cors-origins", "http://player.test",
                             "--job-lease", str(LEASE), "--job-retry-backoff", "1",
                             "--upload-max-bytes", str(64 << 20), "--transcode-workers", "1"],
                   tmp=tmp, data_dir=data_dir, log_level="info", operator_token=OP_TOKEN)


def call(port, method, path, body=None, headers=None, token=OP_TOKEN, tus=True):
    h = dict(headers or {})
    if tus:
        h.setdefault("Tus-Resumable", "1.0.0")
    return request(port, method, path, body=body, headers=h, token=token)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def make_video(path, seconds, size="640x360"):
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=%s:rate=25" % size,
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                    "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", path], check=True)


def create_title(port, tid):
    r = call(port, "POST", "/v1/admin/titles", tus=False,
             body=json.dumps({"id": tid, "kind": "movie", "name": "Upload " + tid,
                              "maturity_rating": 0}),
             headers={"Content-Type": "application/json"})
    check(r.status == 201, "create title: %d %s" % (r.status, r.body[:300]))


def job_of_upload(port, upload_id):
    r = call(port, "GET", "/v1/admin/jobs?limit=1000", tus=False)
    check(r.status == 200, r.body)
    for j in r.json["jobs"]:
        if j.get("dedup_key") == upload_id:
            return j
    return None


def wait_job(port, upload_id, want, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        j = job_of_upload(port, upload_id)
        if j and j["status"] == want:
            return j
        if j and j["status"] in ("failed", "canceled") and want != j["status"]:
            fail("job ended %s: %s" % (j["status"], j.get("error")))
        time.sleep(0.1)
    fail("job of upload %s never reached %s (last: %s)" % (upload_id, want, j))


def protocol_checks(port, tmp):
    r = call(port, "OPTIONS", "/v1/uploads", token=None, tus=False)
    check(r.status in (200, 204), r.status)
    check(r.h("Tus-Version") == "1.0.0", r.headers)
    check(set(r.h("Tus-Extension").split(",")) ==
          {"creation", "creation-with-upload", "termination", "checksum", "expiration"},
          r.headers)
    check(r.h("Tus-Max-Size") == str(64 << 20), r.headers)
    check(r.h("Tus-Checksum-Algorithm") == "sha1,sha256", r.headers)
    # CORS preflight for tus-js-client in a browser
    r = call(port, "OPTIONS", "/v1/uploads/x", token=None, tus=False,
             headers={"Origin": "http://player.test", "Access-Control-Request-Method": "PATCH",
                      "Access-Control-Request-Headers": "upload-offset, tus-resumable"})
    allow = r.h("Access-Control-Allow-Headers") or ""
    for name in ("Tus-Resumable", "Upload-Offset", "Upload-Length", "Upload-Metadata",
                 "Upload-Checksum"):
        check(name in allow, "preflight lacks %s: %s" % (name, allow))
    meta = "title_id %s,filename %s" % (b64("tus-a"), b64("hello.txt"))
    # wrong / missing protocol version: 412 with Tus-Version, nothing created
    r = call(port, "POST", "/v1/uploads", tus=False,
             headers={"Upload-Length": "22", "Upload-Metadata": meta})
    check(r.status == 412 and r.h("Tus-Version") == "1.0.0", (r.status, r.headers))
    r = call(port, "POST", "/v1/uploads", headers={"Upload-Length": "22", "Upload-Metadata": meta,
                                                     "Tus-Resumable": "0.2.2"})
    check(r.status == 412, r.status)
    # creation checks: unknown title, too large, operator only
    r = call(port, "POST", "/v1/uploads",
             headers={"Upload-Length": "22", "Upload-Metadata": "title_id " + b64("nope")})
    check(r.status == 400 and b"not a title" in r.body, (r.status, r.body))
    r = call(port, "POST", "/v1/uploads",
             headers={"Upload-Length": str((64 << 20) + 1), "Upload-Metadata": meta})
    check(r.status == 413, r.status)
    r = call(port, "POST", "/v1/uploads", token=None,
             headers={"Upload-Length": "22", "Upload-Metadata": meta})
    check(r.status == 401 and r.h("Tus-Resumable") == "1.0.0", (r.status, r.headers))
    r = call(port, "POST", "/v1/uploads", headers={"Upload-Length": "22", "Upload-Metadata": meta,
                                                     "Origin": "http://player.test"})
    check(r.status == 201, (r.status, r.body))
    loc = r.h("Location")
    check(loc and loc.startswith("/v1/uploads/"), loc)
    check("Location" in (r.h("Access-Control-Expose-Headers") or ""), r.headers)
    check(r.h("Upload-Expires", ) and r.h("Upload-Expires").endswith("GMT"), r.headers)
    octet = {"Content-Type": "application/offset+octet-stream"}
    r = call(port, "PATCH", loc, body=b"hello world",
             headers={"Upload-Offset": "0", "Content-Type": "text/plain"})
    check(r.status == 415, r.status)
    r = call(port, "PATCH", loc, body=b"hello world", headers=dict(octet, **{"Upload-Offset": "3"}))
    check(r.status == 409, r.status)
    good = "sha1 " + base64.b64encode(hashlib.sha1(b"hello world").digest()).decode()
    r = call(port, "PATCH", loc, body=b"hello world",
             headers=dict(octet, **{"Upload-Offset": "0", "Upload-Checksum": good}))
    check(r.status == 204 and r.h("Upload-Offset") == "11", (r.status, r.headers, r.body))
    r = call(port, "PATCH", loc, body=b"hello wOrld",
             headers=dict(octet, **{"Upload-Offset": "11", "Upload-Checksum": good}))
    check(r.status == 460, r.status)
    r = call(port, "PATCH", loc, body=b"x",
             headers=dict(octet, **{"Upload-Offset": "11", "Upload-Checksum": "md5 AAAA"}))
    check(r.status == 400, r.status)
    r = call(port, "HEAD", loc)
    check(r.status == 200 and r.h("Upload-Offset") == "11" and r.h("Upload-Length") == "22",
          (r.status, r.headers))
    check(r.h("Cache-Control") == "no-store", r.headers)
    check(set((r.h("Upload-Metadata") or "").split(",")) == set(meta.split(",")), r.headers)
    # a long Upload-Metadata (over 1 KiB) comes back whole from HEAD (tus: MUST)
    long_meta = "title_id %s,filename %s,note" % (b64("tus-a"), b64("f" * 900 + ".mp4"))
    r = call(port, "POST", "/v1/uploads", headers={"Upload-Length": "5",
                                                     "Upload-Metadata": long_meta})
    check(r.status == 201, (r.status, r.body))
    long_loc = r.h("Location")
    r = call(port, "HEAD", long_loc)
    got = r.h("Upload-Metadata") or ""
    check(r.status == 200 and len(got) > 1024, (r.status, len(got)))
    check(set(got.split(",")) == set(long_meta.split(",")), got[:200])
    check(call(port, "DELETE", long_loc).status == 204, "delete long-metadata upload")
    r = call(port, "HEAD", loc, tus=False)
    check(r.status == 412, r.status)
    # more than declared: 413, nothing kept
    r = call(port, "PATCH", loc, body=b"y" * 12, headers=dict(octet, **{"Upload-Offset": "11"}))
    check(r.status == 413, r.status)
    r = call(port, "HEAD", loc)
    check(r.h("Upload-Offset") == "11", r.headers)
    r = call(port, "DELETE", loc)
    check(r.status == 204, r.status)
    r = call(port, "HEAD", loc)
    check(r.status == 404 and r.h("Upload-Offset") is None, (r.status, r.headers))
    r = call(port, "PATCH", loc, body=b"x", headers=dict(octet, **{"Upload-Offset": "11"}))
    check(r.status == 404, r.status)
    print("ok - tus protocol checks")
    creation_with_upload(port, tmp, meta)


def part_files(tmp):
    return sorted(glob.glob(os.path.join(tmp, "data", "uploads", "*.part")))


def creation_with_upload(port, tmp, meta):
    """tus creation-with-upload: the POST's body is the first chunk."""
    octet = {"Content-Type": "application/offset+octet-stream"}
    before = part_files(tmp)
    hdr = {"Upload-Length": "22", "Upload-Metadata": meta}
    # a body of another type is refused before anything is created
    r = call(port, "POST", "/v1/uploads", body=b"hello world",
             headers=dict(hdr, **{"Content-Type": "text/plain"}))
    check(r.status == 415 and r.h("Content-Type") == "application/problem+json",
          (r.status, r.body))
    check(b"offset+octet-stream" in r.body, r.body)
    # longer than Upload-Length: 413, nothing created
    r = call(port, "POST", "/v1/uploads", body=b"y" * 23, headers=dict(hdr, **octet))
    check(r.status == 413 and b"longer than Upload-Length" in r.body, (r.status, r.body))
    # an empty upload is refused first, body or not (test_upload_limits.py)
    r = call(port, "POST", "/v1/uploads", body=b"y",
             headers=dict(octet, **{"Upload-Length": "0", "Upload-Metadata": meta}))
    check(r.status == 400 and b"Upload-Length is 0" in r.body, (r.status, r.body))
    # a checksum mismatch: 460, and the upload it created is gone with its file
    good = "sha1 " + base64.b64encode(hashlib.sha1(b"hello world").digest()).decode()
    r = call(port, "POST", "/v1/uploads", body=b"hello wOrld",
             headers=dict(hdr, **octet, **{"Upload-Checksum": good}))
    check(r.status == 460 and r.h("Location") is None, (r.status, r.headers))
    check(part_files(tmp) == before, "a failed creation chunk left %s" % part_files(tmp))
    # the first chunk is stored, committed and reported; a PATCH completes it
    r = call(port, "POST", "/v1/uploads", body=b"hello world",
             headers=dict(hdr, **octet, **{"Upload-Checksum": good}))
    check(r.status == 201 and r.h("Upload-Offset") == "11", (r.status, r.headers, r.body))
    check(r.json["offset"] == 11 and r.json["length"] == 22 and "job_id" not in r.json, r.body)
    loc = r.h("Location")
    check(loc and loc.startswith("/v1/uploads/") and r.h("Upload-Expires"), r.headers)
    r = call(port, "HEAD", loc)
    check(r.status == 200 and r.h("Upload-Offset") == "11", (r.status, r.headers))
    with open(os.path.join(tmp, "data", "uploads", loc.rsplit("/", 1)[1] + ".part"), "rb") as f:
        check(f.read() == b"hello world", "stored bytes differ")
    r = call(port, "PATCH", loc, body=b" once more",
             headers=dict(octet, **{"Upload-Offset": "11"}))
    check(r.status == 204 and r.h("Upload-Offset") == "21", (r.status, r.headers, r.body))
    check(call(port, "DELETE", loc).status == 204, "delete")
    # the connection drops mid-body: the new upload goes (its client never saw the Location)
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(("POST /v1/uploads HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\n"
                  "Authorization: Bearer %s\r\nUpload-Length: 22\r\nUpload-Metadata: %s\r\n"
                  "Content-Type: application/offset+octet-stream\r\nContent-Length: 22\r\n\r\n"
                  "hello" % (OP_TOKEN, meta)).encode())
    deadline = time.time() + 10
    while part_files(tmp) == before and time.time() < deadline:
        time.sleep(0.02)  # the upload exists once streamd has read the first body bytes
    check(len(part_files(tmp)) == len(before) + 1, "the cut creation never started")
    sock.close()
    deadline = time.time() + 10
    while part_files(tmp) != before and time.time() < deadline:
        time.sleep(0.05)
    check(part_files(tmp) == before, "a cut creation request left %s" % part_files(tmp))
    # an empty body of the chunk type is a plain creation
    r = call(port, "POST", "/v1/uploads", body=b"", headers=dict(hdr, **octet))
    check(r.status == 201 and r.h("Upload-Offset") == "0", (r.status, r.headers))
    check(call(port, "DELETE", r.h("Location")).status == 204, "delete")
    check(part_files(tmp) == before, "uploads left behind: %s" % part_files(tmp))
    print("ok - tus creation-with-upload (415, 413, 460 removes the upload, 201 with offset)")


def node_upload(tmp, port, video, store, title, extra=(), timeout=120):
    cmd = ["node", os.path.join(TUS_DIR, "upload.mjs"), "--endpoint",
           "http://127.0.0.1:%d/v1/uploads" % port, "--token", OP_TOKEN, "--file", video,
           "--store", store, "--title", title] + list(extra)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=TUS_DIR)


def read_event(proc, timeout):
    deadline = time.time() + timeout
    line = b""
    fd = proc.stdout.fileno()
    while not line.endswith(b"\n"):
        left = deadline - time.time()
        if left <= 0:
            fail("no event from the tus client")
        r, _, _ = select.select([fd], [], [], left)
        if r:
            c = os.read(fd, 1)
            if not c:
                fail("tus client exited: " + proc.stderr.read().decode(errors="replace"))
            line += c
    return json.loads(line)


def resume_after_kill(d, tmp, data_dir, port):
    video = os.path.join(tmp, "in.mp4")
    make_video(video, 4)
    size = os.path.getsize(video)
    check(size > 6 * 65536, "the test video is too small to pause mid-upload: %d" % size)
    store = os.path.join(tmp, "tus-urls.json")
    go = os.path.join(tmp, "go")
    d.restart()
    client = node_upload(tmp, port, video, store, "tus-a",
                         ["--pause-at", str(3 * 65536), "--go-file", go])
    ev = read_event(client, 60)
    check(ev["event"] == "paused", ev)
    acked = ev["accepted"]
    upload_path = ev["url"].split("127.0.0.1:%d" % port, 1)[1]
    upload_id = upload_path.rsplit("/", 1)[1]
    # streamd dies mid-upload; the client's next PATCH fails
    d.kill()
    open(go, "w").close()
    ev = read_event(client, 60)
    check(ev["event"] == "error", ev)
    check(client.wait(30) == 2, "first client run should fail")
    # the acknowledged offset survived the SIGKILL
    d.restart()
    r = call(port, "HEAD", upload_path)
    check(r.status == 200 and int(r.h("Upload-Offset")) == acked,
          "offset after restart %s, acknowledged %d" % (r.h("Upload-Offset"), acked))
    # a new client run finds the stored URL and resumes
    os.remove(go)
    client = node_upload(tmp, port, video, store, "tus-a", ["--resume"])
    ev = read_event(client, 60)
    check(ev["event"] == "resuming" and ev["url"].endswith(upload_path), ev)
    ev = read_event(client, 120)
    check(ev["event"] == "success" and ev["bytes"] == size, ev)
    check(client.wait(30) == 0, "resumed client failed")
    print("ok - tus-js-client resumed from offset %d of %d after SIGKILL" % (acked, size))
    job = wait_job(port, upload_id, "succeeded")
    check(job["progress"] == 1 and job["attempts"] == 1, job)
    asset_id = job["result"]["asset_id"]
    r = call(port, "GET", "/v1/admin/jobs/" + job["id"], tus=False)
    check(r.status == 200 and r.json["status"] == "succeeded", r.body)
    r = call(port, "GET", "/v1/admin/assets?title_id=tus-a", tus=False)
    assets = [a for a in r.json["assets"] if a["id"] == asset_id]
    check(len(assets) == 1 and assets[0]["status"] == "ready", r.body)
    outdir = os.path.join(data_dir, "media", assets[0]["dir"])
    check(os.path.isfile(os.path.join(outdir, "master.m3u8")), "no master.m3u8 in " + outdir)
    check(assets[0]["summary"]["renditions"], assets[0]["summary"])
    # the upload file is gone once transcoded
    check(not os.path.exists(os.path.join(data_dir, "uploads", upload_id + ".part")),
          "upload file left behind")
    r = call(port, "HEAD", upload_path)
    check(r.status == 404, r.status)
    print("ok - transcode job succeeded, asset ready with master.m3u8")
    return d


def worker_killed_mid_job(tmp, data_dir, port, d):
    video = os.path.join(tmp, "long.mp4")
    make_video(video, 30)
    store = os.path.join(tmp, "tus-urls-2.json")
    # the whole file in the creation request (tus creation-with-upload): it completes there
    client = node_upload(tmp, port, video, store, "tus-b", ["--during-creation", "--chunk", "all"])
    ev = read_event(client, 120)
    size = os.path.getsize(video)
    check(ev["event"] == "created" and ev["status"] == 201 and ev["offset"] == size, ev)
    created = json.loads(ev["body"])
    check(created["offset"] == size and created.get("job_id"), created)
    ev = read_event(client, 120)
    check(ev["event"] == "success", ev)
    client.wait(30)
    upload_id = ev["url"].rsplit("/", 1)[1]
    check(job_of_upload(port, upload_id)["id"] == created["job_id"], "job id of the creation")
    print("ok - tus-js-client uploaded %d bytes in its creation request (uploadDataDuringCreation)"
          % size)
    job = wait_job(port, upload_id, "running")
    # SIGKILL while the worker transcodes: wait for the staging directory
    deadline = time.time() + 60
    while not glob.glob(os.path.join(data_dir, "media", job["id"] + ".partial-*")):
        check(time.time() < deadline, "the transcode never started writing")
        time.sleep(0.05)
    d.kill()
    check(glob.glob(os.path.join(data_dir, "media", job["id"] + ".partial-*")),
          "the killed attempt should leave a staging directory")
    check(not os.path.exists(os.path.join(data_dir, "media", job["id"])),
          "a half-written asset directory is visible")
    d.restart()
    job = wait_job(port, upload_id, "succeeded", timeout=240)
    check(job["attempts"] == 2, "expected a second attempt: %s" % job)
    outdir = os.path.join(data_dir, "media", job["result"]["dir"])
    check(os.path.isfile(os.path.join(outdir, "master.m3u8")), "no master.m3u8 after retry")
    check(not glob.glob(os.path.join(data_dir, "media", job["id"] + ".partial-*")),
          "staging directory of the killed attempt not removed")
    print("ok - job of a killed worker reclaimed after its lease and completed on attempt 2")
    return d


def ensure_npm():
    if os.path.isdir(os.path.join(TUS_DIR, "node_modules", "tus-js-client")):
        return
    import fcntl
    with open(os.path.join(tempfile.gettempdir(), "libstream-tus-npm.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.isdir(os.path.join(TUS_DIR, "node_modules", "tus-js-client")):
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=TUS_DIR, check=True)


def main():
    streamd = sys.argv[1]
    for tool in ("ffmpeg", "node", "npm"):
        if not shutil.which(tool):
            print("skip: %s not found" % tool)
            return 77
    ensure_npm()
    tmp = tempfile.mkdtemp(prefix="streamd-tus-")
    data_dir = os.path.join(tmp, "data")
    d = start_daemon(streamd, tmp, data_dir)
    port = d.port
    try:
        create_title(port, "tus-a")
        create_title(port, "tus-b")
        protocol_checks(port, tmp)
        d.stop()
        d = resume_after_kill(d, tmp, data_dir, port)
        d = worker_killed_mid_job(tmp, data_dir, port, d)
    except BaseException:
        try:
            sys.stderr.write("streamd log:\n" + d.stderr_text(3000) + "\n")
        except Exception:
            pass
        raise
    finally:
        if d.proc.poll() is None:
            d.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
