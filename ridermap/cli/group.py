"""The ``ridermap`` command group: global options and the list of commands."""

from __future__ import annotations

import logging

import click

from ridermap import __version__
from ridermap.cli.boundary import Group
from ridermap.cli.build import build
from ridermap.cli.doorplates import doorplates
from ridermap.cli.export import export
from ridermap.cli.gaps import gaps
from ridermap.cli.ingest import ingest
from ridermap.cli.init import init
from ridermap.cli.poster import poster
from ridermap.cli.signs import signs
from ridermap.cli.site import site
from ridermap.cli.survey import survey
from ridermap.cli.validate import validate

COMMANDS = (build, doorplates, export, gaps, ingest, init, poster, signs, site, survey, validate)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.version_option(version=__version__, prog_name="ridermap")
def main(verbose: int, quiet: bool) -> None:
    """Rider-friendly maps of residential compounds (骑手友好型社区地图)."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("fontTools").setLevel(max(level, logging.WARNING))  # subsetting chatter at -v


for _command in COMMANDS:
    main.add_command(_command)
