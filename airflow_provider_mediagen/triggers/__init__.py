"""Triggers of the media-generation provider."""

from .job import MediaJobTrigger

__all__ = ["MediaJobTrigger"]
