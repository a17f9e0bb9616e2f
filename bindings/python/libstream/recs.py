"""Recommendations (``stream/recs.h``): an implicit-feedback model trained from
interactions, and the home-screen rows of a profile.

The model (always available) works on any interaction data:

* :class:`Data` holds (user, item, strength, time) interactions; ids are
  strings, the strength ``r`` is the r of the confidence c = 1 + alpha * r
  (the same pair added twice sums its strengths). Not thread-safe.
* :func:`train` (or :meth:`Model.train`) fits implicit ALS with conjugate
  gradient solves, item-item cosine neighbours and time-decayed popularity
  into one immutable :class:`Model`; deterministic for a ``seed`` whatever the
  thread count. Keyword options as in ``stream_recs_options``; ``progress``
  is a callable ``(done, total)``: returning True (or raising) cancels.
* :meth:`Model.recommend` / :meth:`Model.similar` return lists of
  :class:`Item` ``(id, score)``, best first; ``keep`` is a callable
  ``(item_id) -> bool`` filter; a cold user (None, unknown, empty history)
  gets popularity, and the list's ``.method`` says which method answered.
* :meth:`Model.evaluate` gives recall@K, NDCG@K and MAP@K on a held-out
  :class:`Data` (from :meth:`Data.split_last` or :meth:`Data.split_time`).
* :meth:`Model.save` / :meth:`Model.load`: a versioned, checksummed file.

::

    from libstream import recs
    d = recs.Data()
    d.add("alice", "t1", 0.9, ts=1767225600)
    ...
    train, test = d.split_last()
    m = recs.train(train, factors=32, iterations=10, seed=7)
    print(m.evaluate(test, "als", k=10))      # {'users': .., 'recall': .., ...}
    for item in m.recommend("alice", k=5, keep=lambda t: t not in hidden):
        print(item.id, item.score)

The service :class:`Recs` (server feature, ``libstream.recs.SERVICE_AVAILABLE``)
derives the signals of every profile from a :class:`libstream.store.Store` and
renders home rows through a :class:`libstream.catalog.Catalog`::

    with Store("streamd.db") as st:
        cat = Catalog(st)
        svc = Recs(st, cat, model_path="recs.model", factors=64)
        svc.retrain()
        rows = svc.home(cat.viewer_for_profile(profile_id), per_row=20)["rows"]

A Model and a Recs are thread-safe, like their C handles, and the GIL is
released during every call.
"""
import collections
import enum
import numbers

from ._ffi import ffi, lib
from ._util import ClockedHandle, Handle, Keep, new_struct, set_int, take_json, to_int
from .errors import check, raise_invalid

__all__ = ["AVAILABLE", "SERVICE_AVAILABLE", "Data", "Model", "Recs", "Item", "Counts", "Ranking",
           "Method", "train", "OPTION_NAMES", "ID_MAX", "FACTORS_MAX", "K_MAX", "ROW_MAX"]

AVAILABLE = hasattr(lib, "stream_recs_data_new")
SERVICE_AVAILABLE = hasattr(lib, "stream_recs_new")

ID_MAX = getattr(lib, "STREAM_RECS_ID_MAX", 128)
FACTORS_MAX = getattr(lib, "STREAM_RECS_FACTORS_MAX", 512)
K_MAX = getattr(lib, "STREAM_RECS_K_MAX", 1000)
ROW_MAX = getattr(lib, "STREAM_RECS_ROW_MAX", 50)

Item = collections.namedtuple("Item", "id score")
Item.__doc__ = "One recommended item: its id (str) and score (float, higher is better)."

Counts = collections.namedtuple("Counts", "users items pairs")
Counts.__doc__ = "Sizes of a Data: distinct users, items (declared or interacted) and pairs."


class Method(enum.IntEnum):
    """Scoring methods (stream_recs_method)."""
    ALS = getattr(lib, "STREAM_RECS_ALS", 1)
    ITEM_KNN = getattr(lib, "STREAM_RECS_ITEM_KNN", 2)
    POPULAR = getattr(lib, "STREAM_RECS_POPULAR", 3)


_METHOD_NAMES = {"als": Method.ALS, "item_knn": Method.ITEM_KNN, "knn": Method.ITEM_KNN,
                 "item-knn": Method.ITEM_KNN, "popular": Method.POPULAR,
                 "popularity": Method.POPULAR}


