"""Per-client rate limit on login (slowapi, LOGIN_RATE_LIMIT), on top of supplychain.login_throttle."""

from slowapi import Limiter
from slowapi.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[], enabled=True)
