"""The kiosk's own small connection to the X server, and the paint watch.

OpenCV's Linux wheels draw their windows with a bundled Qt 5. On a busy
machine that Qt sometimes loses the X events that tell it its window is on
screen (``MapNotify`` and what came with it): X shows the window, Qt believes
it is not visible, and never paints it. The window stays one flat colour
(black under Xvfb) for as long as the kiosk runs, whatever is shown in it.
With three busy processes on two cores, from one window in thirty to one in
four stayed blank, depending on the run (``bench/paint.py``).

:class:`PaintWatch` catches it. While the window is new (or was just switched
to or from full screen) it reads the window back from the X server now and
then; a window that still shows one flat colour after a second is unmapped
and mapped again, which gives Qt the events it missed. Everything the kiosk
draws has a status bar with text on it, so a painted window is never flat.

:class:`X11` is libX11 through ctypes (no build step, nothing to install on a
desktop that has X). X errors are ignored on this connection: a window that
vanished between two calls gives ``None``, never the default handler's exit.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

_IS_VIEWABLE = 2  # XWindowAttributes.map_state
_ZPIXMAP = 2
_ALL_PLANES = ctypes.c_ulong(-1).value
_ANY_PROPERTY_TYPE = 0
_REVERT_TO_PARENT = 2
_CURRENT_TIME = 0


class _WindowAttributes(ctypes.Structure):
    _fields_ = [
        ("x", ctypes.c_int),
        ("y", ctypes.c_int),
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("border_width", ctypes.c_int),
        ("depth", ctypes.c_int),
        ("visual", ctypes.c_void_p),
        ("root", ctypes.c_ulong),
        ("class_", ctypes.c_int),
        ("bit_gravity", ctypes.c_int),
        ("win_gravity", ctypes.c_int),
        ("backing_store", ctypes.c_int),
        ("backing_planes", ctypes.c_ulong),
        ("backing_pixel", ctypes.c_ulong),
        ("save_under", ctypes.c_int),
        ("colormap", ctypes.c_ulong),
        ("map_installed", ctypes.c_int),
        ("map_state", ctypes.c_int),
        ("all_event_masks", ctypes.c_long),
        ("your_event_mask", ctypes.c_long),
        ("do_not_propagate_mask", ctypes.c_long),
        ("override_redirect", ctypes.c_int),
        ("screen", ctypes.c_void_p),
    ]


class _Image(ctypes.Structure):  # the leading fields of XImage
    _fields_ = [
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("xoffset", ctypes.c_int),
        ("format", ctypes.c_int),
        ("data", ctypes.c_void_p),
        ("byte_order", ctypes.c_int),
        ("bitmap_unit", ctypes.c_int),
        ("bitmap_bit_order", ctypes.c_int),
        ("bitmap_pad", ctypes.c_int),
        ("depth", ctypes.c_int),
        ("bytes_per_line", ctypes.c_int),
        ("bits_per_pixel", ctypes.c_int),
        ("red_mask", ctypes.c_ulong),
        ("green_mask", ctypes.c_ulong),
        ("blue_mask", ctypes.c_ulong),
    ]


_ErrorHandler = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


@_ErrorHandler
def _ignore_error(_display: int | None, _event: int | None) -> int:
    return 0


def _load() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("X11") or "libX11.so.6"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    p, ul, i = ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int
    uip, up, ip = ctypes.POINTER(ctypes.c_uint), ctypes.POINTER(ul), ctypes.POINTER(i)
    signatures: dict[str, tuple[list[object], object]] = {
        "XOpenDisplay": ([ctypes.c_char_p], p),
        "XCloseDisplay": ([p], i),
        "XDefaultScreen": ([p], i),
        "XDisplayWidth": ([p, i], i),
        "XDisplayHeight": ([p, i], i),
        "XDefaultRootWindow": ([p], ul),
        "XSetErrorHandler": ([_ErrorHandler], p),
        "XInternAtom": ([p, ctypes.c_char_p, i], ul),
        "XQueryTree": ([p, ul, up, up, ctypes.POINTER(p), uip], i),
        "XGetWindowProperty": (
            [p, ul, ul, ctypes.c_long, ctypes.c_long, i, ul, up, ip, up, up, ctypes.POINTER(p)],
            i,
        ),
        "XGetWindowAttributes": ([p, ul, ctypes.POINTER(_WindowAttributes)], i),
        "XGetImage": ([p, ul, i, i, ctypes.c_uint, ctypes.c_uint, ul, i], ctypes.POINTER(_Image)),
        "XDestroyImage": ([ctypes.POINTER(_Image)], i),
        "XUnmapWindow": ([p, ul], i),
        "XGetInputFocus": ([p, up, ip], i),
        "XSetInputFocus": ([p, ul, i, ul], i),
        "XMapWindow": ([p, ul], i),
        "XSync": ([p, i], i),
        "XFree": ([p], i),
    }
    try:
        for fn, (args, result) in signatures.items():
            getattr(lib, fn).argtypes = args
            getattr(lib, fn).restype = result
    except AttributeError:
        return None
    return lib


class X11:
    """One connection to the X server of ``$DISPLAY`` (:meth:`open`)."""

    def __init__(self, lib: ctypes.CDLL, display: int) -> None:
        self._lib = lib
        self._display = display
        self._atoms: dict[str, int] = {}

    @classmethod
    def open(cls) -> X11 | None:
        """A connection, or None (no ``DISPLAY``, no libX11, no server)."""
        if not os.environ.get("DISPLAY"):
            return None
        lib = _load()
        if lib is None:
            return None
        display = lib.XOpenDisplay(None)
        if not display:
            return None
        lib.XSetErrorHandler(_ignore_error)
        return cls(lib, display)

    def close(self) -> None:
        if self._display:
            self._lib.XCloseDisplay(self._display)
            self._display = 0

    def __enter__(self) -> X11:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def screen_size(self) -> tuple[int, int]:
        screen = self._lib.XDefaultScreen(self._display)
        return (
            int(self._lib.XDisplayWidth(self._display, screen)),
            int(self._lib.XDisplayHeight(self._display, screen)),
        )

    def _atom(self, name: str) -> int:
        if name not in self._atoms:
            self._atoms[name] = int(self._lib.XInternAtom(self._display, name.encode(), 0))
        return self._atoms[name]

    def _children(self, window: int) -> list[int]:
        root, parent = ctypes.c_ulong(), ctypes.c_ulong()
        children, count = ctypes.c_void_p(), ctypes.c_uint()
        ok = self._lib.XQueryTree(
            self._display,
            window,
            ctypes.byref(root),
            ctypes.byref(parent),
            ctypes.byref(children),
            ctypes.byref(count),
        )
        if not ok or not children.value:
            return []
        try:
            ids = ctypes.cast(children, ctypes.POINTER(ctypes.c_ulong))
            return [int(ids[k]) for k in range(count.value)]
        finally:
            self._lib.XFree(children)

    def _walk(self, window: int, depth: int) -> Iterator[int]:
        for child in self._children(window):
            yield child
            if depth > 1:  # a window manager's frame holds the client window
                yield from self._walk(child, depth - 1)

    def property(self, window: int, name: str) -> bytes | None:
        """The raw value of a window property (at most 4 KiB), or None."""
        kind, fmt = ctypes.c_ulong(), ctypes.c_int()
        count, after, data = ctypes.c_ulong(), ctypes.c_ulong(), ctypes.c_void_p()
        status = self._lib.XGetWindowProperty(
            self._display,
            window,
            self._atom(name),
            0,
            1024,
            0,
            _ANY_PROPERTY_TYPE,
            ctypes.byref(kind),
            ctypes.byref(fmt),
            ctypes.byref(count),
            ctypes.byref(after),
            ctypes.byref(data),
        )
        if status != 0 or not data.value:
            return None
        try:
            if not kind.value:
                return None
            # 32-bit items come back as C longs
            size = {8: 1, 16: ctypes.sizeof(ctypes.c_short), 32: ctypes.sizeof(ctypes.c_long)}
            return ctypes.string_at(data.value, count.value * size.get(fmt.value, 1))
        finally:
            self._lib.XFree(data)

    def find_window(self, title: str, pid: int) -> int | None:
        """The window of process ``pid`` named ``title`` (``_NET_WM_NAME`` or
        ``WM_NAME``), looked for among top-level windows and their children."""
        wanted = title.encode()
        pid_bytes = ctypes.c_long(pid)
        for window in self._walk(self._lib.XDefaultRootWindow(self._display), 3):
            owner = self.property(window, "_NET_WM_PID")
            if owner is None or owner[: ctypes.sizeof(ctypes.c_long)] != bytes(pid_bytes):
                continue
            names = (self.property(window, "_NET_WM_NAME"), self.property(window, "WM_NAME"))
            if wanted in names:
                return window
        return None

    def pixels(self, window: int) -> np.ndarray | None:
        """What the X server shows in ``window``: a (height, width) array of pixel
        values (colour bits only), or None if it cannot be read (not viewable, gone)."""

        attrs = _WindowAttributes()
        if not self._lib.XGetWindowAttributes(self._display, window, ctypes.byref(attrs)):
            return None
        if attrs.map_state != _IS_VIEWABLE or attrs.width <= 0 or attrs.height <= 0:
            return None
        image = self._lib.XGetImage(
            self._display, window, 0, 0, attrs.width, attrs.height, _ALL_PLANES, _ZPIXMAP
        )
        if not image:
            return None
        try:
            img = image.contents
            raw = ctypes.string_at(img.data, img.bytes_per_line * img.height)
            mask = img.red_mask | img.green_mask | img.blue_mask
            return pixel_values(
                raw, img.width, img.height, img.bytes_per_line, img.bits_per_pixel, mask
            )
        finally:
            self._lib.XDestroyImage(image)

    def focus(self) -> int:
        """The window with the keyboard focus (0: none; 1: whatever is under the pointer)."""
        window, revert = ctypes.c_ulong(), ctypes.c_int()
        self._lib.XGetInputFocus(self._display, ctypes.byref(window), ctypes.byref(revert))
        return int(window.value)

    def remap(self, window: int) -> None:
        """Unmap and map ``window`` again: its owner gets fresh map and expose events.
        A window that had the keyboard focus gets it back (unmapping takes it away:
        the keys typed next would go nowhere)."""
        focused = self.focus() == window
        self._lib.XUnmapWindow(self._display, window)
        self._lib.XSync(self._display, 0)
        self._lib.XMapWindow(self._display, window)
        self._lib.XSync(self._display, 0)
        if focused:  # an error (a window manager still mapping it) is ignored
            self._lib.XSetInputFocus(self._display, window, _REVERT_TO_PARENT, _CURRENT_TIME)
            self._lib.XSync(self._display, 0)


class WindowServer(Protocol):
    """What :class:`PaintWatch` needs from the X server (:class:`X11`)."""

    def find_window(self, title: str, pid: int) -> int | None: ...

    def pixels(self, window: int) -> np.ndarray | None: ...

    def remap(self, window: int) -> None: ...


#: first look this long after the window appears (or is switched), then as often
CHECK_S = 0.5
#: a window flat for this long is taken as not painted
FLAT_S = 1.0
#: mapped again at most this many times in a row, then left alone (logged)
MAX_REMAPS = 5
#: a window not found after this many looks is no longer looked for
MAX_MISSES = 20


def pixel_values(
    raw: bytes, width: int, height: int, stride: int, bits_per_pixel: int, mask: int
) -> np.ndarray:
    """A Z-pixmap's rows (``stride`` bytes each, least significant byte first) as
    (height, width) pixel values; ``mask`` keeps the colour bits (0: all)."""
    import numpy as np

    step = max(1, bits_per_pixel // 8)
    rows = np.frombuffer(raw, np.uint8, stride * height).reshape(height, stride)
    if step == 4:  # the usual case: read in place (a 1080p window: ~10 ms, not ~80)
        values = np.ascontiguousarray(rows[:, : width * 4]).view("<u4")
    else:
        cells = rows[:, : width * step].reshape(height, width, step).astype(np.uint32)
        values = (cells << (8 * np.arange(step, dtype=np.uint32))).sum(axis=-1, dtype=np.uint32)
    return values & np.uint32(mask or 0xFFFFFFFF)


def is_flat(pixels: np.ndarray) -> bool:
    """True if every pixel has the same value."""
    return bool(pixels.size == 0 or (pixels == pixels.flat[0]).all())


class PaintWatch:
    """Makes sure the X server shows what the window was given (see the module).
    Idle until :meth:`arm` (the window's first image, a switch to full screen)."""

    def __init__(
        self,
        server: WindowServer,
        title: str,
        pid: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._server = server
        self._title = title
        self._pid = os.getpid() if pid is None else pid
        self._clock = clock
        self._window: int | None = None
        self.remaps = 0
        self._misses = 0
        self._armed = False
        self._next = 0.0
        self._flat_since: float | None = None

    @property
    def armed(self) -> bool:
        """True while the window's paint is not confirmed."""
        return self._armed

    def arm(self) -> None:
        """Check again from now on (the window was created, resized, switched)."""
        self._armed = True
        self._next = self._clock() + CHECK_S
        self._flat_since = None
        self._misses = 0
        self.remaps = 0

    def tick(self) -> None:
        """Look at the window if it is time; call after each frame shown."""
        if not self._armed:
            return
        now = self._clock()
        if now < self._next:
            return
        self._next = now + CHECK_S
        if self._window is None:
            self._window = self._server.find_window(self._title, self._pid)
        pixels = self._server.pixels(self._window) if self._window is not None else None
        if pixels is None:  # not found yet, or not viewable (minimised, being mapped)
            self._window = None
            self._misses += 1
            if self._misses >= MAX_MISSES:
                log.info("kiosk window not found on the X server: paint not checked")
                self._armed = False
            return
        self._misses = 0
        if not is_flat(pixels):
            self._armed = False  # painted
            return
        if self._flat_since is None:
            self._flat_since = now
        if now - self._flat_since < FLAT_S:
            return
        if self.remaps >= MAX_REMAPS:
            log.warning("kiosk window still blank after %d remaps: left as is", self.remaps)
            self._armed = False
            return
        self.remaps += 1
        log.warning("kiosk window not painted by the GUI toolkit: mapping it again")
        self._server.remap(self._window)
        self._flat_since = None
        self._next = now + FLAT_S
