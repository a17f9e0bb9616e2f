#!/usr/bin/python3
"""Scale-out: two streamd processes on one PostgreSQL database and one data directory.

Run by tests/pg/pg_run.sh (a throwaway PostgreSQL server; STREAM_TEST_PG names its database).
Daemon A has no transcode worker, daemon B has one; both get `--store-url`. What one daemon
writes, the other serves, and the limits hold across them:
1. an account registered on A signs in on B, and B accepts A's access token (shared key);
2. a title created through A's admin API is served by B; a resume position saved on A shows in
   B's Continue watching;
3. an event batch accepted by A is all duplicates on B (dedup in the shared log);
4. a one-screen plan: a lease taken through A makes B refuse a second device (409);
5. the five-profile limit holds under 16 concurrent creates split across A and B;
6. a tus upload to A is transcoded by B's worker, and A lists the ready asset;
7. streamctl, given the same URI as --db, reads what the daemons wrote (and its catalog import
   lands there);
8. wrong-password sign-ins alternating A and B are refused (429) after the configured burst in
   total, not once per daemon: the buckets are in the database (rate_in_store), named by
   HMAC-SHA256 with the shared <data_dir>/keys/rate.key, not by the plain digest of the e-mail.

9. two daemons started at the same moment on one new data directory both start and share their
   keys (each key file is published whole, the first one wins; before, the second daemon could
   find the data or keys directory or a key file half made and stop). A race: each round may or
   may not overlap the two starts, so the test repeats it; against the daemon before the fix,
   3 runs of 3 failed within 6 rounds (each on another of those three).

Usage: test_scaleout_pg.py STREAMD_BIN STREAMCTL_BIN. Exits 77 (skipped) without STREAM_TEST_PG or ffmpeg.
"""
import base64
import concurrent.futures
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from streamd_harness import Streamd, profile_token, register_login, unique_email

OP_TOKEN = "scaleout-operator-token-0123456789abcdef"
OK_CARD = "tok_4242424242424242"
ACCOUNT_BURST = 4  # --login-account-burst of both daemons


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def catalog():
    return {"titles": [{"id": "so-movie-%d" % i, "kind": "movie", "name": "Scale Movie %d" % i,
                        "synopsis": "Served by two daemons.", "year": 2020, "runtime_minutes": 90,
                        "maturity_rating": 0, "genres": ["Drama"]} for i in range(2)]}


def make_video(path):
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=48000", "-t", "2", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
                    path], check=True)


def accounts_and_content(a, b):
    email = unique_email("scale", "scaleout.test")
    tok_a = register_login(a, email, "correct horse 42")["access_token"]
    r = b.request("POST", "/v1/auth/login",
                  json_body={"email": email, "password": "correct horse 42"})
    check(r.status == 200, ("login on B", r.status, r.body))
    r = b.request("GET", "/v1/account", token=tok_a)
    check(r.status == 200 and r.json["email"] == email, ("A's token on B", r.status, r.body))
    print("ok - an account registered on A signs in on B; B accepts A's token")

    body = {"id": "so-new", "kind": "movie", "name": "Made on A", "year": 2021,
            "runtime_minutes": 80, "maturity_rating": 0, "genres": ["Comedy"]}
    r = a.request("POST", "/v1/admin/titles", json_body=body, token=OP_TOKEN)
    check(r.status == 201, ("create title on A", r.status, r.body))
    pid, sw = profile_token(a, tok_a, "Main")
    prof = sw["access_token"]
    r = b.request("GET", "/v1/titles/so-new", token=prof)
    check(r.status == 200 and r.json["name"] == "Made on A", ("title on B", r.status, r.body))
    r = a.request("PUT", "/v1/progress", token=prof,
                  json_body={"title_id": "so-new", "position_s": 600, "duration_s": 4800})
    check(r.status == 204, ("progress on A", r.status, r.body))
    r = b.request("GET", "/v1/continue-watching", token=prof)
    check(r.status == 200 and [i["title"]["id"] for i in r.json["items"]] == ["so-new"],
          ("continue watching on B", r.status, r.body))
    print("ok - a title made on A and a position saved on A are served by B")
    return email, tok_a, prof


