"""Hooks of the media-generation services."""

from .mediagen import MediaGenHook, hook_for  # noqa: F401
from .mediagen import __all__ as _names
from . import mediagen as _module

globals().update({name: getattr(_module, name) for name in _names})
__all__ = list(_names)
