"""libstream.recs: interaction data and splits, training with options and a
progress callback, recommend on planted structure (ALS, item-kNN, popularity,
fresh history, filters), similar, evaluate on a split, save/load, errors;
then the service over a real store and catalog (signals, retrain, home rows
for a cold profile, the kids filter, the model file reloaded at start)."""
import math
import os

import pytest

import libstream
from libstream import lib

from conftest import assert_status

recs = pytest.importorskip("libstream.recs")
if not recs.AVAILABLE:  # pragma: no cover - every build has the model
    pytest.skip("libstream built without recs", allow_module_level=True)

from libstream.recs import Data, Item, Method, Model  # noqa: E402

# Two planted tastes: group A watches a0..a5, group B b0..b5, and everybody
# watches "hit" (the most popular item). Users a-user-N watch five A items
# (rotating), B users five B items.
A = ["a%d" % i for i in range(6)]
B = ["b%d" % i for i in range(6)]
SMALL = dict(factors=4, iterations=15, regularization=0.05, alpha=20.0, seed=7, threads=1)


def planted(users_per_group=12):
    d = Data()
    ts = 1767225600
    for g, items in (("a", A), ("b", B)):
        for n in range(users_per_group):
            user = "%s-user-%d" % (g, n)
            picks = [items[(n + j) % len(items)] for j in range(5)]
            for j, it in enumerate(picks):
                ts += 60
                d.add(user, it, 1.0, ts)
            ts += 60
            d.add(user, "hit", 0.5, ts)
    d.add_item("never-watched")
    return d


@pytest.fixture(scope="module")
def model():
    return recs.train(planted(), **SMALL)


def ids(ranking):
    return [i.id for i in ranking]


def test_data_add_counts_and_errors():
    d = Data([("u1", "t1"), ("u1", "t2", 0.5), ("u2", "t1", 2.0, 100)])
    assert d.counts() == (2, 2, 3)
    assert d.counts().pairs == len(d) == 3
    d.add("u1", "t1", 1.0, 50)  # the same pair: summed, not a new pair
    d.add_item("t9")
    d.add_item("t9")  # idempotent
    assert d.counts() == recs.Counts(users=2, items=3, pairs=3)
    assert "pairs=3" in repr(d)
    with pytest.raises(libstream.InvalidArgument) as ei:
        d.add("", "t1")
    assert_status(ei, libstream.InvalidArgument, "STREAM_EINVAL")
    for bad in (float("nan"), float("inf"), -1.0, 2e6):
        with pytest.raises(libstream.InvalidArgument):
            d.add("u1", "t1", bad)
    with pytest.raises(libstream.InvalidArgument):
        d.add("u1", "t1", 1.0, -5)
    with pytest.raises(libstream.InvalidArgument):
        d.add("u1", "x" * (recs.ID_MAX + 1))
    with pytest.raises(libstream.InvalidArgument, match="NUL"):
        d.add("u\0", "t1")
    with pytest.raises(TypeError):
        d.add("u1", "t1", True)
    with pytest.raises(TypeError):
        d.add("u1", None)
    with pytest.raises(TypeError):
        d.add_many(["u1"])
    assert d.counts() == (2, 3, 3)  # nothing was added by the failures
    d.close()
    assert d.closed and "closed" in repr(d)
    with pytest.raises(libstream.InvalidArgument, match="closed"):
        d.counts()


def test_splits():
    d = Data()
    for u in range(5):
        for t in range(4):
            d.add("u%d" % u, "t%d" % t, 1.0, 1000 + 10 * t + u)
    d.add("lonely", "t0", 1.0, 5000)  # one pair: below min_history, train whole
    d.add_item("t-unseen")
    train, test = d.split_last()
    assert train.counts() == (6, 5, 16)  # every item declared in train
    assert test.counts().pairs == 5 and test.counts().users == 5
    train2, test2 = d.split_last(min_history=5)
    assert train2.counts().pairs == 21 and test2.counts().pairs == 0
    with pytest.raises(libstream.InvalidArgument):
        d.split_last(min_history=1)
    # Temporal: t2 and t3 of every user are at or after the cutoff; "lonely"
    # has no train pair, so it is not tested.
    train, test = d.split_time(1020)
    assert train.counts().pairs == 10
    assert test.counts() == (5, test.counts().items, 10)
    # Nothing before the cutoff: nobody can be evaluated.
    train, test = d.split_time(0)
    assert train.counts().pairs == 0 and test.counts().pairs == 0
    assert train.counts().items == 5


