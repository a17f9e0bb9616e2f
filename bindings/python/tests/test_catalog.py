"""libstream.catalog (and libstream.store) over an in-memory store: the demo
catalog import, browse with stable cursors, search, maturity/region/availability
filters, detail, operator edits, progress, continue watching and My List."""
import json
import os
import sqlite3

import pytest

import libstream
from libstream import lib

from conftest import assert_status

store_mod = pytest.importorskip("libstream.store")
if not store_mod.AVAILABLE:  # pragma: no cover - client-only builds
    pytest.skip("libstream built without the server feature", allow_module_level=True)

from libstream.auth import Auth  # noqa: E402
from libstream.catalog import Catalog, Viewer, maturity_label  # noqa: E402
from libstream.store import Store  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEMO = os.environ.get("STREAMD_DEMO_CATALOG") or os.path.join(
    HERE, "..", "..", "..", "examples", "data", "demo-catalog.json")
NOW = 1700000000
FAST = {"m_cost": 64, "t_cost": 1}


@pytest.fixture
def store():
    with Store() as st:
        yield st


@pytest.fixture
def clock():
    return [NOW]


@pytest.fixture
def cat(store, clock):
    c = Catalog(store, clock=lambda: clock[0])
    r = c.import_file(DEMO)
    assert r.failed == 0
    yield c
    c.close()


@pytest.fixture
def profile(store):
    with libstream.KeyRing([libstream.Key.generate("hmac", "k1")]) as ring:
        a = Auth(store, ring, password_params=FAST)
        acct = a.register("viewer@catalog.test", "correct horse")
        p = a.create_profile(acct.id, "Main")
        kid = a.create_profile(acct.id, "Kid", kids=True)
        a.close()
    return p["id"], kid["id"]


def names(items):
    return [t["name"] for t in items]


def test_store_basics(tmp_path):
    path = tmp_path / "s.db"
    with Store(path, readers=2, busy_timeout_ms=1000) as st:
        assert st.backend == "sqlite"
        # The version the store reports is the newest migration recorded in the file.
        with sqlite3.connect(str(path)) as raw:
            newest, count = raw.execute("SELECT max(version), count(*) FROM schema_version").fetchone()
        assert st.schema_version == newest == count and newest >= 2
        assert "sqlite" in repr(st)
    assert st.closed and "closed" in repr(st)
    with pytest.raises(libstream.InvalidArgument, match="closed"):
        st.schema_version
    st.close()  # twice is fine
    with pytest.raises(libstream.InvalidArgument) as ei:
        Store("")
    assert_status(ei, libstream.InvalidArgument, "STREAM_EINVAL")
    with pytest.raises(libstream.InvalidArgument):
        Store(path, readers=0)
    with pytest.raises(libstream.OutOfRange):
        Store(path, readers=-1)
    with pytest.raises(TypeError):
        Store(None)
    with pytest.raises(libstream.InvalidArgument, match="NUL"):
        Store("a\0b")
    with pytest.raises(libstream.InvalidArgument, match="sync"):
        Store(path, sync="fast")
    # Both modes open and write; what each syncs is tested in C (test_sync_modes).
    for mode in ("full", "normal"):
        with Store(tmp_path / ("%s.db" % mode), sync=mode) as st:
            assert st.schema_version >= 2


def test_import_demo_catalog(store):
    c = Catalog(store)
    with open(DEMO, encoding="utf-8") as f:
        doc = json.load(f)
    r = c.import_document(doc)
    n = len(doc["titles"])
    assert n >= 20
    assert (r.total, r.created, r.updated, r.unchanged, r.failed) == (n, n, 0, 0, 0)
    assert r.report["total"] == n and len(r.report["items"]) == n
    assert {i["status"] for i in r.report["items"]} == {"created"}
    # Importing again (as text this time) changes nothing.
    r = c.import_file(DEMO)
    assert (r.created, r.updated, r.unchanged) == (0, 0, n)
    # An invalid document writes nothing and reports every invalid item.
    bad = {"titles": [{"id": "ok-one", "kind": "movie", "name": "Fine", "maturity_rating": 0},
                      {"id": "bad-one", "kind": "movie", "name": "Bad", "maturity_rating": 0,
                       "year": 1},
                      {"id": "bad-two", "kind": "film", "name": "Bad too", "maturity_rating": 0}]}
    with pytest.raises(libstream.InvalidArgument) as ei:
        c.import_document(bad)
    assert_status(ei, libstream.InvalidArgument, "STREAM_EINVAL")
    rep = ei.value.report
    assert [i["status"] for i in rep["items"]].count("invalid") == 2
    assert any("year" in i.get("error", "") for i in rep["items"])
    with pytest.raises(libstream.NotFound):
        c.title("ok-one")
    for junk in ("", "{", "[]", '{"titles": 5}', b"\xff\xfe"):
        with pytest.raises(libstream.InvalidArgument):
            c.import_document(junk)
    with pytest.raises(TypeError):
        c.import_document(None)


