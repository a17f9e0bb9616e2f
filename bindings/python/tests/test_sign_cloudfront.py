"""libstream.sign CloudFront: the standards.md §3 vector, round trips (RSA and ECDSA,
SHA-1 and SHA-256, URLs and cookies), wildcard Resources, time window, IP binding,
tampering and argument checks, and a cross-check with AWS's @aws-sdk/cloudfront-signer
(the same pinned package the C test runs; node is required, as in CI)."""
import base64
import json
import os
import subprocess

import pytest

import libstream
from libstream import Key, KeyRing, SignReason, sign
from conftest import assert_status

KID = "K2JCJMDEHXQW5F"
T0 = 1257894000
GO_JSON = ('{"Statement":[{"Resource":"https://example.com/a","Condition":{"DateLessThan":'
           '{"AWS:EpochTime":1257894000}}}]}')
GO_B64 = ("eyJTdGF0ZW1lbnQiOlt7IlJlc291cmNlIjoiaHR0cHM6Ly9leGFtcGxlLmNvbS9hIiwiQ29uZGl0aW9uIjp7"
          "IkRhdGVMZXNzVGhhbiI6eyJBV1M6RXBvY2hUaW1lIjoxMjU3ODk0MDAwfX19XX0=")
SDK_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "tests", "unit", "sign",
                       "cloudfront_sdk")


def cf_escape(s):
    return s.replace("+", "-").replace("=", "_").replace("/", "~")


def cf_decode(s):
    return base64.b64decode(s.replace("-", "+").replace("_", "=").replace("~", "/"))


def param(url, name):
    for part in url.split("?", 1)[1].split("&"):
        k, _, v = part.partition("=")
        if k == name:
            return v
    return None


@pytest.fixture(scope="module")
def rsa():
    return Key.generate("rsa", KID)


@pytest.fixture(scope="module")
def ec():
    return Key.generate("ec", KID)


def test_key_types_pem_round_trip(rsa, ec):
    for k, pub_type in ((rsa, libstream.KeyType.RSA_PUBLIC), (ec, libstream.KeyType.EC_PUBLIC)):
        pem = k.export("pem")
        assert pem.startswith("-----BEGIN PRIVATE KEY-----")
        again = Key.from_text(k.type, KID, pem)
        assert again.export("pem") == pem
        pub = k.public()
        assert pub.type == pub_type and pub.id == KID
        assert pub.export("pem").startswith("-----BEGIN PUBLIC KEY-----")
        assert Key.from_text(pub_type, KID, pub.export("pem")).export("pem") == pub.export("pem")
    assert len(rsa) == 256 and len(ec) == 32
    with pytest.raises(libstream.StreamError) as ei:
        Key.from_text("ec", KID, rsa.export("pem"))
    assert_status(ei, libstream.InvalidArgument, "STREAM_EINVAL", "not an elliptic-curve")
    with pytest.raises(libstream.InvalidArgument):
        Key.generate("rsa-public", KID)
    with pytest.raises(libstream.StreamError):
        rsa.export("base64url")


def test_go_v2_vector(rsa):
    # the custom-policy form carries the policy itself: the vector's base64, escaped
    url = sign.cloudfront_sign_url(rsa, "https://example.com/a", expires=T0, custom=True)
    assert param(url, "Policy") == cf_escape(GO_B64) == GO_B64.replace("=", "_")
    assert cf_decode(param(url, "Policy")).decode() == GO_JSON
    # the canned form: Expires, then Key-Pair-Id and Signature (the SDK's order)
    canned = sign.cloudfront_sign_url(rsa, "https://example.com/a", expires=T0)
    sig = param(canned, "Signature")
    assert canned == "https://example.com/a?Expires=1257894000&Key-Pair-Id=%s&Signature=%s" % (
        KID, sig)
    assert sig == param(url, "Signature")  # PKCS#1 v1.5: same policy, same signature
    assert cf_escape("a+b=c/") == "a-b_c~"  # TestAWSEscape, as the tests here decode it


