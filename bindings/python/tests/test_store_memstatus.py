"""libstream.store.sqlite_memstatus_off(): SQLite's process-wide memory
statistics turned off before SQLite starts, refused (Busy) once it runs.
Process-wide state, so each case runs in a fresh interpreter; the statistics
are read with ctypes from the same libsqlite3 the library uses."""
import os
import subprocess
import sys

import pytest

store_mod = pytest.importorskip("libstream.store")
if not store_mod.AVAILABLE:  # pragma: no cover - client-only builds
    pytest.skip("libstream built without the server feature", allow_module_level=True)

import ctypes  # noqa: E402

_sq = ctypes.CDLL("libsqlite3.so.0")
if _sq.sqlite3_compileoption_used(b"DEFAULT_MEMSTATUS=0"):  # pragma: no cover - other builds
    pytest.skip("this libsqlite3 keeps no memory statistics by default", allow_module_level=True)

CHILD = r"""
import ctypes, sys
import libstream
from libstream.store import Store, sqlite_memstatus_off
sq = ctypes.CDLL("libsqlite3.so.0")
sq.sqlite3_memory_used.restype = ctypes.c_int64
if sys.argv[1] == "off":
    sqlite_memstatus_off()
with Store(sys.argv[2]) as st:
    assert st.schema_version > 0
    used = sq.sqlite3_memory_used()
    try:
        sqlite_memstatus_off()
        late = "ok"
    except libstream.Busy as e:
        late = "busy: " + e.message
print(used)
print(late)
"""


def run_child(mode, path):
    r = subprocess.run([sys.executable, "-c", CHILD, mode, str(path)], env=os.environ,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    used, late = r.stdout.strip().splitlines()[-2:]
    return int(used), late


def test_off_before_the_first_store(tmp_path):
    used, late = run_child("off", tmp_path / "off.db")
    assert used == 0  # no statistics kept: no global mutex per allocation
    assert late.startswith("busy: ") and "before SQLite is first used" in late, late


def test_on_by_default_and_refused_once_sqlite_runs(tmp_path):
    used, late = run_child("on", tmp_path / "on.db")
    assert used > 0
    assert late.startswith("busy: "), late
