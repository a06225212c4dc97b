"""A generated configuration for load, chaos and benchmark runs: many branches, booths and
officers that share one booth token and one password, so a run hashes each secret once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from booth_server.config import DEMO_DOCUMENT_KEY
from booth_server.security import hash_secret


@dataclass(frozen=True)
class Fleet:
    path: Path
    booths: list[tuple[str, str]]  # (booth id, branch id)
    officers: list[tuple[str, str]]  # (officer id, branch id)
    token: str
    password: str


def write_fleet_config(
    path: Path,
    *,
    branches: int,
    booths_per_branch: int,
    officers_per_branch: int,
    capacity: int = 5,
    token: str = "fleet-booth-token",
    password: str = "fleet-password",
    offer_timeout_s: float = 15.0,
    officer_grace_s: float = 20.0,
    booth_grace_s: float = 20.0,
    rate_per_s: float = 50.0,
) -> Fleet:
    token_hash = hash_secret(token)
    password_hash = hash_secret(password)
    lines = [
        "[server]",
        'secret = "fleet-secret-for-load-tests-only"',
        "[dispatch]",
        f"offer_timeout_s = {offer_timeout_s}",
        f"officer_grace_s = {officer_grace_s}",
        f"booth_grace_s = {booth_grace_s}",
        "[limits]",
        f"rate_per_s = {rate_per_s}",
        f"rate_burst = {int(rate_per_s * 3)}",
        "[documents]",
        f'key = "{DEMO_DOCUMENT_KEY}"',
        f"storage_dir = {json.dumps(str(path.parent / 'documents'))}",
        "",
    ]
    booths: list[tuple[str, str]] = []
    officers: list[tuple[str, str]] = []
    for b in range(branches):
        branch = f"br{b:03d}"
        lines += ["[[branches]]", f'id = "{branch}"', f'name = "Branch {b:03d}"', ""]
        for i in range(booths_per_branch):
            booth_id = f"{branch}-b{i:03d}"
            booths.append((booth_id, branch))
            lines += ["[[booths]]", f'id = "{booth_id}"', f'branch = "{branch}"',
                      f'label = "Booth {i:03d}"', f'token_hash = "{token_hash}"', ""]
        for i in range(officers_per_branch):
            officer_id = f"{branch}-o{i:03d}"
            officers.append((officer_id, branch))
            lines += ["[[users]]", f'id = "{officer_id}"', f'name = "Officer {i:03d}"',
                      f'branch = "{branch}"', f'password_hash = "{password_hash}"',
                      f"capacity = {capacity}", ""]
    lines += ["[[users]]", 'id = "ops"', 'name = "Ops"', 'role = "ops"',
              f'password_hash = "{password_hash}"', ""]
    path.write_text("\n".join(lines))
    return Fleet(path, booths, officers, token, password)
