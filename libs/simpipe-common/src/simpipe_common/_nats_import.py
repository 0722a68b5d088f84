"""Imports nats-py without aiohttp.

nats-py imports aiohttp when it is installed, for its websocket transport
(ws:// and wss:// server URLs) only. The services speak nats:// (or tls://) to
the server, and aiohttp is installed beside them (the storage-broker's and the
metrics-collector's S3 client runs on it), so every service paid for it in
resident memory, the gateway, workflow-submitter, argo-watcher and
kwok-scaler included, which never use it.

nats-py handles a missing aiohttp (a websocket URL then fails with its
ImportError; ServiceSettings refuses such URLs up front). aiohttp is hidden
only while nats-py is first imported: a later `import aiohttp` works, and
where something else already imported it nothing changes.
"""

import sys


def import_nats_without_aiohttp() -> None:
    if "nats" in sys.modules or "aiohttp" in sys.modules:
        return
    sys.modules["aiohttp"] = None  # type: ignore[assignment]  # makes `import aiohttp` fail
    try:
        import nats.aio.transport  # noqa: F401  (nats.aio.client imports it)
    finally:
        del sys.modules["aiohttp"]
