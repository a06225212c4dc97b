"""Documents at rest: AES-256-GCM ciphertext in the store's blob space, with a retention TTL.

The document id is bound into the ciphertext as associated data, so a blob cannot be swapped
under another id. Metadata (who, which session, kind, hash, review) is kept beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from booth_server.store.base import Store


@dataclass
class DocumentMeta:
    document_id: str
    branch: str
    session_id: str
    booth_id: str
    officer_id: str | None
    kind: str
    content_type: str
    sha256: str
    width: int
    height: int
    quality: dict[str, float]
    created_at: float


class DocumentVault:
    def __init__(self, store: Store, key: bytes, retention_s: float) -> None:
        self.store = store
        self._aead = AESGCM(key)
        self.retention_s = retention_s

    @staticmethod
    def new_id() -> str:
        return "d-" + secrets.token_hex(12)

    @staticmethod
    def sha256(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    def seal(self, document_id: str, data: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, data, document_id.encode())

    def open(self, document_id: str, sealed: bytes) -> bytes | None:
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], document_id.encode())
        except (InvalidTag, ValueError):
            return None

    async def put(self, meta: DocumentMeta, data: bytes) -> None:
        await self.store.put_blob(f"doc-{meta.document_id}", self.seal(meta.document_id, data),
                                  self.retention_s)
        await self.store.put_blob(f"meta-{meta.document_id}",
                                  json.dumps(asdict(meta)).encode(), self.retention_s)

    async def meta(self, document_id: str) -> DocumentMeta | None:
        raw = await self.store.get_blob(f"meta-{document_id}")
        if raw is None:
            return None
        data: dict[str, Any] = json.loads(raw)
        return DocumentMeta(**data)

    async def get(self, document_id: str) -> bytes | None:
        sealed = await self.store.get_blob(f"doc-{document_id}")
        return None if sealed is None else self.open(document_id, sealed)

    async def delete(self, document_id: str) -> None:
        await self.store.delete_blob(f"doc-{document_id}")
        await self.store.delete_blob(f"meta-{document_id}")