@pytest.mark.parametrize("hash_", ["sha1", "sha256"])
@pytest.mark.parametrize("which", ["rsa", "ec"])
def test_round_trips(request, which, hash_):
    key = request.getfixturevalue(which)
    pub_ring = KeyRing([key.public()])
    u = "https://d111111abcdef8.cloudfront.net/v/abc/master.m3u8?lang=en"
    for custom in (False, True):
        url = sign.cloudfront_sign_url(key, u, expires=2000000000, hash=hash_, custom=custom)
        assert ("Hash-Algorithm=SHA256" in url) == (hash_ == "sha256")
        v = sign.cloudfront_verify_url(pub_ring, url, now=1999999999)
        assert v.valid and v.key_pair_id == KID and v.custom == custom
        assert v.hash == (sign.CloudFrontHash.SHA256 if hash_ == "sha256" else sign.CloudFrontHash.SHA1)
        cookies = sign.cloudfront_sign_cookies(key, u, expires=2000000000, hash=hash_, custom=custom)
        assert ("CloudFront-Policy" in cookies) == custom
        assert cookies["CloudFront-Key-Pair-Id"] == KID
        assert sign.cloudfront_verify_cookies(key, cookies, u, now=1).valid
        header = "a=1; " + "; ".join("%s=%s" % kv for kv in cookies.items())
        assert sign.cloudfront_verify_cookies(pub_ring, header, u, now=1).valid


def test_prefix_cookie_window_and_ip(rsa):
    cookies = sign.cloudfront_sign_cookies(rsa, "https://d111111abcdef8.cloudfront.net/v/abc/*",
                                           expires=T0, starts=T0 - 100, ip="203.0.113.0/24")
    inside = "https://d111111abcdef8.cloudfront.net/v/abc/720p/seg_1.ts"
    v = sign.cloudfront_verify_cookies(rsa, cookies, inside, now=T0 - 1, client_ip="203.0.113.9")
    assert v.valid and v.starts == T0 - 100 and v.expires == T0 and v.ip == "203.0.113.0/24"
    cases = [
        (dict(url=inside, now=T0, client_ip="203.0.113.9"), SignReason.EXPIRED, libstream.Expired),
        (dict(url=inside, now=T0 - 101, client_ip="203.0.113.9"), SignReason.NOT_YET_VALID,
         libstream.Expired),
        (dict(url="https://d111111abcdef8.cloudfront.net/v/abd/x.ts", now=T0 - 1,
              client_ip="203.0.113.9"), SignReason.OUTSIDE_PREFIX, libstream.Forbidden),
        (dict(url=inside, now=T0 - 1, client_ip="198.51.100.1"), SignReason.IP_MISMATCH,
         libstream.Forbidden),
        (dict(url=inside, now=T0 - 1), SignReason.IP_MISMATCH, libstream.Forbidden),
    ]
    for kw, reason, cls in cases:
        v = sign.cloudfront_verify_cookies(rsa, cookies, raise_on_error=False, **kw)
        assert v.reason == reason and not v.valid, (kw, v)
        with pytest.raises(cls) as ei:
            sign.cloudfront_verify_cookies(rsa, cookies, **kw)
        assert ei.value.reason == reason


def test_tampering_and_wrong_keys(rsa, ec):
    url = sign.cloudfront_sign_url(rsa, "https://h.example/a.ts?x=1", expires=2000000000,
                                   ip="192.0.2.1")
    ring = KeyRing([rsa])
    base = url.index("?")
    for i in range(base, len(url)):
        t = url[:i] + chr(ord(url[i]) ^ 1) + url[i + 1:]
        v = sign.cloudfront_verify_url(ring, t, now=1, client_ip="192.0.2.1", raise_on_error=False)
        assert not v.valid, (i, t)
    for n in range(1, len(url)):
        v = sign.cloudfront_verify_url(ring, url[:n], now=1, client_ip="192.0.2.1",
                                       raise_on_error=False)
        assert not v.valid
    v = sign.cloudfront_verify_url(KeyRing([ec]), url, now=1, raise_on_error=False)
    assert v.reason == SignReason.BAD_SIGNATURE
    v = sign.cloudfront_verify_url(KeyRing(), url, now=1, raise_on_error=False)
    assert v.reason == SignReason.UNKNOWN_KEY
    hmac = Key.generate("hmac", KID)
    v = sign.cloudfront_verify_url(KeyRing([hmac]), url, now=1, raise_on_error=False)
    assert v.reason == SignReason.UNKNOWN_KEY
    with pytest.raises(libstream.InvalidArgument) as ei:
        sign.cloudfront_sign_url(hmac, "https://h.example/a", expires=2000000000)
    assert "RSA or ECDSA" in ei.value.message
    with pytest.raises(libstream.InvalidArgument):
        sign.cloudfront_sign_url(rsa.public(), "https://h.example/a", expires=2000000000)


