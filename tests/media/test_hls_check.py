#!/usr/bin/python3
"""Runs hls_check.py on the manifest set written by the C writers (must pass),
then on broken copies of it (each must fail with the rule named).

Usage: test_hls_check.py MANIFEST_FIXTURE HLS_CHECK_PY
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

FIXTURE, CHECK = sys.argv[1], sys.argv[2]
failures = []


def run(d, *extra):
    p = subprocess.run([sys.executable, CHECK, *extra, d], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def edit(path, fn):
    with open(path) as f:
        text = f.read()
    new = fn(text)
    assert new != text, f"mutation of {path} changed nothing"
    with open(path, "w") as f:
        f.write(new)


def expect_ok(d, label):
    rc, out = run(d, "--strict")
    if rc != 0:
        failures.append(f"{label}: checker failed on a good set:\n{out}")


def expect_fail(base, label, rule, mutate):
    d = tempfile.mkdtemp(prefix="hlscheck-")
    try:
        shutil.copytree(base, d, dirs_exist_ok=True)
        mutate(d)
        rc, out = run(d)
        if rc == 0 or f"VIOLATION [{rule}]" not in out:
            failures.append(f"{label}: expected a [{rule}] violation, got rc={rc}:\n{out}")
    finally:
        shutil.rmtree(d)


def sub(rel, pattern, repl, count=0):
    return lambda d: edit(os.path.join(d, rel), lambda t: re.sub(pattern, repl, t, count=count))


with tempfile.TemporaryDirectory() as tmp:
    full = os.path.join(tmp, "full")
    vonly = os.path.join(tmp, "vonly")
    os.mkdir(full)
    os.mkdir(vonly)
    subprocess.run([FIXTURE, full], check=True)
    subprocess.run([FIXTURE, vonly, "video-only"], check=True)
    expect_ok(full, "full ladder")
    expect_ok(vonly, "video only")
    # also accepts the master playlist path
    rc, out = run(os.path.join(full, "master.m3u8"))
    if rc != 0:
        failures.append(f"master path: {out}")
    M = "master.m3u8"
    cases = [
        ("no AVERAGE-BANDWIDTH", "9.14", sub(M, r",AVERAGE-BANDWIDTH=\d+(?=,CODECS=\"avc1.640028,)", "")),
        ("no FRAME-RATE", "9.15", sub(M, r",FRAME-RATE=[0-9.]+", "", 1)),
        ("4-decimal FRAME-RATE", "9.15", sub(M, r"FRAME-RATE=29.970", "FRAME-RATE=29.9700", 1)),
        ("no CODECS", "9.1", sub(M, r",CODECS=\"avc1.64001f,mp4a.40.2\"", "", 1)),
        ("CODECS without audio", "9.1", sub(M, r"avc1.64001f,mp4a.40.2", "avc1.64001f", 1)),
        ("no RESOLUTION", "9.2", sub(M, r",RESOLUTION=1920x1080,FRAME", ",FRAME", 1)),
        ("no LANGUAGE", "8.10", sub(M, r',LANGUAGE="en"', "")),
        ("BANDWIDTH 15% high", "1.27", sub(M, r"BANDWIDTH=6330000", "BANDWIDTH=7300000")),
        ("AVERAGE 15% low", "1.26", sub(M, r"AVERAGE-BANDWIDTH=6228964", "AVERAGE-BANDWIDTH=5300000")),
        ("I-frame BANDWIDTH off", "1.27", sub(M, r"I-FRAME-STREAM-INF:BANDWIDTH=800000", "I-FRAME-STREAM-INF:BANDWIDTH=400000")),
        ("no I-frame playlists", "6.1", sub(M, r"#EXT-X-I-FRAME-STREAM-INF:[^\n]*\n", "")),
        ("no INDEPENDENT-SEGMENTS", "9.12", lambda d: [
            edit(os.path.join(d, M), lambda t: t.replace("#EXT-X-INDEPENDENT-SEGMENTS\n", "")),
            edit(os.path.join(d, "v540p2000/index.m3u8"), lambda t: t.replace("#EXT-X-INDEPENDENT-SEGMENTS\n", ""))]),
        ("no PLAYLIST-TYPE", "8.6", sub("v540p2000/index.m3u8", r"#EXT-X-PLAYLIST-TYPE:VOD\n", "")),
        ("no ENDLIST", "8.6", sub("audio_en/index.m3u8", r"#EXT-X-ENDLIST\n", "")),
        ("no EXT-X-MAP", "8.20", sub("v360p365/index.m3u8", r"#EXT-X-MAP:[^\n]*\n", "")),
        ("old VERSION with MAP", "RFC8216 7", sub("v360p365/index.m3u8", r"VERSION:7", "VERSION:3")),
        ("segment over target+0.5", "7.7", sub("v540p2000/index.m3u8", r"TARGETDURATION:6", "TARGETDURATION:5")),
        ("missing segment file", "files", lambda d: os.remove(os.path.join(d, "v1080p6000/seg_00002.m4s"))),
        ("missing init file", "files", lambda d: os.remove(os.path.join(d, "audio_en/init.mp4"))),
        ("missing media playlist", "files", lambda d: os.remove(os.path.join(d, "v360p365/index.m3u8"))),
        ("no I-FRAMES-ONLY", "6.8", sub("v1080p6000/iframes.m3u8", r"#EXT-X-I-FRAMES-ONLY\n", "")),
        ("I-frame range not at moof", "6.10", sub("v1080p6000/iframes.m3u8", r"175175@1501600", "175175@1501610", 1)),
        ("I-frame range past end", "RFC8216 4.3.2.2", sub("v1080p6000/iframes.m3u8", r"200200@100", "200200@1751700", 1)),
        ("I-frame without byte range", "6.10", sub("v540p2000/iframes.m3u8", r"#EXT-X-BYTERANGE:[^\n]*\n", "", 1)),
        ("segment file grew 30%", "1.27", lambda d: open(os.path.join(d, "v360p365/seg_00002.m4s"), "ab").write(b"\0" * 90000)),
        ("MPD segment missing", "files", sub("manifest.mpd", r"seg_\$Number%05d\$", "chunk_$Number%05d$", 1)),
        ("MPD not XML", "DASH", sub("manifest.mpd", r"</MPD>", "</MPX>")),
    ]
    for label, rule, fn in cases:
        expect_fail(full, label, rule, fn)
    # SHOULD rules are warnings: exit 0 normally, 1 with --strict
    d = tempfile.mkdtemp(prefix="hlscheck-")
    shutil.copytree(full, d, dirs_exist_ok=True)
    edit(os.path.join(d, M), lambda t: t.replace(",DEFAULT=YES", ""))
    rc1, out1 = run(d)
    rc2, out2 = run(d, "--strict")
    if rc1 != 0 or rc2 == 0 or "warning [" not in out2:
        failures.append(f"SHOULD rule: rc={rc1}/{rc2}\n{out1}\n{out2}")
    shutil.rmtree(d)
    # a missing output dir fails
    rc, out = run(os.path.join(tmp, "nope"))
    if rc == 0:
        failures.append("missing dir accepted")

for f in failures:
    print("FAIL", f)
print(f"test_hls_check: {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
