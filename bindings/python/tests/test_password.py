"""libstream.password: RFC 9106 §5.3 and PHC reference vectors (standards.md §6)."""
import pytest

import libstream
from libstream import password
from conftest import assert_status

PHC = [  # (t, m, p, password, salt, phc) from the PHC reference src/test.c
    (2, 65536, 1, "password", "somesalt",
     "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"),
    (2, 256, 1, "password", "somesalt",
     "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"),
    (2, 256, 2, "password", "somesalt",
     "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc"),
    (1, 65536, 1, "password", "somesalt",
     "$argon2id$v=19$m=65536,t=1,p=1$c29tZXNhbHQ$9qWtwbpyPd3vm1rB1GThgPzZ3/ydHL92zKL+15XZypg"),
    (2, 65536, 1, "differentpassword", "somesalt",
     "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$C4TWUs9rDEvq7w3+J4umqA32aWKB1+DSiRuBfYxFj94"),
    (2, 65536, 1, "password", "diffsalt",
     "$argon2id$v=19$m=65536,t=2,p=1$ZGlmZnNhbHQ$vfMrBczELrFdWP0ZsfhWsRPaHppYdP3MVEMIVlqoFBw"),
]


def test_rfc9106_argon2id_raw():
    tag = password.argon2id_raw(b"\x01" * 32, b"\x02" * 16, secret=b"\x03" * 8, ad=b"\x04" * 12,
                                length=32, m_cost=32, t_cost=3, parallelism=4)
    assert tag.hex() == "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"


@pytest.mark.parametrize("t,m,p,pw,salt,phc", PHC)
def test_phc_vectors(t, m, p, pw, salt, phc):
    assert password.hash(pw, t_cost=t, m_cost=m, parallelism=p, salt=salt) == phc
    assert password.verify(phc, pw)
    assert password.verify(phc, pw.encode())
    assert not password.verify(phc, pw + "x")
    assert password.needs_rehash(phc)  # not the defaults
    assert not password.needs_rehash(phc, t_cost=t, m_cost=m, parallelism=p, salt_len=8)


def test_default_hash_round_trip():
    h = password.hash("correct horse battery staple")
    assert h.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert password.hash("correct horse battery staple") != h  # random salt
    assert password.verify(h, "correct horse battery staple")
    assert not password.verify(h, "Correct horse battery staple")
    assert not password.needs_rehash(h)
    assert libstream.verify_password(h, b"correct horse battery staple")
    # Unicode passwords are UTF-8 encoded: str and bytes agree.
    h = libstream.hash_password("pässwörd", m_cost=256, t_cost=1)
    assert password.verify(h, "pässwörd".encode("utf-8"))
    # NUL bytes are part of the password.
    h = password.hash(b"a\0b", m_cost=256, t_cost=1)
    assert password.verify(h, b"a\0b") and not password.verify(h, b"a")


def test_password_errors():
    phc = PHC[1][5]
    with pytest.raises(libstream.OutOfRange) as ei:
        password.hash("")
    assert_status(ei, libstream.OutOfRange, "STREAM_ERANGE")
    with pytest.raises(libstream.OutOfRange):
        password.hash("x" * 5000, m_cost=256, t_cost=1)
    with pytest.raises(libstream.OutOfRange):
        password.hash("pw", m_cost=4)
    with pytest.raises(libstream.OutOfRange):
        password.hash("pw", t_cost=-1)
    with pytest.raises(libstream.OutOfRange):
        password.hash("pw", salt=b"short")
    assert not password.verify(phc, "")  # can never have been hashed
    with pytest.raises(libstream.InvalidArgument) as ei:
        password.verify("not a phc string", "pw")
    assert_status(ei, libstream.InvalidArgument, "STREAM_EINVAL")
    with pytest.raises(libstream.NotSupported):
        password.verify(phc.replace("argon2id", "argon2i"), "password")
    with pytest.raises(libstream.OutOfRange):
        password.verify("$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", "pw")
    for i in range(len(phc)):  # a shorter tag may still parse: then it simply does not match
        try:
            assert not password.verify(phc[:i], "password")
        except libstream.StreamError as e:
            assert e.message and e.status < 0
    for bad in (None, 12, 3.5):
        with pytest.raises(TypeError):
            password.hash(bad)
        with pytest.raises(TypeError):
            password.verify(phc, bad)
    with pytest.raises(TypeError):
        password.verify(None, "pw")
    with pytest.raises(libstream.InvalidArgument):
        password.hash("pw", salt=b"12345678", salt_len=9)
