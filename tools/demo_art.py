#!/usr/bin/python3
"""Placeholder artwork for the demo catalog (standard library + the ffmpeg CLI).

Every artwork URL of the catalog under /static/art/ (each title's `artwork` object, and any
`artwork` object of its seasons and episodes) becomes a JPEG in --out (the web root's
static/art/, served by streamd's --web-root): a two-colour linear gradient (ffmpeg `gradients`)
whose colours come from a hash of the title's id, so a title's poster and backdrop match and
every run draws the same picture, with the name in DejaVu Sans Bold when that font file exists
and ffmpeg has drawtext (otherwise the gradient alone). One frame, -q:v 3.

Size by kind (the artwork field's name): `poster` 400x600 (2:3, what the player's tiles show),
any other field (backdrop, still, ...) 1280x720 (16:9).

Files that exist are left alone (--force redraws them); each file is written under a hidden
temporary name in --out and renamed into place, so a reader never sees half an image and two
runs at once are harmless. URLs that are not a plain /static/art/<name>.jpg (an http URL, a
subfolder, "..") are skipped with a note. Exits 1 with a message when ffmpeg is missing (only
when something is to be drawn) or fails, 2 on a bad catalog.

`make run` (tools/run.sh) runs it before streamd starts; so does the browser test
(tests/integration/web). All images come from one ffmpeg run (its start-up is most of the
cost): the demo catalog's 44 in about 3 s on a busy 2-core machine.

usage: demo_art.py --catalog FILE --out DIR [--force] [--font TTF]
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
PREFIX = "/static/art/"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.jpe?g$")
SIZES = {"poster": (400, 600)}
DEFAULT_SIZE = (1280, 720)


def log(msg):
    print("art: " + msg, file=sys.stderr, flush=True)


def collect(catalog):
    """{file name: (kind, slug, text)} for every /static/art/ URL; the first mention wins."""
    found, skipped = {}, []

    def artwork(obj, slug, text):
        art = obj.get("artwork")
        if not isinstance(art, dict):
            return
        for field, url in art.items():
            if not isinstance(url, str) or not url:
                continue
            name = url[len(PREFIX):] if url.startswith(PREFIX) else ""
            if not NAME_RE.match(name) or ".." in name:
                skipped.append(url)
                continue
            found.setdefault(name, (field, slug, text))

    titles = catalog.get("titles") if isinstance(catalog, dict) else None
    if not isinstance(titles, list):
        raise ValueError("no \"titles\" list")
    for t in titles:
        if not isinstance(t, dict):
            continue
        slug = str(t.get("id") or "")
        name = str(t.get("name") or slug)
        artwork(t, slug, name)
        for s in t.get("seasons") or []:
            if not isinstance(s, dict):
                continue
            artwork(s, slug, "%s · Season %s" % (name, s.get("number", "")))
            for e in s.get("episodes") or []:
                if isinstance(e, dict):
                    artwork(e, slug, str(e.get("name") or name))
    return found, skipped


def colours(slug):
    """Two colours from the slug's SHA-256: hues apart, dark enough for white text."""
    h = hashlib.sha256(slug.encode()).digest()
    hue = h[0] / 255.0 * 360.0
    hue2 = (hue + 40 + h[1] / 255.0 * 100) % 360

    def rgb(hh, s, v):
        c = v * s
        x = c * (1 - abs((hh / 60.0) % 2 - 1))
        sextant = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c), (c, 0, x)]
        r, g, b = sextant[int(hh // 60) % 6]
        m = v - c
        return "0x%02x%02x%02x" % tuple(int(round((k + m) * 255)) for k in (r, g, b))

    return rgb(hue, 0.65, 0.55 + h[2] / 255.0 * 0.2), rgb(hue2, 0.75, 0.18 + h[3] / 255.0 * 0.12)


def wrap(text, width_px, size):
    """Word-wrapped lines for a font size (DejaVu Sans Bold averages ~0.66 em per glyph)."""
    per_line = max(4, int(width_px / (size * 0.66)))
    lines, cur = [], ""
    for word in text.split():
        if cur and len(cur) + 1 + len(word) > per_line:
            lines.append(cur)
            cur = word
        else:
            cur = (cur + " " + word).strip()
    if cur:
        lines.append(cur)
    return lines


def fescape(s):
    """A filter option value, escaped for the option parser and then for the graph parser."""
    s = re.sub(r"([\\':])", r"\\\1", s)
    return re.sub(r"([\\'\[\],;])", r"\\\1", s)


def chain(name, kind, slug, text, font, tmpdir):
    """The filter chain of one image: the gradient, then one centred drawtext per line."""
    w, h = SIZES.get(kind, DEFAULT_SIZE)
    c0, c1 = colours(slug or name)
    # From the top left corner to the bottom edge's middle (coordinates inside the frame:
    # gradients picks a random point for one outside it); seed 0: nothing else is random.
    filters = ["gradients=s=%dx%d:c0=%s:c1=%s:n=2:x0=0:y0=0:x1=%d:y1=%d:seed=0:d=1"
               % (w, h, c0, c1, w // 2, h - 1)]
    if font:
        size = max(24, w // 11) if kind == "poster" else max(40, w // 18)
        lines = wrap(text, w * 0.84, size)[:4]
        step = int(size * 1.2)
        top = h - int(h * 0.08) - step * len(lines)  # a block of lines near the bottom
        for i, line in enumerate(lines):
            # textfile (UTF-8, expansion off): a name needs no escaping for the filter graph
            tf = os.path.join(tmpdir, "%s.%d.txt" % (name, i))
            with open(tf, "w", encoding="utf-8") as f:
                f.write(line)
            filters.append("drawtext=fontfile=%s:textfile=%s:expansion=none:fontsize=%d:"
                           "fontcolor=white:shadowcolor=black@0.6:shadowx=2:shadowy=2:"
                           "x=(w-text_w)/2:y=%d"
                           % (fescape(font), fescape(tf), size, top + i * step))
    return ",".join(filters)


def draw(images, out, font):
    """Draws {name: (kind, slug, text)} with ONE ffmpeg run (its start-up dominates), each
    output under a hidden temporary name in `out`, then renames them into place."""
    tmpdir = tempfile.mkdtemp(prefix="demo-art-")
    tmps = {}
    try:
        graph, outputs = [], []
        for i, (name, (kind, slug, text)) in enumerate(sorted(images.items())):
            graph.append("%s[o%d]" % (chain(name, kind, slug, text, font, tmpdir), i))
            fd, tmps[name] = tempfile.mkstemp(prefix=".%s." % name, suffix=".tmp.jpg", dir=out)
            os.close(fd)
            outputs += ["-map", "[o%d]" % i, "-frames:v", "1", "-q:v", "3", "-pix_fmt", "yuvj420p",
                        "-f", "image2", "-update", "1", tmps[name]]
        r = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                            "-filter_complex", ";".join(graph)] + outputs,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError("ffmpeg failed (exit %d): %s"
                               % (r.returncode, r.stderr.strip()[-600:]))
        mask = os.umask(0)
        os.umask(mask)
        for name, tmp in sorted(tmps.items()):
            if os.path.getsize(tmp) == 0:
                raise RuntimeError("ffmpeg wrote no image for %s" % name)
            os.chmod(tmp, 0o666 & ~mask)  # mkstemp's 0600 -> what the umask allows
            os.replace(tmp, os.path.join(out, name))
    finally:
        for tmp in tmps.values():
            if os.path.exists(tmp):
                os.unlink(tmp)
        shutil.rmtree(tmpdir, ignore_errors=True)


def has_drawtext():
    r = subprocess.run(["ffmpeg", "-hide_banner", "-filters"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    return re.search(r"^\s*\S+\s+drawtext\s", r.stdout, re.M) is not None


def main():
    ap = argparse.ArgumentParser(description="placeholder artwork for the demo catalog")
    ap.add_argument("--catalog", required=True, help="the demo catalog JSON")
    ap.add_argument("--out", required=True, help="where /static/art/ is: <web_root>/static/art")
    ap.add_argument("--force", action="store_true", help="redraw files that exist")
    ap.add_argument("--font", default=FONT, help="TTF for the names ('' = no text)")
    a = ap.parse_args()
    started = time.monotonic()
    try:
        with open(a.catalog, encoding="utf-8") as f:
            found, skipped = collect(json.load(f))
    except (OSError, ValueError) as e:
        log("cannot read the catalog %s: %s" % (a.catalog, e))
        return 2
    for url in skipped:
        log("skipped %s (not a /static/art/<name>.jpg path)" % url)
    todo = sorted(n for n in found if a.force or not os.path.exists(os.path.join(a.out, n)))
    if not todo:
        log("all %d images present in %s" % (len(found), a.out))
        return 0
    if not shutil.which("ffmpeg"):
        log("ffmpeg is not installed (Debian: apt-get install ffmpeg); no artwork drawn")
        return 1
    os.makedirs(a.out, exist_ok=True)
    font = a.font if a.font and os.path.isfile(a.font) else ""
    if font and not has_drawtext():
        font = ""
    if not font:
        log("no font file or no drawtext filter: gradients without names")
    try:
        draw({n: found[n] for n in todo}, a.out, font)
    except (OSError, RuntimeError) as e:
        log(str(e))
        return 1
    log("drew %d of %d images into %s in %.1f s" % (len(todo), len(found), a.out,
                                                     time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
