"""Password hashing with Argon2id to PHC strings, and the raw Argon2id function.

Passwords may be ``str`` (UTF-8 encoded) or ``bytes``. ``verify()`` returns
True/False for match/mismatch and raises for a malformed or unsupported
stored string.
"""
from ._ffi import ffi, lib
from ._util import new_struct, set_int, take_string, to_bytes, to_cstr, to_int
from .errors import check

__all__ = ["hash", "verify", "needs_rehash", "argon2id_raw", "DEFAULT_M", "DEFAULT_T", "DEFAULT_P",
           "DEFAULT_SALT_LEN", "DEFAULT_HASH_LEN"]

DEFAULT_M = lib.STREAM_PASSWORD_DEFAULT_M
DEFAULT_T = lib.STREAM_PASSWORD_DEFAULT_T
DEFAULT_P = lib.STREAM_PASSWORD_DEFAULT_P
DEFAULT_SALT_LEN = lib.STREAM_PASSWORD_DEFAULT_SALT_LEN
DEFAULT_HASH_LEN = lib.STREAM_PASSWORD_DEFAULT_HASH_LEN


def _params(m_cost=None, t_cost=None, parallelism=None, hash_len=None, salt_len=None, salt=None):
    """(params cdata, keep-alive) from keyword arguments; None keeps the default."""
    p = new_struct("stream_password_params")
    for field, value in (("m_cost", m_cost), ("t_cost", t_cost), ("parallelism", parallelism),
                         ("hash_len", hash_len), ("salt_len", salt_len)):
        if value is not None:
            set_int(p, field, value)
    keep = None
    if salt is not None:
        b = to_bytes(salt, "salt")
        keep = ffi.new("unsigned char[]", b or b"\0")
        p.salt = keep
        if salt_len is None:
            set_int(p, "salt_len", len(b), "salt_len")
        elif salt_len != len(b):
            from .errors import raise_invalid
            raise_invalid("salt is %d bytes but salt_len is %d" % (len(b), salt_len))
    return p, keep


def hash(password, *, m_cost=None, t_cost=None, parallelism=None, hash_len=None, salt_len=None,
         salt=None):
    """Argon2id PHC string of ``password`` (defaults: m=19456 KiB, t=2, p=1, random
    16-byte salt, 32-byte tag). ``salt`` is for test vectors and migrations only."""
    pw = to_bytes(password, "password")
    params, _keep = _params(m_cost, t_cost, parallelism, hash_len, salt_len, salt)
    out = ffi.new("char **")
    check(lib.stream_password_hash(out, pw, len(pw), params))
    return take_string(out)


def verify(phc, password):
    """True when ``password`` matches the PHC string, False when it does not."""
    pw = to_bytes(password, "password")
    rc = lib.stream_password_verify(to_cstr(phc, "phc"), pw, len(pw))
    if rc == lib.STREAM_EAUTH:
        return False
    check(rc)
    return True


def needs_rehash(phc, *, m_cost=None, t_cost=None, parallelism=None, hash_len=None,
                 salt_len=None):
    """True when ``phc`` was made with other parameters than these (None: defaults)."""
    params, _keep = _params(m_cost, t_cost, parallelism, hash_len, salt_len)
    out = ffi.new("int *")
    check(lib.stream_password_needs_rehash(out, to_cstr(phc, "phc"), params))
    return bool(out[0])


def argon2id_raw(password, salt, *, length=32, secret=None, ad=None, m_cost=None, t_cost=None,
                 parallelism=None):
    """The bare Argon2id function (v=0x13): ``length`` tag bytes, with an optional
    ``secret`` (pepper, K) and associated data ``ad`` (X) as in RFC 9106."""
    pw = to_bytes(password, "password")
    s = to_bytes(salt, "salt")
    k = to_bytes(secret, "secret", allow_none=True) or b""
    x = to_bytes(ad, "ad", allow_none=True) or b""
    n = to_int(length, "length")
    if n < 0:
        from .errors import raise_invalid
        raise_invalid("length must be positive")
    params, _keep = _params(m_cost, t_cost, parallelism)
    out = ffi.new("unsigned char[]", max(n, 1))
    check(lib.stream_password_argon2id_raw(out, n, pw, len(pw), s, len(s), k or ffi.NULL, len(k),
                                           x or ffi.NULL, len(x), params))
    return bytes(ffi.buffer(out, n))
