"""Argument sweep: every exported C function refuses NULL and out-of-range
arguments with a status and a message, and never crashes.

The functions are not listed by hand: they are every ``stream_*`` function of
the cffi module, whose cdef build_ffi.py generates from the public headers, so
a new function is swept as soon as it is exported. Their parameter names and
doc comments come from include/stream/*.h (parsed here), their types from
``ffi.typeof``.

For each function the sweep makes one call per bad argument, all other
arguments "plausible": real handles (key ring, SQLite store in a temp dir,
auth, catalog, billing, jobs, uploads, events, delivery, recs, a client and an
emitter aimed at a closed loopback port), zeroed memory for outputs, option
structs from their STREAM_*_INIT, "x" for strings, small sizes. The bad
arguments are: NULL for each pointer in turn; "" for each string; -1, 0, the
minimum and the maximum of each integer type (0, a 2 MiB + 1 length and
SIZE_MAX for sizes); -1, NaN and infinity for doubles.

Verdicts, per call:
- no crash, abort, sanitizer report or hang (each call runs in a child
  process, see below, and is reported by name when it dies);
- a status function returns 0 or a known STREAM_E* code; on an error,
  stream_error_last() holds that code and a non-empty message;
- with NULL for a parameter, a status function fails, unless its doc comment
  says that parameter may be NULL (a sentence naming it with "NULL" before the
  "Errors" part) or ALLOW_NULL lists it with a reason. Functions returning void
  or a value (not a status) must simply not crash; a returned string must be
  readable.

Calls run in a child process (this file with --worker) that reports each call
before making it on a pipe; when the child dies or stops answering, the parent
records the call it was in and starts a new child at the next call. Under an
ASan/UBSan build (meson preloads the runtimes, halt_on_error) every sanitizer
report therefore becomes a failure naming the function and the argument.

Leaks: under ASan the child runs with detect_leaks=1 and frees its handles
before exiting; LeakSanitizer blocks with a libstream frame are failures
(CPython's own allocations at exit are not ours).

Run by hand: PYTHONPATH=<builddir>/bindings/python /usr/bin/python3 -m pytest \
bindings/python/tests/test_null_sweep.py; add -s to see the summary. Under an
ASan build (CI's test-asan leaves the python suite out), either
`meson test -C <asan builddir> python` (meson preloads the runtimes) or by hand:
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
ASAN_OPTIONS=halt_on_error=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1
with PYTHONPATH=<asan builddir>/bindings/python. STREAM_SWEEP_LOG=<file> makes
the child append every status call's arguments, status and message there.
"""
import json
import math
import os
import re
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
INCLUDE = HERE.parents[3] / "include"

# Seconds one call may take before it counts as hung (ASan builds are slow;
# the slowest legitimate calls hash a password with the default Argon2id cost).
CALL_TIMEOUT = 30.0

# A length big enough to pass every documented size limit of 1 MiB (and still
# allocatable for the buffers it describes).
BIG = 2 * 1024 * 1024 + 1

# size_t parameters that give the length of a buffer passed next to them:
# SIZE_MAX would lie about the buffer (a caller bug, not one of ours), so they
# only get 0 and BIG (with buffers of that size).
BUFFER_LENGTHS = {"len", "out_len", "text_len", "pwd_len", "salt_len", "secret_len", "ad_len",
                  "header_len", "payload_len", "dst_cap", "cap", "out_size"}

# Parameters that may be NULL although the doc comment does not say so in a
# way the parser below recognises, each with the reason.
ALLOW_NULL = {
    ("stream_client_set_tokens", "access_token"):
        "doc: 'Either may be NULL (a NULL access token with a refresh token ...)'",
    ("stream_client_set_tokens", "refresh_token"):
        "doc: 'Either may be NULL ... both NULL forget the session'",
    ("stream_client_get_tokens", "out_access"): "doc: 'Either out pointer may be NULL'",
    ("stream_client_get_tokens", "out_refresh"): "doc: 'Either out pointer may be NULL'",
    ("stream_catalog_search", "viewer"):
        "doc: 'filters as there' (stream_catalog_browse: viewer NULL = operator)",
    ("stream_emitter_set_token", "access_token"): "doc: 'NULL or \"\" clears it'",
    ("stream_events_qoe_stats", "title_id"): "doc: 'title, UTC day and device ...; NULL or \"\"'",
    ("stream_events_qoe_stats", "day"): "doc: 'title, UTC day and device ...; NULL or \"\"'",
    ("stream_events_qoe_stats", "device_id"): "doc: 'title, UTC day and device ...; NULL or \"\"'",
    ("stream_upload_metadata_parse", "header"): "doc: 'NULL or \"\" gives \"{}\"'",
}

