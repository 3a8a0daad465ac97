"""What each Apex generation endpoint accepts (its body, as the docs state it) and produces (the file and
metadata the simulator makes for a job of that kind), and what it costs. Split from the service module
(:mod:`.`), which routes requests through this table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ...media import RESOLUTIONS, mp4_video, png_image, speech_seconds, wav_audio
from ...urls import is_http_url, is_https_url


def iso(ts: float | None) -> str | None:
    """ISO-8601 UTC with a ``Z``, as in the docs' examples."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _https(value: str) -> str:
    if not is_https_url(value):
        raise ValueError("must be an HTTPS URL")
    return value


def _http(value: str) -> str:
    if not is_http_url(value):
        raise ValueError("must be an http(s) URL")
    return value


HttpsUrl = Annotated[str, AfterValidator(_https)]
HttpUrl = Annotated[str, AfterValidator(_http)]
Number = float


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class ImageRequest(_Body):
    prompt: str = Field(min_length=1, max_length=2000)
    width: int = Field(default=1024, ge=256, le=2048)
    height: int = Field(default=1024, ge=256, le=2048)
    steps: int = Field(default=4, ge=1, le=50)
    seed: int | None = None
    style: Literal["photorealistic", "illustration", "3d", "flat"] | None = None
    model: Literal["grok-imagine", "flux-2-dev", "flux-2-pro", "ideogram-v3", "flux-kontext-max"] | None = None
    negativePrompt: str | None = None


VideoModel = Literal["wan-2.6", "kling-2.6-pro", "kling-3.0-pro", "veo-3.1"]


class VideoRequest(_Body):
    script: str = Field(min_length=1, max_length=5000)
    avatarImage: HttpsUrl | None = None
    voiceId: str | None = None
    duration: Number | None = Field(default=None, ge=3, le=60)
    resolution: Literal["720p", "1080p"] = "720p"
    style: Literal["professional", "casual", "energetic"] | None = None
    model: VideoModel | None = None


class VoiceRequest(_Body):
    text: str = Field(min_length=1, max_length=10000)
    voiceId: str | None = None
    speed: Number = Field(default=1.0, ge=0.5, le=2.0)
    language: str = Field(default="en", min_length=2, max_length=16)
    model: Literal["kokoro", "elevenlabs-v3", "fish-audio-s1"] | None = None


class VoiceCloneRequest(_Body):
    name: str = Field(min_length=1, max_length=100)
    sampleAudioUrl: HttpsUrl


class AvatarRequest(_Body):
    image: HttpsUrl
    resolution: Literal["480p", "720p", "1080p"]
    model: Literal["veed-fabric", "creatify-aurora", "kling-avatar-v2", "omnihuman-1.5"]
    audio: HttpUrl | None = None
    text: str | None = Field(default=None, min_length=1, max_length=10000)
    voiceId: str | None = None

    @model_validator(mode="after")
    def _speech(self) -> AvatarRequest:
        if self.audio is None and self.text is None:
            raise ValueError("text or audio is required")
        return self


class ClipRequest(_Body):
    sourceVideoUrl: HttpsUrl
    maxClips: int | None = Field(default=None, ge=1, le=20)
    minDuration: Number | None = Field(default=None, gt=0)
    maxDuration: Number | None = Field(default=None, gt=0)
    addCaptions: bool | None = None
    aspectRatio: Literal["9:16", "1:1", "16:9"] | None = None
    viralScoreThreshold: Number | None = Field(default=None, ge=1, le=10)


class BRollRequest(_Body):
    prompt: str = Field(min_length=1, max_length=5000)
    duration: Number | None = Field(default=None, ge=3, le=6)
    resolution: Literal["480p", "720p"] | None = None
    model: Literal["wan-2.6", "kling-2.6-pro"] | None = None


class Text2VideoRequest(_Body):
    script: str = Field(min_length=1, max_length=5000)
    duration: Number | None = Field(default=None, gt=0, le=120)
    resolution: Literal["720p", "1080p"] | None = None
    style: Literal["cinematic", "documentary", "animation", "aerial"] | None = None
    model: VideoModel | None = None


