"""Cross-origin requests from browser GUIs served from another origin (the
original SIM-PIPE GUI on its own port, our own GUI behind another host).

Only origins named in configuration are allowed, each exactly
(simpipe_common.origins says why). Preflights are answered by
Starlette's CORS middleware and cached by the browser for
`PREFLIGHT_MAX_AGE_SECONDS`, so a GUI's every request does not pay a second
round trip."""

from collections.abc import Sequence

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from simpipe_common.origins import PREFLIGHT_MAX_AGE_SECONDS, parse_origins

__all__ = ["PREFLIGHT_MAX_AGE_SECONDS", "parse_origins", "with_cors"]

# What a GraphQL client sends: a JSON body and a bearer token. The original
# GUI also sends a header named `mode` (fetch's option, passed as a header by
# mistake): a preflight naming a header not allowed fails as a whole.
ALLOWED_HEADERS = ("authorization", "content-type", "accept", "mode")
ALLOWED_METHODS = ("GET", "POST", "OPTIONS")


def with_cors(app: ASGIApp, origins: Sequence[str]) -> ASGIApp:
    """`app` answering cross-origin requests from `origins`; `app` itself when none."""
    if not origins:
        return app
    return CORSMiddleware(
        app,
        allow_origins=list(origins),
        allow_methods=list(ALLOWED_METHODS),
        allow_headers=list(ALLOWED_HEADERS),
        # The Authorization header is a credential: the browser only exposes
        # the answer to the page when the server says credentials are allowed.
        allow_credentials=True,
        max_age=PREFLIGHT_MAX_AGE_SECONDS,
    )
