"""The demo company: what ``leasekit demo`` seeds before it serves.

Everything is created through the public services, as a real company's staff and dealers
would create it, so the demo also proves that the lifecycles and permissions let a normal
day's work happen. Identity numbers and VINs are made valid by computing their check digits,
never by switching validation off.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Final

import attrs
from stdnum.cn import ric, uscc

from leasekit.domain.applications import Application, BusinessType
from leasekit.domain.contracts import Contract
from leasekit.domain.credit_limits import LimitRequest, LimitRequestKind
from leasekit.domain.customers import CustomerKind
from leasekit.domain.documents import Document, DocumentKind, OwnerKind
from leasekit.domain.identity import Actor, Role
from leasekit.domain.mandates import AccountType, DebitScheme
from leasekit.domain.partners import Partner, PartnerKind, PartnerRating
from leasekit.domain.products import Product, ProductFee, ProductTerms, ResidualRule
from leasekit.domain.rules import RuleAction
from leasekit.domain.users import User
from leasekit.domain.vehicles import VehicleCondition, vin_check_digit
from leasekit.money import Money
from leasekit.services import (
    applications,
    credit_limits,
    customers,
    documents,
    partners,
    products,
    rules,
    users,
    vehicles,
)
from leasekit.services.context import ServiceContext
from leasekit.settings import ADAPTER_KINDS
from leasekit.testing.book import Debtor, book_partner, months_before, taken_over_contract

__all__ = [
    "BEANCOUNT_PLUGIN",
    "DEMO_ADAPTERS",
    "DEMO_ADAPTER_OPTIONS",
    "DEMO_BOOK",
    "DEMO_BOOK_DEALER",
    "DEMO_FUNDS",
    "DEMO_PRODUCTS",
    "DEMO_US_ACCOUNT",
    "SAMPLE_FACE_PHOTO",
    "DemoCompany",
    "company_statement",
    "demo_adapters",
    "demo_face_photo",
    "demo_ledger",
    "seed_demo",
    "supply_onboarding_documents",
]

DEMO_ADAPTERS: Final = dict.fromkeys(sorted(ADAPTER_KINDS), "fake") | {
    "document_store": "filesystem",
    "notifier": "filesystem",
    "statement_parser": "camt053",
    "signature_provider": "local",
}
"""Every external party on its deterministic fake; documents on the local filesystem, what
the notifier would tell people written under the demo folder's ``messages``, to be read,
bank statements read as the camt.053 files banks export, and contracts really signed by the
local provider (``leasekit signatures sign``), with a certificate authority it makes under
the demo folder."""
BEANCOUNT_PLUGIN: Final = "leasekit_ledger_beancount"
"""The Beancount ledger's distribution (``plugins/leasekit-ledger-beancount``): with it
installed, the demo books to a Beancount file, ``ledger.beancount`` in its folder."""


def demo_adapters() -> dict[str, str]:
    """:data:`DEMO_ADAPTERS`, with the Beancount ledger in place of the fake one when its
    plugin is installed, so the demo's vouchers land in a file ``bean-check`` can check."""
    if importlib.util.find_spec(BEANCOUNT_PLUGIN) is None:
        return dict(DEMO_ADAPTERS)
    return DEMO_ADAPTERS | {"ledger": "beancount"}


def demo_ledger() -> str:
    """Where the demo's vouchers are synchronised, as its start-up message says."""
    if demo_adapters()["ledger"] == "beancount":
        return "Beancount, ledger.beancount in the demo folder, checked by bean-check"
    return (
        "the fake ledger, in memory (pip install plugins/leasekit-ledger-beancount for a "
        "Beancount file)"
    )


DEMO_ADAPTER_OPTIONS: Final = {
    "face_verifier": {"other_similarity": "0.93"},
    "bank": {
        "settle_after_seconds": "0",
        "statement_currency": "CNY",
        "statement_account": "6222021001122334455",
        "statement_counterparty_column": "counterparty",
        "statement_counterparty_account_column": "counterparty_account",
        "statement_reference_column": "reference",
        "statement_id_column": "id",
    },
}
"""The fake face verifier finds a face photo like the ID card's, as a real verifier would the
same person's (the demo's ID card sample shows no face to compare); the fake bank settles a
payout the moment it accepts it, and exports the yuan account's statements as CSV (``date``,
``amount``, ``counterparty``, ``counterparty_account``, ``reference``, ``id``)."""

