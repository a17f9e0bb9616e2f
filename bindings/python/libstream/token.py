"""JSON Web Tokens (HS256, EdDSA) issued and verified through a key ring, and
the underlying compact JWS for exact-bytes interoperability.

``issue()`` returns the token (str); ``verify()`` returns the claims as a
dict (a :class:`Claims`, which also has ``.kid``, the id of the key that
verified it) or raises AuthError / Expired / Forbidden / InvalidArgument /
OutOfRange / NotSupported with the library's message.
"""
import json

from ._ffi import ffi, lib
from ._util import Keep, new_struct, set_int, take_bytes, take_string, text, to_bytes, to_cstr
from .errors import check
from .keys import Key, KeyRing

__all__ = ["Claims", "issue", "verify", "jws_sign", "jws_verify", "SIZE_DEFAULT", "SIZE_MAX",
           "LEEWAY_MAX"]

SIZE_DEFAULT = lib.STREAM_TOKEN_SIZE_DEFAULT
SIZE_MAX = lib.STREAM_TOKEN_SIZE_MAX
LEEWAY_MAX = lib.STREAM_TOKEN_LEEWAY_MAX


def _json_bytes(value, name):
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return to_bytes(value, name)


def _key(key):
    if not isinstance(key, Key):
        raise TypeError("key must be a libstream.Key, not %s" % type(key).__name__)
    return key._cptr


def _ring(ring):
    if isinstance(ring, KeyRing):
        return ring
    if isinstance(ring, Key):
        return KeyRing([ring])
    raise TypeError("ring must be a libstream.KeyRing or Key, not %s" % type(ring).__name__)


def jws_sign(key, header, payload):
    """Compact JWS of ``payload`` (str/bytes) under the protected ``header``
    (exact JSON as str/bytes, used byte for byte; or a dict, serialised compactly)."""
    h = _json_bytes(header, "header")
    p = to_bytes(payload, "payload")
    out = ffi.new("char **")
    check(lib.stream_jws_sign(out, _key(key), h, len(h), p, len(p)))
    return take_string(out)


def jws_verify(key, jws, *, max_size=0):
    """Verify a compact JWS with one key and return its payload bytes."""
    o = new_struct("stream_jws_options")
    set_int(o, "max_size", max_size, "max_size")
    out = ffi.new("unsigned char **")
    n = ffi.new("size_t *")
    check(lib.stream_jws_verify(out, n, _key(key), to_cstr(jws, "jws"), o))
    return take_bytes(out, n[0])


class Claims(dict):
    """The verified token's payload; ``.kid`` is the id of the key that verified it."""
    kid = None


def issue(ring, claims=None, *, kid=None, ttl=None, exp=None, nbf=0, iss=None, aud=None, sub=None,
          jti=True, now=0, typ=None):
    """Issue a JWT with ``ring``'s key ``kid`` (None: the primary). ``claims``: custom claims
    as a dict or JSON text. Lifetime: ``ttl`` seconds (default 900) or absolute ``exp``."""
    keep = Keep()
    ring = _ring(ring)
    o = new_struct("stream_token_issue_options")
    if exp is not None and ttl is None:
        ttl = 0
    if ttl is not None:
        set_int(o, "ttl", ttl, "ttl")
    set_int(o, "exp", exp or 0, "exp")
    set_int(o, "nbf", nbf or 0, "nbf")
    o.iss = keep.cstr(iss, "iss", allow_none=True)
    o.aud = keep.cstr(aud, "aud", allow_none=True)
    o.sub = keep.cstr(sub, "sub", allow_none=True)
    if not isinstance(jti, bool):
        raise TypeError("jti must be a bool")
    o.jti = 1 if jti else 0
    set_int(o, "now", now or 0, "now")
    o.typ = keep.cstr(typ, "typ", allow_none=True)
    cj = ffi.NULL if claims is None else _json_bytes(claims, "claims")
    if cj is not ffi.NULL and b"\0" in cj:
        from .errors import raise_invalid
        raise_invalid("claims contains a NUL byte")
    out = ffi.new("char **")
    check(lib.stream_token_issue(out, ring._cptr, to_cstr(kid, "kid", allow_none=True), cj, o))
    return take_string(out)


def verify(ring, token, *, iss=None, aud=None, leeway=0, now=0, max_size=0, require_exp=True,
           typ=None):
    """Verify a JWT against ``ring`` (key chosen by the header's kid) and return its
    claims as a :class:`Claims` dict. ``aud`` None means the token must carry no aud."""
    keep = Keep()
    ring = _ring(ring)
    o = new_struct("stream_token_verify_options")
    o.iss = keep.cstr(iss, "iss", allow_none=True)
    o.aud = keep.cstr(aud, "aud", allow_none=True)
    set_int(o, "leeway", leeway, "leeway")
    set_int(o, "now", now or 0, "now")
    set_int(o, "max_size", max_size, "max_size")
    o.require_exp = 1 if require_exp else 0
    o.typ = keep.cstr(typ, "typ", allow_none=True)
    out_json = ffi.new("char **")
    reg = ffi.new("stream_token_claims *")
    check(lib.stream_token_verify(out_json, reg, ring._cptr, to_cstr(token, "token"), o))
    result = Claims(json.loads(take_string(out_json)))
    result.kid = text(reg.kid)
    return result
