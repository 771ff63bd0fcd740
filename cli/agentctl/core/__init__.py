"""The rules every part of agentctl shares, each defined once; imports nothing else of agentctl.

- :mod:`~agentctl.core.errors`: problems with positions (``path:line: key: message``), exit codes.
- :mod:`~agentctl.core.trajectory`: what a run did (steps) and which calls are write side effects.
- :mod:`~agentctl.core.normalize`: canonical forms of tool-call arguments.
- :mod:`~agentctl.core.matchers`: expected arguments against actual ones; the verdict and the
  difference a person reads come from the same code.
- :mod:`~agentctl.core.cost`: what a model call cost.
- :mod:`~agentctl.core.secrets`: the one set of secret patterns (logs, store, reports, imports).
- :mod:`~agentctl.core.jsonvalues`: one convention for non-finite numbers in JSON.
- :mod:`~agentctl.core.results` and :mod:`~agentctl.core.values`: the row types (runs, metrics, gates).
"""
