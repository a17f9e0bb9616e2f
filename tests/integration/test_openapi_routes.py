#!/usr/bin/python3
"""Every route streamd registers (streamd --print-routes) is described in
docs/api/openapi.yaml with the same method, and every operation there is a
route streamd serves. The YAML is read with a minimal line parser (standard
library only): the `paths:` block, its path keys (2 spaces) and their method
keys (4 spaces); route patterns use the same {param} syntax as OpenAPI.

Usage: /usr/bin/python3 test_openapi_routes.py /path/to/streamd /path/to/openapi.yaml
"""
import re
import subprocess
import sys

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def yaml_operations(path):
    ops, in_paths, current = set(), False, None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            indent = len(line) - len(line.lstrip(" "))
            if indent == 0:
                in_paths = line.startswith("paths:")
                current = None
                continue
            if not in_paths:
                continue
            m = re.match(r"^  (['\"]?)(/[^'\"]*)\1:\s*$", line)
            if m:
                current = m.group(2)
                continue
            m = re.match(r"^    ([a-z]+):\s*$", line)
            if m and current and m.group(1) in METHODS:
                ops.add((m.group(1).upper(), current))
    return ops


def streamd_routes(streamd):
    out = subprocess.run([streamd, "--print-routes"], capture_output=True, check=True, timeout=30)
    routes = set()
    for line in out.stdout.decode().splitlines():
        method, pattern, role = line.split()
        assert role in ("public", "viewer", "operator"), line
        routes.add((method, pattern))
    return routes


def main():
    streamd, spec = sys.argv[1], sys.argv[2]
    routes, ops = streamd_routes(streamd), yaml_operations(spec)
    assert len(routes) >= 30, routes
    missing = sorted(routes - ops)
    extra = sorted(ops - routes)
    for m, p in missing:
        print("not in openapi.yaml: %s %s" % (m, p))
    for m, p in extra:
        print("in openapi.yaml but not served: %s %s" % (m, p))
    if missing or extra:
        return 1
    print("ok: %d routes, all described" % len(routes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
