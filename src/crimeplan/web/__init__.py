"""The web dashboard, JSON API and static site: thin layers over the measures engine.

    from crimeplan.web import create_app        # FastAPI application (crimeplan serve)
    from crimeplan.web.publish import publish   # the static site (crimeplan publish OUT_DIR)
"""

from crimeplan.web.app import create_app

__all__ = ["create_app"]