SAMPLE_FACE_PHOTO: Final = "face-photo.jpg"
"""The sample face-to-face photo (in :mod:`leasekit.samples`)."""
SAMPLE_SCAN: Final = "id-card.png"
"""The sample file (in :mod:`leasekit.samples`) that stands in for every scan the demo
uploads."""

DEMO_US_ACCOUNT: Final = "4400123456"
"""The demo company's US dollar account, which its ACH debits are collected into."""
DEMO_FUNDS: Final = {
    "creditor_accounts": {
        "us": {"name": "Leasekit Demo Leasing", "scheme": "nacha", "currency": "USD",
               "account": DEMO_US_ACCOUNT, "agent": "021000021", "creditor_id": "9876543210"},
        "eu": {"name": "Leasekit Demo Leasing", "scheme": "sepa", "currency": "EUR",
               "account": "DE89370400440532013000", "agent": "COBADEFFXXX",
               "creditor_id": "DE98ZZZ09999999999"},
        "cn": {"name": "Leasekit Demo Leasing", "scheme": "csv", "currency": "CNY",
               "account": "6222021001122334455", "agent": "ICBC Shanghai"},
    },
    "return_fees": {"USD": "25.00", "EUR": "10.00"},
    "settlement_fee_rate": "0.01",
    "settlement_fees": {"CNY": "200.00"},
}  # fmt: skip
"""The demo company collects into an account per scheme: US dollars by ACH (NACHA files),
euros by SEPA direct debit, yuan by its bank's CSV files; a returned debit costs a fee, and
paying a contract off early 1 % of the principal outstanding (plus 200.00 CNY in yuan)."""

DEMO_BOOK: Final = (
    ("TB-0001", "John Smith", "USD", Debtor("John Smith", DebitScheme.NACHA, "000123456789",
                                            "011000015")),
    ("TB-0002", "Mary Jones", "USD", Debtor("Mary Jones", DebitScheme.NACHA, "000987654321",
                                            "121000358", AccountType.SAVINGS)),
    ("TB-0003", "Erika Mustermann", "EUR", Debtor("Erika Mustermann", DebitScheme.SEPA,
                                                  "DE02120300000000202051", "BYLADEM1001")),
    ("TB-0004", "Jan de Vries", "EUR", Debtor("Jan de Vries", DebitScheme.SEPA,
                                              "NL91ABNA0417164300", "ABNANL2A")),
    ("TB-0005", "Wang Fang", "CNY", None),
)  # fmt: skip
"""The book the demo company took over from its earlier system: active loans through
:data:`DEMO_BOOK_DEALER` whose first installment fell due a month before the business date and
whose second falls due on it, each with a debit mandate but the last."""
DEMO_BOOK_DEALER: Final = "Metro Fleet Sales"
"""The dealer of the taken-over book (a partner of the earlier system, active here)."""

STAFF = (
    ("officer", "Li Na (credit officer)", Role.OFFICER),
    ("manager", "Wang Fang (credit manager)", Role.MANAGER),
    ("director", "Chen Jie (risk director)", Role.DIRECTOR),
    ("finance", "Zhao Lei (finance)", Role.FINANCE),
    ("supervisor", "Sun Min (post-loan supervisor)", Role.POST_LOAN_SUPERVISOR),
    ("cfo", "Zhou Tao (finance director)", Role.FINANCE_DIRECTOR),
)


@attrs.frozen
class DemoCompany:
    """What was seeded: users with their tokens, partners and applications, for the banner."""

    tokens: dict[str, tuple[User, str]]
    partners: list[Partner]
    applications: list[Application]
    limit_requests: list[LimitRequest]
    documents: list[Document]
    """The active partners' onboarding documents."""
    products: list[Product] = attrs.field(factory=list)
    """The catalogue, each product's first version published."""
    book: list[Contract] = attrs.field(factory=list)
    """The active contracts taken over (:data:`DEMO_BOOK`), in its order."""


def demo_face_photo(taken: datetime) -> bytes:
    """The sample face photo saying it was *taken* then: the photo a dealer takes at signing
    (its capture time is checked against the application's)."""
    from leasekit.testing.photos import face_photo

    return face_photo(taken=taken)


