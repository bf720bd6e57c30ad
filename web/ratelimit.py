"""Per-client rate limit on login (slowapi), on top of the per-account lock in routes/auth.py."""

from slowapi import Limiter
from slowapi.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[], enabled=True)
