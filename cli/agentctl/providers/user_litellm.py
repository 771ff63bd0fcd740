"""The built-in litellm user simulator: a model plays the user, seeing the conversation from the user's side.

Its calls go through the evaluation's wrapped model call (cache, total budget, circuit
breaker, retries, rate limits), exactly like the agent's; what they cost is the run's
``user_cost_usd``, never the agent's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentctl.core.errors import InputError
from agentctl.core.secrets import remember_secrets, secret_values
from agentctl.datasets.recorded_calls import message_text
from agentctl.engine.model_call import ModelRequest
from agentctl.engine.users import DEFAULT_USER_PROMPT, UserTurn, user_view

if TYPE_CHECKING:
    from agentctl.config.models import CandidateSpec, Suite, UserSimulatorSpec
    from agentctl.datasets.models import Case, Dataset
    from agentctl.providers.base import ProviderSettings


class LiteLLMUser:
    """A litellm model playing the user of a candidate's runs."""

    def __init__(self, spec: UserSimulatorSpec, candidate: CandidateSpec, suite: Suite, settings: ProviderSettings) -> None:
        from agentctl.providers.litellm_model import complete
        from agentctl.providers.litellm_setup import import_litellm

        import_litellm()
        self.spec = spec
        self.candidate = candidate
        self.suite = suite
        self.settings = settings
        try:
            custom = suite.resolve_prompt(spec.system_prompt)
        except OSError as exc:
            raise InputError(f"cannot read the user simulator's system prompt: {exc}", suite.source,
                             key="user_simulator.system_prompt") from exc
        self.prompt = custom if custom is not None else DEFAULT_USER_PROMPT.format(stop=spec.stop)
        self.complete = settings.wrap(complete)
        remember_secrets(secret_values(spec.params))

    def system_prompt(self, case: Case) -> str:
        """The simulator prompt followed by the case's ``user.instructions``."""
        instructions = case.user.instructions if case.user is not None else ""
        return self.prompt.rstrip("\n") + "\n\n" + instructions

    async def reply(self, case: Case, repeat: int, messages: list[dict[str, Any]]) -> UserTurn | None:
        request = ModelRequest(
            model=self.spec.model,
            messages=[{"role": "system", "content": self.system_prompt(case)}, *user_view(messages)],
            tools=None,
            params=dict(self.spec.params),
            timeout_s=self.settings.timeout_s,
            max_retries=0,
            price=self.suite.pricing.get(self.spec.model),
            extra=dict(self.settings.litellm_kwargs),
            case_id=case.id,
            candidate=self.candidate.name,
            repeat=repeat,
        )
        reply = await self.complete(request)
        return UserTurn(
            content=message_text(reply.message), prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens, cost_usd=reply.cost_usd, latency_s=reply.latency_s,
            cached=reply.cached, attempts=reply.attempts,
        )


def factory(spec: UserSimulatorSpec, candidate: CandidateSpec, suite: Suite, dataset: Dataset,
            settings: ProviderSettings) -> LiteLLMUser:
    """Entry point ``litellm`` of ``agentctl.user_simulators``."""
    return LiteLLMUser(spec, candidate, suite, settings)
