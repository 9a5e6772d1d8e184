"""*Contracts*: the contracts drawn up from approved applications, and one contract's page:
its history, its document (and the signed one), data entry on the draft, sending it for
signature and asking where the signature stands, the documents the payout needs, and the
schedule of receivables."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs
from aiohttp import web

from leasekit.domain.contracts import (
    CONTRACT_LIFECYCLE,
    LANGUAGES,
    Contract,
    ContractState,
    DraftChanges,
    SignerContact,
)
from leasekit.domain.documents import DocumentKind, OwnerKind
from leasekit.domain.identity import Actor
from leasekit.errors import PermissionDeniedError, ValidationError
from leasekit.server.routes.helpers import actor, run_sync, send_download, services
from leasekit.server.workbench.forms import (
    Form,
    done,
    file_chunks,
    form_file,
    form_text,
    form_texts,
    form_version,
    next_page_url,
    read_filters,
    upload_form,
)
from leasekit.server.workbench.handlers import form_handler, page_handler
from leasekit.server.workbench.render import NOTICES, render
from leasekit.services import contracts, documents, funds
from leasekit.services.contracts import (
    ContractQuery,
    ContractRevision,
    EnvelopeCheck,
    TraceEntry,
)
from leasekit.services.documents import UploadDocument
from leasekit.services.funds import ReceivableLine
from leasekit.services.storage import Page

__all__ = ["routes"]

routes = web.RouteTableDef()

NOTICES.update(
    {
        "contract_revised": "The contract's data is saved and its document rendered again.",
        "contract_send_for_signature": "The contract is out for signature.",
        "contract_recall": "The contract is recalled to draft.",
        "contract_cancel": "The contract is cancelled.",
        "contract_request_disbursement": "The payout is queued again.",
        "contract_checked": "The signature provider was asked where the signature stands.",
        "contract_uploaded": "The document is uploaded.",
    }
)


def _may(check: Callable[[Actor], None], who: Actor) -> bool:
    """Whether the reader's role may run a service at all (its own authorisation)."""
    try:
        check(who)
    except PermissionDeniedError:
        return False
    return True


@routes.get("/workbench/contracts")
@page_handler
async def contract_list(request: web.Request) -> web.StreamResponse:
    """Contracts the reader may see, filtered by state, application or number, paged."""
    query, given = read_filters(request, ContractQuery)
    page = await run_sync(
        request, contracts.list_contracts, services(request), actor(request), query,
        after=request.query.get("after"),
    )  # fmt: skip
    context = {
        "contracts": page.items,
        "next_url": next_page_url(request, page),
        "filters": given,
        "states": [state.value for state in ContractState],
    }
    return render(request, "contracts.html", context)


@routes.get("/workbench/contracts/{id}")
@page_handler
async def contract_page(request: web.Request) -> web.StreamResponse:
    """One contract: what it says, where its signing stands, what may be done with it, its
    documents, its history (for the back office) and its schedule, paged."""
    who, ctx, contract_id = actor(request), services(request), request.match_info["id"]
    contract = await run_sync(request, contracts.get_contract, ctx, who, contract_id)
    schedule: Page[ReceivableLine] = await run_sync(
        request, funds.list_receivables, ctx, who, contract_id,
        after=request.query.get("after"),
    )  # fmt: skip
    files = await run_sync(
        request, documents.list_documents, ctx, who, OwnerKind.CONTRACT, contract_id,
        kind=None, after=None, limit=100,
    )  # fmt: skip
    context = {
        "contract": contract,
        "trace": await _trace(request, who, contract_id),
        "schedule": schedule.items,
        "next_url": next_page_url(request, schedule),
        "files": files.items,
        **_offers(contract, who),
    }
    return render(request, "contract.html", context)


@attrs.frozen
class Step:
    """One entry of the contract's timeline: when, what, who, and why if a reason was given."""

    at: datetime
    action: str
    actor_id: str | None
    reason: str | None


def _step(entry: TraceEntry) -> Step:
    payload = entry.details.get("payload")
    given = payload.get("reason") if isinstance(payload, dict) else entry.details.get("reason")
    return Step(entry.at, entry.action, entry.actor_id, given if isinstance(given, str) else None)


async def _trace(request: web.Request, who: Actor, contract_id: str) -> list[Step] | None:
    """The contract's history, for the back office (it shows reviewers' reasons)."""
    try:
        trace = await run_sync(
            request, contracts.trace_contract, services(request), who, contract_id
        )
    except PermissionDeniedError:
        return None
    return [_step(entry) for entry in trace.entries]


