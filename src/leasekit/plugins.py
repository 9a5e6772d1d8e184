"""The plugin host: one plugin manager per application, registries of adapters, a typed facade.

The application object owns its plugin manager (:func:`create_plugin_manager`); there is no
global one, so two apps in one process, or two tests, never see each other's plugins. Built-in
plugins are registered first and the same way as third-party ones, then the ``leasekit``
entry-point group is loaded, each entry point in its own ``try`` so that a broken distribution
is named in the error. ``check_pending()`` then fails on any implementation of a hook that does
not exist: a typo in a hook name must not pass silently.

Hooks are called only through :class:`Hooks`, which passes keyword arguments and checks what
comes back, since pluggy checks neither. :func:`resolve_adapters` turns the ids chosen in
settings into started adapters, and :func:`describe` reports what is installed for
``leasekit plugins``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Generic, Self, TypeVar, cast, overload

import attrs
import pluggy

from leasekit import hookspecs
from leasekit.domain.clock import Clock
from leasekit.domain.events import DomainEvent
from leasekit.domain.partner_ratings import RatingModel, Scorecard
from leasekit.errors import (
    ConfigurationError,
    DuplicateAdapterError,
    LeasekitError,
    PluginError,
    PluginLoadError,
    UnknownAdapterError,
)
from leasekit.ports import (
    AdapterContext,
    AdapterKind,
    ApprovalCase,
    ApprovalPolicy,
    Bank,
    CreditBureau,
    DocumentStore,
    FaceVerifier,
    FraudSource,
    Ledger,
    Notifier,
    PolicyVote,
    Register,
    RuleSet,
    SignatureProvider,
    StatementParser,
    VoucherTemplate,
    protocol_members,
)
from leasekit.ports.kinds import KINDS

if TYPE_CHECKING:
    from rich.table import Table

__all__ = [
    "AUTOLOAD_ENV",
    "BUILTIN_PLUGINS",
    "CHOSEN_KINDS",
    "DISABLED_ENV",
    "ENTRY_POINT_GROUP",
    "KIND_HOOKS",
    "KIND_PROTOCOLS",
    "ActiveAdapter",
    "Adapters",
    "ApplicationVoter",
    "Hooks",
    "KindRow",
    "PluginManager",
    "PluginReport",
    "PluginRow",
    "Registration",
    "Registry",
    "as_hooks",
    "conforming",
    "create_plugin_manager",
    "describe",
    "publish",
    "report_tables",
    "resolve_adapters",
]

ENTRY_POINT_GROUP: Final = "leasekit"
AUTOLOAD_ENV: Final = "LEASEKIT_DISABLE_PLUGIN_AUTOLOAD"
"""A true value (1, true, yes, on) loads no entry points: only built-in and in-code plugins."""
DISABLED_ENV: Final = "LEASEKIT_DISABLED_PLUGINS"
"""Comma-separated plugin names (entry-point names, built-in module names) or distribution
names that are not loaded."""

BUILTIN_PLUGINS: Final = (
    "leasekit.builtin.approval_policy",
    "leasekit.builtin.filesystem",
    "leasekit.builtin.signatures",
    "leasekit.builtin.statements",
    "leasekit.builtin.fakes",
)
"""Registered first, under their module names, which ``LEASEKIT_DISABLED_PLUGINS`` accepts."""

BUILTIN: Final = "builtin"
IN_CODE: Final = "extra_plugins"

KIND_HOOKS: Final[Mapping[AdapterKind, str]] = MappingProxyType(
    {kind: spec.hook_name for kind, spec in KINDS.items()}
)
"""The registration hook that fills each kind's registry."""

KIND_PROTOCOLS: Final[Mapping[AdapterKind, type]] = MappingProxyType(
    {kind: spec.port for kind, spec in KINDS.items()}
)
"""The port each kind's adapters implement; a started adapter lacking a member is refused."""

CHOSEN_KINDS: Final = tuple(kind for kind, spec in KINDS.items() if spec.chosen)
"""Kinds whose adapter settings choose by id; voucher templates are all used."""

