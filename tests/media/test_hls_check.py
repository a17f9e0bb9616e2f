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
    # subtitles (fixture variant "subs": English default + forced French)
    subs = os.path.join(tmp, "subs")
    os.mkdir(subs)
    subprocess.run([FIXTURE, subs, "subs"], check=True)
    expect_ok(subs, "subtitles")
    SV = "sub_en/seg_00002.vtt"
    sub_cases = [
        ("variant without SUBTITLES", "subs", sub(M, r',SUBTITLES="subs"', "", 1)),
        ("undefined SUBTITLES group", "RFC8216 4.3.4.2", sub(M, r'SUBTITLES="subs"', 'SUBTITLES="text"', 1)),
        ("SUBTITLES without LANGUAGE", "8.10", sub(M, r'(TYPE=SUBTITLES[^\n]*),LANGUAGE="fr"', r"\1", 1)),
        ("SUBTITLES without NAME", "RFC8216 4.3.4.1", sub(M, r'(TYPE=SUBTITLES[^\n]*),NAME="English"', r"\1", 1)),
        ("SUBTITLES without URI", "RFC8216 4.3.4.1", sub(M, r',URI="sub_fr/index.m3u8"', "", 1)),
        ("duplicate subtitle NAME", "RFC8216 4.3.4.1.1", sub(M, r'NAME="Français \(forced\)"', 'NAME="English"', 1)),
        ("two DEFAULT=YES subtitles", "RFC8216 4.3.4.1.1", sub(M, r'(LANGUAGE="fr",)DEFAULT=NO', r"\1DEFAULT=YES", 1)),
        ("DEFAULT=YES with AUTOSELECT=NO", "RFC8216 4.3.4.1", sub(M, r'(LANGUAGE="en",DEFAULT=YES,)AUTOSELECT=YES', r"\1AUTOSELECT=NO", 1)),
        ("FORCED on audio", "RFC8216 4.3.4.1", sub(M, r'(TYPE=AUDIO[^\n]*)AUTOSELECT=YES', r"\1AUTOSELECT=YES,FORCED=NO", 1)),
        ("SUBTITLES on an I-frame entry", "RFC8216 4.3.4.3", sub(M, r'(I-FRAME-STREAM-INF:BANDWIDTH=800000)', r'\1,SUBTITLES="subs"', 1)),
        ("segment not WEBVTT", "RFC8216 3.5", sub(SV, r"^WEBVTT", "WEBVT", 1)),
        ("malformed X-TIMESTAMP-MAP", "RFC8216 3.5", sub(SV, r"MPEGTS:0", "MPEGTS:x", 1)),
        ("malformed cue time", "WebVTT", sub(SV, r"00:00:05.000 -->", "00:00:5.000 -->", 1)),
        ("cue ends before start", "WebVTT", sub(SV, r"--> 00:00:07.500", "--> 00:00:04.000", 1)),
        ("missing WebVTT segment", "files", lambda d: os.remove(os.path.join(d, "sub_fr/seg_00003.vtt"))),
        ("MPD text BaseURL missing", "files", lambda d: os.remove(os.path.join(d, "sub_en.vtt"))),
        ("MPD text without lang", "DASH", sub("manifest.mpd", r' lang="fr"', "", 1)),
    ]
    for label, rule, fn in sub_cases:
        expect_fail(subs, label, rule, fn)
    # X-TIMESTAMP-MAP missing is a SHOULD: warning only
    d = tempfile.mkdtemp(prefix="hlscheck-")
    shutil.copytree(subs, d, dirs_exist_ok=True)
    edit(os.path.join(d, SV), lambda t: re.sub(r"X-TIMESTAMP-MAP=[^\n]*\n", "", t))
    rc1, out1 = run(d)
    rc2, out2 = run(d, "--strict")
    if rc1 != 0 or rc2 == 0 or "warning [RFC8216 3.5]" not in out2:
        failures.append(f"X-TIMESTAMP-MAP SHOULD: rc={rc1}/{rc2}\n{out1}\n{out2}")
    shutil.rmtree(d)
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
