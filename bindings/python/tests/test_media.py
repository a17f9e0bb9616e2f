"""libstream.media: probe and transcode with a progress callback."""
import json
import os
import shutil
import subprocess

import pytest

import libstream

pytestmark = pytest.mark.skipif(not hasattr(libstream, "media"), reason="built without media")


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    if not shutil.which("ffmpeg"):
        pytest.fail("ffmpeg CLI is required (tools/install-deps.sh)")
    d = tmp_path_factory.mktemp("media")
    p = d / "src.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
                    "-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                    "-shortest", str(p)], check=True)
    return p


def test_probe(src):
    info = libstream.media.probe(src)
    assert info["video"]["width"] == 640
    assert info["video"]["height"] == 360
    assert info["video"]["fps"] == "30/1"
    assert len(info["audio"]) == 1
    with pytest.raises(libstream.StreamError) as e:
        libstream.media.probe(src.parent / "missing.mp4")
    assert "does not exist" in str(e.value)


def test_transcode_progress(src, tmp_path):
    seen = []
    out = tmp_path / "out"
    s = libstream.media.transcode(src, out, ladder="360p,234p", x264_preset="ultrafast",
                                  thumbnails=False, progress=lambda f, fps, eta: seen.append(f))
    assert seen and seen[-1] == 1.0
    assert seen == sorted(seen)
    kinds = [r["kind"] for r in s["renditions"]]
    assert kinds == ["video", "video", "audio"]
    assert abs(s["renditions"][0]["duration"] - 4.0) < 1 / 30 + 1e-6
    with open(out / "summary.json") as f:
        assert json.load(f)["renditions"][0]["id"] == s["renditions"][0]["id"]
    assert (out / "master.m3u8").exists()


def test_progress_exception_cancels(src, tmp_path):
    out = tmp_path / "out"

    def boom(f, fps, eta):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        libstream.media.transcode(src, out, ladder="360p", x264_preset="ultrafast", progress=boom)
    assert not out.exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith("out.partial-")]


def test_bad_options(src, tmp_path):
    with pytest.raises(libstream.StreamError):
        libstream.media.transcode(src, tmp_path / "o", ladder="999p")
    with pytest.raises(libstream.StreamError):
        libstream.media.transcode(src, tmp_path / "o", x264_preset="warp")


def test_transcode_subtitles(src, tmp_path):
    srt = tmp_path / "fr.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,000\n<i>Bonjour</i> café\n", encoding="utf-8")
    vtt = tmp_path / "en.vtt"
    vtt.write_text("WEBVTT\n\n00:00:00.500 --> 00:00:03.000\nHello\n", encoding="utf-8")
    out = tmp_path / "out"
    s = libstream.media.transcode(
        src, out, ladder="234p", x264_preset="ultrafast", thumbnails=False,
        subtitles=[{"path": srt, "language": "fr", "name": "Français", "default": True},
                   {"path": str(vtt), "language": "en", "forced": True}])
    subs = {t["language"]: t for t in s["subtitles"]}
    assert subs["fr"]["name"] == "Français" and subs["fr"]["default"] and not subs["fr"]["forced"]
    assert subs["en"]["name"] == "en" and subs["en"]["forced"] and subs["en"]["cues"] == 1
    seg = (out / "sub_fr" / "seg_00001.vtt").read_text(encoding="utf-8")
    assert seg.startswith("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n")
    assert "00:00:01.000 --> 00:00:02.000\n<i>Bonjour</i> café" in seg
    master = (out / "master.m3u8").read_text(encoding="utf-8")
    assert 'TYPE=SUBTITLES,GROUP-ID="subs",NAME="Français",LANGUAGE="fr",DEFAULT=YES' in master
    with pytest.raises(libstream.StreamError) as e:
        libstream.media.transcode(src, tmp_path / "bad", subtitles=[{"path": srt, "language": "??"}])
    assert "BCP 47" in str(e.value)
    with pytest.raises(libstream.StreamError) as e:
        libstream.media.transcode(src, tmp_path / "bad", ladder="234p", x264_preset="ultrafast",
                                  subtitles=[{"path": tmp_path / "nope.srt", "language": "en"}])
    assert "nope.srt" in str(e.value)
    assert not (tmp_path / "bad").exists()
    with pytest.raises(libstream.StreamError):
        libstream.media.transcode(src, tmp_path / "bad", subtitles=[{"path": srt}])