_A = TypeVar("_A")
_P = TypeVar("_P")
_ADAPTER_ID: Final = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_TRUE_WORDS: Final = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS: Final = frozenset({"", "0", "false", "no", "off"})


# --- the plugin manager -------------------------------------------------------------------


class PluginManager(pluggy.PluginManager):
    """pluggy's manager with leasekit's hookspecs, remembering where each plugin came from."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        self._sources: dict[str, str] = {}

    def register_from(self, plugin: object, name: str | None, source: str) -> str | None:
        """Register *plugin*, recording *source* ("builtin", "acme-bureau 1.2") for reports.

        The plugin must be hashable, as modules and classes are: :class:`Hooks` calls one
        plugin at a time through pluggy's ``subset_hook_caller``, which needs a set of them.
        """
        try:
            hash(plugin)
        except TypeError:
            raise PluginError(
                f"{type(plugin).__name__} instances are not hashable; register a module, a "
                "class or a hashable object"
            ) from None
        registered = self.register(plugin, name=name)
        if registered is not None:
            self._sources[registered] = source
        return registered

    def source_of(self, name: str) -> str:
        """Where plugin *name* came from: a distribution and version, builtin, or extra_plugins."""
        return self._sources.get(name, IN_CODE)

    def label(self, name: str) -> str:
        """*name* with its source, as error messages name a plugin."""
        return f"{name} ({self.source_of(name)})"

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        """Treat an unmarked ``leasekit_*`` function as an implementation, as pytest does with
        ``pytest_*``, so that a misspelt hook name fails ``check_pending`` even when the author
        also forgot ``@hookimpl``."""
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is not None or not name.startswith(f"{hookspecs.PROJECT_NAME}_"):
            return opts
        if not inspect.isroutine(getattr(plugin, name, None)):
            return None
        return pluggy.HookimplOpts(
            wrapper=False,
            hookwrapper=False,
            optionalhook=False,
            tryfirst=False,
            trylast=False,
            specname=None,
        )

    @property
    def hooks(self) -> Hooks:
        return Hooks(self)


def create_plugin_manager(
    *,
    load_entrypoints: bool | None = None,
    blocked: Iterable[str] | None = None,
    extra_plugins: Iterable[object] = (),
) -> PluginManager:
    """A new plugin manager: built-ins, then installed entry points, then *extra_plugins*.

    An argument left as None is read from the environment: *load_entrypoints* is false when
    ``LEASEKIT_DISABLE_PLUGIN_AUTOLOAD`` is true, and *blocked* is the comma-separated
    ``LEASEKIT_DISABLED_PLUGINS``. An explicit argument wins over the environment, so an
    application can pass its settings (which read the same variables) and a test can pass
    ``load_entrypoints=False`` whatever the machine has installed.
    """
    if load_entrypoints is None:
        load_entrypoints = not _env_flag(AUTOLOAD_ENV)
    names = frozenset(_env_list(DISABLED_ENV) if blocked is None else blocked)
    pm = PluginManager()
    for name in names:
        pm.set_blocked(name)
    _register_builtins(pm)
    if load_entrypoints:
        _load_entry_points(pm, names)
    _register_extras(pm, extra_plugins)
    _check_pending(pm)
    return pm


def _env_flag(variable: str) -> bool:
    raw = os.environ.get(variable, "").strip().lower()
    if raw in _TRUE_WORDS:
        return True
    if raw in _FALSE_WORDS:
        return False
    raise ConfigurationError(f"{variable}={raw!r}: expected 1, true, yes, on or 0, false, no, off")


def _env_list(variable: str) -> list[str]:
    return [item.strip() for item in os.environ.get(variable, "").split(",") if item.strip()]


def _canonical(distribution: str) -> str:
    """Distribution names compare the way pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _register_builtins(pm: PluginManager) -> None:
    for module_name in BUILTIN_PLUGINS:
        if pm.is_blocked(module_name):
            continue
        try:
            pm.register_from(importlib.import_module(module_name), module_name, BUILTIN)
        except Exception as exc:
            raise PluginLoadError(BUILTIN, module_name, exc) from exc


