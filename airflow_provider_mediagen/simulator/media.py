"""Real media files whose properties follow the request, so tests can check them.

- PNG: the requested size, content deterministic from a seed string (prompt + seed).
- WAV: 16 kHz mono 16-bit; length follows the text (about 15 characters per second at speed 1.0,
  divided by speed, at least one second).
- MP4: H.264 via PyAV (its wheel ships the encoder) at 2 frames per second with simple moving
  shapes, so a 30 s 1080p clip encodes in about a second and stays small.

Generators are pure functions of their parameters; ``files.py`` calls them lazily and caches.
"""

from __future__ import annotations

import hashlib
import io
import math
import wave

import numpy as np
from PIL import Image, ImageDraw

WAV_RATE = 16_000
CHARS_PER_SECOND = 15.0
VIDEO_FPS = 2

RESOLUTIONS: dict[str, tuple[int, int]] = {
    "480p": (854, 480),
    "720p": (1280, 720),
    "1080p": (1920, 1080),
}


def _rng(seed_text: str) -> np.random.Generator:
    digest = hashlib.sha256(seed_text.encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def _palette(seed_text: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    digest = hashlib.sha256(seed_text.encode()).digest()
    return (digest[0], digest[1], digest[2]), (digest[3], digest[4], digest[5])


def png_image(width: int, height: int, seed_text: str) -> bytes:
    """A deterministic gradient with a few shapes: same seed text, same bytes."""
    top, bottom = _palette(seed_text)
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    pixels = np.array(top, np.float32) * (1 - ramp) + np.array(bottom, np.float32) * ramp
    pixels = np.broadcast_to(pixels, (height, width, 3)).astype(np.uint8)
    image = Image.fromarray(np.ascontiguousarray(pixels), "RGB")
    draw = ImageDraw.Draw(image)
    rng = _rng(seed_text)
    for _ in range(4):
        x0, y0 = int(rng.integers(0, max(width - 1, 1))), int(rng.integers(0, max(height - 1, 1)))
        size = int(rng.integers(max(min(width, height) // 10, 1), max(min(width, height) // 3, 2)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.ellipse([x0, y0, x0 + size, y0 + size], fill=colour)
    return encode_png(image)


def encode_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=1)
    return buffer.getvalue()


def speech_seconds(text: str, speed: float = 1.0) -> float:
    """How long the simulated speech of ``text`` lasts."""
    return max(1.0, len(text) / CHARS_PER_SECOND / speed)


def wav_audio(seconds: float, seed_text: str = "") -> bytes:
    """A soft tone of ``seconds`` length (rounded to whole samples)."""
    frames = round(seconds * WAV_RATE)
    freq = 180 + (hashlib.sha256(seed_text.encode()).digest()[0] % 120)
    t = np.arange(frames, dtype=np.float32) / WAV_RATE
    samples = (0.2 * 32767 * np.sin(2 * math.pi * freq * t)).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(WAV_RATE)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


def _even(value: int) -> int:
    """H.264 with 4:2:0 chroma needs even dimensions."""
    return max(2, value - value % 2)


def mp4_video(seconds: float, width: int, height: int, seed_text: str = "", still: bytes | None = None) -> bytes:
    """An MP4 of ``seconds`` (whole frames at 2 fps) and ``width``x``height`` (made even).

    ``still`` (PNG bytes) is used as the background of every frame, e.g. a rendered template.
    """
    import av  # imported lazily: only downloads of videos need it

    width, height = _even(width), _even(height)
    frame_count = max(1, round(seconds * VIDEO_FPS))
    if still is not None:
        base = np.asarray(Image.open(io.BytesIO(still)).convert("RGB").resize((width, height)))
    else:
        top, bottom = _palette(seed_text)
        ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
        base = np.array(top, np.float32) * (1 - ramp) + np.array(bottom, np.float32) * ramp
        base = np.broadcast_to(base, (height, width, 3)).astype(np.uint8)
    box = max(min(width, height) // 6, 2)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=VIDEO_FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "35"}
        for index in range(frame_count):
            frame = base.copy()
            x = int((width - box) * (index / max(frame_count - 1, 1)))
            y = (height - box) // 2
            frame[y : y + box, x : x + box] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()