# Plausible values of integer parameters, by name (default 1).
PLAUSIBLE_INT = {
    "now": 1700000000, "ts": 1700000000, "cutoff": 1700000000, "expires": 2000000000,
    "after_seq": 0, "from_seq": 0, "to_seq": 0, "limit": 10, "per_row": 5, "max_height": 720,
    "flags": 0, "value": 1, "role": 0, "retry": 1, "number": 1, "position_s": 10,
    "duration_s": 100, "approve": 1, "timeout_ms": 10, "complete": 1, "min_level": 100,
    "format": 1, "rating": 7, "status": 1, "max_attempts": 0, "include_inactive": 0,
    "disabled": 0, "hmac_len": 32, "offset": 0, "length": 10, "code": 0, "reason": 0,
    "type": 1, "len": 4, "out_len": 16, "text_len": 1, "pwd_len": 4, "salt_len": 8,
    "secret_len": 0, "ad_len": 0, "header_len": 1, "payload_len": 4, "dst_cap": 4096,
    "cap": 4096, "out_size": 4096, "count": 0, "n": 1, "k": 5, "min_history": 1, "gzip": 0,
    "new_interval": 5, "pending_grace": 0, "amount": 100, "method": 1, "form": 1,
    "progress": 0.5, "fraction": 0.5, "r": 1.0,
}


# ---- header parsing ---------------------------------------------------------

def parse_headers(incdir=INCLUDE):
    """{name: {"ret", "params": [(name, decl)], "doc"}} for every STREAM_API function."""
    funcs = {}
    for h in sorted((Path(incdir) / "stream").glob("*.h")):
        text = h.read_text()
        for m in re.finditer(r"STREAM_API\s+([^;{]*?)\b(stream_\w+)\s*\(([^)]*)\)\s*;", text):
            before = text[:m.start()].rstrip()
            doc = before[before.rfind("/**"):] if before.endswith("*/") else ""
            params = []
            for p in (x.strip() for x in m.group(3).split(",")):
                if p and p != "void":
                    params.append((re.search(r"(\w+)\s*(\[\d*\])?$", p).group(1), p))
            funcs[m.group(2)] = {"ret": m.group(1).strip(), "params": params, "doc": doc}
    return funcs


def doc_text(doc):
    return " ".join(re.sub(r"^\s*(/\*\*|\*/|\*)", "", line).strip() for line in doc.splitlines())


def optional_params(name, info):
    """Parameters the doc comment allows to be NULL."""
    text = doc_text(info["doc"])
    head = re.split(r"\bErrors?\b", text)[0]  # "Errors: STREAM_EINVAL (NULL out)" is no licence
    names = [p for p, _ in info["params"]]
    opt = set()
    if re.search(r"NULL is a no-op", text):
        opt.update(names)
    if re.search(r"(Any|Either) out[- ]pointer may be NULL", text):
        opt.update(p for p in names if p.startswith("out"))
    for p in names:  # "`payload` (an object or any JSON value; NULL = ...)"
        if re.search(r"`\*?%s`\s*\([^)]*\bNULL\b" % re.escape(p), head):
            opt.add(p)
    for sentence in re.split(r"(?<=[.;])\s+", head):
        if "NULL" not in sentence:
            continue
        for p in names:
            if re.search(r"(?<![\w])\*?%s\b" % re.escape(p), sentence):
                opt.add(p)
    opt.update(p for (f, p) in ALLOW_NULL if f == name)
    return opt


def is_status_function(info):
    """An int function returning a stream_status (not a count, flag or state)."""
    if info["ret"] != "int":
        return False
    text = doc_text(info["doc"])
    return bool(re.search(r"Errors?\b|STREAM_E[A-Z]+|STREAM_OK", text))


# ---- the child: makes the calls ----------------------------------------------

