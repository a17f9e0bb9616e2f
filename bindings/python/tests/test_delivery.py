"""libstream.delivery: session signing, the origin check (cap, traversal, expiry),
capped manifests, MIME types, on a hand-made asset directory."""
import json
import os

import pytest

import libstream
from libstream import Key, KeyRing, delivery

BASE = "http://media.test"
NOW = 1750000000

MASTER = ("#EXTM3U\n#EXT-X-VERSION:7\n"
          "#EXT-X-STREAM-INF:BANDWIDTH=6000000,RESOLUTION=1920x1080\nv1080/index.m3u8\n"
          "#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720\nv720/index.m3u8\n"
          "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,RESOLUTION=1920x1080,URI=\"v1080/iframes.m3u8\"\n")


@pytest.fixture
def media(tmp_path):
    asset = tmp_path / "a1"
    for d, h in (("v1080", 1080), ("v720", 720)):
        (asset / d).mkdir(parents=True)
        (asset / d / "seg_00001.m4s").write_bytes(b"x" * h)
    (asset / "master.m3u8").write_text(MASTER)
    (asset / "summary.json").write_text(json.dumps({"renditions": [
        {"kind": "video", "dir": "v1080", "height": 1080},
        {"kind": "video", "dir": "v720", "height": 720}]}))
    os.symlink("/etc", asset / "etc")
    return tmp_path


@pytest.fixture
def d(media):
    ring = KeyRing([Key.from_bytes("hmac", "k1", bytes(range(32)))])
    return delivery.Delivery(BASE, ring, media_root=str(media))


def path_of(url, rest):
    return url[len(BASE):].rsplit("/", 1)[0] + "/" + rest


def test_sign_open_and_cap(d):
    u = d.sign("a1", 720, NOW + 60)
    assert u.prefix == BASE + "/v1/media/a1/h720/"
    assert "/h720/stream-token=Expires=%d&" % (NOW + 60) in u.hls_url
    assert u.dash_url.endswith("/manifest.mpd") and u.cookie is None
    with d.open("GET", path_of(u.hls_url, "v720/seg_00001.m4s"), now=NOW) as f:
        assert (f.kind, f.size, f.content_type) == (delivery.Kind.SEGMENT, 720, "video/iso.segment")
        assert f.cache_control == "public, max-age=31536000, immutable"
        assert f.read() == b"x" * 720 and f.etag.startswith('"')
    with pytest.raises(libstream.Forbidden) as ei:
        d.open("GET", path_of(u.hls_url, "v1080/seg_00001.m4s"), now=NOW)
    assert ei.value.reason == delivery.Reason.ABOVE_CAP
    with d.open("GET", path_of(u.hls_url, "master.m3u8"), now=NOW) as f:
        text = f.manifest()
    assert "1080" not in text and "v720/index.m3u8" in text
    with pytest.raises(libstream.Expired):
        d.open("GET", path_of(u.hls_url, "master.m3u8"), now=NOW + 60)
    with pytest.raises(libstream.Forbidden) as ei:
        d.open("GET", path_of(u.hls_url, "master.m3u8").replace("/h720/", "/h1080/"), now=NOW)
    assert ei.value.reason == delivery.Reason.SIGNATURE


@pytest.mark.parametrize("rest", ["../a1/master.m3u8", "%2e%2e/x", "etc/passwd", "summary.json",
                                  "v720/..\\x", ".hidden", "v720//seg_00001.m4s"])
def test_traversal_refused(d, rest):
    u = d.sign("a1", 0, NOW + 60)
    with pytest.raises((libstream.NotFound, libstream.InvalidArgument)):
        d.open("GET", path_of(u.hls_url, rest), now=NOW)


def test_cookie_format(media):
    ring = KeyRing([Key.from_bytes("hmac", "k1", bytes(range(32)))])
    d = delivery.Delivery(BASE, ring, media_root=str(media), format=delivery.Format.NATIVE_COOKIE)
    u = d.sign("a1", 720, NOW + 60)
    assert u.hls_url == BASE + "/v1/media/a1/h720/master.m3u8"
    cookie = u.cookie.split(";")[0]
    with d.open("HEAD", "/v1/media/a1/h720/v720/seg_00001.m4s", cookie=cookie, now=NOW) as f:
        assert f.via_cookie
        fd = f.detach()
    os.close(fd)
    with pytest.raises(libstream.NotSupported):
        d.open("POST", "/v1/media/a1/h720/master.m3u8", cookie=cookie, now=NOW)


