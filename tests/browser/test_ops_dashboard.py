"""The ops dashboard in real headless Chromium against the real server, with scripted booths
and officers (python-socketio clients) in the same event loop as the server and the browser."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium
from tests.harness import Client, RunningServer, clients, make_config, start_server
from tests.ops.conftest import two_branch_config

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"


@pytest.fixture
async def ops_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    cfg = make_config(tmp_path, offer_timeout_s=15.0, booth_grace_s=30.0, wait_alert_s=600.0)
    running = await start_server(cfg)
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Any]:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("needs Playwright")
    if not await asyncio.to_thread(chromium.available):
        pytest.skip(f"needs {chromium.CHROMIUM}")
    async with async_playwright() as pw:
        options = chromium.launch_options(
            tmp_path / "profile",
            media=False,
            viewport={"width": 1600, "height": 1000},
            accept_downloads=True,
        )
        context = await pw.chromium.launch_persistent_context(**options)
        try:
            tab = context.pages[0] if context.pages else await context.new_page()
            errors: list[str] = []
            tab.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            tab.on(
                "console",
                lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None,
            )
            tab.errors = errors
            yield tab
        finally:
            await context.close()


async def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"ops-{name}.png"), full_page=True)


async def state(page: Any) -> dict[str, Any]:
    value: dict[str, Any] = await page.evaluate("() => window.__opsState || {}")
    return value


async def until(
    page: Any, predicate: Callable[[dict[str, Any]], Any], what: str, timeout: float = 10.0
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        current = await state(page)
        if predicate(current):
            return current
        if loop.time() > deadline:
            await shot(page, "timeout-" + what.replace(" ", "-")[:40])
            raise AssertionError(f"timed out waiting for {what}; last state: {current}")
        await asyncio.sleep(0.15)


async def tile_state(page: Any, booth_id: str) -> str:
    value: str = await page.get_attribute(f'article.booth[data-booth="{booth_id}"]', "data-state")
    return value


async def kpi(page: Any, key: str) -> str:
    text: str = await page.inner_text(f'.kpi[data-kpi="{key}"] .kpi-value')
    return text


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, page: Any, timeout: float = 10.0
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            await shot(page, "timeout-" + what.replace(" ", "-")[:40])
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.15)


async def serve(officer: Client, booth: Client, ticket: str) -> str:
    ready = await booth.call("ready", {"ticket": ticket})
    assert ready["ok"], ready
    offer = await officer.next_matching("offer", session_id=ready["session_id"], timeout=10)
    assert (await officer.call("accept", {"session_id": offer["session_id"]}))["ok"]
    return str(ready["session_id"])


async def test_ops_dashboard_live_floor_figures_alerts_and_actions(
    ops_server: RunningServer, page: Any
) -> None:
    url = ops_server.url
    await page.goto(url + "/ops/")
    # Indonesian first.
    assert await page.inner_text("#login-submit") == "Masuk"
    await page.fill("#login-username", "ops")
    await page.fill("#login-password", "demo")
    await page.click("#login-submit")
    await until(
        page,
        lambda s: (
            s.get("connected") and s.get("occupancyCount", 0) > 0 and s.get("statsCount", 0) > 0
        ),
        "dashboard connected",
    )
    assert await tile_state(page, "langsa-01") == "offline"
    assert await page.locator("article.booth").count() == 12
    assert await kpi(page, "completed") == "0"

    async with clients() as opened:
        officer = await Client.officer(url, "cso1")
        booths = {n: await Client.booth(url, f"langsa-{n:02d}") for n in (1, 2, 3, 4)}
        opened += [officer, *booths.values()]
        await eventually(lambda: _is(page, "langsa-01", "idle"), "booth 1 idle", page)

        # Visits start: tiles go in session, the "now" figure follows.
        first = await serve(officer, booths[1], "A-001")
        await serve(officer, booths[2], "A-002")
        await eventually(lambda: _is(page, "langsa-02", "in_session"), "two in session", page)
        assert await tile_state(page, "langsa-01") == "in_session"
        await eventually(lambda: _kpi_is(page, "now", "2/12"), "now 2/12", page)
        load = await page.get_attribute('li.officer[data-officer="cso1"] .loadbar', "data-load")
        assert load == "2"
        await until(page, lambda s: ((s.get("totals") or {}).get("one_to_many_factor") or 0) > 0,
                    "figures caught up")
        await shot(page, "in-session")

        # A visit ends: the tile is idle again and today's figures count it.
        done = await officer.call("complete", {"session_id": first, "outcome": "claim_submitted"})
        assert done["ok"], done
        await eventually(lambda: _is(page, "langsa-01", "idle"), "booth 1 idle again", page)
        await until(
            page,
            lambda s: (s.get("totals") or {}).get("visits_completed") == 1,
            "one visit completed",
        )
        assert await kpi(page, "completed") == "1"
        assert await kpi(page, "factor") != "—"
        assert await page.locator("#chart-occupancy svg path").count() >= 2

        # A booth drops during its session: a critical alert names it.
        await booths[2].close()
        status = await until(
            page,
            lambda s: any(
                a["kind"] == "booth_offline"
                and a["booth_id"] == "langsa-02"
                and a["severity"] == "critical"
                for a in s.get("alerts", [])
            ),
            "alert for the dropped booth",
        )
        assert status["booths"]["langsa-02"] == "in_session"  # its grace period runs
        alert = page.locator('li.alert[data-kind="booth_offline"][data-severity="critical"]')
        assert "langsa-02" in (await alert.first.get_attribute("data-alert") or "")
        assert "KRITIS" in await alert.first.inner_text()
        await shot(page, "alert")

        # Out of service from the dashboard: the booth is not routed to any more.
        await page.click('article.booth[data-booth="langsa-03"] .tile-action')
        await page.check('#oos-form input[value="broken"]')
        await page.click("#oos-confirm")
        await eventually(lambda: _is(page, "langsa-03", "out_of_service"), "booth 3 oos", page)
        assert "Rusak" in await page.inner_text('article.booth[data-booth="langsa-03"]')
        refused = await booths[3].call("ready", {"ticket": "X-1"})
        assert refused["ok"] is False and refused["error"]["code"] == "conflict", refused
        assert await officer.quiet("offer", 0.5)
        await shot(page, "out-of-service")
        await page.click('article.booth[data-booth="langsa-03"] .tile-action[data-action="back"]')
        await eventually(lambda: _is(page, "langsa-03", "idle"), "booth 3 back", page)
        await serve(officer, booths[3], "A-003")

        # Pause the officer from the dashboard: no new offers until resumed.
        await page.click('li.officer[data-officer="cso1"] button[data-action="pause"]')
        await until(page, lambda s: s["officers"]["cso1"]["status"] == "paused", "cso1 paused")
        waiting = await booths[4].call("ready", {"ticket": "A-004"})
        assert waiting["ok"], waiting
        assert await officer.quiet("offer", 0.8)
        await eventually(lambda: _is(page, "langsa-04", "queued"), "booth 4 queued", page)
        assert await page.locator(f'#queue tr[data-session="{waiting["session_id"]}"]').count()
        await page.click('li.officer[data-officer="cso1"] button[data-action="resume"]')
        offer = await officer.next_matching("offer", session_id=waiting["session_id"])
        assert offer["booth"]["id"] == "langsa-04"

        # Today's visits as CSV, fetched with the token and saved from a blob.
        async with page.expect_download() as download_info:
            await page.click("#export-csv")
        download = await download_info.value
        assert download.suggested_filename.startswith("kunjungan-")
        csv_text = await asyncio.to_thread(Path(await download.path()).read_text)
        assert csv_text.splitlines()[0].startswith("session_id,branch,booth_id")
        assert first in csv_text and "claim_submitted" in csv_text

        # English on request, everything re-rendered.
        await page.click('.topbar [data-lang="en"]')
        assert "In session" in await page.inner_text("#legend")
        assert (
            await page.text_content('.kpi[data-kpi="completed"] .kpi-label') == "Visits completed"
        )
        await shot(page, "english")
        with contextlib.suppress(Exception):
            await page.click('.topbar [data-lang="id"]')

    assert not page.errors, page.errors


async def _is(page: Any, booth_id: str, wanted: str) -> bool:
    return await tile_state(page, booth_id) == wanted


async def _kpi_is(page: Any, key: str, wanted: str) -> bool:
    return await kpi(page, key) == wanted


async def test_ops_dashboard_switches_and_aggregates_branches(tmp_path: Path, page: Any) -> None:
    server = await start_server(two_branch_config(tmp_path))
    try:
        async with clients() as opened:
            officer = await Client.officer(server.url, "kcso1")
            booth = await Client.booth(server.url, "kuala-01", "demo-token-langsa-01")
            opened += [officer, booth]
            await serve(officer, booth, "K-001")
            await page.goto(server.url + "/ops/")
            await page.fill("#login-username", "ops")
            await page.fill("#login-password", "demo")
            await page.click("#login-submit")
            await until(page, lambda s: s.get("connected") and s.get("statsCount", 0) > 0,
                        "dashboard connected")
            assert await page.locator("section.branch").count() == 2
            assert await page.locator("article.booth").count() == 14
            await eventually(lambda: _kpi_is(page, "now", "1/14"), "aggregate 1/14", page)
            await page.select_option("#branch-select", "kuala")
            await until(page, lambda s: s["branch"] == "kuala", "kuala selected")
            assert await page.locator("section.branch").count() == 1
            assert await page.get_attribute("section.branch", "data-branch") == "kuala"
            await eventually(lambda: _kpi_is(page, "now", "1/2"), "kuala 1/2", page)
            names = await page.locator("li.officer").all_inner_texts()
            assert len(names) == 1 and "Petugas Kuala" in names[0]
            await shot(page, "branch-kuala")
            await page.select_option("#branch-select", "langsa")
            await eventually(lambda: _kpi_is(page, "now", "0/12"), "langsa 0/12", page)
            await page.select_option("#branch-select", "all")
            await eventually(lambda: _kpi_is(page, "now", "1/14"), "back to all", page)
        assert not page.errors, page.errors
    finally:
        await page.goto("about:blank")  # no reconnecting page while the server stops
        await server.stop()