def resident_id(body: str) -> str:
    """A Chinese resident identity number with its check character computed (stdnum's
    ``calc_check_digit`` takes the whole number and ignores its last place)."""
    return body + ric.calc_check_digit(body + "0")


def credit_code(body: str) -> str:
    """A unified social credit code with its check character computed."""
    return body + uscc.calc_check_digit(body)


def vin(text: str) -> str:
    """A 17-character VIN with position 9 set to its check digit."""
    return text[:8] + vin_check_digit(text) + text[9:]


def seed_demo(ctx: ServiceContext) -> DemoCompany:
    """Create the demo company in an empty database."""
    admin, admin_token = users.bootstrap_admin(ctx, "admin", "Demo administrator")
    tokens = {"admin": (admin, admin_token)}
    for username, name, role in STAFF:
        tokens[username] = _user(ctx, admin.actor(), users.CreateUser(username, name, role))
    staff = {name: user.actor() for name, (user, _) in tokens.items()}
    sunrise, sunrise_file = _active_partner(
        ctx, staff, "Sunrise Motors", "91440300MA5F0A1B2", "A", PartnerKind.NEW_CAR_DEALER,
        branch="SZ-01",
    )  # fmt: skip
    harbour, harbour_file = _active_partner(
        ctx, staff, "Harbour Auto", "91310000MA1K3C4D5", "B", PartnerKind.USED_CAR_DEALER,
        branch="SH-01",
    )  # fmt: skip
    prospect = partners.onboard_partner(
        ctx,
        staff["officer"],
        partners.OnboardPartner(
            "Lakeside Cars", credit_code("91110000MA00AB1C2"), Decimal(0), PartnerKind.BROKER
        ),
    )
    for partner, username in ((sunrise, "sunrise"), (harbour, "harbour")):
        command = users.CreateUser(username, f"{partner.name} sales", Role.DEALER_USER, partner.id)
        tokens[username] = _user(ctx, admin.actor(), command)
    dealer = tokens["sunrise"][0].actor()
    catalogue = [_product(ctx, staff, request) for request in DEMO_PRODUCTS]
    drafted = [
        _application(
            ctx,
            dealer,
            sunrise,
            "Zhang Wei",
            resident_id("11010519850712003"),
            vin("LSVAU2180N2183294"),
            "Volkswagen",
            "Passat",
        ),
        _application(
            ctx,
            dealer,
            sunrise,
            "Liu Yang",
            resident_id("44030419900101214"),
            vin("LFV2A21K5A3049721"),
            "Audi",
            "A4L",
        ),
    ]
    _publish_pre_approval_rules(ctx, staff)
    submitted = applications.transition_application(ctx, dealer, drafted[1].id, "submit")
    season = credit_limits.RequestLimitChange(
        harbour.id,
        LimitRequestKind.TEMPORARY,
        Decimal("500000.00"),
        "spring campaign: stock of the new model year",
        ctx.clock.business_date() + timedelta(days=90),
    )
    waiting = credit_limits.request_limit_change(ctx, staff["officer"], season)
    book = _take_over_book(ctx)
    return DemoCompany(
        tokens,
        [sunrise, harbour, prospect],
        [drafted[0], submitted],
        [waiting],
        sunrise_file + harbour_file,
        catalogue,
        book,
    )


def _take_over_book(ctx: ServiceContext) -> list[Contract]:
    """Write :data:`DEMO_BOOK` (12-month loans of 12,000, priced two months ago), with the
    dealer they came through, taken over today: each books its opening balance."""
    today, at = ctx.clock.business_date(), ctx.clock.now()
    priced_on = months_before(today, 2)
    with ctx.unit_of_work() as uow:
        partner = book_partner(uow, DEMO_BOOK_DEALER, credit_code("91440300MA5G7H8J9"), at)
        made = [
            taken_over_contract(
                uow, partner, number=number, serial=serial, customer_name=name,
                price=Money("12000.00", cur), term_months=12, annual_rate=Decimal("0.069"),
                priced_on=priced_on, at=at, debtor=debtor, taken_over_on=today,
            ).contract
            for serial, (number, name, cur, debtor) in enumerate(DEMO_BOOK, start=1)
        ]  # fmt: skip
        uow.commit()
    return made


