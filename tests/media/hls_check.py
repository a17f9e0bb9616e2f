#!/usr/bin/python3
"""Checker of Apple's HLS authoring rules (media.md §2) for a packaged title.

Usage: hls_check.py [--strict] [--quiet] OUTDIR|master.m3u8

Checks what can be checked from the playlists' text and the files they point
at: CODECS / RESOLUTION / FRAME-RATE / AVERAGE-BANDWIDTH on every variant,
LANGUAGE on audio renditions, PLAYLIST-TYPE:VOD, EXT-X-MAP, ENDLIST, the
I-frame playlists (present, referenced, I-FRAMES-ONLY, byte ranges that start
with a `moof` box), EXT-X-INDEPENDENT-SEGMENTS, segment durations against the
target duration, declared bandwidths against the ones measured from the file
sizes (RFC 8216 §4.3.4.2 peak), and that every referenced file exists.
Subtitles (TYPE=SUBTITLES): URI, LANGUAGE and NAME present, distinct NAMEs and
at most one DEFAULT=YES per group, DEFAULT=YES only with AUTOSELECT=YES,
FORCED only on SUBTITLES, the group defined and referenced by every variant,
never SUBTITLES on an I-frame entry, WebVTT segments that start with WEBVTT
(and carry X-TIMESTAMP-MAP). When a manifest.mpd sits next to the master
playlist, its SegmentTemplate (or text BaseURL) files are checked too.

MUST rules are violations (exit status 1); SHOULD rules are warnings (exit
status 1 only with --strict). Standard library only.
"""
import math
import os
import re
import sys
import xml.etree.ElementTree as ET

ATTR_RE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')
AUDIO_CODECS = ("mp4a", "ac-3", "ec-3", "ac-4", "opus", "fLaC", "alac", "mp3")


class Report:
    def __init__(self):
        self.violations = []
        self.warnings = []

    def must(self, rule, where, msg):
        self.violations.append(f"VIOLATION [{rule}] {where}: {msg}")

    def should(self, rule, where, msg):
        self.warnings.append(f"warning [{rule}] {where}: {msg}")


def attrs(text):
    out = {}
    for k, v in ATTR_RE.findall(text):
        out[k] = v[1:-1] if v.startswith('"') and v.endswith('"') else v
    return out


def read_lines(path):
    with open(path, "r", encoding="utf-8") as f:
        return [ln.rstrip("\r\n") for ln in f]


class Playlist:
    """A parsed media (or I-frame) playlist."""

    def __init__(self, path, rep):
        self.path = path
        self.dir = os.path.dirname(path)
        self.name = os.path.relpath(path)
        self.tags = {}
        self.version = 1
        self.target = None
        self.segments = []  # dicts: uri, duration, byterange (len, off) or None
        self.map = None
        lines = read_lines(path)
        if not lines or lines[0].strip() != "#EXTM3U":
            rep.must("RFC8216 4.3.1.1", self.name, "first line is not #EXTM3U")
        duration = None
        byterange = None
        last_end = {}
        for ln in lines[1:]:
            ln = ln.strip()
            if not ln:
                continue
            if ln.startswith("#"):
                tag, _, value = ln.partition(":")
                self.tags.setdefault(tag, []).append(value)
                if tag == "#EXT-X-VERSION":
                    self.version = int(value) if value.isdigit() else 0
                elif tag == "#EXT-X-TARGETDURATION":
                    self.target = int(value) if value.isdigit() else None
                elif tag == "#EXTINF":
                    try:
                        duration = float(value.split(",")[0])
                    except ValueError:
                        rep.must("RFC8216 4.3.2.1", self.name, f"bad EXTINF '{value}'")
                        duration = 0.0
                elif tag == "#EXT-X-BYTERANGE":
                    byterange = value
                elif tag == "#EXT-X-MAP":
                    self.map = attrs(value)
                continue
            uri = ln
            rng = None
            if byterange is not None:
                n, _, o = byterange.partition("@")
                try:
                    n = int(n)
                    o = int(o) if o else last_end.get(uri, 0)
                    rng = (n, o)
                    last_end[uri] = n + o
                except ValueError:
                    rep.must("RFC8216 4.3.2.2", self.name, f"bad EXT-X-BYTERANGE '{byterange}'")
            if duration is None:
                rep.must("RFC8216 4.3.2.1", self.name, f"segment {uri} has no EXTINF")
                duration = 0.0
            self.segments.append({"uri": uri, "duration": duration, "range": rng})
            duration = None
            byterange = None

    def has(self, tag):
        return tag in self.tags

    def file(self, uri):
        return os.path.normpath(os.path.join(self.dir, uri))

    def spans(self):
        """(bytes, seconds) per segment, from byte ranges or file sizes."""
        out = []
        for s in self.segments:
            if s["range"]:
                size = s["range"][0]
            else:
                p = self.file(s["uri"])
                size = os.path.getsize(p) if os.path.isfile(p) else 0
            out.append((size, s["duration"]))
        return out

    def total(self):
        return sum(s["duration"] for s in self.segments)


