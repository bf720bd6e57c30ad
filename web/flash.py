"""Flash messages: stored on the server-side session, shown once by base.html."""

from __future__ import annotations

from typing import Literal

from fastapi import Request
from sqlmodel import Session

from supplychain.models import WebSession

Level = Literal["success", "info", "warning", "error"]


def _web_session(session: Session, request: Request) -> WebSession | None:
    """The request's session row: the one loaded with the user (no second read) when it belongs to
    this database session, else by its id."""
    loaded = getattr(request.state, "web_session", None)
    if loaded is not None and loaded in session:
        return loaded  # type: ignore[no-any-return]
    session_id = getattr(request.state, "web_session_id", None)
    return session.get(WebSession, session_id) if session_id else None


def flash(session: Session, request: Request, message: str, level: Level = "success") -> None:
    web_session = _web_session(session, request)
    if web_session is None:
        return
    web_session.flash = [*web_session.flash, {"level": level, "message": message}]
    session.add(web_session)
    session.commit()


def pop_flashes(session: Session, request: Request) -> list[dict[str, str]]:
    web_session = _web_session(session, request)
    if web_session is None or not web_session.flash:
        return []
    messages = list(web_session.flash)
    web_session.flash = []
    session.add(web_session)
    session.commit()
    return messages
