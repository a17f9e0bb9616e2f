"""Delivery: signed playback URLs for a session and the origin's request check
(signature, rendition cap, a file opened below the media root without any
way out, capped manifests, MIME types, ETags, cache policy).

    d = libstream.delivery.Delivery("https://media.example.com", ring, media_root="/srv/media")
    urls = d.sign("a1b2c3", max_height=720, expires=int(time.time()) + 6 * 3600)
    with d.open("GET", path, cookie=cookie_header) as f:   # raises Forbidden / NotFound ...
        os.sendfile(sock, f.fd, 0, f.size)
"""
import enum
import os

from ._ffi import ffi, lib
from ._util import Keep, new_struct, set_int, take_string, text, to_cstr, to_int
from .errors import check, error_for, last_message
from .keys import KeyRing

__all__ = ["Format", "Reason", "Kind", "Delivery", "Urls", "File", "mime_type", "reason_str",
           "filter_hls", "filter_dash"]


class Format(enum.IntEnum):
    """How playback URLs are signed (stream_delivery_format)."""
    NATIVE_PATH = lib.STREAM_DELIVERY_NATIVE_PATH
    NATIVE_COOKIE = lib.STREAM_DELIVERY_NATIVE_COOKIE
    CLOUDCDN = lib.STREAM_DELIVERY_CLOUDCDN
    MEDIACDN = lib.STREAM_DELIVERY_MEDIACDN
    CLOUDFRONT = lib.STREAM_DELIVERY_CLOUDFRONT


class Reason(enum.IntEnum):
    """Why the origin refused a request (stream_delivery_reason)."""
    OK = lib.STREAM_DELIVERY_OK
    BAD_PATH = lib.STREAM_DELIVERY_BAD_PATH
    SIGNATURE = lib.STREAM_DELIVERY_SIGNATURE
    ABOVE_CAP = lib.STREAM_DELIVERY_ABOVE_CAP
    NOT_FOUND = lib.STREAM_DELIVERY_NOT_FOUND
    METHOD = lib.STREAM_DELIVERY_METHOD


class Kind(enum.IntEnum):
    """What a request resolved to (stream_delivery_kind)."""
    OTHER = lib.STREAM_DELIVERY_KIND_OTHER
    MASTER = lib.STREAM_DELIVERY_KIND_MASTER
    MPD = lib.STREAM_DELIVERY_KIND_MPD
    PLAYLIST = lib.STREAM_DELIVERY_KIND_PLAYLIST
    SEGMENT = lib.STREAM_DELIVERY_KIND_SEGMENT


def mime_type(name):
    """The MIME type served for a file name ("application/vnd.apple.mpegurl")."""
    return text(lib.stream_delivery_mime_type(to_cstr(name, "name", allow_none=True)))


def reason_str(reason):
    """The library's English description of a Reason."""
    return text(lib.stream_delivery_reason_str(to_int(reason, "reason")))


def filter_hls(text_, max_height):
    """A multivariant playlist without the variants taller than ``max_height`` (0 = all)."""
    out = ffi.new("char **")
    check(lib.stream_delivery_filter_hls(out, to_cstr(text_, "text"), to_int(max_height,
                                                                              "max_height")))
    return take_string(out)


def filter_dash(text_, max_height):
    """An MPD without the Representations taller than ``max_height`` (0 = all)."""
    out = ffi.new("char **")
    check(lib.stream_delivery_filter_dash(out, to_cstr(text_, "text"), to_int(max_height,
                                                                               "max_height")))
    return take_string(out)


class Urls:
    """A session's signed URLs: ``prefix``, ``hls_url``, ``dash_url``, ``cookies`` (the
    Set-Cookie header values to send, one header each: one in the native cookie and Cloud CDN
    formats, three or four in the CloudFront format, [] in the path formats), ``cookie`` (the
    library's text: those values joined with "\n", or None) and ``expires``."""

    __slots__ = ("prefix", "hls_url", "dash_url", "cookie", "cookies", "expires")

    def __init__(self, u):
        self.prefix = text(u.prefix)
        self.hls_url = text(u.hls_url)
        self.dash_url = text(u.dash_url)
        self.cookie = text(u.cookie)
        self.cookies = self.cookie.split("\n") if self.cookie else []
        self.expires = u.expires

    def cookie_header(self):
        """The Cookie request header a browser sends back for ``cookies`` ("" for none)."""
        return "; ".join(c.split(";", 1)[0] for c in self.cookies)

    def __repr__(self):
        return "<Urls %s expires=%d>" % (self.hls_url, self.expires)


