#!/usr/bin/python3
"""Every streamd route answers malformed input with a 4xx problem and keeps serving.

The route table comes from the daemon itself (`streamd --print-routes`), so a new route is swept
without touching this file. docs/api/openapi.yaml is read with a minimal indentation-based YAML
reader (standard library only) for what the sweep needs of each operation: the property names and
types of its request body, its query and header parameters, its request content types and its
documented responses (a status >= 500 is allowed only when documented for the route; a 4xx must
be application/problem+json unless the route documents another content type for that status,
like the OAuth error body of /v1/auth/token or the HTML pages of /activate).

For every (method, route) the identity the route is for (none for a public route, a viewer's
profile token, the operator token) gets the full set of deterministic malformed inputs (seeded
random.Random): path parameters replaced (4 KiB, `..%2F..`, `%00`, unicode, invalid UTF-8,
empty, numbers, a real id of another kind), bad query values (limit=-1, abc, 2**67, cursor=%ff,
repeated and unknown keys), bodies (none, empty, null, [], "x", {}, 1000-deep nesting, 900 KiB
string, 1e309 / -1 / 2**64, a wrong type for every documented key, truncated and bit-flipped
valid bodies, wrong Content-Types), bad documented headers; every other identity (none, a
garbage bearer token, an account-level viewer token, a viewer profile token, the operator token)
gets a few, and forged or broken credentials (alg none, forged claims, a flipped signature,
other schemes) must be refused. Every JSON answer must be UTF-8 JSON, and a path with an encoded
NUL (%00, %C0%80) must be a 400: it once cut the path short and reached the route for the id
before it. Between routes /healthz must answer on a new connection; at the end the process is
alive, its log has no error line ("request failed" is how a 5xx is logged), the books balance
and a normal viewer flow works. SWEEP_DUMP=<file> writes every request and its answer there.

Usage: /usr/bin/python3 test_route_sweep.py /path/to/streamd /path/to/openapi.yaml
"""
import base64
import copy
import gzip
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import unittest
import urllib.parse

from streamd_harness import HOST, Streamd, login, profile_token, register_login, unique_email

STREAMD = SPEC = None
DUMP = open(os.environ["SWEEP_DUMP"], "w") if os.environ.get("SWEEP_DUMP") else None
OP_TOKEN = "op-token-route-sweep-" + "3f9b1e07c2"
OK_CARD = "tok_4242424242424242"
FAKE_ID = "AAAAAAAAAAAAAAAAAAAAAA"  # well-formed (22 base64url characters), names nothing
SEED = 20261207
PROBLEM = "application/problem+json"
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


# ---- a minimal YAML reader (block mappings and lists; flow values stay strings) ----------------