def test_genres_and_browse(cat):
    g = cat.genres()
    assert g == sorted(g)
    assert {"Drama", "Comedy", "Sci-Fi", "Family"} <= set(g)
    everything = list(cat.browse_all(limit=100))
    # Tomorrow's Orchestra is only available from 2100.
    assert len(everything) == 21
    assert "Tomorrow's Orchestra" not in names(everything)
    assert names(everything) == sorted(names(everything))
    # Small pages give the same titles in the same order.
    assert [t["id"] for t in cat.browse_all(limit=4)] == [t["id"] for t in everything]
    drama = list(cat.browse_all(genre="Drama", limit=3))
    assert drama and all("Drama" in t["genres"] for t in drama)
    page = cat.browse(genre="Drama", limit=2)
    assert len(page["items"]) == 2 and page["next_cursor"]
    with pytest.raises(libstream.InvalidArgument):
        cat.browse(cursor="not a cursor")
    with pytest.raises(libstream.InvalidArgument):
        cat.browse(limit=lib.STREAM_STORE_PAGE_MAX + 1)


def test_genres_for_viewer(cat, clock):
    # Operator list: every genre in use, even Music, whose only title opens in 2100.
    assert "Music" in cat.genres()
    cat.put({"id": "fr-only", "kind": "movie", "name": "Rue Seule", "genres": ["Chanson"],
             "maturity_rating": 0, "regions": ["FR"]})
    viewers = [None, Viewer(), Viewer(kids=True), Viewer(maturity_ceiling=13),
               Viewer(maturity_ceiling=0), Viewer(region="FR"), Viewer(region="US")]
    for v in viewers:
        g = cat.genres_for(v)
        assert g == sorted(g) and len(set(g)) == len(g)
        # The point: every genre a viewer is shown browses to at least one title,
        # and every title the viewer can browse has its genres listed.
        for genre in g:
            assert cat.browse(genre=genre, limit=1, viewer=v)["items"], (v, genre)
        seen = {x for t in cat.browse_all(limit=100, viewer=v) for x in t["genres"]}
        assert set(g) == seen, v
        assert "Music" not in g  # out of its availability window
    kids = cat.genres_for(Viewer(kids=True))
    assert "Horror" not in kids and "Thriller" not in kids and "Kids" in kids
    assert "Horror" in cat.genres_for(Viewer())
    assert "Horror" not in cat.genres_for(Viewer(maturity_ceiling=13))  # rated 16 and 18
    assert "Chanson" in cat.genres_for(Viewer(region="FR"))
    assert "Chanson" not in cat.genres_for(Viewer(region="US"))
    clock[0] = 4102444800  # Tomorrow's Orchestra opens
    assert "Music" in cat.genres_for(Viewer(kids=True))
    with pytest.raises(TypeError):
        cat.genres_for({"kids": True})


def test_pagination_stable_under_inserts(cat):
    before = [t["id"] for t in cat.browse_all(limit=100)]
    first = cat.browse(limit=5)
    seen = [t["id"] for t in first["items"]]
    # Between two page reads, titles land before the cursor, among the pages
    # already read, and after it.
    new = {name: cat.put({"kind": "movie", "name": name, "genres": ["Drama"],
                            "maturity_rating": 0})[0]["id"]
           for name in ("AAA first", "Brass Meadow II", "Zzz last")}
    cursor = first["next_cursor"]
    while cursor:
        page = cat.browse(cursor=cursor, limit=5)
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen))  # no duplicates
    assert [i for i in seen if i in before] == before  # nothing hidden, same order
    assert new["Zzz last"] in seen
    assert new["AAA first"] not in seen and new["Brass Meadow II"] not in seen


def test_search(cat):
    r = cat.search("amelie")
    assert r["query"] == "amelie"
    assert names(r["items"])[0] == "Amélie of the Canal"
    assert names(cat.search("AMÉL")["items"])[0] == "Amélie of the Canal"  # prefix, case
    assert names(cat.search("canal amel")["items"]) == ["Amélie of the Canal"]
    assert cat.search("zzzznothing")["items"] == []
    # Query syntax is text, never an error.
    for q in ('"', "amelie OR", "NEAR(", "a*b", "-x", "'; DROP TABLE titles; --"):
        cat.search(q)
    assert names(cat.search("amelie")["items"]) == ["Amélie of the Canal"]
    with pytest.raises(libstream.InvalidArgument):
        cat.search("x" * (lib.STREAM_STORE_SEARCH_MAX + 1))
    with pytest.raises(libstream.InvalidArgument):
        cat.search(b"\xc3")
    with pytest.raises(TypeError):
        cat.search(None)


