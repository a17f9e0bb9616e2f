"""libstream.cmcd: CTA-5004 (CMCD v1) payloads, with the official vector of
shared/design/standards.md §8.2 (SVTA common-media-library's test data) both ways."""
import urllib.parse

import pytest

import libstream
from libstream import cmcd

VECTOR = ('br=200,bs,cid="content-id",com.example-exists,com.example-hello="world",'
          'com.example-quote="\\"Quote\\"",com.example-testing=1234,com.example-token=s,d=325,'
          'mtp=10000,nor="..%2Ftesting%2F3.m4v",nrr="0-99",ot=m,pb=1000,sid="session-id"')
# The vector's input (JavaScript's {sid, cid, su: false, ...}); pb is a CMCD v2 key, kept as
# an extra key, and com.example-not-exists is false, so absent.
INPUT = {"sid": "session-id", "cid": "content-id", "su": False, "nor": "../testing/3.m4v",
         "nrr": "0-99", "d": 324.69, "mtp": 10049, "bs": True, "br": 200, "v": 1, "pr": 1,
         "pb": 1000, "ot": "m", "com.example-hello": "world", "com.example-testing": 1234,
         "com.example-exists": True, "com.example-not-exists": False,
         "com.example-token": cmcd.Token("s"), "com.example-quote": '"Quote"'}


def test_vector_format():
    assert cmcd.format(INPUT) == VECTOR
    assert cmcd.format(INPUT, "query") == "CMCD=" + urllib.parse.quote(VECTOR, safe="-_.!~*'()")
    v1 = {k: v for k, v in INPUT.items() if "-" not in k and k != "pb"}
    assert cmcd.format(v1, cmcd.HEADERS) == {
        "CMCD-Object": "br=200,d=325,ot=m",
        "CMCD-Request": 'mtp=10000,nor="..%2Ftesting%2F3.m4v",nrr="0-99"',
        "CMCD-Session": 'cid="content-id",sid="session-id"',
        "CMCD-Status": "bs"}


def test_vector_parse():
    got = cmcd.parse(VECTOR)
    # The input after the rounding rules; v, pr (1) and the false booleans are not sent.
    want = dict(INPUT, d=325, mtp=10000)
    for k in ("v", "pr", "su", "com.example-not-exists"):
        del want[k]
    assert got == want
    assert isinstance(got["com.example-token"], cmcd.Token)
    assert not isinstance(got["com.example-hello"], cmcd.Token)
    assert cmcd.format(got) == VECTOR
    assert cmcd.parse_query("a=1&" + cmcd.format(INPUT, "query")) == got
    shards = cmcd.format({k: v for k, v in INPUT.items() if "-" not in k and k != "pb"},
                         "headers")
    assert cmcd.parse(*shards.values()) == {k: v for k, v in want.items()
                                           if "-" not in k and k != "pb"}


def test_body_example():
    body = ('bl=11200,br=67,d=4011,dl=11200,mtp=42900,nor="bbb_a64k_5.m4a",ot=a,rtp=200,sf=d,'
            'sid="31b090a2-def1-44f9-87f8-4f8213c7bf63",st=v,tb=67')
    got = cmcd.parse(body)
    assert got["bl"] == 11200 and got["ot"] == "a" and got["st"] == "v" and got["tb"] == 67
    assert cmcd.format(got) == body


def test_rounding():
    assert cmcd.format({"bl": 11249, "dl": 11250, "mtp": 10049, "rtp": 49, "d": 0.5,
                        "pr": 1.5}) == "bl=11200,d=1,dl=11300,mtp=10000,pr=1.5,rtp=0"
    assert cmcd.format({"pr": 1, "v": 1, "su": False}) == ""
    assert cmcd.format({"com.example-d": 2.0}) == "com.example-d=2.0"


@pytest.mark.parametrize("bad", ["br=x", "bl=-1", 'sid="a', "ot=zz", "br=1;a", "br=(1 2)",
                                 "br=1,br=2", "br=1,", "Br=1"])
def test_malformed(bad):
    with pytest.raises(libstream.ProtocolError) as e:
        cmcd.parse(bad)
    assert "offset" in e.value.message


def test_errors():
    with pytest.raises(libstream.NotFound):
        cmcd.parse_query("a=1")
    with pytest.raises(libstream.ProtocolError):
        cmcd.parse("br=1", "br=2")  # a key in two shards
    with pytest.raises(libstream.InvalidArgument):
        cmcd.format({"ot": "x"})
    with pytest.raises(libstream.InvalidArgument):
        cmcd.format({"sid": "s" * 65})
    with pytest.raises(libstream.InvalidArgument):
        cmcd.format({"br": 1}, "json")
    with pytest.raises(TypeError):
        cmcd.format({"su": 1})
    with pytest.raises(TypeError):
        cmcd.format({"com.example-x": [1]})
