"""libstream.sign: native format, Google Cloud CDN and Media CDN, with the
official vectors of standards.md §1 and §2 and the native known answers."""
import random

import pytest

import libstream
from libstream import Key, KeyRing, SignReason, sign
from conftest import assert_status

# ---- native format (known answers shared with tests/unit/sign/test_sign_native.c) ----

E = 1700000000
NOW = E - 100
U = "https://media.example.com/v/abc/master.m3u8"
P = "https://media.example.com/v/abc/"
KAT_URL = ("https://media.example.com/v/abc/master.m3u8?Expires=1700000000&KeyId=k1&Signature="
           "ZH-N5i448IFNGBR2JMZBfzBCoQAEtLO_Z4utujtBs3E")
KAT_URLQ = ("https://media.example.com/v/abc/master.m3u8?lang=en&Expires=1700000000&NotBefore=1699990000&"
            "IP=203.0.113.0_24&KeyId=k1&Signature=G9N3EhIyTO9RM97hwZko-d6ofLbBLgWhtmlQ3ajLyDc")
KAT_PFX = ("https://media.example.com/v/abc/master.m3u8?URLPrefix=aHR0cHM6Ly9tZWRpYS5leGFtcGxlLmNvbS92L2FiYy8&"
           "Expires=1700000000&IP=2001:db8::_32&KeyId=k1&Signature=aWoA0A--4h9EhPRIcIOy0aveO6iHsnHxtUnraMRxDMA")
KAT_COOKIE = ("URLPrefix=aHR0cHM6Ly9tZWRpYS5leGFtcGxlLmNvbS92L2FiYy8&Expires=1700000000&KeyId=k1&Signature="
              "6psdn0AVFJm-Hyk20boMfFlOAbfT_n3pQI7ttbkkKxI")
KAT_PATH = ("https://media.example.com/v/abc/stream-token=Expires=1700000000&KeyId=k1&Signature="
            "J4yLiXPTWFS7RlFYHraV-LudjKusuttnYafKbMn2xUs/master.m3u8")


@pytest.fixture
def ring():
    with KeyRing([Key.from_bytes("hmac", "k1", bytes(range(32)))]) as r:
        yield r


def test_reason_strings():
    assert sign.reason_str(SignReason.VALID) == "valid"
    assert sign.reason_str(SignReason.IP_MISMATCH) == "IP mismatch"
    assert sign.reason_str(99) == "unknown reason"


def test_native_known_answers(ring):
    assert sign.native_url(ring, U, expires=E) == KAT_URL
    assert sign.native_url(ring, U + "?lang=en", expires=E, not_before=1699990000,
                           ip="203.0.113.0/24") == KAT_URLQ
    assert sign.native_prefix(ring, P, U, expires=E, ip="2001:0db8:0:0::/32") == KAT_PFX
    assert sign.native_prefix(ring, P, expires=E, ip="2001:0db8:0:0::/32") == KAT_PFX.split("?", 1)[1]
    assert sign.native_cookie(ring, P, expires=E) == KAT_COOKIE
    assert sign.native_path(ring, P, "master.m3u8", expires=E, key_id="k1") == KAT_PATH
    # bytes in, str out; a bare Key works as a one-key ring.
    assert sign.native_url(ring.get("k1"), U.encode(), expires=E) == KAT_URL


