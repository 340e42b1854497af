"""Exceptions raised by ridermap.

Every error the library raises on purpose is a :class:`RidermapError`; each
subclass also subclasses the matching built-in so callers can catch either.
Messages name what was received and where (file, layer, row or OSM id). An
error may carry a Chinese message beside the English one (``zh=``); the CLI
picks one by language with :meth:`RidermapError.message`.
"""

from __future__ import annotations


class RidermapError(Exception):
    """Base class of every error ridermap raises on purpose.

    Parameters
    ----------
    message
        The English message (also ``str(exc)``).
    zh
        The same message in Chinese, when there is one.
    """

    def __init__(self, message: str = "", *args: object, zh: str | None = None) -> None:
        super().__init__(message, *args)
        self.zh = zh

    def message(self, language: str = "en") -> str:
        """The first line of the message in ``language`` (``zh`` falls back to English).

        >>> InputError("x.csv: file is empty", zh="x.csv：文件为空").message("zh")
        'x.csv：文件为空'
        >>> InputError("x.csv: file is empty").message("zh")
        'x.csv: file is empty'
        """
        text = self.zh if language == "zh" and self.zh else str(self)
        return text.splitlines()[0] if text else type(self).__name__


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
