"""Sample data and survey templates of ridermap, installed as the package data ``ridermap.data`` (see ``ridermap/resources.py``)."""
