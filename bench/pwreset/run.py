#!/usr/bin/python3
"""bench/pwreset/run.py: does POST /v1/auth/password-reset answer a known address later than an
unknown one? (The account-enumeration-by-timing question.)

For a known, enabled address streamd stores a reset row (an SQLite commit) and writes an .eml
file; for an unknown one it does neither. Since the reset queue (daemon/streamd/reset_queue.c)
that work runs after the 202, on the queue's thread; since the durable requests, the route
commits one request row before the 202 for every address alike (the same work). The baseline, measured in the same run by
the same client over the same keep-alive connection, is the unknown address: requests alternate
known / unknown, and the script prints the median and p90 of each and the ratio of the medians
known / unknown (about 1.0 when the answer does not depend on the address). Run it against an
older streamd binary to see the difference the queue makes.

The same question for sign-in: POST /v1/auth/login with a wrong password for a known account
against an unknown e-mail (both answer 401 "invalid e-mail or password"; the unknown path runs
a dummy Argon2id verification so that it costs the same), alternating, printed the same way
(BENCH login ratio; about 1.0 when sign-in does not tell accounts apart).

Usage: run.py STREAMD
Environment (optional): BENCH_PWRESET_REQUESTS requests per kind (default 150; each known
account takes 3, the per-e-mail burst), BENCH_LOGIN_REQUESTS sign-ins per kind (default 30: each
is one Argon2id verification), BENCH_SERVER_THREADS streamd --threads (default: online
CPUs). Standard library only. A benchmark, not a test: no thresholds.
"""
import http.client
import json
import os
import platform
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PASSWORD = "correct horse 42"


def pct(sorted_ms, p):
    """Nearest-rank percentile of a sorted list."""
    k = max(0, min(len(sorted_ms) - 1, int(round(p / 100.0 * len(sorted_ms) + 0.5)) - 1))
    return sorted_ms[k]


def start(binary, tmp, threads):
    cmd = [binary, "--port", "0", "--listen-address", "127.0.0.1", "--data-dir",
           os.path.join(tmp, "data"), "--threads", str(threads), "--log-level", "warn",
           "--access-log", os.devnull, "--trust-forwarded-for", "--login-address-burst", "0", "--login-account-burst", "0",
           "--reset-url-base", "https://app.example/reset?token="]
    err = open(os.path.join(tmp, "stderr.log"), "wb")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
    r, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline() if r else b""
    if not line:
        proc.kill()
        sys.exit("bench-pwreset: streamd did not start: " +
                 open(os.path.join(tmp, "stderr.log")).read()[-2000:])
    return proc, json.loads(line)["port"]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: run.py STREAMD")
    binary = sys.argv[1]
    n = int(os.environ.get("BENCH_PWRESET_REQUESTS", "150"))
    threads = int(os.environ.get("BENCH_SERVER_THREADS", os.cpu_count() or 2))
    tmp = tempfile.mkdtemp(prefix="bench-pwreset-")
    proc, port = start(binary, tmp, threads)
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        def post(path, body, client=None):
            h = {"Content-Type": "application/json"}
            if client:
                h["X-Forwarded-For"] = client
            t0 = time.perf_counter()
            c.request("POST", path, body=json.dumps(body).encode(), headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, data, (time.perf_counter() - t0) * 1000.0

        tag = "%d.%d" % (os.getpid(), int(time.time()))
        accounts = []
        for i in range((n + 2) // 3):
            email = "known%d.%s@example.test" % (i, tag)
            st, b, _ = post("/v1/auth/register", {"email": email, "password": PASSWORD})
            assert st == 201, b
            accounts.append(email)
        known, unknown = [], []
        for i in range(n):
            # 10 requests per client address in a burst: a new address every 5 pairs.
            client = "10.%d.%d.%d" % (i // 5 // 65536 % 256, i // 5 // 256 % 256, i // 5 % 256)
            st, b, ms = post("/v1/auth/password-reset", {"email": accounts[i // 3]}, client)
            assert st == 202, b
            known.append(ms)
            st, b2, ms = post("/v1/auth/password-reset",
                              {"email": "nobody%d.%s@example.test" % (i, tag)}, client)
            assert st == 202 and b2 == b, b2
            unknown.append(ms)
        login_known, login_unknown = [], []
        for i in range(int(os.environ.get("BENCH_LOGIN_REQUESTS", "30"))):
            st, b, ms = post("/v1/auth/login", {"email": accounts[i % len(accounts)],
                                                "password": "wrong " + PASSWORD})
            assert st == 401, b
            login_known.append(ms)
            st, b2, ms = post("/v1/auth/login", {"email": "nobody%d.%s@example.test" % (i, tag),
                                                 "password": "wrong " + PASSWORD})
            assert st == 401 and json.loads(b2)["detail"] == json.loads(b)["detail"], b2
            login_unknown.append(ms)
    finally:
        proc.terminate()
        proc.wait(60)
        outbox = os.path.join(tmp, "data", "outbox")
        mails = len(os.listdir(outbox)) if os.path.isdir(outbox) else 0
        shutil.rmtree(tmp, ignore_errors=True)

    known.sort()
    unknown.sort()
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    print("bench-pwreset: %s, %s, %d CPUs, streamd --threads %d, %d requests per kind, "
          "sequential over one keep-alive connection; %d mails written"
          % (version or binary, platform.platform(), os.cpu_count() or 0, threads, n, mails))
    print("%-10s %10s %10s %10s" % ("address", "median ms", "p90 ms", "max ms"))
    for name, v in (("known", known), ("unknown", unknown)):
        print("%-10s %10.3f %10.3f %10.3f" % (name, statistics.median(v), pct(v, 90), v[-1]))
    print("BENCH pwreset known/unknown median ratio %.2f"
          % (statistics.median(known) / statistics.median(unknown)))
    if login_known:
        login_known.sort()
        login_unknown.sort()
        print("%-10s %10s %10s %10s" % ("sign-in", "median ms", "p90 ms", "max ms"))
        for name, v in (("known", login_known), ("unknown", login_unknown)):
            print("%-10s %10.3f %10.3f %10.3f" % (name, statistics.median(v), pct(v, 90), v[-1]))
        print("BENCH login wrong-password/unknown-email median ratio %.2f"
              % (statistics.median(login_known) / statistics.median(login_unknown)))


if __name__ == "__main__":
    main()