def peak_rate(spans, target):
    """RFC 8216 §4.3.4.2: largest rate of contiguous runs of 0.5..1.5 target."""
    best = 0.0
    single = 0.0
    for i in range(len(spans)):
        b, d = spans[i]
        if d > 0:
            single = max(single, b * 8 / d)
        tb, td = 0, 0.0
        for j in range(i, len(spans)):
            tb += spans[j][0]
            td += spans[j][1]
            if td > 1.5 * target + 1e-9:
                break
            if td >= 0.5 * target - 1e-9 and td > 0:
                best = max(best, tb * 8 / td)
    return best if best > 0 else single


def average_rate(spans):
    tb = sum(b for b, _ in spans)
    td = sum(d for _, d in spans)
    return tb * 8 / td if td > 0 else 0.0


def within(declared, measured, tol=0.10):
    return abs(declared - measured) <= tol * declared


def check_media(pl, rep, iframes=False, video=True):
    n = pl.name
    if not pl.has("#EXT-X-TARGETDURATION") or pl.target is None:
        rep.must("RFC8216 4.3.3.1", n, "no valid EXT-X-TARGETDURATION")
        target = max([s["duration"] for s in pl.segments] + [1])
    else:
        target = pl.target
    if pl.tags.get("#EXT-X-PLAYLIST-TYPE", [""])[0] != "VOD":
        rep.must("8.6", n, "EXT-X-PLAYLIST-TYPE:VOD missing")
    if not pl.has("#EXT-X-ENDLIST"):
        rep.must("8.6", n, "EXT-X-ENDLIST missing (VOD)")
    if not pl.segments:
        rep.must("RFC8216", n, "no segments")
    fmp4 = any(s["uri"].endswith((".m4s", ".mp4", ".cmfv", ".cmfa")) for s in pl.segments)
    if fmp4 and pl.map is None:
        rep.must("8.20", n, "fMP4 segments without EXT-X-MAP")
    if pl.map is not None:
        uri = pl.map.get("URI")
        if not uri:
            rep.must("8.20", n, "EXT-X-MAP without URI")
        elif not os.path.isfile(pl.file(uri)):
            rep.must("files", n, f"EXT-X-MAP file {uri} does not exist")
        need = 5 if iframes else 6
        if pl.version < need:
            rep.must("RFC8216 7", n, f"EXT-X-MAP needs EXT-X-VERSION >= {need}, have {pl.version}")
    if any(s["range"] for s in pl.segments) and pl.version < 4:
        rep.must("RFC8216 7", n, f"EXT-X-BYTERANGE needs EXT-X-VERSION >= 4, have {pl.version}")
    if iframes:
        if not pl.has("#EXT-X-I-FRAMES-ONLY"):
            rep.must("6.8", n, "I-frame playlist without EXT-X-I-FRAMES-ONLY")
    for i, s in enumerate(pl.segments):
        d = s["duration"]
        if d <= 0:
            rep.must("RFC8216 4.3.2.1", n, f"segment {i} ({s['uri']}) has duration {d}")
        if int(math.floor(d + 0.5)) > target:
            rep.must("RFC8216 4.3.3.1", n,
                     f"segment {i} lasts {d:.6f} s, rounds above the target duration {target}")
        if not iframes and d > target + 0.5:
            rep.must("7.7", n, f"segment {i} lasts {d:.6f} s, more than target {target} + 0.5 s")
        p = pl.file(s["uri"])
        if not os.path.isfile(p):
            rep.must("files", n, f"segment {s['uri']} does not exist")
            continue
        size = os.path.getsize(p)
        if s["range"]:
            ln, off = s["range"]
            if ln <= 0 or off + ln > size:
                rep.must("RFC8216 4.3.2.2", n,
                         f"byte range {ln}@{off} outside {s['uri']} ({size} bytes)")
            elif iframes and fmp4:
                with open(p, "rb") as f:
                    f.seek(off)
                    head = f.read(8)
                if head[4:8] != b"moof":
                    rep.must("6.10", n, f"I-frame range {ln}@{off} of {s['uri']} does not "
                             f"start with a moof box (found {head[4:8]!r})")
        elif iframes:
            rep.must("6.10", n, f"I-frame entry {i} has no EXT-X-BYTERANGE")
    return target


