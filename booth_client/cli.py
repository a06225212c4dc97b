"""``lapak-asik booth …``: run one kiosk.

Exit codes: 0 after a clean stop (SIGTERM / SIGINT), 1 when the video source cannot be
opened, 2 for invalid arguments, 3 when the server refuses the booth's credentials.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path
from urllib.parse import urlparse

from booth_client import ice
from booth_client.capture import DocumentCapture
from booth_client.screen import KioskScreen
from booth_client.session import BoothAgent, BoothConfig, FatalConnectError
from booth_client.sources import (
    CameraSource,
    FrameSource,
    SourceError,
    SyntheticSource,
    VideoFileSource,
)

log = logging.getLogger("booth_client")

MAX_TICKET_LEN = 32


def build_parser(prog: str = "lapak-asik booth") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Run a LAPAK ASIK booth kiosk.")
    p.add_argument("--server", required=True, help="booth server URL, e.g. http://10.0.0.5:8080")
    p.add_argument("--booth-id", required=True, help="this booth's id, e.g. langsa-01")
    p.add_argument("--token", required=True, help="this booth's token")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--synthetic", action="store_true", help="a generated participant (no camera)")
    src.add_argument("--camera", type=int, metavar="N", help="OpenCV camera index (default 0)")
    src.add_argument("--video", metavar="FILE", help="a video file, played in a loop")
    p.add_argument("--width", type=int, default=640, help="video width (default 640)")
    p.add_argument("--height", type=int, default=480, help="video height (default 480)")
    p.add_argument("--fps", type=float, default=30.0, help="video frame rate (default 30)")
    p.add_argument("--headless", action="store_true", help="no kiosk window")
    p.add_argument(
        "--auto-ready",
        action="store_true",
        help="join the queue without the start button, and again after each session",
    )
    p.add_argument(
        "--ticket",
        help=f"queue ticket number (at most {MAX_TICKET_LEN} characters); joins the queue at once",
    )
    p.add_argument(
        "--ice-host",
        metavar="ADDR",
        help="gather ICE host candidates only from this local address, and pair them only with "
        "remote candidates on loopback if it is a loopback address, off loopback if not",
    )
    p.add_argument(
        "--no-microphone",
        action="store_true",
        help="send silence instead of the default input device",
    )
    p.add_argument("--no-speaker", action="store_true", help="do not play the officer's audio")
    p.add_argument(
        "--stats-interval",
        type=float,
        default=0.0,
        metavar="S",
        help="log sent/received frame rates every S seconds (0: never)",
    )
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return p


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse and validate; exits with status 2 and a message naming the option on error."""
    parser = build_parser()
    args = parser.parse_args(argv)
    url = urlparse(args.server)
    if url.scheme not in ("http", "https") or not url.netloc:
        parser.error(f"--server must be an http:// or https:// URL, got {args.server!r}")
    if not args.booth_id.strip() or len(args.booth_id) > 64:
        parser.error("--booth-id must be 1 to 64 characters")
    if not args.token.strip():
        parser.error("--token must not be empty")
    if not 16 <= args.width <= 3840 or args.width % 2:
        parser.error(f"--width must be an even number from 16 to 3840, got {args.width}")
    if not 16 <= args.height <= 2160 or args.height % 2:
        parser.error(f"--height must be an even number from 16 to 2160, got {args.height}")
    if not 1 <= args.fps <= 60:
        parser.error(f"--fps must be from 1 to 60, got {args.fps:g}")
    if args.stats_interval < 0:
        parser.error("--stats-interval must be >= 0")
    if args.camera is not None and args.camera < 0:
        parser.error(f"--camera must be a camera index >= 0, got {args.camera}")
    if args.video is not None and not Path(args.video).is_file():
        parser.error(f"--video file not found: {args.video}")
    if args.ticket is not None and not 1 <= len(args.ticket) <= MAX_TICKET_LEN:
        parser.error(f"--ticket must be 1 to {MAX_TICKET_LEN} characters")
    if args.ice_host is not None:
        try:
            args.ice_host = ice.validate_ice_host(args.ice_host)
        except ValueError as exc:
            parser.error(str(exc))
    return args


def make_source(args: argparse.Namespace) -> FrameSource:
    if args.synthetic:
        return SyntheticSource(args.width, args.height, args.fps, label=args.booth_id)
    if args.video is not None:
        return VideoFileSource(args.video, args.width, args.height)
    return CameraSource(args.camera or 0, args.width, args.height, args.fps)


async def run_booth(args: argparse.Namespace) -> int:
    source = make_source(args)
    config = BoothConfig(
        server_url=args.server,
        booth_id=args.booth_id,
        token=args.token,
        auto_ready=args.auto_ready,
        ticket=args.ticket,
        ice_host=args.ice_host,
        width=args.width,
        height=args.height,
        fps=args.fps,
        microphone=not args.no_microphone,
        speaker=not args.no_speaker,
        stats_interval_s=args.stats_interval,
    )
    screen = KioskScreen(headless=args.headless, size=(1280, 720))
    agent = BoothAgent(config, source, screen=screen)
    capture = DocumentCapture.for_agent(agent, screen)
    agent.on_document_requested = capture.start
    agent.on_document_reviewed = capture.reviewed
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await agent.run(stop)
    except FatalConnectError as exc:
        log.error("%s", exc)
        return 3
    finally:
        await capture.close()
    log.info("booth %s stopped", args.booth_id)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(
        level=getattr(logging, args.log_level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # aioice/aiortc are chatty at INFO.
    for noisy in ("aioice", "aiortc"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        return asyncio.run(run_booth(args))
    except SourceError as exc:
        log.error("%s", exc)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
