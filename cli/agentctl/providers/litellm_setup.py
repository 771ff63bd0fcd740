"""The one place litellm is imported: offline cost map, no banner, no telemetry, lean calls.

litellm does, around every call, work that agentctl never reads: a standard logging
payload and success/failure callbacks (a task per call on its logging worker, even with no
callback configured), its price of a response whose price the suite already gives, and, for a
model missing from its cost map, the same failing cost-map lookups on every call (about 14
per call). Under litellm, the openai SDK walks every request body through its parameter
types (``async_maybe_transform``: renaming aliased keys, formatting dates and files) before
sending it: a third of a tool-calling call's CPU, for bodies agentctl builds from plain JSON
values, which that walk returns unchanged. And litellm's ``acompletion`` runs its synchronous
set-up in the loop's default executor, a thread hop per call (:class:`LeanExecutor` runs it
in place for agentctl's calls, on the loops agentctl runs). Two more cost every caller the
same and change nothing they see: litellm lists all its providers' values twice per call
through the enum's Python-level iterator (:func:`_install_listed_providers`), and httpx
hands responses that set no cookie to urllib's cookie code
(:func:`_install_cookieless_responses`); the SDK parses the same request URL again for
every call (:func:`_install_remembered_urls`); and the SDK's ``openai.resources`` package imports
every API's resources when a chat completion needs one (:func:`_install_lazy_sdk_resources`),
and its ``openai.types`` packages import every type of their API when litellm asks for a few
(:func:`_install_types_on_demand`).
:func:`lean_call` marks a call as agentctl's;
:func:`_install_lean_hooks` makes litellm and the SDK skip that work for marked calls only.
litellm has no documented setting for any of it (``no-log`` skips only the callbacks, not
the payload), hence these narrow hooks, pinned by ``tests/test_litellm_lean.py``. Calls
litellm makes for others (ragas) are untouched.
"""

from __future__ import annotations

import asyncio
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import Context, ContextVar
from dataclasses import dataclass
from functools import partial
from types import ModuleType
from typing import Any

from agentctl.core.collector import collector_paused

_OFFLINE_ENV = {
    # Use the cost map shipped in the package; never fetch it from the network.
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    "DEEPEVAL_TELEMETRY_OPT_OUT": "1",
    "RAGAS_DO_NOT_TRACK": "true",
}


def offline_environment() -> None:
    """Set the environment that keeps litellm, deepeval and ragas from phoning home."""
    for key, value in _OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    # A user may have these set to something else; ours are not negotiable.
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    os.environ["DEEPEVAL_TELEMETRY_OPT_OUT"] = "1"
    os.environ["RAGAS_DO_NOT_TRACK"] = "true"


_LITELLM: list[ModuleType] = []
"""litellm once :func:`import_litellm` has configured it (every model call asks again)."""


def import_litellm() -> ModuleType:
    """Import litellm configured for agentctl (slow: ~3 s of CPU the first time)."""
    if _LITELLM:
        return _LITELLM[0]
    offline_environment()
    _install_types_on_demand()
    with collector_paused():  # a big import: see agentctl.core.collector
        import litellm

    litellm.suppress_debug_info = True  # users see our message, not litellm's banner
    litellm.telemetry = False
    litellm.set_verbose = False
    litellm.drop_params = True
    from agentctl.core.secrets import install_log_redaction

    install_log_redaction()  # LITELLM_LOG=DEBUG logs requests: keys must not reach the logs
    _install_lean_hooks(litellm)
    _LITELLM.append(litellm)
    return litellm


_WARMED: list[bool] = []


def warm_up() -> None:
    """Make litellm build what its first call in a process builds lazily (0.2 s of CPU here,
    twice that for 16 first calls at once: imports, pydantic models), with one call answered
    by litellm's own ``mock_response`` (no request leaves the process; marked as agentctl's,
    so no callback sees it). The first real calls are then timed as the model's latency; in
    the process that forks the workers it is done once for all of them."""
    if _WARMED:
        return
    _WARMED.append(True)
    litellm = import_litellm()
    try:
        # litellm's own "internal call" mark: its synchronous path then starts no logging
        # thread (a thread would keep the command from ending at once, and the workers'
        # forking process must have none)
        from litellm._internal_context import is_internal_call
    except ImportError:
        return
    internal = is_internal_call.set(True)
    try:
        with lean_call(priced=True), collector_paused():
            litellm.completion(model="openai/agentctl-warm-up", messages=[{"role": "user", "content": "hi"}],
                               mock_response="ok", api_key="not-a-key")
    except Exception:  # only a warm-up: a real call reports whatever is wrong
        pass
    finally:
        is_internal_call.reset(internal)


