"""Shared fixtures for the libstream Python tests.

The tests run against the build tree: meson sets PYTHONPATH to
<builddir>/bindings/python, where the compiled _libstream_cffi and a copy of
the libstream package live.
"""
import pytest

import libstream

# RFC 8032 §7.1 TEST 1 / RFC 8037 Appendix A key pair.
ED_SEED_HEX = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
ED_SEED_B64URL = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
ED_PUB_B64URL = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"


@pytest.fixture
def ed_key():
    with libstream.Key.from_bytes("ed25519", "ed", bytes.fromhex(ED_SEED_HEX)) as k:
        yield k


@pytest.fixture
def hmac_key():
    with libstream.Key.from_bytes("hmac", "h1", b"0123456789abcdef0123456789abcdef") as k:
        yield k


def assert_status(excinfo, cls, status_name, words=None):
    """The raised error is ``cls`` with the status, its name and a message."""
    e = excinfo.value
    assert isinstance(e, cls)
    assert isinstance(e, libstream.StreamError)
    assert e.name == status_name
    assert e.status == getattr(libstream.lib, status_name)
    assert e.message
    if words:
        assert words in e.message, e.message
