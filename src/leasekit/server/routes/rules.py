"""``/rule-sets`` and ``/rule-set-versions``: the credit and fraud rules as versioned data,
published by a second person, and tried on a case's facts before anyone relies on them.
Back-office staff only."""

from __future__ import annotations

from aiohttp import web

from leasekit.domain.rules import RuleSetVersion
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.resources import ID, create_route, get_route, list_route, transition_route
from leasekit.server.routes.helpers import actor, json_response, read_json, run_sync, services
from leasekit.services import rules
from leasekit.services.rules import CaseFacts, RuleResult, RuleSetQuery, SaveRuleSet

__all__ = ["api"]

api = ApiRoutes("rules", "Credit and fraud rule sets: versions, publication and dry runs.")

create_route(
    api, "/rule-sets", rules.save_rule_set, body=SaveRuleSet, reply=RuleSetVersion,
    location="/rule-set-versions/{id}",
)  # fmt: skip
list_route(api, "/rule-set-versions", rules.list_rule_set_versions, query=RuleSetQuery,
           item=RuleSetVersion)  # fmt: skip
get_route(api, f"/rule-set-versions/{ID}", rules.get_rule_set_version, reply=RuleSetVersion)
transition_route(
    api, f"/rule-set-versions/{ID}/transitions", rules.transition_rule_set_version,
    reply=RuleSetVersion,
)  # fmt: skip


@api.post(
    f"/rule-set-versions/{ID}/dry-run",
    summary="Evaluate a rule set version over facts, changing nothing",
    body=CaseFacts,
    responses={200: Reply("What the rules say of the case.", RuleResult)},
)
async def dry_run(request: web.Request) -> web.Response:
    """Any version, draft or published: the rules that fire, their reasons and points, and
    the most severe action. Facts left out are null; a rule comparing a null fact refers the
    case. Back-office staff only."""
    who = actor(request)
    facts: object = await read_json(request, CaseFacts)
    result = await run_sync(
        request, rules.dry_run, services(request), who, request.match_info["id"], facts
    )
    return json_response(request, result)