def test_recommend_planted_structure(model):
    info = model.info()
    assert info["users"] == 24 and info["items"] == 14 and info["factors"] == 4
    assert info["iterations"] == 15 and info["alpha"] == 20 and info["pairs"] == 24 * 6
    assert info["version"] == model.version > 0
    assert math.isfinite(info["loss"])
    # a-user-0 watched a0..a4 and hit: a5 is its best unseen item, by every
    # personal method.
    for method in ("als", "item_knn", Method.ALS, 2):
        r = model.recommend("a-user-0", k=3, method=method)
        assert r.method in (Method.ALS, Method.ITEM_KNN)
        assert r[0].id == "a5", (method, r)
        assert isinstance(r[0], Item) and isinstance(r[0].score, float)
        assert [s.score for s in r] == sorted((s.score for s in r), reverse=True)
    r = model.recommend("b-user-3", k=1)
    assert ids(r) == [B[(3 + 5) % 6]]
    # History items are left out unless asked for.
    assert "a0" not in ids(model.recommend("a-user-0", k=13))
    assert "a0" in ids(model.recommend("a-user-0", k=13, include_history=True))
    # Fresh history (fold-in for ALS, neighbours for kNN): a B watcher.
    for hist in (["b0", "b1", "b2"], [("b0", 1.0), ("b1", 2.0), ("b2", 1.0)],
                 {"b0": 1.0, "b1": 1.0, "b2": 1.0, "unknown-item": 3.0}):
        for method in ("als", "item_knn"):
            top = ids(model.recommend(history=hist, k=3, method=method))
            assert set(top) <= set(B[3:]) | {"hit"}, (hist, method, top)
            assert top[0] in B[3:]
    # Popularity: "hit" is watched by everybody.
    assert model.recommend("a-user-0", k=1, method="popular", include_history=True)[0].id == "hit"


def test_cold_users_get_popularity(model):
    for kw in ({}, {"user": "nobody"}, {"history": []}, {"user": "a-user-0", "history": []},
               {"history": ["unknown-item"]}):
        r = model.recommend(k=2, **kw)
        assert r.method == Method.POPULAR, kw
        assert r[0].id == "hit"
    # k larger than the catalog: every item once, the never-watched one included.
    r = model.recommend(k=100, method="popular")
    assert len(r) == 14 and len(set(ids(r))) == 14 and "never-watched" in ids(r)


def test_filters_and_similar(model):
    seen = []

    def keep(item):
        seen.append(item)
        return item != "a5"

    r = model.recommend("a-user-0", k=3, keep=keep)
    assert "a5" not in ids(r) and "a5" in seen and all(isinstance(s, str) for s in seen)
    assert model.recommend("a-user-0", k=5, keep=lambda item: False) == []
    sim = model.similar("a0", k=4)
    assert "a0" not in ids(sim) and set(ids(sim)) <= set(A)
    assert [s.score for s in sim] == sorted((s.score for s in sim), reverse=True)
    assert model.similar("b0", k=3, keep=lambda t: t != "b1")[0].id != "b1"
    # An item with no co-occurrence still gets neighbours (ALS factor cosine).
    assert len(model.similar("never-watched", k=3)) == 3
    with pytest.raises(libstream.NotFound) as ei:
        model.similar("no-such-item")
    assert_status(ei, libstream.NotFound, "STREAM_ENOTFOUND")

    def broken(item):
        raise RuntimeError("filter broke on " + item)

    with pytest.raises(RuntimeError, match="filter broke"):
        model.recommend("a-user-0", keep=broken)
    with pytest.raises(RuntimeError, match="filter broke"):
        model.similar("a0", keep=broken)
    with pytest.raises(TypeError):
        model.recommend("a-user-0", keep=5)


def test_recommend_errors(model):
    for k in (0, -1, recs.K_MAX + 1):
        with pytest.raises(libstream.InvalidArgument):
            model.recommend("a-user-0", k=k)
        with pytest.raises(libstream.InvalidArgument):
            model.similar("a0", k=k)
    with pytest.raises(libstream.InvalidArgument, match="method"):
        model.recommend("a-user-0", method="bogus")
    with pytest.raises(libstream.InvalidArgument):
        model.recommend("a-user-0", method=9)
    with pytest.raises(TypeError):
        model.recommend("a-user-0", k=True)
    with pytest.raises(TypeError):
        model.recommend(history="a0")
    with pytest.raises(TypeError):
        model.recommend(history=[("a0", "x")])
    with pytest.raises(TypeError):
        Model()


