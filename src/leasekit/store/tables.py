"""Every table, on one ``MetaData``: importing this module loads each feature's row classes.

Tables are declared beside their repositories, by feature; this module imports every module
of :mod:`leasekit.store` (the migration scripts aside), so the migrations, their test and the
unit of work see the whole schema, a new feature's included.
"""

from __future__ import annotations

from leasekit.discovery import submodules
from leasekit.store.schema import metadata

__all__ = ["metadata"]

submodules("leasekit.store", besides={"migrations", "tables", "uow"})
