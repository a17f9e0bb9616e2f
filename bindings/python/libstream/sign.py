"""Signed URLs, URL prefixes, cookies and tokens: libstream's native format
(HMAC-SHA256), Google Cloud CDN (HMAC-SHA1), Google Media CDN (Ed25519
signatures; Ed25519 / HMAC tokens) and Amazon CloudFront (RSA / ECDSA P-256
signed URLs and signed cookies, SHA-1 or SHA-256).

Signing functions return the signed URL, parameters, cookie or token as str.
Verification functions return a :class:`Verification` when valid and, by
default, raise the StreamError subclass of the failure (AuthError, Expired,
Forbidden, InvalidArgument) with ``.reason`` and ``.result`` attached; pass
``raise_on_error=False`` to get the Verification back instead and look at
``.valid`` / ``.reason``.
"""
import enum

from ._ffi import ffi, lib
from ._util import Keep, new_struct, set_int, take_string, text, to_cstr, to_int
from .errors import error_for, last_message, raise_invalid
from .keys import Key, KeyRing

__all__ = [
    "SignReason", "NativeForm", "Verification", "reason_str",
    "native_url", "native_prefix", "native_cookie", "native_path", "native_verify",
    "native_verify_cookie", "NATIVE_COOKIE_NAME", "NATIVE_PATH_TOKEN",
    "cloudcdn_sign_url", "cloudcdn_sign_prefix", "cloudcdn_sign_cookie", "cloudcdn_verify_url",
    "cloudcdn_verify_cookie",
    "mediacdn_sign_url", "mediacdn_sign_prefix", "mediacdn_sign_path_component",
    "mediacdn_sign_cookie", "mediacdn_verify_url", "mediacdn_verify_cookie",
    "mediacdn_token_sign", "mediacdn_token_verify",
    "CloudFrontHash", "cloudfront_sign_url", "cloudfront_sign_cookies", "cloudfront_verify_url",
    "cloudfront_verify_cookies", "CLOUDFRONT_TEXT_MAX",
]


class SignReason(enum.IntEnum):
    """Why a verification failed (stream_sign_reason)."""
    VALID = lib.STREAM_SIGN_VALID
    EXPIRED = lib.STREAM_SIGN_EXPIRED
    NOT_YET_VALID = lib.STREAM_SIGN_NOT_YET_VALID
    BAD_SIGNATURE = lib.STREAM_SIGN_BAD_SIGNATURE
    UNKNOWN_KEY = lib.STREAM_SIGN_UNKNOWN_KEY
    MALFORMED = lib.STREAM_SIGN_MALFORMED
    OUTSIDE_PREFIX = lib.STREAM_SIGN_OUTSIDE_PREFIX
    IP_MISMATCH = lib.STREAM_SIGN_IP_MISMATCH
    MISSING = lib.STREAM_SIGN_MISSING


def reason_str(reason):
    """The library's English description of a SignReason ("expired")."""
    return text(lib.stream_sign_reason_str(to_int(reason, "reason")))


def _reason(value):
    try:
        return SignReason(value)
    except ValueError:
        return value


class Verification:
    """The outcome of a verification. ``valid``, ``reason`` (SignReason),
    ``status`` (0 or the negative status), ``message`` (None when valid), and
    the fields the format carries (key_id / key_name, expires, ...)."""

    def __init__(self, status, message, **fields):
        self.status = status
        self.message = message
        self.__dict__.update(fields)
        self.reason = _reason(fields.get("reason", 0))

    @property
    def valid(self):
        return self.status == 0 and self.reason == SignReason.VALID

    def __bool__(self):
        return self.valid

    def __repr__(self):
        fields = ", ".join("%s=%r" % kv for kv in sorted(self.__dict__.items())
                           if kv[0] not in ("status", "message"))
        return "<Verification valid=%s %s>" % (self.valid, fields)


def _finish(rc, result, raise_on_error):
    if rc < 0:
        result.message = last_message(rc)
    if rc < 0 and raise_on_error:
        err = error_for(rc, result.message)
        err.reason = result.reason
        err.result = result
        raise err
    return result


def _ring(ring_or_key):
    """A KeyRing, or a one-key ring built around a Key (kept alive by the caller)."""
    if isinstance(ring_or_key, KeyRing):
        return ring_or_key
    if isinstance(ring_or_key, Key):
        return KeyRing([ring_or_key])
    raise TypeError("expected a libstream.KeyRing or Key, not %s" % type(ring_or_key).__name__)


