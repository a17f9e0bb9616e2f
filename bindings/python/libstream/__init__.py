"""libstream: Python bindings (cffi API mode) for the libstream C SDK.

Errors raise ``libstream.StreamError`` subclasses carrying ``.status``,
``.name`` and ``.message``. Text arguments accept ``str`` (UTF-8 encoded)
or ``bytes``; text results are ``str`` and binary results ``bytes``.
"""
from . import errors, core, keys, sign, token, password  # noqa: F401
from . import cmcd  # noqa: F401  (always built)
from .errors import *  # noqa: F401,F403
from .core import *  # noqa: F401,F403
from .keys import *  # noqa: F401,F403
from ._ffi import ffi, lib  # noqa: F401
from .sign import SignReason, Verification  # noqa: F401
from .token import Claims  # noqa: F401

if hasattr(lib, "stream_client_new"):  # built with the client feature (libcurl)
    from . import client  # noqa: F401
    from .client import Client  # noqa: F401

if hasattr(lib, "stream_auth_new"):  # built with the server feature (store, auth, catalog)
    from . import store, auth, catalog  # noqa: F401
    from .store import Store  # noqa: F401
    from .auth import Auth  # noqa: F401
    from .catalog import Catalog, Viewer  # noqa: F401

if hasattr(lib, "stream_billing_new"):  # built with the server feature (billing)
    from . import billing  # noqa: F401
    from .billing import Billing, LocalProvider  # noqa: F401
    from .errors import PaymentError  # noqa: F401

if hasattr(lib, "stream_event_type_name"):  # server (ingest) or client (emitter) feature
    from . import events  # noqa: F401

if hasattr(lib, "stream_delivery_new"):  # built with the server feature (delivery)
    from . import delivery  # noqa: F401
    from .delivery import Delivery  # noqa: F401

if hasattr(lib, "stream_upload_new"):  # built with the server feature (upload, jobs)
    from . import upload, jobs  # noqa: F401
    from .upload import Uploads  # noqa: F401
    from .jobs import Jobs  # noqa: F401

if hasattr(lib, "stream_media_job_new"):  # built with the media feature (FFmpeg)
    from . import media  # noqa: F401

if hasattr(lib, "stream_recs_data_new"):  # the recs model (always built)
    from . import recs  # noqa: F401

if hasattr(lib, "stream_recs_new"):  # built with the server feature (recs service)
    from .recs import Recs  # noqa: F401

if hasattr(lib, "stream_relay_new"):  # built with the nats feature (event-log relay)
    from . import relay  # noqa: F401
    from .relay import Relay  # noqa: F401

# Short names for the commonest calls.
hash_password = password.hash
verify_password = password.verify
needs_rehash = password.needs_rehash
issue_token = token.issue
verify_token = token.verify

__version__ = core.version()
