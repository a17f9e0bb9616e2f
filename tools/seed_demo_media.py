#!/usr/bin/python3
"""Make a demo title playable on a running streamd, through the same API an operator and a
viewer use (standard library only):

1. unless the title already has a ready asset (GET /v1/admin/assets?title_id=), generate a
   few-second source with the ffmpeg CLI (testsrc2 + sine), upload it with tus 1.0
   (POST /v1/uploads, PATCH in chunks; operator token), and wait until the transcode job it
   enqueued has published the asset;
2. unless the title's latest ready asset already has them (its summary's `subtitles`), upload
   two generated subtitle tracks, English (`en`, WebVTT, the manifest's default) and French
   (`fr`, SRT), as tus uploads with `kind=subtitles`, one after the other, each waiting for its
   `subtitles` job (which publishes a new asset with the track); the cues cover the clip, one
   a second, and are printed in the JSON on stdout (the browser test checks them);
3. unless the demo account has a subscription, add a local-provider test card and subscribe
   it to a plan (POST /v1/billing/payment-methods, POST /v1/billing/subscription).

`make run` (tools/run.sh) runs it once streamd listens; the browser test
(tests/integration/web) runs it too. Idempotent: a second run changes nothing.

usage: seed_demo_media.py --url URL --operator-token-file FILE --credentials FILE
                          [--title lantern-road] [--seconds 6] [--size 1280x720] [--timeout 300]
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

CHUNK = 1 << 20


def log(msg):
    print("seed: " + msg, file=sys.stderr, flush=True)


class Api:
    def __init__(self, base):
        self.base = base.rstrip("/")

    def call(self, method, path, body=None, token=None, headers=None, raw=None):
        url = path if path.startswith("http") else self.base + path
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if token:
            h["Authorization"] = "Bearer " + token
        req = urllib.request.Request(url, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                text = r.read()
                return r.status, dict(r.headers), json.loads(text) if text.strip() else None
        except urllib.error.HTTPError as e:
            text = e.read()
            try:
                doc = json.loads(text)
            except ValueError:
                doc = {"detail": text.decode(errors="replace")[:200]}
            return e.code, dict(e.headers), doc


def items(doc, *keys):
    """The list in a list response ({"items": [...]}, {"assets": [...]}, or a bare list)."""
    if isinstance(doc, list):
        return doc
    for k in keys + ("items",):
        if isinstance(doc, dict) and isinstance(doc.get(k), list):
            return doc[k]
    return []


def ready_asset(api, op, title):
    st, _, doc = api.call("GET", "/v1/admin/assets?title_id=" + urllib.parse.quote(title),
                          token=op)
    if st != 200:
        raise SystemExit("seed: GET /v1/admin/assets answered %s: %s" % (st, doc))
    for a in items(doc, "assets"):
        if a.get("status") == "ready":
            return a
    return None


def make_source(path, seconds, size):
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=%s:rate=30" % size,
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", path],
        check=True)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def tus_upload(api, op, path, title, meta=None):
    """Upload `path` with tus 1.0 (Upload-Metadata: title_id, filename and `meta`); returns the
    upload id (the dedup key of the job the completed upload enqueues)."""
    size = os.path.getsize(path)
    fields = [("title_id", title), ("filename", os.path.basename(path))] + list(meta or [])
    meta = ",".join("%s %s" % (k, b64(v)) for k, v in fields)
    st, h, doc = api.call("POST", "/v1/uploads", token=op, raw=b"",
                          headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(size),
                                   "Upload-Metadata": meta})
    if st != 201:
        raise SystemExit("seed: tus creation answered %s: %s" % (st, doc))
    location = urllib.parse.urljoin(api.base + "/v1/uploads", h.get("Location", ""))
    offset = 0
    with open(path, "rb") as f:
        while offset < size:
            chunk = f.read(CHUNK)
            st, h, doc = api.call("PATCH", location, token=op, raw=chunk,
                                  headers={"Tus-Resumable": "1.0.0",
                                           "Upload-Offset": str(offset),
                                           "Content-Type": "application/offset+octet-stream"})
            if st != 204:
                raise SystemExit("seed: tus PATCH at %d answered %s: %s" % (offset, st, doc))
            offset = int(h.get("Upload-Offset", offset + len(chunk)))
    log("uploaded %d bytes to %s" % (size, location))
    return location.rstrip("/").rsplit("/", 1)[-1]


def wait_ready(api, op, title, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        a = ready_asset(api, op, title)
        if a:
            return a
        st, _, doc = api.call("GET", "/v1/admin/jobs", token=op)
        for j in items(doc, "jobs") if st == 200 else []:
            if j.get("status") in ("failed", "dead"):
                raise SystemExit("seed: transcode job %s failed: %s" % (j.get("id"), j.get("error")))
            line = "job %s %s %s" % (j.get("id"), j.get("status"), j.get("progress"))
            if line != last:
                log(line)
                last = line
        time.sleep(0.5)
    raise SystemExit("seed: no ready asset for %s after %d s" % (title, timeout))


# The demo's subtitle tracks: (language, name, default, format, cue text with {n}).
SUBTITLES = [
    ("en", "English", True, "vtt", "Lantern Road, line {n}: the lamps are lit"),
    ("fr", "Fran\u00e7ais", False, "srt", "Route des lanternes, r\u00e9plique {n} : les lampes sont allum\u00e9es"),
]


def cues(seconds, text):
    """One cue a second over the clip: [(start_s, end_s, text)]."""
    return [(i, i + 1, text.format(n=i + 1)) for i in range(seconds)]


def subtitle_file(fmt, cue_list):
    def ts(s, sep):
        return "%02d:%02d:%02d%s000" % (s // 3600, s // 60 % 60, s % 60, sep)

    if fmt == "vtt":
        return "WEBVTT\n\n" + "".join("%s --> %s\n%s\n\n" % (ts(a, "."), ts(b, "."), t)
                                       for a, b, t in cue_list)
    return "".join("%d\n%s --> %s\n%s\n\n" % (i + 1, ts(a, ","), ts(b, ","), t)
                   for i, (a, b, t) in enumerate(cue_list))


def latest_ready(api, op, title):
    """The title's ready asset that playback serves (the latest ready_at), or None."""
    st, _, doc = api.call("GET", "/v1/admin/assets?title_id=%s&limit=1000" % urllib.parse.quote(title),
                          token=op)
    if st != 200:
        raise SystemExit("seed: GET /v1/admin/assets answered %s: %s" % (st, doc))
    ready = [a for a in items(doc, "assets") if a.get("status") == "ready"]
    return max(ready, key=lambda a: a.get("ready_at", 0)) if ready else None


