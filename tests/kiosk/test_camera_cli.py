"""``badgegate-kiosk run --video/--images --headless`` as a subprocess, no server reachable.

The videos are made here: real QR codes (segno) of the test world's badges on
synthetic webcam frames, written with ``cv2.VideoWriter`` (MJPG); several
people, one badge held for many frames (some of them too blurred to read),
rotation, blur, two people in one frame, empty frames, and hostile codes.
Files are processed frame by frame in order, so the verdicts are exact.
"""

from __future__ import annotations

import glob
import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from kiosk.store import KioskStore
from tests.kiosk import world
from tests.kiosk.conftest import closed_port_url, provision
from tests.kiosk.frames import make_frame
from tests.kiosk.videos import Shot, Span, kiosk_command, run_kiosk, summary, write_video
from tests.kiosk.world import qr

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX subprocesses")

FPS = 15.0
OLD_BADGE = qr(world.REISSUED, "A")  # reissued: the current one ends in BBBBBBBB
HOSTILE: dict[str, bytes] = {
    "control": b'\x00\x01\x1b[2J\x1b[31m{"user_id": 15}\r\n\t\x7f\x08\x07',
    "not-utf8": b"\xff\xfe\x80" + qr(world.PAID).encode() + b"\xc3\x28\xa0\xa1",
    "large": b'{"user_id": 1, "badge_id": "' + b"USER-1-" * 170 + b'"}',
    "latin1": '{"name": "Ana\u00efs Caf\u00e9"}'.encode("latin-1"),
    "not-ours": b"https://example.com/wifi?ssid=summit",
}


def empty(frames: int = 20) -> Shot:
    return Shot((), frames, "empty")


#: the main scenario; frame numbers are in the comments (15 fps)
MAIN = [
    empty(8),  # 0-7
    Shot([qr(world.PAID)], 24, "paid", smeared=frozenset({8, 9, 10})),  # 8-31: one scan
    empty(),  # 32-51: 1.3 s away
    Shot([qr(world.UNPAID)], 15, "unpaid", rotation=30, blur=1.0),  # 52-66
    empty(),
    Shot([qr(world.STAFF), qr(world.ROOM_A_ONLY)], 15, "two"),  # 87-101: left, right
    empty(),
    # a signed badge is a dense code (53 modules): held tilted and blurred, it is
    # read from closer
    Shot([qr(world.PAID)], 15, "paid-again", rotation=-20, blur=1.2, code_px=260),  # 122-136
    empty(),
    Shot([OLD_BADGE], 12, "reissued"),  # 157-168
    empty(),
    Shot([qr(world.OUTSIDER)], 12, "outsider"),  # 189-200
    empty(8),
]


@pytest.fixture(scope="module")
def main_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Span]]:
    path = tmp_path_factory.mktemp("videos") / "door.avi"
    spans = write_video(path, MAIN, fps=FPS)
    return path, {s.label: s for s in spans if s.label != "empty"}


@pytest.fixture(scope="module")
def hostile_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Span]]:
    shots = [empty(4)]
    for key, payload in HOSTILE.items():
        code_px = 420 if len(payload) > 1000 else 200
        shots += [Shot([payload], 6, key, code_px=code_px), empty(18)]
    shots.append(Shot([qr(world.PAID)], 6, "paid", code_px=200))
    path = tmp_path_factory.mktemp("videos") / "hostile.avi"
    spans = write_video(path, shots, fps=FPS, resolution=(1280, 720))
    return path, {s.label: s for s in spans if s.label != "empty"}


@pytest.fixture
def kiosk_dir(tmp_path: Path) -> Path:
    """A door kiosk in room B, pinned to the paid atelier, its server a closed port."""
    with KioskStore(tmp_path / "kiosk") as store:
        provision(store, server_url=closed_port_url(), pinned=world.S_ATELIER)
    return tmp_path / "kiosk"


