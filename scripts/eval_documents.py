#!/usr/bin/env python3
"""Evaluate the kiosk document detector against the naive baseline on synthetic scenes.

Both detectors see the same seeded 1280x720 scenes (positives with a document, negatives
without) in one run, on one OpenCV thread. Reported per detector: mean IoU over positives (a
miss counts 0), share of positives with IoU >= 0.9, false detections on negatives, and
milliseconds per frame with a document (median, mean, p95: the frames the time target speaks
of) and the mean over frames without one (where the detector also tries its finer search).
Time is the CPU time of the calling thread with OpenCV on one thread, i.e. the cost on one
core; on a busy shared machine wall time is longer and is shown too. `--by-tag` also gives the
mean IoU of ID-1 cards wholly in view (`card_in_frame`) and of those large enough for the
kiosk's capture guide to take (`card_capturable`, a tenth of the frame or more).

IoU choice: both quads are clipped to the frame before the IoU is taken
(`geometry.quad_iou_in_frame`). A document partly out of frame can only be judged on what the
camera saw; for documents fully in frame this equals the plain quad IoU.

    .venv/bin/python scripts/eval_documents.py [--positives 300] [--negatives 100] [--seed 0]
        [--width 1280 --height 720] [--by-tag] [--busy] [--photos] [--lens 0.05]

`--photos` sets every scene in front of a real photograph (`backdrops.real_photographs()`,
from scikit-image's wheel) instead of a drawn room or desk, and also runs both detectors on
the photographs themselves, which hold no document. `--lens K` sees every scene through a
wide webcam lens's barrel distortion of strength K (`synthetic._barrel`); the truth moves with
the lens, as a person marking the corners of such a photo would place them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from booth_client.documents import detect_document
from booth_client.documents.backdrops import PHOTOGRAPHS, real_photographs
from booth_client.documents.baseline import detect_document_baseline
from booth_client.documents.geometry import Quad, quad_iou_in_frame, signed_area
from booth_client.documents.guidance import GuidanceConfig
from booth_client.documents.synthetic import CARD_KINDS, scenes

Detector = Callable[[npt.NDArray[np.uint8]], Quad | None]


@dataclass
class Tally:
    ious: list[float] = field(default_factory=list)
    false_detections: int = 0
    negatives: int = 0
    # Per frame with a document (wall and CPU), and CPU per frame without one.
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    cpu_seconds_negative: list[float] = field(default_factory=list)
    by_tag: dict[str, list[float]] = field(default_factory=dict)

    def row(self, name: str) -> list[str]:
        cpu = sorted(s * 1000 for s in self.cpu_seconds)
        wall = sorted(s * 1000 for s in self.seconds)
        p95 = cpu[min(len(cpu) - 1, round(0.95 * (len(cpu) - 1)))]
        empty = (f"{statistics.fmean(self.cpu_seconds_negative) * 1000:.2f}"
                 if self.cpu_seconds_negative else "-")
        ious = np.array(self.ious)
        return [name, f"{ious.mean():.3f}", f"{(ious >= 0.9).mean():.1%}",
                f"{(ious == 0).mean():.1%}", f"{self.false_detections}/{self.negatives}",
                f"{statistics.median(cpu):.2f}", f"{statistics.fmean(cpu):.2f}", f"{p95:.2f}",
                empty, f"{statistics.median(wall):.2f}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--positives", type=int, default=300)
    parser.add_argument("--negatives", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--by-tag", action="store_true", help="also break mean IoU down by tag")
    parser.add_argument("--busy", action="store_true",
                        help="desk scenes also hold larger things (phone, notebook, book, "
                             "printed sheet, laptop; a card may lie on a sheet or notebook)")
    parser.add_argument("--photos", action="store_true",
                        help="real photographs (scikit-image's) behind the documents instead "
                             "of drawn rooms and desks; also the photographs alone as negatives")
    parser.add_argument("--lens", type=float, default=0.0,
                        help="see every scene through a wide lens's barrel distortion of this "
                             "strength (0.05: a line near the frame's top bows 10 px)")
    args = parser.parse_args(argv)
    if not 0.0 <= args.lens <= 0.5:
        parser.error("--lens takes a strength from 0 to 0.5")
    backdrops = real_photographs() if args.photos else ()

    cv2.setNumThreads(1)
    detectors: dict[str, Detector] = {
        "detect_document": detect_document,
        "baseline": detect_document_baseline,
    }
    tallies = {name: Tally() for name in detectors}
    min_fill_card = GuidanceConfig().min_fill_card
    console = Console(width=160)
    started = time.perf_counter()
    for scene in scenes(args.positives, args.negatives, args.seed, args.width, args.height,
                        busy=args.busy, backdrops=backdrops, lens=args.lens):
        for name, detect in detectors.items():
            tally = tallies[name]
            t0, c0 = time.perf_counter(), time.thread_time()
            quad = detect(scene.image)
            cpu, wall = time.thread_time() - c0, time.perf_counter() - t0
            if scene.quad is None:
                tally.cpu_seconds_negative.append(cpu)
                tally.negatives += 1
                tally.false_detections += quad is not None
                continue
            tally.cpu_seconds.append(cpu)
            tally.seconds.append(wall)
            iou = 0.0 if quad is None else quad_iou_in_frame(quad, scene.quad, args.width,
                                                              args.height)
            tally.ious.append(iou)
            # "in_frame": the document lies wholly inside the frame, as in the external check
            # on real photographs.
            framing: tuple[str, ...] = () if "out_of_frame" in scene.tags else ("in_frame",)
            # "card_in_frame": an ID-1 card wholly in frame, the population of that check;
            # "card_capturable": of those, the ones large enough for the kiosk's capture guide
            # to take (`GuidanceConfig.min_fill_card` of the frame; smaller, it asks the
            # participant to bring the card closer).
            if framing and scene.kind in CARD_KINDS:
                framing = (*framing, "card_in_frame")
                fill = abs(signed_area(scene.quad)) / (args.width * args.height)
                if fill >= min_fill_card:
                    framing = (*framing, "card_capturable")
            for tag in (*scene.tags, *framing, f"kind:{scene.kind}"):
                tally.by_tag.setdefault(tag, []).append(iou)

    busy = ", busy desks" if args.busy else ""
    photos = ", real photo backdrops" if args.photos else ""
    photos += f", lens {args.lens:g}" if args.lens else ""
    table = Table(title=f"Document detection on {args.positives} + {args.negatives} synthetic "
                        f"{args.width}x{args.height} scenes (seed {args.seed}{busy}{photos}, "
                        "1 thread)")
    for column in ("detector", "mean IoU", "IoU>=0.9", "missed", "false det. (neg.)",
                   "CPU ms median", "CPU ms mean", "CPU ms p95", "CPU ms mean (neg.)",
                   "wall ms median"):
        table.add_column(column, justify="right" if column != "detector" else "left",
                         no_wrap=True)
    for name, tally in tallies.items():
        table.add_row(*tally.row(name))
    console.print(table)
    if args.by_tag:
        tags = Table(title="mean IoU by scene tag")
        tags.add_column("tag")
        tags.add_column("n", justify="right")
        for name in detectors:
            tags.add_column(name, justify="right")
        first = next(iter(tallies.values()))
        for tag in sorted(first.by_tag):
            tags.add_row(tag, str(len(first.by_tag[tag])),
                         *(f"{np.mean(t.by_tag[tag]):.3f}" for t in tallies.values()))
        console.print(tags)
    if args.photos:
        # The photographs alone, as they are and scaled to the frame: no document in any.
        found = Table(title="False detections on the real photographs alone "
                            f"({len(backdrops)} photographs, own size and {args.width}x"
                            f"{args.height})")
        found.add_column("detector")
        found.add_column("false det.", justify="right")
        found.add_column("on", no_wrap=False)
        for name, detect in detectors.items():
            hits = [f"{label} {frame.shape[1]}x{frame.shape[0]}"
                    for label, photo in zip(PHOTOGRAPHS, backdrops, strict=True)
                    for frame in (photo, cv2.resize(photo, (args.width, args.height),
                                                    interpolation=cv2.INTER_CUBIC))
                    if detect(np.asarray(frame, np.uint8)) is not None]
            found.add_row(name, f"{len(hits)}/{2 * len(backdrops)}", ", ".join(hits) or "-")
        console.print(found)
    console.print(f"[dim]wall time {time.perf_counter() - started:.1f} s[/dim]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
