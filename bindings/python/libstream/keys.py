"""Keys and key rings (HMAC secrets, Ed25519, RSA and ECDSA P-256 key pairs) for
signing and tokens.

A Key is immutable and may be shared by threads; a KeyRing locks internally.
Secret bytes only leave the C library through ``Key.export()``.
"""
import enum

from ._ffi import ffi, lib
from ._util import take_string, text, to_bytes, to_cstr, to_int
from .errors import check, raise_invalid

__all__ = ["KeyType", "KeyFormat", "Key", "KeyRing", "KEY_ID_MAX", "KEY_HMAC_MIN", "KEY_HMAC_MAX"]

KEY_ID_MAX = lib.STREAM_KEY_ID_MAX
KEY_HMAC_MIN = lib.STREAM_KEY_HMAC_MIN
KEY_HMAC_MAX = lib.STREAM_KEY_HMAC_MAX


class KeyType(enum.IntEnum):
    HMAC = lib.STREAM_KEY_HMAC
    ED25519_PRIVATE = lib.STREAM_KEY_ED25519_PRIVATE
    ED25519_PUBLIC = lib.STREAM_KEY_ED25519_PUBLIC
    RSA_PRIVATE = lib.STREAM_KEY_RSA_PRIVATE
    RSA_PUBLIC = lib.STREAM_KEY_RSA_PUBLIC
    EC_PRIVATE = lib.STREAM_KEY_EC_PRIVATE
    EC_PUBLIC = lib.STREAM_KEY_EC_PUBLIC


class KeyFormat(enum.IntEnum):
    BASE64URL = lib.STREAM_KEY_FORMAT_BASE64URL
    PEM = lib.STREAM_KEY_FORMAT_PEM


_TYPE_NAMES = {
    "hmac": KeyType.HMAC,
    "ed25519": KeyType.ED25519_PRIVATE,
    "ed25519-private": KeyType.ED25519_PRIVATE,
    "ed25519-public": KeyType.ED25519_PUBLIC,
    "rsa": KeyType.RSA_PRIVATE,
    "rsa-private": KeyType.RSA_PRIVATE,
    "rsa-public": KeyType.RSA_PUBLIC,
    "ec": KeyType.EC_PRIVATE,
    "ecdsa": KeyType.EC_PRIVATE,
    "ec-private": KeyType.EC_PRIVATE,
    "ec-public": KeyType.EC_PUBLIC,
}
_FORMAT_NAMES = {"base64url": KeyFormat.BASE64URL, "pem": KeyFormat.PEM}


def _enum_arg(value, names, what):
    if isinstance(value, str):
        try:
            return names[value.lower()]
        except KeyError:
            raise_invalid("unknown %s %r (one of: %s)" % (what, value, ", ".join(sorted(names))))
    # Unknown numbers go to the C library, which rejects them with its own message.
    return to_int(value, what)


def _key_type(value):
    return _enum_arg(value, _TYPE_NAMES, "key type")


