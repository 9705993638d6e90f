"""The reviewer web app (Flask): a thin skin over ``pipeline.store``.

``create_app(db_url)`` builds it; ``waspada serve`` runs it on loopback.
"""

from pipeline.web.app import create_app

__all__ = ["create_app"]