def _load_entry_points(pm: PluginManager, blocked: frozenset[str]) -> None:
    """Import and register every ``leasekit`` entry point not blocked by name or distribution."""
    blocked_distributions = {_canonical(name) for name in blocked}
    entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    for entry_point in sorted(entry_points, key=lambda ep: ep.name):
        distribution = entry_point.dist
        dist_name = distribution.name if distribution is not None else "unknown distribution"
        if pm.is_blocked(entry_point.name) or _canonical(dist_name) in blocked_distributions:
            continue
        source = f"{dist_name} {distribution.version}" if distribution is not None else dist_name
        try:
            pm.register_from(entry_point.load(), entry_point.name, source)
        except Exception as exc:
            error = PluginLoadError(dist_name, entry_point.name, exc)
            error.add_note(f"start without it: {DISABLED_ENV}={dist_name}")
            raise error from exc


def _register_extras(pm: PluginManager, plugins: Iterable[object]) -> None:
    for plugin in plugins:
        name = _extra_name(pm, plugin)
        try:
            pm.register_from(plugin, name, IN_CODE)
        except Exception as exc:
            raise PluginLoadError(IN_CODE, name, exc) from exc


def _extra_name(pm: PluginManager, plugin: object) -> str:
    """A module's name, else the class name, numbered if taken: readable in error messages
    and reports, where pluggy's default would be the object's ``id()``."""
    name = getattr(plugin, "__name__", None)
    base = name if isinstance(name, str) else type(plugin).__name__
    candidate, number = base, 1
    while pm.has_plugin(candidate):
        number += 1
        candidate = f"{base}#{number}"
    return candidate


def _check_pending(pm: PluginManager) -> None:
    """Fail on implementations of hooks that do not exist, naming the plugin's source."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or repr(exc.plugin)
        raise PluginLoadError(pm.source_of(name), name, exc) from exc


# --- registries ---------------------------------------------------------------------------


@attrs.frozen
class Registration(Generic[_A]):
    """One adapter factory offered under an id by a plugin."""

    kind: AdapterKind
    adapter_id: str
    factory: Callable[[AdapterContext], _A]
    plugin: str

    def start(self, context: AdapterContext) -> _A:
        """Build the adapter and check it has every member of its port."""
        try:
            adapter = self.factory(context)
        except LeasekitError:
            raise
        except Exception as exc:
            raise PluginError(
                f"{self.kind} adapter {self.adapter_id!r} from {self.plugin} failed to start: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return conforming(self.kind, adapter, f"adapter {self.adapter_id!r} from {self.plugin}")


def conforming(kind: AdapterKind, adapter: _A, described: str) -> _A:
    """*adapter* if it has every member of *kind*'s port, synchronous, else a PluginError
    naming the gaps, so that a half-written adapter fails at start-up rather than at its first
    use (an ``async def`` method would hand the services an unawaited coroutine)."""
    members = protocol_members(KIND_PROTOCOLS[kind])
    missing = [name for name in members if not hasattr(adapter, name)]
    if missing:
        raise PluginError(f"{kind} {described} lacks {', '.join(missing)}")
    asynchronous = [name for name in members if inspect.iscoroutinefunction(getattr(adapter, name))]
    if asynchronous:
        raise PluginError(
            f"{kind} {described} has async {', '.join(asynchronous)}; adapters are synchronous"
        )
    return adapter


class Registry(Generic[_A]):
    """The adapters of one kind, keyed by id; an id may be registered only once."""

    def __init__(self, kind: AdapterKind) -> None:
        self.kind = kind
        self._entries: dict[str, Registration[_A]] = {}

    def register(
        self, adapter_id: str, factory: Callable[[AdapterContext], _A], *, plugin: str
    ) -> None:
        if not isinstance(adapter_id, str) or not _ADAPTER_ID.fullmatch(adapter_id):
            raise PluginError(
                f"{plugin} registered {self.kind} adapter id {adapter_id!r}; ids are lower-case "
                "letters, digits, '.', '_' and '-', at most 64 characters"
            )
        if not callable(factory):
            raise PluginError(
                f"{plugin} registered {self.kind} adapter {adapter_id!r} "
                f"with {factory!r}, which is not callable"
            )
        existing = self._entries.get(adapter_id)
        if existing is not None:
            raise DuplicateAdapterError(
                f"{self.kind} adapter id {adapter_id!r} is registered by both "
                f"{existing.plugin} and {plugin}; block one with {DISABLED_ENV}"
            )
        self._entries[adapter_id] = Registration(self.kind, adapter_id, factory, plugin)

    def registrar(self, plugin: str) -> Register[_A]:
        """The ``register`` callable handed to *plugin*'s registration hook."""

        def register(adapter_id: str, factory: Callable[[AdapterContext], _A], /) -> None:
            self.register(adapter_id, factory, plugin=plugin)

        return register

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(sorted(self._entries))

    def get(self, adapter_id: str) -> Registration[_A]:
        try:
            return self._entries[adapter_id]
        except KeyError:
            raise UnknownAdapterError(self.kind.value, adapter_id, self._entries) from None

    def __iter__(self) -> Iterator[Registration[_A]]:
        return iter(self._entries.values())


