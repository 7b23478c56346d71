"""Short tones for verdicts, where the machine can play sound; silence where it cannot.

The tones are small WAV files written once with the standard library
(``wave``): a rising two-note chime for granted, a low double buzz for
denied, one short blip for "already scanned". A :class:`Beeper` plays them
with the first player it finds on PATH (``paplay``, ``aplay``, ``afplay``),
or ``winsound`` on Windows, in a background thread: :meth:`Beeper.play`
returns at once, never raises, and skips a tone while the previous one is
still playing rather than queueing tones behind a slow player.
"""

from __future__ import annotations

import array
import importlib
import logging
import math
import shutil
import subprocess
import sys
import tempfile
import threading
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

Tone = Literal["granted", "denied", "notice"]
TONES: tuple[Tone, ...] = ("granted", "denied", "notice")

SAMPLE_RATE = 22050
#: players tried in this order; each is given the WAV file's path
PLAYERS: tuple[tuple[str, ...], ...] = (
    ("paplay",),
    ("aplay", "-q"),
    ("afplay",),
)
#: a player that takes longer than this is killed
PLAY_TIMEOUT_S = 3.0

#: (frequency Hz, seconds) notes; a frequency of 0 is a pause
_NOTES: dict[Tone, tuple[tuple[float, float], ...]] = {
    "granted": ((880.0, 0.09), (0.0, 0.02), (1320.0, 0.14)),
    "denied": ((220.0, 0.16), (0.0, 0.06), (196.0, 0.24)),
    "notice": ((660.0, 0.10),),
}


def tone_samples(
    notes: Sequence[tuple[float, float]], rate: int = SAMPLE_RATE, volume: float = 0.5
) -> array.array[int]:
    """Signed 16-bit mono samples of ``notes``, each with a 5 ms fade in and out (no clicks)."""
    out = array.array("h")
    peak = 32767 * max(0.0, min(volume, 1.0))
    for freq, seconds in notes:
        n = max(1, round(seconds * rate))
        fade = max(1, min(n // 2, round(0.005 * rate)))
        for i in range(n):
            if freq <= 0:
                out.append(0)
                continue
            envelope = min(1.0, i / fade, (n - 1 - i) / fade)
            out.append(round(peak * envelope * math.sin(2 * math.pi * freq * i / rate)))
    return out


def write_wav(path: Path, notes: Sequence[tuple[float, float]], rate: int = SAMPLE_RATE) -> Path:
    """Write ``notes`` as a mono 16-bit WAV file at ``path``."""
    samples = tone_samples(notes, rate)
    if sys.byteorder != "little":  # WAV is little-endian
        samples.byteswap()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


def find_player() -> list[str] | None:
    """The command (without the file) of the first sound player on PATH, or None."""
    for command in PLAYERS:
        exe = shutil.which(command[0])
        if exe:
            return [exe, *command[1:]]
    return None


class Beeper:
    """Plays a verdict's tone in the background; does nothing where sound is unavailable.

    ``player`` is the command to play a WAV file with (None: look for one);
    ``enabled=False`` makes a silent beeper.
    """

    def __init__(
        self,
        enabled: bool = True,
        *,
        player: Sequence[str] | None = None,
        directory: Path | None = None,
    ) -> None:
        self.files: dict[Tone, Path] = {}
        self.player: list[str] | None = None
        self._winsound = False
        self._busy = threading.Lock()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if not enabled:
            return
        if player is not None:
            self.player = list(player)
        elif sys.platform == "win32":
            self._winsound = True
        else:
            self.player = find_player()
        if self.player is None and not self._winsound:
            log.info("no sound player found (paplay, aplay, afplay): verdicts are silent")
            return
        try:
            if directory is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="badgegate-tones-")
                directory = Path(self._tmp.name)
            for tone in TONES:
                self.files[tone] = write_wav(directory / f"{tone}.wav", _NOTES[tone])
        except OSError as exc:
            log.warning("cannot write the tones (%s): verdicts are silent", exc)
            self.player, self._winsound, self.files = None, False, {}

    @property
    def available(self) -> bool:
        return bool(self.files) and (self.player is not None or self._winsound)

    def play(self, tone: Tone) -> bool:
        """Start playing ``tone``; False if it is not played (no sound, or one is playing)."""
        path = self.files.get(tone)
        if path is None or not self.available:
            return False
        if not self._busy.acquire(blocking=False):
            return False  # a tone is still playing: never queue them up
        try:
            threading.Thread(
                target=self._play, args=(path,), name="badgegate-sound", daemon=True
            ).start()
        except RuntimeError:  # cannot start a thread (interpreter shutting down)
            self._busy.release()
            return False
        return True

    def _play(self, path: Path) -> None:
        try:
            if self._winsound:
                winsound: Any = importlib.import_module("winsound")  # Windows only
                winsound.PlaySound(str(path), winsound.SND_FILENAME)
            elif self.player is not None:
                subprocess.run(
                    [*self.player, str(path)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=PLAY_TIMEOUT_S,
                    check=False,
                )
        except Exception as exc:  # no sound device, player gone, timeout: stay silent
            log.debug("tone not played: %s", exc)
        finally:
            self._busy.release()

    def wait(self, timeout: float = PLAY_TIMEOUT_S + 1) -> None:
        """Wait for the tone being played, if any (tests; before exiting)."""
        if self._busy.acquire(timeout=timeout):
            self._busy.release()

    def close(self) -> None:
        if self._tmp is not None:
            self.wait(0.5)
            self._tmp.cleanup()
            self._tmp = None
            self.files = {}
