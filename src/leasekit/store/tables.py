"""Every table, on one ``MetaData``: importing this module loads each feature's row classes.

Tables are declared beside their repositories, by feature; this is the one place that lists
the features, for the migrations (and their test) to see the whole schema.
"""

from __future__ import annotations

from leasekit.store import audit, contracts, identity, ledger, origination, outbox, parties
from leasekit.store.schema import metadata

__all__ = ["FEATURES", "metadata"]

FEATURES = (identity, parties, origination, contracts, ledger, outbox, audit)
"""The modules whose tables make up the schema."""
