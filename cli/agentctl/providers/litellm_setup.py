"""The one place litellm is imported: offline cost map, no banner, no telemetry."""

from __future__ import annotations

import os
from types import ModuleType

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


def import_litellm() -> ModuleType:
    """Import litellm configured for agentctl (slow: ~5 s the first time)."""
    offline_environment()
    import litellm

    litellm.suppress_debug_info = True  # users see our message, not litellm's banner
    litellm.telemetry = False
    litellm.set_verbose = False
    litellm.drop_params = True
    from agentctl.core.secrets import install_log_redaction

    install_log_redaction()  # LITELLM_LOG=DEBUG logs requests: keys must not reach the logs
    return litellm
