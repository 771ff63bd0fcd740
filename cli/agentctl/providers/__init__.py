"""How candidates answer cases: replay of recordings, or models through litellm (see ``base``)."""

from agentctl.providers.base import (
    CompleteFn,
    CompleteWrapper,
    ModelReply,
    ModelRequest,
    Provider,
    ProviderSettings,
    make_provider,
)

__all__ = [
    "CompleteFn",
    "CompleteWrapper",
    "ModelReply",
    "ModelRequest",
    "Provider",
    "ProviderSettings",
    "make_provider",
]
