"""The web GUI's built files (services/web, a static single-page app),
served by the gateway from `SIMPIPE_WEB_DIR` so the pages and the API share
one origin (no CORS, one address to open). A path that is no file is one of
the app's own routes (/projects/p1, ...): the app's entry page answers it,
and its router draws the page."""

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


class WebFiles(StaticFiles):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, html=True)
        self.entry = directory / ENTRY_PAGE

    async def get_response(self, path: str, scope: Scope) -> Response:
        if not self.entry.is_file():
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
        return response