@pytest.mark.parametrize("url", ["https://h/a?Expires=1", "https://h/a?Key-Pair-Id=x", "ftp://h/a",
                                 "https://h/a#f", "https://h/a b", ""])
def test_bad_urls(rsa, url):
    with pytest.raises(libstream.InvalidArgument):
        sign.cloudfront_sign_url(rsa, url, expires=2000000000)


def test_bad_options(rsa):
    with pytest.raises(TypeError):
        sign.cloudfront_sign_url(rsa, "https://h/a")
    with pytest.raises(libstream.InvalidArgument):
        sign.cloudfront_sign_url(rsa, "https://h/a", expires=2000000000, ip="2001:db8::/32")
    with pytest.raises(libstream.InvalidArgument):
        sign.cloudfront_sign_url(rsa, "https://h/a", expires=2000000000, hash="md5")
    with pytest.raises(libstream.InvalidArgument):
        sign.cloudfront_sign_url(rsa, "https://h/a", expires=100, starts=100)
    with pytest.raises(libstream.StreamError):
        sign.cloudfront_verify_url(rsa, "https://h/a", now=-1)
    v = sign.cloudfront_verify_url(rsa, "https://h/a?x=1", now=1, raise_on_error=False)
    assert v.reason == SignReason.MISSING


def test_matches_aws_sdk(tmp_path, rsa, ec):
    """The same key, URL and times through @aws-sdk/cloudfront-signer: equal bytes (RSA),
    and each side verifies the other (ECDSA)."""
    run = subprocess.run([os.path.join(SDK_DIR, "run_sdk.sh"), "true"], capture_output=True,
                         text=True)
    assert run.returncode == 0, "cannot install/run the SDK: " + run.stderr
    rsa_file, ec_file = tmp_path / "rsa.pem", tmp_path / "ec.pem"
    rsa_file.write_text(rsa.export("pem"))
    ec_file.write_text(ec.export("pem"))
    u = "https://d111111abcdef8.cloudfront.net/v/abc/master.m3u8"
    prefix = "https://d111111abcdef8.cloudfront.net/v/abc/*"
    cases = [
        dict(kind="url", url=u, keyFile=str(rsa_file)),
        dict(kind="url", url=u, keyFile=str(rsa_file), dateGreaterThan=1900000000,
             ipAddress="203.0.113.0/24", algorithm="SHA256"),
        dict(kind="cookies", url=prefix, keyFile=str(rsa_file), dateGreaterThan=1900000000),
        dict(kind="cookies", url=prefix, keyFile=str(ec_file), dateGreaterThan=1900000000,
             algorithm="SHA256"),
    ]
    for c in cases:
        c.update(keyPairId=KID, dateLessThan=2000000000)
    out = subprocess.run(["node", os.path.join(SDK_DIR, "sdk.mjs")],
                         input=json.dumps({"sign": cases}), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    theirs = json.loads(out.stdout)["sign"]
    ours = [
        sign.cloudfront_sign_url(rsa, u, expires=2000000000),
        sign.cloudfront_sign_url(rsa, u, expires=2000000000, starts=1900000000,
                                 ip="203.0.113.0/24", hash="sha256"),
        sign.cloudfront_sign_cookies(rsa, prefix, expires=2000000000, starts=1900000000),
    ]
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1]
    assert ours[2] == {k: str(v) for k, v in theirs[2].items()}
    seg = "https://d111111abcdef8.cloudfront.net/v/abc/1.ts"
    assert sign.cloudfront_verify_url(rsa, theirs[1], now=1950000000, client_ip="203.0.113.1").valid
    v = sign.cloudfront_verify_cookies(ec.public(), {k: str(v) for k, v in theirs[3].items()}, seg,
                                       now=1950000000)
    assert v.valid and v.hash == sign.CloudFrontHash.SHA256
