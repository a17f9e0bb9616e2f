import os

import pytest

import libstream
from libstream import Key, KeyFormat, KeyRing, KeyType
from conftest import ED_PUB_B64URL, ED_SEED_B64URL, ED_SEED_HEX, assert_status

# Cloud CDN documentation key (standards.md §1.1).
GCLOUD_KEY_TEXT = " nZtRohdNF9m3cKM24IcK4w==\n"
GCLOUD_KEY_HEX = "9d9b51a2174d17d9b770a336e0870ae3"


def test_hmac_from_text_gcloud_key():
    with Key.from_text("hmac", "my-key", GCLOUD_KEY_TEXT) as k:
        assert k.id == "my-key"
        assert k.type is KeyType.HMAC
        assert len(k) == 16
        assert k.export() == "nZtRohdNF9m3cKM24IcK4w=="
        assert k.export("base64url") == k.export(KeyFormat.BASE64URL)
        assert libstream.base64_decode(k.export(), url=True) == bytes.fromhex(GCLOUD_KEY_HEX)
        with pytest.raises(libstream.NotSupported) as ei:
            k.export("pem")
        assert_status(ei, libstream.NotSupported, "STREAM_ENOTSUP", "PEM")
        with pytest.raises(libstream.InvalidArgument) as ei:
            k.public_bytes()
        assert_status(ei, libstream.InvalidArgument, "STREAM_EINVAL", "HMAC")
        with pytest.raises(libstream.InvalidArgument):
            k.public()


def test_ed25519_rfc8032_public_key(ed_key):
    assert ed_key.type is KeyType.ED25519_PRIVATE
    assert len(ed_key) == 32
    assert ed_key.export().rstrip("=") == ED_SEED_B64URL
    pub = ed_key.public()
    assert pub.type is KeyType.ED25519_PUBLIC and pub.id == "ed"
    assert pub.export().rstrip("=") == ED_PUB_B64URL
    assert ed_key.public_bytes() == pub.public_bytes()
    assert libstream.base64_encode(pub.public_bytes(), url=True, pad=False) == ED_PUB_B64URL
    # PEM round trips.
    pem = ed_key.export("pem")
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert Key.from_text("ed25519", "ed2", pem).export().rstrip("=") == ED_SEED_B64URL
    ppem = pub.export(KeyFormat.PEM)
    assert Key.from_text("ed25519-public", "p", ppem).public_bytes() == pub.public_bytes()
    with pytest.raises(libstream.InvalidArgument):
        Key.from_text(KeyType.ED25519_PRIVATE, "x", ppem)


def test_text_forms_and_bytes():
    seed = bytes.fromhex(ED_SEED_HEX)
    assert Key.from_text(2, "a", ED_SEED_B64URL).public_bytes() == \
        Key.from_bytes(KeyType.ED25519_PRIVATE, "b", seed).public_bytes()
    # bytes and str inputs are equivalent; bytearray/memoryview too.
    assert Key.from_text("hmac", b"k", GCLOUD_KEY_TEXT.encode()).export() == "nZtRohdNF9m3cKM24IcK4w=="
    k = Key.from_bytes("hmac", "k", bytearray(bytes.fromhex(GCLOUD_KEY_HEX)))
    assert k.export() == "nZtRohdNF9m3cKM24IcK4w=="
    assert Key.from_bytes("hmac", "k", memoryview(b"x" * 16)).export() == \
        libstream.base64_encode(b"x" * 16, url=True)


def test_generate():
    k = Key.generate("hmac", "gen")
    assert len(k) == 32 and k.type is KeyType.HMAC
    assert len(Key.generate(KeyType.HMAC, "g2", hmac_len=64)) == 64
    assert Key.generate("hmac", "g3").export() != k.export()
    e = Key.generate("ed25519", "ed")
    assert e.type is KeyType.ED25519_PRIVATE and len(e.public_bytes()) == 32
    with pytest.raises(libstream.InvalidArgument) as ei:
        Key.generate("ed25519-public", "p")
    assert_status(ei, libstream.InvalidArgument, "STREAM_EINVAL", "public key cannot be generated")
    with pytest.raises(libstream.InvalidArgument):
        Key.generate("hmac", "short", hmac_len=8)


@pytest.mark.parametrize("kid,words", [("", "empty"), ("bad id", "invalid character"),
                                       ("x" * 65, "limit is 64")])
def test_bad_ids_carry_status_and_message(kid, words):
    with pytest.raises(libstream.InvalidArgument) as ei:
        Key.generate("hmac", kid)
    assert_status(ei, libstream.InvalidArgument, "STREAM_EINVAL", words)
    assert ei.value.status == -1
    assert isinstance(ei.value, ValueError)