class Worker:
    def __init__(self, tmp, out):
        from libstream._ffi import ffi, lib
        self.ffi, self.lib, self.tmp, self.out = ffi, lib, tmp, out
        self.keep = []
        self.headers = parse_headers()
        self.status_codes = {v for k, v in ffi.typeof("stream_status").relements.items()}
        self.handles = {}
        self.setup()

    # -- small helpers
    def s(self, text):
        p = self.ffi.new("char[]", text.encode())
        self.keep.append(p)
        return p

    def has(self, fn):
        return hasattr(self.lib, fn)

    def init(self, tname):
        """A new stream_<x> struct set to STREAM_<X>_INIT when there is one."""
        p = self.ffi.new(tname + " *")
        helper = "stream_py_init_" + tname[len("stream_"):]
        if hasattr(self.lib, helper):
            getattr(self.lib, helper)(p)
        self.fill(tname, p)
        return p

    def fill(self, tname, p):
        """Make an options struct plausible: real handles and required strings."""
        ffi = self.ffi
        ct = ffi.typeof(tname)
        if ct.kind != "struct" or not ct.fields:
            return
        for fname, field in ct.fields:
            ft = field.type
            if ft.kind == "pointer" and ft.item.kind == "struct" and ft.item.fields is None:
                h = self.handles.get(ft.item.cname.replace("struct ", ""))
                if h is not None:
                    setattr(p, fname, h)
        extra = {
            "stream_store_options": {"path": self.s(os.path.join(self.tmp, "opts.db")), "sync": 1},
            "stream_auth_options": {"verification_uri": self.s("http://127.0.0.1/activate"),
                                    "password": self.cheap_params},
            "stream_client_options": {"base_url": self.s(self.dead_url), "connect_timeout_ms": 500,
                                      "timeout_ms": 1000},
            "stream_emitter_options": {"base_url": self.s(self.dead_url), "shutdown_ms": 10,
                                       "timeout_ms": 500},
            "stream_delivery_options": {"base_url": self.s("https://media.example.com"),
                                        "media_root": self.s(os.path.join(self.tmp, "media"))},
            "stream_upload_options": {"dir": self.s(os.path.join(self.tmp, "uploads"))},
            "stream_billing_options": {"provider": self.provider},
            "stream_media_job_options": {"input": self.s("x"), "outdir": self.s("mediaout")},
            "stream_events_export_options": {"dir": self.s(os.path.join(self.tmp, "exports"))},
            "stream_native_sign_options": {"expires": 2000000000},
            "stream_delivery_request": {"method": self.s("GET"),
                                        "path": self.s("/v1/media/x/h0/master.m3u8")},
            "stream_google_request": {"url": self.s("https://cdn.example.com/x")},
            "stream_auth_profile_input": {"name": self.s("x")},
            "stream_client_profile_spec": {"name": self.s("x")},
            "stream_catalog_viewer": {"profile_id": self.s("x")},
            "stream_recs_options": {"factors": 4, "iterations": 2, "threads": 1, "neighbours": 2},
        }.get(tname, {})
        for k, v in extra.items():
            if v is not None:
                setattr(p, k, v)

    def make(self, name, fn):
        try:
            h = fn()
        except Exception as exc:  # reported: the test asserts the core handles exist
            sys.stderr.write("sweep: no %s handle: %s\n" % (name, exc))
            h = None
        if h is not None:
            self.handles[name] = h
        return h

    def check(self, rc, what):
        if rc != 0:
            e = self.lib.stream_error_last()
            msg = self.ffi.string(e.message).decode() if e != self.ffi.NULL else ""
            raise RuntimeError("%s: %d %s" % (what, rc, msg))

    def new_handle(self, tname, ctor, *args):
        out = self.ffi.new(tname + " **")
        self.check(getattr(self.lib, ctor)(out, *args), ctor)
        return out[0]

    # -- the handles
    def setup(self):
        ffi, lib = self.ffi, self.lib
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.dead_url = "http://127.0.0.1:%d" % sock.getsockname()[1]
        sock.close()  # nothing listens there any more: connections are refused at once
        for d in ("media", "uploads", "exports"):
            os.makedirs(os.path.join(self.tmp, d), exist_ok=True)
        self.cheap_params = ffi.new("stream_password_params *")
        lib.stream_py_init_password_params(self.cheap_params)
        self.cheap_params.m_cost, self.cheap_params.t_cost = 64, 1
        self.provider = ffi.NULL

        def key_hmac():
            k = self.new_handle("stream_key", "stream_key_from_bytes", lib.STREAM_KEY_HMAC,
                                b"k1", b"0123456789abcdef0123456789abcdef", 32)
            return k

        def key_ed():
            return self.new_handle("stream_key", "stream_key_generate",
                                   lib.STREAM_KEY_ED25519_PRIVATE, b"ed", 0)

        kh = self.make("key_hmac", key_hmac)
        ke = self.make("key_ed", key_ed)
        self.handles["stream_key"] = kh

        def ring():
            r = self.new_handle("stream_keyring", "stream_keyring_new")
            self.check(lib.stream_keyring_add(r, kh), "keyring_add")
            self.check(lib.stream_keyring_add(r, ke), "keyring_add")
            return r

        self.make("stream_keyring", ring)

        def recs_data():
            d = self.new_handle("stream_recs_data", "stream_recs_data_new")
            for u, i in (("u1", "i1"), ("u1", "i2"), ("u2", "i2"), ("u2", "i3"), ("u3", "i1")):
                self.check(lib.stream_recs_data_add(d, u.encode(), i.encode(), 1.0, 1700000000),
                           "recs_data_add")
            return d

        if self.has("stream_recs_data_new"):
            d = self.make("stream_recs_data", recs_data)
            self.make("stream_recs_model", lambda: self.new_handle(
                "stream_recs_model", "stream_recs_train", d, self.init("stream_recs_options"),
                ffi.NULL, ffi.NULL))

        if self.has("stream_store_open"):
            def store():
                o = self.init("stream_store_options")
                o.path = self.s(os.path.join(self.tmp, "sweep.db"))
                return self.new_handle("stream_store", "stream_store_open", o)

            self.make("stream_store", store)

            @ffi.callback("stream_auth_mail_fn")
            def send_mail(userdata, to, subject, body):
                return 0

            self.keep.append(send_mail)

            def auth():
                o = self.init("stream_auth_options")
                o.send_mail = send_mail
                o.reset_url_base = self.s("http://127.0.0.1/reset?token=")
                return self.new_handle("stream_auth", "stream_auth_new", o)

            a = self.make("stream_auth", auth)

            def reset():
                self.check(lib.stream_auth_register(ffi.NULL, a, b"sweep@example.com",
                                                    b"password123"), "auth_register")
                out = ffi.new("stream_auth_reset **")
                self.check(lib.stream_auth_password_reset_prepare(
                    out, ffi.NULL, a, b"sweep@example.com", ffi.NULL), "reset_prepare")
                return out[0]

            if a is not None:
                self.make("stream_auth_reset", reset)
            self.make("stream_catalog", lambda: self.new_handle(
                "stream_catalog", "stream_catalog_new", self.init("stream_catalog_options")))
            loc = self.make("stream_billing_local", lambda: self.new_handle(
                "stream_billing_local", "stream_billing_local_new"))
            if loc is not None:
                self.provider = ffi.new("stream_billing_provider *")
                self.check(lib.stream_billing_local_provider(self.provider, loc), "provider")
            self.make("stream_billing", lambda: self.new_handle(
                "stream_billing", "stream_billing_new", self.init("stream_billing_options")))
            self.make("stream_jobs", lambda: self.new_handle(
                "stream_jobs", "stream_jobs_new", self.init("stream_jobs_options")))
            self.make("stream_uploads", lambda: self.new_handle(
                "stream_uploads", "stream_upload_new", self.init("stream_upload_options")))
            self.make("stream_events", lambda: self.new_handle(
                "stream_events", "stream_events_new", self.init("stream_events_options")))
            self.make("stream_delivery", lambda: self.new_handle(
                "stream_delivery", "stream_delivery_new", self.init("stream_delivery_options")))
            if self.has("stream_recs_new"):
                self.make("stream_recs", lambda: self.new_handle(
                    "stream_recs", "stream_recs_new", self.init("stream_recs_service_options")))
        if self.has("stream_client_new"):
            self.make("stream_client", lambda: self.new_handle(
                "stream_client", "stream_client_new", self.init("stream_client_options")))
            self.make("stream_emitter", lambda: self.new_handle(
                "stream_emitter", "stream_emitter_new", self.init("stream_emitter_options")))
        if self.has("stream_media_job_new"):
            self.make("stream_media_job", lambda: self.new_handle(
                "stream_media_job", "stream_media_job_new", self.init("stream_media_job_options")))
        self.out.write("H %s\n" % json.dumps(sorted(self.handles)))
        self.out.flush()

    def teardown(self):
        """Free the handles, users before what they use, so that a leak check sees only
        what the sweep's calls leaked."""
        lib, h = self.lib, self.handles
        order = [("stream_emitter", "stream_emitter_free"),
                 ("stream_client", "stream_client_free"),
                 ("stream_media_job", "stream_media_job_free"),
                 ("stream_recs", "stream_recs_free"),
                 ("stream_delivery", "stream_delivery_free"),
                 ("stream_events", "stream_events_free"),
                 ("stream_uploads", "stream_upload_free"),
                 ("stream_jobs", "stream_jobs_free"),
                 ("stream_billing", "stream_billing_free"),
                 ("stream_billing_local", "stream_billing_local_free"),
                 ("stream_catalog", "stream_catalog_free"),
                 ("stream_auth_reset", "stream_auth_reset_free"),
                 ("stream_auth", "stream_auth_free"),
                 ("stream_store", "stream_store_close"),
                 ("stream_recs_model", "stream_recs_model_free"),
                 ("stream_recs_data", "stream_recs_data_free"),
                 ("stream_keyring", "stream_keyring_free"),
                 ("key_ed", "stream_key_free"),
                 ("key_hmac", "stream_key_free")]
        for name, free in order:
            if name in h:
                getattr(lib, free)(h.pop(name))

    def fresh_writer(self):
        """A new upload writer: stream_upload_end() frees the one it is given."""
        ffi, lib = self.ffi, self.lib
        u = self.handles.get("stream_uploads")
        if u is None:
            return ffi.NULL
        info = ffi.new("stream_upload_info *")
        if lib.stream_upload_create(info, u, 10, ffi.NULL, ffi.NULL) != 0:
            return ffi.NULL
        w = ffi.new("stream_upload_writer **")
        rc = lib.stream_upload_begin(w, u, info.id, 0, ffi.NULL)
        lib.stream_upload_info_clear(info)
        return w[0] if rc == 0 else ffi.NULL

    # -- argument model
    def destructor(self, name, info):
        return info["ret"] == "void" and (re.search(r"_(free|clear|close|stop)$", name) or
                                          name in ("stream_free", "stream_free_secret"))

    def params(self, name):
        """[(pname, decl, ctype, role)] with role one of: handle, out, outptr, instr,
        inbuf, buffer, strarray, struct_in, scalar, fnptr, userdata."""
        info = self.headers[name]
        ct = self.ffi.typeof(getattr(self.lib, name))
        res = []
        for (pname, decl), t in zip(info["params"], ct.args):
            const = decl.startswith("const")
            if t.kind == "function" or (t.kind == "pointer" and t.item.kind == "function"):
                role = "fnptr"
            elif t.kind != "pointer":
                role = "scalar"
            elif t.item.kind == "struct" and t.item.fields is None:
                role = "handle"
            elif t.item.kind == "pointer":
                role = "strarray" if const else ("out" if pname.startswith("out") else "outptr")
            elif t.item.kind == "struct":
                role = "struct_in" if const else "out"
            elif t.item.cname == "char":
                role = "instr" if const else "buffer"
            elif t.item.cname == "void":
                role = "userdata" if "userdata" in pname else ("inbuf" if const else "buffer")
            elif t.item.cname == "unsigned char":
                role = "inbuf" if const else "buffer"
            else:
                role = "scalarptr_in" if const else "out"
            res.append((pname, decl, t, role))
        return res

    def plausible(self, name, pname, t, role, bufsize):
        ffi = self.ffi
        if role == "handle":
            tn = t.item.cname.replace("struct ", "")
            if (name, pname) == ("stream_upload_end", "w"):
                return self.fresh_writer()
            if tn == "stream_key" and name.startswith(("stream_mediacdn", "stream_key_public")):
                return self.handles.get("key_ed", ffi.NULL)
            return self.handles.get(tn, ffi.NULL)
        if role == "out":
            n = 1100 if t.item.kind == "struct" and ffi.sizeof(t.item) <= 512 else 64
            return ffi.new(t.item.cname + "[]", n) if t.item.kind == "struct" else ffi.new(t)
        if role == "outptr":
            return ffi.new(t)
        if role == "instr":
            if bufsize > 4096:  # a BIG length may describe this string: make it that long
                p = self.ffi.new("char[]", b"x" * (bufsize - 1))
                self.keep.append(p)
                return p
            return self.s("x")
        if role in ("inbuf", "buffer"):
            return ffi.new("unsigned char[]", bufsize)
        if role == "strarray":
            a = ffi.new("char *[]", [self.s("x")])
            self.keep.append(a)
            return a
        if role == "struct_in":
            return self.init(t.item.cname.replace("struct ", ""))
        if role == "scalarptr_in":
            return ffi.new(t.item.cname + " *", 1)  # e.g. a cancel flag already set
        if role in ("fnptr", "userdata"):
            return ffi.NULL
        # scalars
        v = PLAUSIBLE_INT.get(pname, 1)
        if t.kind == "primitive" and t.cname in ("double", "float"):
            return float(v)
        return int(v)

    def int_variants(self, pname, t):
        ffi = self.ffi
        if t.kind == "enum":  # cffi makes an enum without negative values unsigned
            if min(t.elements) < 0:
                return [-1, 0, -2**31, 2**31 - 1]
            return [0, 2**31 - 1, 2**32 - 1]
        c = t.cname
        if c in ("double", "float"):
            return [-1.0, float("nan"), float("inf")]
        size = ffi.sizeof(t)
        if c.startswith("unsigned") or c.startswith("uint") or c == "size_t":
            vals = [0, 2**(8 * size) - 1]
            if c == "size_t":
                vals = [0, BIG] + ([] if pname in BUFFER_LENGTHS else [2**(8 * size) - 1])
            return vals
        return [-1, 0, -2**(8 * size - 1), 2**(8 * size - 1) - 1]

    def calls(self):
        """Every call of the sweep, in a fixed order: (function, description, variant)."""
        names = sorted(n for n in dir(self.lib)
                       if n.startswith("stream_") and not n.startswith("stream_py_")
                       and callable(getattr(self.lib, n, None)))
        out = []
        for name in names:
            if name not in self.headers:
                out.append((name, "undocumented", None))
                continue
            ps = self.params(name)
            destructor = self.destructor(name, self.headers[name])
            for i, (pname, decl, t, role) in enumerate(ps):
                if role in ("fnptr", "userdata"):
                    continue  # NULL already is their plausible value
                if role != "scalar":
                    out.append((name, "%s=NULL" % pname, {i: "NULL"}))
                if role == "instr" and not destructor:
                    out.append((name, '%s=""' % pname, {i: ""}))
                if role == "scalar":
                    plaus = PLAUSIBLE_INT.get(pname, 1)
                    for v in self.int_variants(pname, t):
                        if v == plaus and not (isinstance(v, float) and math.isnan(v)):
                            continue
                        out.append((name, "%s=%r" % (pname, v), {i: v}))
        return out

    def build_args(self, name, variant):
        ffi = self.ffi
        ps = self.params(name)
        destructor = self.destructor(name, self.headers[name])
        sizes = [v for v in variant.values() if isinstance(v, int) and 0 < v <= BIG]
        bufsize = max([4096] + [v + 64 for v in sizes])
        args = []
        for i, (pname, decl, t, role) in enumerate(ps):
            if i in variant:
                v = variant[i]
                if v == "NULL":
                    args.append(ffi.NULL)
                elif v == "":
                    args.append(self.s(""))
                else:
                    args.append(v)
            elif destructor and role != "scalar":
                args.append(ffi.NULL)  # a destructor only ever gets NULL: nothing is freed
            else:
                args.append(self.plausible(name, pname, t, role, bufsize))
        return ps, args

    def cleanup(self, name, ps, args, rc):
        """Release what a successful call returned (memory, fds, handles)."""
        ffi, lib = self.ffi, self.lib
        if rc != 0:
            return
        for (pname, decl, t, role), a in zip(ps, args):
            if a == ffi.NULL:
                continue
            if role == "out" and t.item.kind == "pointer" and a[0] != ffi.NULL:
                item = t.item.item
                tn = item.cname.replace("struct ", "")
                lists = {"stream_job": "stream_job_list_free",
                         "stream_asset": "stream_asset_list_free",
                         "char *": "stream_store_strings_free"}
                count = [b for (q, _, _, _), b in zip(ps, args) if q == "out_count"]
                if tn in lists and count and hasattr(lib, lists[tn]):
                    getattr(lib, lists[tn])(a[0], count[0][0])
                elif item.kind == "struct" and item.fields is None:
                    free = {"stream_store": "stream_store_close",
                            "stream_uploads": "stream_upload_free",
                            "stream_jobs_pool": "stream_jobs_pool_stop"}.get(tn, tn + "_free")
                    if tn == "stream_upload_writer":
                        lib.stream_upload_end(ffi.NULL, a[0], 0)
                    elif hasattr(lib, free):
                        getattr(lib, free)(a[0])
                else:
                    lib.stream_free(a[0])
            elif role == "out" and t.item.kind == "struct":
                tn = t.item.cname.replace("struct ", "")
                clear = tn + "_clear"
                if tn == "stream_catalog_import_result":
                    clear = "stream_catalog_import_result_clear"
                if hasattr(lib, clear):
                    getattr(lib, clear)(a)

    def run_call(self, name, variant):
        """Make one call; return a failure text or None."""
        ffi, lib = self.ffi, self.lib
        info = self.headers[name]
        ps, args = self.build_args(name, variant)
        lib.stream_error_clear()
        ret = getattr(lib, name)(*args)
        if info["ret"] in ("const char *",) and ret != ffi.NULL:
            ffi.string(ret)  # a returned string must be readable
        if not is_status_function(info):
            return None
        rc = ret
        if os.environ.get("STREAM_SWEEP_LOG"):  # diagnostics: every call's status and message
            e = lib.stream_error_last()
            with open(os.environ["STREAM_SWEEP_LOG"], "a") as f:
                f.write("%s %s -> %d %s\n" % (name, {ps[i][0]: v for i, v in variant.items()}, rc,
                        ffi.string(e.message).decode("utf-8", "replace") if e != ffi.NULL else ""))
        problems = []
        if rc not in self.status_codes:
            problems.append("returned %r, not a stream_status" % rc)
        if rc < 0:
            e = lib.stream_error_last()
            if e == ffi.NULL:
                problems.append("returned %d without stream_error_last()" % rc)
            else:
                msg = ffi.string(e.message).decode("utf-8", "replace")
                if not msg:
                    problems.append("returned %d with an empty message" % rc)
                if e.code != rc:
                    problems.append("returned %d but stream_error_last() has code %d (%s)"
                                    % (rc, e.code, msg))
        nulls = [ps[i][0] for i, v in variant.items() if v == "NULL"]
        if rc == 0 and nulls:
            opt = optional_params(name, info)
            for p in nulls:
                if p not in opt:
                    problems.append("accepted NULL %s (STREAM_OK; the doc does not allow it)" % p)
        self.cleanup(name, ps, args, rc)
        return "; ".join(problems) or None