class Key:
    """An immutable key. Create with the classmethods; free early with close() or ``with``."""

    __slots__ = ("_ptr", "__weakref__")

    def __init__(self):
        raise TypeError("use Key.generate(), Key.from_bytes(), Key.from_text(), "
                        "Key.load_file() or Key.load_env()")

    @classmethod
    def _wrap(cls, ptr):
        obj = object.__new__(cls)
        obj._ptr = ffi.gc(ptr, lib.stream_key_free)
        return obj

    @classmethod
    def _make(cls, fn, *args):
        out = ffi.new("stream_key **")
        check(fn(out, *args))
        return cls._wrap(out[0])

    @classmethod
    def generate(cls, type, id, hmac_len=0):
        """A new random key (RSA: 2048 bits; EC: P-256). ``hmac_len`` (HMAC only):
        16..128 bytes, 0 means 32."""
        return cls._make(lib.stream_key_generate, _key_type(type), to_cstr(id, "id"),
                         to_int(hmac_len, "hmac_len"))

    @classmethod
    def from_bytes(cls, type, id, data):
        """A key from raw bytes: HMAC secret, Ed25519 seed or Ed25519 public key, or
        the DER of an RSA / EC key."""
        b = to_bytes(data, "data")
        return cls._make(lib.stream_key_from_bytes, _key_type(type), to_cstr(id, "id"), b, len(b))

    @classmethod
    def from_text(cls, type, id, text):
        """A key from base64url/base64 text or (Ed25519) a PEM block; RSA and EC keys
        from PEM (PKCS#1, SEC1, PKCS#8, SubjectPublicKeyInfo)."""
        return cls._make(lib.stream_key_from_text, _key_type(type), to_cstr(id, "id"),
                         to_cstr(text, "text"))

    @classmethod
    def load_file(cls, type, id, path):
        """A key from a file holding the text form (at most 16 KiB)."""
        return cls._make(lib.stream_key_load_file, _key_type(type), to_cstr(id, "id"),
                         to_cstr(path, "path"))

    @classmethod
    def load_env(cls, type, id, name):
        """A key from the environment variable ``name`` (text form)."""
        return cls._make(lib.stream_key_load_env, _key_type(type), to_cstr(id, "id"),
                         to_cstr(name, "name"))

    @property
    def _cptr(self):
        if self._ptr is None:
            raise_invalid("the key is closed")
        return self._ptr

    @property
    def id(self):
        """The key id (str)."""
        return text(lib.stream_key_id(self._cptr))

    @property
    def type(self):
        """The KeyType."""
        return KeyType(lib.stream_key_type_of(self._cptr))

    def __len__(self):
        """Length of the secret (HMAC) or 32 (Ed25519), in bytes."""
        return lib.stream_key_length(self._cptr)

    def public(self):
        """The public Key of a private key (Ed25519, RSA or EC; same id)."""
        return Key._make(lib.stream_key_public, self._cptr)

    def public_bytes(self):
        """The 32 raw bytes of an Ed25519 public key (of a private or public key)."""
        buf = ffi.new("unsigned char[32]")
        check(lib.stream_key_public_bytes(buf, self._cptr))
        return bytes(buf)

    def export(self, format=KeyFormat.BASE64URL):
        """Reveal the key as text ("base64url" or "pem"). The C copy is wiped."""
        out = ffi.new("char **")
        check(lib.stream_key_export(out, self._cptr, _enum_arg(format, _FORMAT_NAMES, "key format")))
        return take_string(out, secret=True)

    def close(self):
        """Drop this reference now (key rings holding the key keep theirs)."""
        if self._ptr is not None:
            ffi.release(self._ptr)
            self._ptr = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        if self._ptr is None:
            return "<libstream.Key closed>"
        return "<libstream.Key id=%r type=%s>" % (self.id, self.type.name)


class KeyRing:
    """Keys by id with one primary key for new signatures. Thread-safe."""

    __slots__ = ("_ptr", "__weakref__")

    def __init__(self, keys=()):
        out = ffi.new("stream_keyring **")
        check(lib.stream_keyring_new(out))
        self._ptr = ffi.gc(out[0], lib.stream_keyring_free)
        for k in keys:
            self.add(k)

    @property
    def _cptr(self):
        if self._ptr is None:
            raise_invalid("the key ring is closed")
        return self._ptr

    def add(self, key):
        """Add a Key (the first added becomes the primary). Returns the ring."""
        if not isinstance(key, Key):
            raise TypeError("key must be a libstream.Key, not %s" % type(key).__name__)
        check(lib.stream_keyring_add(self._cptr, key._cptr))
        return self

    def remove(self, id):
        """Remove the key with this id (NotFound if absent)."""
        check(lib.stream_keyring_remove(self._cptr, to_cstr(id, "id")))

    def set_primary(self, id):
        """Make the key with this id the one used for new signatures."""
        check(lib.stream_keyring_set_primary(self._cptr, to_cstr(id, "id")))

    def get(self, id=None):
        """The Key with this id, or the primary key when id is None."""
        out = ffi.new("stream_key **")
        check(lib.stream_keyring_get(out, self._cptr, to_cstr(id, "id", allow_none=True)))
        return Key._wrap(out[0])

    @property
    def primary(self):
        """The primary Key (NotFound when there is none)."""
        return self.get(None)

    def __contains__(self, id):
        out = ffi.new("stream_key **")
        rc = lib.stream_keyring_get(out, self._cptr, to_cstr(id, "id"))
        if rc == 0:
            lib.stream_key_free(out[0])
            return True
        if rc == lib.STREAM_ENOTFOUND:
            return False
        check(rc)
        return False

    def __len__(self):
        return lib.stream_keyring_count(self._cptr)

    def close(self):
        if self._ptr is not None:
            ffi.release(self._ptr)
            self._ptr = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        if self._ptr is None:
            return "<libstream.KeyRing closed>"
        return "<libstream.KeyRing keys=%d>" % len(self)