# --- the typed facade ---------------------------------------------------------------------


class Hooks:
    """Every hook call goes through here: keyword arguments, checked results.

    pluggy matches arguments by name and checks no types, and an ``async def`` implementation
    would return an unawaited coroutine; both are caught here. Registration and decision hooks
    are called one plugin at a time, so that an error, a crash included, names the plugin at
    fault.
    """

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self._pm = pm

    def registry(self, kind: AdapterKind) -> Registry[Any]:
        """The registry for *kind*, filled by calling its registration hook on each plugin
        with a ``register`` that knows the plugin, so a duplicate id names both plugins."""
        registry: Registry[Any] = Registry(kind)
        for name, caller in self._each_implementation(KIND_HOOKS[kind]):
            self._call_plugin(caller, name, register=registry.registrar(self._label(name)))
        return registry

    def evaluate_application(self, case: ApprovalCase) -> list[PolicyVote]:
        """The votes of every plugin that did not abstain."""
        votes = (voter.vote(case) for voter in self.application_voters())
        return [vote for vote in votes if vote is not None]

    def application_voters(self) -> list[ApplicationVoter]:
        """Each plugin implementing ``leasekit_evaluate_application``, to be asked on its
        own: a caller that gives every plugin its own deadline, and counts one that fails as
        one party that did not answer, needs them one by one."""
        hook = "leasekit_evaluate_application"
        return [
            ApplicationVoter(name, self, caller) for name, caller in self._each_implementation(hook)
        ]

    def end_of_day_steps(self) -> list[Any]:
        """The plugins' steps of the close of business, plugin by plugin; anything but a
        sequence of steps is an error naming the plugin."""
        from leasekit.services.end_of_day import EndOfDayStep

        hook = "leasekit_end_of_day_steps"
        found: list[Any] = []
        for name, caller in self._each_implementation(hook):
            for steps in self._call_plugin(caller, name, allow_results=True):
                if not isinstance(steps, list | tuple) or not all(
                    isinstance(step, EndOfDayStep) for step in steps
                ):
                    raise PluginError(
                        f"{self._label(name)} returned {steps!r} from {hook}; expected a "
                        "sequence of EndOfDayStep"
                    )
                found.extend(steps)
        return found

    def partner_rating_model(self, scorecard: Scorecard) -> RatingModel:
        """The model a plugin puts in place of *scorecard*, or *scorecard*; two plugins
        replacing it is an error naming both, not a race decided by load order."""
        models: list[tuple[str, object]] = []
        hook = "leasekit_partner_rating_model"
        for name, caller in self._each_implementation(hook):
            for result in self._call_plugin(caller, name, allow_results=True, scorecard=scorecard):
                if not isinstance(result, RatingModel):
                    raise PluginError(
                        f"{self._label(name)} returned {result!r} from {hook}; expected a "
                        "RatingModel (a version and rate(figures)) or None"
                    )
                models.append((name, result))
        if len(models) > 1:
            both = " and ".join(self._label(name) for name, _ in models)
            raise PluginError(f"{both} both replace the partner rating model; disable one")
        return cast("RatingModel", models[0][1]) if models else scorecard

    def publish(self, event: DomainEvent) -> None:
        """Deliver *event* to every plugin's ``leasekit_event_published`` and named hook.

        An exception propagates unchanged; the outbox delivers each plugin on its own instead
        (:meth:`publish_to`), so that one plugin's failure is retried without the others.
        """
        for hook_name in _event_hook_names(event):
            caller: pluggy.HookCaller = getattr(self._pm.hook, hook_name)
            self._check(hook_name, None, caller(event=event))

    def event_receivers(self) -> dict[str, frozenset[str] | None]:
        """Each plugin that receives events, with the names of the events it takes; None for
        a plugin implementing ``leasekit_event_published``, which takes every event."""
        named: dict[str, set[str]] = {}
        for event_name in sorted(hookspecs.NAMED_EVENT_HOOKS):
            for name, _ in self._each_implementation(f"{hookspecs.PROJECT_NAME}_{event_name}"):
                named.setdefault(name, set()).add(event_name)
        receivers: dict[str, frozenset[str] | None] = {
            name: frozenset(events) for name, events in named.items()
        }
        for name, _ in self._each_implementation("leasekit_event_published"):
            receivers[name] = None
        return receivers

    def publish_to(self, plugin: str, event: DomainEvent) -> None:
        """:meth:`publish` for one plugin's implementations only, so that each plugin is a
        subscriber of its own and one that fails holds back no other."""
        others = [other for name, other in self._pm.list_name_plugin() if name != plugin]
        for hook_name in _event_hook_names(event):
            caller = self._pm.subset_hook_caller(hook_name, others)
            self._check(hook_name, plugin, caller(event=event))

    def _label(self, name: str) -> str:
        if isinstance(self._pm, PluginManager):
            return self._pm.label(name)
        return name

    def _each_implementation(self, hook_name: str) -> Iterator[tuple[str, pluggy.HookCaller]]:
        """For each plugin implementing *hook_name*, in registration order, a caller of that
        plugin's implementation alone."""
        caller: pluggy.HookCaller = getattr(self._pm.hook, hook_name)
        plugins: dict[str, object] = {}
        for impl in caller.get_hookimpls():
            plugins.setdefault(impl.plugin_name, impl.plugin)
        for name in plugins:
            others = [plugin for other, plugin in plugins.items() if other != name]
            yield name, self._pm.subset_hook_caller(hook_name, others)

    def _call_plugin(
        self,
        caller: pluggy.HookCaller,
        plugin: str,
        *,
        allow_results: bool = False,
        **kwargs: object,
    ) -> list[object]:
        """Call one plugin's implementation; a crash becomes a PluginError naming it (a
        leasekit error keeps its type and gains a note), so that ``leasekit plugins`` and
        start-up report the plugin at fault instead of a bare traceback."""
        try:
            results = caller(**kwargs)
        except LeasekitError as exc:
            exc.add_note(f"raised by {self._label(plugin)} in {caller.name}")
            raise
        except Exception as exc:
            raise PluginError(
                f"{self._label(plugin)} failed in {caller.name}: {type(exc).__name__}: {exc}; "
                f"start without it: {DISABLED_ENV}={plugin}"
            ) from exc
        return self._check(caller.name, plugin, results, allow_results=allow_results)

    def _check(
        self, hook_name: str, plugin: str | None, results: object, *, allow_results: bool = False
    ) -> list[object]:
        """Refuse coroutines (an ``async def`` implementation) and unexpected return values."""
        found = list(cast("Iterable[object]", results))
        for result in found:
            who = self._label(plugin) if plugin else _implementation_of(result, hook_name)
            if inspect.isawaitable(result):
                if inspect.iscoroutine(result):
                    result.close()
                raise PluginError(f"{who} is async; leasekit hooks are synchronous ({hook_name})")
            if not allow_results:
                raise PluginError(f"{who} returned {result!r} from {hook_name}, which returns None")
        return found