def worker_main(fd, tmp, start):
    out = os.fdopen(fd, "w")
    tmp = os.path.join(tmp, "w%d" % start)  # fresh store and files for each child
    os.makedirs(tmp)
    os.chdir(tmp)
    w = Worker(tmp, out)
    calls = w.calls()
    out.write("N %d\n" % len(calls))
    out.flush()
    for idx in range(start, len(calls)):
        name, desc, variant = calls[idx]
        out.write("B %d %s %s\n" % (idx, name, desc))
        out.flush()
        if variant is None:
            res = "exported but not declared with a doc comment in include/stream/*.h"
        else:
            try:
                res = w.run_call(name, variant)
            except Exception as exc:  # a Python-side problem (e.g. unreadable string)
                res = "python: %r" % (exc,)
        out.write("R %d %s\n" % (idx, json.dumps(res)))
        out.flush()
    out.write("E\n")
    out.flush()
    w.teardown()
    # A normal exit, so that LeakSanitizer runs when it is enabled (see leak_report()).
    sys.exit(0)


# ---- the parent: runs the children ---------------------------------------------

def leak_report(stderr):
    """The LeakSanitizer blocks of `stderr` that have a libstream frame."""
    blocks = re.split(r"\n(?=(?:Direct|Indirect) leak of)", stderr)
    return "\n".join(b.strip() for b in blocks if re.match(r"(Direct|Indirect) leak of", b)
                     and "libstream/" in b)


