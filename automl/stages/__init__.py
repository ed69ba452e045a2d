"""The stages of a run, in order: prepare, write (each draft judged by verify), optimize, refit, evaluate, report.

Each stage is a function of the frozen :class:`~automl.stages.context.RunContext` and the typed
outputs of the stages before it, and returns its own typed output; :mod:`automl.runner` calls them
in order and journals the outputs in a :class:`~automl.stages.state.RunState`, from which
``result.json`` is built. See docs/architecture.md.
"""
