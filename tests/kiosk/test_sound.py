"""kiosk.sound: tones written with the stdlib, played in the background, or nothing."""

from __future__ import annotations

import os
import sys
import time
import wave
from pathlib import Path

import pytest

from kiosk import sound
from kiosk.sound import Beeper

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="shell-script players")


def fake_player(tmp_path: Path, body: str) -> list[str]:
    script = tmp_path / "player"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return [str(script)]


def test_the_tones_are_short_distinct_wav_files(tmp_path: Path) -> None:
    frames = {}
    for tone, notes in sound._NOTES.items():
        path = sound.write_wav(tmp_path / f"{tone}.wav", notes)
        with wave.open(str(path)) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)
            assert 0.05 < w.getnframes() / w.getframerate() < 0.6
            frames[tone] = w.readframes(w.getnframes())
    assert len(set(frames.values())) == 3


def test_beeper_plays_in_the_background(tmp_path: Path) -> None:
    log = tmp_path / "played"
    beeper = Beeper(player=fake_player(tmp_path, f'echo "$1" >> {log}'), directory=tmp_path)
    assert beeper.available
    assert beeper.play("granted")
    beeper.wait()
    assert beeper.play("denied")
    beeper.wait()
    played = log.read_text().split()
    assert [Path(p).name for p in played] == ["granted.wav", "denied.wav"]


def test_a_hanging_player_never_blocks_and_tones_do_not_pile_up(tmp_path: Path) -> None:
    beeper = Beeper(player=fake_player(tmp_path, "sleep 5"), directory=tmp_path)
    started = time.monotonic()
    assert beeper.play("granted")
    assert not beeper.play("denied")  # one is still playing: skipped, not queued
    assert time.monotonic() - started < 0.5


def test_a_failing_player_is_silent(tmp_path: Path) -> None:
    beeper = Beeper(player=fake_player(tmp_path, "echo no device >&2; exit 1"), directory=tmp_path)
    assert beeper.play("denied")
    beeper.wait()
    assert beeper.play("denied")  # still usable
    beeper.wait()
    gone = Beeper(player=[str(tmp_path / "missing")], directory=tmp_path)
    assert gone.play("granted")  # starts, fails in the background, says nothing
    gone.wait()


def test_no_player_no_sound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", os.devnull)
    beeper = Beeper()
    assert beeper.player is None and not beeper.available
    assert not beeper.play("granted")
    beeper.close()
    assert not Beeper(enabled=False).play("granted")
