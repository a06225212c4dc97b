"""Document upload and read through the real server: validation, encryption, access, audit."""

from __future__ import annotations

import hashlib
import struct
import zlib

import aiohttp
import cv2
import numpy as np

from tests.harness import Client, RunningServer, clients, login


def _jpeg(width: int = 640, height: int = 400) -> bytes:
    image = np.full((height, width, 3), 200, np.uint8)
    cv2.rectangle(image, (40, 40), (width - 40, height - 40), (30, 60, 160), 6)
    cv2.putText(image, "KTP TEST", (80, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 2, (0, 0, 0), 3)
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    return buf.tobytes()


def _png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)))


async def _live_session(server: RunningServer, opened: list[Client]) -> tuple[Client, Client,
                                                                              str]:
    officer = await Client.officer(server.url, "cso1")
    booth = await Client.booth(server.url, "langsa-01")
    opened += [officer, booth]
    ready = await booth.call("ready", {})
    await officer.next("offer")
    assert (await officer.call("accept", {"session_id": ready["session_id"]}))["ok"]
    return booth, officer, str(ready["session_id"])


def _booth_headers(booth_id: str = "langsa-01", content_type: str = "image/jpeg") -> dict[str,
                                                                                        str]:
    return {"Authorization": f"Bearer demo-token-{booth_id}", "X-Booth-Id": booth_id,
            "Content-Type": content_type}


async def test_upload_review_round_trip(server: RunningServer) -> None:
    async with clients() as opened, aiohttp.ClientSession() as http:
        booth, officer, sid = await _live_session(server, opened)
        assert (await officer.call("request_document", {"session_id": sid, "kind": "ktp"}))["ok"]
        assert await booth.next("document_requested") == {"session_id": sid, "kind": "ktp"}
        image = _jpeg()
        async with http.post(f"{server.url}/api/sessions/{sid}/documents?kind=ktp",
                             data=image, headers=_booth_headers()) as r:
            assert r.status == 201, await r.text()
            created = await r.json()
        assert created["sha256"] == hashlib.sha256(image).hexdigest()
        assert (created["width"], created["height"]) == (640, 400)
        ready = await officer.next("document_ready")
        assert ready["document_id"] == created["document_id"] and ready["kind"] == "ktp"
        assert ready["session_id"] == sid and "sharpness" in ready["quality"]

        token = await login(server.url, "cso1")
        async with http.get(f"{server.url}/api/documents/{created['document_id']}",
                            headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("image/jpeg")
            assert await r.read() == image
        other = await login(server.url, "cso2")
        async with http.get(f"{server.url}/api/documents/{created['document_id']}",
                            headers={"Authorization": f"Bearer {other}"}) as r:
            assert r.status == 403
            assert (await r.json())["error"]["code"] == "forbidden"
        ops = await login(server.url, "ops")
        async with http.get(f"{server.url}/api/documents/{created['document_id']}",
                            headers={"Authorization": f"Bearer {ops}"}) as r:
            assert r.status == 200

        reviewed = await officer.call("review_document", {
            "document_id": created["document_id"], "status": "rejected", "reason": "blurry"})
        assert reviewed["ok"], reviewed
        told = await booth.next("document_reviewed")
        assert told["status"] == "rejected" and told["reason"] == "blurry"
        assert told["document_id"] == created["document_id"]

        # Every read is in the audit log, the refused one too.
        async with http.get(f"{server.url}/api/audit?limit=200",
                            headers={"Authorization": f"Bearer {ops}"}) as r:
            entries = (await r.json())["entries"]
        reads = [e for e in entries if e["event"].startswith("document_read")]
        assert {e["actor"] for e in reads} >= {"cso1", "cso2", "ops"}
        assert any(e["event"] == "document_read_refused" and e["actor"] == "cso2"
                   for e in reads)


async def test_documents_are_encrypted_at_rest(server: RunningServer) -> None:
    async with clients() as opened, aiohttp.ClientSession() as http:
        _, _, sid = await _live_session(server, opened)
        image = _jpeg()
        async with http.post(f"{server.url}/api/sessions/{sid}/documents?kind=kpj",
                             data=image, headers=_booth_headers()) as r:
            assert r.status == 201
            document_id = (await r.json())["document_id"]
        folder = server.cfg.documents.storage_dir
        stored = (folder / f"doc-{document_id}").read_bytes()
        assert stored != image
        assert image[:64] not in stored and b"JFIF" not in stored
        assert len(stored) == len(image) + 12 + 16  # nonce + GCM tag


async def test_bad_uploads_store_nothing(server: RunningServer) -> None:
    async with clients() as opened, aiohttp.ClientSession() as http:
        _, _, sid = await _live_session(server, opened)
        url = f"{server.url}/api/sessions/{sid}/documents?kind=ktp"
        cases: list[tuple[bytes, dict[str, str], int]] = [
            (_jpeg(), _booth_headers(content_type="image/gif"), 415),
            (b"GIF89a" + b"\0" * 100, _booth_headers(content_type="image/jpeg"), 415),
            (_jpeg(), _booth_headers(content_type="image/png"), 415),
            (b"\xff\xd8\xff\xe0" + b"\0" * 200, _booth_headers(), 422),
            (_png_header_only(8000, 6000), _booth_headers(content_type="image/png"), 422),
            (b"\xff\xd8\xff" + b"\0" * (8_000_001), _booth_headers(), 413),
            (_jpeg(), {**_booth_headers(), "Authorization": "Bearer wrong"}, 401),
            (_jpeg(), _booth_headers(booth_id="langsa-02"), 403),
        ]
        for body, headers, status in cases:
            async with http.post(url, data=body, headers=headers) as r:
                assert r.status == status, (status, await r.text())
                assert "error" in await r.json()
        async with http.post(f"{server.url}/api/sessions/{sid}/documents?kind=passport",
                             data=_jpeg(), headers=_booth_headers()) as r:
            assert r.status == 400
        folder = server.cfg.documents.storage_dir
        assert not folder.exists() or not any(folder.iterdir())


async def test_metrics_are_prometheus_text(server: RunningServer) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    async with clients() as opened, aiohttp.ClientSession() as http:
        booth = await Client.booth(server.url, "langsa-07")
        opened.append(booth)
        await booth.call("ready", {})
        async with http.get(f"{server.url}/metrics") as r:
            assert r.status == 200
            text = await r.text()
        families = {f.name: f for f in text_string_to_metric_families(text)}
        booths = {s.labels["state"]: s.value for s in families["lapak_booths"].samples}
        assert booths["queued"] == 1 and booths["offline"] == 11
        queue = [s.value for s in families["lapak_queue_length"].samples]
        assert queue == [1]
        assert "lapak_dispatch_latency_seconds" in families
        assert "lapak_store_up" in families