def queue_length(data_dir: Path) -> int:
    with KioskStore(data_dir) as store:
        return store.queue_length()


def test_video_gives_exactly_the_expected_verdicts(
    kiosk_dir: Path, main_video: tuple[Path, dict[str, Span]]
) -> None:
    path, at = main_video
    result = run_kiosk(kiosk_dir, "run", "--video", str(path), "--headless")
    assert result.code == 0, result.stderr
    assert summary(result.verdicts) == [
        ("granted", world.PAID, False, at["paid"].first),
        ("payment_required", world.UNPAID, False, at["unpaid"].first),
        ("granted", world.STAFF, False, at["two"].first),  # left to right
        ("room_not_allowed", world.ROOM_A_ONLY, False, at["two"].first),
        ("granted", world.PAID, True, at["paid-again"].first),  # not a new scan
        ("revoked_badge", world.REISSUED, False, at["reissued"].first),
        ("not_in_event", world.OUTSIDER, False, at["outsider"].first),
    ]
    first, again = result.verdicts[0], result.verdicts[4]
    for key in ("time", "status", "reason", "user_id", "name", "latency_ms", "source_frame"):
        assert key in first
    assert first["name"] == "Person 2" and first["message"] == "Accès autorisé"
    assert first["offline"] is True and first["latency_ms"] >= 0
    assert first["source_time"] == pytest.approx(at["paid"].first / FPS, abs=1e-3)
    assert result.verdicts[1]["message"] == "Paiement requis"
    # "already scanned" repeats the recorded verdict, says so, and queues nothing
    assert again["message"] == "Déjà scanné" and again["client_id"] == first["client_id"]
    assert again["scanned_at"] == first["time"]
    frames = sum(s.frames for s in MAIN)
    assert f"{frames} frames read, {frames} decoded, 0 dropped; 7 verdicts" in result.stderr
    assert "final push: offline" in result.stderr
    assert queue_length(kiosk_dir) == 6  # every verdict but "already scanned"


def test_rescan_after_makes_a_re_entry_a_new_scan_and_english(
    kiosk_dir: Path, main_video: tuple[Path, dict[str, Span]]
) -> None:
    path, at = main_video
    # the badge comes back 7.6 s (video time) after it was recorded
    args = ["run", "--video", str(path), "--headless", "--rescan-after", "5", "--lang", "en"]
    result = run_kiosk(kiosk_dir, *args)
    assert result.code == 0, result.stderr
    paid = [v for v in result.verdicts if v["user_id"] == world.PAID]
    assert [(v["already_scanned"], v["source_frame"]) for v in paid] == [
        (False, at["paid"].first),
        (False, at["paid-again"].first),
    ]
    assert paid[0]["client_id"] != paid[1]["client_id"]
    assert paid[0]["message"] == "Access granted"
    assert [v["message"] for v in result.verdicts][1] == "Payment required"
    assert queue_length(kiosk_dir) == 7


def test_hostile_badges_are_red_never_a_crash(
    kiosk_dir: Path, hostile_video: tuple[Path, dict[str, Span]]
) -> None:
    path, at = hostile_video
    result = run_kiosk(kiosk_dir, "run", "--video", str(path), "--headless")
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    expected = [("invalid_badge", None, False, at[key].first) for key in HOSTILE]
    assert summary(result.verdicts) == [*expected, ("granted", world.PAID, False, at["paid"].first)]
    details = [v["detail"] for v in result.verdicts[: len(HOSTILE)]]
    assert details == [
        "payload is not a BadgeGate badge",  # control characters first
        "payload is not UTF-8",
        "payload too large",
        "payload is not UTF-8",
        "payload is not a BadgeGate badge",
    ]
    assert {v["status"] for v in result.verdicts[:-1]} == {"denied"}
    assert {v["message"] for v in result.verdicts[:-1]} == {"QR code invalide"}
    with KioskStore(kiosk_dir) as store:  # kept for the server, as text it can take
        scans = store.pending(10)
    assert len(scans) == len(HOSTILE) + 1
    assert all(len(s.payload) <= 2048 for s in scans)


