"""The reference HTTP server: a JSON API over the services, described by OpenAPI, with
errors as application/problem+json. The only package that imports aiohttp."""

from __future__ import annotations

from leasekit.server.app import create_app

__all__ = ["create_app"]
