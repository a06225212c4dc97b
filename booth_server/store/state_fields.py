"""A branch's state as the fields of one Redis hash: one field per booth, officer and session,
and one for the branch's own figures.

A dispatch changes a booth, an officer and a session or two, so a commit writes (and sends
over the wire) only those fields, about a kilobyte, not the whole branch (tens of kilobytes
with 50 booths). Reading the hash back gives the same state as `BranchState.to_dict` would.

    rev           random token of the last write (the compare-and-set's version)
    meta          the branch's own fields (id, name, next_seq, ...) as JSON
    b:<booth id>  a booth as JSON; o:<officer id> an officer; s:<session id> a session
    json          the whole state as one JSON document: the format before this one, read
                  when present and removed by the next write
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, Final, TypeVar

import orjson

from booth_server.core.model import BranchState

K = TypeVar("K", str, bytes)

REV: Final = b"rev"
META: Final = b"meta"
LEGACY: Final = b"json"
_ENTITIES: Final = (("booths", b"b:"), ("officers", b"o:"), ("sessions", b"s:"))
_META_NAMES: Final = tuple(
    f.name for f in fields(BranchState) if f.name not in {name for name, _ in _ENTITIES}
)


def encode_fields(state: BranchState) -> dict[bytes, bytes]:
    """Every field of the state's hash except `rev`."""
    encoded = {META: orjson.dumps({name: getattr(state, name) for name in _META_NAMES})}
    for name, prefix in _ENTITIES:
        entities: dict[str, Any] = getattr(state, name)
        for key, entity in entities.items():
            # orjson writes a dataclass field by field, as asdict() would.
            encoded[prefix + key.encode()] = orjson.dumps(entity)
    return encoded


def decode_fields(stored: Mapping[bytes, bytes]) -> BranchState:
    """The state from its hash fields (`rev` and unknown fields are ignored)."""
    if META not in stored and LEGACY in stored:
        return BranchState.from_dict(orjson.loads(stored[LEGACY]))
    data: dict[str, Any] = orjson.loads(stored[META])
    for name, _ in _ENTITIES:
        data[name] = {}
    groups = {prefix: data[name] for name, prefix in _ENTITIES}
    for field, value in stored.items():
        group = groups.get(field[:2])
        if group is not None:
            group[field[2:].decode()] = orjson.loads(value)
    return BranchState.from_dict(data)


def changes(
    before: Mapping[K, bytes], after: Mapping[K, bytes]
) -> tuple[dict[K, bytes], list[K]]:
    """The fields to set and the fields to delete to turn `before` into `after`."""
    sets = {k: v for k, v in after.items() if before.get(k) != v}
    gone = [k for k in before if k not in after]
    return sets, gone