class CommercialRequest(_Body):
    product: str = Field(min_length=1)
    platform: Literal["tiktok", "youtube", "instagram", "tv"]
    duration: Literal[15, 30, 60]
    tone: Literal["professional", "energetic", "casual", "luxury", "funny"]
    targetAudience: str | None = None
    spokespersonImage: HttpUrl | None = None
    productImages: list[HttpUrl] | None = None
    voiceId: str | None = None
    voiceModel: str | None = None
    musicMood: str | None = None
    videoModel: str | None = None


class TranslateRequest(_Body):
    videoUrl: HttpsUrl
    outputLanguage: str = Field(min_length=2, max_length=16)
    preserveOriginalVoice: bool | None = None


class InstantAdRequest(_Body):
    websiteUrl: HttpUrl
    platform: Literal["tiktok", "youtube", "instagram", "facebook", "linkedin"]
    count: int = Field(ge=1, le=4)
    style: Literal["modern", "bold", "minimal", "luxury", "playful"]
    outputFormat: Literal["image", "video", "both"] = "image"
    brandProfileId: str | None = None


class PhotoshootRequest(_Body):
    productImage: HttpUrl
    background: Literal["studio-white", "lifestyle", "outdoor", "flat-lay", "custom"]
    angle: Literal["front", "hero", "45-degree", "top-down", "lifestyle"]
    lighting: Literal["studio", "natural", "dramatic", "soft", "golden-hour"]
    count: int = Field(ge=1, le=4)
    customBackground: str | None = None
    model: str | None = None

    @model_validator(mode="after")
    def _custom(self) -> PhotoshootRequest:
        if self.background == "custom" and not self.customBackground:
            raise ValueError("customBackground is required when background is custom")
        return self


class AgentRequest(_Body):
    name: str = Field(min_length=1, max_length=100)
    systemPrompt: str = Field(min_length=1)
    greeting: str = Field(min_length=1)
    ttsModel: Literal["kokoro", "elevenlabs-v3", "fish-audio-s1"]
    llmModel: str = Field(min_length=1)


class OutboundCallRequest(_Body):
    agentId: str = Field(min_length=1)
    phoneNumber: str = Field(pattern=r"^\+[1-9]\d{1,14}$")


class KeyRequest(_Body):
    name: str = Field(min_length=1, max_length=100)


class SettingsRequest(_Body):
    webhookUrl: str = Field(min_length=1, max_length=2048)


# --- outputs per job type ------------------------------------------------------------------------
@dataclass(frozen=True)
class Output:
    filename: str
    content_type: str
    make: Callable[[], bytes]
    metadata: dict[str, Any]


def _vertical(platform: str) -> tuple[int, int]:
    return (720, 1280) if platform in ("tiktok", "instagram") else (1280, 720)


def _image(b: ImageRequest) -> Output:
    seed = f"{b.prompt}|{b.seed}|{b.model}|{b.style}"
    meta = {"model": b.model or "flux-2-dev", "width": b.width, "height": b.height}
    return Output("output.png", "image/png", lambda: png_image(b.width, b.height, seed), meta)


def _video(b: VideoRequest) -> Output:
    seconds = float(b.duration or 10)
    w, h = RESOLUTIONS[b.resolution]
    meta = {"model": b.model or "wan-2.6", "durationSeconds": seconds, "resolution": b.resolution}
    return Output("output.mp4", "video/mp4", lambda: mp4_video(seconds, w, h, b.script), meta)


def _voice(b: VoiceRequest) -> Output:
    seconds = round(speech_seconds(b.text, b.speed), 3)
    meta = {"model": b.model or "kokoro", "durationSeconds": seconds, "language": b.language}
    return Output("output.wav", "audio/wav", lambda: wav_audio(seconds, b.text), meta)


def _avatar(b: AvatarRequest) -> Output:
    seconds = round(speech_seconds(b.text), 3) if b.text else 10.0
    w, h = RESOLUTIONS[b.resolution]
    meta = {"model": b.model, "durationSeconds": seconds, "resolution": b.resolution}
    return Output("output.mp4", "video/mp4", lambda: mp4_video(seconds, w, h, b.image), meta)


