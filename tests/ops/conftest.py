from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from booth_server.config import AppConfig, BoothConfig, BranchConfig
from tests.harness import RunningServer, make_config, start_server


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    cfg = make_config(tmp_path, offer_timeout_s=1.0, officer_grace_s=1.5, booth_grace_s=1.5,
                      wait_alert_s=1.0)
    running = await start_server(cfg)
    try:
        yield running
    finally:
        await running.stop()


def two_branch_config(tmp_path: Path, **dispatch: float) -> AppConfig:
    """The demo config plus branch `kuala` (booths kuala-01/02 with langsa-01's token, officer
    `kcso1` and ops user `ops-kuala` bound to it, both with password `demo`)."""
    cfg = make_config(tmp_path, **dispatch)
    token_hash = next(b.token_hash for b in cfg.booths if b.id == "langsa-01")
    officer = next(u for u in cfg.users if u.id == "cso1")
    ops = next(u for u in cfg.users if u.id == "ops")
    return cfg.model_copy(update={
        "branches": [*cfg.branches, BranchConfig(id="kuala", name="Kuala Simpang")],
        "booths": [*cfg.booths, *(
            BoothConfig(id=f"kuala-0{n}", branch="kuala", label=f"Kuala {n}",
                        token_hash=token_hash) for n in (1, 2)
        )],
        "users": [
            *cfg.users,
            officer.model_copy(update={"id": "kcso1", "name": "Petugas Kuala",
                                       "branch": "kuala"}),
            ops.model_copy(update={"id": "ops-kuala", "name": "Ops Kuala", "branch": "kuala"}),
        ],
    })
