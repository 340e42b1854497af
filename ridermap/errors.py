"""Exceptions raised by ridermap.

Every error the library raises on purpose is a :class:`RidermapError`; each
subclass also subclasses the matching built-in so callers can catch either.
Messages name what was received and where (file, layer, row or OSM id).
"""
from __future__ import annotations


class RidermapError(Exception):
    """Base class of every error ridermap raises on purpose."""


class InputError(RidermapError, ValueError):
    """An input file is unreadable, empty, truncated or malformed."""


class ValidationError(RidermapError, ValueError):
    """Data was read but is inconsistent (duplicate ids, invalid geometry...)."""


class ConfigError(RidermapError, ValueError):
    """The TOML config or a command-line option is wrong."""


class CRSError(RidermapError, ValueError):
    """A coordinate reference system is unknown or coordinates do not fit it."""


class RenderError(RidermapError, RuntimeError):
    """Output cannot be rendered as asked (labels do not fit, no CJK font...)."""


class VerificationError(RidermapError, RuntimeError):
    """Printed output does not read back as what was meant (QR decode mismatch)."""