def run_sweep(tmp):
    """Run every call; return (calls, failures, handles, seconds)."""
    import libstream
    env = dict(os.environ)
    pkgdir = str(Path(libstream.__file__).resolve().parents[1])  # the child runs in tmp
    env["PYTHONPATH"] = os.pathsep.join([pkgdir] + [p for p in [env.get("PYTHONPATH")] if p])
    # Under ASan (meson preloads it and turns leak detection off for CPython's
    # sake), the child checks leaks at its exit; only leaks with a libstream
    # frame count (see leak_report()).
    asan = "libasan" in env.get("LD_PRELOAD", "")
    if asan:
        opts = [o for o in env.get("ASAN_OPTIONS", "").split(":") if o and
                not o.startswith("detect_leaks")]
        env["ASAN_OPTIONS"] = ":".join(opts + ["detect_leaks=1"])
    t0 = time.monotonic()
    failures = {}
    handles = None
    total = None
    start = 0
    descs = {}
    while True:
        rfd, wfd = os.pipe()
        errpath = os.path.join(tmp, "worker-%d.stderr" % start)
        with open(errpath, "w") as errf:
            proc = subprocess.Popen([sys.executable, str(HERE), "--worker", str(wfd), tmp,
                                     str(start)],
                                    cwd=tmp, stdin=subprocess.DEVNULL, stdout=errf, stderr=errf,
                                    pass_fds=(wfd,), env=env)
        os.close(wfd)
        buf = b""
        current = None
        done = killed = False
        last = time.monotonic()
        while True:
            r, _, _ = select.select([rfd], [], [], 1.0)
            if r:
                chunk = os.read(rfd, 65536)
                if not chunk:
                    break
                last = time.monotonic()
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    line = line.decode()
                    if line.startswith("H "):
                        handles = handles or json.loads(line[2:])
                    elif line.startswith("N "):
                        total = int(line[2:])
                    elif line.startswith("B "):
                        _, idx, rest = line.split(" ", 2)
                        current = int(idx)
                        descs[current] = rest
                    elif line.startswith("R "):
                        _, idx, res = line.split(" ", 2)
                        res = json.loads(res)
                        if res:
                            failures[descs[int(idx)]] = res
                        current = None
                    elif line == "E":
                        done = True
            elif time.monotonic() - last > CALL_TIMEOUT:
                proc.kill()
                killed = True
                break
        os.close(rfd)
        proc.wait()
        if done:
            if asan:
                leaks = leak_report(open(errpath, errors="replace").read())
                if leaks:
                    failures["leaks (LeakSanitizer, libstream frames)"] = leaks
            break
        tail = "".join(open(errpath, errors="replace").readlines()[-12:])
        if current is None:
            raise AssertionError("sweep worker died outside a call (rc %s):\n%s"
                                 % (proc.returncode, tail))
        what = ("hung (no answer in %d s)" % CALL_TIMEOUT if killed else
                "crashed (exit %s)" % proc.returncode)
        failures[descs[current]] = "%s\n%s" % (what, tail)
        start = current + 1
        if total is not None and start >= total:
            break
    return total, failures, handles, time.monotonic() - t0


