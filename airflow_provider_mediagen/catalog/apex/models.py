"""Apex Studio's request and response models, as its docs state them (docs: ``apex-studio.txt``).
Split from the service's catalog module (:mod:`.`), which names them in its endpoint table."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator

from ..fields import E164, HttpsUrl, LanguageCode, NonEmpty, Url, WebhookUrl, text
from ..model import RequestModel, ResponseModel

ImageModel = Literal["grok-imagine", "flux-2-dev", "flux-2-pro", "ideogram-v3", "flux-kontext-max"]
VideoModel = Literal["wan-2.6", "kling-2.6-pro", "kling-3.0-pro", "veo-3.1"]
TTSModel = Literal["kokoro", "elevenlabs-v3", "fish-audio-s1"]
Platform = Literal["tiktok", "youtube", "instagram", "tv"]


# --- generation requests -------------------------------------------------------------------------

class ImageRequest(RequestModel):
    """POST /api/generate/image."""

    prompt: str = text(1, 2000, "Text prompt (1-2,000 chars)")
    width: int = Field(1024, ge=256, le=2048, description="Image width 256-2048")
    height: int = Field(1024, ge=256, le=2048, description="Image height 256-2048")
    steps: int = Field(4, ge=1, le=50, description="Inference steps 1-50")
    seed: int | None = Field(None, description="Reproducibility seed")
    style: Literal["photorealistic", "illustration", "3d", "flat"] | None = Field(None, description="Style")
    model: ImageModel | None = Field(None, description="Image model")
    negative_prompt: str | None = Field(None, alias="negativePrompt", description="What to avoid in the image")


class VideoRequest(RequestModel):
    """POST /api/generate/video."""

    script: str = text(1, 5000, "Video script (1-5,000 chars)")
    avatar_image: HttpsUrl | None = Field(None, alias="avatarImage", description="HTTPS URL of face image")
    voice_id: str | None = Field(None, alias="voiceId", description="Cloned voice ID")
    duration: float | None = Field(None, ge=3, le=60, description="Max seconds 3-60")
    resolution: Literal["720p", "1080p"] = Field("720p", description="720p or 1080p")
    style: Literal["professional", "casual", "energetic"] | None = Field(None, description="Style")
    model: VideoModel | None = Field(None, description="Video model")


class VoiceRequest(RequestModel):
    """POST /api/generate/voice (text to speech)."""

    text: str = Field(min_length=1, max_length=10000, description="Text to speak (1-10,000 chars)")
    voice_id: str | None = Field(None, alias="voiceId", description="Custom voice ID (or default)")
    speed: float = Field(1.0, ge=0.5, le=2.0, description="Playback speed 0.5-2.0")
    language: LanguageCode = Field("en", description="ISO language code")
    model: TTSModel | None = Field(None, description="TTS model")


class VoiceCloneRequest(RequestModel):
    """POST /api/generate/voice-clone (Creator plan or higher; synchronous)."""

    name: str = text(1, 100, "Voice name (1-100 chars)")
    sample_audio_url: HttpsUrl = Field(alias="sampleAudioUrl", description="HTTPS URL to a 15-30 s audio sample")


class AvatarRequest(RequestModel):
    """POST /api/generate/avatar: a talking head from a photo and a script or audio."""

    image: HttpsUrl = Field(description="HTTPS URL of spokesperson photo")
    resolution: Literal["480p", "720p", "1080p"] = Field(description="480p, 720p or 1080p")
    model: Literal["veed-fabric", "creatify-aurora", "kling-avatar-v2", "omnihuman-1.5"] = Field(
        description="Avatar model")
    audio: Url | None = Field(None, description="Pre-recorded audio URL")
    text: str | None = Field(None, min_length=1, description="Text to speak (if no audio)")
    voice_id: str | None = Field(None, alias="voiceId", description="Voice ID for TTS")

    @model_validator(mode="after")
    def _script_or_audio(self) -> AvatarRequest:
        if self.audio is None and self.text is None:
            raise ValueError("one of 'audio' or 'text' is required (the avatar needs a script or audio)")
        return self


class ClipRequest(RequestModel):
    """POST /api/generate/clip: the best clips of a long video."""

    source_video_url: HttpsUrl = Field(alias="sourceVideoUrl", description="HTTPS URL of source video")
    max_clips: int | None = Field(None, alias="maxClips", ge=1, le=20, description="Maximum clips 1-20")
    min_duration: float | None = Field(None, alias="minDuration", gt=0, description="Min clip seconds")
    max_duration: float | None = Field(None, alias="maxDuration", gt=0, description="Max clip seconds")
    add_captions: bool | None = Field(None, alias="addCaptions", description="Add auto-captions")
    aspect_ratio: Literal["9:16", "1:1", "16:9"] | None = Field(None, alias="aspectRatio", description="Aspect")
    viral_score_threshold: float | None = Field(
        None, alias="viralScoreThreshold", ge=1, le=10, description="Minimum viral score 1-10")

    @model_validator(mode="after")
    def _durations_ordered(self) -> ClipRequest:
        if self.min_duration and self.max_duration and self.min_duration > self.max_duration:
            raise ValueError("minDuration must not exceed maxDuration")
        return self


class BRollRequest(RequestModel):
    """POST /api/generate/b-roll."""

    prompt: str = text(description="Scene description")
    duration: float | None = Field(None, ge=3, le=6, description="Duration 3-6 seconds")
    resolution: Literal["480p", "720p"] | None = Field(None, description="480p or 720p")
    model: Literal["wan-2.6", "kling-2.6-pro"] | None = Field(None, description="Video model")


class Text2VideoRequest(RequestModel):
    """POST /api/generate/text2video."""

    script: str = text(description="Video script")
    duration: float | None = Field(None, gt=0, description="Duration in seconds")
    resolution: Literal["720p", "1080p"] | None = Field(None, description="720p or 1080p")
    style: Literal["cinematic", "documentary", "animation", "aerial"] | None = Field(None, description="Style")
    model: VideoModel | None = Field(None, description="Video model")


class CommercialRequest(RequestModel):
    """POST /api/generate/commercial: script, voiceover, visuals and composition in one job."""

    product: str = text(description="Product name/description")
    platform: Platform = Field(description="tiktok, youtube, instagram or tv")
    duration: Literal[15, 30, 60] = Field(description="15, 30 or 60 seconds")
    tone: Literal["professional", "energetic", "casual", "luxury", "funny"] = Field(description="Tone")
    target_audience: str | None = Field(None, alias="targetAudience", description="Target audience")
    spokesperson_image: Url | None = Field(None, alias="spokespersonImage", description="URL for AI spokesperson")
    product_images: list[Url] | None = Field(None, alias="productImages", description="Product image URLs")
    voice_id: str | None = Field(None, alias="voiceId", description="Custom voice ID")
    voice_model: str | None = Field(None, alias="voiceModel", description="TTS model to use")
    music_mood: str | None = Field(None, alias="musicMood", description="Background music mood")
    video_model: str | None = Field(None, alias="videoModel", description="Video generation model")


class TranslateRequest(RequestModel):
    """POST /api/generate/translate: lip-synced translation."""

    video_url: HttpsUrl = Field(alias="videoUrl", description="HTTPS URL of source video")
    output_language: LanguageCode = Field(alias="outputLanguage", description="Target language ISO code")
    preserve_original_voice: bool | None = Field(
        None, alias="preserveOriginalVoice", description="Keep original voice timbre")


class InstantAdRequest(RequestModel):
    """POST /api/generate/instant-ad: ad creatives from a landing page."""

    website_url: Url = Field(alias="websiteUrl", description="Product/landing page URL")
    platform: Literal["tiktok", "youtube", "instagram", "facebook", "linkedin"] = Field(description="Platform")
    count: int = Field(ge=1, le=4, description="Number of variations 1-4")
    style: Literal["modern", "bold", "minimal", "luxury", "playful"] = Field(description="Style")
    output_format: Literal["image", "video", "both"] | None = Field(
        None, alias="outputFormat", description="image, video or both")
    brand_profile_id: str | None = Field(None, alias="brandProfileId", description="Saved brand profile ID")


class PhotoshootRequest(RequestModel):
    """POST /api/generate/photoshoot."""

    product_image: Url = Field(alias="productImage", description="Uploaded product photo URL")
    background: Literal["studio-white", "lifestyle", "outdoor", "flat-lay", "custom"] = Field(description="Background")
    angle: Literal["front", "hero", "45-degree", "top-down", "lifestyle"] = Field(description="Camera angle")
    lighting: Literal["studio", "natural", "dramatic", "soft", "golden-hour"] = Field(description="Lighting")
    count: int = Field(ge=1, le=4, description="Number of photos 1-4")
    custom_background: str | None = Field(
        None, alias="customBackground", description="Description if background=custom")
    model: str | None = Field(None, description="Image model ID")


# --- voice agent, management, settings -----------------------------------------------------------

class OutboundCallRequest(RequestModel):
    """POST /api/voice-agent/calls/outbound."""

    agent_id: NonEmpty = Field(alias="agentId", description="Voice agent ID")
    phone_number: E164 = Field(alias="phoneNumber", description="Target phone number (E.164)")


class CreateAgentRequest(RequestModel):
    """POST /api/voice-agent/agents."""

    name: NonEmpty = Field(description="Agent display name")
    system_prompt: NonEmpty = Field(alias="systemPrompt", description="System prompt for the LLM")
    greeting: NonEmpty = Field(description="Opening greeting text")
    tts_model: TTSModel = Field(alias="ttsModel", description="TTS model")
    llm_model: NonEmpty = Field(alias="llmModel", description="LLM model for conversation")


class JobsQuery(RequestModel):
    """GET /api/jobs: all jobs, or one with ``?id=``."""

    id: str | None = Field(None, min_length=1, description="Job ID to fetch")


class CreateKeyRequest(RequestModel):
    name: NonEmpty = Field(description="Key display name")


class SettingsRequest(RequestModel):
    webhook_url: WebhookUrl = Field(alias="webhookUrl", description="HTTPS URL to receive webhook events")


# --- responses -----------------------------------------------------------------------------------

class JobAccepted(ResponseModel):
    job_id: str = Field(alias="jobId")
    status: str
    message: str | None = None
    estimated_minutes: float | None = Field(None, alias="estimatedMinutes")


class ApexJob(ResponseModel):
    job_id: str = Field(alias="jobId")
    type: str | None = None
    status: str
    output_url: str | None = Field(None, alias="outputUrl")
    output_type: str | None = Field(None, alias="outputType")
    metadata: dict[str, Any] | None = None
    error: str | None = None
    credits_charged: float | None = Field(None, alias="creditsCharged")
    credits_refunded: float | None = Field(None, alias="creditsRefunded")
    created_at: str | None = Field(None, alias="createdAt")
    completed_at: str | None = Field(None, alias="completedAt")
    failed_at: str | None = Field(None, alias="failedAt")


class VoiceClone(ResponseModel):
    voice_id: str = Field(alias="voiceId")
    message: str | None = None


class Call(ResponseModel):
    call_id: str = Field(alias="callId")
    status: str


class Agent(ResponseModel):
    id: str
    name: str


class Usage(ResponseModel):
    credits: float
    used: dict[str, Any] = {}
    plan: str


class KeyInfo(ResponseModel):
    id: str
    name: str


class CreatedKey(ResponseModel):
    """The key value is shown once; it is held as a secret so it never lands in a repr or log."""

    id: str
    name: str
    key: SecretStr


class Settings(ResponseModel):
    webhook_url: str = Field(alias="webhookUrl")


class WebhookJobData(ResponseModel):
    job_id: str = Field(alias="jobId")
    type: str
    status: Literal["completed", "failed"]
    output_url: str | None = Field(None, alias="outputUrl")
    output_type: str | None = Field(None, alias="outputType")
    metadata: dict[str, Any] | None = None
    error: str | None = None
    credits_refunded: float | None = Field(None, alias="creditsRefunded")
    created_at: str | None = Field(None, alias="createdAt")
    completed_at: str | None = Field(None, alias="completedAt")
    failed_at: str | None = Field(None, alias="failedAt")


class WebhookEvent(ResponseModel):
    """What Apex POSTs to the account webhook URL (``job.completed`` / ``job.failed``)."""

    event: Literal["job.completed", "job.failed"]
    timestamp: str
    data: WebhookJobData
