"""``/contracts``: contracts drawn up from approved applications, their documents, schedules
and signing.

A contract is drawn up by the system when its application is approved. While it is a draft,
``PUT /contracts/{id}/draft`` changes the document's language and the signers' contacts (the
document is rendered again); ``GET /contracts/{id}/document`` downloads the PDF.
``POST /contracts/{id}/transitions`` with ``send_for_signature`` opens the signature
envelope; ``POST /contracts/{id}/signature-checks`` asks the provider where it stands, and
once every signer has signed ``GET /contracts/{id}/signed-document`` gives the signed PDF.
"""

from __future__ import annotations

from typing import Any

import attrs
from aiohttp import web

from leasekit.domain.contracts import Contract, DraftChanges, Payment
from leasekit.domain.partner_profiles import BankAccount, masked
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.resources import ID, get_route, list_route, revise_route, transition_route
from leasekit.server.routes.helpers import (
    actor,
    idempotency_key,
    json_response,
    run_sync,
    send_download,
    services,
)
from leasekit.services import contracts, funds
from leasekit.services.contracts import (
    ContractQuery,
    ContractRevision,
    ContractTrace,
    EnvelopeCheck,
)
from leasekit.services.funds import ReceivableLine

__all__ = ["api"]

api = ApiRoutes("contracts", "Contracts, their documents, schedules and signatures.")


def _masked(record: dict[str, Any]) -> dict[str, Any]:
    """A listed contract with its seller's account numbers cut, as replies show them."""
    account = record.get("seller_account")
    if account:
        record["seller_account"] = attrs.asdict(masked(BankAccount(**account)))
    return record


list_route(
    api, "/contracts", contracts.list_contracts, query=ContractQuery, item=Contract,
    transform=_masked,
)  # fmt: skip
get_route(api, f"/contracts/{ID}", contracts.get_contract, reply=Contract)
get_route(api, f"/contracts/{ID}/trace", contracts.trace_contract, reply=ContractTrace)
transition_route(api, f"/contracts/{ID}/transitions", contracts.transition_contract, reply=Contract)


revise_route(
    api,
    f"/contracts/{ID}/draft",
    contracts.revise_contract,
    body=DraftChanges,
    reply=Contract,
    revision=ContractRevision,
    summary="Enter data on a draft contract",
    answer="The contract, its document rendered again if anything changed.",
    description="""Sets the document's language (``en``, ``zh``), signers' e-mail
    addresses and phones (by ``customer_id``) and, for a sale-leaseback, the seller's account
    the price is paid into; what is left out stays. A draft only (409 otherwise), at the
    version ``If-Match`` names (412 if it changed since). Every change is audited.""",
)


list_route(
    api,
    f"/contracts/{ID}/receivables",
    funds.list_receivables,
    item=ReceivableLine,
    path_args=lambda request: (request.match_info["id"],),
)
list_route(
    api,
    f"/contracts/{ID}/payments",
    funds.list_contract_payments,
    item=Payment,
    path_args=lambda request: (request.match_info["id"],),
)


async def _download(request: web.Request, signed: bool) -> web.StreamResponse:
    contract, stored, chunks = await run_sync(
        request,
        contracts.contract_file,
        services(request),
        actor(request),
        request.match_info["id"],
        signed,
    )
    suffix = "-signed" if signed else ""
    return await send_download(
        request,
        chunks,
        content_type="application/pdf",
        filename=f"{contract.number}{suffix}.pdf",
        size=stored.size,
    )


@api.get(
    f"/contracts/{ID}/document",
    summary="Download the contract document",
    responses={200: Reply("The PDF to be signed.", bytes, "application/pdf")},
)
async def contract_document(request: web.Request) -> web.StreamResponse:
    """The draft's document as last rendered; its SHA-256 is the contract's
    ``document.sha256``."""
    return await _download(request, signed=False)


@api.get(
    f"/contracts/{ID}/signed-document",
    summary="Download the signed contract",
    responses={200: Reply("The PDF as every signer signed it.", bytes, "application/pdf")},
)
async def signed_contract_document(request: web.Request) -> web.StreamResponse:
    """409 until the contract is signed."""
    return await _download(request, signed=True)


@api.post(
    f"/contracts/{ID}/signature-checks",
    retryable=True,
    summary="Ask where the signature envelope stands",
    responses={200: Reply("The contract, signed if every signer has signed.", Contract)},
)
async def check_signature(request: web.Request) -> web.Response:
    """Asks the signature provider: signed, the signed PDF is stored and the contract signed;
    declined or expired, the contract goes back to draft; pending, nothing changes. A
    provider's callback can call this for the envelope it names."""
    who = actor(request)
    contracts.check_signature.authorize(who)
    checked = await run_sync(
        request,
        contracts.check_signature,
        services(request),
        who,
        EnvelopeCheck(request.match_info["id"]),
        idempotency_key=idempotency_key(request),
    )
    return json_response(request, checked)
