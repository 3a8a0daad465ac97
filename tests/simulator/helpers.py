"""Small helpers shared by the simulator tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


DD = bearer("dd_live_demo")
APEX = bearer("sk_live_demo")
FDB = bearer("fdb_demo")


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.02) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def photo_jpg() -> bytes:
    """A small real JPEG, as ``photo.jpg`` in the FaceDub examples."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "#C08060").save(buffer, format="JPEG")
    return buffer.getvalue()


def video_mp4() -> bytes:
    """Bytes that start like an MP4 (``ftyp`` box), as ``video.mp4`` in the FaceDub examples."""
    return b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64


def facedub_files() -> dict[str, tuple[str, bytes, str]]:
    return {
        "character_photo": ("photo.jpg", photo_jpg(), "image/jpeg"),
        "reference_video": ("video.mp4", video_mp4(), "video/mp4"),
    }


def mp4_info(data: bytes) -> tuple[float, int, int]:
    """(duration in seconds, width, height) of MP4 bytes, read back with PyAV."""
    import io

    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        duration = (
            float(container.duration) / 1_000_000 if container.duration else float(stream.duration * stream.time_base)
        )
        return duration, stream.codec_context.width, stream.codec_context.height


def wav_seconds(data: bytes) -> float:
    import io
    import wave

    with wave.open(io.BytesIO(data)) as w:
        return w.getnframes() / w.getframerate()


def png_size(data: bytes) -> tuple[int, int]:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.size