def test_native_verify(ring):
    r = sign.native_verify(ring, KAT_URL, now=NOW)
    assert r.valid and bool(r) and r.reason is SignReason.VALID
    assert r.key_id == "k1" and r.expires == E and r.form == sign.NativeForm.URL and r.ip == ""
    r = sign.native_verify(ring, KAT_URLQ, client_ip="203.0.113.9", now=NOW)
    assert r.valid and r.ip == "203.0.113.0/24" and r.not_before == 1699990000
    r = sign.native_verify(ring, KAT_PFX, client_ip="2001:db8::1", now=NOW)
    assert r.valid and r.form == sign.NativeForm.PREFIX and r.ip == "2001:db8::/32"
    r = sign.native_verify(ring, KAT_PATH, now=NOW)
    assert r.valid and r.form == sign.NativeForm.PATH
    assert KAT_PATH[r.strip_offset + r.strip_len:] == "master.m3u8"
    r = sign.native_verify_cookie(ring, U, KAT_COOKIE, now=NOW)
    assert r.valid and r.form == sign.NativeForm.COOKIE
    # Relative URIs under a path token inherit it.
    assert sign.native_verify(ring, KAT_PATH.replace("master.m3u8", "720p/seg_001.m4s"), now=NOW).valid


@pytest.mark.parametrize("url,ip,now,cls,reason", [
    (KAT_URL, None, E + 1, libstream.Expired, SignReason.EXPIRED),
    (KAT_URLQ, "203.0.113.9", 1699980000, libstream.Expired, SignReason.NOT_YET_VALID),
    (KAT_URLQ, "198.51.100.1", NOW, libstream.Forbidden, SignReason.IP_MISMATCH),
    (KAT_URL.replace("abc", "abd"), None, NOW, libstream.AuthError, SignReason.BAD_SIGNATURE),
    (KAT_URL.replace("KeyId=k1", "KeyId=k9"), None, NOW, libstream.AuthError, SignReason.UNKNOWN_KEY),
    (U, None, NOW, libstream.InvalidArgument, SignReason.MISSING),
])
def test_native_verify_failures(ring, url, ip, now, cls, reason):
    with pytest.raises(cls) as ei:
        sign.native_verify(ring, url, client_ip=ip, now=now)
    e = ei.value
    assert e.reason is reason and e.result.reason is reason and not e.result.valid
    assert e.status == cls.status and e.message
    r = sign.native_verify(ring, url, client_ip=ip, now=now, raise_on_error=False)
    assert not r.valid and not r and r.reason is reason and r.status == cls.status and r.message


def test_native_outside_prefix(ring):
    with pytest.raises(libstream.Forbidden) as ei:
        sign.native_verify_cookie(ring, "https://media.example.com/v/other/x.m3u8", KAT_COOKIE, now=NOW)
    assert ei.value.reason is SignReason.OUTSIDE_PREFIX


def test_native_forms_mask(ring):
    with pytest.raises(libstream.StreamError):
        sign.native_verify(ring, KAT_PATH, now=NOW, forms=sign.NativeForm.URL | sign.NativeForm.PREFIX)
    assert sign.native_verify(ring, KAT_PATH, now=NOW, forms=sign.NativeForm.PATH).valid


def test_native_tampering_never_valid(ring):
    rnd = random.Random(1234)
    for i in range(len(KAT_URL)):  # every truncation
        r = sign.native_verify(ring, KAT_URL[:i] or "x", now=NOW, raise_on_error=False)
        assert not r.valid
    for _ in range(300):  # bit flips
        b = bytearray(KAT_URL.encode())
        j = rnd.randrange(len(b))
        b[j] ^= 1 << rnd.randrange(7)
        if bytes(b) == KAT_URL.encode():
            continue
        try:
            r = sign.native_verify(ring, bytes(b), now=NOW, raise_on_error=False)
        except libstream.InvalidArgument:
            continue  # e.g. a NUL byte, refused on the Python side
        assert not r.valid, bytes(b)


