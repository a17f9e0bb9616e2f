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
