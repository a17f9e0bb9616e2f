"""CMCD, CTA-5004 Common Media Client Data (version 1): parse what a player sends, format it
for a player (stream/cmcd.h, docs/api/cmcd.md).

A CMCD payload as a dict of the keys present: integers (``br``, ``bl``, ``d``, ``mtp``...) as
``int``, ``pr`` as ``float``, strings (``sid``, ``cid``, ``nor``, ``nrr``) as ``str``, tokens
(``ot``, ``sf``, ``st``) as ``str``, booleans (``su``, ``bs``) as ``True``. Keys outside the
version 1 set (custom keys such as ``com.example-hello``, or later keys such as ``pb``) keep
their type: ``int``, ``float``, ``str`` (a string), :class:`Token`, or ``True``.

    >>> cmcd.parse('br=3000,ot=v,sid="s-1",su')
    {'br': 3000, 'ot': 'v', 'sid': 's-1', 'su': True}
    >>> cmcd.format({'bl': 21349, 'ot': 'v', 'sid': 's-1'}, 'query')
    'CMCD=bl%3D21300%2Cot%3Dv%2Csid%3D%22s-1%22'

Malformed payloads raise :class:`libstream.ProtocolError` naming the key and offset.
"""
from ._ffi import ffi, lib
from ._util import take_string, to_bytes, to_cstr
from .errors import check, raise_invalid

__all__ = ["parse", "parse_query", "format", "Token", "PAYLOAD", "QUERY", "HEADERS"]

PAYLOAD = "payload"
QUERY = "query"
HEADERS = "headers"
_MODES = {PAYLOAD: lib.STREAM_CMCD_PAYLOAD, QUERY: lib.STREAM_CMCD_QUERY,
          HEADERS: lib.STREAM_CMCD_HEADERS}

_INTS = ("br", "tb", "bl", "dl", "mtp", "rtp", "v")
_STRINGS = ("ot", "nor", "nrr", "cid", "sf", "sid", "st")
_BOOLS = ("su", "bs")


class Token(str):
    """A token value of an extra key (written bare, ``com.example-token=s``), as opposed to a
    string (written quoted)."""
    __slots__ = ()


def _new():
    c = ffi.new("stream_cmcd *")
    check(lib.stream_cmcd_init(c))
    return c


def _to_dict(c):
    out = {}
    for k in ("bl", "br"):
        if getattr(c, k) >= 0:
            out[k] = getattr(c, k)
    if c.bs:
        out["bs"] = True
    for k in ("cid",):
        if c.cid[0] != b"\0":
            out[k] = ffi.string(c.cid).decode()
    if c.d >= 0:
        out["d"] = int(c.d)
    for k in ("dl", "mtp"):
        if getattr(c, k) >= 0:
            out[k] = getattr(c, k)
    if c.nor[0] != b"\0":
        out["nor"] = ffi.string(c.nor).decode("utf-8")
    for k in ("nrr", "ot"):
        v = ffi.string(getattr(c, k)).decode()
        if v:
            out[k] = v
    if c.pr >= 0:
        out["pr"] = c.pr
    if c.rtp >= 0:
        out["rtp"] = c.rtp
    for k in ("sf", "sid", "st"):
        v = ffi.string(getattr(c, k)).decode()
        if v:
            out[k] = v
    if c.su:
        out["su"] = True
    for k in ("tb", "v"):
        if getattr(c, k) >= 0:
            out[k] = getattr(c, k)
    for i in range(min(c.n_extra, lib.STREAM_CMCD_EXTRA_MAX)):
        e = c.extra[i]
        key = ffi.string(e.key).decode()
        value = ffi.string(e.value).decode()
        if e.type == lib.STREAM_CMCD_BOOLEAN:
            out[key] = True
        elif e.type == lib.STREAM_CMCD_INTEGER:
            out[key] = int(value)
        elif e.type == lib.STREAM_CMCD_DECIMAL:
            out[key] = float(value)
        elif e.type == lib.STREAM_CMCD_TOKEN:
            out[key] = Token(value)
        else:
            out[key] = value
    return out