def test_training_options_progress_and_determinism():
    d = planted()
    calls = []
    m1 = recs.train(d, progress=lambda done, total: calls.append((done, total)), **SMALL)
    assert calls, "progress was never called"
    totals = {t for _, t in calls}
    assert len(totals) == 1 and calls[-1][0] == calls[-1][1]
    assert [c for c, _ in calls] == sorted(c for c, _ in calls)
    # Same seed, other thread count: the same model.
    opts = dict(SMALL, threads=2, model_version=77)
    m2 = recs.train(d, **opts)
    assert m2.version == 77 and m2.info()["version"] == 77
    for u in ("a-user-1", "b-user-4"):
        assert m1.recommend(u, k=6) == m2.recommend(u, k=6)
    # Another seed: another starting point (scores differ).
    m3 = recs.train(d, **dict(SMALL, seed=8))
    assert m3.recommend("a-user-1", k=6) != m1.recommend("a-user-1", k=6)
    # Cancel by returning True, or by raising (re-raised).
    with pytest.raises(libstream.Canceled) as ei:
        recs.train(d, progress=lambda done, total: True, **SMALL)
    assert_status(ei, libstream.Canceled, "STREAM_ECANCELED")

    def broken(done, total):
        raise KeyError("progress broke")

    with pytest.raises(KeyError, match="progress broke"):
        recs.train(d, progress=broken, **SMALL)
    with pytest.raises(TypeError):
        recs.train(d, progress=5)
    # Bad options: the message names the option.
    for name, value in (("factors", 0), ("factors", recs.FACTORS_MAX + 1), ("alpha", 0.0),
                        ("regularization", -1.0), ("iterations", 0), ("cg_steps", 65),
                        ("half_life_days", 0.0), ("neighbours", 1001)):
        with pytest.raises(libstream.InvalidArgument, match=name):
            recs.train(d, **{name: value})
    with pytest.raises(TypeError, match="unknown recs option"):
        recs.train(d, factor=3)
    with pytest.raises(TypeError):
        recs.train(d, alpha="high")
    with pytest.raises(libstream.OutOfRange):
        recs.train(d, factors=-1)
    with pytest.raises(TypeError):
        recs.train([("u", "i")])
    # No pairs: a model that knows its items only.
    empty = Data()
    empty.add_item("x")
    m = recs.train(empty, factors=2)
    assert m.info()["pairs"] == 0
    assert ids(m.recommend("anyone", k=3)) == ["x"]