def test_native_bad_arguments(ring):
    with pytest.raises(TypeError):
        sign.native_url(ring, None, expires=E)
    with pytest.raises(TypeError):
        sign.native_url("not a ring", U, expires=E)
    with pytest.raises(TypeError):
        sign.native_url(ring, U)  # expires is required
    with pytest.raises(TypeError):
        sign.native_url(ring, U, expires="soon")
    with pytest.raises(libstream.InvalidArgument) as ei:
        sign.native_url(ring, "", expires=E)
    assert_status(ei, libstream.InvalidArgument, "STREAM_EINVAL")
    with pytest.raises(libstream.InvalidArgument) as ei:
        sign.native_url(ring, "ftp://x/y", expires=E)
    assert ei.value.message
    with pytest.raises(libstream.InvalidArgument):
        sign.native_url(ring, U, expires=0)
    with pytest.raises(libstream.NotFound) as ei:
        sign.native_url(ring, U, expires=E, key_id="nope")
    assert_status(ei, libstream.NotFound, "STREAM_ENOTFOUND")
    with pytest.raises(libstream.OutOfRange):
        sign.native_url(ring, U, expires=2 ** 63)
    with pytest.raises(libstream.InvalidArgument):
        sign.native_verify(ring, "", now=NOW)


# ---- Google Cloud CDN (standards.md §1.3) ---------------------------------

CDN_E = 1549751401
CLOUD_URLS = [
    ("http://35.186.234.33/index.html",
     "http://35.186.234.33/index.html?Expires=1549751401&KeyName=my-key&Signature=CRFqQnVfFyiUyR63OQf-HRUpIwc="),
    ("http://www.example.com/",
     "http://www.example.com/?Expires=1549751401&KeyName=my-key&Signature=OqDUFfHpN5Vxga6r80bhsgxKves="),
    ("http://www.example.com/some/path?some=query&another=param",
     "http://www.example.com/some/path?some=query&another=param&Expires=1549751401&KeyName=my-key&Signature=9Q9TCxSju8-W5nUkk5CuTrun2_o="),
]
CLOUD_PREFIXES = [
    ("http://35.186.234.33/index.html", "http://35.186.234.33/",
     "http://35.186.234.33/index.html?URLPrefix=aHR0cDovLzM1LjE4Ni4yMzQuMzMv&Expires=1549751401&KeyName=my-key&Signature=j7HYgoQ8dIOVsW3Rw4cpkjWfRMA="),
    ("http://www.example.com/", "http://www.example.com/",
     "http://www.example.com/?URLPrefix=aHR0cDovL3d3dy5leGFtcGxlLmNvbS8=&Expires=1549751401&KeyName=my-key&Signature=UdT5nVks6Hh8QFMJI9kmXuXYBk0="),
    ("http://www.example.com/some/path?some=query&another=param", "http://www.example.com/some/",
     "http://www.example.com/some/path?some=query&another=param&URLPrefix=aHR0cDovL3d3dy5leGFtcGxlLmNvbS9zb21lLw==&Expires=1549751401&KeyName=my-key&Signature=3th4ThmpS95I1TAKYyYSCSq3dnQ="),
]
CLOUD_COOKIES = [
    ("http://35.186.234.33/index.html",
     "Cloud-CDN-Cookie=URLPrefix=aHR0cDovLzM1LjE4Ni4yMzQuMzMvaW5kZXguaHRtbA==:Expires=1549751401:KeyName=my-key:Signature=uImwlOBCPs91mlCyG9vyyZRrNWU="),
    ("http://www.example.com/foo/",
     "Cloud-CDN-Cookie=URLPrefix=aHR0cDovL3d3dy5leGFtcGxlLmNvbS9mb28v:Expires=1549751401:KeyName=my-key:Signature=Z9uYAu73YHioRScZDxnP-TnS274="),
]


@pytest.fixture
def cloud_key():
    return Key.from_text("hmac", "my-key", "nZtRohdNF9m3cKM24IcK4w==")


@pytest.mark.parametrize("url,expected", CLOUD_URLS)
def test_cloudcdn_url_vectors(cloud_key, url, expected):
    assert sign.cloudcdn_sign_url(cloud_key, url, expires=CDN_E) == expected
    r = sign.cloudcdn_verify_url(KeyRing([cloud_key]), expected, now=CDN_E - 1)
    assert r.valid and r.key_name == "my-key" and r.expires == CDN_E
    with pytest.raises(libstream.Expired) as ei:
        sign.cloudcdn_verify_url(cloud_key, expected, now=CDN_E + 1)
    assert ei.value.reason is SignReason.EXPIRED and ei.value.name == "STREAM_EEXPIRED"