def _yaml_lines(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            out.append((len(line) - len(line.lstrip(" ")), line.strip()))
    return out


def _unquote(s):
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        return s[1:-1]
    return s


def _split_key(text):
    """'key: value' -> (key, value); 'key:' -> (key, ''); else None."""
    m = re.match(r"^('[^']*'|\"[^\"]*\"|[^'\"\s][^:]*?):(?:\s+(.*))?$", text)
    if not m:
        return None
    return _unquote(m.group(1)), (m.group(2) or "").strip()


def _yaml_node(lines, i, indent):
    if lines[i][1].startswith("- ") or lines[i][1] == "-":
        items = []
        while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("-"):
            rest = lines[i][1][1:].strip()
            if rest and _split_key(rest) and not rest.startswith(("{", "[")):
                lines[i] = (indent + 2, rest)  # "- key: v" opens a mapping at indent + 2
                node, i = _yaml_node(lines, i, indent + 2)
                items.append(node)
            elif rest:
                items.append(_unquote(rest))
                i += 1
            else:
                i += 1
                if i < len(lines) and lines[i][0] > indent:
                    node, i = _yaml_node(lines, i, lines[i][0])
                    items.append(node)
        return items, i
    mapping = {}
    while i < len(lines) and lines[i][0] == indent and not lines[i][1].startswith("- "):
        kv = _split_key(lines[i][1])
        i += 1
        if kv is None:
            continue
        key, value = kv
        if value in ("|", ">", "|-", ">-", "|+", ">+"):
            while i < len(lines) and lines[i][0] > indent:
                i += 1
            mapping[key] = ""
        elif value:
            while i < len(lines) and lines[i][0] > indent:  # a multi-line flow or plain scalar
                value += " " + lines[i][1]
                i += 1
            mapping[key] = _unquote(value)
        elif i < len(lines) and (lines[i][0] > indent or
                                 (lines[i][0] == indent and lines[i][1].startswith("- "))):
            mapping[key], i = _yaml_node(lines, i, lines[i][0])
        else:
            mapping[key] = None
    return mapping, i


def read_yaml(path):
    lines = _yaml_lines(path)
    return _yaml_node(lines, 0, 0)[0]


class Spec:
    """What the sweep needs of docs/api/openapi.yaml."""

    def __init__(self, path):
        self.doc = read_yaml(path)

    def deref(self, node):
        for _ in range(10):
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
                return node
            cur = self.doc
            for part in node["$ref"].lstrip("#/").split("/"):
                cur = cur.get(part) if isinstance(cur, dict) else None
            node = cur
        return node

    def op(self, method, pattern):
        path = (self.doc.get("paths") or {}).get(pattern) or {}
        return path, path.get(method.lower()) or {}

    def parameters(self, method, pattern):
        path, op = self.op(method, pattern)
        out = []
        for p in list(path.get("parameters") or []) + list(op.get("parameters") or []):
            p = self.deref(p)
            if isinstance(p, dict) and p.get("name"):
                out.append(p)
        return out

    def request_types(self, method, pattern):
        body = self.deref(self.op(method, pattern)[1].get("requestBody"))
        content = body.get("content") if isinstance(body, dict) else None
        return list(content) if isinstance(content, dict) else []

    def body_properties(self, method, pattern):
        """{name: schema} of the request body's object schema (any content type)."""
        body = self.deref(self.op(method, pattern)[1].get("requestBody"))
        props = {}
        content = body.get("content") if isinstance(body, dict) else None
        for media in (content or {}).values():
            if isinstance(media, dict):
                self._collect(self.deref(media.get("schema")), props, 0)
        return props

    def _collect(self, schema, props, depth):
        if not isinstance(schema, dict) or depth > 5:
            return
        for part in schema.get("allOf") or []:
            self._collect(self.deref(part), props, depth + 1)
        for name, sub in (schema.get("properties") or {}).items():
            props.setdefault(name, self.deref(sub))

    def template(self, schema, hints, depth=0):
        """A plausible value for a schema: objects and arrays of objects are built from their
        documented properties (hints by property name first), other types by prop_sample()."""
        schema = self.deref(schema)
        t = prop_type(schema)
        if isinstance(schema, dict) and depth < 4:
            if t == "array":
                items = self.deref(schema.get("items"))
                if isinstance(items, dict) and (items.get("properties") or items.get("allOf")):
                    return [self.template(items, hints, depth + 1)]
            props = {}
            self._collect(schema, props, 0)
            if props and t == "object":
                return {k: hints[k] if k in hints else self.template(v, hints, depth + 1)
                        for k, v in props.items()}
        return prop_sample(schema)

    def responses(self, method, pattern):
        """{status: set of documented content types} of the operation."""
        out = {}
        for status, resp in (self.op(method, pattern)[1].get("responses") or {}).items():
            resp = self.deref(resp)
            content = resp.get("content") if isinstance(resp, dict) else None
            out[str(status)] = set(content) if isinstance(content, dict) else set()
        return out


def prop_type(schema):
    """The JSON type a property schema names ('string', 'integer', ...; 'object' by default)."""
    if isinstance(schema, str):  # a flow mapping kept as text: {type: string, ...}
        m = re.search(r"type:\s*\[?\s*'?([a-z]+)", schema)
        return m.group(1) if m else "object"
    if isinstance(schema, dict):
        t = schema.get("type")
        if isinstance(t, str):
            m = re.match(r"\[?\s*'?([a-z]+)", t)
            return m.group(1) if m else "object"
        if isinstance(t, list) and t:
            return str(t[0])
    return "object"


def _scalar(text, t):
    text = _unquote(str(text).strip())
    if t in ("integer", "number"):
        try:
            return int(text) if t == "integer" else float(text)
        except ValueError:
            return None
    if t == "boolean":
        return text == "true"
    return text


def prop_sample(schema):
    """A plausible value for a property: its const, first enum value or default, else one of
    its type that fits the documented minimum / maximum / maxLength / format."""
    t = prop_type(schema)
    if isinstance(schema, dict):
        for key in ("const", "default"):
            if key in schema and _scalar(schema[key], t) is not None and t != "array":
                return _scalar(schema[key], t)
        enum = schema.get("enum")
        if isinstance(enum, str):
            enum = [x for x in enum.strip("[] ").split(",") if x.strip()]
        if isinstance(enum, list) and enum and _scalar(enum[0], t) is not None:
            return _scalar(enum[0], t)
        if t in ("integer", "number"):
            lo = _scalar(schema.get("minimum", 1), t)
            hi = _scalar(schema.get("maximum", 2 ** 31), t)
            return max(lo if lo is not None else 1, min(1, hi if hi is not None else 1))
        if t == "string":
            fmt = schema.get("format")
            value = {"uuid": "3f2b8c1e-7d4a-4e5f-9a6b-1c2d3e4f5a6b", "email": "nobody@sweep.test",
                     "date": "2024-01-31", "date-time": "2024-01-31T12:00:00Z",
                     "uri": "https://example.test/x"}.get(fmt, "sweep")
            try:
                n = int(schema.get("maxLength", 0))
            except ValueError:
                n = 0
            return value[:n] if n and len(value) > n else value
    return {"string": "sweep", "integer": 1, "number": 1.5, "boolean": True,
            "array": [], "null": None}.get(t, {})


# ---- a small HTTP/1.1 client on one keep-alive socket (raw bytes in paths, Expect) ------------

class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def ctype(self):
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


class NoAnswer(Exception):
    pass


class Client:
    def __init__(self, port, timeout=30):
        self.port, self.timeout = port, timeout
        self.sock, self.buf = None, b""

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock, self.buf = None, b""

    def _recv(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def _until(self, sep):
        while sep not in self.buf:
            self._recv()
        head, self.buf = self.buf.split(sep, 1)
        return head

    def _exactly(self, n):
        while len(self.buf) < n:
            self._recv()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _response(self, method):
        head = self._until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        parts = head[0].split(" ", 2)
        status = int(parts[1])
        headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        if method == "HEAD" or status < 200 or status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = b""
            while True:
                size = int(self._until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    self._until(b"\r\n")
                    break
                body += self._exactly(size)
                self._exactly(2)
        elif "content-length" in headers:
            body = self._exactly(int(headers["content-length"]))
        else:
            try:
                while True:
                    self._recv()
            except EOFError:
                pass
            body, self.buf = self.buf, b""
            self.close()
        return Answer(status, headers, body)

    def request(self, method, target, headers=None, body=None):
        """One request; target is str (ASCII) or bytes (sent as is). A body over 64 KiB is sent
        after a 100 Continue only (a refusal comes before the body)."""
        if isinstance(target, str):
            target = target.encode()
        h = {"Host": "%s:%d" % (HOST, self.port)}
        h.update(headers or {})
        big = body is not None and len(body) > 65536
        if body is not None:
            h["Content-Length"] = str(len(body))
        if big:
            h["Expect"] = "100-continue"
        head = method.encode() + b" " + target + b" HTTP/1.1\r\n"
        for k, v in h.items():
            head += k.encode() + b": " + (v if isinstance(v, bytes) else v.encode("latin-1")) + \
                b"\r\n"
        head += b"\r\n"
        for attempt in (0, 1):
            fresh = self.sock is None
            if fresh:
                self.sock = socket.create_connection((HOST, self.port), timeout=self.timeout)
                self.buf = b""
            try:
                if big:
                    self.sock.sendall(head)
                    r = self._response(method)
                    if r.status == 100:
                        self.sock.sendall(body)
                        r = self._response(method)
                    elif self.sock:
                        self.close()  # the body was never sent: this connection is done
                        return r
                else:
                    self.sock.sendall(head + (body or b""))
                    r = self._response(method)
                break
            except socket.timeout:
                self.close()
                raise NoAnswer("no answer within %d s (hang)" % self.timeout)
            except (EOFError, ConnectionError) as e:
                self.close()
                if fresh or attempt:
                    raise NoAnswer("connection dropped without an answer: %r" % e)
        if self.sock and r.headers.get("connection", "").lower() == "close":
            self.close()
        return r


# ---- the inputs ------------------------------------------------------------------------------

PATH_VALUES = [
    ("4KiB", "A" * 4096),
    ("dotdot", "..%2F..%2F..%2Fetc%2Fpasswd"),
    ("nul", "x%00y"),
    ("overlong-nul", "x%C0%80y"),
    ("unicode", "%C3%A9t%C3%A9-%E2%9C%93-%F0%9F%8E%AC"),
    ("raw-utf8", "été-✓"),
    ("bad-utf8", "%ff%fe%c3"),
    ("empty", ""),
    ("number", "12345"),
    ("negative", "-1"),
    ("huge-number", "99999999999999999999"),
    ("sql", "1'%20OR%20'1'%3D'1"),
    ("pct-bad", "%zz%"),
    ("traversal", "a/../../../../etc/passwd"),
    ("double-slash", "a//b"),
    ("encoded-dots", "%2e%2e/%2e%2e/x"),
]

QUERY_BAD = ["-1", "abc", "99999999999999999999", "%ff", "", "%00", "1e309", "A" * 2048]

JSON_BODIES = [
    ("empty", b""), ("null", b"null"), ("array", b"[]"), ("string", b'"x"'), ("object", b"{}"),
    ("number", b"1e309"), ("deep-array", b"[" * 1000 + b"]" * 1000),
    ("deep-object", b'{"a":' * 1000 + b"1" + b"}" * 1000),
    ("dup-keys", b'{"a":1,"a":2}'), ("bad-utf8", b'{"a":"\xff\xfe"}'),
    ("nul", b'{"a":"x\\u0000y"}'), ("trailing", b"{} {}"), ("garbage", b"\x00\x01\x02{"),
]

WRONG_VALUES = [123, -1, None, True, [], {}, "x", 2 ** 64,
                -(2 ** 63) - 1, 1.5, "A" * 5000, "é\u0000", [[[]]], {"a": {"b": None}}]

BAD_CTYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
              "application/json; charset=latin1", "application/jsonx", "", "*/*"]

FORM_BODIES = [b"a=%zz", b"a=1&a=2", b"%00=1", b"=", b"&&&", b"a=%ff%fe", b"a" * 3000]


def huge_string_body(props):
    key = next(iter(props), "x")
    return b'{"' + key.encode() + b'":"' + b"x" * (900 * 1024) + b'"}'


NUMBERS = [b"1e309", b"-1e309", b"-1", b"0", b"18446744073709551616", b"-9223372036854775809",
           b"4294967296", b"2147483648", b"-2147483649", b"1e-400", b"0.5", b"1E+2"]


PLACEHOLDER = "\u0001NUM\u0001"


def leaf_paths(value, path=()):
    """Every key path in a template (dict keys, the first item of lists), parents first."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield path + (k,)
            yield from leaf_paths(v, path + (k,))
    elif isinstance(value, list) and value:
        yield from leaf_paths(value[0], path + (0,))


def with_value(template, path, value):
    """A deep copy of template with the value at path replaced; number literals (bytes) are
    spliced into the JSON text as they are."""
    body = copy.deepcopy(template)
    node = body
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = PLACEHOLDER if isinstance(value, bytes) else value
    text = json.dumps(body).encode()
    if isinstance(value, bytes):
        text = text.replace(json.dumps(PLACEHOLDER).encode(), value)
    return text


class Sweep(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.spec = Spec(SPEC)
        out = subprocess.run([STREAMD, "--print-routes"], capture_output=True, check=True,
                             timeout=30).stdout.decode()
        cls.routes = [tuple(line.split()) for line in out.splitlines() if line.strip()]
        titles = [{"id": "sweep-movie-%d" % i, "kind": "movie", "name": "Sweep Movie %d" % i,
                   "synopsis": "A movie for the route sweep.", "year": 2000 + i,
                   "runtime_minutes": 90, "maturity_rating": 0, "genres": ["Drama"]}
                  for i in range(4)]
        titles.append({"id": "sweep-series", "kind": "series", "name": "Sweep Series",
                       "synopsis": "A series.", "year": 2019, "maturity_rating": 0,
                       "genres": ["Family"],
                       "seasons": [{"number": 1, "episodes": [
                           {"id": "sweep-s1e1", "number": 1, "name": "Pilot",
                            "runtime_minutes": 30}]}]})
        cls.d = Streamd(STREAMD, ["--login-address-burst", "0"], prefix="streamd-sweep-",
                        log_level="warn", catalog={"titles": titles}, operator_token=OP_TOKEN,
                        demo_timeout=30, strict=True)
        cls.rng = random.Random(SEED)
        cls.failures, cls.count, cls.statuses = [], 0, {}
        cls.seed()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.d.cleanup()

    # -- the seed: identities and real objects ----------------------------------------------
    @classmethod
    def seed(cls):
        d = cls.d
        cls.email = unique_email("sweep", "sweep.test")
        cls.account_token = register_login(d, cls.email)["access_token"]
        r = d.request("GET", "/v1/account", token=cls.account_token)
        assert r.status == 200, r.body
        cls.account_id = r.json["id"]
        cls.profile_id, sw = profile_token(d, cls.account_token, "Main")
        cls.viewer_token = sw["access_token"]
        r = d.request("POST", "/v1/profiles", json_body={"name": "Spare"},
                      token=cls.account_token)
        assert r.status == 201, r.body
        cls.spare_profile = r.json["id"]
        victim = register_login(d, unique_email("victim", "sweep.test"))["access_token"]
        r = d.request("GET", "/v1/account", token=victim)
        assert r.status == 200, r.body
        cls.victim_account = r.json["id"]
        r = d.request("POST", "/v1/billing/payment-methods", json_body={"token": OK_CARD},
                      token=cls.viewer_token, key="sweep-card")
        assert r.status == 201, r.body
        cls.card_id = r.json["id"]
        plan = {"name": "Sweep Duo", "amount": 1000, "currency": "USD", "period_months": 1,
                "trial_days": 0, "screens": 2, "max_height": 1080}
        r = d.request("PUT", "/v1/admin/billing/plans/sweep-duo", json_body=plan, token=OP_TOKEN)
        assert r.status == 201, r.body
        r = d.request("POST", "/v1/billing/subscription", json_body={"plan_id": "sweep-duo"},
                      token=cls.viewer_token, key="sweep-sub")
        assert r.status == 201, r.body
        cls.invoice_id = r.json["invoice_id"]
        r = d.request("POST", "/v1/billing/leases", json_body={"device_id": "sweep-tv"},
                      token=cls.viewer_token, key="sweep-lease")
        cls.lease_id = r.json.get("id") if r.status in (200, 201) else None
        if cls.lease_id is None and r.status in (200, 201):
            cls.lease_id = (r.json.get("lease") or {}).get("id")
        meta = "title_id %s,filename %s" % (base64.b64encode(b"sweep-movie-2").decode(),
                                             base64.b64encode(b"sweep.mp4").decode())
        cls.upload_headers = {"Upload-Length": str(1 << 20), "Upload-Metadata": meta}
        r = d.request("POST", "/v1/uploads", token=OP_TOKEN,
                      headers=dict(cls.upload_headers, **{"Tus-Resumable": "1.0.0"}))
        cls.upload_id = None
        if r.status == 201:  # without the media feature there are no uploads
            cls.upload_id = (r.h("Location") or "").rstrip("/").rsplit("/", 1)[-1] or None
        cls.identities = {"none": None, "garbage": "garbage.token.\u00e9",
                          "account": cls.account_token, "viewer": cls.viewer_token,
                          "operator": OP_TOKEN}
        cls.auth_variants = cls.forged_authorizations()

    @classmethod
    def forged_authorizations(cls):
        """Authorization header values that must all be refused (401/403): forged and broken
        bearer tokens, other schemes."""
        def b64(raw):
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        head, payload, sig = cls.viewer_token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        none_head = b64(json.dumps({"alg": "none", "typ": "at+jwt"}).encode())
        op_claims = b64(json.dumps(dict(claims, role="operator", exp=2 ** 62)).encode())
        flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
        return {
            "bearer-empty": "Bearer ", "bearer-spaces": "Bearer    ", "basic": "Basic dXNlcjpwYXNz",
            "bearer-long": "Bearer " + "A" * 3000, "bearer-two": "Bearer a b",
            "jwt-alg-none": "Bearer %s.%s." % (none_head, payload),
            "jwt-forged-claims": "Bearer %s.%s.%s" % (head, op_claims, sig),
            "jwt-bad-signature": "Bearer %s.%s.%s" % (head, payload, flipped),
            "jwt-no-signature": "Bearer %s.%s" % (head, payload),
            "jwt-bad-base64": "Bearer %s.%s!.%s" % (head, payload, sig),
            "operator-prefix": "Bearer " + OP_TOKEN[:-1],
            "operator-lowercase-scheme": "bearer " + OP_TOKEN + "x",
        }

    def refresh_viewer(self):
        """After a route that may end the viewer's sessions (logout-all), sign in again."""
        r = self.d.request("GET", "/v1/account", token=self.viewer_token)
        if r.status == 200:
            return
        tok = login(self.d, self.email)["access_token"]
        r = self.d.request("POST", "/v1/profiles/%s/switch" % self.profile_id, json_body={},
                           token=tok)
        self.assertEqual(r.status, 200, r.body)
        self.account_token, self.viewer_token = tok, r.json["access_token"]
        type(self).account_token, type(self).viewer_token = tok, r.json["access_token"]
        self.identities.update(account=tok, viewer=r.json["access_token"])

    # -- ids of each route ----------------------------------------------------------------
    def right_id(self, method, pattern):
        if pattern.startswith("/v1/admin/accounts/"):
            return self.victim_account
        if pattern.startswith("/v1/profiles/"):
            return self.spare_profile
        if pattern.startswith("/v1/admin/titles/"):
            return "sweep-movie-3"
        if "{title_id}" in pattern or pattern.startswith("/v1/titles/"):
            return "sweep-movie-0"
        if "/payment-methods/" in pattern:
            return self.card_id
        if "/invoices/" in pattern:
            return self.invoice_id
        if "/leases/" in pattern:
            return self.lease_id or FAKE_ID
        if pattern.startswith("/v1/uploads/"):
            return self.upload_id or FAKE_ID
        if pattern.startswith("/v1/admin/billing/plans/"):
            return "sweep-plan"
        return FAKE_ID

    def wrong_id(self, pattern):
        if "title" in pattern:
            return self.profile_id
        if pattern.startswith("/v1/admin/accounts/"):
            return self.invoice_id
        return self.account_id if self.rng.random() < 0.5 else "sweep-movie-1"

    # -- one request and its checks -------------------------------------------------------
    def check(self, c, method, pattern, ident, what, target, headers=None, body=None,
              ctype=None, key=True):
        h = dict(headers or {})
        if ident in self.identities:
            if self.identities[ident]:
                h["Authorization"] = "Bearer " + self.identities[ident]
        else:
            h["Authorization"] = self.auth_variants[ident]
        if ctype is not None and ctype != "":
            h["Content-Type"] = ctype
        if key and method in BODY_METHODS and "Idempotency-Key" not in h:
            h["Idempotency-Key"] = "sweep-%d" % self.rng.getrandbits(48)
        type(self).count += 1
        label = "%s %s [%s] %s" % (method, pattern, ident, what)
        try:
            r = c.request(method, target, h, body)
        except NoAnswer as e:
            self.failures.append("%s: %s" % (label, e))
            return None
        self.statuses[r.status] = self.statuses.get(r.status, 0) + 1
        if DUMP:
            DUMP.write("%s -> %d %s\n" % (label, r.status, r.body[:160]))
        if r.ctype == "application/json" or r.ctype.endswith("+json"):
            try:
                json.loads(r.body.decode("utf-8"))
            except ValueError as e:  # UnicodeDecodeError is one
                self.failures.append("%s: %d %s body is not UTF-8 JSON (%s): %r" %
                                     (label, r.status, r.ctype, e, r.body[:200]))
        if what in ("path-nul", "path-overlong-nul") and r.status != 400:
            # An encoded NUL once cut the path short: the request reached the route (or a
            # sibling one) for the id before it.
            self.failures.append("%s: %d, not 400: %r" % (label, r.status, r.body[:200]))
        documented = self.spec.responses(method, pattern)
        doc_types = documented.get(str(r.status))
        if r.status >= 500:
            if doc_types is None:
                self.failures.append("%s: %d %s" % (label, r.status, r.body[:200]))
                return r
        if r.status >= 400:
            if doc_types and PROBLEM not in doc_types:
                if r.ctype not in doc_types:
                    self.failures.append("%s: %d with %r, documented %s" %
                                         (label, r.status, r.ctype, sorted(doc_types)))
                return r
            why = None
            if r.ctype != PROBLEM:
                why = "Content-Type %r" % r.headers.get("content-type")
            else:
                try:
                    p = json.loads(r.body)
                    if not isinstance(p, dict) or p.get("status") != r.status:
                        why = "status member %r" % (p.get("status") if isinstance(p, dict) else p)
                    elif not (isinstance(p.get("title"), str) and p["title"]) or \
                            not (isinstance(p.get("detail"), str) and p["detail"]):
                        why = "no title/detail"
                except ValueError:
                    why = "body is not JSON"
            if why:
                self.failures.append("%s: %d not a problem (%s): %r" %
                                     (label, r.status, why, r.body[:200]))
        return r

    def alive(self, after):
        try:
            c = Client(self.d.port, timeout=30)
            r = c.request("GET", "/healthz")
            c.close()
            ok = r.status == 200
        except NoAnswer as e:
            ok, r = False, e
        if not ok or self.d.proc.poll() is not None:
            self.fail("streamd stopped serving after %s: %r\n%s" %
                      (after, getattr(r, "status", r), self.d.stderr_text(3000)))

    # -- the inputs of one route ----------------------------------------------------------
    def inputs(self, method, pattern):
        """[(what, target, headers, body, ctype)] of the full sweep of one route."""
        rng = self.rng
        params = self.spec.parameters(method, pattern)
        query_keys = [p["name"] for p in params if p.get("in") == "query"]
        header_params = [p for p in params if p.get("in") == "header"]
        req_types = self.spec.request_types(method, pattern)
        real_id = self.right_id(method, pattern)
        props = self.spec.body_properties(method, pattern)
        takes_body = method in BODY_METHODS and (req_types or method != "DELETE")
        main_type = "application/json" if ("application/json" in req_types or not req_types) \
            else req_types[0]
        hints = {"email": "nobody@sweep.test", "password": "not the password 1",
                 "current_password": "not the password 1", "new_password": "a new password 2",
                 "title_id": "sweep-movie-0", "episode_id": "sweep-s1e1", "plan_id": "sweep-duo",
                 "profile_id": self.profile_id, "device_id": "sweep-tv", "currency": "USD",
                 "maturity_ceiling": 18, "year": 2001, "kind": "movie", "name": "Sweep",
                 "token": "tok_4000000000000002", "position_seconds": 5, "amount": 1,
                 "screens": 1, "max_height": 720, "rating": "up", "grant_type": "refresh_token",
                 "action": "deny", "user_code": "BCDF-GHJK", "pin": "1234", "ot": "web",
                 "available_from": 1700000000, "available_until": 1900000000}
        if pattern in ("/v1/admin/titles/{id}", "/v1/admin/billing/plans/{id}"):
            hints = dict(hints, id=real_id)
        template = {k: hints[k] if k in hints else self.spec.template(s, hints)
                    for k, s in props.items()}
        if main_type == "application/x-www-form-urlencoded":
            valid = urllib.parse.urlencode({k: v if isinstance(v, str) else json.dumps(v)
                                            for k, v in template.items()}).encode()
        else:
            valid = json.dumps(template).encode()
        base_headers = {}
        for p in header_params:
            if p["name"].lower() in ("idempotency-key", "content-type", "content-length"):
                continue
            if p["name"] in self.upload_headers:
                base_headers[p["name"]] = self.upload_headers[p["name"]]
            elif p.get("required") in (True, "true"):
                base_headers[p["name"]] = str(prop_sample(self.spec.deref(p.get("schema"))))
        if pattern.startswith("/v1/uploads") and method == "PATCH":
            base_headers["Upload-Offset"] = "0"
        names = re.findall(r"\{([a-z_]+)\}", pattern)
        real = self.right_id(method, pattern)
        assert real, (method, pattern)

        def target(value=None, query=""):
            t = pattern
            for n in names:
                t = t.replace("{%s}" % n, real if value is None else value)
            return t + (("?" + query) if query else "")

        def with_body(what, body, ctype=main_type, headers=None, tgt=None):
            hh = dict(base_headers)
            hh.update(headers or {})
            return (what, tgt or target(), hh, body, ctype)

        default_body = valid if takes_body else None
        default_ctype = main_type if takes_body else None
        out = [("plain", target(), dict(base_headers), default_body, default_ctype)]
        # Path parameters.
        if names:
            for what, value in PATH_VALUES + [("wrong-kind", self.wrong_id(pattern))]:
                t = target(value)
                if what == "raw-utf8":
                    t = t.encode("utf-8")
                out.append(("path-" + what, t, dict(base_headers), default_body, default_ctype))
        # Query strings: bad values for the route's keys (and limit/cursor), repeats, unknowns.
        keys = query_keys or ["limit", "cursor"]
        for k in keys:
            for v in rng.sample(QUERY_BAD, 3):
                out.append(("query-%s=%s" % (k, v[:12]), target(query="%s=%s" % (k, v)),
                            dict(base_headers), default_body, default_ctype))
            out.append(("query-%s-repeated" % k, target(query="%s=1&%s=2" % (k, k)),
                        dict(base_headers), default_body, default_ctype))
        for q in ("limit=-1", "limit=abc", "limit=99999999999999999999", "cursor=%ff",
                  "zz-unknown=1", "%ff=%fe", "a&&=&b", "limit"):
            if "limit" in keys and q.startswith("limit") and q != "limit":
                continue
            out.append(("query-" + q[:20], target(query=q), dict(base_headers), default_body,
                        default_ctype))
        # Documented headers with bad values.
        for p in header_params:
            name = p["name"]
            if name.lower() in ("content-type", "content-length"):
                continue
            for v in ("", "-1", "abc", "99999999999999999999", "1.0.0, 1.0.0", "\xff\xfe",
                      "A" * 300):
                hh = dict(base_headers)
                hh[name] = v
                out.append(("header-%s=%r" % (name, v[:10]), target(), hh, default_body,
                            default_ctype))
        if not takes_body:
            out.append(with_body("body-on-bodyless", b"{}", "application/json"))
            return out
        # Bodies.
        out.append(with_body("body-none", None, None))
        for what, body in JSON_BODIES:
            out.append(with_body("body-" + what, body, "application/json"))
        out.append(with_body("body-900KiB", huge_string_body(props), "application/json"))
        # Every documented key (nested ones too: event batches, catalog titles) with wrong
        # types and out-of-range numbers; top-level keys get more of them.
        for path in leaf_paths(template):
            name = "/".join(str(x) for x in path)
            top = len(path) == 1
            numbers = NUMBERS if top else rng.sample(NUMBERS, 4)
            for v in list(numbers) + rng.sample(WRONG_VALUES, 6 if top else 3):
                shown = v.decode() if isinstance(v, bytes) else json.dumps(v)[:16]
                out.append(with_body("body-%s=%s" % (name, shown), with_value(template, path, v),
                                     "application/json"))
        if props:
            out.append(with_body("body-unknown-key", json.dumps(dict(template, zz_unknown=1))
                                 .encode(), "application/json"))
        out.append(with_body("body-valid-ish", valid))
        for i in range(8):
            b = bytearray(valid)
            if i % 2 == 0 and len(b) > 1:
                b = b[:rng.randrange(1, len(b))]
            else:
                for _ in range(rng.randint(1, 3)):
                    j = rng.randrange(len(b))
                    b[j] ^= 1 << rng.randrange(8)
            out.append(with_body("body-mangled-%d" % i, bytes(b)))
        for ct in rng.sample(BAD_CTYPES, 4):
            out.append(with_body("ctype-%s" % (ct or "none"), valid, ct))
        for t in req_types:
            if t not in ("application/json", "application/x-www-form-urlencoded"):
                for i in range(12):  # binary formats (protobuf event batches, tus chunks)
                    out.append(with_body("ctype-%s-random-%d" % (t, i),
                                         rng.randbytes(rng.randint(1, 600)), t))
        if "application/x-www-form-urlencoded" in req_types:
            for fb in FORM_BODIES:
                out.append(with_body("form-" + fb[:10].decode(), fb,
                                     "application/x-www-form-urlencoded"))
        if any(p["name"].lower() == "content-encoding" for p in header_params):
            gz = gzip.compress(valid)
            for what, body in (("gzip-garbage", b"\x1f\x8b\x08\x00garbage"),
                               ("gzip-truncated", gz[:len(gz) // 2]),
                               ("gzip-bomb", gzip.compress(b"[" * (4 << 20)))):
                out.append(with_body(what, body, main_type, {"Content-Encoding": "gzip"}))
        return out

    def short_inputs(self, method, pattern, full):
        """A few inputs of the full sweep for the identities the route is not for."""
        picks = [w for w in full if w[0] in ("body-valid-ish", "body-object", "body-deep-array",
                                             "path-4KiB", "path-wrong-kind", "query-limit=-1")]
        return picks[:4] or full[:3]

    def test_sweep(self):
        t0 = time.time()
        for_role = {"public": "none", "viewer": "viewer", "operator": "operator"}
        swept = 0
        for method, pattern, role in self.routes:
            full = self.inputs(method, pattern)
            c = Client(self.d.port)
            try:
                main = for_role[role]
                for what, tgt, headers, body, ctype in full:
                    self.check(c, method, pattern, main, what, tgt, headers, body, ctype)
                for ident in self.identities:
                    if ident == main:
                        continue
                    for what, tgt, headers, body, ctype in self.short_inputs(method, pattern,
                                                                             full):
                        self.check(c, method, pattern, ident, what, tgt, headers, body, ctype)
                if role != "public":
                    # Forged and broken credentials: refused, never served.
                    what, tgt, headers, body, ctype = full[0]  # "plain"
                    for ident in self.auth_variants:
                        r = self.check(c, method, pattern, ident, what, tgt, headers, body, ctype)
                        if r is not None and r.status not in (400, 401, 403, 404, 414):
                            self.failures.append("%s %s [%s]: %d with a forged credential" %
                                                 (method, pattern, ident, r.status))
            finally:
                c.close()
            swept += 1
            self.alive("%s %s" % (method, pattern))
            self.refresh_viewer()
        took = time.time() - t0
        print("swept %d routes with %d requests in %.1f s; statuses %s" %
              (swept, self.count, took, dict(sorted(self.statuses.items()))))
        self.assertGreaterEqual(swept, 30)
        self.assertIsNone(self.d.proc.poll())
        self.after_sweep()
        self.assertEqual(self.failures, [], "\n".join(self.failures[:200]) +
                         "\n(%d failures)" % len(self.failures))
        log = self.d.stderr_text()
        errors = [line for line in log.splitlines()
                  if '"level":"error"' in line or "request failed" in line or
                  "internal error" in line.lower()]
        self.assertEqual(errors, [], "\n".join(errors[:50]))

    def after_sweep(self):
        """Write-effect sanity: the books balance and a normal viewer flow works."""
        d = self.d
        r = d.request("GET", "/v1/admin/billing/books", token=OP_TOKEN)
        self.assertEqual(r.status, 200, r.body)
        tok = register_login(d, unique_email("after", "sweep.test"))["access_token"]
        _, sw = profile_token(d, tok, "After")
        for path in ("/v1/browse", "/v1/genres", "/v1/titles/sweep-movie-0", "/v1/home",
                     "/v1/search?q=sweep"):
            r = d.request("GET", path, token=sw["access_token"])
            self.assertEqual(r.status, 200, (path, r.body))
        r = d.request("GET", "/v1/titles/sweep-movie-0", token=self.viewer_token)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(d.request("GET", "/healthz").status, 200)


def main():
    global STREAMD, SPEC
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    STREAMD, SPEC = sys.argv[1], sys.argv[2]
    prog = unittest.main(argv=[sys.argv[0], "-v"], exit=False)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