def wait_job(api, op, upload_id, timeout):
    """Wait for the job enqueued by upload `upload_id` (its dedup key) to succeed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st, _, doc = api.call("GET", "/v1/admin/jobs?limit=1000", token=op)
        for j in items(doc, "jobs") if st == 200 else []:
            if j.get("dedup_key") != upload_id:
                continue
            if j.get("status") == "succeeded":
                return j
            if j.get("status") in ("failed", "dead", "canceled"):
                raise SystemExit("seed: %s job %s %s: %s" % (j.get("kind"), j.get("id"),
                                                             j.get("status"), j.get("error")))
        time.sleep(0.2)
    raise SystemExit("seed: the job of upload %s did not finish in %d s" % (upload_id, timeout))


def ensure_subtitles(api, op, title, seconds, timeout):
    """Each demo track the title's latest ready asset lacks: uploaded, its job awaited."""
    tracks = []
    for lang, name, default, fmt, text in SUBTITLES:
        tracks.append({"language": lang, "name": name, "default": default,
                       "cues": [list(c) for c in cues(seconds, text)]})
        asset = latest_ready(api, op, title)
        have = {t.get("language") for t in ((asset or {}).get("summary") or {}).get("subtitles") or []}
        if lang in have:
            log("%s already has %s subtitles (asset %s)" % (title, lang, asset.get("id")))
            continue
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "demo-%s.%s" % (lang, fmt))
            with open(path, "w", encoding="utf-8") as f:
                f.write(subtitle_file(fmt, cues(seconds, text)))
            meta = [("kind", "subtitles"), ("language", lang), ("name", name)]
            if default:
                meta.append(("default", "true"))
            upload_id = tus_upload(api, op, path, title, meta)
        job = wait_job(api, op, upload_id, timeout)
        log("%s subtitles added (asset %s)" % (lang, (job.get("result") or {}).get("asset_id")))
    return tracks