EXPECTED_HANDLES = {"stream_key", "stream_keyring", "stream_recs_data", "stream_recs_model"}
SERVER_HANDLES = {"stream_store", "stream_auth", "stream_auth_reset", "stream_catalog",
                  "stream_billing_local", "stream_billing", "stream_jobs", "stream_uploads",
                  "stream_events", "stream_delivery", "stream_recs"}


def test_every_function_refuses_bad_arguments(tmp_path):
    from libstream._ffi import lib
    tmp = str(tmp_path)
    total, failures, handles, secs = run_sweep(tmp)
    expected = set(EXPECTED_HANDLES)
    if hasattr(lib, "stream_store_open"):
        expected |= SERVER_HANDLES
    if hasattr(lib, "stream_client_new"):
        expected |= {"stream_client", "stream_emitter"}
    if hasattr(lib, "stream_media_job_new"):
        expected |= {"stream_media_job"}
    missing = sorted(expected - set(handles or ()))
    if missing:
        failures["setup"] = "plausible handles missing (see the worker's stderr): %s" % missing
    nfuncs = len({n for n in dir(lib) if n.startswith("stream_") and not n.startswith("stream_py_")
                  and callable(getattr(lib, n, None))})
    print("\nnull sweep: %d functions, %d calls, %.1f s, %d failures"
          % (nfuncs, total, secs, len(failures)))
    assert total and total > nfuncs
    report = "\n".join("%s: %s" % (k, v) for k, v in sorted(failures.items()))
    assert not failures, "%d bad calls:\n%s" % (len(failures), report)


def test_doc_parser_sees_optional_parameters():
    """The doc-comment rule behind the NULL verdicts reads real headers right."""
    h = parse_headers()
    assert "out" in optional_params("stream_store_account_create", h["stream_store_account_create"])
    assert "opts" in optional_params("stream_token_issue", h["stream_token_issue"])
    # "Errors: STREAM_EINVAL (NULL out ...)" is not a licence to pass NULL.
    assert "out" not in optional_params("stream_auth_new", h["stream_auth_new"])
    assert "opts" not in optional_params("stream_auth_new", h["stream_auth_new"])
    assert is_status_function(h["stream_auth_new"])
    assert not is_status_function(h["stream_ct_equal"])


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "--worker":
    worker_main(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
