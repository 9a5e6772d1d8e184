"""The fakes from :mod:`leasekit.testing.fakes`, registered under adapter id ``fake``.

Registered always, so that a demo or a QA server selects them by settings
(``LEASEKIT_ADAPTERS__CREDIT_BUREAU=fake``) exactly as it would select a vendor's adapter;
production settings simply never choose ``fake``, and ``LEASEKIT_DISABLED_PLUGINS=
leasekit.builtin.fakes`` removes them altogether. Voucher templates are the exception: every
registered template is used, so no fake one is registered here.

The hook implementations are made from the table of kinds (:data:`leasekit.ports.kinds.KINDS`),
one per kind that has a fake, and set as module attributes named after their hooks, which is
where pluggy looks for them. A fake's module is imported only when settings choose it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from leasekit.hookspecs import hookimpl
from leasekit.ports import Register
from leasekit.ports.kinds import KINDS, KindSpec

FAKE: Final = "fake"


def _registering(spec: KindSpec) -> Callable[[Register[object]], None]:
    """An implementation of *spec*'s registration hook that offers its fake as ``fake``."""

    def register_fake(register: Register[object]) -> None:
        register(FAKE, spec.start_fake)

    register_fake.__name__ = register_fake.__qualname__ = spec.hook_name
    return hookimpl(trylast=True)(register_fake)


globals().update({spec.hook_name: _registering(spec) for spec in KINDS.values() if spec.fake})
