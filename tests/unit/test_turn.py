"""TURN REST API credentials (coturn use-auth-secret) and the ICE server list."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from booth_server.config import IceConfig
from booth_server.turn import ice_servers_for, turn_credentials

NOW = 1_700_000_000.9


def test_known_vector() -> None:
    # Computed outside Python with:
    #   printf '%s' "1700003600:langsa-01" \
    #     | openssl dgst -sha1 -hmac "north-aceh-turn-secret" -binary | base64
    username, credential = turn_credentials("north-aceh-turn-secret", "langsa-01", 3600, NOW)
    assert username == "1700003600:langsa-01"
    assert credential == "TWMHBUA4u2HuQaXuYDMnJ/czvuM="


def test_matches_an_independent_hmac_computation() -> None:
    secret, user, ttl, now = "s3cret", "sess-42.officer", 86400, 1_234_567_890.5
    expected_user = f"{1_234_567_890 + 86400}:{user}"
    digest = hmac.new(secret.encode(), expected_user.encode(), hashlib.sha1).digest()
    assert turn_credentials(secret, user, ttl, now) == (
        expected_user,
        base64.b64encode(digest).decode(),
    )


def _ice(**values: object) -> IceConfig:
    return IceConfig.model_validate(values)


def test_no_servers_configured() -> None:
    assert ice_servers_for(IceConfig(), "booth", NOW) == []


def test_static_servers_passed_through() -> None:
    ice = _ice(
        servers=[
            {"urls": ["stun:stun.example.org:3478"]},
            {"urls": ["turn:static.example.org"], "username": "u", "credential": "c"},
        ]
    )
    assert ice_servers_for(ice, "booth", NOW) == [
        {"urls": ["stun:stun.example.org:3478"]},
        {"urls": ["turn:static.example.org"], "username": "u", "credential": "c"},
    ]


def test_turn_entry_minted_per_party() -> None:
    ice = _ice(
        servers=[{"urls": ["stun:stun.example.org"]}],
        turn_urls=["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"],
        turn_secret="coturn-static-auth-secret",
        turn_ttl_s=600,
    )
    booth = ice_servers_for(ice, "s1.booth", NOW)
    officer = ice_servers_for(ice, "s1.officer", NOW)
    assert booth[0] == {"urls": ["stun:stun.example.org"]}
    turn = booth[1]
    assert turn["urls"] == [
        "turn:turn.example.org:3478?transport=udp",
        "turns:turn.example.org:5349",
    ]
    assert turn["username"] == "1700000600:s1.booth"
    assert (turn["username"], turn["credential"]) == turn_credentials(
        "coturn-static-auth-secret", "s1.booth", 600, NOW
    )
    assert officer[1]["username"] == "1700000600:s1.officer"
    assert officer[1]["credential"] != turn["credential"]
    # later sessions get later expiries
    assert ice_servers_for(ice, "s1.booth", NOW + 60)[1]["username"] == "1700000660:s1.booth"
    json.dumps(booth)  # plain JSON for the Socket.IO payload (no SecretStr leaks through)