@attrs.frozen
class ApplicationVoter:
    """One plugin's ``leasekit_evaluate_application``."""

    name: str
    """The plugin's name, as ``LEASEKIT_DISABLED_PLUGINS`` takes it."""
    _hooks: Hooks
    _caller: pluggy.HookCaller

    def vote(self, case: ApprovalCase) -> PolicyVote | None:
        """The plugin's vote, or None if it abstains; a crash or an answer that is no vote
        is a PluginError naming it."""
        hooks = self._hooks
        for result in hooks._call_plugin(self._caller, self.name, allow_results=True, case=case):
            if not isinstance(result, PolicyVote):
                raise PluginError(
                    f"{hooks._label(self.name)} returned {result!r} from "
                    "leasekit_evaluate_application; expected a PolicyVote or None"
                )
            return result
        return None


def _implementation_of(result: object, hook_name: str) -> str:
    """Who returned *result* when the hook was called for all plugins at once: a coroutine
    knows its function, anything else only the hook."""
    if inspect.iscoroutine(result):
        return f"{result.__qualname__} ({result.cr_code.co_filename})"
    return f"an implementation of {hook_name}"


def as_hooks(pm_or_hooks: pluggy.PluginManager | Hooks) -> Hooks:
    return pm_or_hooks if isinstance(pm_or_hooks, Hooks) else Hooks(pm_or_hooks)


