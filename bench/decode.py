"""Benchmark of the kiosk's QR decoders (``kiosk.decoders``) on webcam-like frames.

What is measured: every decoder that loads here, on the same frames, in the
same process, after a warm-up, in rounds whose decoder order rotates (so
that drift of a shared machine hits them all alike). The frames come from
``tests/kiosk/frames.py``, at 1280x720 and 1920x1080, in four classes per
resolution:

* ``synthetic badge``: a badge worn on a torso in a cluttered room, its code
  1/12, 1/9, 1/6, 1/4 or 1/2 of the frame's height, at about 0/30/90/180
  degrees (one frame in five shows two badges);
* ``photo badge``: the same sizes as a laptop webcam at a door sees them
  (tilted, turned, slightly out of focus, more so for close-ups, unevenly
  lit, noisy, JPEG);
* ``synthetic empty`` and ``photo empty``: the same rooms, nobody's badge.

Each decoder gets the BGR frame, as a webcam gives it: grayscale conversion
is part of its time. Printed per decoder and frame class: the median and p95
milliseconds per frame, the detection rate (codes read with the exact
payload / codes shown) and false detections on empty frames; then the ratios
to pyzbar (speed-up = pyzbar's median / the decoder's median, detection rate
difference); then the default decoder's "decode + decision" time on 1080p
frames (``shared.badge.parse_badge`` and ``shared.decision.decide`` on every
code read, with facts built here) against the goals:

* median decode + decision under 10 ms on a 1080p frame with a badge;
* at least 4x faster than pyzbar (median over all frames);
* a detection rate no lower than pyzbar's.

``--variants`` adds tuned configurations (downscaling with ``max_side``,
zxing-cpp options, OpenCV's classic detector) to the tables. Run from the
repository root::

    .venv/bin/python bench/decode.py
    .venv/bin/python bench/decode.py --frames 4 --variants

Exit status 0 whatever the goals say (a benchmark, not a test); non-zero on
errors (no decoder loads, a bad argument) or Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nacl.signing

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bench.common import load_average, mark, percentile, print_table
from kiosk import decoders
from kiosk.decoders import Decoder, DecoderUnavailable
from shared.badge import Badge, parse_badge
from shared.decision import PersonFacts, Place, Verdict, decide
from shared.signing import Keyring
from tests.kiosk import frames
from tests.kiosk.frames import RES_720P, RES_1080P, Frame
from tests.kiosk.world import PUBLIC_KEY

GOAL_MS = 10.0
GOAL_SPEEDUP = 4.0
BASELINE = decoders.PYZBAR
RESOLUTIONS = {"720p": RES_720P, "1080p": RES_1080P}
KINDS = ("synthetic badge", "photo badge", "synthetic empty", "photo empty")
#: the code's side, as a fraction of the frame's height: from a badge at the far
#: end of what the camera can read to one held right in front of it
SIZES = (1 / 12, 1 / 9, 1 / 6, 1 / 4, 1 / 2)
ROTATIONS = (0, 30, 90, 180)
#: photographed badges this large (fraction of the height) are close-ups,
#: blurred with this sigma (pixels at 720p) instead of the usual
CLOSE_UP = 0.4
CLOSE_UP_BLUR = 3.0

#: extra configurations for --variants: (label, decoder name, options)
VARIANTS: list[tuple[str, str, dict[str, Any]]] = [
    ("zxing-cpp max_side=960", decoders.ZXING, {"max_side": 960}),
    ("zxing-cpp max_side=1280", decoders.ZXING, {"max_side": 1280}),
    ("zxing-cpp no invert/rotate", decoders.ZXING, {"try_invert": False, "try_rotate": False}),
    ("zxing-cpp no downscale", decoders.ZXING, {"try_downscale": False}),
    ("zxing-cpp GlobalHistogram", decoders.ZXING, {"binarizer": "GlobalHistogram"}),
    ("pyzbar max_side=960", decoders.PYZBAR, {"max_side": 960}),
    ("opencv classic", decoders.OPENCV, {"aruco": False}),
    ("opencv max_side=960", decoders.OPENCV, {"max_side": 960}),
]


@dataclass
class Sample:
    """A frame of the set, with its resolution label and class."""

    res: str
    kind: str
    frame: Frame

    @property
    def has_badge(self) -> bool:
        return bool(self.frame.codes)


@dataclass
class Runner:
    """One decoder configuration under test and what it did."""

    label: str
    decoder: Decoder
    #: seconds per call, by frame index
    times: dict[int, list[float]] = field(default_factory=dict)
    #: codes read with the exact payload, by frame index
    hits: dict[int, int] = field(default_factory=dict)
    #: codes reported on an empty frame, or with a payload not in the frame
    false: dict[int, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# the frames


def build_frames(per_class: int) -> list[Sample]:
    """``per_class`` frames of each class at each resolution, deterministic."""
    samples: list[Sample] = []
    seed = 1000
    for res, resolution in RESOLUTIONS.items():
        height = resolution[1]
        for i in range(per_class):
            seed += 1
            count = 2 if i % len(SIZES) == 3 else 1
            size = SIZES[i % len(SIZES)] * height * (0.8 if count == 2 else 1.0)
            rotation = ROTATIONS[(i + i // len(SIZES)) % len(ROTATIONS)] + (seed % 7) - 3
            payloads = [frames.badge_payload(seed * 10 + k) for k in range(count)]
            frame = frames.make_frame(
                payloads, resolution=resolution, code_px=size, rotation=rotation, seed=seed
            )
            samples.append(Sample(res, "synthetic badge", frame))
        for i in range(per_class):
            seed += 1
            size = SIZES[i % len(SIZES)] * height
            # a badge held close to a fixed-focus webcam is out of focus
            blur = CLOSE_UP_BLUR * height / 720 if size >= height * CLOSE_UP else None
            payload = frames.badge_payload(seed * 10)
            frame = frames.photographed(
                [payload], resolution=resolution, code_px=size, blur=blur, seed=seed
            )
            samples.append(Sample(res, "photo badge", frame))
        for _ in range(per_class):
            seed += 1
            samples.append(
                Sample(res, "synthetic empty", frames.empty_frame(resolution, seed=seed))
            )
        for _ in range(per_class):
            seed += 1
            frame = frames.photographed([], resolution=resolution, seed=seed)
            samples.append(Sample(res, "photo empty", frame))
    return samples


# ---------------------------------------------------------------------------
# running


def score(runner: Runner, index: int, sample: Sample, found: list[decoders.Detection]) -> None:
    expected = set(sample.frame.payloads)
    read = {d.data for d in found}
    runner.hits[index] = len(expected & read)
    runner.false[index] = len([d for d in found if d.data not in expected])


def run_all(runners: list[Runner], samples: list[Sample], repeat: int) -> None:
    """``repeat`` rounds; in each, every decoder in turn decodes every frame
    (after one untimed frame to warm it up again), the decoders' order
    rotating from round to round (A B C, B C A, C A B...) so that drift of a
    shared machine hits them all alike. Decoders run in blocks, not frame by
    frame, because a decoder's leftovers (OpenCV's worker threads, the
    caches) would slow down the next one: a kiosk runs only one."""
    n = len(runners)
    warm = [s for s in samples if s.has_badge][:2] + [s for s in samples if not s.has_badge][:1]
    for runner in runners:
        for sample in warm:
            runner.decoder.decode(sample.frame.image)
    for round_ in range(repeat):
        start = round_ % n
        for runner in runners[start:] + runners[:start]:
            runner.decoder.decode(warm[0].frame.image)
            for index, sample in enumerate(samples):
                t0 = time.perf_counter()
                found = runner.decoder.decode(sample.frame.image)
                elapsed = time.perf_counter() - t0
                runner.times.setdefault(index, []).append(elapsed)
                if round_ == 0:
                    score(runner, index, sample, found)


# ---------------------------------------------------------------------------
# statistics


@dataclass
class Stats:
    median_ms: float
    p95_ms: float
    codes: int
    read: int
    false: int

    @property
    def rate(self) -> float:
        return self.read / self.codes if self.codes else float("nan")


def stats(runner: Runner, samples: list[Sample], keep: Callable[[Sample], bool]) -> Stats:
    indexes = [i for i, s in enumerate(samples) if keep(s)]
    times = [t * 1000 for i in indexes for t in runner.times[i]]
    return Stats(
        median_ms=statistics.median(times) if times else float("nan"),
        p95_ms=percentile(times, 95),
        codes=sum(len(samples[i].frame.codes) for i in indexes),
        read=sum(runner.hits[i] for i in indexes),
        false=sum(runner.false[i] for i in indexes),
    )


def classes() -> list[tuple[str, Callable[[Sample], bool]]]:
    out: list[tuple[str, Callable[[Sample], bool]]] = []
    for res in RESOLUTIONS:
        for kind in KINDS:
            out.append((f"{res} {kind}", lambda s, r=res, k=kind: s.res == r and s.kind == k))
        out.append((f"{res} all", lambda s, r=res: s.res == r))
    out.append(("all", lambda s: True))
    return out


def pct(value: float) -> str:
    return "-" if value != value else f"{100 * value:.1f}%"


# ---------------------------------------------------------------------------
# decode + decision


def decision_facts(samples: list[Sample]) -> tuple[Place, dict[int, PersonFacts]]:
    """A door and, for every badge in the frames, an active participant, as a
    kiosk knows them (no badge id: the badge's signature is checked)."""
    place = Place(event_id="event-1", room_id="room-b", mode="door")
    people: dict[int, PersonFacts] = {}
    for sample in samples:
        for code in sample.frame.codes:
            badge = parse_badge(code.payload)
            if isinstance(badge, Badge):
                people[badge.user_id] = PersonFacts(
                    user_id=badge.user_id,
                    name=f"Person {badge.user_id}",
                    email="",
                    is_active=True,
                    badge_id=None,
                    badge_id_known=False,
                    role="participant",
                    participant_id=f"participant-{badge.user_id}",
                )
    return place, people


KEYRING = Keyring.of([PUBLIC_KEY], nacl.signing)


def decode_and_decide(
    decoder: Decoder, image: np.ndarray, place: Place, people: dict[int, PersonFacts]
) -> list[Verdict]:
    """What the kiosk does with a frame: read the codes, check each badge's
    signature, decide it."""
    verdicts = []
    now = datetime.now(UTC)
    for detection in decoder.decode(image):
        badge = parse_badge(detection.data)
        if isinstance(badge, Badge):
            person = people.get(badge.user_id)
            verdicts.append(decide(badge, place, person, now, KEYRING.check(badge)))
        else:
            verdicts.append(decide(badge, place, None, now))
    return verdicts


def time_decision(
    decoder: Decoder, samples: list[Sample], repeat: int
) -> tuple[list[float], list[float], int]:
    """Milliseconds of decode + decision on every 1080p frame (all, with a
    badge), and how many verdicts were "granted" in the first round."""
    place, people = decision_facts(samples)
    chosen = [s for s in samples if s.res == "1080p"]
    for sample in chosen[:3]:  # warm-up
        decode_and_decide(decoder, sample.frame.image, place, people)
    all_ms: list[float] = []
    badge_ms: list[float] = []
    granted = 0
    for round_ in range(repeat):
        for sample in chosen:
            t0 = time.perf_counter()
            verdicts = decode_and_decide(decoder, sample.frame.image, place, people)
            ms = (time.perf_counter() - t0) * 1000
            all_ms.append(ms)
            if sample.has_badge:
                badge_ms.append(ms)
            if round_ == 0:
                granted += sum(v.granted for v in verdicts)
    return all_ms, badge_ms, granted


# ---------------------------------------------------------------------------
# main


def versions() -> str:
    parts = []
    for dist in ("zxing-cpp", "pyzbar", "opencv-python", "numpy"):
        try:
            parts.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{dist} (not installed)")
    return ", ".join(parts)


def build_runners(variants: bool) -> tuple[list[Runner], dict[str, str]]:
    runners: list[Runner] = []
    missing: dict[str, str] = {}
    for name in decoders.DEFAULT_ORDER:
        try:
            runners.append(Runner(name, decoders.DECODERS[name]()))
        except DecoderUnavailable as exc:
            missing[name] = exc.reason
    if variants:
        for label, name, options in VARIANTS:
            if name in missing:
                continue
            try:
                runners.append(Runner(label, decoders.DECODERS[name](**options)))
            except ValueError as exc:  # e.g. an option this library version lacks
                missing[label] = str(exc)
    return runners, missing


def report(runners: list[Runner], samples: list[Sample]) -> None:
    print("\nPer decoder and frame class: ms per frame (BGR in, codes out); detected =")
    print("codes read with the exact payload / codes shown; false = codes reported that")
    print("are not in the frame")
    rows = []
    for runner in runners:
        for cls, keep in classes():
            st = stats(runner, samples, keep)
            frames_n = sum(1 for s in samples if keep(s))
            detected = f"{st.read}/{st.codes} {pct(st.rate)}" if st.codes else "-"
            rows.append([runner.label, cls, frames_n, st.median_ms, st.p95_ms, detected, st.false])
    print_table(["decoder", "frames", "n", "median ms", "p95 ms", "detected", "false"], rows)

    base = next((r for r in runners if r.label == BASELINE), None)
    if base is None:
        print(f"\n{BASELINE} is not available: no ratios")
        return
    print(f"\nRatios to {BASELINE} on the same frames: speed-up = {BASELINE} median / decoder")
    print("median (higher is faster); detection = decoder rate - pyzbar rate (points)")
    rows = []
    for runner in runners:
        if runner is base:
            continue
        for cls, keep in classes():
            mine, theirs = stats(runner, samples, keep), stats(base, samples, keep)
            diff = (
                f"{100 * (mine.rate - theirs.rate):+.1f}" if mine.codes else "-"
            )  # percentage points
            rows.append([runner.label, cls, theirs.median_ms / mine.median_ms, diff])
    print_table(["decoder", "frames", "speed-up", "detection"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--frames", type=int, default=10, help="frames per class and resolution (default 10)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed rounds over the frames (default 3)"
    )
    parser.add_argument("--variants", action="store_true", help="also time tuned configurations")
    args = parser.parse_args(argv)
    if args.frames < 1 or args.repeat < 1:
        parser.error("--frames and --repeat must be at least 1")

    print("BadgeGate QR decode benchmark")
    print(f"machine: {os.cpu_count()} CPUs, load average {load_average()}")
    print(f"libraries: {versions()}")
    runners, missing = build_runners(args.variants)
    for name, reason in missing.items():
        print(f"decoder {name}: unavailable ({reason})")
    if not runners:
        print("error: no decoder loads here", file=sys.stderr)
        return 1
    print("decoders: " + ", ".join(repr(r.decoder) for r in runners))

    t0 = time.perf_counter()
    samples = build_frames(args.frames)
    codes = sum(len(s.frame.codes) for s in samples)
    print(
        f"frames: {len(samples)} ({args.frames} per class and resolution, {codes} codes), "
        f"built in {time.perf_counter() - t0:.1f} s; {args.repeat} timed rounds after warm-up"
    )
    t0 = time.perf_counter()
    run_all(runners, samples, args.repeat)
    print(f"decoding took {time.perf_counter() - t0:.1f} s")
    report(runners, samples)

    default, note = decoders.make_decoder(None)
    print(f"\nDefault: {note}")
    all_ms, badge_ms, granted = time_decision(default, samples, args.repeat)
    badge_frames = sum(1 for s in samples if s.res == "1080p" and s.has_badge)
    print(
        f"decode + decision on 1080p frames: median {statistics.median(all_ms):.2f} ms all, "
        f"{statistics.median(badge_ms):.2f} ms with a badge (p95 {percentile(badge_ms, 95):.2f} "
        f"ms); {granted} granted verdicts on {badge_frames} frames with a badge"
    )

    median_badge = statistics.median(badge_ms)
    print()
    print(
        f"{mark(median_badge < GOAL_MS)}  median decode + decision < {GOAL_MS:.0f} ms on a "
        f"1080p frame with a badge: {median_badge:.2f} ms"
    )
    own = next((r for r in runners if r.label == default.name), None)
    base = next((r for r in runners if r.label == BASELINE), None)
    if own is None or base is None:
        print(f"MISS  cannot compare with {BASELINE}: it is not available here")
        return 0
    everything = stats(own, samples, lambda s: True)
    baseline = stats(base, samples, lambda s: True)
    speedup = baseline.median_ms / everything.median_ms
    print(
        f"{mark(speedup >= GOAL_SPEEDUP)}  >= {GOAL_SPEEDUP:.0f}x faster than {BASELINE} "
        f"(median, all frames): {speedup:.1f}x ({everything.median_ms:.2f} ms vs "
        f"{baseline.median_ms:.2f} ms)"
    )
    for res in RESOLUTIONS:
        mine = stats(own, samples, lambda s, r=res: s.res == r)
        theirs = stats(base, samples, lambda s, r=res: s.res == r)
        print(f"      {res}: {theirs.median_ms / mine.median_ms:.1f}x")
    print(
        f"{mark(everything.rate >= baseline.rate)}  detection rate >= {BASELINE}'s: "
        f"{pct(everything.rate)} vs {pct(baseline.rate)}; false detections "
        f"{everything.false} vs {baseline.false}"
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
