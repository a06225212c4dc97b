"""ICE servers for a session, with TURN credentials minted per session.

coturn's ``use-auth-secret`` (the "TURN REST API" of draft-uberti-behave-turn-rest): the server
shares ``static-auth-secret`` with coturn, and hands each party a username
``"<expiry unix time>:<party>"`` and the password ``base64(HMAC-SHA1(secret, username))``.
coturn recomputes the password and refuses it after the expiry, so a leaked credential is only
good until then and no per-user state lives in coturn. The expiry must outlast the session,
since TURN allocation refreshes are checked against it too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from .config import IceConfig

__all__ = ["ice_servers_for", "turn_credentials"]


def turn_credentials(secret: str, user: str, ttl_s: int, now: float) -> tuple[str, str]:
    """(username, credential) valid until ``int(now) + ttl_s``."""
    username = f"{int(now) + ttl_s}:{user}"
    digest = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def ice_servers_for(ice: IceConfig, party: str, now: float) -> list[dict[str, Any]]:
    """RTCIceServer dicts for one party of one session (``assigned`` / ``session_started``).

    The static servers of the config, plus one TURN entry with fresh credentials when
    ``turn_urls`` are configured. ``party`` ends up in coturn's logs as the user name, so pass
    something that identifies the session side (e.g. ``f"{session_id}.booth"``), not a secret.
    """
    servers: list[dict[str, Any]] = []
    for server in ice.servers:
        entry: dict[str, Any] = {"urls": list(server.urls)}
        if server.username is not None:
            entry["username"] = server.username
        if server.credential is not None:
            entry["credential"] = server.credential.get_secret_value()
        servers.append(entry)
    if ice.turn_urls and ice.turn_secret is not None:
        username, credential = turn_credentials(
            ice.turn_secret.get_secret_value(), party, ice.turn_ttl_s, now
        )
        servers.append(
            {"urls": list(ice.turn_urls), "username": username, "credential": credential}
        )
    return servers
