"""Errors the domain raises. Pure Python: no HTTP here; app.core.errors maps them once."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every expected business failure."""

    code = "domain_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(DomainError):
    """The command is malformed or names something that does not exist (HTTP 422)."""

    code = "invalid_input"


class InvalidTransition(DomainError):
    """The command is not allowed in the aggregate's current state (HTTP 409)."""

    code = "invalid_transition"


class NotFound(DomainError):
    code = "not_found"


class PermissionDenied(DomainError):
    code = "permission_denied"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class Conflict(DomainError):
    code = "conflict"


class ConcurrencyConflict(Conflict):
    """Another writer appended to the stream first (HTTP 409, with the current version)."""

    code = "concurrency_conflict"

    def __init__(self, stream_id: str, expected_version: int, current_version: int) -> None:
        super().__init__(
            f"stream {stream_id} is at version {current_version}, not {expected_version}: "
            "reload and retry",
            stream_id=stream_id,
            expected_version=expected_version,
            current_version=current_version,
        )


class TooManyRequests(DomainError):
    """Asked again too soon (HTTP 429 with `Retry-After`): the answer is the same as before, or
    the work is under way."""

    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, **details: Any) -> None:
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = retry_after


class RuleViolation(InvalidInput):
    """A step refused by blocking rule findings (HTTP 422 with the findings)."""

    code = "rule_violation"

    def __init__(self, message: str, findings: list[dict[str, Any]], **details: Any) -> None:
        super().__init__(message, violations=findings, **details)
        self.findings = findings
