#!/usr/bin/python3
"""Build the cffi API-mode extension ``_libstream_cffi`` from the public headers.

The cdef is never written by hand: it is the C preprocessor's output over
``include/stream/stream.h`` with ``-DSTREAM_CFFI`` (STREAM_API expands to
nothing), ``-nostdinc`` and a directory of empty stand-ins for the standard
headers, so that ``size_t``, ``int64_t``... stay as names that cffi knows.
Integer ``#define STREAM_*`` constants come from ``cc -dM -E`` and are added
as ``#define NAME ...`` (the value is then checked by the C compiler when
the extension is built). For each ``STREAM_X_OPTIONS_INIT`` macro whose
``stream_x_options`` type exists, a small C initialiser is generated so that
Python gets option structs exactly as C does.

Run by meson (see meson.build); usable by hand:

    build_ffi.py --cc cc --src-include include --build-include build/include \\
                 --lib build/libstream/libstream.so.0.1.0 --outdir build/bindings/python \\
                 --package bindings/python/libstream --output _libstream_cffi.<EXT_SUFFIX>
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile

# Standard headers the public headers may include. They are replaced by empty
# files: the typedef names they provide are built into cffi.
FAKE_HEADERS = ("stddef.h", "stdint.h", "stdbool.h", "time.h", "inttypes.h", "limits.h")

# Integer constant expressions only: digits, hex, suffixes, operators, parentheses.
INT_EXPR = re.compile(r"^[\s0-9a-fA-FxXuUlL()<>|&^~+\-*/%]+$")


def run(cmd, **kw):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if proc.returncode != 0:
        sys.stderr.write("command failed: %s\n%s" % (" ".join(cmd), proc.stderr))
        sys.exit(1)
    return proc.stdout


def preprocess(cc, flags, header, extra=()):
    return run(cc + ["-E", "-P", "-nostdinc", "-DSTREAM_CFFI", "-std=c11"] + flags + list(extra) +
               [header])


def macro_constants(cc, flags, header, workdir):
    """Integer STREAM_* macros as {name: value} (value from Python, used to check),
    and STREAM_*_OPTIONS_INIT names."""
    defs = preprocess(cc, flags, header, ["-dM"])
    names = []
    inits = []
    for line in defs.splitlines():
        m = re.match(r"#define (STREAM_[A-Z0-9_]+)(\(.*?\))?\s*(.*)$", line)
        if not m or m.group(2):  # function-like macros are not constants
            continue
        name, body = m.group(1), m.group(3).strip()
        if name.endswith("_INIT") and not m.group(2):
            inits.append(name)
        elif body and name not in ("STREAM_API", "STREAM_CFFI"):
            names.append(name)
    # Expand every candidate once with the same preprocessor, then keep the
    # ones whose expansion is an integer constant expression.
    probe = os.path.join(workdir, "probe.h")
    with open(probe, "w") as f:
        f.write('#include "stream/stream.h"\n')
        for n in names:
            f.write('"%s" %s\n' % (n, n))  # a string literal is not expanded
    out = preprocess(cc, flags, probe)
    ints, strings = {}, {}
    for line in out.splitlines():
        m = re.match(r'^"(STREAM_[A-Z0-9_]+)" (.*)$', line)
        if not m:
            continue
        name, expr = m.group(1), m.group(2).strip()
        if INT_EXPR.match(expr):
            py = re.sub(r"(?<=[0-9a-fA-F])[uUlL]+\b", "", expr)
            try:
                ints[name] = int(eval(py, {"__builtins__": {}}, {}))  # digits/operators only
            except Exception:
                pass
        elif re.match(r'^"([^"\\]|\\.)*"$', expr):
            strings[name] = expr
    return ints, strings, inits


def split_statements(decls):
    """Top-level declarations (brace depth 0), each ending with ';'."""
    out, depth, cur = [], 0, []
    for ch in decls:
        cur.append(ch)
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == ";" and depth == 0:
            out.append("".join(cur))
            cur = []
    rest = "".join(cur).strip()
    if rest:
        out.append(rest)
    return out


def exported_symbols(libpath):
    """Names of the functions the built library exports, or None if nm is unavailable."""
    try:
        proc = subprocess.run(["nm", "-D", "--defined-only", libpath], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    except OSError:
        return None
    if proc.returncode != 0:
        return None
    return {line.split()[-1].split("@")[0] for line in proc.stdout.splitlines() if line.strip()}


def drop_unimplemented(decls, exported):
    """Remove function declarations the library does not export (yet): while
    modules are being written in parallel, a header may run ahead of its .c
    and the extension would otherwise fail to import. Each one is reported."""
    kept, dropped = [], []
    for st in split_statements(decls):
        body = st.strip()
        m = re.match(r"^[^(]*?\b(stream_[A-Za-z0-9_]+)\s*\(", body)
        if (exported is not None and m and not body.startswith("typedef")
                and "{" not in body and m.group(1) not in exported):
            dropped.append(m.group(1))
            continue
        kept.append(st)
    return "".join(kept), dropped


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cc", required=True, help="C compiler command (may contain spaces)")
    ap.add_argument("--src-include", required=True)
    ap.add_argument("--build-include", required=True)
    ap.add_argument("--lib", required=True, help="path of the built libstream shared library")
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--package", required=True, help="source dir of the pure-Python package")
    ap.add_argument("--output", required=True, help="file name of the extension to produce")
    ap.add_argument("--cdef-out", help="also write the generated cdef here")
    args = ap.parse_args()

    cc = args.cc.split()
    outdir = os.path.abspath(args.outdir)
    workdir = os.path.join(outdir, "_cffi_work")
    os.makedirs(workdir, exist_ok=True)
    fake = os.path.join(workdir, "fake_include")
    os.makedirs(fake, exist_ok=True)
    for h in FAKE_HEADERS:
        with open(os.path.join(fake, h), "w") as f:
            f.write("/* empty: cffi knows the standard typedef names */\n")
    src_inc = os.path.abspath(args.src_include)
    build_inc = os.path.abspath(args.build_include)
    flags = ["-I" + fake, "-I" + src_inc, "-I" + build_inc]
    header = os.path.join(src_inc, "stream", "stream.h")

    decls = preprocess(cc, flags, header)
    decls, dropped = drop_unimplemented(decls, exported_symbols(os.path.abspath(args.lib)))
    for name in dropped:
        sys.stderr.write("build_ffi.py: warning: %s is declared but not exported by %s; "
                         "left out of the bindings\n" % (name, os.path.basename(args.lib)))
    ints, strings, inits = macro_constants(cc, flags, header, workdir)

    cdef = [decls.strip(), ""]
    if dropped:
        cdef.append("/* declared but not exported by the library, left out: %s */" % ", ".join(dropped))
    cdef.append("/* integer macros from cc -dM -E */")
    for name in sorted(ints):
        cdef.append("#define %s ..." % name)
    cdef.append("/* string macros */")
    for name in sorted(strings):
        cdef.append("static const char *const %s;" % name)

    # Initialisers: stream_py_init_<x>(p) copies STREAM_X_INIT into a stream_x
    # (options structs and the like), so Python starts from the same defaults as C.
    helpers = []
    cdef.append("/* generated initialisers (STREAM_*_INIT) */")
    for name in sorted(inits):
        tname = "stream_" + name[len("STREAM_"):-len("_INIT")].lower()
        if not re.search(r"\b%s\s*;" % re.escape(tname), decls):
            continue  # an _INIT macro that is not a struct initialiser
        fn = "stream_py_init_" + tname[len("stream_"):]
        helpers.append("static void %s(%s *o) { %s tmp = %s; *o = tmp; }" % (fn, tname, tname, name))
        cdef.append("static void %s(%s *o);" % (fn, tname))
    # The one hand-written line: the Python side of stream_log_fn (libstream.set_log_callback).
    if "stream_log_set_callback" in decls:
        cdef.append('extern "Python" void stream_py_log_trampoline(int, const char *, const char *, void *);')
    cdef_text = "\n".join(cdef) + "\n"
    if args.cdef_out:
        with open(args.cdef_out, "w") as f:
            f.write(cdef_text)

    import cffi  # Debian's python3-cffi

    ffi = cffi.FFI()
    ffi.cdef(cdef_text)
    libpath = os.path.abspath(args.lib)
    libdir = os.path.dirname(libpath)
    source = '#include "stream/stream.h"\n' + "\n".join(helpers) + "\n"
    ffi.set_source("_libstream_cffi", source,
                   include_dirs=[src_inc, build_inc],
                   extra_link_args=[libpath, "-Wl,-rpath," + libdir])
    tmp = os.path.join(workdir, "tmp")
    os.makedirs(tmp, exist_ok=True)
    built = ffi.compile(tmpdir=tmp, verbose=False)
    target = os.path.join(outdir, os.path.basename(args.output))
    if os.path.basename(built) != os.path.basename(args.output):
        sys.stderr.write("cffi produced %s, expected %s (EXT_SUFFIX %s)\n" %
                         (built, args.output, sysconfig.get_config_var("EXT_SUFFIX")))
        sys.exit(1)
    shutil.copy2(built, target + ".tmp")
    os.replace(target + ".tmp", target)

    # The pure-Python package next to the extension, so that
    # PYTHONPATH=<builddir>/bindings/python is all that `import libstream` needs.
    pkg_dst = os.path.join(outdir, "libstream")
    staging = pkg_dst + ".new"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(os.path.abspath(args.package), staging,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.rmtree(pkg_dst, ignore_errors=True)
    os.replace(staging, pkg_dst)


if __name__ == "__main__":
    main()