def test_evaluate_on_a_split():
    # Four tastes of 8 items; each user watches 6 items of its taste, in a
    # rotating order; the last one is held out.
    d = Data()
    ts = 1767225600
    for u in range(120):
        g = u % 4
        for j in range(6):
            ts += 1
            d.add("u%d" % u, "g%d-i%d" % (g, (u // 4 + j) % 8), 1.0, ts)
    train, test = d.split_last()
    assert test.counts().pairs == 120
    m = recs.train(train, factors=8, iterations=10, seed=3, threads=1)
    res = {meth: m.evaluate(test, meth, k=5) for meth in ("als", "item_knn", "popular")}
    for meth, r in res.items():
        assert set(r) == {"users", "recall", "ndcg", "map"}
        assert r["users"] == 120
        for key in ("recall", "ndcg", "map"):
            assert 0.0 <= r[key] <= 1.0
    # Planted structure: the personal methods find the held-out item far more
    # often than popularity (which knows nothing of tastes).
    assert res["als"]["recall"] > 2 * res["popular"]["recall"]
    assert res["item_knn"]["recall"] > 2 * res["popular"]["recall"]
    # Users the model does not know are skipped.
    other = Data([("stranger", "g0-i0", 1.0, 1)])
    assert m.evaluate(other)["users"] == 0
    with pytest.raises(libstream.InvalidArgument):
        m.evaluate(test, "als", k=0)
    with pytest.raises(TypeError):
        m.evaluate("test")


def test_save_and_load(model, tmp_path):
    path = tmp_path / "recs.model"
    model.save(path)
    assert path.stat().st_size > 0
    m2 = Model.load(str(path))
    assert m2.version == model.version
    assert m2.info()["pairs"] == model.info()["pairs"]
    for u in ("a-user-0", "b-user-5", None):
        assert m2.recommend(u, k=5) == model.recommend(u, k=5)
    assert m2.similar("a1", k=3) == model.similar("a1", k=3)
    # Saving over an existing file replaces it.
    model.save(path)
    assert Model.load(path).version == model.version
    with pytest.raises(libstream.NotFound) as ei:
        Model.load(tmp_path / "missing.model")
    assert_status(ei, libstream.NotFound, "STREAM_ENOTFOUND")
    junk = tmp_path / "junk.model"
    junk.write_bytes(b"this is not a model file at all, not even close" * 4)
    with pytest.raises(libstream.ProtocolError):
        Model.load(junk)
    raw = path.read_bytes()
    truncated = tmp_path / "truncated.model"
    truncated.write_bytes(raw[:len(raw) // 2])
    with pytest.raises(libstream.ProtocolError):
        Model.load(truncated)
    flipped = bytearray(raw)
    flipped[-1] ^= 0xFF
    (tmp_path / "flipped.model").write_bytes(bytes(flipped))
    with pytest.raises(libstream.ProtocolError):
        Model.load(tmp_path / "flipped.model")
    with pytest.raises(libstream.IOFailure):
        model.save(tmp_path / "no-such-dir" / "m.model")
    m2.close()
    with pytest.raises(libstream.InvalidArgument, match="closed"):
        m2.recommend("a-user-0")
    assert "closed" in repr(m2) and "version=" in repr(model)


# ---------------------------------------------------------------------------
# The service over a real store and catalog
# ---------------------------------------------------------------------------

HERE = os.path.dirname(os.path.abspath(__file__))
DEMO = os.environ.get("STREAMD_DEMO_CATALOG") or os.path.join(
    HERE, "..", "..", "..", "examples", "data", "demo-catalog.json")
NOW = 1767225600
FAST = {"m_cost": 64, "t_cost": 1}

service = pytest.mark.skipif(not recs.SERVICE_AVAILABLE,
                             reason="libstream built without the server feature (recs service)")


@pytest.fixture
def world():
    from libstream.auth import Auth
    from libstream.catalog import Catalog
    from libstream.store import Store

    with Store() as st:
        cat = Catalog(st, clock=lambda: NOW)
        assert cat.import_file(DEMO).failed == 0
        with libstream.KeyRing([libstream.Key.generate("hmac", "k1")]) as ring:
            a = Auth(st, ring, password_params=FAST)
            acct = a.register("viewer@recs.test", "correct horse")
            profiles = {name: a.create_profile(acct.id, name, kids=(name == "kid"))["id"]
                        for name in ("fan", "other", "cold", "kid")}
            a.close()
        yield st, cat, profiles


def _items(row):
    return [i.get("title", i) for i in row["items"]]


@service
def test_service_signals_retrain_and_home(world, tmp_path):
    st, cat, p = world
    # Watch history: "fan" and "other" share tastes; "cold" has nothing.
    for pid, titles in ((p["fan"], ["lantern-road", "static-orchard", "the-quiet-ledger"]),
                        (p["other"], ["lantern-road", "static-orchard", "glass-harbour",
                                      "midnight-quarry", "paper-comets"])):
        for t in titles:
            cat.put_progress(pid, t, 5400, 6000)
    cat.mylist_add(p["fan"], "brass-meadow")
    # Thumbs: down drops the pair of a watched title and hides an unwatched one from the
    # recommendation rows; up makes a pair on its own.
    cat.rating_put(p["fan"], "the-quiet-ledger", -1)
    cat.rating_put(p["fan"], "glass-harbour", -1)
    cat.rating_put(p["other"], "salt-and-signal", 1)
    model_path = tmp_path / "recs.model"
    svc = recs.Recs(st, cat, model_path=str(model_path), clock=lambda: NOW, factors=8,
                    iterations=5, seed=1, threads=1)
    assert "Recs" in repr(svc)
    assert svc.info() == {"version": 0}
    sig = svc.signals()
    n = sig.counts()
    # fan: lantern-road, static-orchard, brass-meadow (My List); the-quiet-ledger dropped by
    # its thumbs down. other: five watched titles and one thumbs up.
    assert n.pairs == 9 and n.users == 2 and n.items >= 20  # every catalog title declared
    info = svc.retrain()
    assert info["version"] > 0 and info["factors"] == 8 and info["pairs"] == n.pairs
    assert svc.info()["version"] == info["version"]
    assert model_path.exists()

    # A cold profile gets rows (popularity), never an error.
    cold = cat.viewer_for_profile(p["cold"])
    home = svc.home(cold, per_row=5)
    assert home["profile_id"] == p["cold"] and home["model_version"] == info["version"]
    assert home["rows"], home
    assert all(0 < len(r["items"]) <= 5 for r in home["rows"])
    assert any(r["id"] in ("trending", "top_picks") for r in home["rows"])

    # The fan: continue watching / My List rows, and recommendations that
    # leave out what it already watched to the end.
    fan = cat.viewer_for_profile(p["fan"])
    rows = {r["id"]: r for r in svc.home(fan, per_row=10)["rows"]}
    assert "my_list" in rows and "brass-meadow" in [t["id"] for t in _items(rows["my_list"])]
    if "top_picks" in rows:
        assert "lantern-road" not in [t["id"] for t in _items(rows["top_picks"])]
    for r in svc.home(fan, per_row=20)["rows"]:
        if r["id"] in ("top_picks", "because_you_watched", "trending"):
            assert "glass-harbour" not in [t["id"] for t in _items(r)], r["id"]
            assert "the-quiet-ledger" not in [t["id"] for t in _items(r)], r["id"]

    # A kids profile never sees a title above its ceiling.
    kid = cat.viewer_for_profile(p["kid"])
    for r in svc.home(kid, per_row=20)["rows"]:
        for t in _items(r):
            assert t["maturity_rating"] <= 7, (r["id"], t["id"])

    # An unknown profile id is cold start too.
    from libstream.catalog import Viewer
    assert svc.home(Viewer(profile_id="no-such-profile"))["rows"]
    with pytest.raises(libstream.InvalidArgument):
        svc.home(Viewer(profile_id=None))
    with pytest.raises(libstream.InvalidArgument):
        svc.home(fan, per_row=recs.ROW_MAX + 1)
    with pytest.raises(TypeError):
        svc.home(p["fan"])

    # A new service on the same model file serves at once.
    svc2 = recs.Recs(st, cat, model_path=str(model_path))
    assert svc2.info()["version"] == info["version"]
    svc2.close()
    svc.close()
    with pytest.raises(libstream.InvalidArgument, match="closed"):
        svc.info()


@service
def test_service_errors_and_lifetime(world):
    st, cat, _ = world
    with pytest.raises(TypeError):
        recs.Recs(None, cat)
    with pytest.raises(TypeError):
        recs.Recs(st, None)
    with pytest.raises(TypeError, match="unknown recs option"):
        recs.Recs(st, cat, factor=3)
    bad = recs.Recs(st, cat, factors=0)  # checked when it trains: the message names it
    with pytest.raises(libstream.InvalidArgument, match="factors"):
        bad.retrain()
    bad.close()
    with pytest.raises(TypeError):
        recs.Recs(st, cat, clock=5)

    def broken():
        raise RuntimeError("clock broke")

    svc = recs.Recs(st, cat, clock=broken, factors=2, iterations=1)
    with pytest.raises(RuntimeError, match="clock broke"):
        svc.retrain()
    svc2 = libstream.Recs(st, cat)
    assert svc2.info() == {"version": 0}
    # Canceled (shutdown): every retrain after it fails, home still answers.
    svc3 = libstream.Recs(st, cat, factors=2, iterations=1)
    svc3.cancel()
    with pytest.raises(libstream.Canceled, match="canceled"):
        svc3.retrain()
    assert svc3.info() == {"version": 0}
    assert "rows" in svc3.home(cat.viewer_for_profile(world[2]["cold"]))
    svc3.close()
    # Home before the first model: cold start from an empty model, not an error.
    assert "rows" in svc2.home(cat.viewer_for_profile(world[2]["cold"]))
    st.close()
    assert svc2.closed
    with pytest.raises(libstream.InvalidArgument):
        svc2.info()


def test_exports():
    assert libstream.recs is recs
    assert lib.STREAM_RECS_K_MAX == recs.K_MAX
    if recs.SERVICE_AVAILABLE:
        assert libstream.Recs is recs.Recs
