"""Ddukddak's bundled templates and their rendering with Pillow.

A template has a size and named layers (a filled rectangle, a text box or an image box). A request's
``properties`` override layers by ``name``: ``text``, ``color`` (text colour), ``fillColor``,
``fontSize``, ``image_url`` and ``hide``; unknown keys and unknown layer names are ignored, as the
contract says the service does. Image layers are drawn as a labelled placeholder: the simulator never
fetches a user-supplied URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from PIL import Image, ImageColor, ImageDraw, ImageFont

from .media import encode_png


@dataclass(frozen=True)
class Layer:
    name: str
    kind: str  # "rect" | "text" | "image"
    box: tuple[int, int, int, int]
    fill: str = "#000000"  # rect fill / text colour / image placeholder colour
    text: str = ""
    font_size: int = 32


@dataclass(frozen=True)
class Template:
    uid: str
    slug: str
    name: str
    width: int
    height: int
    layers: tuple[Layer, ...]


TEMPLATES: tuple[Template, ...] = (
    Template(
        uid="5b1e2c1a-7a64-4f0e-9d55-3c0b6a2f9e01",
        slug="summer-sale-banner",
        name="Summer Sale Banner",
        width=1200,
        height=628,
        layers=(
            Layer("background", "rect", (0, 0, 1200, 628), fill="#1E90FF"),
            Layer("title", "text", (80, 150, 1120, 330), fill="#FFFFFF", text="Summer Sale", font_size=120),
            Layer("subtitle", "text", (80, 360, 1120, 480), fill="#FFF3B0", text="Up to 30% OFF", font_size=72),
        ),
    ),
    Template(
        uid="8d0f4c52-2b7e-4a39-8f61-1e5d7c9a0b02",
        slug="product-card",
        name="Product Card",
        width=800,
        height=800,
        layers=(
            Layer("background", "rect", (0, 0, 800, 800), fill="#F5F5F5"),
            Layer("image", "image", (150, 80, 650, 520), fill="#CCCCCC"),
            Layer("name", "text", (60, 560, 740, 650), fill="#222222", text="Product", font_size=56),
            Layer("price", "text", (60, 670, 740, 750), fill="#E4572E", text="$19.99", font_size=48),
        ),
    ),
    Template(
        uid="c3a9e7d4-6f18-4b2a-a0c5-9e8b7d6f5a03",
        slug="quote-square",
        name="Quote Square",
        width=1080,
        height=1080,
        layers=(
            Layer("background", "rect", (0, 0, 1080, 1080), fill="#2D2A32"),
            Layer("quote", "text", (90, 250, 990, 750), fill="#FFFFFF", text="Make it simple.", font_size=80),
            Layer("author", "text", (90, 800, 990, 900), fill="#DDD92A", text="- Anonymous", font_size=48),
        ),
    ),
)


def find_template(ref: str) -> Template | None:
    """A template by slug or UUID (case-insensitive)."""
    ref = ref.strip().lower()
    return next((t for t in TEMPLATES if ref in (t.slug, t.uid)), None)


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _colour(value: Any, fallback: str) -> tuple[int, int, int]:
    try:
        return ImageColor.getrgb(str(value))[:3]
    except ValueError:
        return ImageColor.getrgb(fallback)[:3]


def render(template: Template, properties: list[dict[str, Any]]) -> bytes:
    """Render ``template`` with ``properties`` applied, as PNG bytes."""
    overrides = {str(p.get("name")): p for p in properties if isinstance(p, dict)}
    image = Image.new("RGB", (template.width, template.height), "#FFFFFF")
    draw = ImageDraw.Draw(image)
    for layer in template.layers:
        props = overrides.get(layer.name, {})
        if props.get("hide") is True:
            continue
        if layer.kind == "rect":
            draw.rectangle(layer.box, fill=_colour(props.get("fillColor", layer.fill), layer.fill))
        elif layer.kind == "image":
            fill = _colour(props.get("fillColor", layer.fill), layer.fill)
            draw.rectangle(layer.box, fill=fill, outline=(90, 90, 90), width=4)
            label = "image" if not props.get("image_url") else str(props["image_url"])[-40:]
            draw.text((layer.box[0] + 16, layer.box[1] + 16), label, fill=(60, 60, 60), font=_font(24))
        else:
            text = str(props.get("text", layer.text))
            size = props.get("fontSize", layer.font_size)
            size = int(size) if isinstance(size, (int, float)) and 4 <= size <= 512 else layer.font_size
            colour = _colour(props.get("color", layer.fill), layer.fill)
            draw.multiline_text((layer.box[0], layer.box[1]), text, fill=colour, font=_font(size))
    return encode_png(image)