def _method(method):
    if isinstance(method, str):
        m = _METHOD_NAMES.get(method.lower())
        if m is None:
            raise_invalid("method must be 'als', 'item_knn' or 'popular', not %r" % method)
        return m
    v = to_int(method, "method")
    try:
        return Method(v)
    except ValueError:
        raise_invalid("method=%d is not a recs method" % v)


class Ranking(list):
    """A list of :class:`Item`, best first; ``method`` is the :class:`Method`
    that produced it (POPULAR for a cold user whatever was asked)."""

    method = None


#: Keyword options of train() (fields of stream_recs_options).
OPTION_NAMES = ("factors", "regularization", "alpha", "iterations", "cg_steps", "threads", "seed",
                "neighbours", "half_life_days", "now", "model_version")
_FLOAT_OPTIONS = ("regularization", "alpha", "half_life_days")


def _require():
    if not AVAILABLE:
        raise ImportError("libstream was built without the recs module")


def _fill_options(o, options):
    """Set the fields of a stream_recs_options from keyword options."""
    for name, v in options.items():
        if name not in OPTION_NAMES:
            raise TypeError("unknown recs option %r (known: %s)" % (name, ", ".join(OPTION_NAMES)))
        if v is None:
            continue
        if name in _FLOAT_OPTIONS:
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError("%s must be a number, not %s" % (name, type(v).__name__))
            setattr(o, name, float(v))
        else:
            set_int(o, name, v, name)


class _Callbacks:
    """An exception raised by a Python callback during one C call: recorded,
    then re-raised once the call returns."""

    def __init__(self):
        self.errors = []

    def raise_pending(self):
        if self.errors:
            raise self.errors[0]

    def keep(self, keep):
        """The stream_recs_filter_fn for ``keep`` (None = NULL)."""
        if keep is None:
            return ffi.NULL
        if not callable(keep):
            raise TypeError("keep must be callable(item_id) -> bool")
        errors = self.errors

        def trampoline(_ud, item):
            if errors:
                return 0
            try:
                return 1 if keep(ffi.string(item).decode("utf-8", "replace")) else 0
            except BaseException as e:  # re-raised after the C call returns
                errors.append(e)
                return 0

        return ffi.callback("stream_recs_filter_fn", trampoline)


def _items(out, n):
    return [Item(ffi.string(out[i].id).decode("utf-8", "replace"), out[i].score) for i in range(n)]


def _k_buffer(k, name="k"):
    """(k as int, an out array). The array is never larger than K_MAX: the C
    call refuses a larger k before writing anything."""
    k = to_int(k, name)
    return k, ffi.new("stream_recs_item[]", min(max(k, 1), K_MAX))


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


class Data(Handle):
    """A set of (user, item, strength, time) interactions (``stream_recs_data``).

    ``interactions``: optional iterable of ``(user, item)``, ``(user, item, r)``
    or ``(user, item, r, ts)`` tuples added at once. Not thread-safe: one
    writer, or any number of readers once filled."""

    _repr_name = "libstream.recs.Data"

    def __init__(self, interactions=None):
        _require()
        out = ffi.new("stream_recs_data **")
        check(lib.stream_recs_data_new(out))
        self._ptr = ffi.gc(out[0], lib.stream_recs_data_free)
        if interactions is not None:
            self.add_many(interactions)

    @classmethod
    def _wrap(cls, ptr):
        obj = cls.__new__(cls)
        obj._ptr = ffi.gc(ptr, lib.stream_recs_data_free)
        return obj

    @property
    def _h(self):
        if self._ptr is None:
            raise_invalid("the data set is closed")
        return self._ptr

    def add(self, user, item, r=1.0, ts=0):
        """Add an interaction: strength ``r`` (finite, 0..1e6) at Unix time ``ts``
        (seconds, 0 = unknown). The same pair again sums r and keeps the latest ts.
        Raises InvalidArgument (bad id, r or ts)."""
        keep = Keep()
        u = keep.cstr(user, "user")
        i = keep.cstr(item, "item")
        if isinstance(r, bool) or not isinstance(r, numbers.Real):
            raise TypeError("r must be a number, not %s" % type(r).__name__)
        check(lib.stream_recs_data_add(self._h, u, i, float(r), to_int(ts, "ts")))

    def add_many(self, interactions):
        """Add ``(user, item[, r[, ts]])`` tuples; returns how many were added."""
        n = 0
        for row in interactions:
            if isinstance(row, (str, bytes)) or not 2 <= len(row) <= 4:
                raise TypeError("an interaction is a (user, item[, r[, ts]]) tuple")
            self.add(*row)
            n += 1
        return n

    def add_item(self, item):
        """Declare an item that may have no interactions yet (idempotent)."""
        keep = Keep()
        check(lib.stream_recs_data_add_item(self._h, keep.cstr(item, "item")))

    def counts(self):
        """A :class:`Counts` (users, items, pairs)."""
        u, i, p = ffi.new("size_t *"), ffi.new("size_t *"), ffi.new("size_t *")
        check(lib.stream_recs_data_counts(self._h, u, i, p))
        return Counts(u[0], i[0], p[0])

    def __len__(self):
        return self.counts().pairs

    def split_last(self, min_history=2):
        """Leave-last-out: ``(train, test)`` Data; each user with at least
        ``min_history`` (>= 2) pairs has its latest pair in test."""
        tr, te = ffi.new("stream_recs_data **"), ffi.new("stream_recs_data **")
        check(lib.stream_recs_data_split_last(tr, te, self._h, to_int(min_history, "min_history")))
        return Data._wrap(tr[0]), Data._wrap(te[0])

    def split_time(self, cutoff):
        """Temporal split: ``(train, test)`` Data; pairs with ts < ``cutoff`` train,
        the rest test (only for users that also have train pairs)."""
        tr, te = ffi.new("stream_recs_data **"), ffi.new("stream_recs_data **")
        check(lib.stream_recs_data_split_time(tr, te, self._h, to_int(cutoff, "cutoff")))
        return Data._wrap(tr[0]), Data._wrap(te[0])

    def __repr__(self):
        if self._ptr is None:
            return "<libstream.recs.Data closed>"
        return "<libstream.recs.Data users=%d items=%d pairs=%d>" % self.counts()


# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------


def train(data, progress=None, **options):
    """Train a :class:`Model` on ``data`` (a :class:`Data`) with keyword options
    (``factors``, ``regularization``, ``alpha``, ``iterations``, ``cg_steps``,
    ``threads``, ``seed``, ``neighbours``, ``half_life_days``, ``now``,
    ``model_version``; unset = the C defaults). ``progress(done, total)`` is
    called from this thread after each step; returning True cancels (raises
    Canceled), an exception it raises cancels and is re-raised. Raises
    InvalidArgument for a bad option (the message names it)."""
    return Model.train(data, progress=progress, **options)


class Model(Handle):
    """A trained, immutable model (``stream_recs_model``): thread-safe. Get one
    from :func:`train` or :meth:`load`."""

    _repr_name = "libstream.recs.Model"

    def __init__(self, *args, **kwargs):
        raise TypeError("use libstream.recs.train(data, ...) or Model.load(path)")

    @classmethod
    def _wrap(cls, ptr):
        obj = cls.__new__(cls)
        obj._ptr = ffi.gc(ptr, lib.stream_recs_model_free)
        return obj

    @classmethod
    def train(cls, data, progress=None, **options):
        """See :func:`train`."""
        _require()
        if not isinstance(data, Data):
            raise TypeError("data must be a libstream.recs.Data, not %s" % type(data).__name__)
        o = new_struct("stream_recs_options")
        _fill_options(o, options)
        out = ffi.new("stream_recs_model **")
        cb = ffi.NULL
        errors = []
        if progress is not None:
            if not callable(progress):
                raise TypeError("progress must be callable(done, total)")

            def trampoline(_ud, done, total):
                if errors:
                    return 1
                try:
                    return 1 if progress(done, total) is True else 0
                except BaseException as e:  # re-raised after the C call returns
                    errors.append(e)
                    return 1

            cb = ffi.callback("stream_recs_progress_fn", trampoline)
        rc = lib.stream_recs_train(out, data._h, o, cb, ffi.NULL)
        if errors:
            if out[0] != ffi.NULL:  # trained to the end anyway
                lib.stream_recs_model_free(out[0])
            raise errors[0]
        check(rc)
        return cls._wrap(out[0])

    @classmethod
    def load(cls, path):
        """Read a model written by :meth:`save`. Raises NotFound (no file),
        ProtocolError (not a model file, bad checksum, truncated),
        NotSupported (a newer format), IOFailure."""
        _require()
        keep = Keep()
        out = ffi.new("stream_recs_model **")
        check(lib.stream_recs_model_load(out, keep.cstr(path, "path")))
        return cls._wrap(out[0])

    @property
    def _h(self):
        if self._ptr is None:
            raise_invalid("the model is closed")
        return self._ptr

    def save(self, path):
        """Write the model to ``path`` atomically (readers see the old file or
        the new one). Raises IOFailure."""
        keep = Keep()
        check(lib.stream_recs_model_save(self._h, keep.cstr(path, "path")))

    @property
    def version(self):
        """The model's version (the ``model_version`` option, or its training
        time in Unix milliseconds)."""
        return int(lib.stream_recs_model_version(self._h))

    def info(self):
        """A dict: version, users, items, pairs, factors, iterations, alpha,
        regularization, trained_at_ms, train_ms, loss."""
        out = ffi.new("char **")
        try:
            check(lib.stream_recs_model_info(out, self._h))
            return take_json(out)
        finally:
            if out[0] != ffi.NULL:
                lib.stream_free(out[0])

    def recommend(self, user=None, history=None, k=10, method="als", include_history=False,
                  keep=None):
        """The top ``k`` items for ``user`` (an id of the training data; None or
        unknown = cold), as a :class:`Ranking` of :class:`Item`, best first.

        ``history``: a fresh history replacing the user's training history:
        a list of item ids (strength 1), a list of ``(item, r)`` pairs or a
        dict ``{item: r}``; unknown items are ignored; ALS folds it in.
        ``method``: "als", "item_knn", "popular" or a :class:`Method`. A user
        without history gets popularity (``ranking.method``). The history's
        items are left out unless ``include_history``. ``keep(item_id)``:
        return False to drop an item (an exception it raises is re-raised).
        Raises InvalidArgument (bad method or k)."""
        m = _method(method)
        k, out = _k_buffer(k)
        keep_refs = Keep()
        cbs = _Callbacks()
        q = new_struct("stream_recs_query")
        if k < 1:
            raise_invalid("k=%d must be 1..%d" % (k, K_MAX))
        q.method = int(m)
        set_int(q, "k", k, "k")
        q.user = keep_refs.cstr(user, "user", allow_none=True)
        if history is not None:
            if isinstance(history, (str, bytes)):
                raise TypeError("history must be a list of item ids, of (item, r) pairs or a dict")
            pairs = list(history.items()) if hasattr(history, "items") else list(history)
            ids, rs = [], []
            for h in pairs:
                if isinstance(h, (tuple, list)):
                    if len(h) != 2:
                        raise TypeError("a history entry is an item id or an (item, r) pair")
                    ids.append(h[0])
                    r = h[1]
                    if isinstance(r, bool) or not isinstance(r, numbers.Real):
                        raise TypeError("a history strength must be a number")
                    rs.append(float(r))
                else:
                    ids.append(h)
                    rs.append(1.0)
            arr, n = keep_refs.cstr_array(ids, "history")
            rarr = ffi.new("double[]", rs or 1)
            keep_refs.refs.append(rarr)
            q.history_items = arr
            q.history_r = rarr
            q.history_count = n
        q.include_history = 1 if include_history else 0
        keep_cb = cbs.keep(keep)  # referenced until the call returns: the struct does not
        q.keep = keep_cb
        count = ffi.new("size_t *")
        used = ffi.new("int *")
        rc = lib.stream_recs_recommend(out, count, used, self._h, q)
        del keep_cb
        cbs.raise_pending()
        check(rc)
        r = Ranking(_items(out, count[0]))
        r.method = Method(used[0])
        return r

    def similar(self, item, k=10, keep=None):
        """Items most similar to ``item`` (never itself), best first, as a list
        of :class:`Item`. Raises NotFound for an unknown item."""
        k, out = _k_buffer(k)
        if k < 1:
            raise_invalid("k=%d must be 1..%d" % (k, K_MAX))
        refs = Keep()
        cbs = _Callbacks()
        fn = cbs.keep(keep)
        count = ffi.new("size_t *")
        if k > K_MAX:
            raise_invalid("k=%d must be 1..%d" % (k, K_MAX))
        rc = lib.stream_recs_similar(out, count, self._h, refs.cstr(item, "item"), k, fn,
                                     ffi.NULL)
        cbs.raise_pending()
        check(rc)
        return _items(out, count[0])

    def evaluate(self, test, method="als", k=10):
        """Ranking quality of ``method`` at ``k`` on ``test`` (a :class:`Data` of
        pairs held out from the training data): a dict with ``users``
        (evaluated), ``recall``, ``ndcg`` and ``map``."""
        if not isinstance(test, Data):
            raise TypeError("test must be a libstream.recs.Data, not %s" % type(test).__name__)
        m = _method(method)
        out = ffi.new("stream_recs_metrics *")
        check(lib.stream_recs_evaluate(out, self._h, test._h, int(m), to_int(k, "k")))
        return {"users": out.users, "recall": out.recall, "ndcg": out.ndcg, "map": out.map}

    def __repr__(self):
        if self._ptr is None:
            return "<libstream.recs.Model closed>"
        return "<libstream.recs.Model version=%d>" % self.version