def _key(key):
    if not isinstance(key, Key):
        raise TypeError("key must be a libstream.Key, not %s" % type(key).__name__)
    return key._cptr


# ---- native format -------------------------------------------------------

NATIVE_COOKIE_NAME = ffi.string(lib.STREAM_NATIVE_COOKIE_NAME).decode()
NATIVE_PATH_TOKEN = ffi.string(lib.STREAM_NATIVE_PATH_TOKEN).decode()


class NativeForm(enum.IntFlag):
    URL = lib.STREAM_NATIVE_FORM_URL
    PREFIX = lib.STREAM_NATIVE_FORM_PREFIX
    COOKIE = lib.STREAM_NATIVE_FORM_COOKIE
    PATH = lib.STREAM_NATIVE_FORM_PATH


def _native_sign_opts(keep, expires, not_before, ip, key_id):
    o = new_struct("stream_native_sign_options")
    if expires is None:
        raise TypeError("expires (Unix seconds) is required")
    set_int(o, "expires", expires)
    set_int(o, "not_before", not_before or 0, "not_before")
    o.ip = keep.cstr(ip, "ip", allow_none=True)
    o.key_id = keep.cstr(key_id, "key_id", allow_none=True)
    return o


def _native_call(fn, ring, args, expires, not_before, ip, key_id):
    keep = Keep()
    ring = _ring(ring)
    opts = _native_sign_opts(keep, expires, not_before, ip, key_id)
    out = ffi.new("char **")
    rc = fn(out, ring._cptr, *args, opts)
    if rc < 0:
        raise error_for(rc, last_message(rc))
    return take_string(out)


def native_url(ring, url, *, expires, not_before=0, ip=None, key_id=None):
    """Sign an exact URL (native HMAC-SHA256 format) with the ring's primary key or ``key_id``."""
    return _native_call(lib.stream_sign_native_url, ring, (to_cstr(url, "url"),),
                        expires, not_before, ip, key_id)


def native_prefix(ring, prefix, url=None, *, expires, not_before=0, ip=None, key_id=None):
    """Sign a URL prefix (query form): ``url`` + parameters, or only the parameters."""
    return _native_call(lib.stream_sign_native_prefix, ring,
                        (to_cstr(url, "url", allow_none=True), to_cstr(prefix, "prefix")),
                        expires, not_before, ip, key_id)


def native_cookie(ring, prefix, *, expires, not_before=0, ip=None, key_id=None):
    """The value of a NATIVE_COOKIE_NAME cookie covering ``prefix``."""
    return _native_call(lib.stream_sign_native_cookie, ring, (to_cstr(prefix, "prefix"),),
                        expires, not_before, ip, key_id)


def native_path(ring, prefix, rest=None, *, expires, not_before=0, ip=None, key_id=None):
    """``prefix`` + "stream-token=.../" + ``rest``: relative URIs inherit the token."""
    return _native_call(lib.stream_sign_native_path, ring,
                        (to_cstr(prefix, "prefix"), to_cstr(rest, "rest", allow_none=True)),
                        expires, not_before, ip, key_id)


def _native_verify_opts(leeway, forms):
    o = new_struct("stream_native_verify_options")
    set_int(o, "leeway", leeway, "leeway")
    set_int(o, "forms", int(forms), "forms")
    return o


def _native_result(rc, r, raise_on_error):
    res = Verification(rc, None, reason=r.reason, form=r.form, key_id=text(r.key_id),
                       expires=r.expires, not_before=r.not_before, ip=text(r.ip),
                       strip_offset=r.strip_offset, strip_len=r.strip_len)
    return _finish(rc, res, raise_on_error)


def native_verify(ring, url, *, client_ip=None, now=0, leeway=0, forms=0, raise_on_error=True):
    """Verify a request URL signed in any native form (detected). ``now`` 0 = current time."""
    ring = _ring(ring)
    r = ffi.new("stream_native_result *")
    rc = lib.stream_sign_native_verify(r, ring._cptr, to_cstr(url, "url"),
                                       to_cstr(client_ip, "client_ip", allow_none=True),
                                       to_int(now, "now"), _native_verify_opts(leeway, forms))
    return _native_result(rc, r, raise_on_error)


def native_verify_cookie(ring, url, cookie_value, *, client_ip=None, now=0, leeway=0, forms=0,
                         raise_on_error=True):
    """Verify a NATIVE_COOKIE_NAME cookie value for the request ``url``."""
    ring = _ring(ring)
    r = ffi.new("stream_native_result *")
    rc = lib.stream_sign_native_verify_cookie(
        r, ring._cptr, to_cstr(url, "url"), to_cstr(cookie_value, "cookie_value", allow_none=True),
        to_cstr(client_ip, "client_ip", allow_none=True), to_int(now, "now"),
        _native_verify_opts(leeway, forms))
    return _native_result(rc, r, raise_on_error)