@pytest.mark.parametrize("url,prefix,expected", CLOUD_PREFIXES)
def test_cloudcdn_prefix_vectors(cloud_key, url, prefix, expected):
    assert sign.cloudcdn_sign_prefix(cloud_key, prefix, url, expires=CDN_E) == expected
    params = sign.cloudcdn_sign_prefix(cloud_key, prefix, expires=CDN_E)
    assert expected.endswith(params)
    assert sign.cloudcdn_verify_url(cloud_key, expected, now=CDN_E - 1).valid


@pytest.mark.parametrize("prefix,expected", CLOUD_COOKIES)
def test_cloudcdn_cookie_vectors(cloud_key, prefix, expected):
    assert sign.cloudcdn_sign_cookie(cloud_key, prefix, expires=CDN_E) == expected
    assert sign.cloudcdn_verify_cookie(cloud_key, expected, prefix, now=CDN_E - 1).valid
    value = expected.split("=", 1)[1]
    assert sign.cloudcdn_verify_cookie(cloud_key, value, prefix, now=CDN_E - 1).valid


def test_cloudcdn_failures(cloud_key):
    url = CLOUD_URLS[0][1]
    with pytest.raises(libstream.AuthError) as ei:
        sign.cloudcdn_verify_url(cloud_key, url.replace("index", "indey"), now=CDN_E - 1)
    assert ei.value.reason is SignReason.BAD_SIGNATURE
    other = Key.from_text("hmac", "other-key", "nZtRohdNF9m3cKM24IcK4w==")
    r = sign.cloudcdn_verify_url(other, url, now=CDN_E - 1, raise_on_error=False)
    assert r.reason is SignReason.UNKNOWN_KEY and r.status == libstream.lib.STREAM_EAUTH
    r = sign.cloudcdn_verify_url(cloud_key, "http://35.186.234.33/index.html", now=CDN_E - 1,
                                 raise_on_error=False)
    assert not r.valid
    for i in range(len(url.rstrip("="))):  # dropping only the '=' padding is the same signature
        assert not sign.cloudcdn_verify_url(cloud_key, url[:i] or "h", now=CDN_E - 1,
                                            raise_on_error=False).valid
    with pytest.raises(libstream.InvalidArgument) as ei:
        sign.cloudcdn_sign_url(Key.generate("ed25519", "my-key"), "http://x/", expires=CDN_E)
    assert_status(ei, libstream.InvalidArgument, "STREAM_EINVAL")
    with pytest.raises(TypeError):
        sign.cloudcdn_sign_url(cloud_key, "http://x/")  # expires or ttl required
    with pytest.raises(TypeError):
        sign.cloudcdn_sign_url("my-key", "http://x/", expires=CDN_E)


def test_cloudcdn_ttl(cloud_key):
    signed = sign.cloudcdn_sign_url(cloud_key, "http://www.example.com/", ttl=60)
    assert sign.cloudcdn_verify_url(cloud_key, signed).valid


# ---- Google Media CDN signatures (standards.md §2.3) ----------------------

