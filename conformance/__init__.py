"""conformance: a pytest plugin that checks any k-episode Meta-World wrapper against the contract.

Run ``pytest --kmw-impl=mypkg.Wrapper``; the requirements are in ``conformance/SPEC.md`` and the
plugin's options in ``docs/plugin.md``. Exports: ``ContractViolation`` (what a property raises),
``SuiteConfig`` (the ``kmw_config`` fixture's value), ``KeyScheme`` and ``resolve_key_scheme``
(logging-key schemes for ``--kmw-keys``), ``Requirement`` and ``load_spec`` (SPEC.md's table).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CONTRACT_VERSION",
    "ContractViolation",
    "KeyScheme",
    "Requirement",
    "SuiteConfig",
    "__version__",
    "load_spec",
    "resolve_key_scheme",
]

_EXPORTS = {
    "ContractViolation": "conformance.engine.violations",
    "KeyScheme": "conformance.engine.keys",
    "resolve_key_scheme": "conformance.engine.keys",
    "Requirement": "conformance.engine.spec",
    "load_spec": "conformance.engine.spec",
    "SuiteConfig": "conformance.front.config",
}


def __getattr__(name: str) -> Any:
    # Lazy, so that pytest loading the plugin entry point imports only what it needs.
    if name == "CONTRACT_VERSION":  # the version SPEC.md states
        from conformance.engine.spec import contract_version

        return contract_version()
    if name == "__version__":  # the ``kmw`` distribution's (conformance ships in it)
        from conformance.front.report import plugin_version

        return plugin_version()
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'conformance' has no attribute {name!r}")
