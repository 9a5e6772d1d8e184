"""What the server needs from the composition root, as a protocol.

The server builds nothing itself: :func:`leasekit.server.create_app` asks
``leasekit.runtime.build_runtime(settings, plugin_manager)`` for an object of this shape when
the app starts and closes it when the app stops. Tests hand ``_build_app`` a stub instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from leasekit.domain.identity import Actor
    from leasekit.services.context import ServiceContext
    from leasekit.services.end_of_day import PartitionRunner

__all__ = ["Runtime"]


class Runtime(Protocol):
    """The wired application: services, authentication, the database check. All synchronous;
    the server calls each in its thread pool."""

    @property
    def services(self) -> ServiceContext:
        """The context every service function takes first."""
        ...

    def authenticate(self, token: str) -> Actor:
        """The actor a bearer token belongs to; raises AuthenticationError otherwise."""
        ...

    def check_database(self) -> None:
        """Return if the database answers a trivial query; raise anything otherwise."""
        ...

    def partition_runner(self) -> PartitionRunner:
        """How the close of business gets its partitions done, as the settings ask: in this
        process, or by ``leasekit worker`` processes."""
        ...

    def close(self) -> None:
        """Release the engine, adapters and threads the runtime opened."""
        ...
