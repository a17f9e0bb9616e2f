"""The exception model: every negative status of the C library becomes a StreamError.

``StreamError.status`` is the int status (``lib.STREAM_EINVAL`` = -1 ...),
``.name`` its enum name ("STREAM_EINVAL") and ``.message`` the calling
thread's detailed message from ``stream_error_last()`` at the time of failure.
Subclasses exist per status so callers can catch what they mean; a few also
derive from the matching built-in (InvalidArgument is a ValueError,
NotFound a LookupError, OutOfMemory a MemoryError).
"""
from ._ffi import ffi, lib

__all__ = [
    "StreamError", "InvalidArgument", "OutOfMemory", "NotFound", "AlreadyExists", "AuthError",
    "Expired", "Forbidden", "Busy", "IOFailure", "ProtocolError", "MediaError", "OutOfRange",
    "NotSupported", "CryptoError", "Conflict", "TimedOut", "Canceled", "InternalError",
    "status_name", "strerror",
]

_STATUS_NAMES = dict(ffi.typeof("stream_status").elements)  # value -> "STREAM_E..."


def status_name(status):
    """The enum name of a status code ("STREAM_EINVAL"), or "STREAM_UNKNOWN(<n>)"."""
    return _STATUS_NAMES.get(status, "STREAM_UNKNOWN(%d)" % status)


def strerror(status):
    """The library's static English description of a status ("invalid argument")."""
    return ffi.string(lib.stream_strerror(int(status))).decode("utf-8", "replace")


class StreamError(Exception):
    """A libstream call failed. Carries ``status``, ``name`` and ``message``."""

    status = None  # set per subclass; instances always carry their own
    #: For verification failures of signed URLs/tokens: the SignReason and the
    #: full libstream.sign.Verification; None otherwise.
    reason = None
    result = None

    def __init__(self, status, message=None):
        self.status = int(status)
        self.name = status_name(self.status)
        self.message = message if message else strerror(self.status)
        super().__init__(self.message)

    def __str__(self):
        return "%s (%s)" % (self.message, self.name)

    def __repr__(self):
        return "%s(%d, %r)" % (type(self).__name__, self.status, self.message)

    def __reduce__(self):
        return (_rebuild, (self.status, self.message))


def _rebuild(status, message):
    return error_for(status, message)


class InvalidArgument(StreamError, ValueError):
    """STREAM_EINVAL: NULL, empty, malformed or otherwise invalid input."""


class OutOfMemory(StreamError, MemoryError):
    """STREAM_ENOMEM."""


class NotFound(StreamError, LookupError):
    """STREAM_ENOTFOUND: no such key id, variable, file..."""


class AlreadyExists(StreamError):
    """STREAM_EEXIST."""


class AuthError(StreamError):
    """STREAM_EAUTH: bad signature, bad password, unknown key."""


class Expired(StreamError):
    """STREAM_EEXPIRED: expired or not yet valid."""


class Forbidden(StreamError):
    """STREAM_EFORBIDDEN: valid credential, not for this resource."""


class Busy(StreamError):
    """STREAM_EBUSY."""


class IOFailure(StreamError):
    """STREAM_EIO: file or network I/O failed."""


class ProtocolError(StreamError):
    """STREAM_EPROTO."""


class MediaError(StreamError):
    """STREAM_EMEDIA."""


class OutOfRange(StreamError, ValueError):
    """STREAM_ERANGE: value or size outside the allowed range."""


class NotSupported(StreamError):
    """STREAM_ENOTSUP."""


class CryptoError(StreamError):
    """STREAM_ECRYPTO."""


class Conflict(StreamError):
    """STREAM_ECONFLICT."""


class TimedOut(StreamError):
    """STREAM_ETIMEDOUT."""


class Canceled(StreamError):
    """STREAM_ECANCELED."""


class InternalError(StreamError):
    """STREAM_EINTERNAL: a bug in libstream."""


class PaymentError(StreamError):
    """STREAM_EPAYMENT: the payment provider declined or failed a charge."""


_BY_STATUS = {
    lib.STREAM_EINVAL: InvalidArgument,
    lib.STREAM_ENOMEM: OutOfMemory,
    lib.STREAM_ENOTFOUND: NotFound,
    lib.STREAM_EEXIST: AlreadyExists,
    lib.STREAM_EAUTH: AuthError,
    lib.STREAM_EEXPIRED: Expired,
    lib.STREAM_EFORBIDDEN: Forbidden,
    lib.STREAM_EBUSY: Busy,
    lib.STREAM_EIO: IOFailure,
    lib.STREAM_EPROTO: ProtocolError,
    lib.STREAM_EMEDIA: MediaError,
    lib.STREAM_ERANGE: OutOfRange,
    lib.STREAM_ENOTSUP: NotSupported,
    lib.STREAM_ECRYPTO: CryptoError,
    lib.STREAM_ECONFLICT: Conflict,
    lib.STREAM_ETIMEDOUT: TimedOut,
    lib.STREAM_ECANCELED: Canceled,
    lib.STREAM_EINTERNAL: InternalError,
    lib.STREAM_EPAYMENT: PaymentError,
}
for _status, _cls in _BY_STATUS.items():
    _cls.status = _status


def error_for(status, message=None):
    """The StreamError subclass instance for ``status``."""
    return _BY_STATUS.get(status, StreamError)(status, message)


def last_message(status):
    """The calling thread's detailed message, if it belongs to ``status``."""
    err = lib.stream_error_last()
    if err == ffi.NULL or err.code != status:
        return None
    return ffi.string(err.message).decode("utf-8", "replace")


def check(rc):
    """Raise the matching StreamError when ``rc`` is negative; return ``rc`` otherwise."""
    if rc < 0:
        raise error_for(rc, last_message(rc))
    return rc


def raise_invalid(message):
    """Raise InvalidArgument for a problem found on the Python side."""
    raise InvalidArgument(lib.STREAM_EINVAL, message)
