"""Media: probe an input and transcode it into an ABR ladder of CMAF segments
with HLS and DASH manifests and thumbnails (``stream/media.h``).

    >>> info = libstream.media.probe("in.mp4")
    >>> summary = libstream.media.transcode("in.mp4", "out", ladder="720p,360p",
    ...                                     progress=lambda f, fps, eta: print(f))

``transcode`` blocks; raising from ``progress`` cancels the job (nothing is
left in ``outdir``) and the exception propagates. ``add_subtitles`` adds a
subtitle track to a packaged title as a new output directory.
"""
import json
import os

from ._ffi import ffi, lib
from ._util import new_struct, set_int, take_string, to_cstr
from .errors import check, raise_invalid

__all__ = ["probe", "transcode", "Job", "add_subtitles", "check_subtitle"]


def probe(path):
    """Describe a media file as a dict (container, duration, video, audio)."""
    out = ffi.new("char **")
    check(lib.stream_media_probe_json(out, to_cstr(path, "path")))
    return json.loads(take_string(out))


class Job:
    """A transcode job; see ``transcode`` for the arguments."""

    def __init__(self, input, outdir, ladder=None, x264_preset=None, segment_seconds=None,
                 thumbnails=True, threads=0, audio_bitrate=None, rungs=None, subtitles=None,
                 audio_tracks=None):
        o = new_struct("stream_media_job_options")
        def cstr(v, name, allow_none=False):
            b = to_cstr(v, name, allow_none)
            return ffi.NULL if b == ffi.NULL else ffi.new("char[]", b)

        # The C strings must live until stream_media_job_new has copied them.
        self._keep = [cstr(input, "input"), cstr(outdir, "outdir"),
                      cstr(ladder, "ladder", True), cstr(x264_preset, "x264_preset", True)]
        o.input, o.outdir = self._keep[0], self._keep[1]
        o.ladder, o.x264_preset = self._keep[2], self._keep[3]
        if segment_seconds is not None:
            o.segment_seconds = float(segment_seconds)
        o.thumbnails = 1 if thumbnails else 0
        set_int(o, "threads", threads)
        if audio_bitrate is not None:
            set_int(o, "audio_bitrate", audio_bitrate)
        if rungs:
            if len(rungs) > lib.STREAM_MEDIA_MAX_RUNGS:
                raise_invalid("at most %d rungs" % lib.STREAM_MEDIA_MAX_RUNGS)
            for i, r in enumerate(rungs):
                c = o.rungs[i]
                name = to_cstr(r.get("name", ""), "rung name")
                if len(name) >= 16:
                    raise_invalid("rung name %r is longer than 15 bytes" % name)
                ffi.memmove(c.name, name + b"\0", len(name) + 1)
                set_int(c, "height", r["height"])
                set_int(c, "width", r.get("width", 0))
                set_int(c, "bitrate", r["bitrate"])
                fps = r.get("fps")
                if fps is not None:
                    num, den = (fps, 1) if isinstance(fps, int) else fps
                    set_int(c, "fps_num", num)
                    set_int(c, "fps_den", den)
            o.rung_count = len(rungs)
        if subtitles:
            if len(subtitles) > lib.STREAM_MEDIA_MAX_SUBTITLES:
                raise_invalid("at most %d subtitle files" % lib.STREAM_MEDIA_MAX_SUBTITLES)
            for i, sub in enumerate(subtitles):
                if not isinstance(sub, dict) or "path" not in sub or "language" not in sub:
                    raise_invalid("subtitles[%d] needs 'path' and 'language'" % i)
                c = o.subtitles[i]
                self._keep.append(cstr(str(sub["path"]), "subtitle path"))
                c.path = self._keep[-1]
                self._keep.append(cstr(sub["language"], "subtitle language"))
                c.language = self._keep[-1]
                self._keep.append(cstr(sub.get("name"), "subtitle name", True))
                c.name = self._keep[-1]
                c.is_default = 1 if sub.get("default") else 0
                c.forced = 1 if sub.get("forced") else 0
            o.subtitle_count = len(subtitles)
        if audio_tracks is not None:
            tracks = list(audio_tracks)
            if len(tracks) > lib.STREAM_MEDIA_MAX_AUDIO:
                raise_invalid("at most %d audio tracks" % lib.STREAM_MEDIA_MAX_AUDIO)
            for i, t in enumerate(tracks):
                if isinstance(t, bool) or not isinstance(t, int) or not -2**31 <= t < 2**31:
                    raise_invalid("audio_tracks[%d] must be a stream index (int)" % i)
                o.audio_tracks[i] = t
            o.audio_track_count = len(tracks)
        out = ffi.new("stream_media_job **")
        check(lib.stream_media_job_new(out, o))
        self._job = ffi.gc(out[0], lib.stream_media_job_free)
        self._cb = None

    def cancel(self):
        """Ask a running job to stop (thread-safe)."""
        check(lib.stream_media_job_cancel(self._job))

    def run(self, progress=None):
        """Run the job (blocking) and return the summary dict."""
        errors = []
        if progress is not None:
            if not callable(progress):
                raise TypeError("progress must be callable(fraction, fps, eta)")
            job = self._job

            def trampoline(fraction, fps, eta, _ud):
                if errors:
                    return
                try:
                    progress(fraction, fps, eta)
                except BaseException as e:  # re-raised after the C call returns
                    errors.append(e)
                    lib.stream_media_job_cancel(job)

            self._cb = ffi.callback("stream_media_progress_fn", trampoline)
            check(lib.stream_media_job_set_progress(self._job, self._cb, ffi.NULL))
        rc = lib.stream_media_job_run(self._job)
        if errors:
            raise errors[0]
        check(rc)
        return self.summary()

    def summary(self):
        out = ffi.new("char **")
        check(lib.stream_media_job_summary(out, self._job))
        return json.loads(take_string(out))