MEDIA_SEED = "BxwXXNjeGaoWqjr7GHEymRJkP4SaOC12dTGixk7Yr8I="
MEDIA_PUB = "g9u90RZv3ddq7pRAEsLaiT6ju1AGNVb2uXdPz0UGwPE"
MEDIA_E = 1650848400
MEDIA_URLS = [
    ("http://35.186.234.33/index.html",
     "http://35.186.234.33/index.html?Expires=1650848400&KeyName=my-key&Signature=16-oE9GZ5U9S_LYrW8RplZhvMfI7RGtGRY0C-Ahh6YAwiJ0UaEi6rQuPxfm6R-cBPfs8MwRGiu2fAoS1JOoKCA"),
    ("http://www.example.com/",
     "http://www.example.com/?Expires=1650848400&KeyName=my-key&Signature=QhWcq48iCRTJFayWexw929QRxjOxE8ZPSQ38ybTxLhu77hmS_JB6GSougMu_-ejS_ZiGguqxT-HfgSFuy3f5DQ"),
    ("http://www.example.com/some/path?some=query&another=param",
     "http://www.example.com/some/path?some=query&another=param&Expires=1650848400&KeyName=my-key&Signature=Li_D6rxUh1Kj54JbmUuAms2wmjJHJUcMXJHgYxjL4LqYH02wSX-4gCayXgklNSDpfBfSHnbdC_wvcdyXvADGDw"),
]
MEDIA_PREFIXES = [
    ("http://35.186.234.33/index.html", "http://35.186.234.33/",
     "http://35.186.234.33/index.html?URLPrefix=aHR0cDovLzM1LjE4Ni4yMzQuMzMv&Expires=1650848400&KeyName=my-key&Signature=mR4jNsWVn39ofSC5425SXwZVzHAAixemdcRGHgPuO1V1Fl7lJs2Ws5aPOGp-MhbDinFYUkutHh-I9c5Du4jtAA"),
    ("http://www.example.com/", "http://www.example.com/",
     "http://www.example.com/?URLPrefix=aHR0cDovL3d3dy5leGFtcGxlLmNvbS8=&Expires=1650848400&KeyName=my-key&Signature=gFGKa4T8Fn1GiTMp1VBd6sSfjRKcPEgTB1k8mn48yXyzg4-Dfbrk-HJeYFGFznZvkF_eSPg1K03hqbMDkFTiAg"),
    ("http://www.example.com/some/path?some=query&another=param", "http://www.example.com/some/",
     "http://www.example.com/some/path?some=query&another=param&URLPrefix=aHR0cDovL3d3dy5leGFtcGxlLmNvbS9zb21lLw==&Expires=1650848400&KeyName=my-key&Signature=pVN8HKc6Be-PDczd9NjqSui3HHaoCLUN5iDv6JhQ77uKigsCih6z_cMTGjeXhgGASh1zr-ZPrOnxWJxxGWxsBg"),
]
MEDIA_COOKIES = [
    ("http://35.186.234.33/index.html",
     "Edge-Cache-Cookie=URLPrefix=aHR0cDovLzM1LjE4Ni4yMzQuMzMvaW5kZXguaHRtbA==:Expires=1650848400:KeyName=my-key:Signature=kTJ4QVEax5TZmxypq8pnIkjky-s_UtKGPSCd-nxqMYfwqr5HunAy-7XumWc3asRCHI2_ikVQXs7IDXJ9gV28Dg"),
    ("http://www.example.com/foo/",
     "Edge-Cache-Cookie=URLPrefix=aHR0cDovL3d3dy5leGFtcGxlLmNvbS9mb28v:Expires=1650848400:KeyName=my-key:Signature=I0BnupL1tKbXklf1rK50nlC9JMh4HBLogTKByatOFRvALofT159BegB26Z2WmrI-ZAgAp8Q-1__bWtFdMAqCAA"),
]


@pytest.fixture
def media_key():
    return Key.from_text("ed25519", "my-key", MEDIA_SEED)


def test_mediacdn_key_derives_documented_public_key(media_key):
    assert libstream.base64_encode(media_key.public_bytes(), url=True, pad=False) == MEDIA_PUB


@pytest.mark.parametrize("url,expected", MEDIA_URLS)
def test_mediacdn_url_vectors(media_key, url, expected):
    assert sign.mediacdn_sign_url(media_key, url, expires=MEDIA_E) == expected
    # Verification needs only the public key.
    pub = KeyRing([media_key.public()])
    r = sign.mediacdn_verify_url(pub, expected, now=MEDIA_E - 1)
    assert r.valid and r.key_name == "my-key"
    assert sign.mediacdn_verify_url(pub, expected + "==", now=MEDIA_E - 1).valid  # padding optional
    with pytest.raises(libstream.Expired):
        sign.mediacdn_verify_url(pub, expected, now=MEDIA_E + 1)


