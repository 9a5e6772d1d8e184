"""A face verifier for leasekit that calls a compare-faces HTTP API, adapter id ``http``.

It POSTs both images, base64-encoded, as JSON::

    {"source_image": "<the ID card photo>", "target_image": "<the live photo>"}

and reads from the JSON answer a ``similarity`` from 0 to 1 or, as several vendors give it, a
``confidence`` from 0 to 100, and a ``request_id`` kept as the match's reference. The faces
match from the ``threshold`` on.

Options (``LEASEKIT_ADAPTER_OPTIONS__FACE_VERIFIER__<NAME>``):

==================  ==========================================================  ==============
``url``             the API's compare endpoint (required)
``api_key``         sent in the ``api_key_header``; none is sent when unset
``api_key_header``  the header that carries the key                            ``X-API-Key``
``timeout``         seconds to wait to connect and for each read               ``10``
``threshold``       the similarity (0-1) from which the faces match            ``0.80``
==================  ==========================================================  ==============

A failure (no connection, a timeout, an HTTP error, an answer that is not the JSON described)
raises :class:`FaceMatchError`, whose message names what went wrong and never any image data
nor the key.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any, Final

from leasekit import hookimpl
from leasekit.errors import AdapterError, AmountError, ConfigurationError
from leasekit.money import to_decimal
from leasekit.ports import AdapterContext, FaceMatch, FaceVerifier, Register

__all__ = ["FaceMatchError", "HttpFaceVerifier", "leasekit_register_face_verifiers"]

ADAPTER_ID: Final = "http"
_PERCENT: Final = Decimal(100)
_DIGITS: Final = Decimal("0.0001")


class FaceMatchError(AdapterError):
    """The compare-faces API failed or answered nonsense."""


class HttpFaceVerifier:
    """Compares faces through the API at *url* (see the module)."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        api_key_header: str = "X-API-Key",
        timeout: Decimal = Decimal(10),
        threshold: Decimal = Decimal("0.80"),
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"face verifier url: {url!r} is not an http(s) URL")
        if not 0 <= threshold <= 1:
            raise ConfigurationError(f"face verifier threshold: {threshold} is outside 0-1")
        if timeout <= 0:
            raise ConfigurationError(f"face verifier timeout: {timeout} is not positive")
        self.url = url
        self._api_key = api_key
        self.api_key_header = api_key_header
        self.timeout = timeout
        self.threshold = threshold

    def __repr__(self) -> str:
        return f"HttpFaceVerifier({self.url!r}, threshold={self.threshold})"  # no key

    @classmethod
    def from_context(cls, context: AdapterContext) -> HttpFaceVerifier:
        return cls(
            context.require("url"),
            api_key=context.option("api_key"),
            api_key_header=context.option("api_key_header") or "X-API-Key",
            timeout=_decimal_option(context, "timeout", Decimal(10)),
            threshold=_decimal_option(context, "threshold", Decimal("0.80")),
        )

    def compare(self, reference: bytes, probe: bytes) -> FaceMatch:
        answer = self._post({"source_image": _base64(reference), "target_image": _base64(probe)})
        similarity = _similarity(answer)
        reference_id = answer.get("request_id")
        return FaceMatch(
            similarity,
            similarity >= self.threshold,
            reference_id if isinstance(reference_id, str) else "",
        )

    def _post(self, body: dict[str, str]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key is not None:
            headers[self.api_key_header] = self._api_key
        request = urllib.request.Request(
            self.url, data=json.dumps(body).encode("ascii"), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=float(self.timeout)) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            exc.close()  # its body is the open response
            raise FaceMatchError(f"the compare-faces API answered HTTP {exc.code}") from None
        except TimeoutError:
            raise FaceMatchError(
                f"the compare-faces API did not answer within {self.timeout} s"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FaceMatchError(f"the compare-faces API could not be reached: {reason}") from None
        return _json_object(raw)


def _base64(image: bytes) -> str:
    return base64.b64encode(image).decode("ascii")


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise FaceMatchError("the compare-faces API answered with malformed JSON") from None
    if not isinstance(answer, dict):
        raise FaceMatchError("the compare-faces API answered with JSON that is not an object")
    return answer


def _similarity(answer: dict[str, Any]) -> Decimal:
    """``similarity`` (0-1), else ``confidence`` (0-100) scaled to 0-1."""
    if "similarity" in answer:
        value, scale = answer["similarity"], Decimal(1)
    elif "confidence" in answer:
        value, scale = answer["confidence"], _PERCENT
    else:
        raise FaceMatchError("the compare-faces API's answer has no similarity or confidence")
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise FaceMatchError("the compare-faces API's similarity is not a number")
    similarity = Decimal(value) / scale
    if not 0 <= similarity <= 1:
        raise FaceMatchError(f"the compare-faces API's similarity {value} is out of range")
    return similarity.quantize(_DIGITS)


def _decimal_option(context: AdapterContext, name: str, default: Decimal) -> Decimal:
    raw = context.option(name)
    if raw is None:
        return default
    try:
        return to_decimal(raw, name)
    except AmountError:
        raise ConfigurationError(f"face verifier option {name}: {raw!r} is not a number") from None


@hookimpl
def leasekit_register_face_verifiers(register: Register[FaceVerifier]) -> None:
    register(ADAPTER_ID, HttpFaceVerifier.from_context)