def signin_limit_shared(a, b, url, data_dir):
    """Wrong passwords for one account, alternating A and B: ACCOUNT_BURST of them in total
    answer 401, then both daemons answer 429 (problem+json, Retry-After), the right password
    too. With per-daemon buckets it would be 2 x ACCOUNT_BURST."""
    email = unique_email("guess", "scaleout.test")
    register_login(a, email, "correct horse 42")  # a success: the account's bucket is full
    statuses = []
    for i in range(2 * ACCOUNT_BURST):
        d = a if i % 2 == 0 else b
        r = d.request("POST", "/v1/auth/login",
                      json_body={"email": email, "password": "wrong guess %d" % i})
        statuses.append(r.status)
    check(statuses == [401] * ACCOUNT_BURST + [429] * ACCOUNT_BURST,
          ("the burst holds across A and B", statuses))
    for d in (a, b):
        r = d.request("POST", "/v1/auth/login",
                      json_body={"email": email, "password": "correct horse 42"})
        check(r.status == 429 and r.ctype == "application/problem+json" and
              r.json["status"] == 429 and int(r.header("Retry-After")) >= 1,
              ("429 on the right password", r.status, r.headers, r.body))
    # The account's bucket is named by HMAC-SHA256(rate.key, "e:" + e-mail): a reader of the
    # table cannot find the e-mail again by hashing guesses without the key.
    key_path = os.path.join(data_dir, "keys", "rate.key")
    check(os.stat(key_path).st_mode & 0o077 == 0, ("rate.key is private", oct(os.stat(key_path).st_mode)))
    with open(key_path) as f:
        text = f.read().strip()
    key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    name = ("e:" + email).encode()
    keyed = hmac.new(key, name, hashlib.sha256).hexdigest()
    plain = hashlib.sha256(name).hexdigest()
    rows = subprocess.run(["psql", url, "-tA", "-c", "SELECT key FROM rate_buckets WHERE scope = "
                           "'signin-account'"], capture_output=True, text=True, check=True)
    keys = rows.stdout.split()
    check(len(key) == 32 and keyed in keys and plain not in keys, ("keyed bucket names", keys))
    r = b.request("POST", "/v1/admin/purge", token=OP_TOKEN)
    check(r.status == 200 and "rate_buckets" in r.json, ("purge", r.status, r.body))
    print("ok - %d wrong passwords alternating A and B, then 429 on both: one burst in total, "
          "in a bucket named by HMAC with rate.key" % ACCOUNT_BURST)


def busy_store_is_503(a, url):
    """While another session holds the writers' lock, a right password on A passes the
    limiter (its buckets take no writers' lock), then waits for the lock to store the new
    session's refresh token and gives up at the store's 5 s lock timeout: that is the
    database being busy, 503, not "too many attempts" (429)."""
    email = unique_email("busy", "scaleout.test")
    register_login(a, email, "correct horse 43")
    # pg_locks is the whole server's: other tests' databases take the same lock (their
    # stores' writers), so only this database's holder counts, and only it is ended below.
    this_db = "database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    holder = subprocess.Popen(
        ["psql", url, "-q", "-c", "SELECT pg_advisory_lock(1398035021, 1)", "-c",
         "SELECT pg_sleep(60)"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        q = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
             "AND classid = 1398035021 AND objid = 1 AND " + this_db)
        for _ in range(200):
            out = subprocess.run(["psql", url, "-tA", "-c", q], capture_output=True, text=True)
            if out.stdout.strip() == "1":
                break
            time.sleep(0.05)
        else:
            check(False, "the other session never got the writers' lock")
        r = a.request("POST", "/v1/auth/login",
                      json_body={"email": email, "password": "correct horse 43"}, timeout=30)
        check(r.status == 503 and r.ctype == "application/problem+json" and
              r.json["status"] == 503, ("a busy store is 503", r.status, r.body))
    finally:
        # The server keeps the session (and its lock) through pg_sleep after the client goes:
        # end it there, then wait for the lock to be free.
        subprocess.run(["psql", url, "-q", "-c", "SELECT pg_terminate_backend(pid) FROM pg_locks "
                        "WHERE locktype = 'advisory' AND classid = 1398035021 AND objid = 1 "
                        "AND granted AND " + this_db], capture_output=True)
        holder.kill()
        holder.wait()
        for _ in range(200):
            out = subprocess.run(["psql", url, "-tA", "-c", q], capture_output=True, text=True)
            if out.stdout.strip() == "0":
                break
            time.sleep(0.05)
    print("ok - a sign-in while the store's writers' lock is held elsewhere: 503, not 429")


def events_dedup(a, b, prof):
    evs = [{"id": "%08x-0000-4000-8000-%012x" % (0x5ca1e, i), "viewId": "view-scale",
            "type": "heartbeat", "clientTs": 1700000000000 + i, "titleId": "so-new"}
           for i in range(5)]
    body = json.dumps({"events": evs})
    r = a.request("POST", "/v1/events", body=body, ctype="application/json", token=prof)
    check(r.status == 200 and r.json == {"accepted": 5, "duplicates": 0}, ("A", r.status, r.body))
    r = b.request("POST", "/v1/events", body=body, ctype="application/json", token=prof)
    check(r.status == 200 and r.json == {"accepted": 0, "duplicates": 5}, ("B", r.status, r.body))
    print("ok - a batch accepted by A is all duplicates on B")


