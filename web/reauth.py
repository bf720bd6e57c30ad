"""Re-authentication before sensitive changes (OWASP ASVS 2: V6 / V7 "re-authenticate before
sensitive transactions").

The session row remembers when its user last typed their password (`WebSession.authenticated_at`,
set at login). A sensitive change made when that is older than REAUTH_MINUTES (today: an admin
changing another user's e-mail, roles, organisation or password; later bank details and API keys)
needs the actor's own password in the form's `reauth_password` field. Without it, or with a wrong
one, nothing changes and the form says why; a right one counts as typing the password again.
Wrong passwords count as failed logins of the actor from that address (supplychain.login_throttle),
so the field cannot be used to guess a stolen session's password at leisure.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from sqlmodel import Session

from supplychain import i18n
from supplychain.login_throttle import record_attempt, throttle_state
from supplychain.models import User, WebSession
from supplychain.models.base import utcnow
from supplychain.security import verify_password
from supplychain.settings import settings
from web.security_events import log_security_event
from web.sessions import client_ip

REAUTH_FIELD = "reauth_password"


def reauthentication_due(request: Request) -> bool:
    """Whether this request's user last typed their password longer than REAUTH_MINUTES ago."""
    web_session: WebSession | None = getattr(request.state, "web_session", None)
    if web_session is None:
        return True
    return utcnow() - web_session.authenticated_at >= timedelta(minutes=settings.REAUTH_MINUTES)


def reauthenticate(request: Request, session: Session, password: object) -> str | None:
    """None when a sensitive change may go ahead (recent login, or the right password now);
    otherwise the message to show beside the password field."""
    if not reauthentication_due(request):
        return None
    principal = request.state.principal
    if not isinstance(password, str) or not password:
        log_security_event(request, "reauthentication", "required")
        return i18n.gettext(
            "Enter your own password to confirm this change (a new password for the user must be typed again)."  # noqa: E501
        )
    ip = client_ip(request)
    if throttle_state(session, email=principal.email, client_ip=ip).delayed:
        log_security_event(request, "reauthentication", "refused", reason="throttled")
        return i18n.gettext("Too many attempts. Please wait a moment and try again.")
    user = session.get(User, principal.user_id)
    if user is None or not verify_password(user.password_hash, password):
        record_attempt(session, email=principal.email, client_ip=ip, succeeded=False)
        log_security_event(request, "reauthentication", "failure")
        return i18n.gettext("Your password is not correct, so nothing was changed.")
    web_session = request.state.web_session
    web_session.authenticated_at = utcnow()
    session.add(web_session)
    log_security_event(request, "reauthentication", "success")
    return None
