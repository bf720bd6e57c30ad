"""Serving a stored upload (a certificate, an invoice) as a download.

The row was found through the user's scope by the caller; here the file goes out as an attachment
named after what the user knows it by, never cached, never sniffed, and sandboxed should a browser
render it anyway.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import HTTPException
from fastapi.responses import FileResponse

from supplychain import certificates
from web.middleware import STORED_FILE_CSP


def stored_file_response(path: Path, content_type: str, name: str) -> FileResponse:
    """`path` as an attachment called `name` plus the extension of `content_type`; 404 when the
    file is gone."""
    if not path.is_file():
        raise HTTPException(status_code=404)
    extension = next(ext for _, ctype, ext in certificates.SIGNATURES if ctype == content_type)
    return FileResponse(
        path,
        media_type=content_type,
        filename=certificates.safe_filename(name, extension),
        content_disposition_type="attachment",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": STORED_FILE_CSP,
        },
    )