def test_filters(cat):
    kids = Viewer(kids=True)
    items = list(cat.browse_all(limit=100, viewer=kids))
    assert items and all(t["maturity_rating"] <= 7 for t in items)
    assert "Midnight Quarry" not in names(items)
    teen = list(cat.browse_all(limit=100, viewer=Viewer(maturity_ceiling=13)))
    assert max(t["maturity_rating"] for t in teen) == 13
    # A kids viewer's ceiling is capped even when it says 18.
    assert names(cat.browse_all(limit=100, viewer=Viewer(maturity_ceiling=18, kids=True))) == \
        names(items)
    with pytest.raises(libstream.NotFound):
        cat.title("midnight-quarry", viewer=kids)
    assert cat.title("midnight-quarry")["name"] == "Midnight Quarry"
    # Regions: Bitter Lemon Summer is for IT, FR and BE only.
    assert "Bitter Lemon Summer" in names(cat.browse_all(limit=100, viewer=Viewer(region="FR")))
    assert "Bitter Lemon Summer" not in names(cat.browse_all(limit=100,
                                                             viewer=Viewer(region="US")))
    assert names(cat.search("amelie", viewer=Viewer(maturity_ceiling=0))["items"]) == []
    with pytest.raises(TypeError):
        cat.browse(viewer={"kids": True})
    with pytest.raises(TypeError):
        cat.browse(viewer=Viewer(kids=1))


def test_detail_put_delete(cat):
    d = cat.title("tidewater-station")
    assert d["kind"] == "series"
    assert [s["number"] for s in d["seasons"]] == [1, 2]
    assert all(s["episodes"] for s in d["seasons"])
    detail, created = cat.put({"id": "py-new", "kind": "movie", "name": "Py New", "year": 2020,
                               "maturity_rating": 7, "genres": ["Comedy"]})
    assert created and detail["id"] == "py-new" and detail["year"] == 2020
    detail, created = cat.put(json.dumps({"id": "py-new", "kind": "movie", "name": "Py Newer",
                                               "maturity_rating": 0}))
    assert not created and detail["name"] == "Py Newer"
    with pytest.raises(libstream.InvalidArgument) as ei:
        cat.put({"kind": "movie", "name": "Bad", "maturity_rating": 12})
    assert "maturity_rating" in ei.value.message
    with pytest.raises(libstream.InvalidArgument) as ei:
        cat.put({"kind": "movie", "name": "Bad", "maturity_rating": 0, "surprise": 1})
    assert "surprise" in ei.value.message
    cat.delete("py-new")
    with pytest.raises(libstream.NotFound):
        cat.delete("py-new")
    with pytest.raises(libstream.NotFound):
        cat.title("py-new")
    assert maturity_label(0) == "All" and maturity_label(13) == "13+"
    assert maturity_label(12) is None


def test_progress_continue_watching_and_mylist(cat, profile, clock):
    pid, kid = profile
    me = cat.viewer_for_profile(pid)
    assert me.profile_id == pid and me.maturity_ceiling == 18 and not me.kids
    kv = cat.viewer_for_profile(kid, region="FR")
    assert kv.kids and kv.maturity_ceiling == 7 and kv.region == "FR"
    with pytest.raises(libstream.NotFound):
        cat.viewer_for_profile("no-such-profile")

    ep = cat.title("tidewater-station")["seasons"][0]["episodes"][0]["id"]
    # Three writes in the same second (the clock does not move): latest first.
    cat.put_progress(pid, "lantern-road", 600, 6000)
    cat.put_progress(pid, "tidewater-station", 30, 3000, episode_id=ep)
    cat.put_progress(pid, "amelie-of-the-canal", 60, 6000)
    row = cat.continue_watching(me)
    assert [r["title"]["id"] for r in row] == ["amelie-of-the-canal", "tidewater-station",
                                                "lantern-road"]
    assert row[1]["episode_id"] == ep
    assert row[0]["progress"] == pytest.approx(0.01)
    # Updating the oldest in the same second moves it to the front.
    cat.put_progress(pid, "lantern-road", 700, 6000)
    assert [r["title"]["id"] for r in cat.continue_watching(me, limit=2)] == [
        "lantern-road", "amelie-of-the-canal"]
    # Watched to 95 %: drops out.
    clock[0] += 10
    cat.put_progress(pid, "lantern-road", 5700, 6000)
    assert "lantern-road" not in [r["title"]["id"] for r in cat.continue_watching(me)]
    with pytest.raises(libstream.InvalidArgument):
        cat.put_progress(pid, "tidewater-station", 1, 100)  # a series needs an episode
    with pytest.raises(libstream.InvalidArgument):
        cat.put_progress(pid, "lantern-road", 200, 100)
    with pytest.raises(libstream.NotFound):
        cat.put_progress(pid, "no-such-title", 1, 100)
    with pytest.raises(libstream.InvalidArgument):
        cat.continue_watching(Viewer())

    # My List: latest add first, also within one second; filtered for a kids profile.
    for t in ("paper-comets", "midnight-quarry", "brass-meadow"):
        cat.mylist_add(pid, t)
        cat.mylist_add(kid, t)
    assert [i["title"]["id"] for i in cat.mylist(me)] == ["brass-meadow", "midnight-quarry",
                                                          "paper-comets"]
    assert [i["title"]["id"] for i in cat.mylist(kv)] == ["brass-meadow", "paper-comets"]
    cat.mylist_add(pid, "paper-comets")  # idempotent
    assert cat.mylist(me)[0]["title"]["id"] == "brass-meadow"
    assert all(i["added_at"] == clock[0] for i in cat.mylist(me))
    cat.mylist_remove(pid, "midnight-quarry")
    cat.mylist_remove(pid, "midnight-quarry")
    assert len(cat.mylist(me)) == 2
    with pytest.raises(libstream.NotFound):
        cat.mylist_add(pid, "no-such-title")