@pytest.mark.parametrize("key_type", ["rsa", "ec"])
def test_cloudfront_format(media, key_type):
    key = Key.generate(key_type, "K2JCJMDEHXQW5F")
    d = delivery.Delivery(BASE, KeyRing([key]), media_root=str(media),
                          format=delivery.Format.CLOUDFRONT)
    u = d.sign("a1", 720, NOW + 60)
    assert u.hls_url == BASE + "/v1/media/a1/h720/master.m3u8"
    assert [c.split("=", 1)[0] for c in u.cookies] == [
        "CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id"]
    assert all("; Path=/v1/media/a1/h720/;" in c and "HttpOnly" in c for c in u.cookies)
    assert u.cookie == "\n".join(u.cookies)
    cookie = "theme=dark; " + u.cookie_header()
    with d.open("GET", "/v1/media/a1/h720/v720/seg_00001.m4s", cookie=cookie, now=NOW) as f:
        assert f.via_cookie and f.size == 720
    with pytest.raises(libstream.Forbidden) as ei:
        d.open("GET", "/v1/media/a1/h1080/v1080/seg_00001.m4s", cookie=cookie, now=NOW)
    assert ei.value.reason == delivery.Reason.SIGNATURE
    with pytest.raises(libstream.Expired):
        d.open("GET", "/v1/media/a1/h720/master.m3u8", cookie=cookie, now=NOW + 60)
    with pytest.raises(libstream.Forbidden):
        d.open("GET", "/v1/media/a1/h720/master.m3u8", cookie="theme=dark", now=NOW)
    # Bound to an IPv4 client; IPv6 cannot be bound in a CloudFront policy.
    u = d.sign("a1", 720, NOW + 60, client_ip="203.0.113.7")
    with d.open("GET", "/v1/media/a1/h720/master.m3u8", cookie=u.cookie_header(),
                client_ip="203.0.113.7", now=NOW):
        pass
    with pytest.raises(libstream.Forbidden):
        d.open("GET", "/v1/media/a1/h720/master.m3u8", cookie=u.cookie_header(),
               client_ip="198.51.100.1", now=NOW)
    with pytest.raises(libstream.InvalidArgument):
        d.sign("a1", 720, NOW + 60, client_ip="2001:db8::1")
    d = delivery.Delivery(BASE, KeyRing([key]), media_root=str(media),
                          format=delivery.Format.CLOUDFRONT,
                          cloudfront_hash=libstream.sign.CloudFrontHash.SHA256)
    u = d.sign("a1", 720, NOW + 60)
    assert u.cookies[3].startswith("CloudFront-Hash-Algorithm=SHA256;")
    with d.open("GET", "/v1/media/a1/h720/master.m3u8", cookie=u.cookie_header(), now=NOW):
        pass


def test_helpers():
    assert delivery.mime_type("a/manifest.mpd") == "application/dash+xml"
    assert delivery.mime_type("x.m3u8") == "application/vnd.apple.mpegurl"
    assert delivery.reason_str(delivery.Reason.ABOVE_CAP) == "rendition above the signed cap"
    assert "1920x1080" not in delivery.filter_hls(MASTER, 720)
    assert delivery.filter_hls(MASTER, 0) == MASTER
    mpd = '<MPD><AdaptationSet maxHeight="1080"><Representation height="1080"/>' \
          '<Representation height="720"/></AdaptationSet></MPD>'
    assert 'height="1080"' not in delivery.filter_dash(mpd, 720)
    with pytest.raises(libstream.InvalidArgument):
        delivery.filter_dash("#EXTM3U", 0)
    with pytest.raises(libstream.InvalidArgument):
        delivery.Delivery("ftp://x", KeyRing())
    with pytest.raises(TypeError):
        delivery.Delivery(BASE, "not a ring")