def parse(*payloads):
    """The keys of one CMCD payload (a CMCD-* header value, or the URL-decoded value of the
    ``CMCD`` query argument) as a dict; several header shards may be given, parsed into one
    (a key given twice is an error). ``str`` or ``bytes``."""
    c = _new()
    for p in payloads:
        b = to_bytes(p, "payload")
        check(lib.stream_cmcd_parse(c, b, len(b)))
    return _to_dict(c)


def parse_query(query):
    """The keys of the ``CMCD`` argument of a raw (still URL-encoded) query string, without
    the '?'. Raises :class:`libstream.NotFound` when it has none."""
    c = _new()
    check(lib.stream_cmcd_parse_query(c, to_cstr(query, "query")))
    return _to_dict(c)


def _put_text(field, value, key):
    b = to_bytes(value, key)
    if len(b) >= len(field):
        raise_invalid("CMCD %s is %d bytes; at most %d" % (key, len(b), len(field) - 1))
    if b"\0" in b:
        raise_invalid("CMCD %s contains a NUL byte" % key)
    ffi.memmove(field, b + b"\0", len(b) + 1)


def _fill(keys):
    c = _new()
    for key, value in keys.items():
        if not isinstance(key, str):
            raise TypeError("CMCD keys must be str, not %s" % type(key).__name__)
        if value is None or value is False:
            continue  # absent; a false boolean is never sent
        if key in _INTS:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError("CMCD %s must be a number" % key)
            setattr(c, key, int(round(value)) if isinstance(value, float) else value)
        elif key in ("d", "pr"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError("CMCD %s must be a number" % key)
            setattr(c, key, float(value))
        elif key in _BOOLS:
            if value is not True:
                raise TypeError("CMCD %s must be True, False or None" % key)
            setattr(c, key, 1)
        elif key in _STRINGS:
            _put_text(getattr(c, key), value, key)
        else:
            if c.n_extra >= lib.STREAM_CMCD_EXTRA_MAX:
                raise_invalid("more than %d CMCD keys outside the version 1 set" %
                              lib.STREAM_CMCD_EXTRA_MAX)
            e = c.extra[c.n_extra]
            _put_text(e.key, key, "key")
            if value is True:
                e.type = lib.STREAM_CMCD_BOOLEAN
            elif isinstance(value, Token):
                e.type = lib.STREAM_CMCD_TOKEN
                _put_text(e.value, value, key)
            elif isinstance(value, str):
                e.type = lib.STREAM_CMCD_STRING
                _put_text(e.value, value, key)
            elif isinstance(value, int) and not isinstance(value, bool):
                e.type = lib.STREAM_CMCD_INTEGER
                _put_text(e.value, str(value), key)
            elif isinstance(value, float):
                e.type = lib.STREAM_CMCD_DECIMAL
                t = ("%.3f" % value).rstrip("0")  # RFC 8941: 1..3 fraction digits
                _put_text(e.value, t + "0" if t.endswith(".") else t, key)
            else:
                raise TypeError("CMCD %s: %s is not a CMCD value" % (key, type(value).__name__))
            c.n_extra += 1
    return c


def format(keys, mode=PAYLOAD):
    """The CMCD of a request from a dict of keys (None or False: absent): ``mode`` 'payload'
    (``br=200,bs,...``), 'query' (``CMCD=<URL-encoded payload>``, to append after '?' or '&'),
    or 'headers' (a dict of the CMCD-* header shards that have keys). Keys sorted, bl / dl
    rounded to 100 ms, mtp / rtp to 100 kbps, d to the ms; v and pr left out when 1."""
    if mode not in _MODES:
        raise_invalid("CMCD mode %r is not one of %s" % (mode, ", ".join(sorted(_MODES))))
    c = _fill(keys)
    out = ffi.new("char **")
    check(lib.stream_cmcd_format(out, c, _MODES[mode]))
    text = take_string(out)
    if mode != HEADERS:
        return text
    return dict(line.split(": ", 1) for line in text.split("\n") if line)