# ---- Google Cloud CDN and Media CDN --------------------------------------

def _google_opts(expires, ttl):
    o = new_struct("stream_google_sign_options")
    if expires is None and ttl is None:
        raise TypeError("either expires (Unix seconds) or ttl (seconds) is required")
    set_int(o, "expires", expires or 0, "expires")
    set_int(o, "ttl", ttl or 0, "ttl")
    return o


def _google_sign(fn, key, args, expires, ttl):
    out = ffi.new("char **")
    rc = fn(out, _key(key), *args, _google_opts(expires, ttl))
    if rc < 0:
        raise error_for(rc, last_message(rc))
    return take_string(out)


def _google_request(keep, url, client_ip, headers, key_names, now):
    req = new_struct("stream_google_request")
    req.url = keep.cstr(url, "url")
    req.client_ip = keep.cstr(client_ip, "client_ip", allow_none=True)
    req.header_names, req.header_values, req.header_count = keep.headers(headers)
    req.key_names, req.key_name_count = keep.cstr_array(key_names, "key_names")
    set_int(req, "now", now or 0, "now")
    return req


def _google_verify(fn, ring, pre_args, url, client_ip, headers, key_names, now, raise_on_error):
    keep = Keep()
    ring = _ring(ring)
    req = _google_request(keep, url, client_ip, headers, key_names, now)
    out = ffi.new("stream_google_verification *")
    rc = fn(out, ring._cptr, *pre_args, req)
    res = Verification(rc, None, reason=out.reason, key_name=text(out.key_name),
                       expires=out.expires, starts=out.starts)
    return _finish(rc, res, raise_on_error)


def cloudcdn_sign_url(key, url, *, expires=None, ttl=None):
    """Cloud CDN signed URL (HMAC-SHA1; the key id is the KeyName)."""
    return _google_sign(lib.stream_cloudcdn_sign_url, key, (to_cstr(url, "url"),), expires, ttl)


def cloudcdn_sign_prefix(key, url_prefix, url=None, *, expires=None, ttl=None):
    """Cloud CDN signed URL prefix: ``url`` + policy parameters, or the parameters alone."""
    return _google_sign(lib.stream_cloudcdn_sign_prefix, key,
                        (to_cstr(url, "url", allow_none=True), to_cstr(url_prefix, "url_prefix")),
                        expires, ttl)


def cloudcdn_sign_cookie(key, url_prefix, *, expires=None, ttl=None):
    """``Cloud-CDN-Cookie=...`` for ``url_prefix`` (name and value)."""
    return _google_sign(lib.stream_cloudcdn_sign_cookie, key, (to_cstr(url_prefix, "url_prefix"),),
                        expires, ttl)


def cloudcdn_verify_url(ring, url, *, now=0, client_ip=None, headers=None, key_names=None,
                        raise_on_error=True):
    """Verify a Cloud CDN signed URL or URL prefix (key looked up by KeyName)."""
    return _google_verify(lib.stream_cloudcdn_verify_url, ring, (), url, client_ip, headers,
                          key_names, now, raise_on_error)


def cloudcdn_verify_cookie(ring, cookie, url, *, now=0, client_ip=None, headers=None,
                           key_names=None, raise_on_error=True):
    """Verify a ``Cloud-CDN-Cookie`` value for the request ``url``."""
    return _google_verify(lib.stream_cloudcdn_verify_cookie, ring,
                          (to_cstr(cookie, "cookie", allow_none=True),), url, client_ip, headers,
                          key_names, now, raise_on_error)


def mediacdn_sign_url(key, url, *, expires=None, ttl=None):
    """Media CDN signed URL (Ed25519 private key; the key id is the KeyName)."""
    return _google_sign(lib.stream_mediacdn_sign_url, key, (to_cstr(url, "url"),), expires, ttl)


def mediacdn_sign_prefix(key, url_prefix, url=None, *, expires=None, ttl=None):
    """Media CDN signed URL prefix."""
    return _google_sign(lib.stream_mediacdn_sign_prefix, key,
                        (to_cstr(url, "url", allow_none=True), to_cstr(url_prefix, "url_prefix")),
                        expires, ttl)


