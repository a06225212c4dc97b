"""`lapak-asik`: serve, booth, demo, simulate, hash-secret."""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import signal
import ssl
import subprocess
import sys
from pathlib import Path

from booth_server.config import (
    AppConfig,
    ConfigError,
    default_config_path,
    demo_booth_token,
    load_config,
    production_problems,
)

log = logging.getLogger("lapak.cli")


def _load(path: str | None) -> AppConfig:
    return load_config(Path(path) if path else default_config_path())


def _serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the booth server")
    p.add_argument("--config", help="TOML config (default: config/default.toml)")
    p.add_argument("--host", help="listen address (default from config: 127.0.0.1)")
    p.add_argument("--port", type=int, help="listen port (default from config: 8080)")
    p.add_argument("--redis", metavar="URL", help="Redis URL: shared state for several processes")
    p.add_argument("--production", action="store_true",
                   help="refuse demo credentials and default secrets")
    p.add_argument("--log-level", default=os.environ.get("LAPAK_LOG_LEVEL", "INFO"))
    p.add_argument("--log-json", action="store_true", help="JSON log lines")


def _demo_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="server on the embedded default plus simulated booths")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--booths", type=int, default=6, help="simulated booths to start (0-12)")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--fps", type=int, default=15)


def _check_port(port: int | None) -> None:
    if port is not None and not 1 <= port <= 65535:
        raise SystemExit("error: --port: expected 1..65535")


def _ssl_context(cfg: AppConfig) -> ssl.SSLContext | None:
    if not cfg.server.tls_enabled:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    assert cfg.server.tls_cert is not None and cfg.server.tls_key is not None
    ctx.load_cert_chain(cfg.server.tls_cert, cfg.server.tls_key)
    return ctx


def serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from booth_server.logging_setup import configure_logging
    from booth_server.transport.app import create_app

    configure_logging(args.log_level, json=args.log_json)
    _check_port(args.port)
    try:
        cfg = load_config(
            Path(args.config) if args.config else default_config_path(),
            overrides={"server.host": args.host, "server.port": args.port,
                       "redis.url": args.redis},
        )
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    production = args.production or os.environ.get("LAPAK_ENV") == "production"
    if production:
        problems = production_problems(cfg)
        if problems:
            print("refusing to start in production:", file=sys.stderr)
            for problem in problems:
                print(f"  - {problem}", file=sys.stderr)
            return 2
    host = cfg.server.host
    port = cfg.server.port
    app = create_app(cfg)
    app.on_startup.append(_freeze_startup_heap)
    ctx = _ssl_context(cfg)
    scheme = "https" if ctx else "http"
    print(f"lapak-asik serving on {scheme}://{host}:{port}/ (console /console/, ops /ops/)",
          flush=True)
    web.run_app(app, host=host, port=port, ssl_context=ctx, print=None,
                handle_signals=True, access_log=None)
    return 0


# The cyclic collector, tuned for a server holding thousands of sockets: a young collection
# every 10,000 net allocations instead of 700, so far fewer in-flight tasks and futures are
# promoted and the full collections, whose pause every waiting event pays, come several times
# less often. Reference counting still frees everything acyclic at once.
GC_THRESHOLDS = (10_000, 20, 10)


async def _freeze_startup_heap(_app: object) -> None:
    """Take what start-up made (modules, configuration, branch templates: most of the heap)
    out of the cyclic collector's view, so a full collection scans only what the clients
    brought, and tune the collector for a long-running server (`GC_THRESHOLDS`)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def demo(args: argparse.Namespace) -> int:
    """The embedded default: one process, in-memory state, simulated booths in subprocesses."""
    _check_port(args.port)
    if not 0 <= args.booths <= 12:
        raise SystemExit("error: --booths: expected 0..12")
    cfg = _load(None)
    # Stopped by `kill`, a service manager or a closed terminal as by Ctrl+C: the simulated
    # booths and the server go with it instead of running on, orphaned, on the port.
    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, signal.default_int_handler)
    server = subprocess.Popen(
        [sys.executable, "-m", "booth_server", "serve", "--port", str(args.port)]
    )
    booths: list[subprocess.Popen[bytes]] = []
    url = f"http://127.0.0.1:{args.port}"
    try:
        _wait_http(f"{url}/api/health", server)
        for booth in cfg.booths[: args.booths]:
            booths.append(
                subprocess.Popen(
                    [sys.executable, "-m", "booth_server", "booth", "--server", url,
                     "--booth-id", booth.id, "--token", demo_booth_token(booth.id),
                     "--synthetic", "--headless", "--auto-ready", "--ice-host", "127.0.0.1",
                     "--width", str(args.width), "--height", str(args.height),
                     "--fps", str(args.fps)]
                )
            )
        print(
            "\nLAPAK ASIK demo (branch Langsa, in-memory state)\n"
            f"  officer console: {url}/console/   (cso1 / cso2 / cso3, password: demo)\n"
            f"  ops dashboard:   {url}/ops/       (ops, password: demo)\n"
            f"  simulated booths: {len(booths)} queued with --auto-ready\n"
            "  Ctrl+C stops everything.\n",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            server.wait()
    finally:
        for proc in [*booths, server]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*booths, server]:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            if proc.poll() is None:
                proc.kill()
    return 0


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited during start-up")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
            if response.status == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer {url} within {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Subcommands owned by their own modules take their own arguments.
    if argv and argv[0] == "booth":
        from booth_client.cli import main as booth_main

        return int(booth_main(argv[1:]))
    if argv and argv[0] == "simulate":
        from booth_server.simulate.cli import main as simulate_main

        return int(simulate_main(argv[1:]))
    if argv and argv[0] == "hash-secret":
        from booth_server.hash_secret import main as hash_main

        return hash_main(argv[1:])
    parser = argparse.ArgumentParser(prog="lapak-asik", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    _demo_parser(sub)
    sub.add_parser("booth", help="run a booth kiosk (see lapak-asik booth --help)")
    sub.add_parser("simulate", help="simulate a branch day (see lapak-asik simulate --help)")
    sub.add_parser("hash-secret", help="hash a password or booth token for the config")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "demo":
        return demo(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
