"""The compiled cffi module (built by build_ffi.py into the build tree)."""
try:
    from _libstream_cffi import ffi, lib  # noqa: F401
except ImportError as exc:  # pragma: no cover - a setup problem, not a runtime one
    raise ImportError(
        "libstream: the compiled extension _libstream_cffi is missing; build with meson "
        "(ninja -C <builddir>) and set PYTHONPATH=<builddir>/bindings/python (%s)" % exc
    ) from exc

__all__ = ["ffi", "lib"]
