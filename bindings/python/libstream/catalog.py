"""The catalog service: movies and series with seasons and episodes, browse by
genre with stable cursors, full-text search (prefixes, case and diacritics
folded), maturity filtering, resume positions, My List and ratings (thumbs
up/down).

``Catalog`` wraps one ``stream_catalog`` handle over a
:class:`libstream.store.Store`. The C interface speaks JSON; here documents
go in as a dict (or JSON text) and results come back decoded (dicts and
lists, shapes in docs/api/catalog.md). Who is looking is a :class:`Viewer`
(None: the operator, who sees every rating and region). Errors raise the
``libstream.StreamError`` subclass of the status with the library's message
("title: field 'year' must be an integer between 1888 and 2100"); a refused
import also carries ``e.report`` (the per-title report).

A Catalog is thread-safe, like the C handle, and the GIL is released during
every call. Only available in builds with the server feature
(``libstream.catalog.AVAILABLE``).

    from libstream.store import Store
    from libstream.catalog import Catalog, Viewer
    with Store("streamd.db") as st:
        cat = Catalog(st)
        cat.import_file("examples/data/demo-catalog.json")
        kids = Viewer(kids=True)
        for item in cat.search("amelie", viewer=kids)["items"]:
            print(item["name"])
"""
import collections
import json
import os

from ._ffi import ffi, lib
from ._util import (ClockedHandle, Keep, new_struct, set_int, text, to_bytes, to_cstr,
                    to_int)
from .errors import check, error_for, last_message, raise_invalid

__all__ = ["AVAILABLE", "Catalog", "Viewer", "ImportResult", "maturity_label", "RATINGS"]

AVAILABLE = hasattr(lib, "stream_catalog_new")

#: The maturity ratings a title may have (labels from maturity_label()).
RATINGS = (0, 7, 13, 16, 18)

if AVAILABLE:
    DEFAULT_LIMIT = lib.STREAM_CATALOG_DEFAULT_LIMIT
    KIDS_CEILING = lib.STREAM_CATALOG_KIDS_CEILING
    MATURITY_MAX = lib.STREAM_CATALOG_MATURITY_MAX
    __all__ += ["DEFAULT_LIMIT", "KIDS_CEILING", "MATURITY_MAX"]

ImportResult = collections.namedtuple("ImportResult",
                                      "total created updated unchanged failed report")
ImportResult.__doc__ = "What an import did; ``report`` is the decoded per-title report (a dict)."


def _require():
    if not AVAILABLE:
        raise ImportError("libstream was built without the server feature (catalog)")


def maturity_label(rating):
    """The label of a maturity rating ("All", "7+", "13+", "16+", "18+"), or None."""
    _require()
    return text(lib.stream_catalog_maturity_label(to_int(rating, "rating")))


class Viewer:
    """Who is looking: a profile (needed by My List and continue watching), its
    maturity ceiling (18: everything), kids flag (caps the ceiling at 7) and region
    (None: no region filter). Plain data, copied into C for each call."""

    __slots__ = ("profile_id", "maturity_ceiling", "region", "kids")

    def __init__(self, profile_id=None, maturity_ceiling=18, region=None, kids=False):
        self.profile_id = profile_id
        self.maturity_ceiling = maturity_ceiling
        self.region = region
        self.kids = kids

    def _c(self, keep):
        v = new_struct("stream_catalog_viewer")
        v.profile_id = keep.cstr(self.profile_id, "viewer.profile_id", allow_none=True)
        v.region = keep.cstr(self.region, "viewer.region", allow_none=True)
        set_int(v, "maturity_ceiling", self.maturity_ceiling, "viewer.maturity_ceiling")
        if not isinstance(self.kids, bool):
            raise TypeError("viewer.kids must be a bool")
        v.kids = 1 if self.kids else 0
        keep.refs.append(v)
        return v

    def __repr__(self):
        return "Viewer(profile_id=%r, maturity_ceiling=%r, region=%r, kids=%r)" % (
            self.profile_id, self.maturity_ceiling, self.region, self.kids)


def _viewer(keep, viewer):
    if viewer is None:
        return ffi.NULL
    if not isinstance(viewer, Viewer):
        raise TypeError("viewer must be a libstream.catalog.Viewer or None, not %s" %
                        type(viewer).__name__)
    return viewer._c(keep)