def litellm_price(litellm: Any, response: Any) -> float | None:
    """litellm's cost-map price of a response. litellm prices every response as it handles it
    (``_hidden_params["response_cost"]``; ``None`` for a model missing from its map): that
    figure is read, never computed a second time; only a response it did not price is."""
    hidden = getattr(response, "_hidden_params", None)
    if isinstance(hidden, dict) and "response_cost" in hidden:
        cost = hidden.get("response_cost")
        return float(cost) if isinstance(cost, (int, float)) else None
    return float(litellm.completion_cost(completion_response=response) or 0.0)


@dataclass(frozen=True)
class _Call:
    priced: bool
    """agentctl prices this call itself (suite ``pricing``): litellm's price is never read."""


_CALL: ContextVar[_Call | None] = ContextVar("agentctl_litellm_call", default=None)
_UNPRICED: set[tuple[Any, ...]] = set()
"""(model, response model, provider) litellm's cost map has no entry for: its price is None."""
_KNOWN: dict[str, bool] = {}
"""Whether litellm's cost map has a model: one ``get_model_info`` per model name."""


@contextmanager
def lean_call(*, priced: bool) -> Iterator[None]:
    """Mark the litellm calls made inside as agentctl's (see the module's docstring)."""
    token = _CALL.set(_Call(priced))
    try:
        yield
    finally:
        _CALL.reset(token)


def model_in_cost_map(litellm: ModuleType, model: str) -> bool:
    """Whether litellm's cost map knows ``model`` (looked up once per model)."""
    if model not in _KNOWN:
        try:
            litellm.get_model_info(model=model)
            _KNOWN[model] = True
        except Exception:  # litellm raises for a model it does not map
            _KNOWN[model] = False
    return _KNOWN[model]


def _install_lean_hooks(litellm: ModuleType) -> None:
    import litellm.utils as litellm_utils
    from litellm.litellm_core_utils.litellm_logging import Logging

    if getattr(Logging, "_agentctl_lean", False):
        return
    dispatch = litellm_utils._dispatch_success_logging

    def dispatch_success_logging(*args: Any, **kwargs: Any) -> None:
        if _CALL.get() is None:
            dispatch(*args, **kwargs)

    litellm_utils._dispatch_success_logging = dispatch_success_logging  # type: ignore[assignment]
    Logging.failure_handler = _skipped_for_ours(Logging.failure_handler)  # type: ignore[method-assign]
    Logging.async_failure_handler = _skipped_for_ours_async(Logging.async_failure_handler)  # type: ignore[method-assign]
    Logging.response_cost_calculator = _lean_cost(litellm, Logging.response_cost_calculator)  # type: ignore[method-assign]
    _install_lazy_sdk_resources()
    _install_plain_bodies()
    _install_listed_providers()
    _install_cookieless_responses()
    _install_remembered_urls()
    import litellm.main

    _COMPLETION.append(litellm.main.completion)
    if callable(getattr(litellm.main, "get_model_info_helper", None)):
        litellm.main.get_model_info_helper = _model_info_once(litellm.main.get_model_info_helper)
    if callable(getattr(litellm.main, "update_messages_with_model_file_ids", None)):
        litellm.main.update_messages_with_model_file_ids = _file_ids_only_with_files(
            litellm.main.update_messages_with_model_file_ids)
    Logging._agentctl_lean = True  # type: ignore[attr-defined]


class _NotInCostMap(Exception):
    """litellm's cost map has no entry for the model (as its own lookup raised the first time)."""