_STATEMENT_LINES: Final = (
    # (entry reference, amount, payer, payer's account, remittance text)
    ("1", "1685.42", "METRO FLEET SALES", "4400998877", "Settlement TB-0002 arrears and fee"),
    ("2", "830.21", "JOHN SMITH", "000123456789", "Car loan installment"),
    ("3", "120.00", "NORTHWIND TRADING", "7711002233", "INV 4471"),
    ("4", "-35.00", "", "", "Account maintenance fee"),
)
"""The day's bookings on the demo company's US account: a dealer settling a customer's
arrears, a customer paying early, money nobody can place, and a bank charge."""


StatementLineText = tuple[str, str, str, str, str]
"""(entry reference, amount, payer, payer's account, remittance text); a negative amount is
money out."""


def company_statement(
    account: str, day: date, lines: Sequence[StatementLineText] = _STATEMENT_LINES
) -> bytes:
    """The demo company's camt.053 statement of its USD *account* for *day*, as the bank
    would export it: by default the day :data:`_STATEMENT_LINES` describes, which
    ``docs/funds.md`` imports."""
    entries = "".join(_statement_entry(day, *line) for line in lines)
    moved = sum((Decimal(amount) for _, amount, *_ in lines), Decimal(0))
    opening = Decimal("250000.00")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>STMT-{day:%Y%m%d}</MsgId><CreDtTm>{day}T20:00:00Z</CreDtTm></GrpHdr>
    <Stmt>
      <Id>{day:%Y%m%d}-{account}</Id>
      <CreDtTm>{day}T20:00:00Z</CreDtTm>
      <Acct><Id><Othr><Id>{account}</Id></Othr></Id><Ccy>USD</Ccy></Acct>
      {_balance("OPBD", opening, day)}
      {_balance("CLBD", opening + moved, day)}{entries}
    </Stmt>
  </BkToCstmrStmt>
</Document>
""".encode()


def _balance(code: str, amount: Decimal, day: date) -> str:
    return (f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="USD">{amount}</Amt>'
            f"<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>")  # fmt: skip


def _statement_entry(
    day: date, reference: str, amount: str, payer: str, account: str, text: str
) -> str:
    credit = not amount.startswith("-")
    role = "Dbtr" if credit else "Cdtr"
    party = (f"<RltdPties><{role}><Nm>{payer}</Nm></{role}><{role}Acct><Id><Othr><Id>{account}"
             f"</Id></Othr></Id></{role}Acct></RltdPties>") if payer else ""  # fmt: skip
    return f"""
      <Ntry>
        <NtryRef>{reference}</NtryRef>
        <Amt Ccy="USD">{amount.lstrip("-")}</Amt>
        <CdtDbtInd>{"CRDT" if credit else "DBIT"}</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>{day}</Dt></BookgDt>
        <AcctSvcrRef>{day:%Y%m%d}{int(reference):05d}</AcctSvcrRef>
        <NtryDtls><TxDtls>{party}<RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls></NtryDtls>
      </Ntry>"""


PRE_APPROVAL_RULES: Final = (
    rules.RuleInput("blacklisted", "blacklist_hits > 0", RuleAction.DECLINE,
                    "the applicant, the vehicle or the dealer is on the blacklist"),
    rules.RuleInput("low_score", "credit_score != null and credit_score < 600", RuleAction.REFER,
                    "credit score below 600", -20),
    rules.RuleInput("no_bureau_file", "credit_score == null", RuleAction.REFER,
                    "no credit bureau file"),
    rules.RuleInput("large_from_weak_dealer",
                    'amount_financed > 500000.00 and partner_rating in ["C", "D"]',
                    RuleAction.REFER, "a large deal from a C or D dealer"),
    rules.RuleInput("high_fraud_risk", 'fraud_risk == "high"', RuleAction.DECLINE,
                    "high anti-fraud risk"),
    rules.RuleInput("applied_at_other_dealers", "same_id_other_dealers > 0", RuleAction.REFER,
                    "the applicant has applied through another dealer too"),
    rules.RuleInput("vehicle_on_other_applications", "same_vin_other_applications > 0",
                    RuleAction.REFER, "the vehicle is on another application"),
    rules.RuleInput("statement_contradicts_itself", "statement_tampering_high > 0",
                    RuleAction.DECLINE, "a bank statement contradicts itself (edited)"),
    rules.RuleInput("statement_looks_edited", "statement_tampering_signals > 0",
                    RuleAction.REFER, "a bank statement shows signs of editing"),
    rules.RuleInput("statement_unreadable", "statement_unreadable > 0", RuleAction.REFER,
                    "a bank statement could not be read"),
    rules.RuleInput("face_photo_reused",
                    "face_photo_reused_count != null and face_photo_reused_count > 0",
                    RuleAction.DECLINE, "the face photo was used on another application"),
    rules.RuleInput("no_face", "face_detected_count == 0", RuleAction.REFER,
                    "no face in the face-to-face photo"),
    rules.RuleInput("face_not_the_id_card", "face_matched == false", RuleAction.REFER,
                    "the face does not match the ID card's"),
    rules.RuleInput("photo_not_taken_now", "face_capture_time_plausible == false",
                    RuleAction.REFER, "the face photo was not taken during this application"),
    rules.RuleInput("photo_taken_elsewhere", "face_capture_place_plausible == false",
                    RuleAction.REFER, "the face photo was taken far from the dealer"),
    rules.RuleInput("large_amount", "amount_financed > 1000000.00", RuleAction.REFER,
                    "more than 1,000,000.00 financed: people decide"),
)  # fmt: skip
"""The demo's pre-approval rules, in force from the start."""