# ---------------------------------------------------------------------------
# Service
# ---------------------------------------------------------------------------


class Recs(ClockedHandle):
    """The recommendations service (``stream_recs``, server feature) over a
    :class:`libstream.store.Store` and a :class:`libstream.catalog.Catalog`
    (both borrowed: closing the Store closes the service first).

    ``model_path``: where the model is kept (loaded at start when present,
    written after every retrain); None = in memory only. Keyword training
    options as for :func:`train`. ``clock``: a callable returning Unix seconds
    (popularity's "now", continue watching), for tests. Thread-safe."""

    _repr_name = "libstream.recs.Recs"

    def __init__(self, store, catalog, *, model_path=None, clock=None, **train_options):
        if not SERVICE_AVAILABLE:
            raise ImportError("libstream was built without the server feature (recs service)")
        from .catalog import Catalog
        from .store import Store

        if not isinstance(store, Store):
            raise TypeError("store must be a libstream.store.Store, not %s" % type(store).__name__)
        if not isinstance(catalog, Catalog):
            raise TypeError("catalog must be a libstream.catalog.Catalog, not %s" %
                            type(catalog).__name__)
        keep = Keep()
        o = new_struct("stream_recs_service_options")
        o.store = store._cptr
        o.catalog = catalog._h
        o.model_path = keep.cstr(model_path, "model_path", allow_none=True)
        _fill_options(o.train, train_options)
        if self._clock("stream_recs_clock_fn", clock) is not None:
            o.clock = self._clock_cb
        out = ffi.new("stream_recs **")
        check(lib.stream_recs_new(out, o))
        self._store, self._catalog = store, catalog
        deps = (store._ptr, catalog._ptr, self._clock_cb)
        self._ptr = ffi.gc(out[0], lambda p, _deps=deps: lib.stream_recs_free(p))
        store._attach(self)

    @property
    def _h(self):
        if self._ptr is None:
            raise_invalid("the recs service is closed")
        if self._store.closed or self._catalog.closed:
            raise_invalid("the store or catalog of this recs service is closed")
        return self._ptr

    def signals(self):
        """The training :class:`Data` derived from the store: one pair per
        (profile, title), r = watched fraction + 1 per completion + 0.5 for My
        List + 2 for a thumbs up; a thumbs down drops the pair."""
        out = ffi.new("stream_recs_data **")
        self._run(lib.stream_recs_signals, out, self._h)
        return Data._wrap(out[0])

    def retrain(self):
        """Build the signals, train, save (with a model path) and swap the new
        model in; returns its info dict (see :meth:`Model.info`)."""
        out = ffi.new("char **")
        try:
            self._run(lib.stream_recs_retrain, self._h, out)
            return take_json(out)
        finally:
            if out[0] != ffi.NULL:
                lib.stream_free(out[0])

    def cancel(self):
        """Stop retraining (for shutdown): a retrain in progress stops at its
        next training step and every later :meth:`retrain` raises
        ``libstream.Canceled``; the served model and :meth:`home` keep
        working. Not undone. Thread-safe."""
        lib.stream_recs_cancel(self._h)

    def info(self):
        """The served model's info dict, ``{"version": 0}`` before the first."""
        return self._json_call(lib.stream_recs_info, self._h)

    def home(self, viewer, per_row=20):
        """The home screen of ``viewer.profile_id`` (a
        :class:`libstream.catalog.Viewer`, e.g. from
        ``Catalog.viewer_for_profile``): a dict with ``profile_id``,
        ``model_version`` and ``rows`` (continue_watching, top_picks,
        because_you_watched, trending, my_list; empty rows left out).
        ``per_row``: 1..ROW_MAX items a row."""
        from .catalog import Viewer, _viewer

        if not isinstance(viewer, Viewer):
            raise TypeError("viewer must be a libstream.catalog.Viewer, not %s" %
                            type(viewer).__name__)
        keep = Keep()
        v = _viewer(keep, viewer)
        return self._json_call(lib.stream_recs_home, self._h, v, to_int(per_row, "per_row"))