def _model_info_once(lookup: Callable[..., Any]) -> Callable[..., Any]:
    """litellm's chat set-up looks the model up in its cost map on every call (to decide
    whether to route it to the Responses API); for a model the map lacks, that failing
    lookup walked every spelling and generalisation of its name each time, 4% of a worker's
    CPU. For agentctl's calls each (model, provider) is looked up once: a copy of what it
    found, or the same failure (a model registered later with ``litellm.register_model`` is
    seen by the next process, as agentctl's own cost lookups are)."""
    found: dict[tuple[Any, Any], dict[str, Any] | None] = {}

    def looked_up_once(model: Any = None, custom_llm_provider: Any = None, *args: Any, **kwargs: Any) -> Any:
        if _CALL.get() is None or args or kwargs:
            return lookup(model, custom_llm_provider, *args, **kwargs)
        key = (model, custom_llm_provider)
        if key not in found:
            try:
                info = lookup(model=model, custom_llm_provider=custom_llm_provider)
            except Exception:
                found[key] = None
                raise
            found[key] = dict(info) if isinstance(info, dict) else None
            return info
        known = found[key]
        if known is None:
            raise _NotInCostMap(f"{model} is not in litellm's cost map")
        return dict(known)  # callers may set keys on what they get

    return looked_up_once


def _has_file_part(messages: Any) -> bool | None:
    """Whether a user message of ``messages`` has a ``file`` content part; None when
    ``messages`` is not a list of plain dicts (then nothing is assumed)."""
    if type(messages) is not list:
        return None
    for message in messages:
        if type(message) is not dict:
            return None
        content = message.get("role") == "user" and message.get("content")
        if not content or isinstance(content, str):
            continue
        if type(content) is not list:
            return None
        for part in content:
            if isinstance(part, dict) and part.get("type") == "file":
                return True
    return False


def _file_ids_only_with_files(update: Callable[..., Any]) -> Callable[..., Any]:
    """litellm's chat set-up passes every call's messages through
    ``update_messages_with_model_file_ids``, which rewrites the ids of ``file`` content parts
    of user messages and returns the same list; its first call imports litellm's proxy types
    (pydantic models, 66 ms of every process's first call, on the way to the first request).
    For agentctl's calls with no file part it returns the messages as that function would,
    without it; any other call goes to it."""

    def updated(messages: Any = None, *args: Any, **kwargs: Any) -> Any:
        if _CALL.get() is not None and _has_file_part(messages) is False:
            return messages
        return update(messages, *args, **kwargs)

    return updated


