"""Triggers of the media-generation provider."""

from .completions import MediaCompletionsTrigger
from .job import MediaJobTrigger

__all__ = ["MediaCompletionsTrigger", "MediaJobTrigger"]