def transcode(input, outdir, progress=None, ladder=None, x264_preset=None, segment_seconds=None,
              thumbnails=True, threads=0, audio_bitrate=None, rungs=None, subtitles=None,
              audio_tracks=None):
    """Transcode ``input`` into ``outdir`` (must not exist) and return the summary.

    ``ladder``: preset ("apple", "web", "small") or "1080p,720p,..."; ``rungs``: a
    custom ladder as dicts {"height", "bitrate", optional "width", "name", "fps"}.
    ``subtitles``: sidecar WebVTT/SRT files as dicts {"path", "language" (BCP 47),
    optional "name", "default", "forced"}; each becomes an HLS SUBTITLES rendition
    and a DASH text track (listed under "subtitles" in the summary).
    ``audio_tracks``: input stream indices of the audio tracks to encode, in order
    (as ``probe()["audio"][i]["index"]``); default: every audio track, each an AAC
    rendition with its BCP 47 "language" in the summary.
    ``progress(fraction, fps, eta_seconds)`` is called on the calling thread.
    """
    job = Job(input, outdir, ladder=ladder, x264_preset=x264_preset,
              segment_seconds=segment_seconds, thumbnails=thumbnails, threads=threads,
              audio_bitrate=audio_bitrate, rungs=rungs, subtitles=subtitles,
              audio_tracks=audio_tracks)
    return job.run(progress)


def _subtitle(path, language, name, default, forced):
    """A stream_media_subtitle and the C strings it points at (kept alive by the caller)."""
    t = ffi.new("stream_media_subtitle *")
    keep = []
    for field, value, label, allow_none in (("path", path, "path", True),
                                             ("language", language, "language", False),
                                             ("name", name, "name", True)):
        b = to_cstr(None if value is None else str(value) if field == "path" else value, label,
                    allow_none)
        c = ffi.NULL if b == ffi.NULL else ffi.new("char[]", b)
        keep.append(c)
        setattr(t, field, c)
    t.is_default = 1 if default else 0
    t.forced = 1 if forced else 0
    return t, keep


def check_subtitle(language, name=None, default=False, forced=False):
    """Check subtitle track metadata (BCP 47 language, name, flags) without any
    file; raises InvalidArgument naming the problem."""
    t, _keep = _subtitle(None, language, name, default, forced)
    check(lib.stream_media_subtitle_check(t))


def add_subtitles(srcdir, outdir, path, language, name=None, default=False, forced=False):
    """Add the subtitle file ``path`` (WebVTT, SRT, ...) as a ``language`` track
    to the title packaged in ``srcdir`` and write the result to ``outdir``
    (must not exist; unchanged segments are hard-linked, ``srcdir`` is left
    as it was). A track of the same language is replaced; ``default=True``
    makes it the only default. Returns the new summary dict."""
    t, _keep = _subtitle(path, language, name, default, forced)
    check(lib.stream_media_subtitles_add(to_cstr(str(srcdir), "srcdir"),
                                         to_cstr(str(outdir), "outdir"), t))
    with open(os.path.join(str(outdir), "summary.json"), encoding="utf-8") as f:
        return json.load(f)
