"""Page templates of ridermap, installed as the package data ``ridermap.templates`` (see ``ridermap/resources.py``)."""
