"""Binding a statement's parameters: values never reach the SQL text, and every value is
checked (range, depth) and converted to a SQLite storage value first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from api.sql.errors import BadRequestError
from api.sql.limits import check_param
from api.sql.translate import Translated
from api.sql.typemap import coerce, to_storage

Params = Sequence[Any] | Mapping[str, Any] | None


def bind(params: Params, translated: Translated) -> dict[str, Any] | tuple[Any, ...]:
    """SQLite bindings for a statement's parameters (values never reach the SQL text)."""
    try:
        if type(params) is list or type(params) is tuple:
            return _bind_positional(params, translated)
        if params is None:
            return _bind_positional((), translated)
        if isinstance(params, Mapping):
            if translated.positional:
                raise BadRequestError("$n parameters need a list of params")
            for name in translated.params:
                check_param(f":{name}", params[name])
            named = {name: to_storage(params[name]) for name in translated.params}
            for key, family in translated.coercions:
                named[str(key)] = coerce(named[str(key)], family)
            return named
        if isinstance(params, str | bytes):
            raise BadRequestError("params must be a list or an object")
        return _bind_positional(tuple(params), translated)
    except KeyError as exc:
        raise BadRequestError(f"missing value for parameter :{exc.args[0]}") from exc
    except TypeError as exc:
        raise BadRequestError(str(exc)) from exc


def _bind_positional(params: Sequence[Any], translated: Translated) -> tuple[Any, ...]:
    """Bindings for ``?n`` parameters from a list; the count must match."""
    if translated.params:
        raise BadRequestError("named parameters need an object of params")
    if len(params) != translated.positional:
        raise BadRequestError(
            f"statement takes {translated.positional} parameters, {len(params)} given"
        )
    for number, value in enumerate(params, 1):
        check_param(f"${number}", value)
    values = [to_storage(v) for v in params]
    for key, family in translated.coercions:
        values[int(key) - 1] = coerce(values[int(key) - 1], family)
    return tuple(values)