def _offers(contract: Contract, who: Actor) -> dict[str, Any]:
    """The forms the page offers the reader: the lifecycle's moves their role may make from
    the contract's state, data entry on a draft, a signature check while it is out."""
    moves = CONTRACT_LIFECYCLE.actions_from(contract.state, who.role)
    return {
        "moves": [(move, _needs_reason(contract.state, move)) for move in moves],
        "editable": contract.state is ContractState.DRAFT
        and _may(contracts.revise_contract.authorize, who),
        "checkable": contract.state is ContractState.SENT_FOR_SIGNATURE
        and _may(contracts.check_signature.authorize, who),
        "may_upload": _may(documents.record_document.authorize, who),
        "document_languages": sorted(LANGUAGES),
        "kinds": [kind.value for kind in DocumentKind],
    }


def _needs_reason(state: str, move: str) -> bool:
    row = CONTRACT_LIFECYCLE.transition(state, move)
    return row is not None and row.reason_required


@routes.post("/workbench/contracts/{id}/moves")
@form_handler
async def move_contract(request: web.Request) -> web.StreamResponse:
    """Send for signature, recall, cancel ... at the version the page showed."""
    form = await request.post()
    action = CONTRACT_LIFECYCLE.parse_action(form_text(form, "action", 64))
    await run_sync(
        request, contracts.transition_contract, services(request), actor(request),
        request.match_info["id"], action, form_text(form, "reason", 1000) or None,
        expected_version=form_version(form),
    )  # fmt: skip
    raise done(form, f"contract_{action}")


@routes.post("/workbench/contracts/{id}/signature-checks")
@form_handler
async def check_signature(request: web.Request) -> web.StreamResponse:
    """Ask the signature provider where the envelope stands (signed, the payout queues)."""
    form = await request.post()
    check = EnvelopeCheck(request.match_info["id"])
    await run_sync(request, contracts.check_signature, services(request), actor(request), check)
    raise done(form, "contract_checked")


@routes.post("/workbench/contracts/{id}/draft")
@form_handler
async def revise_draft(request: web.Request) -> web.StreamResponse:
    """Data entry on the draft: the document's language and each signer's e-mail and
    phone (as ``PUT /contracts/{id}/draft``)."""
    form = await request.post()
    revision = ContractRevision(
        request.match_info["id"],
        DraftChanges(form_text(form, "language", 16) or None, _contacts(form)),
        form_version(form),
    )
    await run_sync(request, contracts.revise_contract, services(request), actor(request), revision)
    raise done(form, "contract_revised")


def _contacts(form: Form) -> tuple[SignerContact, ...]:
    """The signers' contacts, one per signer in the form's order."""
    ids = form_texts(form, "customer_id", 64)
    emails, phones = form_texts(form, "email", 320), form_texts(form, "phone", 32)
    if not len(ids) == len(emails) == len(phones):
        raise ValidationError.single("contacts", "give each signer's e-mail and phone fields")
    return tuple(
        SignerContact(customer_id, email or None, phone or None)
        for customer_id, email, phone in zip(ids, emails, phones, strict=True)
    )


@routes.post("/workbench/contracts/{id}/documents")
@page_handler
async def upload(request: web.Request) -> web.StreamResponse:
    """A document of the contract (the vehicle invoice the payout needs), posted as a
    multipart form and held to the API's upload size limit (:func:`upload_form`)."""
    async with upload_form(request) as form:
        await _store_upload(request, form)
    raise done(form, "contract_uploaded")


async def _store_upload(request: web.Request, form: Form) -> None:
    file = form_file(form)
    kind = form_text(form, "kind", 64)
    if kind not in {member.value for member in DocumentKind}:
        raise ValidationError.single("kind", "choose what the document is")
    command = UploadDocument(
        OwnerKind.CONTRACT, request.match_info["id"], DocumentKind(kind), file.filename
    )
    try:
        await run_sync(
            request, documents.upload_document, services(request), actor(request), command,
            file_chunks(file),
        )  # fmt: skip
    except ValidationError as exc:
        if [error.field for error in exc.errors] == ["owner_id"]:
            raise web.HTTPNotFound() from None
        raise


@routes.get("/workbench/contracts/{id}/document")
@page_handler
async def document(request: web.Request) -> web.StreamResponse:
    """The contract's PDF, shown in the page (``?download=1`` saves it instead)."""
    return await _pdf(request, signed=False)


@routes.get("/workbench/contracts/{id}/signed-document")
@page_handler
async def signed_document(request: web.Request) -> web.StreamResponse:
    """The PDF as every signer signed it."""
    return await _pdf(request, signed=True)


async def _pdf(request: web.Request, *, signed: bool) -> web.StreamResponse:
    contract, stored, chunks = await run_sync(
        request, contracts.contract_file, services(request), actor(request),
        request.match_info["id"], signed,
    )  # fmt: skip
    suffix = "-signed" if signed else ""
    return await send_download(
        request, chunks, content_type="application/pdf", size=stored.size,
        filename=f"{contract.number}{suffix}.pdf", inline="download" not in request.query,
    )  # fmt: skip