def test_add_subtitles(src, tmp_path):
    plain = tmp_path / "plain"
    libstream.media.transcode(src, plain, ladder="234p", x264_preset="ultrafast",
                              thumbnails=False, segment_seconds=2)
    srt = tmp_path / "de.srt"
    srt.write_text("1\n00:00:02,500 --> 00:00:03,500\nGuten Tag\n", encoding="utf-8")
    s = libstream.media.add_subtitles(plain, tmp_path / "v2", srt, "de", name="Deutsch",
                                      default=True)
    assert [(t["language"], t["name"], t["default"]) for t in s["subtitles"]] == \
        [("de", "Deutsch", True)]
    assert "Guten Tag" in (tmp_path / "v2" / "sub_de" / "seg_00002.vtt").read_text("utf-8")
    assert "Guten Tag" not in (tmp_path / "v2" / "sub_de" / "seg_00001.vtt").read_text("utf-8")
    assert not (plain / "sub_de").exists()
    # same language again: replaced, not added
    srt.write_text("1\n00:00:00,500 --> 00:00:01,000\nHallo\n", encoding="utf-8")
    s = libstream.media.add_subtitles(tmp_path / "v2", tmp_path / "v3", srt, "de")
    assert [t["name"] for t in s["subtitles"]] == ["de"]
    with pytest.raises(libstream.StreamError) as e:
        libstream.media.add_subtitles(plain, tmp_path / "v2", srt, "de")
    assert e.value.name == "STREAM_EEXIST"
    libstream.media.check_subtitle("pt-BR", name="Português", forced=True)
    with pytest.raises(libstream.InvalidArgument) as e:
        libstream.media.check_subtitle("pt_BR")
    assert "BCP 47" in str(e.value)


def test_audio_tracks(tmp_path):
    """Every audio track by default (BCP 47 languages, default track first);
    audio_tracks selects and orders; bad selections are refused."""
    src = tmp_path / "multi.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                    "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
                    "-map", "0:v", "-map", "1:a", "-map", "2:a", "-t", "2",
                    "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                    "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=ger",
                    str(src)], check=True)
    idx = [a["index"] for a in libstream.media.probe(src)["audio"]]
    assert idx == [1, 2]
    s = libstream.media.transcode(src, tmp_path / "all", ladder="234p", x264_preset="ultrafast",
                                  thumbnails=False)
    audio = [(r["dir"], r["language"]) for r in s["renditions"] if r["kind"] == "audio"]
    assert audio == [("audio_eng", "en"), ("audio_ger", "de")]
    master = (tmp_path / "all" / "master.m3u8").read_text()
    assert 'NAME="Deutsch",LANGUAGE="de",DEFAULT=NO' in master
    assert master.count("DEFAULT=YES") == 1
    s = libstream.media.transcode(src, tmp_path / "one", ladder="234p", x264_preset="ultrafast",
                                  thumbnails=False, audio_tracks=[2])
    assert [r["language"] for r in s["renditions"] if r["kind"] == "audio"] == ["de"]
    with pytest.raises(libstream.StreamError) as e:
        libstream.media.transcode(src, tmp_path / "bad", ladder="234p", audio_tracks=[2, 2])
    assert "selected twice" in str(e.value)
    with pytest.raises(libstream.StreamError) as e:
        libstream.media.transcode(src, tmp_path / "bad", ladder="234p", audio_tracks=[0])
    assert "stream 0" in str(e.value) and "not an audio track" in str(e.value)
    with pytest.raises(libstream.StreamError):
        libstream.media.transcode(src, tmp_path / "bad", audio_tracks=["1"])
    assert not (tmp_path / "bad").exists()
