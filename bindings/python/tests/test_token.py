"""libstream.token: JWS vectors of RFC 7515 A.1 and RFC 8037 A.4 (standards.md §4),
and JWT issue/verify through a key ring."""
import json

import pytest

import libstream
from libstream import Key, KeyRing, token
from conftest import ED_PUB_B64URL, ED_SEED_B64URL, assert_status

A1_KEY = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
A1_HEADER = b'{"typ":"JWT",\r\n "alg":"HS256"}'
A1_PAYLOAD = b'{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}'
A1_JWS = ("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
          "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
          "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
A4_JWS = ("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
          "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg")


@pytest.fixture
def a1_key():
    return Key.from_text("hmac", "a1", A1_KEY)


def test_rfc7515_a1_hs256(a1_key):
    assert token.jws_sign(a1_key, A1_HEADER, A1_PAYLOAD) == A1_JWS
    assert token.jws_sign(a1_key, A1_HEADER.decode(), A1_PAYLOAD.decode()) == A1_JWS
    assert token.jws_verify(a1_key, A1_JWS) == A1_PAYLOAD
    assert isinstance(token.jws_verify(a1_key, A1_JWS.encode()), bytes)


def test_rfc8037_a4_eddsa():
    priv = Key.from_text("ed25519", "ed", ED_SEED_B64URL)
    assert token.jws_sign(priv, '{"alg":"EdDSA"}', "Example of Ed25519 signing") == A4_JWS
    assert token.jws_sign(priv, {"alg": "EdDSA"}, b"Example of Ed25519 signing") == A4_JWS
    pub = Key.from_text("ed25519-public", "ed", ED_PUB_B64URL)
    assert token.jws_verify(pub, A4_JWS) == b"Example of Ed25519 signing"


def test_jws_rejections(a1_key):
    with pytest.raises(libstream.AuthError) as ei:
        token.jws_verify(a1_key, A1_JWS[:-2] + ("AA" if not A1_JWS.endswith("AA") else "BA"))
    assert_status(ei, libstream.AuthError, "STREAM_EAUTH")
    with pytest.raises(libstream.AuthError):  # algorithm comes from the key
        token.jws_verify(a1_key, A4_JWS)
    with pytest.raises(libstream.AuthError):
        token.jws_sign(a1_key, '{"alg":"none"}', "x")
    with pytest.raises(libstream.NotSupported) as ei:
        token.jws_sign(a1_key, '{"alg":"HS256","crit":["b64"],"b64":false}', "x")
    assert_status(ei, libstream.NotSupported, "STREAM_ENOTSUP")
    with pytest.raises(libstream.OutOfRange):
        token.jws_verify(a1_key, A1_JWS, max_size=32)
    for i in range(len(A1_JWS)):
        with pytest.raises(libstream.StreamError):
            token.jws_verify(a1_key, A1_JWS[:i])
    with pytest.raises(TypeError):
        token.jws_verify(a1_key, None)
    with pytest.raises(TypeError):
        token.jws_sign("a1", A1_HEADER, A1_PAYLOAD)


NOW = 1700000000


@pytest.fixture
def ring():
    return KeyRing([Key.from_bytes("hmac", "hs", b"k" * 32), Key.from_text("ed25519", "ed", ED_SEED_B64URL)])


def test_issue_and_verify_round_trip(ring):
    tok = token.issue(ring, {"pid": "p1", "scope": "play"}, sub="acct-42", iss="libstream", aud="tv",
                      ttl=600, now=NOW)
    assert isinstance(tok, str) and tok.count(".") == 2
    claims = token.verify(ring, tok, iss="libstream", aud="tv", now=NOW + 10)
    assert isinstance(claims, dict) and isinstance(claims, token.Claims)
    assert claims["sub"] == "acct-42" and claims["pid"] == "p1" and claims["scope"] == "play"
    assert claims["iat"] == NOW and claims["exp"] == NOW + 600 and claims["jti"]
    assert claims.kid == "hs"
    header = json.loads(libstream.base64_decode(tok.split(".")[0], url=True))
    assert header == {"alg": "HS256", "typ": "JWT", "kid": "hs"}
    # The Ed25519 key, chosen by kid; JSON text claims; no jti.
    tok = token.issue(ring, '{"role":"admin"}', kid="ed", exp=NOW + 60, jti=False, now=NOW)
    c = token.verify(ring, tok, now=NOW)
    assert c.kid == "ed" and c["role"] == "admin" and "jti" not in c and c["exp"] == NOW + 60
    # Default lifetime is 15 minutes.
    c = token.verify(ring, token.issue(ring, now=NOW), now=NOW)
    assert c["exp"] == NOW + 900


def test_verify_failures(ring):
    tok = token.issue(ring, sub="a", iss="me", aud="tv", ttl=60, now=NOW)
    with pytest.raises(libstream.Expired) as ei:
        token.verify(ring, tok, iss="me", aud="tv", now=NOW + 61)
    assert_status(ei, libstream.Expired, "STREAM_EEXPIRED")
    assert token.verify(ring, tok, iss="me", aud="tv", now=NOW + 61, leeway=5)["sub"] == "a"
    with pytest.raises(libstream.Forbidden) as ei:
        token.verify(ring, tok, iss="someone-else", aud="tv", now=NOW)
    assert_status(ei, libstream.Forbidden, "STREAM_EFORBIDDEN", "iss")
    with pytest.raises(libstream.Forbidden):
        token.verify(ring, tok, iss="me", now=NOW)  # the token has an aud we did not ask for
    nbf = token.issue(ring, nbf=NOW + 100, ttl=600, now=NOW)
    with pytest.raises(libstream.Expired):
        token.verify(ring, nbf, now=NOW)
    other = KeyRing([Key.from_bytes("hmac", "hs", b"x" * 32)])
    with pytest.raises(libstream.AuthError) as ei:
        token.verify(other, tok, iss="me", aud="tv", now=NOW)
    assert_status(ei, libstream.AuthError, "STREAM_EAUTH")
    with pytest.raises(libstream.AuthError):
        token.verify(KeyRing([Key.generate("hmac", "zz")]), tok, iss="me", aud="tv", now=NOW)
    # Truncated and bit-flipped tokens never verify.
    for i in range(len(tok)):
        with pytest.raises(libstream.StreamError):
            token.verify(ring, tok[:i] or "x", iss="me", aud="tv", now=NOW)
    for i in range(0, len(tok), 3):
        c = "A" if tok[i] != "A" else "B"
        if tok[i] == ".":
            continue
        with pytest.raises(libstream.StreamError):
            token.verify(ring, tok[:i] + c + tok[i + 1:], iss="me", aud="tv", now=NOW)


def test_issue_bad_input(ring):
    with pytest.raises(libstream.NotFound) as ei:
        token.issue(ring, kid="nope", now=NOW)
    assert_status(ei, libstream.NotFound, "STREAM_ENOTFOUND")
    with pytest.raises(libstream.InvalidArgument) as ei:
        token.issue(ring, "not json", now=NOW)
    assert_status(ei, libstream.InvalidArgument, "STREAM_EINVAL")
    with pytest.raises(libstream.InvalidArgument):
        token.issue(ring, {"exp": 5}, now=NOW)  # exp only through the options
    with pytest.raises(libstream.InvalidArgument):
        token.issue(ring, ttl=-1, now=NOW)
    with pytest.raises(libstream.OutOfRange):
        token.issue(ring, sub="s" * 300, now=NOW)
    with pytest.raises(libstream.InvalidArgument):
        token.issue(KeyRing([Key.from_text("ed25519-public", "p", ED_PUB_B64URL)]), now=NOW)
    with pytest.raises(TypeError):
        token.issue(ring, 42, now=NOW)
    with pytest.raises(TypeError):
        token.issue("ring", now=NOW)
    with pytest.raises(TypeError):
        token.issue(ring, jti="yes", now=NOW)
    with pytest.raises(TypeError):
        token.verify(ring, None)
    with pytest.raises(libstream.InvalidArgument):
        token.verify(ring, "", now=NOW)
    with pytest.raises(libstream.InvalidArgument):
        token.verify(ring, "a.b.c", now=NOW, leeway=100000)
