"""How far above the page floor the fixed stack itself starts (README, "Against the targets of issue 10").

The same template and rows as the floor, served five ways, to show what one authenticated read
costs before a page does anything of its own:

    /async       the floor: an async route rendering the template
    /sync        the same from a sync route (FastAPI's thread-pool hop)
    /sync-get    sync route + one ORM `session.get` by primary key (who is asking)
    /depends-get the same with the session from a `Depends` generator
    /async-get   async route + the read on the event loop (what issue 10, item 1 forbids)

    python -m bench.stack_floor --port 8201 &
    for p in async sync sync-get depends-get async-get; do
        wrk -t2 -c4 -d5s --latency http://127.0.0.1:8201/$p; done
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import Integer, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from starlette.responses import Response


class Base(DeclarativeBase):
    pass


class Person(Base):
    __tablename__ = "person"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


engine = create_engine(f"sqlite:///{Path(tempfile.gettempdir()) / 'bench-stack-floor.sqlite'}")
Base.metadata.create_all(engine)
with Session(engine) as setup:
    if setup.get(Person, 1) is None:
        setup.add(Person(id=1, name="ann"))
        setup.commit()

ROWS = [[f"r{i}c{j}" for j in range(6)] for i in range(25)]
app = FastAPI()
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _page(request: Request, name: str) -> Response:
    return templates.TemplateResponse(request, "floor.html", {"name": name, "rows": ROWS})


def _session() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


@app.get("/async")
async def async_page(request: Request) -> Response:
    return _page(request, "async")


@app.get("/sync")
def sync_page(request: Request) -> Response:
    return _page(request, "sync")


@app.get("/sync-get")
def sync_get(request: Request) -> Response:
    with Session(engine) as session:
        person = session.get(Person, 1)
        assert person is not None
        return _page(request, person.name)


@app.get("/depends-get")
def depends_get(request: Request, session: Session = Depends(_session)) -> Response:
    person = session.get(Person, 1)
    assert person is not None
    return _page(request, person.name)


@app.get("/async-get")
async def async_get(request: Request) -> Response:
    with Session(engine) as session:
        person = session.get(Person, 1)
        assert person is not None
        return _page(request, person.name)


if __name__ == "__main__":
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    uvicorn.run("bench.stack_floor:app", host="127.0.0.1", port=parser.parse_args().port)
