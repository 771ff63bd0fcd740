"""Helpers shared by the tests (not collected: no ``test_*`` module lives here).

- ``fake_openai``: the local OpenAI-compatible server (scripted replies, tool calls, faults);
- ``faults``: a small live-candidate dataset and suite, and fault schedules for the server;
- ``reports``: report fixtures written through ``Store``; ``runs``: hand-made run results;
- ``scoring``: scoring contexts and scripted judges; ``stats``: independent statistics;
- ``traces``: the recorded scenarios behind tests/data/traces.

Test files import from here, never from each other.
"""