@pytest.mark.parametrize("url,prefix,expected", MEDIA_PREFIXES)
def test_mediacdn_prefix_vectors(media_key, url, prefix, expected):
    # The vectors keep URLPrefix's padding (python-docs-samples); the library emits it that way too.
    assert sign.mediacdn_sign_prefix(media_key, prefix, url, expires=MEDIA_E) == expected
    assert sign.mediacdn_verify_url(media_key.public(), expected, now=MEDIA_E - 1).valid


@pytest.mark.parametrize("prefix,expected", MEDIA_COOKIES)
def test_mediacdn_cookie_vectors(media_key, prefix, expected):
    assert sign.mediacdn_sign_cookie(media_key, prefix, expires=MEDIA_E) == expected
    assert sign.mediacdn_verify_cookie(media_key, expected, prefix, now=MEDIA_E - 1).valid


def test_mediacdn_path_component_vector():
    key = Key.from_text("ed25519", "test-key", "g_SlMILiIWKqsC6Z2L7gy0sReDOqtSrJrE7CXNr5Nl8=")
    expected = ("https://example.com/edge-cache-token=Expires=1663070400&KeyName=test-key&Signature="
                "2hvmMKXW_e0bY3ViJNDSgoXDGvNj2L-UYTseTgtj96Va0S4FYxehka1k4hzWo2_87B9zqr_Ne4MMEdRfHUMUBw/test-filename")
    assert sign.mediacdn_sign_path_component(key, "https://example.com/", "test-filename",
                                             expires=1663070400) == expected
    assert sign.mediacdn_verify_url(key, expected, now=1663070399).valid
    assert sign.mediacdn_verify_url(key, expected.replace("test-filename", "other/seg.ts"),
                                    now=1663070399).valid


def test_mediacdn_failures(media_key):
    url = MEDIA_URLS[0][1]
    r = sign.mediacdn_verify_url(media_key, url.replace("index", "indey"), now=MEDIA_E - 1,
                                 raise_on_error=False)
    assert r.reason is SignReason.BAD_SIGNATURE and r.status == libstream.lib.STREAM_EAUTH
    rnd = random.Random(99)
    for _ in range(200):
        b = bytearray(url.encode())
        j = rnd.randrange(len(b))
        b[j] ^= 1 << rnd.randrange(7)
        if b"\0" in b or bytes(b) == url.encode():
            continue
        assert not sign.mediacdn_verify_url(media_key, bytes(b), now=MEDIA_E - 1,
                                            raise_on_error=False).valid
    with pytest.raises(libstream.InvalidArgument):
        sign.mediacdn_sign_url(media_key.public(), "http://x/", expires=MEDIA_E)  # public key
    with pytest.raises(libstream.InvalidArgument):
        sign.mediacdn_sign_url(Key.generate("hmac", "my-key"), "http://x/", expires=MEDIA_E)


# ---- Google Media CDN tokens (standards.md §2.5) ---------------------------