VTT_TIME = r"(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})"
CUE_RE = re.compile(r"^" + VTT_TIME + r"[ \t]+-->[ \t]+" + VTT_TIME + r"(?:[ \t].*)?$")


def vtt_ms(h, m, s, ms):
    return ((int(h or 0) * 60 + int(m)) * 60 + int(s)) * 1000 + int(ms)


def check_webvtt(pl, rep):
    """RFC 8216 §3.5: every WebVTT segment is a WebVTT file; cue times parse."""
    for s in pl.segments:
        p = pl.file(s["uri"])
        if not os.path.isfile(p):
            continue  # reported by check_media
        try:
            with open(p, "r", encoding="utf-8") as f:
                text = f.read()
        except UnicodeDecodeError:
            rep.must("RFC8216 3.5", pl.name, f"{s['uri']} is not UTF-8 text")
            continue
        lines = text.replace("\r\n", "\n").split("\n")
        if not re.match(r"^\ufeff?WEBVTT([ \t].*)?$", lines[0]):
            rep.must("RFC8216 3.5", pl.name, f"{s['uri']} does not start with WEBVTT")
            continue
        header = []
        for ln in lines[1:]:
            if not ln.strip():
                break
            header.append(ln)
        if not any(h.startswith("X-TIMESTAMP-MAP=") for h in header):
            rep.should("RFC8216 3.5", pl.name, f"{s['uri']} has no X-TIMESTAMP-MAP header")
        for h in header:
            if h.startswith("X-TIMESTAMP-MAP=") and not re.fullmatch(
                    r"X-TIMESTAMP-MAP=(MPEGTS:\d+,LOCAL:" + VTT_TIME + r"|LOCAL:" + VTT_TIME +
                    r",MPEGTS:\d+)", h):
                rep.must("RFC8216 3.5", pl.name, f"{s['uri']}: malformed '{h}'")
        for ln in lines:
            if "-->" in ln:
                m = CUE_RE.match(ln.strip())
                if not m:
                    rep.must("WebVTT", pl.name, f"{s['uri']}: malformed cue timing '{ln}'")
                elif vtt_ms(*m.groups()[4:8]) < vtt_ms(*m.groups()[0:4]):
                    rep.must("WebVTT", pl.name, f"{s['uri']}: cue ends before it starts '{ln}'")