def screens(a, b, tok_a, prof):
    plan = {"name": "Solo", "amount": 500, "currency": "USD", "period_months": 1, "trial_days": 0,
            "screens": 1, "max_height": 720}
    r = a.request("PUT", "/v1/admin/billing/plans/so-solo", json_body=plan, token=OP_TOKEN)
    check(r.status in (200, 201), ("plan", r.status, r.body))
    r = b.request("POST", "/v1/billing/payment-methods", json_body={"token": OK_CARD},
                  token=tok_a, key="so-card-1")
    check(r.status == 201, ("card on B", r.status, r.body))
    r = a.request("POST", "/v1/billing/subscription", json_body={"plan_id": "so-solo"},
                  token=tok_a, key="so-sub-1")
    check(r.status == 201, ("subscribe on A", r.status, r.body))
    r = a.request("POST", "/v1/billing/leases", json_body={"title_id": "so-new",
                                                            "device_id": "tv-1"}, token=prof)
    check(r.status == 201, ("lease on A", r.status, r.body))
    r = b.request("POST", "/v1/billing/leases", json_body={"title_id": "so-movie-0",
                                                            "device_id": "phone-1"}, token=prof)
    check(r.status == 409 and r.json["devices_in_use"][0]["device_id"] == "tv-1",
          ("second screen on B", r.status, r.body))
    r = b.request("GET", "/v1/admin/billing/books", token=OP_TOKEN)
    check(r.status == 200 and r.json["ok"] is True, ("books", r.status, r.body))
    print("ok - a one-screen plan: A's lease makes B refuse a second device")


def profile_limit(a, b):
    """Rounds of 16 concurrent creates for one new account each, half through A, half
    through B (each create is a count then an insert: only the shared write lock keeps
    two daemons from both seeing 4)."""
    rounds = 6
    for n in range(rounds):
        email = unique_email("limit", "scaleout.test")
        tok = register_login(a, email, "correct horse 42")["access_token"]

        def create(i):
            d = a if i % 2 else b
            return d.request("POST", "/v1/profiles", json_body={"name": "P%02d" % i}, token=tok)

        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            answers = list(ex.map(create, range(16)))
        codes = [r.status for r in answers]
        check(codes.count(201) == 5, ("round %d: five profiles at most" % n, codes))
        refused = [r for r in answers if r.status != 201]
        check(all(r.status == 400 and "already has 5 profiles" in r.json["detail"]
                  for r in refused), [(r.status, r.body) for r in refused])
        r = b.request("GET", "/v1/profiles", token=tok)
        check(r.status == 200 and len(r.json["profiles"]) == 5, (r.status, r.body))
    print("ok - %d rounds of 16 concurrent profile creates across A and B: exactly 5 each"
          % rounds)


def upload_transcoded_by_b(a, b, tmp):
    video = os.path.join(tmp, "in.mp4")
    make_video(video)
    data = open(video, "rb").read()
    meta = "title_id " + base64.b64encode(b"so-movie-1").decode()
    r = a.request("POST", "/v1/uploads", body=data, token=OP_TOKEN,
                  headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
                           "Upload-Metadata": meta,
                           "Content-Type": "application/offset+octet-stream"})
    check(r.status == 201 and r.json.get("job_id"), ("upload to A", r.status, r.body))
    job_id = r.json["job_id"]
    deadline = time.time() + 180
    while True:
        r = a.request("GET", "/v1/admin/jobs/" + job_id, token=OP_TOKEN)
        check(r.status == 200, (r.status, r.body))
        if r.json["status"] == "succeeded":
            break
        check(r.json["status"] not in ("failed", "canceled"), r.body)
        check(time.time() < deadline, ("job never finished", r.body))
        time.sleep(0.2)
    asset_id = r.json["result"]["asset_id"]
    r = a.request("GET", "/v1/admin/assets?title_id=so-movie-1", token=OP_TOKEN)
    check(r.status == 200 and any(x["id"] == asset_id and x["status"] == "ready"
                                  for x in r.json["assets"]), (r.status, r.body))