def _clip(b: ClipRequest) -> Output:
    count = b.maxClips or 3
    seconds = float(min(b.maxDuration or 30, 60))
    if b.minDuration:
        seconds = max(seconds, float(min(b.minDuration, 60)))
    floor = b.viralScoreThreshold or 5
    scores = [round(min(10.0, floor + (10 - floor) * (count - i) / (count + 1)), 1) for i in range(count)]
    w, h = {"9:16": (720, 1280), "1:1": (720, 720), "16:9": (1280, 720)}[b.aspectRatio or "9:16"]
    meta = {"clipCount": count, "viralScores": scores}
    return Output("output.mp4", "video/mp4", lambda: mp4_video(seconds, w, h, b.sourceVideoUrl), meta)


def _b_roll(b: BRollRequest) -> Output:
    seconds = float(b.duration or 5)
    resolution = b.resolution or "720p"
    w, h = RESOLUTIONS[resolution]
    meta = {"model": b.model or "wan-2.6", "durationSeconds": seconds, "resolution": resolution}
    return Output("output.mp4", "video/mp4", lambda: mp4_video(seconds, w, h, b.prompt), meta)


def _text2video(b: Text2VideoRequest) -> Output:
    seconds = float(b.duration or 10)
    resolution = b.resolution or "720p"
    w, h = RESOLUTIONS[resolution]
    meta = {"model": b.model or "wan-2.6", "durationSeconds": seconds, "resolution": resolution}
    return Output("output.mp4", "video/mp4", lambda: mp4_video(seconds, w, h, b.script), meta)


def _commercial(b: CommercialRequest) -> Output:
    seconds = float(b.duration)
    w, h = _vertical(b.platform)
    scenes = [f"scene-{i + 1}" for i in range(max(1, b.duration // 5))]
    meta = {"sceneClips": scenes, "platform": b.platform, "duration": b.duration}
    return Output("output.mp4", "video/mp4", lambda: mp4_video(seconds, w, h, b.product), meta)


def _translate(b: TranslateRequest) -> Output:
    meta = {"outputLanguage": b.outputLanguage, "durationSeconds": 10.0}
    return Output("output.mp4", "video/mp4", lambda: mp4_video(10.0, 1280, 720, b.videoUrl), meta)


def _instant_ad(b: InstantAdRequest) -> Output:
    meta = {"variationCount": b.count, "platform": b.platform, "format": b.outputFormat}
    if b.outputFormat == "image":
        return Output("output.png", "image/png", lambda: png_image(1080, 1080, b.websiteUrl), meta)
    w, h = _vertical(b.platform)
    return Output("output.mp4", "video/mp4", lambda: mp4_video(15.0, w, h, b.websiteUrl), meta)


def _photoshoot(b: PhotoshootRequest) -> Output:
    meta = {"photoCount": b.count, "background": b.background, "lighting": b.lighting}
    seed = f"{b.productImage}|{b.background}|{b.angle}|{b.lighting}"
    return Output("output.png", "image/png", lambda: png_image(1024, 1024, seed), meta)


@dataclass(frozen=True)
class GenerationKind:
    model: type[_Body]
    cost: Callable[[Any], int]
    label: str
    output: Callable[[Any], Output]


INSTANT_AD_COSTS = {"image": 500, "video": 1000, "both": 1250}

GENERATION: dict[str, GenerationKind] = {
    "image": GenerationKind(ImageRequest, lambda b: 10, "Image generation", _image),
    "video": GenerationKind(VideoRequest, lambda b: 250, "Video generation", _video),
    "voice": GenerationKind(VoiceRequest, lambda b: 80, "Voice generation", _voice),
    "avatar": GenerationKind(AvatarRequest, lambda b: 750, "Avatar video generation", _avatar),
    "clip": GenerationKind(ClipRequest, lambda b: 30, "Auto-clip", _clip),
    "b-roll": GenerationKind(BRollRequest, lambda b: 150, "B-roll generation", _b_roll),
    "text2video": GenerationKind(Text2VideoRequest, lambda b: 250, "Text to video", _text2video),
    "commercial": GenerationKind(CommercialRequest, lambda b: 3000, "Commercial generation", _commercial),
    "translate": GenerationKind(TranslateRequest, lambda b: 1800, "Video translation", _translate),
    "instant-ad": GenerationKind(
        InstantAdRequest, lambda b: INSTANT_AD_COSTS[b.outputFormat], "Instant ad", _instant_ad
    ),
    "photoshoot": GenerationKind(PhotoshootRequest, lambda b: 30, "Product photoshoot", _photoshoot),
}
VOICE_CLONE_COST = 80
OUTBOUND_CALL_COST = 10