def _publish_pre_approval_rules(ctx: ServiceContext, staff: dict[str, Actor]) -> None:
    """The manager writes the pre-approval rules, the director publishes them."""
    saved = rules.save_rule_set(
        ctx, staff["manager"], rules.SaveRuleSet("pre_approval", PRE_APPROVAL_RULES)
    )
    rules.transition_rule_set_version(ctx, staff["director"], saved.id, "publish")


_BORROWER_PAPERS: Final = (
    DocumentKind.ID_CARD_FRONT,
    DocumentKind.ID_CARD_BACK,
    DocumentKind.DRIVING_LICENSE,
    DocumentKind.INCOME_PROOF,
    DocumentKind.VEHICLE_INVOICE,
)

DEMO_PRODUCTS: Final = (
    products.CreateProduct(
        "NCL-NEW",
        BusinessType.LOAN,
        ProductTerms(
            name="New-car loan",
            currency="CNY",
            annual_rate_min=Decimal("0.0399"),
            annual_rate_max=Decimal("0.0899"),
            term_months=(12, 24, 36, 48, 60),
            min_down_payment_ratio=Decimal("0.2"),
            max_financed_ratio=Decimal("0.85"),
            schedule_methods=("annuity", "equal_principal"),
            fees=(
                ProductFee("arrangement", amount=Decimal("1000.00")),
                ProductFee("GPS tracker", amount=Decimal("1500.00"), financed=True, in_apr=False),
            ),
            documents=_BORROWER_PAPERS,
            min_partner_rating=PartnerRating.C,
            partner_kinds=(PartnerKind.NEW_CAR_DEALER, PartnerKind.BROKER),
        ),
    ),
    products.CreateProduct(
        "FL-STD",
        BusinessType.FINANCE_LEASE,
        ProductTerms(
            name="Direct finance lease",
            currency="CNY",
            annual_rate_min=Decimal("0.0499"),
            annual_rate_max=Decimal("0.0999"),
            term_months=(12, 24, 36, 48, 60),
            min_down_payment_ratio=Decimal("0.15"),
            max_financed_ratio=Decimal("0.9"),
            schedule_methods=("annuity", "equal_principal", "flat"),
            fees=(ProductFee("handling", rate=Decimal("0.01"), financed=True),),
            residual=ResidualRule.ALLOWED,
            residual_max_ratio=Decimal("0.3"),
            documents=_BORROWER_PAPERS,
            min_partner_rating=PartnerRating.D,
        ),
    ),
    products.CreateProduct(
        "OL-FLEET",
        BusinessType.OPERATING_LEASE,
        ProductTerms(
            name="Operating lease",
            currency="CNY",
            annual_rate_min=Decimal("0.055"),
            annual_rate_max=Decimal("0.11"),
            term_months=(24, 36, 48),
            min_down_payment_ratio=Decimal(0),
            max_financed_ratio=Decimal(1),
            schedule_methods=("annuity",),
            residual=ResidualRule.REQUIRED,
            residual_min_ratio=Decimal("0.2"),
            residual_max_ratio=Decimal("0.5"),
            documents=(
                DocumentKind.BUSINESS_LICENSE,
                DocumentKind.LEGAL_REPRESENTATIVE_ID,
                DocumentKind.BANK_STATEMENT,
            ),
            min_partner_rating=PartnerRating.A,
            partner_kinds=(PartnerKind.NEW_CAR_DEALER, PartnerKind.FLEET_DEALER),
        ),
    ),
)
"""The demo catalogue: a new-car loan, a finance lease and an operating lease."""


