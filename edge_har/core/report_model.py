"""The base of the typed reports (metrics.json, export.json): pydantic models, strict about the
types of what they hold, that keep keys they do not know (a newer edge-har's additions survive a
read) and leave out of the file the optional parts a report does not have."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer
from pydantic.json_schema import JsonDict

_ABSENT_WHEN_NONE: JsonDict = {"absent_when_none": True}


def absent() -> Any:
    """A field that the file leaves out, rather than writing null, where the report has none:
    export.json has no `gate` when exported without --int8, for example."""
    return Field(default=None, json_schema_extra=_ABSENT_WHEN_NONE)


class Section(BaseModel):
    """A part of a report. Strict: a JSON true is no receptive field, a string no number."""

    model_config = ConfigDict(strict=True, extra="allow")

    @model_serializer(mode="wrap")
    def _without_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        fields = type(self).model_fields
        return {key: value for key, value in handler(self).items()
                if not (value is None and key in fields and fields[key].json_schema_extra == _ABSENT_WHEN_NONE)}
