"""Turn pydantic validation errors into problems a person can act on, never echoing values."""

from __future__ import annotations

__all__ = ["problems_from_validation_error"]

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from daemon.core.errors import ConfigProblem

_FIXES = {
    "extra_forbidden": "remove it: unknown keys are rejected (check the spelling against "
    "config.example.toml or `trimtab config schema`)",
    "missing": "add this key",
    "decimal_parsing": 'write a number, e.g. 0.25 or "0.25"',
    "decimal_type": 'write a number, e.g. 0.25 or "0.25"',
    "finite_number": "write a finite number",
    "greater_than_equal": "use a value that is not negative",
    "greater_than": "use a larger value",
    "less_than_equal": "use a smaller value",
    "bool_parsing": "write true or false",
    "bool_type": "write true or false",
    "int_parsing": "write a whole number",
    "string_type": 'write text in quotes, e.g. "value"',
    "dict_type": "write a table, e.g. [section] or { key = value }",
    "model_type": "write a table, e.g. [section] or { key = value }",
    "tuple_type": 'write a list, e.g. ["VTI", "BND"]',
    "list_type": 'write a list, e.g. ["VTI", "BND"]',
    "literal_error": "use one of the values named",
    "enum": "use one of the values named",
}


def problems_from_validation_error(exc: ValidationError, prefix: str = "") -> list[ConfigProblem]:
    """Return one `ConfigProblem` per error, with its dotted key path under `prefix`."""
    return [_problem(error, prefix) for error in exc.errors(include_input=False)]


def _problem(error: ErrorDetails, prefix: str) -> ConfigProblem:
    ctx = error.get("ctx") or {}
    parts = [prefix] if prefix else []
    parts += [str(part) for part in error["loc"]]
    if "key" in ctx:
        parts.append(str(ctx["key"]))
    path = ".".join(parts) or "(top level)"
    fix = str(ctx["fix"]) if "fix" in ctx else _FIXES.get(error["type"], "see config.example.toml")
    return ConfigProblem(path, error["msg"], fix)