def _event_hook_names(event: DomainEvent) -> list[str]:
    """The hooks *event* goes to: the generic one, then its own if it has one. Only the names
    in :data:`~leasekit.hookspecs.NAMED_EVENT_HOOKS` have a hook of their own: an event called
    ``register_banks`` must not reach a registration hook."""
    names = ["leasekit_event_published"]
    if event.name in hookspecs.NAMED_EVENT_HOOKS:
        names.append(f"{hookspecs.PROJECT_NAME}_{event.name}")
    return names


def publish(pm_or_hooks: pluggy.PluginManager | Hooks, event: DomainEvent) -> None:
    """Every plugin's event hooks for one event, the generic hook first (for scripts and
    tests; the outbox delivers to each plugin on its own)."""
    as_hooks(pm_or_hooks).publish(event)


# --- resolved adapters --------------------------------------------------------------------


@attrs.frozen
class ActiveAdapter:
    """The adapter settings chose for one kind, started."""

    kind: AdapterKind
    adapter_id: str
    plugin: str
    instance: object


class _PortAccessor(Generic[_P]):
    """``adapters.<kind>``: the active adapter of the kind its attribute is named after, typed
    as the kind's port, since :meth:`Adapters.get` can only promise an object."""

    kind: AdapterKind

    def __set_name__(self, owner: type, name: str) -> None:
        self.kind = AdapterKind(name)

    @overload
    def __get__(self, adapters: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, adapters: Adapters, owner: type | None = None) -> _P: ...

    def __get__(self, adapters: Adapters | None, owner: type | None = None) -> _P | Self:
        if adapters is None:
            return self
        return cast("_P", adapters.get(self.kind))