def mediacdn_sign_path_component(key, url_prefix, filename=None, *, expires=None, ttl=None):
    """``url_prefix`` + ``edge-cache-token=...`` + "/" + ``filename``."""
    return _google_sign(lib.stream_mediacdn_sign_path_component, key,
                        (to_cstr(url_prefix, "url_prefix"),
                         to_cstr(filename, "filename", allow_none=True)), expires, ttl)


def mediacdn_sign_cookie(key, url_prefix, *, expires=None, ttl=None):
    """``Edge-Cache-Cookie=...`` for ``url_prefix``."""
    return _google_sign(lib.stream_mediacdn_sign_cookie, key, (to_cstr(url_prefix, "url_prefix"),),
                        expires, ttl)


def mediacdn_verify_url(ring, url, *, now=0, client_ip=None, headers=None, key_names=None,
                        raise_on_error=True):
    """Verify a Media CDN signed URL, URL prefix or path component."""
    return _google_verify(lib.stream_mediacdn_verify_url, ring, (), url, client_ip, headers,
                          key_names, now, raise_on_error)


def mediacdn_verify_cookie(ring, cookie, url, *, now=0, client_ip=None, headers=None,
                           key_names=None, raise_on_error=True):
    """Verify an ``Edge-Cache-Cookie`` value for the request ``url``."""
    return _google_verify(lib.stream_mediacdn_verify_cookie, ring,
                          (to_cstr(cookie, "cookie", allow_none=True),), url, client_ip, headers,
                          key_names, now, raise_on_error)


_HMAC = {None: 0, "sha256": lib.STREAM_MEDIACDN_HMAC_SHA256, "sha1": lib.STREAM_MEDIACDN_HMAC_SHA1}


def mediacdn_token_sign(key, *, expires=None, ttl=None, starts=0, url_prefix=None, full_path=None,
                        path_globs=None, session_id=None, data=None, headers=None, ip_ranges=None,
                        hmac=None):
    """A Media CDN ``edge-cache-token`` value. Exactly one of url_prefix, full_path and
    path_globs. ``headers``: dict or (name, value) pairs. ``hmac``: "sha256" (default)
    or "sha1" for HMAC keys."""
    keep = Keep()
    o = new_struct("stream_mediacdn_token_options")
    if expires is None and ttl is None:
        raise TypeError("either expires (Unix seconds) or ttl (seconds) is required")
    if isinstance(hmac, str):
        hmac = hmac.lower()
    if hmac not in _HMAC:
        raise_invalid("hmac must be 'sha256' or 'sha1', not %r" % (hmac,))
    o.hmac = _HMAC[hmac]
    set_int(o, "expires", expires or 0, "expires")
    set_int(o, "ttl", ttl or 0, "ttl")
    set_int(o, "starts", starts or 0, "starts")
    o.url_prefix = keep.cstr(url_prefix, "url_prefix", allow_none=True)
    o.full_path = keep.cstr(full_path, "full_path", allow_none=True)
    o.path_globs = keep.cstr(path_globs, "path_globs", allow_none=True)
    o.session_id = keep.cstr(session_id, "session_id", allow_none=True)
    o.data = keep.cstr(data, "data", allow_none=True)
    o.header_names, o.header_values, o.header_count = keep.headers(headers)
    o.ip_ranges = keep.cstr(ip_ranges, "ip_ranges", allow_none=True)
    out = ffi.new("char **")
    rc = lib.stream_mediacdn_token_sign(out, _key(key), o)
    if rc < 0:
        raise error_for(rc, last_message(rc))
    return take_string(out)


def mediacdn_token_verify(ring, token, url, *, now=0, client_ip=None, headers=None,
                          key_names=None, raise_on_error=True):
    """Verify a Media CDN token for the request ``url`` (absolute URL or bare path).
    ``key_names`` lists the ring's keys to try (None: the primary key)."""
    return _google_verify(lib.stream_mediacdn_token_verify, ring,
                          (to_cstr(token, "token", allow_none=True),), url, client_ip, headers,
                          key_names, now, raise_on_error)


# ---- Amazon CloudFront ------------------------------------------------------

CLOUDFRONT_TEXT_MAX = lib.STREAM_CLOUDFRONT_TEXT_MAX


class CloudFrontHash(enum.IntEnum):
    """Hash of a CloudFront signature (stream_cloudfront_hash)."""
    SHA1 = lib.STREAM_CLOUDFRONT_SHA1
    SHA256 = lib.STREAM_CLOUDFRONT_SHA256


_CF_HASH = {None: 0, "sha1": CloudFrontHash.SHA1, "sha256": CloudFrontHash.SHA256}


