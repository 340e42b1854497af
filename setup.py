"""Package layout for setuptools (everything else is in pyproject.toml).

The project keeps its page templates and sample data in the top-level
folders ``templates/`` and ``data/``; they ship inside the package as
``ridermap.templates`` and ``ridermap.data`` (read with importlib.resources,
see ridermap/resources.py), in editable installs, wheels and ``--user``
installs alike. pyproject.toml cannot list found packages plus mapped ones,
hence this file.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["ridermap", "ridermap.*"]) + ["ridermap.templates", "ridermap.data"],
    package_dir={"ridermap.templates": "templates", "ridermap.data": "data"},
)
