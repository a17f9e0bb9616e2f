"""Version, encodings, randomness and constant-time comparison (the core module)."""
from collections import namedtuple

from ._ffi import ffi, lib
from ._util import take_bytes, take_string, to_bytes, to_int
from .errors import check

__all__ = [
    "version", "version_number", "version_info", "VersionInfo", "VERSION_STRING",
    "base64_encode", "base64_decode", "hex_encode", "hex_decode", "random_bytes", "ct_equal",
    "B64_STD", "B64_URL", "B64_NOPAD",
]

B64_STD = lib.STREAM_B64_STD
B64_URL = lib.STREAM_B64_URL
B64_NOPAD = lib.STREAM_B64_NOPAD

VersionInfo = namedtuple("VersionInfo", "major minor patch")


def version():
    """The run-time release string of the loaded library, e.g. "0.1.0"."""
    return ffi.string(lib.stream_version()).decode("ascii")


def version_number():
    """The run-time release number 0x00MMmmpp of the loaded library."""
    return lib.stream_version_number()


def _version_info():
    n = lib.stream_version_number()
    return VersionInfo((n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF)


#: (major, minor, patch) of the loaded library.
version_info = _version_info()
#: The release the bindings were compiled against (STREAM_VERSION_STRING).
VERSION_STRING = ffi.string(lib.STREAM_VERSION_STRING).decode("ascii")


def _flags(url, pad):
    return (lib.STREAM_B64_URL if url else lib.STREAM_B64_STD) | (0 if pad else lib.STREAM_B64_NOPAD)


def base64_encode(data, url=False, pad=True):
    """Base64 of ``data`` (str is UTF-8 encoded) as str. ``url`` picks RFC 4648 §5."""
    b = to_bytes(data, "data")
    out = ffi.new("char **")
    n = ffi.new("size_t *")
    check(lib.stream_base64_encode(out, n, b, len(b), _flags(url, pad)))
    return take_string(out)


def base64_decode(text, url=False):
    """Decode base64 (padding optional; whitespace rejected) to bytes."""
    b = to_bytes(text, "text")
    out = ffi.new("unsigned char **")
    n = ffi.new("size_t *")
    check(lib.stream_base64_decode(out, n, b, len(b), _flags(url, True)))
    return take_bytes(out, n[0])


def hex_encode(data):
    """Lowercase hex of ``data`` as str."""
    b = to_bytes(data, "data")
    out = ffi.new("char **")
    check(lib.stream_hex_encode(out, b, len(b)))
    return take_string(out)


def hex_decode(text):
    """Decode hex (either case, even length) to bytes."""
    b = to_bytes(text, "text")
    out = ffi.new("unsigned char **")
    n = ffi.new("size_t *")
    check(lib.stream_hex_decode(out, n, b, len(b)))
    return take_bytes(out, n[0])


def random_bytes(n):
    """``n`` bytes from the operating system's CSPRNG (through OpenSSL)."""
    n = to_int(n, "n")
    if n < 0:
        raise ValueError("n must be >= 0")
    buf = ffi.new("unsigned char[]", max(n, 1))
    check(lib.stream_random_bytes(buf, n))
    return bytes(ffi.buffer(buf, n))


def ct_equal(a, b):
    """Compare two byte strings in time that depends only on their length."""
    a = to_bytes(a, "a")
    b = to_bytes(b, "b")
    if len(a) != len(b):
        return False
    return bool(lib.stream_ct_equal(a, b, len(a)))


# ---- logging ----------------------------------------------------------------

import enum as _enum
import threading as _threading


class LogLevel(_enum.IntEnum):
    DEBUG = lib.STREAM_LOG_DEBUG
    INFO = lib.STREAM_LOG_INFO
    WARN = lib.STREAM_LOG_WARN
    ERROR = lib.STREAM_LOG_ERROR
    OFF = lib.STREAM_LOG_OFF


_log_lock = _threading.Lock()
_log_fn = None


@ffi.def_extern(name="stream_py_log_trampoline")
def _log_trampoline(level, module, message, userdata):
    fn = _log_fn
    if fn is None:
        return
    try:
        fn(int(level), ffi.string(module).decode("utf-8", "replace") if module else "",
           ffi.string(message).decode("utf-8", "replace") if message else "")
    except Exception:  # a sink must not unwind into C
        pass


def set_log_callback(fn, min_level=LogLevel.INFO):
    """Send libstream's log messages at ``min_level`` or above to ``fn(level, module,
    message)`` (called from any libstream thread, with the GIL held). ``None`` restores
    the default (nothing logged). Exceptions raised by ``fn`` are ignored."""
    global _log_fn
    if fn is not None and not callable(fn):
        raise TypeError("fn must be callable or None")
    level = to_int(min_level, "min_level")
    with _log_lock:
        if fn is None:
            lib.stream_log_set_callback(ffi.NULL, ffi.NULL, level)
            _log_fn = None
        else:
            _log_fn = fn
            lib.stream_log_set_callback(lib.stream_py_log_trampoline, ffi.NULL, level)


__all__ += ["LogLevel", "set_log_callback"]