@attrs.frozen
class Adapters:
    """The started adapters, one per kind; a kind that settings left unset raises
    ConfigurationError when used, naming the variable to set."""

    active: Mapping[AdapterKind, ActiveAdapter]
    available: Mapping[AdapterKind, tuple[str, ...]] = attrs.field(factory=dict)
    voucher_templates: Mapping[str, VoucherTemplate] = attrs.field(factory=dict)
    """Every registered template, keyed by the event name it books."""

    # One accessor per kind chosen by id, typed as the kind's port.
    credit_bureau = _PortAccessor[CreditBureau]()
    fraud_source = _PortAccessor[FraudSource]()
    face_verifier = _PortAccessor[FaceVerifier]()
    statement_parser = _PortAccessor[StatementParser]()
    bank = _PortAccessor[Bank]()
    signature_provider = _PortAccessor[SignatureProvider]()
    ledger = _PortAccessor[Ledger]()
    document_store = _PortAccessor[DocumentStore]()
    approval_policy = _PortAccessor[ApprovalPolicy]()
    rule_set = _PortAccessor[RuleSet]()
    notifier = _PortAccessor[Notifier]()

    @classmethod
    def from_instances(
        cls,
        instances: Mapping[AdapterKind, object],
        *,
        adapter_id: str = "custom",
        voucher_templates: Iterable[VoucherTemplate] = (),
    ) -> Adapters:
        """Adapters built in code (tests, scripts), checked against their ports like plugins'."""
        active = {
            kind: ActiveAdapter(kind, adapter_id, IN_CODE, conforming(kind, instance, adapter_id))
            for kind, instance in instances.items()
        }
        kind = AdapterKind.VOUCHER_TEMPLATE
        templates = _by_event(
            (conforming(kind, template, f"#{index}"), f"{IN_CODE} template #{index}")
            for index, template in enumerate(voucher_templates)
        )
        return cls(active, dict.fromkeys(instances, (adapter_id,)), templates)

    def get(self, kind: AdapterKind) -> object:
        """The active adapter of *kind*, or a ConfigurationError saying how to choose one."""
        try:
            return self.active[kind].instance
        except KeyError:
            ids = ", ".join(self.available.get(kind, ())) or "none registered"
            raise ConfigurationError(
                f"no {kind} adapter is configured; set {kind.setting} (available: {ids})"
            ) from None

    def active_id(self, kind: AdapterKind) -> str | None:
        active = self.active.get(kind)
        return active.adapter_id if active else None

    def voucher_template(self, event_name: str) -> VoucherTemplate | None:
        return self.voucher_templates.get(event_name)


def resolve_adapters(
    pm: pluggy.PluginManager | Hooks,
    chosen: Mapping[str, str | None],
    options: Mapping[str, Mapping[str, str]],
    data_dir: Path,
    clock: Clock,
) -> Adapters:
    """Start the adapter *chosen* for each kind (settings ``adapters``), with its *options*
    (settings ``adapter_options``). An unknown id fails here, at start-up, listing the ids
    available; a kind chosen as None or "" stays unset until something uses it."""
    hooks = as_hooks(pm)
    _check_kinds(chosen, options)
    active: dict[AdapterKind, ActiveAdapter] = {}
    available: dict[AdapterKind, tuple[str, ...]] = {}
    for kind in CHOSEN_KINDS:
        registry = hooks.registry(kind)
        available[kind] = registry.ids
        adapter_id = chosen.get(kind.value)
        if adapter_id:
            registration = registry.get(adapter_id)
            context = AdapterContext(options.get(kind.value, {}), data_dir, clock, kind)
            instance = registration.start(context)
            active[kind] = ActiveAdapter(kind, adapter_id, registration.plugin, instance)
    template_kind = AdapterKind.VOUCHER_TEMPLATE
    context = AdapterContext(options.get(template_kind.value, {}), data_dir, clock, template_kind)
    templates = _by_event(
        (registration.start(context), f"{registration.plugin} template {registration.adapter_id!r}")
        for registration in hooks.registry(template_kind)
    )
    return Adapters(active, available, templates)


def _check_kinds(chosen: Mapping[str, str | None], options: Mapping[str, object]) -> None:
    known = {kind.value for kind in AdapterKind}
    unknown = sorted((set(chosen) | set(options)) - known)
    if unknown:
        raise ConfigurationError(
            f"unknown adapter kinds {', '.join(unknown)}; known kinds: {', '.join(sorted(known))}"
        )
    if chosen.get(AdapterKind.VOUCHER_TEMPLATE.value):
        raise ConfigurationError(
            f"{AdapterKind.VOUCHER_TEMPLATE.setting}: voucher templates are not chosen by id; "
            "every registered template books the event it names"
        )