def test_images_in_file_name_order(kiosk_dir: Path, tmp_path: Path) -> None:
    pictures = tmp_path / "pictures"
    pictures.mkdir()

    def save(name: str, payloads: list[bytes | str], seed: int, gray: bool = False) -> None:
        image = make_frame(payloads, resolution=(800, 600), seed=seed).image
        if gray:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        assert cv2.imwrite(str(pictures / name), image)

    save("10-two.png", [qr(world.UNPAID), qr(world.STAFF)], 1)  # sorted last
    save("01-paid.png", [qr(world.PAID)], 2)
    save("02-empty.jpg", [], 3)
    save("03-not-utf8.png", [HOSTILE["not-utf8"]], 4)
    save("04-paid-again.jpg", [qr(world.PAID)], 5)
    (pictures / "05-broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    save("06-gray.png", [qr(world.OUTSIDER)], 6, gray=True)
    (pictures / "notes.txt").write_text("not an image")

    result = run_kiosk(kiosk_dir, "run", "--images", str(pictures), "--headless")
    assert result.code == 0, result.stderr
    rows = summary(result.verdicts)
    got = [(v["source_file"], *row) for v, row in zip(result.verdicts, rows, strict=True)]
    assert got == [
        ("01-paid.png", "granted", world.PAID, False, 0),
        ("03-not-utf8.png", "invalid_badge", None, False, 2),
        ("04-paid-again.jpg", "granted", world.PAID, True, 3),  # 3 s later: already scanned
        ("06-gray.png", "not_in_event", world.OUTSIDER, False, 5),
        ("10-two.png", "payment_required", world.UNPAID, False, 6),
        ("10-two.png", "granted", world.STAFF, False, 6),
    ]
    assert "skipping 05-broken.png" in result.stderr


def test_demo_video_command_then_run_it(kiosk_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo.avi"
    payloads = [qr(world.PAID), "not a badge", qr(world.PAID)]
    args = ["demo-video", str(out), "--fps", "10", "--hold", "1", "--gap", "0.6"]
    args += ["--size", "640x360", "--caption", "Person 2"]
    args += [a for p in payloads for a in ("--payload", p)]
    made = run_kiosk(kiosk_dir, *args, json_lines=False)
    assert made.code == 0, made.stderr
    assert "badges on frames 5-14, 21-30, 37-46" in made.stdout
    result = run_kiosk(kiosk_dir, "run", "--video", str(out), "--headless")
    assert result.code == 0, result.stderr
    assert [(v["reason"], v["already_scanned"]) for v in result.verdicts] == [
        ("granted", False),
        ("invalid_badge", False),
        ("granted", True),
    ]
    frames = [v["source_frame"] for v in result.verdicts]
    assert frames == [5, 21, 37]  # lead 0.5 s, then 1 s per badge, 0.6 s between


def test_source_errors(kiosk_dir: Path, tmp_path: Path) -> None:
    video = tmp_path / "x.avi"
    video.write_bytes(b"not a video")
    both = run_kiosk(kiosk_dir, "run", "--wedge", "--video", str(video))
    assert both.code == 2 and "give one source" in both.stderr
    bad = run_kiosk(kiosk_dir, "run", "--video", str(video), "--headless")
    assert bad.code == 1 and "cannot read" in bad.stderr and "Traceback" not in bad.stderr
    (tmp_path / "none").mkdir()
    nothing = run_kiosk(kiosk_dir, "run", "--images", str(tmp_path / "none"), "--headless")
    assert nothing.code == 1 and "no image files" in nothing.stderr
    camera = run_kiosk(kiosk_dir, "run", "--camera", "57", "--headless")
    assert camera.code == 1 and "cannot open camera 57" in camera.stderr
    assert "--video FILE" in camera.stderr
    no_x = run_kiosk(kiosk_dir, "run", "--video", str(video), env={"DISPLAY": ""})
    assert no_x.code == 1 and "--headless" in no_x.stderr
    unprovisioned = run_kiosk(tmp_path / "new", "run", "--camera", "auto", "--headless")
    assert unprovisioned.code == 1 and "not provisioned" in unprovisioned.stderr


@pytest.mark.skipif(bool(glob.glob("/dev/video*")), reason="this machine has a camera")
def test_camera_auto_without_a_camera_says_so(kiosk_dir: Path) -> None:
    result = run_kiosk(kiosk_dir, "run", "--camera", "auto", "--headless")
    assert result.code == 1
    assert "no camera found" in result.stderr and "--video FILE" in result.stderr
    assert result.verdicts == []


def test_booth_mode_comes_from_provisioning(
    tmp_path: Path, main_video: tuple[Path, dict[str, Span]]
) -> None:
    """The same video at a booth: no room or paid-session checks, and the scans are visits."""
    with KioskStore(tmp_path / "booth") as store:
        provision(store, mode="booth", room=None, server_url=closed_port_url())
    path, at = main_video
    result = run_kiosk(tmp_path / "booth", "run", "--video", str(path), "--headless")
    assert result.code == 0, result.stderr
    assert summary(result.verdicts) == [
        ("granted", world.PAID, False, at["paid"].first),
        ("granted", world.UNPAID, False, at["unpaid"].first),
        ("granted", world.STAFF, False, at["two"].first),
        ("granted", world.ROOM_A_ONLY, False, at["two"].first),
        ("granted", world.PAID, True, at["paid-again"].first),
        ("revoked_badge", world.REISSUED, False, at["reissued"].first),
        ("not_in_event", world.OUTSIDER, False, at["outsider"].first),
    ]
    with KioskStore(tmp_path / "booth") as store:
        assert {s.kind for s in store.pending(50)} == {"booth_visit"}


def test_ctrl_c_stops_a_looping_video_cleanly(
    kiosk_dir: Path, main_video: tuple[Path, dict[str, Span]]
) -> None:
    path, _ = main_video
    args = ["run", "--video", str(path), "--headless", "--loop", "--pace"]
    proc = subprocess.Popen(
        kiosk_command(kiosk_dir, *args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "no verdict within 30 s"
        first = json.loads(proc.stdout.readline())  # paced: the badge comes at 0.5 s
        assert first["reason"] == "granted"
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 130, err.decode()
    assert "stopped" in err.decode() and "Traceback" not in err.decode()


def test_an_exit_door_lets_out_the_badges_an_entry_refuses(
    kiosk_dir: Path, main_video: tuple[Path, dict[str, Span]]
) -> None:
    """``--direction out``: the same video, every person of the event goes out;
    the JSON lines and the queue say so, and the way is kept for the next run."""
    path, _at = main_video
    result = run_kiosk(kiosk_dir, "run", "--video", str(path), "--headless", "--direction", "out")
    assert result.code == 0, result.stderr
    reasons = [
        (v["reason"], v["user_id"]) for v in result.verdicts if v["message"] != "Déjà scanné"
    ]
    assert reasons == [
        ("granted", world.PAID),
        ("granted", world.UNPAID),  # no payment needed to leave
        ("granted", world.STAFF),
        ("granted", world.ROOM_A_ONLY),
        ("revoked_badge", world.REISSUED),  # an exit still names someone
        ("not_in_event", world.OUTSIDER),
    ]
    assert {v["direction"] for v in result.verdicts} == {"out"}
    with KioskStore(kiosk_dir) as store:
        assert {s.direction for s in store.pending()} == {"out"}
        assert store.place().direction == "out"
    again = run_kiosk(kiosk_dir, "run", "--video", str(path), "--headless")
    assert {v["direction"] for v in again.verdicts} == {"out"}