TOK_SEED = "DJUcnLguVFKmVCFnWGubG1MZg7fWAnxacMjKDhVZMGI="
TOK_HMAC = "g_SlMILiIWKqsC6Z2L7gy0sReDOqtSrJrE7CXNr5Nl8="
TOK_E, TOK_S = 1663070400, 1663027200
TOK_VECTORS = [
    ("ed25519", None, dict(url_prefix="http://10.20.30.40/"),
     "URLPrefix=aHR0cDovLzEwLjIwLjMwLjQwLw~Expires=1663070400~Signature=OQLXEjnApFGJaGZ_jvp2R7VY5q3ic-HT3igFpi9iPsJRXtQuvPF4cxZUT-rtCqzteXx3vSRhk09FxgDQauO_DA"),
    ("ed25519", None, dict(path_globs="/*"),
     "PathGlobs=/*~Expires=1663070400~Signature=9pBdD_6O6LB-4V67HZ_SOc2G_jIkSZ_tMsKnVqElmPlwKB_xDiW7DKAnv8L8CmweeZquaLFlnLogbMcIV8bNCQ"),
    ("ed25519", None, dict(full_path="/example.m3u8"),
     "FullPath~Expires=1663070400~Signature=X74OTNjtseIUmsab-YiOTZ8jyX_KG7v4YQWwcFpfFmjhzaX8NdweMc9Wglj8wxEsEW85g3_MBG3T9jzLZFQDCw"),
    ("hmac", "sha1", dict(url_prefix="http://10.20.30.40/"),
     "URLPrefix=aHR0cDovLzEwLjIwLjMwLjQwLw~Expires=1663070400~hmac=6f5b4bb82536810d5ee111cba3e534d49c6ac3cb"),
    ("hmac", "sha1", dict(path_globs="/*"),
     "PathGlobs=/*~Expires=1663070400~hmac=c1c446eea24faa31392519f975fea7eefb945625"),
    ("hmac", "sha1", dict(full_path="/example.m3u8"),
     "FullPath~Expires=1663070400~hmac=7af78177d6bc001d5626eefe387b1774a4a99ca2"),
    ("hmac", "sha256", dict(url_prefix="http://10.20.30.40/"),
     "URLPrefix=aHR0cDovLzEwLjIwLjMwLjQwLw~Expires=1663070400~hmac=409722313cf6d987da44bb360e60dccc3d79764520fc5e3b57654e1d4d2c862e"),
    ("hmac", None, dict(path_globs="/*"),
     "PathGlobs=/*~Expires=1663070400~hmac=9439ecdd5c4919f76f915dea72afa85a045579794e63d8cda664f5a1140c8d93"),
    ("hmac", "sha256", dict(full_path="/example.m3u8"),
     "FullPath~Expires=1663070400~hmac=365b41fd77297371d890fc9a56e4e3d3baa4c7afbd230a0e9a81c8e1bcab9420"),
]
ALL = dict(path_globs="/*", starts=TOK_S, session_id="test-id", data="test-data",
           headers=[("Foo", "bar"), ("BAZ", "quux")], ip_ranges="203.0.113.0/24,2001:db8:4a7f:a732/64")
ALL_PREFIX = ("PathGlobs=/*~Starts=1663027200~Expires=1663070400~SessionID=test-id~Data=test-data~"
              "Headers=Foo,BAZ~IPRanges=MjAzLjAuMTEzLjAvMjQsMjAwMTpkYjg6NGE3ZjphNzMyLzY0~")
ALL_VECTORS = [
    ("ed25519", None, ALL_PREFIX + "Signature=A7u67hveGxGvP8KBWZlUuH0IsqhS4a2lcsXwy3uc4X3zaVuw7LY-2FQT1ZF8UxkSFAsDS3_0LYnXwXB2XdepDg"),
    ("hmac", "sha1", ALL_PREFIX + "hmac=b8242e8b76cbfbbd61b3540ed0eb60a2ec2fdbdb"),
    ("hmac", "sha256", ALL_PREFIX + "hmac=dda9c3d6f3b2e867a09fbb76209ea138dd81f8512210f970d1e92f90927bef4b"),
]


def _tok_key(kind):
    return Key.from_text(kind, "tk", TOK_SEED if kind == "ed25519" else TOK_HMAC)


def _request_url(fields):
    if "url_prefix" in fields:
        return "http://10.20.30.40/live/a.m3u8"
    if "full_path" in fields:
        return "/example.m3u8"
    return "/any/where.ts"


