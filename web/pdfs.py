"""PDF downloads from sync routes, rendered on a thread of their own.

A route finds its document through the user's scope and builds its view (database work, on a page
thread), then hands the view here. Rendering is CPU work of up to a few seconds (a 500-line
statement): it runs on one dedicated PDF thread, never on the event loop, and the page thread
waits for it as it waits for Temporal (`web.workflow_calls.await_on_loop`): with its database
connection given back and without counting against WEB_THREADS. So a burst of downloads queues for
the PDF thread while every other page goes on being served.
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

from sqlmodel import Session
from starlette.responses import Response

from supplychain import i18n
from supplychain.pdf_documents import render_pdf
from web.workflow_calls import await_on_loop

# One at a time: WeasyPrint's layout holds the GIL, so a second thread would not finish sooner.
_renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf-render")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


async def _render_aside(template_name: str, document: object, locale: str) -> bytes:
    return await asyncio.wrap_future(_renderer.submit(render_pdf, template_name, document, locale))


def pdf_response(session: Session, template_name: str, document: object, filename: str) -> Response:
    """The document as a PDF download in the request's language; not cached anywhere."""
    pdf = await_on_loop(session, _render_aside, template_name, document, i18n.get_locale())
    safe_name = _UNSAFE_FILENAME.sub("_", filename)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{safe_name}"',
            "Cache-Control": "no-store",
        },
    )