def ensure_subscription(api, email, password):
    if not password:
        # demo-credentials.json says "password": null once the owner changed the demo
        # password (streamd keeps it): the subscription is then the owner's business, and the
        # first start, which knew the password, already made it.
        log("the demo password was changed by its owner: its subscription is left as it is")
        return
    st, _, doc = api.call("POST", "/v1/auth/login", {"email": email, "password": password})
    if st != 200:
        raise SystemExit("seed: demo sign-in answered %s: %s" % (st, doc))
    tok = doc["access_token"]
    st, _, doc = api.call("GET", "/v1/billing/subscription", token=tok)
    if st == 200 and doc:
        sub = doc.get("subscription", doc)
        if sub.get("status") in ("active", "trialing", "past_due"):
            log("demo account already subscribed (%s)" % sub.get("plan_id"))
            return
    st, _, plans = api.call("GET", "/v1/billing/plans")
    plans = items(plans, "plans")
    if st != 200 or not plans:
        raise SystemExit("seed: no billing plans (%s)" % st)
    # The plan with the most screens and the highest resolution: the demo shows everything.
    plan = max(plans, key=lambda p: (p.get("max_height", 0), p.get("screens", 0)))
    st, _, card = api.call("POST", "/v1/billing/payment-methods",
                           {"token": "tok_4242424242424242"}, token=tok,
                           headers={"Idempotency-Key": str(uuid.uuid4())})
    if st not in (200, 201):
        raise SystemExit("seed: adding the test card answered %s: %s" % (st, card))
    card = card.get("payment_method", card) if isinstance(card, dict) else {}
    body = {"plan_id": plan["id"]}
    if card.get("id"):
        body["card_id"] = card["id"]
    st, _, doc = api.call("POST", "/v1/billing/subscription", body, token=tok,
                          headers={"Idempotency-Key": str(uuid.uuid4())})
    if st not in (200, 201):
        raise SystemExit("seed: subscribing answered %s: %s" % (st, doc))
    log("demo account subscribed to %s" % plan["id"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--operator-token-file", required=True)
    ap.add_argument("--credentials", required=True, help="demo-credentials.json of --seed-demo")
    ap.add_argument("--title", default="lantern-road")
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--timeout", type=int, default=300)
    a = ap.parse_args()
    api = Api(a.url)
    with open(a.operator_token_file) as f:
        op = f.read().strip()
    with open(a.credentials) as f:
        cred = json.load(f)

    asset = ready_asset(api, op, a.title)
    if asset:
        log("%s already has a ready asset (%s)" % (a.title, asset.get("id")))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "demo-source.mp4")
            log("generating a %d s %s source with ffmpeg" % (a.seconds, a.size))
            make_source(src, a.seconds, a.size)
            tus_upload(api, op, src, a.title)
        asset = wait_ready(api, op, a.title, a.timeout)
        log("%s is playable (asset %s)" % (a.title, asset.get("id")))
    subtitles = ensure_subtitles(api, op, a.title, a.seconds, a.timeout)
    asset = latest_ready(api, op, a.title) or asset
    ensure_subscription(api, cred["email"], cred["password"])
    print(json.dumps({"title_id": a.title, "asset_id": asset.get("id"), "subtitles": subtitles},
                     ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
