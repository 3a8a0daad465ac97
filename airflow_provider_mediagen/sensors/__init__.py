"""Sensors of the media-generation provider."""

from .job import MediaJobSensor

__all__ = ["MediaJobSensor"]
