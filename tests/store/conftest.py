"""Fixtures of the store contract suite: one private redis-server for the whole session and a
fresh store of each kind per test (Redis stores get their own key prefix, so tests never see
each other's keys)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from booth_server.store.base import Store
from booth_server.store.memory import MemoryStore
from booth_server.store.redis_store import RedisStore
from tests.redis_server import RedisServer, available, redis_server

if not available():  # pragma: no cover - the project setup installs redis-server
    pytest.skip("redis-server is not installed", allow_module_level=True)


@pytest.fixture(scope="session")
def redis_srv() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture
async def make_redis_store(redis_srv: RedisServer) -> AsyncIterator[Callable[..., RedisStore]]:
    """RedisStore instances sharing one prefix: several "processes" on one Redis."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    made: list[RedisStore] = []

    def make(*, url: str | None = None, socket_timeout: float = 2.0) -> RedisStore:
        store = RedisStore(url or redis_srv.url, prefix=prefix, socket_timeout=socket_timeout)
        made.append(store)
        return store

    yield make
    for store in made:
        await store.close()


@pytest.fixture(params=["memory", "redis"])
async def store(
    request: pytest.FixtureRequest, make_redis_store: Callable[..., RedisStore]
) -> AsyncIterator[Store]:
    made: Store = MemoryStore() if request.param == "memory" else make_redis_store()
    await made.start()
    try:
        yield made
    finally:
        await made.close()
