"""``/blacklist``: the people, vehicles and partners the company will not do business with,
and their removal by two people. Back-office staff only."""

from __future__ import annotations

from leasekit.domain.blacklist import BlacklistEntry
from leasekit.server.openapi import ApiRoutes
from leasekit.server.resources import ID, create_route, get_route, list_route, transition_route
from leasekit.services import blacklist
from leasekit.services.blacklist import AddToBlacklist, BlacklistQuery

__all__ = ["api"]

api = ApiRoutes("blacklist", "Who and what the company will not do business with, and why.")

create_route(api, "/blacklist", blacklist.add_to_blacklist, body=AddToBlacklist,
             reply=BlacklistEntry)  # fmt: skip
list_route(api, "/blacklist", blacklist.list_blacklist, query=BlacklistQuery, item=BlacklistEntry)
get_route(api, f"/blacklist/{ID}", blacklist.get_blacklist_entry, reply=BlacklistEntry)
transition_route(
    api, f"/blacklist/{ID}/transitions", blacklist.transition_blacklist_entry,
    reply=BlacklistEntry,
)  # fmt: skip
