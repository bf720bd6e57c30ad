"""Flash messages: stored on the server-side session, shown once by base.html."""

from __future__ import annotations

from typing import Literal

from fastapi import Request
from sqlmodel import Session

from supplychain.models import WebSession

Level = Literal["success", "info", "warning", "error"]


def flash(session: Session, request: Request, message: str, level: Level = "success") -> None:
    session_id = getattr(request.state, "web_session_id", None)
    web_session = session.get(WebSession, session_id) if session_id else None
    if web_session is None:
        return
    web_session.flash = [*web_session.flash, {"level": level, "message": message}]
    session.add(web_session)
    session.commit()


def pop_flashes(session: Session, request: Request) -> list[dict[str, str]]:
    session_id = getattr(request.state, "web_session_id", None)
    web_session = session.get(WebSession, session_id) if session_id else None
    if web_session is None or not web_session.flash:
        return []
    messages = list(web_session.flash)
    web_session.flash = []
    session.add(web_session)
    session.commit()
    return messages