def check_master(master_path, rep):
    lines = read_lines(master_path)
    base = os.path.dirname(master_path)
    mname = os.path.relpath(master_path)
    if not lines or lines[0].strip() != "#EXTM3U":
        rep.must("RFC8216 4.3.1.1", mname, "first line is not #EXTM3U")
    independent = any(ln.strip() == "#EXT-X-INDEPENDENT-SEGMENTS" for ln in lines)
    variants, media, iframes = [], [], []
    pending = None
    for ln in lines[1:]:
        ln = ln.strip()
        if not ln:
            continue
        if ln.startswith("#EXT-X-STREAM-INF:"):
            pending = attrs(ln.split(":", 1)[1])
        elif ln.startswith("#EXT-X-MEDIA:"):
            media.append(attrs(ln.split(":", 1)[1]))
        elif ln.startswith("#EXT-X-I-FRAME-STREAM-INF:"):
            iframes.append(attrs(ln.split(":", 1)[1]))
            if "SUBTITLES" in iframes[-1]:
                rep.must("RFC8216 4.3.4.3", mname,
                         f"EXT-X-I-FRAME-STREAM-INF {iframes[-1].get('URI', '?')} has SUBTITLES")
        elif not ln.startswith("#"):
            if pending is None:
                rep.must("RFC8216 4.3.4.2", mname, f"URI {ln} without EXT-X-STREAM-INF")
            else:
                pending["URI"] = ln
                variants.append(pending)
                pending = None
    if not variants:
        rep.must("RFC8216 4.3.4.2", mname, "no EXT-X-STREAM-INF variant")

    cache = {}

    def load(uri, where):
        p = os.path.normpath(os.path.join(base, uri))
        if p in cache:
            return cache[p]
        if not os.path.isfile(p):
            rep.must("files", where, f"{uri} does not exist")
            cache[p] = None
            return None
        cache[p] = Playlist(p, rep)
        return cache[p]

    # audio and subtitle renditions
    groups = {}
    subs = {}
    targets = {}
    by_group = {}
    for m in media:
        by_group.setdefault((m.get("TYPE"), m.get("GROUP-ID")), []).append(m)
    for (typ, g), ms in by_group.items():
        names = [m.get("NAME") for m in ms]
        if len(set(names)) != len(names):
            rep.must("RFC8216 4.3.4.1.1", mname, f"{typ} group {g} has duplicate NAMEs {names}")
        if sum(m.get("DEFAULT") == "YES" for m in ms) > 1:
            rep.must("RFC8216 4.3.4.1.1", mname, f"{typ} group {g} has more than one DEFAULT=YES")
    for m in media:
        where = f"{mname} EXT-X-MEDIA {m.get('NAME', '?')}"
        for key in ("TYPE", "GROUP-ID", "NAME"):
            if key not in m:
                rep.must("RFC8216 4.3.4.1", where, f"{key} missing")
        if m.get("TYPE") != "VIDEO" and not m.get("LANGUAGE"):
            rep.must("8.10", where, "LANGUAGE missing")
        for key in ("DEFAULT", "AUTOSELECT"):
            if key not in m:
                rep.should("RFC8216 4.3.4.1", where, f"{key} missing")
        if "FORCED" in m and m.get("TYPE") != "SUBTITLES":
            rep.must("RFC8216 4.3.4.1", where, "FORCED on a rendition that is not SUBTITLES")
        if m.get("FORCED", "NO") not in ("YES", "NO"):
            rep.must("RFC8216 4.3.4.1", where, f"FORCED={m['FORCED']} (YES or NO)")
        if m.get("DEFAULT") == "YES" and m.get("AUTOSELECT", "YES") != "YES":
            rep.must("RFC8216 4.3.4.1", where, "DEFAULT=YES with AUTOSELECT other than YES")
        if m.get("TYPE") == "SUBTITLES":
            if not m.get("URI"):
                rep.must("RFC8216 4.3.4.1", where, "SUBTITLES rendition without URI")
            else:
                pl = load(m["URI"], where)
                if pl:
                    targets[pl.name] = check_media(pl, rep, video=False)
                    check_webvtt(pl, rep)
                    sp = pl.spans()
                    subs.setdefault(m.get("GROUP-ID"), []).append(
                        (peak_rate(sp, targets[pl.name]), average_rate(sp), pl.total()))
        if m.get("TYPE") == "AUDIO" and m.get("URI"):
            pl = load(m["URI"], where)
            if pl:
                targets[pl.name] = check_media(pl, rep, video=False)
                sp = pl.spans()
                groups.setdefault(m.get("GROUP-ID"), []).append(
                    (peak_rate(sp, targets[pl.name]), average_rate(sp), pl.total()))
    for g, rs in groups.items():
        if rs and not any(m.get("DEFAULT") == "YES" for m in media if m.get("GROUP-ID") == g):
            rep.should("RFC8216 4.3.4.1.1", mname, f"audio group {g} has no DEFAULT=YES rendition")

    durations = []
    for i, v in enumerate(variants):
        where = f"{mname} variant {v.get('URI')}"
        for key, rule in (("BANDWIDTH", "RFC8216 4.3.4.2"), ("AVERAGE-BANDWIDTH", "9.14"),
                          ("CODECS", "9.1"), ("RESOLUTION", "9.2"), ("FRAME-RATE", "9.15")):
            if key not in v:
                rep.must(rule, where, f"{key} missing")
        fr = v.get("FRAME-RATE")
        if fr is not None and not re.fullmatch(r"\d+(\.\d{1,3})?", fr):
            rep.must("9.15", where, f"FRAME-RATE '{fr}' is not a decimal with up to 3 decimals")
        elif fr is not None and float(fr) > 60.0:
            rep.must("1.19", where, f"FRAME-RATE {fr} above 60")
        if "RESOLUTION" in v and not re.fullmatch(r"\d+x\d+", v["RESOLUTION"]):
            rep.must("9.2", where, f"RESOLUTION '{v['RESOLUTION']}' malformed")
        audio = v.get("AUDIO")
        codecs = v.get("CODECS", "")
        if audio is not None:
            if audio not in groups and not any(m.get("GROUP-ID") == audio for m in media):
                rep.must("RFC8216 4.3.4.2", where, f"AUDIO group '{audio}' not defined")
            if codecs and not any(c.strip().startswith(AUDIO_CODECS) for c in codecs.split(",")):
                rep.must("9.1", where, f"CODECS '{codecs}' lacks the audio codec of group {audio}")
        sgroup = v.get("SUBTITLES")
        sub_groups = {m.get("GROUP-ID") for m in media if m.get("TYPE") == "SUBTITLES"}
        if sgroup is not None and sgroup not in sub_groups:
            rep.must("RFC8216 4.3.4.2", where, f"SUBTITLES group '{sgroup}' not defined")
        if sub_groups and sgroup is None:
            rep.must("subs", where, "no SUBTITLES attribute: the subtitle renditions "
                     f"{sorted(sub_groups)} are not reachable from this variant")
        pl = load(v["URI"], where)
        if not pl:
            continue
        targets[pl.name] = check_media(pl, rep, video=True)
        if not independent and not pl.has("#EXT-X-INDEPENDENT-SEGMENTS"):
            rep.must("9.12", pl.name, "EXT-X-INDEPENDENT-SEGMENTS in neither the multivariant "
                     "nor this media playlist")
        sp = pl.spans()
        peak, avg = peak_rate(sp, targets[pl.name]), average_rate(sp)
        durations.append((pl.name, pl.total()))
        apeak = aavg = 0.0
        for gp, ga, gt in groups.get(audio, []):
            apeak, aavg = max(apeak, gp), max(aavg, ga)
        # one subtitle track plays at a time: the largest of the group
        speak = max([gp for gp, _, _ in subs.get(sgroup, [])] + [0.0])
        savg = max([ga for _, ga, _ in subs.get(sgroup, [])] + [0.0])
        apeak, aavg = apeak + speak, aavg + savg
        try:
            bw = int(v.get("BANDWIDTH", "0"))
            abw = int(v.get("AVERAGE-BANDWIDTH", "0")) if "AVERAGE-BANDWIDTH" in v else None
        except ValueError:
            rep.must("RFC8216 4.3.4.2", where, "BANDWIDTH is not an integer")
            continue
        if bw <= 0 or not within(bw, peak + apeak):
            rep.must("1.27", where, f"BANDWIDTH {bw} not within 10% of the measured peak "
                     f"{peak + apeak:.0f} (video {peak:.0f} + audio {apeak:.0f})")
        if abw is not None and (abw <= 0 or not within(abw, avg + aavg)):
            rep.must("1.26", where, f"AVERAGE-BANDWIDTH {abw} not within 10% of the measured "
                     f"average {avg + aavg:.0f}")
        if avg > 0 and peak > 2 * avg:
            rep.should("1.30", where, f"peak {peak:.0f} above 200% of average {avg:.0f}")
        v["_avg"] = avg
    if variants and not independent:
        rep.should("9.11", mname, "EXT-X-INDEPENDENT-SEGMENTS missing from the multivariant "
                   "playlist")
    # 1.32: the ~2000 kbit/s variant first
    avgs = [v.get("_avg", 0) for v in variants]
    near = [i for i, a in enumerate(avgs) if 1.8e6 <= a <= 2.2e6]
    if near and 0 not in near:
        rep.should("1.32", mname, f"the ~2000 kbit/s variant {variants[near[0]]['URI']} is not "
                   "listed first")
    # 8.2 / 8.3: same target and content duration
    if len(set(targets.values())) > 1:
        rep.should("8.2", mname, f"media playlists have different target durations {targets}")
    if durations:
        lo = min(d for _, d in durations)
        hi = max(d for _, d in durations)
        if hi - lo > 1.0:
            rep.should("8.3", mname, f"variant durations differ: {durations}")

    # I-frame playlists
    if not iframes:
        rep.must("6.1", mname, "no EXT-X-I-FRAME-STREAM-INF (I-frame playlists)")
    for f in iframes:
        where = f"{mname} I-frame {f.get('URI')}"
        for key, rule in (("BANDWIDTH", "RFC8216 4.3.4.3"), ("CODECS", "9.3"),
                          ("RESOLUTION", "9.4"), ("URI", "RFC8216 4.3.4.3")):
            if key not in f:
                rep.must(rule, where, f"{key} missing")
        if "URI" not in f:
            continue
        pl = load(f["URI"], where)
        if not pl:
            continue
        t = check_media(pl, rep, iframes=True)
        sp = pl.spans()
        peak = peak_rate(sp, t)
        try:
            bw = int(f.get("BANDWIDTH", "0"))
        except ValueError:
            bw = 0
        if bw <= 0 or not within(bw, peak):
            rep.must("1.27", where, f"BANDWIDTH {bw} not within 10% of the measured I-frame "
                     f"peak {peak:.0f}")
        if "AVERAGE-BANDWIDTH" in f:
            avg = average_rate(sp)
            if not within(int(f["AVERAGE-BANDWIDTH"]), avg):
                rep.must("1.26", where, f"AVERAGE-BANDWIDTH {f['AVERAGE-BANDWIDTH']} not within "
                         f"10% of the measured {avg:.0f}")
    res_v = {v.get("RESOLUTION") for v in variants}
    res_i = {f.get("RESOLUTION") for f in iframes}
    for r in sorted(x for x in res_v - res_i if x):
        rep.should("6.1", mname, f"no I-frame playlist at resolution {r}")