def _cloudfront_opts(keep, expires, ttl, starts, ip, resource, hash, custom):
    o = new_struct("stream_cloudfront_sign_options")
    if expires is None and ttl is None:
        raise TypeError("either expires (Unix seconds) or ttl (seconds) is required")
    set_int(o, "expires", expires or 0, "expires")
    set_int(o, "ttl", ttl or 0, "ttl")
    set_int(o, "starts", starts or 0, "starts")
    o.ip = keep.cstr(ip, "ip", allow_none=True)
    o.resource = keep.cstr(resource, "resource", allow_none=True)
    if isinstance(hash, str) or hash is None:
        key = hash.lower().replace("-", "") if isinstance(hash, str) else None
        if key not in _CF_HASH:
            raise_invalid("unknown hash %r (sha1 or sha256)" % (hash,))
        hash = _CF_HASH[key]
    set_int(o, "hash", hash, "hash")
    o.custom = 1 if custom else 0
    return o


def cloudfront_sign_url(key, url, *, expires=None, ttl=None, starts=0, ip=None, resource=None,
                        hash=None, custom=False):
    """A CloudFront signed URL (RSA or ECDSA private key; its id is the Key-Pair-Id).
    A custom policy when ``starts`` (DateGreaterThan), ``ip`` (IPv4 or CIDR),
    ``resource`` (a policy Resource other than the URL, '*' and '?' wildcards) or
    ``custom`` is given, else canned. ``hash``: "sha1" (default) or "sha256"."""
    keep = Keep()
    o = _cloudfront_opts(keep, expires, ttl, starts, ip, resource, hash, custom)
    out = ffi.new("char **")
    rc = lib.stream_cloudfront_sign_url(out, _key(key), to_cstr(url, "url"), o)
    if rc < 0:
        raise error_for(rc, last_message(rc))
    return take_string(out)


def cloudfront_sign_cookies(key, resource, *, expires=None, ttl=None, starts=0, ip=None,
                            hash=None, custom=False):
    """CloudFront signed cookies for ``resource`` (a URL, or a pattern such as
    ``https://d111111abcdef8.cloudfront.net/v/abc/*``, which makes a custom policy) as a
    dict {cookie name: value} in the order CloudFront documents them. Add Domain, Path,
    Secure and HttpOnly when turning them into Set-Cookie headers."""
    keep = Keep()
    o = _cloudfront_opts(keep, expires, ttl, starts, ip, None, hash, custom)
    out = ffi.new("char **")
    rc = lib.stream_cloudfront_sign_cookies(out, _key(key), to_cstr(resource, "resource"), o)
    if rc < 0:
        raise error_for(rc, last_message(rc))
    lines = take_string(out)
    return dict(line.split("=", 1) for line in lines.splitlines() if line)


def _cloudfront_verify(fn, ring, pre_args, url, client_ip, now, raise_on_error):
    keep = Keep()
    ring = _ring(ring)
    req = new_struct("stream_cloudfront_request")
    req.url = keep.cstr(url, "url")
    req.client_ip = keep.cstr(client_ip, "client_ip", allow_none=True)
    set_int(req, "now", now or 0, "now")
    out = ffi.new("stream_cloudfront_verification *")
    rc = fn(out, ring._cptr, *pre_args, req)
    res = Verification(rc, None, reason=out.reason, key_pair_id=text(out.key_pair_id),
                       expires=out.expires, starts=out.starts, ip=text(out.ip) or None,
                       custom=bool(out.custom),
                       hash=CloudFrontHash(out.hash) if out.hash else None)
    return _finish(rc, res, raise_on_error)


def cloudfront_verify_url(ring, url, *, now=0, client_ip=None, raise_on_error=True):
    """Verify a CloudFront signed URL (key looked up by Key-Pair-Id; RSA or ECDSA,
    private or public)."""
    return _cloudfront_verify(lib.stream_cloudfront_verify_url, ring, (), url, client_ip, now,
                              raise_on_error)


def cloudfront_verify_cookies(ring, cookies, url, *, now=0, client_ip=None, raise_on_error=True):
    """Verify CloudFront signed cookies for the request ``url``. ``cookies``: the Cookie
    header value (str) or a dict {name: value} such as cloudfront_sign_cookies() returns."""
    if isinstance(cookies, dict):
        cookies = "; ".join("%s=%s" % kv for kv in cookies.items())
    return _cloudfront_verify(lib.stream_cloudfront_verify_cookies, ring,
                              (to_cstr(cookies, "cookies", allow_none=True),), url, client_ip,
                              now, raise_on_error)
