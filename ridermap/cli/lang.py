"""Commands whose help and errors follow ``--lang``: Chinese by default, English with ``--lang en``."""

from __future__ import annotations

from typing import Any

import click

from ridermap import i18n


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
    help_space
        The space of :mod:`ridermap.i18n` holding the help: ``command`` the
        command's own, an option's name (``crs``, ``config_path`` …) its
        help, ``help`` the help of ``--help``. Options without an entry keep
        their English help.
    """

    def __init__(self, *args: Any, help_space: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help_space = help_space

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["ridermap.lang"] = argv_language(args) or "zh"
        return super().parse_args(ctx, args)

    def _lang(self, ctx: click.Context) -> str:
        return i18n.language(ctx.meta.get("ridermap.lang", "zh"))

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        saved, self.help = self.help, i18n.t(f"{self.help_space}.command", self._lang(ctx))
        try:
            super().format_help(ctx, formatter)
        finally:
            self.help = saved

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        lang = self._lang(ctx)
        pieces = self.collect_usage_pieces(ctx)
        if lang == "zh":
            pieces = [p.replace("[OPTIONS]", "[选项]") for p in pieces]
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=i18n.t("cli.usage", lang))

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        lang = self._lang(ctx)
        texts = i18n.words(self.help_space, lang)
        records = []
        for param in self.get_params(ctx):
            if not isinstance(param, click.Option):
                continue
            key = "help" if param is self.get_help_option(ctx) else param.name
            saved, param.help = param.help, texts.get(key or "", param.help)
            try:
                record = param.get_help_record(ctx)
            finally:
                param.help = saved
            if record is not None:
                records.append(record)
        with formatter.section(i18n.t("cli.options", lang)):
            formatter.write_dl(records)
