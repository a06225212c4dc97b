"""Shorthands for driving a store with the real dispatcher and an explicit clock."""

from __future__ import annotations

import json
from typing import Any

from booth_server.core import events as ev
from booth_server.core.dispatcher import Dispatcher, Policy, Result
from booth_server.core.model import BranchState, new_branch
from booth_server.store.base import Store

T0 = 1_000_000.0
DISPATCHER = Dispatcher(Policy(offer_timeout_s=15.0, officer_grace_s=20.0, booth_grace_s=20.0))


def template(
    branch_id: str = "langsa",
    booths: int = 6,
    officers: tuple[tuple[str, int, bool], ...] = (("o1", 5, False),),
    name: str = "Langsa",
) -> BranchState:
    return new_branch(
        branch_id,
        name,
        [(f"{branch_id}-{i:02d}", f"Booth {i}") for i in range(1, booths + 1)],
        [(f"{branch_id}-{o}", o.upper(), cap, auto) for o, cap, auto in officers],
    )


def canonical(state: BranchState) -> str:
    return json.dumps(state.to_dict(), sort_keys=True)


async def apply(
    store: Store, branch_id: str, event: ev.Event, now: float = T0, *,
    dispatcher: Dispatcher = DISPATCHER,
) -> Result:
    return await store.transact(branch_id, lambda state: dispatcher.handle(state, event, now))


async def ready(store: Store, branch_id: str, booth: str, session: str, now: float) -> Any:
    await apply(store, branch_id, ev.BoothConnected(booth, conn=f"c-{booth}"), now)
    return await apply(store, branch_id, ev.BoothReady(booth, session), now)
