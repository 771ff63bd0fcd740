"""Running cases: trajectories, the agent loop, tool answering from recordings, policy checks."""

from agentctl.core.trajectory import Step, ToolCall, Trajectory
from agentctl.engine.policy import PolicyChecker
from agentctl.engine.tools import (
    ArgumentSchemas,
    RecordedCall,
    RecordingIndex,
    ToolAnswer,
    ToolAnswerer,
    is_error_output,
    recorded_calls,
    recording_index,
)

__all__ = [
    "ArgumentSchemas",
    "PolicyChecker",
    "RecordedCall",
    "RecordingIndex",
    "Step",
    "ToolAnswer",
    "ToolAnswerer",
    "ToolCall",
    "Trajectory",
    "is_error_output",
    "recorded_calls",
    "recording_index",
]
