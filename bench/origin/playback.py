#!/usr/bin/python3
"""bench/origin/playback.py: playback-start latency of streamd (issue #6 "Playback-start p99").

POST /v1/playback does the whole session start: access-token check, the title through the
viewer's filters, the ready asset, entitlement, a screen lease (a SQLite write), signing the
HLS/DASH prefix and the resume position. The baseline, measured in the same run by the same
client over the same keep-alive connections, is GET /healthz of the same daemon (routing,
logging and the HTTP round trip, no service work), so the ratio is what a playback start costs
over an empty request.

Usage: playback.py STREAMD
Environment (optional): BENCH_PLAYBACK_REQUESTS requests per measurement (default 400),
BENCH_PLAYBACK_CONCURRENCY clients of the concurrent runs (default 8), BENCH_SERVER_THREADS
streamd --threads (default: online CPUs). Standard library only; needs ffmpeg (a 2 s source
is transcoded at start through --seed-media). Prints "skipped: ..." and exits 0 without it.
A benchmark, not a test: no thresholds.
"""
import http.client
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time

TITLE = "bench-movie"
CARD = "tok_4242424242424242"


def pct(sorted_ms, p):
    """Nearest-rank percentile of a sorted list."""
    if not sorted_ms:
        return float("nan")
    k = max(0, min(len(sorted_ms) - 1, int(round(p / 100.0 * len(sorted_ms) + 0.5)) - 1))
    return sorted_ms[k]


class Client:
    def __init__(self, port):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method, path, body=None, token=None, key=None):
        h = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if token:
            h["Authorization"] = "Bearer " + token
        if key:
            h["Idempotency-Key"] = key
        self.c.request(method, path, body=data, headers=h)
        r = self.c.getresponse()
        return r.status, r.read()


def viewer(cl, n):
    email = "bench%d.%d@example.test" % (os.getpid(), n)
    pw = "correct horse 42"
    st, b = cl.call("POST", "/v1/auth/register", {"email": email, "password": pw})
    assert st == 201, b
    st, b = cl.call("POST", "/v1/auth/login", {"email": email, "password": pw})
    assert st == 200, b
    tok = json.loads(b)["access_token"]
    st, b = cl.call("POST", "/v1/profiles", {"name": "Main"}, token=tok)
    assert st == 201, b
    st, b = cl.call("POST", "/v1/profiles/%s/switch" % json.loads(b)["id"], {}, token=tok)
    assert st == 200, b
    tok = json.loads(b)["access_token"]
    st, b = cl.call("POST", "/v1/billing/payment-methods", {"token": CARD}, token=tok,
                    key="card-%d" % n)
    assert st == 201, b
    st, b = cl.call("POST", "/v1/billing/subscription", {"plan_id": "premium"}, token=tok,
                    key="sub-%d" % n)
    assert st == 201, b
    return tok