def streamctl_reads(streamctl, url):
    out = subprocess.run([streamctl, "billing", "plans", "--db", url, "--json"],
                         capture_output=True, text=True, check=True).stdout
    plans = {p["id"]: p for p in json.loads(out)}
    check("so-solo" in plans and plans["so-solo"]["screens"] == 1, out[:500])
    print("ok - streamctl --db <the same URI> lists the plan made through A")
    # The catalog verb takes the URI too: an import lands in PostgreSQL.
    doc = json.dumps({"titles": [{"id": "so-ctl-1", "kind": "movie", "name": "Ctl Noir",
                                  "maturity_rating": 0, "genres": ["noir"]}]})
    r = subprocess.run([streamctl, "catalog", "import", "-", "--db", url], input=doc,
                       capture_output=True, text=True)
    check(r.returncode == 0 and "1 created" in r.stdout, (r.returncode, r.stdout, r.stderr))
    row = subprocess.run(["psql", url, "-tAq", "-c", "SELECT name FROM titles WHERE id = 'so-ctl-1'"],
                         capture_output=True, text=True, check=True).stdout.strip()
    check(row == "Ctl Noir", row)
    out = subprocess.run([streamctl, "catalog", "list", "--genre", "NOIR", "--db", url],
                         capture_output=True, text=True, check=True).stdout
    check("so-ctl-1" in out, out[:500])
    print("ok - streamctl catalog --db <the same URI> imports into PostgreSQL and lists it")


def start_together(streamd, url, tmp, rounds=10):
    """Two streamd started at once on a fresh data directory (the keys directory and every key
    file made by whichever comes first): both start, no temporary file is left, and A's access
    token works on B (one access.key)."""
    import threading
    common = ["--store-url", url, "--transcode-workers", "0", "--log-level", "warn"]
    for n in range(rounds):
        base = os.path.join(tmp, "together-%d" % n)
        data_dir = os.path.join(base, "data")
        started, errors = [None, None], []

        def start(i):
            d = os.path.join(base, "ab"[i])
            os.makedirs(d)
            try:
                started[i] = Streamd(streamd, common, tmp=d, data_dir=data_dir,
                                     operator_token=OP_TOKEN, access_log=False)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append("daemon %s: %s" % ("AB"[i], e))

        threads = [threading.Thread(target=start, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        try:
            check(not errors, ("round %d: both daemons start" % n, errors))
            keys = sorted(os.listdir(os.path.join(data_dir, "keys")))
            check(not [k for k in keys if k.endswith(".tmp")], ("no temporary key file", keys))
            if n == rounds - 1:
                a, b = started
                tok = register_login(a, unique_email("together", "scaleout.test"),
                                     "correct horse 44")["access_token"]
                r = b.request("GET", "/v1/profiles", token=tok)
                check(r.status == 200, ("A's token on B", r.status, r.body))
        finally:
            for d in started:
                if d:
                    d.stop()
    print("ok - %d rounds of two daemons started at once on a new data directory: both start, "
          "one set of keys" % rounds)


def main():
    streamd, streamctl = sys.argv[1], sys.argv[2]
    url = os.environ.get("STREAM_TEST_PG")
    if not url:
        print("skip: STREAM_TEST_PG is not set (run through tests/pg/pg_run.sh)")
        return 77
    if not shutil.which("ffmpeg") or not shutil.which("psql"):
        print("skip: ffmpeg or psql not found")
        return 77
    # A database of its own on the (possibly shared) server: postgresql:///DB?host=...
    name = "scaleout_%d" % os.getpid()
    subprocess.run(["psql", url, "-q", "-c", "CREATE DATABASE " + name], check=True)
    url = "postgresql:///%s?%s" % (name, url.split("?", 1)[1])
    tmp = tempfile.mkdtemp(prefix="streamd-scaleout-")
    data_dir = os.path.join(tmp, "data")
    common = ["--store-url", url, "--login-address-burst", "0", "--login-account-burst",
              str(ACCOUNT_BURST), "--job-lease", "5"]
    for name in ("a", "b"):
        os.makedirs(os.path.join(tmp, name))
    # A has no transcode worker: a job that succeeds was run by B.
    a = Streamd(streamd, common + ["--transcode-workers", "0"], tmp=os.path.join(tmp, "a"),
                data_dir=data_dir, log_level="info", operator_token=OP_TOKEN, catalog=catalog())
    b = Streamd(streamd, common + ["--transcode-workers", "1"], tmp=os.path.join(tmp, "b"),
                data_dir=data_dir, log_level="info", operator_token=OP_TOKEN)
    ok = False
    try:
        email, tok_a, prof = accounts_and_content(a, b)
        signin_limit_shared(a, b, url, data_dir)
        busy_store_is_503(a, url)
        events_dedup(a, b, prof)
        screens(a, b, tok_a, prof)
        profile_limit(a, b)
        upload_transcoded_by_b(a, b, tmp)
        print("ok - a tus upload to A was transcoded by B's worker; A lists the ready asset")
        streamctl_reads(streamctl, url)
        start_together(streamd, url, tmp)
        for d in (a, b):
            check(d.request("GET", "/healthz").status == 200, "healthz")
        ok = True
    except BaseException:
        for name, d in (("A", a), ("B", b)):
            sys.stderr.write("streamd %s log:\n%s\n" % (name, d.stderr_text(4000)))
        raise
    finally:
        a.stop()
        b.stop()
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