class File:
    """An opened origin file. ``fd`` belongs to this object until ``close()`` (or the end of
    a ``with`` block); ``detach()`` hands it over. Also ``kind``, ``size``, ``mtime``,
    ``etag``, ``content_type``, ``cache_control``, ``max_height``, ``expires``, ``asset_id``,
    ``rel_path``, ``via_cookie``."""

    def __init__(self, delivery, f):
        self._delivery = delivery
        self._f = f
        self.kind = Kind(f.kind)
        self.size = f.size
        self.mtime = f.mtime
        self.max_height = f.max_height
        self.expires = f.expires
        self.via_cookie = bool(f.via_cookie)
        self.etag = text(f.etag)
        self.content_type = text(f.content_type)
        self.cache_control = text(f.cache_control)
        self.asset_id = text(f.asset_id)
        self.rel_path = text(f.rel_path)

    @property
    def fd(self):
        return self._f.fd

    def manifest(self):
        """The text to serve for a MASTER or MPD file (filtered to the cap)."""
        out = ffi.new("char **")
        n = ffi.new("size_t *")
        check(lib.stream_delivery_manifest(out, n, self._delivery._cptr, self._f))
        return take_string(out)

    def read(self):
        """The whole file as bytes."""
        return os.pread(self._f.fd, self.size, 0)

    def detach(self):
        """Give up ownership of the fd and return it."""
        fd, self._f.fd = self._f.fd, -1
        return fd

    def close(self):
        lib.stream_delivery_file_clear(self._f)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        f = getattr(self, "_f", None)
        if f is not None:
            lib.stream_delivery_file_clear(f)


class Delivery:
    """A delivery handle over a KeyRing (kept alive by the handle). Thread-safe.
    ``cloudfront_hash`` (Format.CLOUDFRONT): 0 or CloudFrontHash.SHA1, or CloudFrontHash.SHA256
    (a fourth cookie, CloudFront-Hash-Algorithm=SHA256)."""

    def __init__(self, base_url, keys, media_root=None, format=Format.NATIVE_PATH, key_id=None,
                 leeway=0, manifest_max_age=0, cloudfront_hash=0):
        if not isinstance(keys, KeyRing):
            raise TypeError("keys must be a libstream.KeyRing, not %s" % type(keys).__name__)
        keep = Keep()
        o = new_struct("stream_delivery_options")
        o.base_url = keep.cstr(base_url, "base_url")
        o.media_root = keep.cstr(media_root, "media_root", allow_none=True)
        o.keys = keys._cptr
        set_int(o, "format", int(format))
        o.key_id = keep.cstr(key_id, "key_id", allow_none=True)
        set_int(o, "leeway", leeway)
        set_int(o, "manifest_max_age", manifest_max_age)
        set_int(o, "cloudfront_hash", int(cloudfront_hash))  # libstream.sign.CloudFrontHash
        out = ffi.new("stream_delivery **")
        check(lib.stream_delivery_new(out, o))
        self._keys = keys
        self._ptr = ffi.gc(out[0], lib.stream_delivery_free)

    @property
    def _cptr(self):
        return self._ptr

    def sign(self, asset_id, max_height, expires, client_ip=None):
        """Signed URLs of one session (Urls). ``max_height`` 0 = no cap."""
        u = ffi.new("stream_delivery_urls *")
        check(lib.stream_delivery_sign(u, self._ptr, to_cstr(asset_id, "asset_id"),
                                       to_int(max_height, "max_height"),
                                       to_int(expires, "expires"),
                                       to_cstr(client_ip, "client_ip", allow_none=True)))
        try:
            return Urls(u)
        finally:
            lib.stream_delivery_urls_clear(u)

    def open(self, method, path, query=None, cookie=None, client_ip=None, now=0):
        """Check a request and open its file (File). Refusals raise the StreamError of the
        status (Forbidden, Expired, NotFound, InvalidArgument, NotSupported) with
        ``.reason`` (Reason) and ``.sign_reason`` attached."""
        keep = Keep()
        r = new_struct("stream_delivery_request")
        r.method = keep.cstr(method, "method")
        r.path = keep.cstr(path, "path")
        r.query = keep.cstr(query, "query", allow_none=True)
        r.cookie = keep.cstr(cookie, "cookie", allow_none=True)
        r.client_ip = keep.cstr(client_ip, "client_ip", allow_none=True)
        set_int(r, "now", now)
        f = ffi.new("stream_delivery_file *")
        rc = lib.stream_delivery_open(f, self._ptr, r)
        if rc < 0:
            e = error_for(rc, last_message(rc))
            try:
                e.reason = Reason(f.reason)
            except ValueError:
                e.reason = f.reason
            e.sign_reason = f.sign_reason
            lib.stream_delivery_file_clear(f)
            raise e
        return File(self, f)
