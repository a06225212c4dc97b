"""Find the most prominent document (card, page, bank book) in a camera frame.

The search runs on a copy of the frame shrunk to 320 px on the long side (440 px for a portrait
frame), where its pixel thresholds were set (and, failing that, on one of 480 px). Each stage
has its module, whose docstring tells the stage in detail:

1. Straight edges (`edges`, `lines`): Canny on the stronger of the grey and saturation
   gradients; edge pixels are grouped by gradient direction into connected runs, and the long,
   thin runs that do not bow like an arc (a head, a finger) on one line are merged into a line.
2. Edge profiles (`profiles`): along each line, where an edge of each polarity crosses it, so
   the support of any stretch of the line is two look-ups.
3. Quads (`quads`) from two pairs of roughly parallel lines (the frame border counts as a
   line), valued by their sides' support, their distance from a document's aspect and their
   size, less a penalty for a side crossed by its neighbours' edges (the line under a card's
   band, not its outline).
   Where three lines make a U and no line runs where its arms' edges end (a card's side lost
   among the texture's edges, cut short by fingers, or pale on a pale ground), the line
   through those ends closes it (`completion`).
4. Candidates (`candidates`): the best quads are valued again by how far they stand out from
   what lies around them (`surround.surround_distances`: the colours inside against those in
   a ring around), then by how well their sides separate two surfaces (a mean colour step
   across each side, not a line across one surface: mortar, print, seams); quads lying inside
   a larger document-shaped quad are dropped; the best few distinct quads make the shortlist.
   A quad crossing the frame (a card held close over its top and bottom) is kept only where
   both its sides separate two surfaces.
5. Of the shortlist, a quad that is another one with its shadow is tried after that one
   (`shadows`). Each is snapped to the edges of the full-resolution frame (`refine`), and the
   first that passes the final checks (`verify`: straight sides along edges with enough
   support and a step across each, a document's aspect; a card over a corner of the frame or
   held close across it is judged on the two sides it shows, `two_sided`, and a well-seen one
   over the frame's edge on the parts of its sides in view, where it stands out clearly; and
   `surround`: it stands out from what lies around it, as a quad on a brick wall does not) is
   returned, fitted to the centres of its edges (the checks judge the outer flank of each
   edge). Where the next candidate is a near copy of it that stands out more and passes too,
   that one is (`_clearer_sibling`: the card, not the card with a strip of what lies beside
   it); where it reaches out of view and a neighbour of one of its sides runs on past that
   side, a quad of the shortlist holding it that passes too is (`_beyond_band`: the card, not
   the card less its band); where it is wholly in view and a quad of the shortlist is it with a
   thin stripe along one side, across which its neighbours' edges run on, and passes too, that
   one is (`_with_stripe`: the card with the coloured stripe along its edge); where an ID-1
   card of the shortlist holds it and passes too, or a card reaching out of view that stands
   out clearly, the card is (`_card_around`: not its photo or code, crisper than the card's
   own outline); where it stands out only a little from what lies around it, a quad of the
   shortlist elsewhere that passes, stands out clearly more and shows print is
   (`_clearer_elsewhere`: the card, not a patch of the wall or the sky beside it); where its
   outline is seen weakly, a quad of the shortlist overlapping it whose outline is seen better
   and that stands out more is (`_better_seen`: the card, not the card with a strip of what
   lies beside it).
6. When nothing passes, the search is made again on a finer working frame (480 px) for a
   small document wholly in view (`find_document`); in a dim frame, the first search's
   candidates are then judged as the line search found them, unsnapped (`_as_found`). Where
   what passed may be a card's photo (small, not of a card's aspect), the finer search is
   made too, and an ID-1 card it finds holding the photo is taken instead.

The geometry of quads that the stages share (corner order, areas, aspects) is in `shape`.

The stages are numpy over a few hundred lines, pairs and quads at a time. The loops over every
edge pixel, station, probe or quad are compiled with numba: `runs.edge_runs`; the segments,
their grouping into lines, the corners and the lines kept in `lines`; where the lines meet, the
crossings, the stretch supports and the support past the sides' ends and beyond a band in
`profiles`; the U's, the runs of their arms and the pick of distinct ones in `completion`; the
plausibility in `quads`; the sampling grid across the sides, the edge flanks, the consensus and
the line fit in `refine`; the colour steps in `verify`; the sides shared and the colour test in
`shadows`; the colour bins, the ranking's surround distances and the final check's histograms
in `surround`; the gradient passes in `edges`; the corner order, the true aspect and the areas
in `shape` (and, outside this package, the clipping and the IoU of convex polygons in
`geometry`). Each is checked against its numpy definition by a test: there numpy's many small
arrays per frame cost more than the arithmetic. A kernel does numpy's arithmetic in numpy's
order (its sums too: pairwise where numpy sums a contiguous row, running where it does not), so
the detector's outputs are the same as the numpy form's. They are compiled on the first import
and cached beside their modules (`scripts/setup.sh` does it once); a kernel reads no constant
and calls no function of another module, which its cache would not see change: what it needs
from elsewhere is passed in.

On import the package has glibc keep freed memory for the next frame (`heap`): each frame's
search allocates a few MB of arrays, which the C library would otherwise hand back to the kernel
and fault in again on the next frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np
import numpy.typing as npt

from ..geometry import Quad, order_corners, polygon_iou
from .candidates import Candidates, line_candidates
from .edges import EDGE_FLOOR, FINE_LONG_SIDE, PORTRAIT_LONG_SIDE, Work, as_bgr, prepare
from .heap import keep_freed_memory
from .refine import accept_many, edge_samples, recentred, refine_many
from .shadows import is_shadow, shadow_order
from .shape import (
    CARD_ASPECT,
    F64,
    NEXT,
    PREV,
    areas,
    aspect_errors,
    depth_inside,
    in_frame,
    nan_as,
    order_many,
    side_normals,
)
from .surround import MIN_SURROUND_DISTANCE, stands_out, surround_distance
from .verify import (
    MIN_FINAL_SCORE,
    MIN_FINAL_SCORE_3,
    PARTLY_SEEN_SIDE,
    Straight,
    final_score,
    partly_seen,
    print_share,
    run_on_past,
    straight_sides,
    stretch_hits,
    two_sided,
    verified,
)

__all__ = ["Detection", "detect_document", "find_document"]

keep_freed_memory()


@dataclass(frozen=True)
class Detection:
    """A detected document with the evidence behind it (for guidance and debugging)."""

    quad: Quad
    score: float
    side_support: tuple[float, ...]
    # How far it stands out from what lies around it (`surround_distance`; None where too
    # little of it or around it is in view to say).
    surround: float | None = None


# The finer search takes only a document wholly in view whose outline is this well seen. (At
# 0.75, cards held with fingers over their sides that the finer search found and that passed
# every final check were refused; at 0.7, on 19 evaluation sets (5,700 scenes with a document,
# 1,900 without), 13 are found and none lost: mean IoU sum +10.6, false detections 98 -> 101;
# at 0.65, +11.1 and 102.)
FINE_MIN_SCORE: Final = 0.7


def find_document(image_bgr: npt.NDArray[np.uint8]) -> Detection | None:
    """Like `detect_document` but also returns the score, the support of each side and how
    far the document stands out from what lies around it.

    The score is the share of the sides' length where a straight edge runs right along the
    final quad (a side outside the frame counts half); the last is `surround_distance`, at
    least `surround.MIN_SURROUND_DISTANCE` (or None where too little is in view to say).

    When the search on the 320 px working frame finds nothing, it is made again on a finer one
    (`FINE_LONG_SIDE`, 480 px): a small document among real textures (a card at a fifth of a
    portrait frame's height on gravel, a desk or a jacket) has sides of 20-40 px at 320 px,
    too few for the texture not to break them up. That search serves small documents only, so
    it takes a document wholly in view with a firm outline (`FINE_MIN_SCORE`); a document
    reaching out of the frame is large and the first search's. It is also made where what the
    first search found may be a card's photo (`_maybe_a_photo`: small, not of an ID-1 card's
    aspect), and then takes only an ID-1 card holding it (`_card_holding`): the card's outline
    was lost among the lines of what lies around it at 320 px, as its photo's, crisp and
    small, was not.

    A portrait frame is searched at `PORTRAIT_LONG_SIDE` (440 px): a document is framed by the
    frame's width, its short side, so it is smaller there (a card across a 720x1280 frame's
    width spans 180 px at 320, against 320 px across a 1280x720 frame's).

    The candidates are snapped and judged on the frame itself up to `MAX_FIT_SIDE` px, and on
    its halving for a larger photo (a phone's 4032x3024): the same blur spans more pixels
    there, wider than the few pixels the snapping and the checks look across.

    In a dim frame, when nothing passes, the first search's candidates are judged once more
    as the line search found them (`_as_found`)."""
    image = as_bgr(image_bgr)
    # The halvings of the frame made for the first search serve the finer one too.
    halves: list[npt.NDArray[np.uint8]] = []
    h, w = image.shape[:2]
    work = prepare(image, PORTRAIT_LONG_SIDE, halves) if h > w else prepare(image, halves=halves)
    fit, halved = image, 0
    while max(fit.shape[:2]) > MAX_FIT_SIDE and halved < len(halves):
        fit, halved = halves[halved], halved + 1
    scale = 2 ** halved
    seen = _seen_from(work, scale)
    found, tried = _search(fit, seen)
    # (A frame already searched as it is has no finer working frame.)
    if work.factor > 1.0 and (found is None or _maybe_a_photo(seen, found)):
        fine, _ = _search(fit, _seen_from(prepare(image, FINE_LONG_SIDE, halves), scale),
                          whole_only=True)
        if fine is not None and small_and_firm(fine) and (
                found is None or _card_holding(seen, fine, found)):
            found = fine
    if found is None and work.dark:
        found = _as_found(fit, seen, tried)
    if found is None or scale == 1:
        return found
    return replace(found, quad=np.asarray((found.quad + 0.5) * scale - 0.5, np.float32))


# The largest frame the candidates are snapped and judged on (px on its long side).
MAX_FIT_SIDE: Final = 2560


# `_maybe_a_photo`: a document found filling at most this share of the working frame, whose
# aspect is not an ID-1 card's (beyond `_HOLDER_ASPECT`), may be the photo on a card (a KTP's
# photo is a tenth of the card, about 3:4).
_PHOTO_FILL: Final = 0.06


def _in_work(work: Work, found: Detection) -> F64:
    """The quad of `found` (1, 4, 2) in the working frame of `work`, ordered."""
    return order_many((np.asarray(found.quad, np.float64)[None] + 0.5) / work.factor - 0.5)


def _card_like(work: Work, quads: F64) -> npt.NDArray[np.bool_]:
    """Which of `quads` (N, 4, 2, ordered) in the working frame of `work` have an ID-1 card's
    aspect, perspective undone, within `_HOLDER_ASPECT`."""
    h, w = work.gray.shape
    return np.asarray(aspect_errors(quads, w, h, CARD_ASPECT) <= _HOLDER_ASPECT, np.bool_)


def _maybe_a_photo(work: Work, found: Detection) -> bool:
    """Whether `found` may be a card's photo rather than a document (`_PHOTO_FILL`)."""
    h, w = work.gray.shape
    quad = _in_work(work, found)
    return bool(areas(quad)[0] <= _PHOTO_FILL * h * w and not _card_like(work, quad)[0])


def _card_holding(work: Work, card: Detection, found: Detection) -> bool:
    """Whether `card`, of an ID-1 card's aspect, holds `found` as a card holds its photo
    (`_holding`)."""
    outer = _in_work(work, card)
    return bool(_holding(outer, _in_work(work, found))[0, 0] and _card_like(work, outer)[0])


def _seen_from(work: Work, scale: int) -> Work:
    """`work` for a search snapping to the frame shrunk `scale` times (1: the frame itself)."""
    return work if scale == 1 else replace(work, factor=work.factor / scale)


def small_and_firm(found: Detection) -> bool:
    """What the finer search may return: a document wholly in view (every side seen) with at
    least `FINE_MIN_SCORE` of its outline on straight edges."""
    return min(found.side_support) >= 0.0 and found.score >= FINE_MIN_SCORE


def _search(image: npt.NDArray[np.uint8], work: Work, whole_only: bool = False) -> tuple[
        Detection | None, F64]:
    """The document found in `image` by the search on its working frame `work`, or None; and
    the candidates tried (K, 4, 2), in order. `whole_only`: see `line_candidates`."""
    found = line_candidates(work, whole_only)
    if found is None:
        return None, np.zeros((0, 4, 2))
    # Candidates in order of value (a quad that is a card with its shadow goes after the
    # card). The first usually passes and is judged alone; when it does not, the rest are
    # refined and judged together (one pass over the image for all of them), and the first
    # of them in order that passes is taken.
    order = shadow_order(work, found)
    first = next(order, None)
    if first is None:
        return None, np.zeros((0, 4, 2))
    judge = _Judge(image, work, found)
    detection = judge.first_passing([first])
    rest: list[int] = []
    if detection is None:
        rest = list(order)
        if rest:
            detection = judge.first_passing(rest)
    else:
        detection = _clearer_sibling(judge, first, next(order, None), detection)
    if detection is not None:
        detection = _beyond_band(judge, detection)
        detection = _with_stripe(judge, detection)
        detection = _card_around(judge, detection)
        detection = _clearer_elsewhere(judge, detection)
        detection = _better_seen(judge, detection)
    # (Those judged as found in a dim frame are the line search's quads.)
    tried = [k for k in (first, *rest) if not found.completed[k]]
    return detection, found.quads[tried]


# `_card_around`: a card holding the document found is at least this many times its area and
# holds it to within this many px of its sides (a photo reaching to the card's edge). Wholly in
# view (corners this many px inside the working frame), it has an ID-1 card's aspect within this
# much (|log| of the ratio, perspective undone); reaching out of view, it stands out from what
# lies around it by this much (`surround_distance`; the cards of the evaluation's scenes that
# were taken so, 0.81-0.96), or, where the document found may be a card's photo, by as much as
# any document passing the final checks (five cards gained on 17 evaluation sets, 5,100 scenes
# with a document, none lost; mean IoU sum +3.2, false detections unchanged). A document found
# of an ID-1 card's aspect that stands out this clearly itself is a card, and no card reaching
# out of view is taken for it.
_HOLDER_AREA: Final = 4.0
_HOLDER_DEPTH: Final = -3.0
_HOLDER_MARGIN: Final = 2.0
_HOLDER_ASPECT: Final = 0.1
_REACHING_SURROUND: Final = 0.8
_PHOTO_HOLDER_SURROUND: Final = MIN_SURROUND_DISTANCE
_CARD_SURROUND: Final = 0.75
# A completed U holding the document found, wholly in view and of an ID-1 card's aspect, passes
# with this many sides seen whole (`_COMPLETED_SIDES`; `_STRONG_SIDES` elsewhere).
_HOLDER_STRONG_SIDES: Final = 1
# A card reaching out of view that holds the document found is judged on the parts of its sides
# in view even where its outline is not well seen (a side cut short by the frame's edge): what it
# holds is evidence too, and it must stand out clearly (`_REACHING_SURROUND`).
_REACHING_IN_VIEW: Final = True


def _holding(outers: F64, inners: F64) -> npt.NDArray[np.bool_]:
    """Which of `outers` (B, 4, 2, clockwise on screen) hold which of `inners` (N, 4, 2) as a
    card holds its photo: four times its area at least (`_HOLDER_AREA`) and around it to
    within `_HOLDER_DEPTH` px of its sides; (N, B)."""
    return np.asarray((areas(outers)[None, :] >= _HOLDER_AREA * areas(inners)[:, None])
                      & (depth_inside(inners, outers) >= _HOLDER_DEPTH), np.bool_)


def _card_around(judge: _Judge, detection: Detection) -> Detection:
    """`detection`, or a card of the shortlist that holds it and passes the final
    checks too: the document found was the card's photo, its code or its panel, whose outline
    is crisper than the card's against what lies around it (a pale card on a pale desk, on
    gravel). A card holds it four times its size at least (`_HOLDER_AREA`: a card's photo or
    code is a quarter of it or less); a quad less than that around the document found is the
    document with some of what lies around it (the lines of a wall, a keyboard, a cup).

    An ID-1 card wholly in view holds it (a U the line search closed, `completion`, with one
    side seen whole, `_HOLDER_STRONG_SIDES`, not two: what it holds is evidence too); failing
    that, a card reaching out of view that stands out clearly from what lies around it
    (`_REACHING_SURROUND`; of those, the one that stands out the most; judged on the parts of
    its sides in view, `_REACHING_IN_VIEW`), whose aspect cannot be told: a quad of another
    aspect or crossing the frame, standing out less, is the card with the jacket below it, or a
    patch of a wall. Where the document found may be a card's photo (`_maybe_a_photo`: small,
    not of a card's aspect), such a card need only pass the final checks: a large card held
    with fingers over a side, its outline dim or cut, stands out less than its crisp photo,
    and the line search closed it on the frame's edge. The document found is kept where it has
    an ID-1 card's aspect and stands out clearly itself (`_CARD_SURROUND`): a card lying on a
    sheet of paper that reaches out of view."""
    work, found = judge.work, judge.found
    h, w = work.gray.shape
    quad = _in_work(work, detection)
    # (The shortlist's quads are ordered, `Candidates`.)
    holders = found.quads
    around = _holding(holders, quad)[0]
    whole = in_frame(holders, w, h, _HOLDER_MARGIN).all(axis=1)
    card_like = _card_like(work, holders)
    for k in np.flatnonzero(around & whole & card_like).tolist():
        card = judge.first_passing([k])
        if card is None and found.completed[k]:
            # (A completed U is taken here with fewer of its sides seen whole.)
            card = judge.leniently(k, strong_sides=_HOLDER_STRONG_SIDES)
        if card is not None:
            return card
    if _card_like(work, quad)[0] and (detection.surround or 0.0) >= _CARD_SURROUND:
        return detection
    # (Where what was found may be a card's photo, the card holding it is taken on the final
    # checks alone.)
    least = _PHOTO_HOLDER_SURROUND if _maybe_a_photo(work, detection) else _REACHING_SURROUND
    best = detection
    for k in np.flatnonzero(around & ~whole).tolist():
        card = judge.first_passing([k])
        if card is None and _REACHING_IN_VIEW:
            card = judge.leniently(k, in_view=True)
        if card is not None and card.surround is not None and card.surround >= least:
            best, least = card, card.surround
    return best


# `_beyond_band`: a document found with a side out of view, one of whose sides in view either
# neighbour's edges run on past (`verify.run_on_past`, this much), gives way to the first quad
# of the shortlist that holds it (its corners at most this many px outside), is larger by this
# much at least (the document's IoU with it at most this much, and this much at least: the same
# document), passes the final checks and is seen about as well (its final score less by this
# much at most). On 13 evaluation sets (3,900 scenes with a document, 1,300 without): 36 cards
# found whole, 3 lost in part, mean IoU sum +6.1, false detections unchanged.
_BEYOND_PAST: Final = 0.6
_BEYOND_DEPTH: Final = -2.0
_BEYOND_MAX_IOU: Final = 0.925
_BEYOND_MIN_IOU: Final = 0.5
_BEYOND_SCORE_DROP: Final = 0.08


def _beyond_band(judge: _Judge, detection: Detection) -> Detection:
    """`detection`, or where it has a side out of view and a side in view that a
    neighbour's edges run on past (`_BEYOND_PAST`), a larger quad of the shortlist holding it
    (`_BEYOND_DEPTH`, `_BEYOND_MAX_IOU`, `_BEYOND_MIN_IOU`) that passes the final checks
    about as well seen (`_BEYOND_SCORE_DROP`). What was found is a card reaching out of view
    less its band (the coloured strip across a KPJ card's or an NPWP card's end), the line
    under the band taken for its side. The line search tells such a line where both
    neighbours of a side run on past it (`quads.banded`), and one neighbour here is the
    frame's edge."""
    work, found = judge.work, judge.found
    seen = np.asarray(detection.side_support) >= 0.0
    if seen.all():
        return detection
    quad = _in_work(work, detection)
    if not (seen & (run_on_past(work, quad[0]) >= _BEYOND_PAST)).any():
        return detection
    holders = found.quads
    return _first_as_well_seen(judge, detection, (
        k for k in np.flatnonzero(depth_inside(quad, holders)[0] >= _BEYOND_DEPTH).tolist()
        if _BEYOND_MIN_IOU <= polygon_iou(holders[k], quad[0]) <= _BEYOND_MAX_IOU))


def _first_as_well_seen(judge: _Judge, detection: Detection,
                        which: Iterable[int]) -> Detection:
    """Of the shortlisted quads `which` (indices into the shortlist, in order; taken one at a
    time, so a lazy filter runs only as far as needed), the first that passes the final
    checks about as well seen as `detection` (its final score less by `_BEYOND_SCORE_DROP` at
    most); `detection` where none does. `_beyond_band` and `_with_stripe` take the card so."""
    for k in which:
        card = judge.first_passing([k])
        if card is not None and card.score >= detection.score - _BEYOND_SCORE_DROP:
            return card
    return detection


# `_with_stripe`: a document found wholly in view gives way to the first quad of the shortlist
# that is it with a stripe along one of its sides: the ends of its other three sides within this
# many px of the document's, those of the fourth further out by this share of the shorter of
# its neighbours, at least and at most (a stripe of 2.2-4.6 mm along an ID-1 card's long side;
# the generator's KPJ cards have one of 3.2 mm), both neighbours' edges crossing their lines
# over the stripe at this share of its stations at least (`verify.stretch_hits`), not the
# document with its shadow (`shadows.is_shadow`), and passing the final checks with its final
# score less by `_BEYOND_SCORE_DROP` at most. On 14 evaluation sets (4,200 scenes with a
# document, 1,400 without): 64 cards found whole and none lost, mean IoU sum +3.4, false
# detections unchanged; on four sets not used to set it, 18 found whole and one lost by 0.03
# (+1.0). (With the other sides within 1.5 px: 53 found, +2.9; with stripes up to 0.12 of the
# neighbour as well: 56 found and 3 lost.)
_STRIPE_SAME: Final = 2.5
_STRIPE_LEAST: Final = 0.04
_STRIPE_MOST: Final = 0.085
_STRIPE_HITS: Final = 0.6


def _with_stripe(judge: _Judge, detection: Detection) -> Detection:
    """`detection` wholly in view, or the first quad of the shortlist that is it with a thin
    stripe along one side (`_STRIPE_SAME`, `_STRIPE_LEAST`, `_STRIPE_MOST`) across which its
    neighbours' edges run on (`_STRIPE_HITS`), not its shadow, and that passes the final checks
    about as well seen (`_BEYOND_SCORE_DROP`). What was found was a card less the coloured stripe
    along its edge (a KPJ card's green one), the line between the stripe and the card's field
    taken for its side: the card's sides run on along the stripe to its outline. The line
    search does not tell such a line by its neighbours running on past it (`quads.banded`): they
    run on for less than it looks at. A strip of what lies beside a card has no edge of the
    card's sides along it."""
    if min(detection.side_support) < 0.0:
        return detection
    work, found = judge.work, judge.found
    quad = _in_work(work, detection)[0]
    holders = found.quads
    sides, normal = side_normals(quad)
    length = np.hypot(sides[:, 0], sides[:, 1])
    shorter = np.minimum(length[PREV], length[NEXT])
    # How far the two ends of each side of each quad of the shortlist (K, 4, 2) lie outward of
    # the line of the document's same side (px).
    out = np.stack([((holders - quad) * normal).sum(axis=2),
                    ((holders[:, NEXT] - quad) * normal).sum(axis=2)], axis=2)
    same = np.abs(out).max(axis=2) <= _STRIPE_SAME
    stripe = ((out.min(axis=2) >= _STRIPE_LEAST * shorter)
              & (out.max(axis=2) <= _STRIPE_MOST * shorter)
              & (same.sum(axis=1, keepdims=True) - same == 3))

    def across(k: int, side: int) -> bool:
        """Whether the neighbours' edges cross the stripe along `side` of quad `k`, and the
        stripe is not the document's shadow."""
        ends = [side, NEXT[side]]
        return bool(stretch_hits(work, quad[ends], holders[k][ends]).min() >= _STRIPE_HITS
                    and not is_shadow(work, holders[k], quad))

    return _first_as_well_seen(judge, detection, (
        int(k) for k, side in zip(*np.nonzero(stripe), strict=True) if across(int(k), int(side))))


# `_clearer_elsewhere`: a document found that stands out from what lies around it by less than
# this (`surround_distance`; of the documents found right, nine in ten do by 0.75 or more) gives
# way to a quad of the shortlist that overlaps it by at most this much (IoU), passes the final
# checks, stands out by this much more and shows this much print (`print_share`: of the
# documents found right in nine evaluation sets, 98 in 100 show 0.036 or more; the plain
# notebooks of busy desks taken so, 0.023 and 0.031).
_WEAK_SURROUND: Final = 0.7
_ELSEWHERE_OVERLAP: Final = 0.5
_ELSEWHERE_MARGIN: Final = 0.15
_ELSEWHERE_PRINT: Final = 0.035


def _clearer_elsewhere(judge: _Judge, detection: Detection) -> Detection:
    """`detection`, or where it stands out only a little from what lies around it
    (`_WEAK_SURROUND`), the quad of the shortlist that is not it and stands out the
    most, by `_ELSEWHERE_MARGIN` more, among those passing the final checks and showing print
    (`_ELSEWHERE_PRINT`: not a plain notebook or phone), and not a part of it (a quad it
    holds as a card holds its photo: a dark card on dark gravel stands out less than its
    photo does from the card). What was found was a patch of what lies behind the document
    (the sky by a tower, a panel of a wall, a patch on a jacket) or a part of it (the field of
    a page below its band); the document differs from its ground clearly."""
    if detection.surround is None or detection.surround >= _WEAK_SURROUND:
        return detection
    work, found = judge.work, judge.found
    taken = np.asarray(detection.quad, np.float64)
    small = (taken + 0.5) / work.factor - 0.5
    best, least = detection, detection.surround + _ELSEWHERE_MARGIN
    # (What it holds as a card holds its photo, `_card_around`, is a part of it.)
    part = _holding(order_many(small[None]), found.quads)[:, 0]
    for k in range(len(found.quads)):
        if part[k] or polygon_iou(found.quads[k], small) > _ELSEWHERE_OVERLAP:
            continue
        other = judge.first_passing([k])
        if (other is None or other.surround is None or other.surround < least
                or polygon_iou(np.asarray(other.quad, np.float64), taken) > _ELSEWHERE_OVERLAP
                or print_share(work, (np.asarray(other.quad, np.float64) + 0.5) / work.factor
                               - 0.5) < _ELSEWHERE_PRINT):
            continue
        best, least = other, other.surround
    return best


# `_better_seen`: a document found whose outline is seen weakly (its final score below this)
# gives way to the first quad of the shortlist that overlaps it this much at least (IoU), passes
# the final checks with its final score higher by this much at least and stands out from what
# lies around it by this much more (`surround_distance`). On 14 evaluation sets (4,200 scenes
# with a document, 1,400 without): 11 cards found better (0.67-0.96 -> 0.84-1.0) and none lost,
# mean IoU sum +1.37, false detections unchanged; on four sets not used to set it, no scene
# changes. (Below 0.85: 14 found and 3 lost, +1.27; a score higher by 0.15: 7 found, +0.85;
# standing out by 0.1 more: 4 found, +0.79.)
_BETTER_WEAK: Final = 0.8
_BETTER_OVERLAP: Final = 0.6
_BETTER_SCORE: Final = 0.1
_BETTER_SURROUND: Final = 0.05


def _better_seen(judge: _Judge, detection: Detection) -> Detection:
    """`detection`, or where its outline is seen weakly (`_BETTER_WEAK`), the first quad of
    the shortlist overlapping it (`_BETTER_OVERLAP`) that passes the final checks with its
    outline seen better (`_BETTER_SCORE`) and standing out more (`_BETTER_SURROUND`). What was
    found was the card with a strip of what lies beside it, one side on a line past the card's
    (the edge of the fingers over it, of a jacket below it, of the frame); the card's own
    outline is seen better, and the card differs more from what lies around it than card and
    strip do. (`_clearer_sibling` takes such a card only where it is the next candidate and
    valued about as much.)"""
    if detection.score >= _BETTER_WEAK or detection.surround is None:
        return detection
    work, found = judge.work, judge.found
    quad = _in_work(work, detection)[0]
    for k in range(len(found.quads)):
        if polygon_iou(found.quads[k], quad) < _BETTER_OVERLAP:
            continue
        other = judge.first_passing([k])
        if (other is not None and other.surround is not None
                and other.score >= detection.score + _BETTER_SCORE
                and other.surround >= detection.surround + _BETTER_SURROUND):
            return other
    return detection


# `_clearer_sibling`: the next candidate is a near copy of the first when it is valued within
# this much of it and overlaps it this much (IoU); it is taken instead when it stands out from
# its surroundings by this much more.
_SIBLING_VALUE: Final = 0.05
_SIBLING_OVERLAP: Final = 0.6
_SIBLING_MARGIN: Final = 0.05


def _clearer_sibling(judge: _Judge, first: int, then: int | None,
                     detection: Detection) -> Detection:
    """`detection` (of candidate `first`), or the next candidate `then` where that is a near
    copy of it that stands out more from what lies around it (`surround_distance`) and passes
    the final checks too. The line search often offers a card with a strip of what lies
    beside it, or less a strip of its own, next to the card: the card has the document all
    inside and none of it around, the others mix the two."""
    work, found = judge.work, judge.found
    if then is None or found.value[first] - found.value[then] > _SIBLING_VALUE or polygon_iou(
            found.quads[first], found.quads[then]) < _SIBLING_OVERLAP:
        return detection
    taken = detection.surround
    if taken is None:
        return detection
    other = surround_distance(work, found.quads[then])
    if other is None or other < taken + _SIBLING_MARGIN:
        return detection
    # (A card with its shadow stands out the more for the dark strip it takes in: the card
    # goes first, `shadow_order`.)
    if is_shadow(work, found.quads[then], found.quads[first]):
        return detection
    sibling = judge.first_passing([then])
    if sibling is None or sibling.surround is None:
        return detection
    return sibling if sibling.surround >= taken + _SIBLING_MARGIN else detection


# A document taken as the line search found it fills at least this share of the frame.
_AS_FOUND_MIN_FILL: Final = 0.10


def _as_found(image: npt.NDArray[np.uint8], work: Work, candidates: F64) -> Detection | None:
    """Of `candidates` (K, 4, 2) in the shrunk frame of a dim frame, in order, the first that
    passes the final checks as the line search found it, not snapped.

    In a dim frame the camera's noise is strong against a soft outline (a card's edge
    defocused in a dark room), and the snapping, which follows the strongest gradient near
    each side, is pulled off it: the quad it gives fails the checks, while the lines the
    search fitted to hundreds of edge pixels lie on the outline. Only a document wholly in view
    and filling `_AS_FOUND_MIN_FILL` of the frame (as close as the guide asks a card to be) is
    taken so: the smaller quads a dim frame offers are stones, mortar and shadows."""
    h, w = work.gray.shape
    score, support = final_score(work, candidates)
    eligible = ((areas(candidates) >= _AS_FOUND_MIN_FILL * h * w)
                & ~np.isnan(support).any(axis=1) & _well_seen(work, candidates, score, support))
    for k in np.flatnonzero(eligible):
        if not verified(work, candidates[k], support[k]):
            continue
        quad = (candidates[k] + 0.5) * work.factor - 0.5
        if straight_sides(image, quad, None, work.strengths[0] > EDGE_FLOOR,
                          in_view=False) is None:
            continue
        surround = surround_distance(work, candidates[k])
        if stands_out(surround):
            return Detection(order_corners(quad), float(score[k]),
                             tuple(float(v) for v in support[k]), surround)
    return None


# A completed U (`completion`) is taken only with at least `_STRONG_SIDES` sides this well
# supported: its three lines are sides the line search found, and it is their edges that
# closed it. The quads a textured scene closes so run along edges that are each seen only in
# part.
_COMPLETED_SIDES: Final = 0.9
_STRONG_SIDES: Final = 2


# A quad whose sides run out of the frame, not straight along their whole length there, is
# judged on the parts of them in view (`straight_sides`) only where its outline is this well
# seen (its final score, and the support of each side in view), and then taken only where it
# stands out this clearly from what lies around it (`surround_distance`) and shows print
# inside (`print_share`). A quad with a second side seen only in good part
# (`verify.partly_seen`, `verify.PARTLY_SEEN_SIDE`) must stand out as clearly
# (`_PARTLY_SURROUND`): the cards held with fingers over two sides that it admits stand out by
# 0.82-0.87 in the evaluation's scenes, the quads of scenes without a document that it would
# admit by 0.52-0.70. A card over the frame's edge is seen crisply up to it, with all of
# the card inside and none of it around (0.77-0.93 in the scenes of the tests), and its text,
# photo or code inside (0.046-0.12 of the pixels inside are edges). The large quads that the
# lines of a room or a desk make beyond the frame are seen in part; a quad taking in a document
# and a strip beside it mixes the two (0.68-0.72); a flag's stripe is plain (0.0).
_FIRM_SCORE: Final = 0.8
_FIRM_SIDE: Final = 0.75
_FIRM_SURROUND: Final = 0.75
_FIRM_PRINT: Final = 0.02
_PARTLY_SURROUND: Final = 0.75


@dataclass
class _Judge:
    """The final checks on the shortlist `found` of one search of `image` on its working frame
    `work`, each quad judged once: the first pass and the selection rules after it
    (`_clearer_sibling`, `_card_around`, `_clearer_elsewhere`) ask about the same quads."""

    image: npt.NDArray[np.uint8]
    work: Work
    found: Candidates
    # Per shortlisted quad judged so far, the detection it gives, or None where it fails.
    verdicts: dict[int, Detection | None] = field(default_factory=dict)

    def first_passing(self, which: list[int]) -> Detection | None:
        """Of the shortlisted quads `which` (indices into `found`), in order, the first that
        passes the final checks (`_first_passing`); each run of those not judged yet is
        judged together."""
        i = 0
        while i < len(which):
            if which[i] in self.verdicts:
                known = self.verdicts[which[i]]
                if known is not None:
                    return known
                i += 1
                continue
            j = i + 1
            while j < len(which) and which[j] not in self.verdicts:
                j += 1
            batch = which[i:j]
            hit = _first_passing(self.image, self.work, self.found.quads[batch],
                                 self.found.completed[batch])
            failed = len(batch) if hit is None else hit[0]
            self.verdicts.update(dict.fromkeys(batch[:failed]))
            if hit is not None:
                self.verdicts[batch[failed]] = hit[1]
                return hit[1]
            i = j
        return None

    def leniently(self, k: int, strong_sides: int = _STRONG_SIDES,
                  in_view: bool = False) -> Detection | None:
        """The shortlisted quad `k` judged once more with `_first_passing`'s leniencies
        (`strong_sides`, `in_view`), for a card holding the document found."""
        hit = _first_passing(self.image, self.work, self.found.quads[[k]],
                             self.found.completed[[k]], strong_sides, in_view)
        return None if hit is None else hit[1]


def _first_passing(image: npt.NDArray[np.uint8], work: Work, candidates: F64,
                   completed: npt.NDArray[np.bool_], strong_sides: int = _STRONG_SIDES,
                   in_view: bool = False) -> tuple[int, Detection] | None:
    """Of `candidates` (K, 4, 2) in the shrunk frame, in order, the first that still passes
    the final checks once snapped to the edges of the full-resolution `image` (its position
    among them, and the detection); those `completed` (K,) must also show `strong_sides`
    sides supported `_COMPLETED_SIDES`. Each is judged on its own:
    together, they are snapped in one pass. `in_view`: a quad whose sides run out of the frame
    may be judged on the parts of them in view even where its outline is not well seen
    (`_FIRM_SCORE`, `_FIRM_SIDE`)."""
    full = (candidates + 0.5) * work.factor - 0.5
    refined = order_many(refine_many(image, full, 1.5 * work.factor + 2.0, 1.5)[0])
    full = np.where(accept_many(full, refined)[:, None, None], refined, full)
    # The edges sampled close around the snapped quads serve the final, tighter fit and the
    # straightness check, and their peaks the fit of the quad returned.
    pts, strength, peaks = edge_samples(image, full, 3.0)
    snapped = full
    raw, _, inlier = refine_many(image, full, 3.0, 1.0, (pts, strength))
    refined = order_many(raw)
    fitted = accept_many(full, refined)
    full = np.where(fitted[:, None, None], refined, full)
    small = (full + 0.5) / work.factor - 0.5
    score, support = final_score(work, small)
    well_seen = _well_seen(work, small, score, support)
    strong = (nan_as(support, 0.0) >= _COMPLETED_SIDES).sum(axis=1) >= strong_sides
    firm = (score >= _FIRM_SCORE) & (nan_as(support, 1.0) >= _FIRM_SIDE).all(axis=1)
    # In a frame of little contrast (edge threshold at its floor) noise moves the edge peaks
    # about: only the first test of `straight_sides` is made there.
    curves = work.strengths[0] > EDGE_FLOOR
    for k in range(len(full)):
        if not well_seen[k] or (completed[k] and not strong[k]):
            continue
        # A second side seen only in good part (fingers over two sides of a card held up)
        # passes where the quad stands out clearly (below).
        partly = partly_seen(support[k])
        if not verified(work, small[k], support[k], PARTLY_SEEN_SIDE):
            continue
        near = (pts[4 * k:4 * k + 4], strength[4 * k:4 * k + 4])
        # (Only a well-seen quad may pass on the parts of its sides in view.)
        straight = straight_sides(image, snapped[k], near, curves,
                                  in_view=bool(firm[k]) or in_view)
        if straight is None:
            continue
        quad = full[k]
        if fitted[k]:
            # Fitted to the centres of the same edges (the checks judge their outer flank).
            centred = order_many(recentred(raw[k], peaks[4 * k:4 * k + 4],
                                           inlier[4 * k:4 * k + 4])[None])
            if accept_many(full[k][None], centred)[0]:
                quad = centred[0]
        surround = surround_distance(work, (quad + 0.5) / work.factor - 0.5)
        if not stands_out(surround) or (partly and (surround or 0.0) < _PARTLY_SURROUND):
            continue
        # Judged on the parts of its sides in view: it must stand out clearly and show print.
        if straight is Straight.IN_VIEW and ((surround or 0.0) < _FIRM_SURROUND
                                             or print_share(work, small[k]) < _FIRM_PRINT):
            continue
        return k, Detection(order_corners(quad), float(score[k]),
                            tuple(float(v) for v in nan_as(support[k], -1.0)),
                            surround)
    return None


def _well_seen(work: Work, quads: F64, score: F64, support: F64) -> npt.NDArray[np.bool_]:
    """Which quads (N, 4, 2) in the shrunk frame, with final `score` and side `support` (N, 4),
    pass the first checks: three sides must be crisp; the fourth may be faint (a card's band
    against a background of its colour) when the line search found it where the card's sides
    end. A card showing only two sides (`verify.two_sided`) must show both crisp, and a quad
    crossing the frame must separate two surfaces."""
    on_two, separates = two_sided(work, quads, support)
    best3 = -np.sort(-nan_as(support, 0.5), axis=1)[:, :3].mean(axis=1)
    # (A side out of view counts half among the three, so a card showing two sides is judged
    # on those two instead.)
    crisp = np.where(on_two, nan_as(support, 1.0).min(axis=1), best3)
    return np.asarray((crisp >= MIN_FINAL_SCORE_3) & (score >= MIN_FINAL_SCORE) & separates,
                      np.bool_)


def detect_document(image_bgr: npt.NDArray[np.uint8]) -> Quad | None:
    """Corners of the most prominent document, or None when there is none.

    Returns a float32 array of shape (4, 2) ordered top-left, top-right, bottom-right,
    bottom-left, in pixel coordinates of `image_bgr`. Corners of a document partly outside the
    frame may lie outside the image.

    `image_bgr` is 8-bit (uint8) BGR, H x W x 3; grey (H x W) and BGRA (H x W x 4) frames are
    taken too. Any other array raises a ValueError that says what it was (`edges.as_bgr`).
    """
    found = find_document(image_bgr)
    return None if found is None else found.quad