def test_clock_errors_and_lifetime(store):
    def broken():
        raise RuntimeError("clock broke")

    c = Catalog(store, clock=broken)
    with pytest.raises(RuntimeError, match="clock broke"):
        list(c.browse_all())
    with pytest.raises(TypeError):
        Catalog(store, clock=5)
    with pytest.raises(TypeError):
        Catalog("not a store")
    c2 = Catalog(store)
    store.close()  # closes the catalogs first
    assert c.closed and c2.closed
    with pytest.raises(libstream.InvalidArgument, match="closed"):
        c2.genres()


def test_ratings_and_titles(cat, profile):
    pid, kid = profile
    assert cat.rating_get(pid, "lantern-road") == 0
    cat.rating_put(pid, "lantern-road", 1)
    assert cat.rating_get(pid, "lantern-road") == 1
    assert cat.rating_get(kid, "lantern-road") == 0
    cat.rating_put(pid, "lantern-road", -1)
    assert cat.rating_get(pid, "lantern-road") == -1
    cat.rating_put(pid, "lantern-road", 0)
    cat.rating_put(pid, "lantern-road", 0)  # clearing is idempotent
    assert cat.rating_get(pid, "lantern-road") == 0
    with pytest.raises(libstream.InvalidArgument, match="rating 2"):
        cat.rating_put(pid, "lantern-road", 2)
    with pytest.raises(libstream.NotFound):
        cat.rating_put(pid, "no-such-title", 1)
    with pytest.raises(libstream.NotFound):
        cat.rating_get(pid, "no-such-title")
    cat.rating_put(pid, "paper-comets", 1)
    cat.delete("paper-comets")  # the rating goes with the title
    with pytest.raises(libstream.NotFound):
        cat.rating_get(pid, "paper-comets")

    ids = ["midnight-quarry", "brass-meadow", "no-such-title", "tomorrows-orchestra",
           "brass-meadow", "bitter-lemon-summer"]
    # Operator: every existing title, in order, once.
    assert [t["id"] for t in cat.titles(ids)] == ["midnight-quarry", "brass-meadow",
                                                   "tomorrows-orchestra", "bitter-lemon-summer"]
    # A kids profile never gets the 18 title; the future title and (in the US) the
    # IT/FR/BE-only title are left out too.
    kv = cat.viewer_for_profile(kid, region="US")
    assert [t["id"] for t in cat.titles(ids, viewer=kv)] == ["brass-meadow"]
    me = cat.viewer_for_profile(pid, region="FR")
    got = cat.titles(ids, viewer=me)
    assert [t["id"] for t in got] == ["midnight-quarry", "brass-meadow", "bitter-lemon-summer"]
    assert got[0] == cat.browse(viewer=me, limit=100)["items"][
        [t["id"] for t in cat.browse(viewer=me, limit=100)["items"]].index("midnight-quarry")]
    assert cat.titles([]) == []
    with pytest.raises(libstream.InvalidArgument):
        cat.titles(["bad id"])
    with pytest.raises(libstream.InvalidArgument):
        cat.titles(["brass-meadow"] * 101)
    with pytest.raises(TypeError):
        cat.titles("brass-meadow")
