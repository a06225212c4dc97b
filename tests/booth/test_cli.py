from __future__ import annotations

from pathlib import Path

import pytest

from booth_client.cli import main, parse_args

BASE = ["--server", "http://127.0.0.1:9", "--booth-id", "langsa-01", "--token", "t"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--width", "0"], "--width"),
        (["--width", "641"], "--width"),
        (["--height", "5000"], "--height"),
        (["--fps", "0"], "--fps"),
        (["--fps", "120"], "--fps"),
        (["--camera", "-1"], "--camera"),
        (["--video", "/nonexistent/clip.mp4"], "--video"),
        (["--ticket", "x" * 33], "--ticket"),
        (["--ice-host", "banana"], "--ice-host"),
        (["--ice-host", "192.0.2.77"], "--ice-host"),
        (["--synthetic", "--camera", "0"], "not allowed with"),
        (["--fps", "fast"], "--fps"),
    ],
)
def test_bad_arguments_exit_2_naming_the_option(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*BASE, *extra]) == 2
    assert message in capsys.readouterr().err


def test_missing_required_and_bad_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--booth-id", "x", "--token", "t"]) == 2
    assert "--server" in capsys.readouterr().err
    assert main(["--server", "ftp://x", "--booth-id", "x", "--token", "t"]) == 2
    assert "--server" in capsys.readouterr().err
    assert main([*BASE[:3], " ", "--token", "t"]) == 2
    assert main(["--help"]) == 0


def test_good_arguments(tmp_path: Path) -> None:
    clip = tmp_path / "clip.avi"
    clip.write_bytes(b"x")
    args = parse_args(
        [
            *BASE,
            "--video",
            str(clip),
            "--width",
            "320",
            "--height",
            "240",
            "--fps",
            "15",
            "--headless",
            "--auto-ready",
            "--ticket",
            "A-3",
            "--ice-host",
            "127.0.0.1",
        ]
    )
    assert (args.width, args.height, args.fps, args.ice_host) == (320, 240, 15.0, "127.0.0.1")
    assert args.headless and args.auto_ready and args.ticket == "A-3"


def test_unreadable_video_exits_1(tmp_path: Path) -> None:
    clip = tmp_path / "clip.avi"
    clip.write_bytes(b"not a video")
    assert main([*BASE, "--video", str(clip), "--headless", "--no-microphone"]) == 1