def _by_event(templates: Iterable[tuple[VoucherTemplate, str]]) -> dict[str, VoucherTemplate]:
    """Templates keyed by event name; two for one event would book it twice, so that fails."""
    by_event: dict[str, VoucherTemplate] = {}
    owners: dict[str, str] = {}
    for template, owner in templates:
        name = template.event_name
        if name in by_event:
            raise DuplicateAdapterError(
                f"event {name!r} has two voucher templates: {owners[name]} and {owner}"
            )
        by_event[name], owners[name] = template, owner
    return by_event


# --- describing what is installed ---------------------------------------------------------


@attrs.frozen
class PluginRow:
    name: str
    source: str
    """``<distribution> <version>``, ``builtin`` or ``extra_plugins``."""
    hooks: tuple[str, ...]
    blocked: bool = False


@attrs.frozen
class KindRow:
    kind: AdapterKind
    registered: tuple[str, ...]
    active: tuple[str, ...]
    """The chosen id (none or one); for voucher templates, every registered id."""
    setting: str | None
    """The variable choosing the id; None for voucher templates, which are all used."""


@attrs.frozen
class PluginReport:
    """What ``leasekit plugins`` shows: the plugins and, per kind, the adapter ids."""

    plugins: tuple[PluginRow, ...]
    kinds: tuple[KindRow, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for ``leasekit plugins --json``."""
        return {
            "plugins": [
                {"name": p.name, "source": p.source, "hooks": list(p.hooks), "blocked": p.blocked}
                for p in self.plugins
            ],
            "adapters": [
                {
                    "kind": k.kind.value,
                    "registered": list(k.registered),
                    "active": list(k.active),
                    "setting": k.setting,
                }
                for k in self.kinds
            ],
        }


def describe(
    pm: PluginManager, adapters_or_chosen: Adapters | Mapping[str, str | None]
) -> PluginReport:
    """The installed plugins and adapter ids, with the active ones, for the CLI to render."""
    plugins = tuple(
        PluginRow(name, pm.source_of(name), _hooks_of(pm, plugin), blocked=plugin is None)
        for name, plugin in pm.list_name_plugin()
    )
    kinds = []
    for kind, spec in KINDS.items():
        registered = pm.hooks.registry(kind).ids
        if spec.chosen:
            active = tuple(filter(None, [_active_id(adapters_or_chosen, kind)]))
            kinds.append(KindRow(kind, registered, active, kind.setting))
        else:
            kinds.append(KindRow(kind, registered, registered, None))
    return PluginReport(plugins, tuple(kinds))


def _hooks_of(pm: pluggy.PluginManager, plugin: object) -> tuple[str, ...]:
    if plugin is None:
        return ()
    return tuple(sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()))


def _active_id(
    adapters_or_chosen: Adapters | Mapping[str, str | None], kind: AdapterKind
) -> str | None:
    if isinstance(adapters_or_chosen, Adapters):
        return adapters_or_chosen.active_id(kind)
    return adapters_or_chosen.get(kind.value) or None


def report_tables(report: PluginReport) -> tuple[Table, Table]:
    """The report as two rich tables (plugins, adapters); the CLI prints them."""
    from rich.table import Table

    prefix = f"{hookspecs.PROJECT_NAME}_"
    plugins = Table("plugin", "source", f"hooks ({prefix}...)", title="Plugins")
    for row in report.plugins:
        hooks = ", ".join(hook.removeprefix(prefix) for hook in row.hooks)
        plugins.add_row(row.name, row.source, "[dim]blocked[/dim]" if row.blocked else hooks)
    adapters = Table("kind", "registered ids", "active", "chosen by", title="Adapters")
    for kind in report.kinds:
        active = ", ".join(kind.active) or "[dim]not set[/dim]"
        setting = kind.setting or "[dim]all registered are used[/dim]"
        adapters.add_row(kind.kind.value, ", ".join(kind.registered), active, setting)
    return plugins, adapters
