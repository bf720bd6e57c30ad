"""The floor for a page: bare FastAPI + Jinja2 rendering the same rows as a portal page, and nothing else.

No database, no session, no middleware: `GET /<page key>` renders `templates/floor.html` (a layout
and one table) with the rows the runner read off the portal's page of that key, so the floor
carries the same cells in the same number of rows. Served by uvicorn exactly as `portal web` serves
the portal (one process, the same options), and measured with the same wrk settings.

    python -m bench.floor_app --port 8100      (rows from the JSON file named by BENCH_FLOOR_ROWS)
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

ROWS: dict[str, list[list[str]]] = (
    json.loads(Path(os.environ["BENCH_FLOOR_ROWS"]).read_text()) if "BENCH_FLOOR_ROWS" in os.environ else {}
)

app = FastAPI()
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


@app.get("/{name}")
async def page(request: Request, name: str) -> Response:
    rows = ROWS.get(name)
    if rows is None:
        raise HTTPException(status_code=404)
    return templates.TemplateResponse(request, "floor.html", {"name": name, "rows": rows})


if __name__ == "__main__":
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # As `portal web` runs the portal (cli.py).
    uvicorn.run("bench.floor_app:app", host="127.0.0.1", port=args.port, proxy_headers=True)