def measure(port, tokens, n, kind):
    """n requests split over len(tokens) clients (one keep-alive connection each)."""
    lat = []
    lock = threading.Lock()
    errors = []
    per = n // len(tokens)

    def work(i):
        cl = Client(port)
        mine = []
        for _ in range(per):
            t0 = time.perf_counter()
            if kind == "playback":
                st, b = cl.call("POST", "/v1/playback", {"title_id": TITLE,
                                                         "device_id": "bench-%d" % i},
                                token=tokens[i])
                ok = st == 201
            else:
                st, b = cl.call("GET", "/healthz")
                ok = st == 200
            mine.append((time.perf_counter() - t0) * 1000.0)
            if not ok:
                errors.append((st, b[:200]))
                break
        with lock:
            lat.extend(mine)

    t0 = time.perf_counter()
    th = [threading.Thread(target=work, args=(i,)) for i in range(len(tokens))]
    for t in th:
        t.start()
    for t in th:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        sys.exit("bench-playback: %s failed: %r" % (kind, errors[0]))
    lat.sort()
    return {"n": len(lat), "rps": len(lat) / wall, "p50": pct(lat, 50), "p95": pct(lat, 95),
            "p99": pct(lat, 99), "max": lat[-1]}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: playback.py STREAMD")
    streamd = sys.argv[1]
    if not shutil.which("ffmpeg"):
        print("bench-playback: skipped: ffmpeg not installed")
        return
    n = int(os.environ.get("BENCH_PLAYBACK_REQUESTS", "400"))
    conc = int(os.environ.get("BENCH_PLAYBACK_CONCURRENCY", "8"))
    threads = int(os.environ.get("BENCH_SERVER_THREADS", str(os.cpu_count() or 1)))
    if n < conc or conc < 1 or threads < 1:
        sys.exit("bench-playback: need BENCH_PLAYBACK_REQUESTS >= BENCH_PLAYBACK_CONCURRENCY >= 1")
    tmp = tempfile.mkdtemp(prefix="bench-playback-")
    proc = None
    try:
        src = os.path.join(tmp, "src.mp4")
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i",
                        "sine=frequency=440:sample_rate=48000", "-t", "2", "-c:v", "libx264",
                        "-preset", "ultrafast", "-c:a", "aac", "-shortest", src], check=True)
        cat = os.path.join(tmp, "catalog.json")
        with open(cat, "w") as f:
            json.dump({"titles": [{"id": TITLE, "kind": "movie", "name": "Bench Movie",
                                   "synopsis": "Test pattern.", "year": 2024,
                                   "runtime_minutes": 1, "maturity_rating": 0,
                                   "genres": ["Documentary"]}]}, f)
        env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMD_")}
        env["STREAMD_OPERATOR_TOKEN"] = os.urandom(16).hex()
        err = open(os.path.join(tmp, "streamd.err"), "wb")
        proc = subprocess.Popen([streamd, "--port", "0", "--listen-address", "127.0.0.1",
                                 "--data-dir", os.path.join(tmp, "data"), "--threads",
                                 str(threads), "--log-level", "warn", "--access-log", "/dev/null",
                                 "--seed-demo", "--demo-catalog", cat, "--seed-media",
                                 "%s=%s" % (TITLE, src), "--login-address-burst", "0"],
                                stdout=subprocess.PIPE, stderr=err, env=env)
        r, _, _ = select.select([proc.stdout], [], [], 60)
        if not r:
            sys.exit("bench-playback: streamd did not start")
        port = int(json.loads(proc.stdout.readline())["port"])
        cl = Client(port)
        tokens = [viewer(cl, i) for i in range(conc)]
        deadline = time.time() + 300
        while True:  # the seeded title becomes playable when its transcode job finishes
            st, b = cl.call("POST", "/v1/playback", {"title_id": TITLE, "device_id": "bench-0"},
                            token=tokens[0])
            if st == 201:
                break
            if st != 404 or time.time() > deadline:
                sys.exit("bench-playback: the seeded title never became playable: %d %r" %
                         (st, b[:200]))
            time.sleep(0.5)
        measure(port, tokens, 4 * conc, "playback")  # warm-up: every viewer's lease exists
        measure(port, tokens, 4 * conc, "healthz")

        mhd = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libmicrohttpd12"],
                             capture_output=True, text=True).stdout or "unknown"
        ver = subprocess.run([streamd, "--version"], capture_output=True, text=True).stdout
        print("bench-playback: environment")
        print("  cpu:            %d online" % (os.cpu_count() or 0))
        print("  kernel:         %s" % " ".join(os.uname()[2:3]))
        print("  libmicrohttpd:  %s" % mhd)
        print("  streamd:        %s (--threads %d, SQLite store, local billing)" %
              (ver.strip(), threads))
        print("  client:         Python http.client, keep-alive, same host")
        print()
        rows = []
        for label, toks in (("sequential", tokens[:1]), ("concurrent x%d" % conc, tokens)):
            # Interleave baseline and playback so both see the same host load.
            h = measure(port, toks, n, "healthz")
            p = measure(port, toks, n, "playback")
            rows.append((label, "GET /healthz", h))
            rows.append((label, "POST /v1/playback", p))
            rows.append((label, "ratio p99", {"p99_ratio": p["p99"] / h["p99"],
                                              "p50_ratio": p["p50"] / h["p50"]}))
        print("bench-playback: results (%d requests per run; latency in ms)" % n)
        print("  %-15s %-18s %8s %8s %8s %8s %9s" % ("run", "request", "p50", "p95", "p99",
                                                      "max", "req/s"))
        for label, what, m in rows:
            if "p99_ratio" in m:
                print("  %-15s %-18s playback / healthz: p50 %.1fx, p99 %.1fx" %
                      (label, "", m["p50_ratio"], m["p99_ratio"]))
            else:
                print("  %-15s %-18s %8.2f %8.2f %8.2f %8.2f %9.1f" %
                      (label, what, m["p50"], m["p95"], m["p99"], m["max"], m["rps"]))
    finally:
        if proc:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
