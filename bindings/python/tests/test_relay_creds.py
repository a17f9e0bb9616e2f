"""libstream.relay: ``creds_file`` (a NATS credentials file) reaches the library, for Relay and
Reader. The library checks that the file opens before it connects, so a missing one is
named without any server; an existing one is left to nats.c, which reads it as it connects
(the full operator-mode round trip is tests/unit/relay/test_relay_creds.c)."""
import pytest

import libstream
from libstream import events as le
from libstream import relay as lr

from conftest import NATS_SERVER, assert_status, free_port

pytestmark = pytest.mark.skipif(not lr.AVAILABLE, reason="built without the nats feature")


@pytest.fixture
def evs(tmp_path):
    from libstream.store import Store
    with Store(str(tmp_path / "db.sqlite")) as st:
        with le.Events(st) as h:
            yield h


@pytest.mark.parametrize("cls", [lr.Relay, lr.Reader])
def test_missing_creds_file_is_named_without_a_server(evs, tmp_path, cls):
    dead = "nats://127.0.0.1:%d" % free_port()  # nothing listens: no server is needed
    missing = str(tmp_path / "missing.creds")
    with pytest.raises(libstream.IOFailure) as e:
        cls(evs, dead, creds_file=missing, timeout_ms=1000)
    assert_status(e, libstream.IOFailure, "STREAM_EIO", missing)
    assert "NATS credentials file" in e.value.message
    assert dead not in e.value.message  # refused before connecting

    # A file that opens passes that check: what fails then is the connection, named by URL.
    present = tmp_path / "present.creds"
    present.write_text("not a credentials file\n")
    with pytest.raises(libstream.IOFailure) as e:
        cls(evs, dead, creds_file=str(present), timeout_ms=1000)
    assert_status(e, libstream.IOFailure, "STREAM_EIO", dead)
    assert str(present) not in e.value.message

    # Without creds_file the same URL fails the same way: the file is what made the difference.
    with pytest.raises(libstream.IOFailure) as e:
        cls(evs, dead, timeout_ms=1000)
    assert missing not in e.value.message


@pytest.mark.skipif(NATS_SERVER is None, reason="nats-server is not installed")
def test_creds_file_without_a_seed_is_named_by_nats(evs, tmp_path, nats_url):
    """An existing file reaches nats.c, which finds no seed in it as it connects: STREAM_EIO
    naming the file, not NATS being unreachable."""
    junk = tmp_path / "noseed.creds"
    junk.write_text("not a credentials file\n")
    with pytest.raises(libstream.IOFailure) as e:
        lr.Relay(evs, nats_url, creds_file=str(junk), create_stream=True, timeout_ms=2000)
    assert_status(e, libstream.IOFailure, "STREAM_EIO", str(junk))
    assert "cannot be used" in e.value.message
    # The same server takes the relay without the file.
    with lr.Relay(evs, nats_url, create_stream=True, timeout_ms=2000) as r:
        assert r.lag() == 0
