"""``/partners/{id}/onboarding-documents``: what a partner must upload before it is approved."""

from __future__ import annotations

from leasekit.domain.partner_onboarding import OnboardingChecklist
from leasekit.server.openapi import ApiRoutes
from leasekit.server.resources import ID, get_route
from leasekit.services import partner_onboarding

__all__ = ["api"]

api = ApiRoutes("partner onboarding", "The documents a partner supplies before it is approved.")

get_route(
    api,
    f"/partners/{ID}/onboarding-documents",
    partner_onboarding.get_onboarding_checklist,
    reply=OnboardingChecklist,
)
