"""The marketers' page: ``/ui/`` and its files under ``/ui/static/``, from
``offers_api/web/static/``.

The page is public (it holds no data: it signs in and calls the API with a bearer token
itself), so these routes take no credentials and are left out of the API's description.
Its policy allows only the page's own scripts, styles and connections, and no framing.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
}


class PageFiles(StaticFiles):
    """The page's files, each with ``nosniff`` so that a browser takes it for nothing but
    its type. Symbolic links and paths out of the directory are refused (404), and a
    directory is never listed."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def page_router(static_dir: Path = STATIC_DIR) -> APIRouter:
    """The page's routes over the files of ``static_dir``."""
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def home() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)

    @router.get("/ui/")
    def page() -> FileResponse:
        index = static_dir / "index.html"
        if not index.is_file():
            raise HTTPException(status_code=404, detail="the page is not installed")
        return FileResponse(index, media_type="text/html", headers=PAGE_HEADERS)

    router.mount("/ui/static", PageFiles(directory=static_dir, check_dir=False), name="ui-static")
    return router


router = page_router()
