"""Conversions between Python values and C arguments (internal)."""
import json
import operator
import os
import threading
import time

from ._ffi import ffi, lib
from .errors import check, raise_invalid


def to_bytes(value, name, allow_none=False):
    """``str`` (UTF-8 encoded) or a bytes-like object as ``bytes``."""
    if value is None:
        if allow_none:
            return None
        raise TypeError("%s must be str or bytes, not None" % name)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError("%s must be str or bytes, not %s" % (name, type(value).__name__))


def to_cstr(value, name, allow_none=False):
    """A NUL-free C string argument (bytes), or ffi.NULL when None is allowed."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    b = to_bytes(value, name, allow_none)
    if b is None:
        return ffi.NULL
    if b"\0" in b:
        raise_invalid("%s contains a NUL byte" % name)
    return b


def to_int(value, name, allow_none=False):
    """An integer argument (bool is refused: it is almost always a mistake)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool):
        raise TypeError("%s must be an int, not bool" % name)
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError("%s must be an int, not %s" % (name, type(value).__name__)) from None


def text(cstr):
    """A borrowed C string as str (None for NULL)."""
    if cstr == ffi.NULL:
        return None
    return ffi.string(cstr).decode("utf-8", "replace")


def take_string(pp, secret=False):
    """Read the C string returned through ``char **pp`` and free it."""
    p = pp[0]
    if p == ffi.NULL:
        return None
    try:
        raw = ffi.string(p)
        return raw.decode("utf-8", "replace")
    finally:
        if secret:
            lib.stream_free_secret(p, len(raw))
        else:
            lib.stream_free(p)
        pp[0] = ffi.NULL


def take_json(pp):
    """Parse and free the JSON text a call wrote to ``char **pp`` (None when NULL)."""
    s = take_string(pp)
    return None if s is None else json.loads(s)


def take_bytes(pp, n):
    """Read ``n`` bytes returned through ``unsigned char **pp`` and free them."""
    p = pp[0]
    if p == ffi.NULL:
        return b""
    try:
        return bytes(ffi.buffer(p, n))
    finally:
        lib.stream_free(p)
        pp[0] = ffi.NULL


def new_struct(tname):
    """A new ``tname *`` initialised from the header's STREAM_<TNAME>_INIT macro
    (through the initialiser build_ffi.py generates), so Python starts from
    exactly the defaults C code gets."""
    p = ffi.new(tname + " *")
    getattr(lib, "stream_py_init_" + tname[len("stream_"):])(p)
    return p


def set_int(struct, field, value, name=None):
    """Assign an int field, turning out-of-range values into OutOfRange."""
    from .errors import OutOfRange  # local: errors imports nothing from here

    v = to_int(value, name or field)
    try:
        setattr(struct, field, v)
    except OverflowError:
        raise OutOfRange(lib.STREAM_ERANGE, "%s=%d does not fit the C field" % (name or field, v)) \
            from None


class Keep:
    """Keeps the cdata behind borrowed C pointers alive for the duration of a call."""

    def __init__(self):
        self.refs = []

    def cstr(self, value, name, allow_none=False):
        b = to_cstr(value, name, allow_none)
        if b is ffi.NULL:
            return b
        c = ffi.new("char[]", b)
        self.refs.append(c)
        return c

    def cstr_array(self, values, name):
        if values is None:
            return ffi.NULL, 0
        if isinstance(values, (str, bytes)):
            raise TypeError("%s must be a list of strings, not a single string" % name)
        items = [self.cstr(v, name) for v in values]
        arr = ffi.new("const char *[]", items or 1)
        self.refs.append(arr)
        return arr, len(items)

    def headers(self, headers, name="headers"):
        """(names, values, count) from a dict or a list of (name, value) pairs."""
        if headers is None:
            return ffi.NULL, ffi.NULL, 0
        pairs = list(headers.items()) if hasattr(headers, "items") else list(headers)
        for p in pairs:
            if not isinstance(p, (tuple, list)) or len(p) != 2:
                raise TypeError("%s must be a dict or a list of (name, value) pairs" % name)
        names, n = self.cstr_array([p[0] for p in pairs], name)
        values, _ = self.cstr_array([p[1] for p in pairs], name)
        return names, values, n


class Handle:
    """The lifetime of an object that owns one C handle: ``self._ptr`` holds its
    ``ffi.gc`` cdata (None before the constructor sets it and once closed);
    close() frees it now, the garbage collector otherwise. A context manager.
    ``_repr_name`` is the name repr() shows."""

    _ptr = None
    _repr_name = "libstream.Handle"

    def close(self):
        """Free the C handle now (not the objects it borrows). No call may be running."""
        p, self._ptr = self._ptr, None
        if p is not None:
            ffi.release(p)

    @property
    def closed(self):
        return self._ptr is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<%s%s>" % (self._repr_name, " closed" if self._ptr is None else "")


class ClockedHandle(Handle):
    """A Handle whose C options may take a clock: a Python callable returning
    Unix seconds, called from the thread making a call. An exception it raises
    is re-raised when that call returns (the call itself saw the system time)."""

    def _clock(self, ctype, clock):
        """Set up ``self._pending`` and ``self._clock_cb``: the ffi.callback of C
        type ``ctype`` calling ``clock``, or None without a clock. Returns it."""
        self._clock_cb = None
        self._pending = threading.local()
        if clock is None:
            return None
        if not callable(clock):
            raise TypeError("clock must be callable (returning Unix seconds)")
        pending = self._pending  # not self: the callback must not keep the object alive

        def trampoline(_ud):
            try:
                return int(clock())
            except BaseException as e:  # re-raised after the C call returns
                errs = getattr(pending, "errors", None)
                if errs is not None:
                    errs.append(e)
                return int(time.time())

        self._clock_cb = ffi.callback(ctype, trampoline)
        return self._clock_cb

    def _call(self, fn, *args):
        """Run fn(*args); re-raise a clock exception, else return the status."""
        self._pending.errors = []
        try:
            rc = fn(*args)
        finally:
            errs, self._pending.errors = self._pending.errors, None
        if errs:
            raise errs[0]
        return rc

    def _run(self, fn, *args):
        """check(fn(*args)), re-raising an exception of the clock first."""
        return check(self._call(fn, *args))

    def _json_call(self, fn, *args):
        """fn(char **out, *args) through _run; the parsed JSON it wrote (freed here)."""
        out = ffi.new("char **")
        try:
            self._run(fn, out, *args)
            return take_json(out)
        finally:
            if out[0] != ffi.NULL:
                lib.stream_free(out[0])