def is_plain_json(value: object) -> bool:
    """Whether ``value`` is made of JSON's own types only (exactly dict with str keys, list,
    str, int, float, bool, None): what the openai SDK's request transform returns unchanged."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return True
    if kind is dict:
        return all(type(k) is str and is_plain_json(v) for k, v in value.items())  # type: ignore[attr-defined]
    if kind is list:
        return all(is_plain_json(v) for v in value)  # type: ignore[attr-defined]
    return False


def _install_lazy_sdk_resources() -> None:
    """The openai SDK's ``openai.resources`` package, made to run its ``__init__`` only when
    one of its own names is asked for. That ``__init__`` imports every API resource (admin,
    audio, beta, evals, realtime, vector stores...: 600 pydantic models, 0.37 s of a worker
    process's start-up, which is the start-up to the first request), while a chat completion
    needs only ``openai.resources.chat``. Submodules import as always (the package's
    ``__path__`` is the real one); ``openai.resources.Files``, ``from openai.resources
    import *`` and any other name of the package run the real ``__init__`` in the same
    module first, so every caller sees what it would have seen. Nothing is done when the
    package was already imported or is laid out otherwise."""
    if "openai.resources" in sys.modules:
        return
    try:
        spec = importlib.util.find_spec("openai.resources")
    except (ImportError, ValueError):
        return
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return
    module = importlib.util.module_from_spec(spec)
    loading: list[bool] = []

    def __getattr__(name: str) -> Any:  # noqa: N807 (a module's __getattr__, PEP 562)
        if loading:  # the real __init__ is running: a name it has not bound yet
            raise AttributeError(f"module 'openai.resources' has no attribute {name!r}")
        loading.append(True)
        del module.__dict__["__getattr__"]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        return getattr(module, name)

    module.__dict__["__getattr__"] = __getattr__
    module.__dict__["_agentctl_lazy"] = True
    sys.modules["openai.resources"] = module


def _reexports(init: str) -> dict[str, str] | None:
    """``{name: submodule}`` for a package ``__init__`` made of ``from .submodule import Name
    as Name`` statements alone (besides ``from __future__`` and its docstring); None for any
    other ``__init__``, which then runs as written."""
    import ast

    try:
        with open(init, encoding="utf-8") as f:
            tree = ast.parse(f.read(), init)
    except (OSError, SyntaxError, ValueError):
        return None
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            continue
        if not (isinstance(node, ast.ImportFrom) and node.level == 1 and node.module and "." not in node.module):
            return None
        for alias in node.names:
            if alias.name == "*" or alias.asname not in (None, alias.name):
                return None
            names[alias.name] = node.module  # bound again later: the later one, as in the __init__
    return names


class _ReexportsOnDemand(importlib.abc.Loader):
    """A package whose ``__init__`` only re-exports its submodules' names, loaded without
    running it: each name imports its own submodule the first time it is asked for, and any
    other name (``__all__``, ``from pkg import *``) runs the real ``__init__`` in the same
    module first. A submodule's name imports that submodule."""

    def __init__(self, real: importlib.abc.Loader, names: dict[str, str]) -> None:
        self.real = real
        self.names = names

    def __getattr__(self, name: str) -> Any:  # get_source, get_code... (tracebacks, inspect)
        return getattr(self.real, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.real.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        names, real, package = self.names, self.real, module.__name__
        whole: list[bool] = []

        def __getattr__(name: str) -> Any:  # noqa: N807 (a module's __getattr__, PEP 562)
            submodule = names.get(name)
            if submodule is not None:
                value = getattr(importlib.import_module(f"{package}.{submodule}"), name)
                module.__dict__[name] = value
                return value
            if whole or (name.startswith("__") and name != "__all__"):
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            if name.isidentifier() and importlib.machinery.PathFinder.find_spec(
                    f"{package}.{name}", module.__path__) is not None:
                return importlib.import_module(f"{package}.{name}")
            whole.append(True)  # anything else: the package as its own __init__ makes it
            module.__dict__.pop("__getattr__", None)
            module.__dict__.pop("__dir__", None)
            real.exec_module(module)
            return getattr(module, name)

        def __dir__() -> list[str]:  # noqa: N807
            return sorted(set(module.__dict__) | set(names))

        module.__dict__["__getattr__"] = __getattr__
        module.__dict__["__dir__"] = __dir__


class _TypesOnDemand(importlib.abc.MetaPathFinder):
    """Finds the ``openai.types`` packages and loads those that only re-export with
    :class:`_ReexportsOnDemand`; every other module is left to the other finders."""

    def find_spec(self, fullname: str, path: Any = None, target: ModuleType | None = None) -> Any:
        if not fullname.startswith("openai.types") or fullname[12:13] not in ("", "."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or not spec.submodule_search_locations or spec.loader is None or not spec.origin:
            return spec
        names = _reexports(spec.origin)
        if names:
            spec.loader = _ReexportsOnDemand(spec.loader, names)
        return spec


def _install_types_on_demand() -> None:
    """The openai SDK's ``openai.types`` packages (38 of them), each of whose ``__init__``
    imports every type of its API (``openai.types`` alone: 780 modules, most of them pydantic
    models), loaded with :class:`_ReexportsOnDemand`: litellm and the SDK ask for about 360
    of those modules, and the rest were 0.2 s of each worker process's start-up (its critical
    path). Every name a package's ``__init__`` binds is the same object when it is asked for.
    Nothing is done once the SDK is imported (its types are then loaded already)."""
    if "openai" in sys.modules or any(isinstance(f, _TypesOnDemand) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _TypesOnDemand())


def _install_plain_bodies() -> None:
    """The chat-completions body of agentctl's calls sent as built: omitted parameters dropped,
    nothing else walked. A body holding anything but plain JSON (a date, a file, a pydantic
    model) still goes through the SDK's transform, as does every call not marked as ours.
    The chat parameters have no aliased or formatted field for the transform to apply
    (``tests/test_litellm_lean.py`` walks their types to keep that true)."""
    try:
        with collector_paused():  # the SDK's chat types: hundreds of models (litellm's import)
            from openai._utils import is_given
            from openai.resources.chat.completions import completions
    except ImportError:  # an SDK laid out otherwise: its transform stays
        return
    transform = completions.async_maybe_transform

    async def async_maybe_transform(data: object, expected_type: object) -> Any:
        if _CALL.get() is not None and type(data) is dict:
            body = {k: v for k, v in data.items() if is_given(v)}
            if is_plain_json(body):
                return body
        return await transform(data, expected_type)

    completions.async_maybe_transform = async_maybe_transform  # type: ignore[assignment]


def _install_listed_providers() -> None:
    """litellm's chat set-up asks, twice per call, whether the provider is one of its
    ``LlmProviders`` by listing every member's value (``[p.value for p in LlmProviders]``):
    166 members through the enum's Python-level iterator and ``value`` descriptor, 5% of a
    call's CPU. The class is made to iterate over a tuple of its members and to read
    ``value`` through a C-level getter: the same members in the same order, the same values
    (members cannot be added to an enum), for every caller."""
    import enum
    from operator import attrgetter

    try:
        from litellm.types.utils import LlmProviders
    except ImportError:  # laid out otherwise: left as it is
        return
    kind = type(LlmProviders)
    if not (isinstance(LlmProviders, enum.EnumType) and kind is enum.EnumType) or "_agentctl_members" in vars(
            LlmProviders):
        return

    class ListedEnumType(enum.EnumType):
        def __iter__(cls) -> Iterator[Any]:
            return iter(cls.__dict__["_agentctl_members"])

    type.__setattr__(LlmProviders, "_agentctl_members", tuple(LlmProviders))
    type.__setattr__(LlmProviders, "value", property(attrgetter("_value_")))
    LlmProviders.__class__ = ListedEnumType  # type: ignore[method-assign,assignment]


def _install_cookieless_responses() -> None:
    """httpx hands every response to the client's cookie jar, which wraps it and the request
    in urllib's shapes and looks for ``Set-Cookie`` headers, 5% of a call's CPU; model APIs
    rarely set any. A response without ``Set-Cookie`` or ``Set-Cookie2`` goes to a plain
    ``CookieJar`` no more (it would store nothing from it); any other goes as before."""
    from http.cookiejar import CookieJar

    import httpx

    extract = httpx.Cookies.extract_cookies
    if getattr(extract, "_agentctl", False):
        return

    def extract_cookies(self: httpx.Cookies, response: httpx.Response) -> None:
        if type(self.jar) is CookieJar:
            headers = response.headers
            if "set-cookie" not in headers and "set-cookie2" not in headers:
                return
        extract(self, response)

    extract_cookies._agentctl = True  # type: ignore[attr-defined]
    httpx.Cookies.extract_cookies = extract_cookies  # type: ignore[method-assign]


def _install_remembered_urls() -> None:
    """The openai SDK parses its client's base URL joined with the endpoint's path into a new
    ``httpx.URL`` for every request (two URL parses, 3% of a call's CPU): each client now
    keeps the URLs it prepared, by path, for as long as its base URL is the same object
    (assigning ``base_url`` makes a new one, so the remembered URLs are dropped). ``httpx.URL``
    is immutable, so a caller gets what it would have got; at most 64 paths per client."""
    try:
        from openai._base_client import BaseClient
    except ImportError:  # laid out otherwise: left as it is
        return
    prepare = BaseClient._prepare_url
    if getattr(prepare, "_agentctl", False):
        return

    def _prepare_url(self: Any, url: str) -> Any:
        base = self.__dict__.get("_base_url")
        if type(url) is not str or base is None:
            return prepare(self, url)
        known = self.__dict__.get("_agentctl_urls")
        if known is None or known[0] is not base:
            known = self.__dict__["_agentctl_urls"] = (base, {})
        prepared = known[1].get(url)
        if prepared is None:
            prepared = prepare(self, url)
            if len(known[1]) < 64:
                known[1][url] = prepared
        return prepared

    _prepare_url._agentctl = True  # type: ignore[attr-defined]
    BaseClient._prepare_url = _prepare_url  # type: ignore[method-assign]


def _restore_context(logging_obj: Any) -> None:
    # What litellm's handlers do last: put the caller's trace/session ids back.
    restore = getattr(logging_obj, "_restore_correlation_context", None)
    if restore is not None:
        restore()


def _skipped_for_ours(handler: Callable[..., Any]) -> Callable[..., Any]:
    def failure_handler(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _CALL.get() is None:
            return handler(self, *args, **kwargs)
        _restore_context(self)
        return None

    return failure_handler


def _skipped_for_ours_async(handler: Callable[..., Any]) -> Callable[..., Any]:
    async def async_failure_handler(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _CALL.get() is None:
            return await handler(self, *args, **kwargs)
        _restore_context(self)
        return None

    return async_failure_handler


def _lean_cost(litellm: ModuleType, calculate: Callable[..., Any]) -> Callable[..., Any]:
    """litellm's response pricing, skipped where agentctl would not read it: a call the suite
    prices, or a model litellm already failed to price (once per model, not per call)."""

    def response_cost_calculator(self: Any, result: object, *args: Any, **kwargs: Any) -> Any:
        call = _CALL.get()
        if call is None:
            return calculate(self, result, *args, **kwargs)
        if call.priced:
            return None
        details = getattr(self, "model_call_details", None) or {}
        names = (kwargs.get("litellm_model_name") or getattr(self, "model", None), getattr(result, "model", None))
        key = (*names, details.get("custom_llm_provider"))  # what decides whether a price exists
        if key in _UNPRICED:
            return None
        cost = calculate(self, result, *args, **kwargs)
        custom = getattr(self, "custom_pricing_for", None)
        provider = details.get("custom_llm_provider")
        spellings = [n for n in names if isinstance(n, str)]
        spellings += [f"{provider}/{n}" for n in spellings if provider and not n.startswith(f"{provider}/")]
        if (cost is None and not (custom is not None and custom(result))
                and not any(model_in_cost_map(litellm, n) for n in spellings)):
            _UNPRICED.add(key)
        return cost

    return response_cost_calculator


_COMPLETION: list[Any] = []
"""litellm's synchronous ``completion``, which its ``acompletion`` runs in the default executor."""
_SETUP_ONLY: dict[tuple[Any, ...], bool] = {}
"""(model, provider): whether litellm's synchronous set-up only returned the coroutine that
makes the request (True), or did the request itself (False: a provider without async support)."""


def _litellm_setup(fn: Callable[..., Any]) -> tuple[Any, ...] | None:
    """The (model, provider) of ``fn`` if it is litellm's ``acompletion`` set-up,
    ``partial(Context.run, partial(completion, ...))``; else None."""
    if type(fn) is not partial or len(fn.args) != 1 or fn.keywords:
        return None
    run, inner = fn.func, fn.args[0]
    if type(inner) is not partial or not _COMPLETION or inner.func is not _COMPLETION[0]:
        return None
    if type(getattr(run, "__self__", None)) is not Context:
        return None
    return inner.keywords.get("model"), inner.keywords.get("custom_llm_provider")


class LeanExecutor(ThreadPoolExecutor):
    """The default executor of the event loops agentctl runs (``eval run`` and its workers).

    litellm's ``acompletion`` runs ``completion()`` in the loop's default executor; for a
    provider with async support that only builds the request and returns the coroutine that
    sends it, and the thread hop (a hand-over of the GIL each way) cost a tenth of a call's
    CPU. For agentctl's calls (:func:`lean_call`) it runs in place once litellm has shown, on
    a first call in a thread, that it returns a coroutine for that model; a provider whose
    set-up makes the request itself keeps the thread, so the loop is never blocked by it.
    Everything else submitted (``asyncio.to_thread``, other libraries) runs in threads as usual.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        key = None if args or kwargs or _CALL.get() is None else _litellm_setup(fn)
        if key is None:
            return super().submit(fn, *args, **kwargs)
        known = _SETUP_ONLY.get(key)
        if known is not True:
            future = super().submit(fn)
            if known is None:
                future.add_done_callback(partial(_learn, key))
            return future
        done: Future[Any] = Future()
        try:
            done.set_result(fn())
        except BaseException as exc:
            done.set_exception(exc)
        return done


def _learn(key: tuple[Any, ...], future: Future[Any]) -> None:
    if not future.cancelled() and future.exception() is None:
        _SETUP_ONLY.setdefault(key, asyncio.iscoroutine(future.result()))


async def on_lean_loop(work: Any) -> Any:
    """Await ``work`` with :class:`LeanExecutor` as this (agentctl's own) loop's default executor."""
    asyncio.get_running_loop().set_default_executor(LeanExecutor())
    return await work
