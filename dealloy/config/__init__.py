"""Typed, validated configs: the only place TOML is parsed.

One schema per file kind (``run.py``: run configs for ``dealloy run``; ``study.py``: study files).
Models forbid unknown keys, so a typo is an error that names the key, not a silently ignored value.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from dealloy.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for every config model: unknown keys are errors, values are validated on assignment.

    A model built from a dict raises :class:`pydantic.ValidationError` on an unknown key or a value
    of the wrong type or range; use :func:`validate` to get one :class:`~dealloy.errors.ConfigError`
    naming each key instead.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file into a dict (the only TOML parser of dealloy's configs).

    Parameters
    ----------
    path : str or pathlib.Path
        The TOML file.

    Returns
    -------
    dict
        The parsed document (tables as nested dicts).

    Raises
    ------
    ConfigError
        When the file does not exist or is not valid TOML (the message names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc


def dump_toml(data: dict[str, Any]) -> str:
    """Write a config dict as TOML text; keys whose value is None are left out (TOML has no null).

    Parameters
    ----------
    data : dict
        A config as nested dicts and lists (e.g. ``model.model_dump(mode="json")``).

    Returns
    -------
    str
        The TOML document.
    """
    import tomli_w

    return tomli_w.dumps(_drop_none(data))


def _drop_none(obj):
    if isinstance(obj, dict):
        return {k: _drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, (list, tuple)):
        return [_drop_none(v) for v in obj]
    return obj


def validate(model: type[M], data: dict[str, Any], source: str = "config") -> M:
    """Build ``model`` from ``data``; turn pydantic's errors into one ConfigError naming each key.

    Parameters
    ----------
    model : type of pydantic.BaseModel
        The schema (e.g. :class:`dealloy.config.study.StudyFile`).
    data : dict
        The parsed config.
    source : str
        What the data came from (a file path), the first word of the error message.

    Returns
    -------
    pydantic.BaseModel
        An instance of ``model``.

    Raises
    ------
    ConfigError
        When ``data`` does not fit ``model``: one line per problem, ``<dotted key>: <what>``
        (:func:`format_validation_error`).
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None


def format_validation_error(exc: ValidationError, source: str) -> str:
    """Turn a pydantic validation error into the lines a user reads, one per problem.

    Parameters
    ----------
    exc : pydantic.ValidationError
        The error of a model validation.
    source : str
        What the data came from (a file path), the head of the message.

    Returns
    -------
    str
        ``<source>: N problem(s):`` followed by ``  - <dotted key>: <what>`` lines; an unknown
        key is reported as a probable typo.
    """
    lines = [f"{source}: {exc.error_count()} problem(s):"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            msg = "unknown key (typo?); remove it or check the documented keys"
        else:
            msg = err["msg"]
        lines.append(f"  - {loc}: {msg}")
    return "\n".join(lines)


def field_range(info) -> str:
    """Write the bounds of a pydantic field as text, for help texts derived from a model.

    Parameters
    ----------
    info : pydantic.fields.FieldInfo
        The field (``Model.model_fields[name]``); its ``gt``, ``ge``, ``lt``, ``le`` constraints
        are read, in the field's units.

    Returns
    -------
    str
        The bounds joined by ``", "`` (``"> 0, <= 5"``); ``""`` if the field has none.
    """
    parts = []
    for m in info.metadata:
        for attr, op in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            v = getattr(m, attr, None)
            if v is not None:
                parts.append(f"{op} {v:g}")
    return ", ".join(parts)