def check_mpd(path, rep):
    name = os.path.relpath(path)
    base = os.path.dirname(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        rep.must("DASH", name, f"not well-formed XML: {e}")
        return
    ns = {"d": "urn:mpeg:dash:schema:mpd:2011"}
    if root.get("type") != "static":
        rep.must("DASH", name, "MPD is not static (VOD)")
    for key in ("profiles", "minBufferTime", "mediaPresentationDuration"):
        if not root.get(key):
            rep.must("DASH", name, f"MPD@{key} missing")
    for rep_el in root.iter("{urn:mpeg:dash:schema:mpd:2011}Representation"):
        rid = rep_el.get("id")
        where = f"{name} Representation {rid}"
        for key in ("bandwidth", "codecs"):
            if not rep_el.get(key):
                rep.must("DASH", where, f"@{key} missing")
        st = rep_el.find("d:SegmentTemplate", ns)
        aset = next((a for a in root.iter("{urn:mpeg:dash:schema:mpd:2011}AdaptationSet")
                     if rep_el in list(a)), None)
        base_url = rep_el.find("d:BaseURL", ns)
        if st is None and aset is not None and aset.get("contentType") == "text":
            if aset.get("mimeType") != "text/vtt" or not aset.get("lang"):
                rep.must("DASH", where, "text AdaptationSet without mimeType text/vtt or lang")
            if base_url is None or not (base_url.text or "").strip():
                rep.must("DASH", where, "text Representation without BaseURL")
            elif not os.path.isfile(os.path.join(base, base_url.text.strip())):
                rep.must("files", where, f"BaseURL {base_url.text.strip()} does not exist")
            continue
        if st is None:
            rep.must("DASH", where, "no SegmentTemplate")
            continue
        init = st.get("initialization", "").replace("$RepresentationID$", rid or "")
        if not os.path.isfile(os.path.join(base, init)):
            rep.must("files", where, f"initialization {init} does not exist")
        media = st.get("media", "").replace("$RepresentationID$", rid or "")
        number = int(st.get("startNumber", "1"))
        count = 0
        for s in st.iterfind("d:SegmentTimeline/d:S", ns):
            count += 1 + int(s.get("r", "0"))
        if count == 0:
            rep.must("DASH", where, "empty SegmentTimeline")
        for k in range(number, number + count):
            def sub(m):
                fmt = m.group(1)
                return ("%" + fmt[1:]) % k if fmt else str(k)
            f = re.sub(r"\$Number(%0?\d*d)?\$", sub, media)
            if not os.path.isfile(os.path.join(base, f)):
                rep.must("files", where, f"segment {f} does not exist")
                break


def main(argv):
    strict = "--strict" in argv
    quiet = "--quiet" in argv
    args = [a for a in argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    target = args[0]
    master = os.path.join(target, "master.m3u8") if os.path.isdir(target) else target
    rep = Report()
    if not os.path.isfile(master):
        rep.must("files", master, "multivariant playlist does not exist")
    else:
        try:
            check_master(master, rep)
        except (OSError, UnicodeDecodeError) as e:
            rep.must("files", master, f"cannot read: {e}")
        mpd = os.path.join(os.path.dirname(master), "manifest.mpd")
        if os.path.isfile(mpd):
            check_mpd(mpd, rep)
    for line in rep.violations + rep.warnings:
        print(line)
    failed = bool(rep.violations) or (strict and bool(rep.warnings))
    if not quiet:
        print(f"hls_check: {len(rep.violations)} violation(s), {len(rep.warnings)} warning(s)"
              f" -> {'FAIL' if failed else 'OK'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
