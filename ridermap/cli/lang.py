"""Commands whose help and errors follow ``--lang``: Chinese by default, English with ``--lang en``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

# per language: ``None`` -> the command's help, an option's name -> its help, "help" -> --help's own
HelpTexts = Mapping[str, Mapping[Any, str]]

_FRAME = {
    "zh": {"usage": "用法：", "options": "选项"},
    "en": {"usage": "Usage: ", "options": "Options"},
}


def argv_language(args: list[str]) -> str | None:
    """``en``/``zh`` from ``--lang en`` or ``--lang=en`` among ``args``, else None.

    >>> argv_language(["x.osm", "--lang", "en"]), argv_language(["--lang=zh"]), argv_language(["--lang", "fr"])
    ('en', 'zh', None)
    """
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1] if args[i + 1] in ("zh", "en") else None
        if arg.startswith("--lang="):
            value = arg.split("=", 1)[1]
            return value if value in ("zh", "en") else None
    return None


class LanguageCommand(click.Command):
    """A command whose help is Chinese by default and English with ``--lang en``.

    Parameters
    ----------
    help_texts
        ``{"zh": {...}, "en": {...}}``: ``None`` the command's help, an
        option's name its help, ``"help"`` the help of ``--help``.
    """

    def __init__(self, *args: Any, help_texts: HelpTexts, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help_texts = help_texts

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["ridermap.lang"] = argv_language(args) or "zh"
        return super().parse_args(ctx, args)

    def _texts(self, ctx: click.Context) -> tuple[str, Mapping[Any, str]]:
        lang = ctx.meta.get("ridermap.lang", "zh")
        return lang, self.help_texts[lang]

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _, texts = self._texts(ctx)
        saved, self.help = self.help, texts[None]
        try:
            super().format_help(ctx, formatter)
        finally:
            self.help = saved

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        lang, _ = self._texts(ctx)
        pieces = self.collect_usage_pieces(ctx)
        if lang == "zh":
            pieces = [p.replace("[OPTIONS]", "[选项]") for p in pieces]
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=_FRAME[lang]["usage"])

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        lang, texts = self._texts(ctx)
        records = []
        for param in self.get_params(ctx):
            if not isinstance(param, click.Option):
                continue
            key = "help" if param is self.get_help_option(ctx) else param.name
            saved, param.help = param.help, texts.get(key, param.help)
            try:
                record = param.get_help_record(ctx)
            finally:
                param.help = saved
            if record is not None:
                records.append(record)
        with formatter.section(_FRAME[lang]["options"]):
            formatter.write_dl(records)
