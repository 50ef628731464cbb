"""ConnectWise error answers as one exception the handler renders
(docs/connectwise-behaviour.md, "Error answers").

Body shape: ``{"code": …, "message": …, "errors": [{"code", "message", "resource", "field"}]}``.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An HTTP error answer: status, ConnectWise error code, message and field errors."""

    def __init__(self, status: int, code: str, message: str,
                 errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.errors = errors or []
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "errors": self.errors}


def field_error(resource: str, field: str, message: str, code: str = "InvalidField") -> dict:
    return {"code": code, "message": message, "resource": resource, "field": field}


def invalid(resource: str, errors: list[dict[str, Any]] | dict[str, Any]) -> ApiError:
    """400 InvalidObject: ``"<resource> object is invalid"`` with its field errors."""
    errors = [errors] if isinstance(errors, dict) else errors
    return ApiError(400, "InvalidObject", f"{resource} object is invalid", errors)


def invalid_field(resource: str, field: str, message: str, code: str = "InvalidField") -> ApiError:
    return invalid(resource, field_error(resource, field, message, code))


def not_found(message: str) -> ApiError:
    return ApiError(404, "NotFound", message)
