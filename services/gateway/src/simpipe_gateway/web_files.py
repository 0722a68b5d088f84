"""The web GUI's built files (services/web, a static single-page app),
served by the gateway from `SIMPIPE_WEB_DIR` so the pages and the API share
one origin (no CORS, one address to open). A path that is no file is one of
the app's own routes (/projects/p1, ...): the app's entry page answers it,
and its router draws the page.

Every answer carries a Content-Security-Policy: scripts only from this
origin plus the entry page's own inline scripts, named by their SHA-256
(read from the page as built, again whenever it is rebuilt); connections to
this origin (the API, its websocket) and to the origins the settings name
(the S3 endpoint presigned uploads go to).
"""

import base64
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

ENTRY_PAGE = "index.html"
# Hashed file names never change their content: browsers may keep them.
IMMUTABLE = "public, max-age=31536000, immutable"
# Pages and the rest are checked again on each load.
REVALIDATE = "no-cache"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# An inline script: a <script> element without a src attribute.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>", re.DOTALL | re.I)


def inline_script_hashes(page: str) -> list[str]:
    """CSP sources allowing exactly the page's inline scripts."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in INLINE_SCRIPT.findall(page)
    ]


def content_security_policy(page: str, connect: Sequence[str]) -> str:
    # Styles may be inline: Svelte writes style attributes into its markup;
    # scripts may not.
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *inline_script_hashes(page)],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'", *connect],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


class WebFiles(StaticFiles):
    def __init__(self, directory: Path, connect_sources: Sequence[str] = ()) -> None:
        super().__init__(directory=directory, html=True)
        self.entry = directory / ENTRY_PAGE
        self._connect = tuple(connect_sources)
        # (the entry page's mtime and size, its policy): made again when it is rebuilt.
        self._policy: tuple[tuple[int, int], str] | None = None

    def policy(self) -> str:
        """The policy of the entry page as built now; OSError while it is
        not there. One stat per request tells a rebuild."""
        stat = self.entry.stat()
        built = (stat.st_mtime_ns, stat.st_size)
        if self._policy is None or self._policy[0] != built:
            page = self.entry.read_text(encoding="utf-8", errors="replace")
            self._policy = (built, content_security_policy(page, self._connect))
        return self._policy[1]

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            policy = self.policy()
        except OSError:
            # Its directory is being rebuilt (make web), or was removed.
            return PlainTextResponse("the web GUI is not built; try again shortly", 503)
        try:
            response = await super().get_response(path, scope)
        except HTTPException as error:
            # Served alone, not inside a Starlette app: nothing else turns
            # the exception into its answer.
            if error.status_code == 404 and "." not in path.rsplit("/", 1)[-1]:
                response = FileResponse(self.entry)
            else:
                response = PlainTextResponse(error.detail, error.status_code, error.headers)
        immutable = path.startswith("_app/immutable/") and response.status_code == 200
        response.headers["Cache-Control"] = IMMUTABLE if immutable else REVALIDATE
        response.headers.update(SECURITY_HEADERS)
        response.headers["Content-Security-Policy"] = policy
        return response
