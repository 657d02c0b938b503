"""GitHub's error answers: status, message, documentation link and, for 422, the `errors` list."""

from __future__ import annotations

REST_DOCS = "https://docs.github.com/rest"


class ApiError(Exception):
    """Raised anywhere in a request's handling; the server turns it into GitHub's error body."""

    def __init__(self, status: int, message: str, *, errors: list[dict] | None = None,
                 documentation_url: str = REST_DOCS, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.errors = errors
        self.documentation_url = documentation_url
        self.headers = headers or {}

    def body(self) -> dict:
        body: dict = {"message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        body["documentation_url"] = self.documentation_url
        body["status"] = str(self.status)
        return body


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def bad_credentials() -> ApiError:
    return ApiError(401, "Bad credentials")


def not_accessible(permission: str, level: str) -> ApiError:
    return ApiError(403, "Resource not accessible by integration",
                    headers={"x-accepted-github-permissions": f"{permission}={level}"})


def validation_failed(resource: str, field: str, code: str, message: str | None = None) -> ApiError:
    error = {"resource": resource, "code": code, "field": field}
    if message is not None:
        error["message"] = message
    return ApiError(422, "Validation Failed", errors=[error])


def invalid_request(detail: str) -> ApiError:
    """GitHub's answer when a body breaks the endpoint's JSON schema."""
    return ApiError(422, f"Invalid request.\n\n{detail}")
