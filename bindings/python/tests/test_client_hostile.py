"""libstream.client against a hostile server (review RV10): every 2xx answer that is not JSON,
or not of the shape a method documents, raises ProtocolError (never TypeError, KeyError,
RecursionError or a JSON decoding error), and tokens that would inject header lines are refused.

The server is a loopback http.server answering what the test sets.
"""
import http.server
import json
import threading

import pytest

import libstream
from libstream import client as lc

pytestmark = pytest.mark.skipif(not lc.AVAILABLE, reason="libstream built without the client feature")


class Hostile:
    """Answers every request with (status, body); records the request heads."""

    def __init__(self):
        self.status, self.body = 200, b"{}"
        self.heads = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                owner.heads.append(self.requestline + "\r\n" + self.headers.as_string())
                self.send_response(owner.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(owner.body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(owner.body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def hostile_server():
    h = Hostile()
    yield h
    h.close()


@pytest.fixture
def hostile(hostile_server):
    hostile_server.status, hostile_server.body = 200, b"{}"
    hostile_server.heads.clear()
    return hostile_server


DEEP_ARRAY = b"[" * 999 + b"]" * 999  # JSON to cJSON (nesting limit 1000), too deep for json
DEEP_OBJECT = b'{"a":' + b"[" * 998 + b"]" * 998 + b"}"

CASES = [
    ("genres", (), b"[1,2,3]"),
    ("genres", (), b"{}"),
    ("genres", (), b'{"genres":{}}'),
    ("genres", (), b""),
    ("title", ("t1",), b"[1,2,3]"),
    ("title", ("t1",), b'{"id":"t1"} junk'),
    ("title", ("t1",), b'{"id":"t1"}\0xyz'),
    ("title", ("t1",), DEEP_OBJECT),
    ("browse", (), b'{"items":[],"next_cursor":5}'),
    ("profiles", (), b'{"profiles":null}'),
    ("my_list", (), b'{"items":{}}'),
    ("continue_watching", (), b'{"items":5}'),
    ("home", (), b'{"rows":{}}'),
    ("billing_plans", (), b'{"plans":"all"}'),
    ("subscription", (), b'{"subscription":[]}'),
    ("invoices", (), b"{}"),
    ("rating", ("t1",), b'{"rating":"up"}xyz'),
    ("request", ("GET", "/v1/x"), b"{} junk"),
    ("request", ("GET", "/v1/x"), b'{"a":"b\0"}'),
    ("request", ("GET", "/v1/x"), DEEP_ARRAY),
]


@pytest.mark.parametrize("method,args,body", CASES,
                         ids=["%s-%d" % (c[0], i) for i, c in enumerate(CASES)])
def test_malformed_answers_raise_protocol_error(hostile, method, args, body):
    hostile.body = body
    with lc.Client(hostile.url, timeout=5) as c:
        c.set_tokens("ACC", "REF")
        with pytest.raises(libstream.ProtocolError) as ei:
            getattr(c, method)(*args)
        assert ei.value.status == libstream.lib.STREAM_EPROTO


def test_request_passes_any_json_through(hostile):
    hostile.body = b"[1,2,3]"
    with lc.Client(hostile.url, timeout=5) as c:
        c.set_tokens("ACC", "REF")
        assert c.request("GET", "/v1/x") == [1, 2, 3]
        hostile.body = b'{"genres":[1,2,3]}'
        assert c.genres() == [1, 2, 3]  # the contents are the server's


def test_injected_tokens_are_refused(hostile):
    with lc.Client(hostile.url, timeout=5) as c:
        c.set_tokens("ACC", "REF")
        for answer in ({"access_token": "A\r\nX-Injected: yes", "refresh_token": "R"},
                       {"access_token": "A", "refresh_token": "R\nX-Injected: yes"},
                       {"access_token": "A", "refresh_token": "R", "account_id": "a\r\nb"},
                       {"access_token": "A", "refresh_token": "R", "profile_id": "p q"}):
            hostile.body = json.dumps(answer).encode()
            with pytest.raises(libstream.ProtocolError):
                c.login("a@b.c", "hunter22")
            assert c.get_tokens() == ("ACC", "REF")
        hostile.body = b'{"genres":[]}'
        assert c.genres() == []
        assert "Authorization: Bearer ACC" in hostile.heads[-1]
        assert not any("X-Injected" in h for h in hostile.heads)