def _product(
    ctx: ServiceContext, staff: dict[str, Actor], request: products.CreateProduct
) -> Product:
    """A product written by the credit manager and published by the risk director (the
    author may not publish their own version)."""
    product = products.create_product(ctx, staff["manager"], request)
    assert product.draft_version_id is not None
    products.transition_product_version(ctx, staff["director"], product.draft_version_id, "publish")
    return products.get_product(ctx, staff["manager"], product.id)


def _user(ctx: ServiceContext, admin: Actor, command: users.CreateUser) -> tuple[User, str]:
    """A user created by the administrator, enrolled the way a user without e-mail is: the
    operator makes the secret on the server and the user exchanges it for a token."""
    user = users.create_user(ctx, admin, command)
    secret = users.enrol_locally(ctx, user.username)
    return user, users.enrol(ctx, secret, "demo").token


def _active_partner(
    ctx: ServiceContext,
    staff: dict[str, Actor],
    name: str,
    code: str,
    rating: str,
    kind: PartnerKind,
    *,
    branch: str,
) -> tuple[Partner, list[Document]]:
    """A partner taken through onboarding, served by *branch*: applied, its documents
    uploaded, reviewed by an officer, approved; and its documents."""
    officer = staff["officer"]
    request = partners.OnboardPartner(
        name, credit_code(code), Decimal("5000000.00"), kind, rating=PartnerRating(rating),
        branch=branch,
    )  # fmt: skip
    partner = partners.onboard_partner(ctx, officer, request)
    partner = partners.transition_partner(ctx, officer, partner.id, "apply")
    supplied = supply_onboarding_documents(ctx, officer, partner)
    partner = partners.transition_partner(ctx, officer, partner.id, "start_review")
    return partners.transition_partner(ctx, staff["manager"], partner.id, "approve"), supplied


def supply_onboarding_documents(
    ctx: ServiceContext, actor: Actor, partner: Partner
) -> list[Document]:
    """Upload one scan of each document *partner*'s kind must supply before it is approved,
    named after its kind (the sample photo stands in for every scan). The partner must be in
    a state that takes uploads (applied, say)."""
    scan = resources.files("leasekit.samples").joinpath(SAMPLE_SCAN).read_bytes()
    return [
        documents.upload_document(
            ctx,
            actor,
            documents.UploadDocument(OwnerKind.PARTNER, partner.id, kind, f"{kind}.png"),
            [scan],
        )
        for kind in ctx.required_documents.of(partner.kind)
    ]


def _application(
    ctx: ServiceContext,
    dealer: Actor,
    partner: Partner,
    customer_name: str,
    id_number: str,
    vin_text: str,
    make: str,
    model: str,
) -> Application:
    """A dealer's draft: the customer and the car entered first, then the terms, priced with
    the direct finance lease."""
    customer = customers.register_customer(
        ctx, dealer, customers.RegisterCustomer(CustomerKind.INDIVIDUAL, customer_name, id_number)
    )
    vehicle = vehicles.register_vehicle(
        ctx,
        dealer,
        vehicles.RegisterVehicle(vin_text, make, model, 2025, VehicleCondition.NEW),
    )
    return applications.create_draft(
        ctx,
        dealer,
        applications.DraftApplication(
            partner_id=partner.id,
            customer_id=customer.id,
            vehicle_id=vehicle.id,
            business_type=BusinessType.FINANCE_LEASE,
            vehicle_price=Decimal("238000.00"),
            down_payment=Decimal("47600.00"),
            term_months=36,
            annual_rate=Decimal("0.0599"),
            residual_value=Decimal("23800.00"),
            product_code="FL-STD",
        ),
    )