@pytest.mark.parametrize("kind,alg,fields,expected", TOK_VECTORS)
def test_mediacdn_token_vectors(kind, alg, fields, expected):
    key = _tok_key(kind)
    assert sign.mediacdn_token_sign(key, expires=TOK_E, hmac=alg, **fields) == expected
    r = sign.mediacdn_token_verify(key, expected, _request_url(fields), now=TOK_E - 1)
    assert r.valid and r.key_name == "tk" and r.expires == TOK_E
    with pytest.raises(libstream.Expired):
        sign.mediacdn_token_verify(key, expected, _request_url(fields), now=TOK_E + 1)


@pytest.mark.parametrize("kind,alg,expected", ALL_VECTORS)
def test_mediacdn_token_all_params(kind, alg, expected):
    key = _tok_key(kind)
    assert sign.mediacdn_token_sign(key, expires=TOK_E, hmac=alg, **ALL) == expected
    assert sign.mediacdn_token_sign(key, expires=TOK_E, hmac=alg,
                                    **dict(ALL, headers={"Foo": "bar", "BAZ": "quux"})) == expected
    hdrs = {"foo": "bar", "baz": "quux"}  # names are case-insensitive
    ok = sign.mediacdn_token_verify(key, expected, "/x.ts", client_ip="203.0.113.5", headers=hdrs,
                                    now=TOK_S + 1)
    assert ok.valid and ok.starts == TOK_S
    with pytest.raises(libstream.Expired) as ei:
        sign.mediacdn_token_verify(key, expected, "/x.ts", client_ip="203.0.113.5", headers=hdrs,
                                   now=TOK_S - 100)
    assert ei.value.reason is SignReason.NOT_YET_VALID
    r = sign.mediacdn_token_verify(key, expected, "/x.ts", client_ip="198.51.100.1", headers=hdrs,
                                   now=TOK_S + 1, raise_on_error=False)
    assert r.reason is SignReason.IP_MISMATCH
    r = sign.mediacdn_token_verify(key, expected, "/x.ts", client_ip="203.0.113.5",
                                   headers={"Foo": "bar", "BAZ": "other"}, now=TOK_S + 1,
                                   raise_on_error=False)
    assert not r.valid


def test_mediacdn_token_key_names():
    ed = _tok_key("ed25519")
    other = Key.generate("ed25519", "other")
    ring = KeyRing([other, ed])  # primary is "other"
    tok = TOK_VECTORS[1][3]
    assert not sign.mediacdn_token_verify(ring, tok, "/a", now=TOK_E - 1, raise_on_error=False).valid
    r = sign.mediacdn_token_verify(ring, tok, "/a", now=TOK_E - 1, key_names=["other", "tk"])
    assert r.valid and r.key_name == "tk"
    with pytest.raises(TypeError):
        sign.mediacdn_token_verify(ring, tok, "/a", key_names="tk")


def test_mediacdn_token_bad_input():
    key = _tok_key("hmac")
    with pytest.raises(libstream.InvalidArgument) as ei:
        sign.mediacdn_token_sign(key, expires=TOK_E)  # no scope
    assert_status(ei, libstream.InvalidArgument, "STREAM_EINVAL")
    with pytest.raises(libstream.InvalidArgument):
        sign.mediacdn_token_sign(key, expires=TOK_E, path_globs="/*", url_prefix="http://x/")
    with pytest.raises(libstream.InvalidArgument) as ei:
        sign.mediacdn_token_sign(key, expires=TOK_E, path_globs="/*", hmac="md5")
    assert "hmac" in ei.value.message
    with pytest.raises(TypeError):
        sign.mediacdn_token_sign(key, expires=TOK_E, path_globs="/*", headers=["Foo"])
    tok = TOK_VECTORS[4][3]
    for i in range(len(tok)):
        assert not sign.mediacdn_token_verify(key, tok[:i], "/a", now=TOK_E - 1,
                                              raise_on_error=False).valid
    with pytest.raises(libstream.StreamError):
        sign.mediacdn_token_verify(key, "", "/a", now=TOK_E - 1)