def test_bad_inputs():
    with pytest.raises(TypeError):
        Key.generate("hmac", None)
    with pytest.raises(TypeError):
        Key.generate("hmac", 42)
    with pytest.raises(TypeError):
        Key.from_bytes("hmac", "k", None)
    with pytest.raises(TypeError):
        Key.from_text("hmac", "k", 3.0)
    with pytest.raises(TypeError):
        Key.generate(None, "k")
    with pytest.raises(TypeError):
        Key()
    with pytest.raises(libstream.InvalidArgument) as ei:
        Key.generate("dsa", "k")  # "rsa" is a key type now (CloudFront)
    assert "unknown key type" in ei.value.message
    with pytest.raises(libstream.InvalidArgument) as ei:
        Key.generate(99, "k")
    assert_status(ei, libstream.InvalidArgument, "STREAM_EINVAL", "unknown key type 99")
    with pytest.raises(libstream.InvalidArgument) as ei:
        Key.generate("hmac", "a\0b")
    assert "NUL" in ei.value.message
    for text in ["", "c2hvcnQ", "!!!notbase64!!!"]:
        with pytest.raises(libstream.InvalidArgument) as ei:
            Key.from_text("hmac", "k", text)
        assert ei.value.message
    with pytest.raises(libstream.InvalidArgument) as ei:
        Key.from_bytes("hmac", "k", b"short")
    assert_status(ei, libstream.InvalidArgument, "STREAM_EINVAL", "16..128")
    with pytest.raises(libstream.InvalidArgument) as ei:
        Key.from_bytes("ed25519", "k", b"\1" * 31)
    assert "32 bytes" in ei.value.message
    with pytest.raises(libstream.InvalidArgument):
        Key.from_bytes("ed25519", "k", b"")


def test_secret_never_in_messages():
    secret = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY!"
    with pytest.raises(libstream.InvalidArgument) as ei:
        Key.from_text("hmac", "k", secret)
    assert secret not in str(ei.value) and secret not in repr(ei.value)
    k = Key.from_text("hmac", "k", GCLOUD_KEY_TEXT)
    assert "nZtR" not in repr(k)


def test_load_file(tmp_path):
    p = tmp_path / "key.txt"
    p.write_text(GCLOUD_KEY_TEXT)
    assert Key.load_file("hmac", "f", p).export() == "nZtRohdNF9m3cKM24IcK4w=="
    assert Key.load_file("hmac", "f", str(p)).id == "f"
    missing = tmp_path / "missing.key"
    with pytest.raises(libstream.IOFailure) as ei:
        Key.load_file("hmac", "f", missing)
    assert_status(ei, libstream.IOFailure, "STREAM_EIO", str(missing))
    big = tmp_path / "big.key"
    big.write_text("A" * (17 * 1024))
    with pytest.raises(libstream.OutOfRange) as ei:
        Key.load_file("hmac", "f", big)
    assert_status(ei, libstream.OutOfRange, "STREAM_ERANGE")
    with pytest.raises(libstream.InvalidArgument):
        Key.load_file("hmac", "f", "")


def test_load_env(monkeypatch):
    monkeypatch.setenv("LIBSTREAM_PYTEST_KEY", GCLOUD_KEY_TEXT)
    assert Key.load_env("hmac", "e", "LIBSTREAM_PYTEST_KEY").export() == "nZtRohdNF9m3cKM24IcK4w=="
    monkeypatch.delenv("LIBSTREAM_PYTEST_KEY")
    with pytest.raises(libstream.NotFound) as ei:
        Key.load_env("hmac", "e", "LIBSTREAM_PYTEST_KEY")
    assert_status(ei, libstream.NotFound, "STREAM_ENOTFOUND", "LIBSTREAM_PYTEST_KEY")
    assert isinstance(ei.value, LookupError)


def test_close_and_context_manager():
    with Key.generate("hmac", "c") as k:
        assert k.id == "c"
    assert "closed" in repr(k)
    with pytest.raises(libstream.InvalidArgument) as ei:
        k.id
    assert "closed" in ei.value.message
    k.close()  # twice is fine


def test_keyring():
    a = Key.generate("hmac", "a")
    b = Key.generate("ed25519", "b")
    with KeyRing() as ring:
        assert len(ring) == 0
        with pytest.raises(libstream.NotFound):
            ring.primary
        ring.add(a).add(b)
        assert len(ring) == 2
        assert ring.primary.id == "a"
        assert "b" in ring and "zz" not in ring
        assert ring.get("b").public_bytes() == b.public_bytes()
        ring.set_primary("b")
        assert ring.primary.id == "b"
        with pytest.raises(libstream.AlreadyExists) as ei:
            ring.add(Key.generate("hmac", "a"))
        assert_status(ei, libstream.AlreadyExists, "STREAM_EEXIST", "'a'")
        with pytest.raises(libstream.NotFound):
            ring.set_primary("nope")
        with pytest.raises(libstream.NotFound):
            ring.remove("nope")
        # The ring keeps its own reference: closing ours does not affect it.
        a.close()
        assert ring.get("a").type is KeyType.HMAC
        ring.remove("b")
        assert len(ring) == 1
        with pytest.raises(libstream.NotFound):
            ring.primary
        with pytest.raises(TypeError):
            ring.add("a")
        with pytest.raises(TypeError):
            ring.remove(None)
    with pytest.raises(libstream.InvalidArgument):
        len(ring)


def test_keyring_limit():
    ring = KeyRing(Key.generate("hmac", "k%d" % i) for i in range(32))
    assert len(ring) == 32
    with pytest.raises(libstream.OutOfRange) as ei:
        ring.add(Key.generate("hmac", "k32"))
    assert_status(ei, libstream.OutOfRange, "STREAM_ERANGE", "full")
