"""The walkthroughs (docs/walkthrough.md, docs/identity.md, docs/partners.md,
docs/products.md, docs/exceptions.md and the others in :data:`PAGES`), run as written
against a real ``leasekit demo`` server.

The page is the script: the test starts the demo with the command of its first ``console``
block (adding a free port and a folder of its own), checks that the demo prints what the page
shows (if it shows anything), gives the requests the variables the page exports, then runs
every ``sh`` block's commands in order (sending ``curl`` requests itself, handing anything
else to bash) and compares each answer with the ``json`` block after it. A page that drifts
from the server (a renamed field, a changed status, a step that no longer works) fails here,
which is what makes "a new user can install, start the demo server and walk through it" a
tested promise.

Two runs: one reads the ``curl`` commands itself and sends them with urllib, so it needs
nothing but Python; the other hands the same blocks to bash, curl and jq, when they are
installed, to prove that the shell really does what the first run assumed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
import pytest

from leasekit.cli import SAMPLE_SUFFIXES

DOCS = Path(__file__).resolve().parents[1] / "docs"
BASE_VARIABLE = "LEASEKIT"
"""The exported variable that holds the server's address; the others hold users' tokens."""
SHOWN_ADDRESS = "127.0.0.1:8080"
"""Where the page's demo listens; the test's demo listens on a free port instead."""
VARYING = frozenset(
    {
        "id",
        "user_id",
        "partner_id",
        "customer_id",
        "vehicle_id",
        "owner_id",
        "created_by",
        "uploaded_by",
        "created_at",
        "uploaded_at",
        "sha256",
        "size",
        "version",
        "token_id",
        "token",
        "revoked_at",
        "next",
        "requested_by",
        "decided_by",
        "actor_id",
        "as_of",
        "since",
        "business_date",
        "computed_by",
        "computed_at",
        "published_by",
        "assessed_at",
        "fetched_at",
        "bureau_reference",
        "rule_set_version_id",
        "application_id",
        "raised_at",
        "added_by",
        "added_at",
        "document_id",
        "recorded_by",
        "recorded_at",
        "product_id",
        "current_version_id",
        "draft_version_id",
        "published_at",
        "product_version_id",
        "priced_on",
        "first_due_date",
        "maturity_date",
        "due_date",
        "imposed_by",
        "imposed_at",
        "locked_by",
        "locked_at",
        "lock_expires_at",
        "findings",
        "number",
        "contract_number",
        "contract_id",
        "key",
        "envelope_id",
        "start_date",
        "checked_at",
        "approved_by",
        "approved_at",
        "sent_at",
        "paid_at",
        "instruction_id",
        "bank_reference",
        "disbursement_id",
        "subject_id",
        "at",
        "details",
        "imported_at",
        "imported_by",
        "item_id",
        "run_id",
        "mandate_id",
        "payment_id",
        "receivable_id",
        "receivable_ids",
        "source_ref",
        "collection_date",
        "received_on",
        "allocated_on",
        "signed_on",
        "reverses",
        "booked_on",
        "line_id",
        "import_id",
        "payments",
        "quoted_on",
        "valid_until",
        "description",
        "source_key",
        "event_key",
        "voucher_id",
        "synced_at",
        "from_date",
        "to_date",
        "resolved_by",
        "resolved_at",
        "closed_through",
        "closed_by",
        "closed_at",
        "submitted_at",
        "expires_at",
        "executed_by",
        "executed_at",
        "reapply_to_contract_id",
        "exception_request_id",
    }
)
"""Keys whose values differ from run to run (and with the reader's photo; ``findings`` say
when the face photo was taken; a contract's ``number`` holds the year; a voucher's
``description`` names the event's key, and the books close the month before today); their
presence is still checked, and every other value must equal the page's."""

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_CAPTURE = re.compile(r"(?P<name>[A-Z_][A-Z0-9_]*)=\$\((?P<inner>.*)\)", re.DOTALL)
_JQ = re.compile(r"(?P<curl>.*?)\s*\|\s*jq -r (?P<path>(?:\.[A-Za-z_]\w*(?:\[\d+\])?)+)", re.DOTALL)
_STEP = re.compile(r"\.(?P<key>[A-Za-z_]\w*)(?:\[(?P<index>\d+)\])?")
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_EXPORT = re.compile(r"^\$ export (\w+)=", re.MULTILINE)
_TOKEN = re.compile(r"lk_[A-Za-z0-9_-]{43}")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


# --- reading the page -------------------------------------------------------------------


@attrs.frozen
class Block:
    language: str
    text: str
    line: int


@attrs.frozen
class Command:
    """One ``curl`` command, perhaps with a here-document and a ``NAME=$(... | jq -r .x)``;
    or another shell command (*shell*), perhaps as ``NAME=$(...)``, for bash to run."""

    curl: str
    stdin: str | None = None
    capture: tuple[str, str] | None = None
    """The variable set from the answer, and the jq path that picks the value."""
    shell: str | None = None
    shell_capture: str | None = None
    """The variable a shell command's output goes to."""


@attrs.frozen
class Step:
    """One ``sh`` block, and the answer the page shows for its last request."""

    commands: tuple[Command, ...]
    expected: Any
    line: int


def blocks(markdown: str) -> list[Block]:
    return [
        Block(m.group(1), m.group(2), markdown.count("\n", 0, m.start()) + 1)
        for m in _FENCE.finditer(markdown)
    ]


def commands(text: str) -> tuple[Command, ...]:
    """The commands of an ``sh`` block, in the small part of shell syntax the page may use."""
    lines = iter(text.splitlines())
    found = []
    for first in lines:
        if not first.strip() or first.lstrip().startswith("#"):
            continue
        logical = first
        while logical.endswith("\\"):
            logical = logical[:-1] + next(lines)
        stdin = None
        if "<<EOF" in logical:
            body = []
            for line in lines:
                if line == "EOF":
                    break
                body.append(line)
            else:
                raise AssertionError(f"a here-document without its EOF line: {first!r}")
            stdin = "\n".join(body) + "\n"
            logical = logical.replace("<<EOF", " ")
            if _CAPTURE.match(logical + ")") and not logical.rstrip().endswith(")"):
                closing = next(lines, "")
                assert closing == ")", f"expected ')' after the here-document, got {closing!r}"
                logical += ")"
        found.append(_command(logical.strip(), stdin))
    return tuple(found)


def _command(logical: str, stdin: str | None) -> Command:
    capture = _CAPTURE.fullmatch(logical)
    if capture is None:
        if not logical.startswith("curl "):
            assert stdin is None, f"a here-document feeds curl only: {logical!r}"
            return Command("", shell=logical)
        return Command(logical, stdin)
    if not capture["inner"].lstrip().startswith("curl "):
        return Command("", shell=capture["inner"], shell_capture=capture["name"])
    picked = _JQ.fullmatch(capture["inner"].strip())
    assert picked is not None, f"a capture must be $(curl ... | jq -r .field): {logical!r}"
    assert picked["curl"].startswith("curl "), logical
    return Command(picked["curl"], stdin, (capture["name"], picked["path"]))


def steps(markdown: str) -> list[Step]:
    """Each ``sh`` block with the ``json`` block that follows it; a ``json`` block anywhere
    else would be an example nobody checks, so it is refused."""
    fenced = blocks(markdown)
    found = []
    for index, block in enumerate(fenced):
        following = fenced[index + 1] if index + 1 < len(fenced) else None
        if block.language == "sh":
            expected = None
            if following is not None and following.language == "json":
                expected = json.loads(following.text)
            found.append(Step(commands(block.text), expected, block.line))
        elif block.language == "json":
            previous = fenced[index - 1].language if index else None
            assert previous == "sh", f"line {block.line}: a json block must follow its sh block"
    return found


def exported(markdown: str) -> list[str]:
    """The variables the page's ``console`` blocks export for the requests."""
    return [
        name
        for block in blocks(markdown)
        if block.language == "console"
        for name in _EXPORT.findall(block.text)
    ]


def checks(markdown: str) -> list[tuple[str, list[str]]]:
    """The ``console`` blocks that run a leasekit command other than the demo (after it
    stopped), each with the output the page shows."""
    found = []
    for block in blocks(markdown):
        first, *output = block.text.splitlines()
        command = first.removeprefix("$ ")
        if (
            block.language == "console"
            and " leasekit " in f" {command} "
            and ("leasekit demo" not in command)
        ):
            found.append((command, [_COUNT.sub("N", line) for line in output]))
    return found


_COUNT = re.compile(r"\d+(?= entries)")
_ASSIGNMENT = re.compile(r"[A-Z_][A-Z0-9_]*=")


def run_check(command: str, workdir: Path) -> list[str]:
    """*command* (``NAME=value ... leasekit ...``) run as a reader's shell would, its output
    with entry counts made N: they grow with every step the page adds."""
    words = shlex.split(command)
    settings = {}
    while _ASSIGNMENT.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        settings[name] = value
    arguments = words
    assert arguments[0] == "leasekit", command
    completed = subprocess.run(
        [*leasekit_executable(), *arguments[1:]],
        cwd=workdir,
        env=clean_environment() | settings,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return [_COUNT.sub("N", line) for line in completed.stdout.splitlines()]


def run_shell(command: str, variables: Mapping[str, str], workdir: Path) -> str:
    """A page's non-curl command (``sleep 1``, ``grep ...``) as bash runs it, with the
    page's variables set; its output, stripped."""
    completed = subprocess.run(
        ["bash", "-c", command],
        cwd=workdir,
        env=clean_environment() | dict(variables),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, f"{command}: {completed.stderr}"
    return completed.stdout.strip()


def demo_command(markdown: str) -> tuple[list[str], list[str]]:
    """The ``leasekit demo`` command the page starts with, and the output it shows."""
    for block in blocks(markdown):
        first, *output = block.text.splitlines()
        if block.language == "console" and first.startswith("$ leasekit demo"):
            return shlex.split(first.removeprefix("$ ")), output
    raise AssertionError("the page never starts the demo")


# --- interpreting curl --------------------------------------------------------------------


def expand(text: str, variables: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in variables, f"${name} is used before the page sets it"
        return variables[name]

    return _VARIABLE.sub(value, text)


@attrs.frozen
class Request:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    output: Path | None = None
    """Where ``-o FILE`` saves the answer (a download), instead of printing it."""


def request_of(command: Command, variables: Mapping[str, str], workdir: Path) -> Request:
    """The request curl would send for *command*: the options the page uses, and only those."""
    words = [expand(word, variables) for word in shlex.split(command.curl)]
    assert words[0] == "curl"
    method = url = None
    headers: dict[str, str] = {}
    body: bytes | None = None
    output: Path | None = None
    options = iter(words[1:])
    for word in options:
        if word in ("-s", "--silent"):
            continue
        if word in ("-o", "--output"):
            target = next(options)
            output = None if target == "/dev/null" else workdir / target
            continue
        if word in ("-X", "--request"):
            method = next(options)
        elif word in ("-H", "--header"):
            name, _, value = next(options).partition(":")
            headers[name.strip()] = value.strip()
        elif word in ("-d", "--data", "--data-binary"):
            body = _data(word, next(options), command, variables, workdir)
        elif word.startswith("-"):
            raise AssertionError(f"the walkthrough test does not know curl's {word}")
        else:
            assert url is None, f"two URLs in {command.curl!r}"
            url = word
    assert url is not None, f"no URL in {command.curl!r}"
    if body is not None:
        # As curl does: data without a Content-Type is sent as a form.
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    return Request(method or ("GET" if body is None else "POST"), url, headers, body, output)


def _data(
    option: str, value: str, command: Command, variables: Mapping[str, str], workdir: Path
) -> bytes:
    if value == "@-":
        assert command.stdin is not None, f"{option} @- without a here-document"
        data = expand(command.stdin, variables).encode()
    elif value.startswith("@"):
        data = (workdir / value[1:]).read_bytes()
    else:
        return value.encode()
    # -d reads files (and stdin) as text and drops their line breaks; --data-binary keeps them.
    return data if option == "--data-binary" else data.replace(b"\r", b"").replace(b"\n", b"")


def send(request: Request) -> tuple[int, Any]:
    """The status and the JSON answer; a download is saved where ``-o`` says, and answers
    None."""
    prepared = urllib.request.Request(
        request.url, data=request.body, headers=request.headers, method=request.method
    )
    try:
        with urllib.request.urlopen(prepared, timeout=30) as response:
            if request.output is not None:
                request.output.write_bytes(response.read())
                return response.status, None
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def jq(answer: Any, path: str) -> str:
    """What ``jq -r path`` prints for the paths the page may use: ``.a.b`` and ``.items[0]``."""
    value = answer
    for step in _STEP.finditer(path):
        value = value[step["key"]]
        if step["index"] is not None:
            value = value[int(step["index"])]
    assert isinstance(value, str), f"jq -r {path} gives {value!r}"
    return value


def assert_like(
    expected: Any, actual: Any, where: str = "$", varying: frozenset[str] = VARYING
) -> None:
    """*actual* has the page's keys, and its values where they do not vary by run."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        assert sorted(actual) == sorted(expected), f"{where}: keys differ"
        for key, value in expected.items():
            if key not in varying:
                assert_like(value, actual[key], f"{where}.{key}", varying)
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected an array, got {actual!r}"
        assert len(actual) == len(expected), f"{where}: {len(actual)} items"
        for index, (one, other) in enumerate(zip(expected, actual, strict=True)):
            assert_like(one, other, f"{where}[{index}]", varying)
    else:
        assert actual == expected, f"{where}: the server says {actual!r}, the page {expected!r}"


def expected_status(expected: Any) -> int | None:
    """A problem shown on the page carries its status; any other answer must be a 2xx."""
    if isinstance(expected, dict) and str(expected.get("type", "")).startswith("urn:leasekit:"):
        return int(expected["status"])
    return None


# --- the demo server ------------------------------------------------------------------------


SAMPLES = Path("leasekit-demo") / "samples"
"""Where the demo puts the files the page uploads."""


def put_samples(workdir: Path) -> None:
    """What ``leasekit demo`` copies, for tests that read the page without running it."""
    (workdir / SAMPLES).mkdir(parents=True)
    for sample in resources.files("leasekit.samples").iterdir():
        if sample.name.endswith(SAMPLE_SUFFIXES):
            (workdir / SAMPLES / sample.name).write_bytes(sample.read_bytes())


def leasekit_executable() -> list[str]:
    """The ``leasekit`` script installed next to this Python, as a reader would run it."""
    script = shutil.which("leasekit", path=str(Path(sys.executable).parent))
    if script is not None:
        return [script]
    return [sys.executable, "-c", "from leasekit.cli import cli; cli()"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def clean_environment() -> dict[str, str]:
    """This process's environment without leasekit settings or forced terminal colours."""
    keep = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().startswith("LEASEKIT_") and name not in ("FORCE_COLOR", "COLUMNS")
    }
    return keep | {"PYTHONIOENCODING": "utf-8"}


@attrs.define
class DemoServer:
    process: subprocess.Popen[bytes]
    port: int
    workdir: Path
    shown_output: list[str]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tokens(self) -> dict[str, str]:
        tokens: dict[str, str] = json.loads((self.workdir / "tokens.json").read_text())
        return tokens

    def variables(self, names: list[str]) -> dict[str, str]:
        """The values of the variables the page exports: the address and users' tokens."""
        tokens = {username.upper(): token for username, token in self.tokens().items()}
        variables = {}
        for name in names:
            assert name == BASE_VARIABLE or name in tokens, f"the page exports unknown ${name}"
            variables[name] = self.base_url if name == BASE_VARIABLE else tokens[name]
        return variables

    def wait_until_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the demo stopped:\n{self.output('stderr')}"
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.base_url}/health", timeout=2) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"the demo did not answer within {timeout} s")

    def stop(self) -> int:
        """Stop the server as Ctrl+C or a service manager would, and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                return self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise
        return self.process.returncode

    def output(self, stream: str) -> str:
        return (self.workdir / f"demo.{stream}").read_text(encoding="utf-8")

    def printed(self) -> list[str]:
        """What the demo printed, tokens and port made the page's, for comparison."""
        text = _ANSI.sub("", self.output("stdout"))
        text = _TOKEN.sub("lk_TOKEN", text).replace(f"127.0.0.1:{self.port}", SHOWN_ADDRESS)
        return [line.rstrip() for line in text.rstrip().splitlines()]


@attrs.frozen
class Page:
    """What a walkthrough must contain and where it must end."""

    needed: tuple[tuple[str, str], ...]
    """Requests (method, path with ids as X) the page must make."""
    exports: tuple[str, ...]
    ends: Callable[[Any], bool]
    """Whether the last answer is the one the page ends on."""
    checks_afterwards: bool = False
    """Whether the page ends with leasekit commands run once the demo has stopped (checking
    the audit log, or a signed PDF)."""
    versioned: bool = True
    """Whether the page changes versioned objects, which name their version (``If-Match``);
    starting the close changes none."""
    varying: frozenset[str] = frozenset()
    """Keys whose values differ from run to run on this page only (beyond :data:`VARYING`),
    where other pages show the same key with a value that must match."""

    @property
    def unchecked(self) -> frozenset[str]:
        return VARYING | self.varying


PAGES = {
    "walkthrough.md": Page(
        (("GET", "/health"), ("GET", "/me"), ("POST", "/customers"), ("POST", "/vehicles"),
         ("POST", "/applications"), ("POST", "/customers/X/documents"),
         ("POST", "/applications/X/transitions"), ("GET", "/applications/X"),
         ("GET", "/applications"), ("GET", "/pre-approvals")),
        (BASE_VARIABLE, "SUNRISE", "OFFICER"),
        lambda last: last["items"][0]["state"] == "in_review",
        checks_afterwards=True,
    ),
    "partners.md": Page(
        (("POST", "/partners"), ("POST", "/partners/X/transitions"),
         ("POST", "/partners/X/documents"), ("POST", "/document-defects"),
         ("GET", "/partners/X/onboarding-documents"), ("PUT", "/partners/X"),
         ("GET", "/partners/X/history"), ("POST", "/partner-ratings"),
         ("GET", "/partners/X/rating"), ("GET", "/partners/X/figures"),
         ("GET", "/partners/X/credit-limit"),
         ("POST", "/limit-requests"),
         ("POST", "/limit-requests/X/transitions"), ("POST", "/limit-movements"),
         ("GET", "/limit-movements"), ("GET", "/partners/X/exit-review"), ("POST", "/blacklist"),
         ("GET", "/review-flags"), ("GET", "/me"), ("POST", "/partner-imports")),
        (BASE_VARIABLE, "OFFICER", "MANAGER", "DIRECTOR", "FINANCE", "SUNRISE", "SUPERVISOR"),
        lambda last: last["status"] == 403 and last["partner_state"] == "blacklisted",
    ),
    "rules.md": Page(
        (("POST", "/rule-sets"), ("POST", "/rule-set-versions/X/dry-run"),
         ("POST", "/rule-set-versions/X/transitions"), ("GET", "/rule-set-versions")),
        (BASE_VARIABLE, "OFFICER", "MANAGER", "DIRECTOR"),
        lambda last: last["items"][0]["state"] == "published",
    ),
    "products.md": Page(
        (("GET", "/products"), ("POST", "/products"), ("GET", "/products/X"),
         ("POST", "/product-versions/X/transitions"), ("PUT", "/products/X"),
         ("GET", "/products/X/versions"), ("POST", "/applications"),
         ("GET", "/applications/X/plan")),
        (BASE_VARIABLE, "OFFICER", "MANAGER", "DIRECTOR", "HARBOUR"),
        lambda last: len(last["rows"]) == 12 and last["summary"]["schedule_method"] == (
            "equal_principal"),
    ),
    "origination.md": Page(
        (("POST", "/applications"), ("POST", "/applications/X/documents"),
         ("POST", "/applications/X/transitions"), ("GET", "/pre-approvals"),
         ("GET", "/approval-tasks"), ("GET", "/approval-tasks/X"),
         ("POST", "/approval-tasks/X/transitions"), ("GET", "/applications/X"),
         ("POST", "/blacklist")),
        (BASE_VARIABLE, "SUNRISE", "OFFICER", "MANAGER", "DIRECTOR", "SUPERVISOR"),
        lambda last: last["items"][0]["outcome"] == "decline"
        and last["items"][0]["facts"]["statement_tampering_high"] != "0",
    ),
    "contracts.md": Page(
        (("POST", "/approval-tasks/X/transitions"), ("GET", "/contracts"),
         ("GET", "/contracts/X"), ("GET", "/contracts/X/receivables"),
         ("GET", "/contracts/X/document"), ("PUT", "/contracts/X/draft"),
         ("POST", "/contracts/X/transitions"), ("POST", "/contracts/X/signature-checks"),
         ("GET", "/contracts/X/signed-document"), ("GET", "/disbursements"),
         ("GET", "/disbursements/X"), ("POST", "/contracts/X/documents"),
         ("PUT", "/partners/X"), ("POST", "/disbursement-approvals"),
         ("GET", "/partners/X/credit-limit"), ("GET", "/contracts/X/trace")),
        (BASE_VARIABLE, "SUNRISE", "OFFICER", "FINANCE"),
        lambda last: last["state"] == "active"
        and last["entries"][-1]["action"] == "application_activated",
        checks_afterwards=True,
    ),
    "funds.md": Page(
        (("GET", "/contracts/X/receivables"), ("GET", "/mandates"), ("POST", "/debit-runs"),
         ("GET", "/debit-runs/X/items"), ("GET", "/debit-runs/X/file"), ("GET", "/debit-runs/X"),
         ("POST", "/debit-results"), ("POST", "/debit-runs/X/settlement"),
         ("GET", "/contracts/X/payments"), ("POST", "/mandates"),
         ("POST", "/mandates/X/transitions"), ("POST", "/payments"), ("GET", "/payments/X"),
         ("POST", "/statements"), ("GET", "/statement-entries"),
         ("POST", "/statement-entries/X/suspense"), ("POST", "/contracts/X/settlement-quotes"),
         ("GET", "/contracts/X/settlement-quotes"), ("POST", "/partners/X/settlement-files"),
         ("GET", "/settlement-quotes/X")),
        (BASE_VARIABLE, "FINANCE", "OFFICER"),
        lambda last: [(line["sequence"], line["status"]) for line in last["items"]]
        == [(3, "paid"), (4, "paid")],
    ),
    "accounting.md": Page(
        (("POST", "/disbursement-approvals"), ("GET", "/vouchers"), ("GET", "/vouchers/X"),
         ("POST", "/payments"), ("GET", "/accounting/trial-balance"),
         ("GET", "/contracts/X/sub-ledger"), ("GET", "/accounting/ledger-reconciliation"),
         ("POST", "/accounting/templates"), ("GET", "/accounting/unmapped"),
         ("POST", "/accounting/unmapped/X/replay"), ("POST", "/accounting/books/close")),
        (BASE_VARIABLE, "FINANCE", "CFO", "OFFICER", "SUNRISE"),
        lambda last: last["version"] == 1 and last["closed_through"] < last["closed_at"],
    ),
    "exceptions.md": Page(
        (("POST", "/payments"), ("POST", "/contracts/X/exception-requests"),
         ("POST", "/exception-requests/X/submission"),
         ("POST", "/exception-requests/X/transitions"), ("GET", "/exception-requests/X/preview"),
         ("GET", "/contracts/X/receivables"), ("GET", "/contracts/X/exception-requests"),
         ("GET", "/contracts/X/refunds")),
        (BASE_VARIABLE, "FINANCE", "OFFICER", "SUPERVISOR", "CFO"),
        # The overpayment refunded through the same chain, and paid out.
        lambda last: [(r["state"], r["amount"]["amount"]) for r in last["items"]]
        == [("paid", "1169.79")],
    ),
    "identity.md": Page(
        (("POST", "/users"), ("POST", "/enrolments"), ("GET", "/me"), ("POST", "/me/tokens"),
         ("DELETE", "/tokens/X"), ("GET", "/users/X/tokens"),
         ("POST", "/users/X/transitions")),
        (BASE_VARIABLE, "ADMIN"),
        lambda last: last["status"] == 401,
    ),
    "operations.md": Page(
        (("GET", "/end-of-day"), ("POST", "/end-of-day/close"),
         ("GET", "/end-of-day/closes/X")),
        (BASE_VARIABLE, "ADMIN", "OFFICER"),
        # Two days closed: once over HTTP, once by `leasekit eod run`.
        lambda last: last["newest_close"]["state"] == "closed"
        and last["business_date"] > last["newest_close"]["business_date"],
        # How many days last month had decides the aging buckets and the penalty accrued; a
        # month's last day books the interest earned.
        varying=frozenset({"penalty", "bucket_1-30", "bucket_31-60", "interest_events",
                           "interest_accrued", "interest_released"}),
        versioned=False,
    ),
}  # fmt: skip


@pytest.fixture(params=sorted(PAGES))
def page(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def markdown(page: str) -> str:
    return (DOCS / page).read_text(encoding="utf-8")


@pytest.fixture
def demo_server(markdown: str, tmp_path: Path) -> Iterator[DemoServer]:
    """``leasekit demo`` with the page's options, in a fresh folder, on a free port."""
    command, shown = demo_command(markdown)
    assert command[:2] == ["leasekit", "demo"]
    port = free_port()
    with (
        (tmp_path / "demo.stdout").open("wb") as stdout,
        (tmp_path / "demo.stderr").open("wb") as stderr,
    ):
        process = subprocess.Popen(
            [*leasekit_executable(), *command[1:], "--port", str(port)],
            cwd=tmp_path,
            stdout=stdout,
            stderr=stderr,
            env=clean_environment(),
        )
    server = DemoServer(process, port, tmp_path, shown)
    try:
        server.wait_until_healthy()
        yield server
    finally:
        server.stop()


pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="stops the server with SIGTERM, which Windows lacks"
)


# --- the tests ------------------------------------------------------------------------------


def test_the_page_has_the_steps_a_new_user_needs(page: str, markdown: str, tmp_path: Path) -> None:
    """Guards the reader's path itself, so that the page cannot shrink to something trivial."""
    put_samples(tmp_path)
    _touch_made_files(markdown, tmp_path)
    sent = [
        request_of(command, dict.fromkeys(_all_variables(markdown), "X"), tmp_path)
        for step in steps(markdown)
        for command in step.commands
        if command.shell is None
    ]
    paths = [(r.method, re.sub(r"^X", "", r.url).split("?")[0]) for r in sent]
    for needed in PAGES[page].needed:
        assert needed in paths, needed
    if PAGES[page].versioned:
        assert any("If-Match" in r.headers for r in sent), "changes name their version"
    assert bool(checks(markdown)) == PAGES[page].checks_afterwards, "what to check afterwards"
    assert exported(markdown) == list(PAGES[page].exports)


def _touch_made_files(markdown: str, workdir: Path) -> None:
    """Empty stand-ins for the files a page's own commands write before sending them (a bank
    file that ``leasekit funds bank-results`` makes), since this test runs nothing."""
    for name in re.findall(r"--data-binary @([\w./-]+)", markdown):
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).touch()


def _all_variables(markdown: str) -> set[str]:
    return {m.group(1) or m.group(2) for m in _VARIABLE.finditer(markdown)}


def _tokens_unreadable_by_others(path: Path) -> bool:
    return path.stat().st_mode & 0o077 == 0


def test_a_new_user_walks_through_it_over_http(
    page: str, markdown: str, demo_server: DemoServer
) -> None:
    tokens_file = demo_server.workdir / "tokens.json"
    assert _tokens_unreadable_by_others(tokens_file)
    variables = demo_server.variables(exported(markdown))
    last: Any = None
    for step in steps(markdown):
        for command in step.commands:
            if command.shell is not None:
                output = run_shell(command.shell, variables, demo_server.workdir)
                if command.shell_capture is not None:
                    variables[command.shell_capture] = output
                elif output:
                    last = json.loads(output)  # what a leasekit command printed
                continue
            request = request_of(command, variables, demo_server.workdir)
            status, last = send(request)
            wanted = expected_status(step.expected) if command is step.commands[-1] else None
            where = f"{page} line {step.line}: {request.method} {request.url}"
            if wanted is None:
                assert 200 <= status < 300, f"{where}: {status} {last}"
            else:
                assert status == wanted, f"{where}: {status} {last}"
            if command.capture is not None:
                name, path = command.capture
                variables[name] = jq(last, path)
        if step.expected is not None:
            assert_like(step.expected, last, f"{page} line {step.line}", PAGES[page].unchecked)
    assert PAGES[page].ends(last), f"the walk ends elsewhere: {last}"

    assert demo_server.stop() == 0, demo_server.output("stderr")
    printed = demo_server.printed()
    for token in demo_server.tokens().values():
        assert token in demo_server.output("stdout"), "the table shows every token"
    shown = [_TOKEN.sub("lk_TOKEN", line).rstrip() for line in demo_server.shown_output]
    assert printed == shown or not shown, "the demo prints what the page shows"
    for command, output in checks(markdown):
        assert run_check(command, demo_server.workdir) == output, command


@pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("bash", "curl", "jq")),
    reason="needs bash, curl and jq",
)
def test_the_page_runs_as_a_shell_script(page: str, markdown: str, demo_server: DemoServer) -> None:
    """The same blocks through bash, curl and jq: the shell syntax the page teaches works."""
    script = "\n".join(
        ["set -euo pipefail"] + [b.text for b in blocks(markdown) if b.language == "sh"]
    )
    environment = clean_environment() | demo_server.variables(exported(markdown))
    completed = subprocess.run(
        ["bash", "-c", script],
        cwd=demo_server.workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    printed = _json_documents(completed.stdout)
    shown = [
        step.expected
        for step in steps(markdown)
        if step.expected is not None and step.commands[-1].capture is None
    ]
    assert len(printed) == len(shown), completed.stdout
    for one, other in zip(shown, printed, strict=True):
        assert_like(one, other, varying=PAGES[page].unchecked)
    assert PAGES[page].ends(printed[-1])


def _json_documents(text: str) -> list[Any]:
    """curl prints each answer without a line break after it: split them."""
    decoder = json.JSONDecoder()
    documents, index = [], 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        document, index = decoder.raw_decode(text, index)
        documents.append(document)
    return documents
