"""Strict JSON fields for the API's own marshmallow schemas: "3" is not an integer and 1 is not true.

(Component configs are validated by their types' JSON Schemas, not here.)
"""

from __future__ import annotations

from marshmallow import ValidationError, fields


class StrictInteger(fields.Integer):
    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("Not a valid integer.")
        return super()._deserialize(value, attr, data, **kwargs)