def _json_text(value, name):
    """A document argument: dict/list serialised, or JSON text as given (str/bytes)."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return to_cstr(value, name)


class Catalog(ClockedHandle):
    """The catalog over a Store (borrowed: closing the Store closes the Catalog
    first). ``clock``: a callable returning Unix seconds (availability windows,
    progress and My List times), for tests; an exception it raises is re-raised
    when the call returns (the call itself saw the system time)."""

    _repr_name = "libstream.catalog.Catalog"

    def __init__(self, store, *, clock=None):
        _require()
        from .store import Store

        if not isinstance(store, Store):
            raise TypeError("store must be a libstream.store.Store, not %s" % type(store).__name__)
        o = new_struct("stream_catalog_options")
        o.store = store._cptr
        if self._clock("stream_catalog_clock_fn", clock) is not None:
            o.clock = self._clock_cb
        out = ffi.new("stream_catalog **")
        check(lib.stream_catalog_new(out, o))
        self._store = store
        deps = (store._ptr, self._clock_cb)
        self._ptr = ffi.gc(out[0], lambda p, _deps=deps: lib.stream_catalog_free(p))
        store._attach(self)

    # ---- lifetime ---------------------------------------------------------

    @property
    def _h(self):
        if self._ptr is None:
            raise_invalid("the catalog is closed")
        if self._store.closed:
            raise_invalid("the store of this catalog is closed")
        return self._ptr

    # ---- viewers ----------------------------------------------------------

    def viewer_for_profile(self, profile_id, region=None):
        """A ``Viewer`` with the stored profile's ceiling and kids flag (NotFound
        for an unknown profile)."""
        keep = Keep()
        pid = keep.cstr(profile_id, "profile_id")
        reg = keep.cstr(region, "region", allow_none=True)
        v = ffi.new("stream_catalog_viewer *")
        self._run(lib.stream_catalog_viewer_for_profile, v, self._h, pid, reg)
        return Viewer(profile_id=text(v.profile_id), maturity_ceiling=v.maturity_ceiling,
                      region=text(v.region) if v.region != ffi.NULL else None,
                      kids=bool(v.kids))

    # ---- operator ---------------------------------------------------------

    def put(self, title):
        """Create or update one title (a dict or JSON text). Returns
        ``(detail, created)``: the stored title with seasons, and True when new."""
        doc = _json_text(title, "title")
        created = ffi.new("int *")
        detail = self._json_call(lib.stream_catalog_title_put, created, self._h, doc)
        return detail, bool(created[0])

    def delete(self, title_id):
        """Delete a title with its seasons, episodes, progress and My List entries."""
        self._run(lib.stream_catalog_title_delete, self._h, to_cstr(title_id, "title_id"))

    def import_document(self, document):
        """Import ``{"titles": [...]}`` (a dict or JSON text): an ``ImportResult``.
        All-or-nothing validation: an invalid title raises InvalidArgument with
        ``e.report`` listing every invalid item, and nothing is written."""
        doc = _json_text(document, "document")
        r = ffi.new("stream_catalog_import_result *")
        try:
            rc = self._call(lib.stream_catalog_import, r, self._h, doc)
            report = json.loads(text(r.report_json)) if r.report_json != ffi.NULL else None
            result = ImportResult(r.total, r.created, r.updated, r.unchanged, r.failed, report)
        finally:
            lib.stream_catalog_import_result_clear(r)
        if rc < 0:
            e = error_for(rc, last_message(rc))
            e.report = report
            e.result = result
            raise e
        return result

    def import_file(self, path):
        """Import a JSON document from a file (UTF-8; see import_document())."""
        with open(os.fspath(path), "rb") as f:
            data = f.read(lib.STREAM_CATALOG_IMPORT_MAX + 1)
        if len(data) > lib.STREAM_CATALOG_IMPORT_MAX:
            from .errors import OutOfRange
            raise OutOfRange(lib.STREAM_ERANGE, "%s is larger than %d bytes" %
                             (os.fspath(path), lib.STREAM_CATALOG_IMPORT_MAX))
        return self.import_document(to_bytes(data, "document"))

    # ---- browsing ---------------------------------------------------------

    def title(self, title_id, viewer=None):
        """A title with its seasons and episodes (NotFound when hidden from the viewer)."""
        keep = Keep()
        return self._json_call(lib.stream_catalog_title_get, self._h,
                               to_cstr(title_id, "title_id"), _viewer(keep, viewer))

    def browse(self, genre=None, cursor=None, limit=0, viewer=None):
        """One page by name: ``{"items": [...], "next_cursor": str or None}``."""
        keep = Keep()
        return self._json_call(lib.stream_catalog_browse, self._h,
                               to_cstr(genre, "genre", allow_none=True),
                               to_cstr(cursor, "cursor", allow_none=True),
                               to_int(limit, "limit"), _viewer(keep, viewer))

    def browse_all(self, genre=None, limit=0, viewer=None):
        """Every title, following next_cursor page by page (a generator)."""
        cursor = None
        while True:
            page = self.browse(genre, cursor, limit, viewer)
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def search(self, query, limit=0, viewer=None):
        """Full-text search, best first: ``{"query": ..., "items": [...]}``."""
        keep = Keep()
        return self._json_call(lib.stream_catalog_search, self._h, to_cstr(query, "query"),
                               to_int(limit, "limit"), _viewer(keep, viewer))

    def genres(self):
        """Every genre in use by any title, sorted (a list of str; operator, unfiltered:
        for what a viewer can browse see genres_for())."""
        return self._json_call(lib.stream_catalog_genres, self._h)["genres"]

    def genres_for(self, viewer=None):
        """The genres ``viewer`` can browse now, sorted (a list of str): each has at
        least one title the viewer may see, so browse(genre, viewer=viewer) is never
        empty for them. None: the operator (every rating and region, available now)."""
        keep = Keep()
        return self._json_call(lib.stream_catalog_genres_for, self._h,
                               _viewer(keep, viewer))["genres"]

    # ---- viewing ----------------------------------------------------------

    def put_progress(self, profile_id, title_id, position_s, duration_s, episode_id=None):
        """Record a resume position (episode_id for a series, None for a movie)."""
        self._run(lib.stream_catalog_progress_put, self._h, to_cstr(profile_id, "profile_id"),
                  to_cstr(title_id, "title_id"),
                  to_cstr(episode_id, "episode_id", allow_none=True),
                  to_int(position_s, "position_s"), to_int(duration_s, "duration_s"))

    def continue_watching(self, viewer, limit=0):
        """The continue-watching row of ``viewer.profile_id``, most recent first (a list)."""
        keep = Keep()
        if viewer is None:
            raise TypeError("continue_watching needs a Viewer with a profile_id")
        return self._json_call(lib.stream_catalog_continue_watching, self._h,
                               _viewer(keep, viewer), to_int(limit, "limit"))["items"]

    def mylist_add(self, profile_id, title_id):
        self._run(lib.stream_catalog_mylist_add, self._h, to_cstr(profile_id, "profile_id"),
                  to_cstr(title_id, "title_id"))

    def mylist_remove(self, profile_id, title_id):
        self._run(lib.stream_catalog_mylist_remove, self._h, to_cstr(profile_id, "profile_id"),
                  to_cstr(title_id, "title_id"))

    def mylist(self, viewer):
        """My List of ``viewer.profile_id``, most recently added first (a list)."""
        keep = Keep()
        if viewer is None:
            raise TypeError("mylist needs a Viewer with a profile_id")
        return self._json_call(lib.stream_catalog_mylist_list, self._h,
                               _viewer(keep, viewer))["items"]

    # ---- ratings (thumbs up/down) -----------------------------------------

    def rating_put(self, profile_id, title_id, value):
        """Rate a title for a profile: 1 (up), -1 (down) or 0 (clear; idempotent).
        Raises NotFound for an unknown title (or profile, when setting)."""
        self._run(lib.stream_catalog_rating_put, self._h, to_cstr(profile_id, "profile_id"),
                  to_cstr(title_id, "title_id"), to_int(value, "value"))

    def rating_get(self, profile_id, title_id):
        """The profile's rating of a title: 1 (up), -1 (down) or 0 (none)."""
        out = ffi.new("int *")
        self._run(lib.stream_catalog_rating_get, out, self._h, to_cstr(profile_id, "profile_id"),
                  to_cstr(title_id, "title_id"))
        return int(out[0])

    def titles(self, ids, viewer=None):
        """The titles ``ids`` (at most 100) as a list of title dicts, in the given order, each
        once, only those that exist and ``viewer`` may see (None: the operator)."""
        keep = Keep()
        arr, n = keep.cstr_array(list(ids) if not isinstance(ids, (str, bytes)) else ids, "ids")
        return self._json_call(lib.stream_catalog_titles_get, self._h, arr, n,
                               _viewer(keep, viewer))["items"]
