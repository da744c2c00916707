"""The OpenAPI schema's error answers (a drf-spectacular post-processing hook).

drf-spectacular documents each operation's success only. Every operation here can also
answer with an error, and a client generated from the schema should know their shapes:

- 400: the request's fields or query parameters are wrong: `{"field": ["message", ...]}`,
  `detail` or `non_field_errors` for the request as a whole; operations that take a body or
  query parameters;
- 401: no credentials, or a token that is unknown, expired or revoked;
- 403: the caller's role may not do this;
- 404: no such row in the caller's scope (or a page past the last); operations on a row or
  on a paginated list;
- 429: the login is locked out after too many failures (the token exchange).

It also lets a serializer say that an answer may leave a field out (`answers_may_omit`):
drf-spectacular marks every read-only field required in answers.
"""

from typing import Any

HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}

DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": (
        "Each wrong field or query parameter names its messages; `detail` or "
        "`non_field_errors` speak for the request as a whole. Nested fields nest."
    ),
    "additionalProperties": {},
}

DESCRIPTIONS = {
    "400": "The request's fields or parameters are wrong; each names its messages.",
    "401": "No credentials, or a token that is unknown, expired or revoked.",
    "403": "The caller's role may not do this.",
    "404": "No such row in the caller's scope, or no such page.",
    "429": "Locked out after too many failed logins; Retry-After says for how long.",
}


_OMITTED: dict[str, dict[str, str]] = {}


def answers_may_omit(component: str, field: str, when: str) -> None:
    """Document `field` of the `component` schema as absent from some answers, saying `when`
    it is present."""
    _OMITTED.setdefault(component, {})[field] = when


def _ref(name: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}


def _error_codes(path: str, operation: dict[str, Any]) -> list[str]:
    security = operation.get("security")
    public = not security or {} in security
    parameters = operation.get("parameters", [])
    takes_input = "requestBody" in operation or any(
        parameter.get("in") == "query" for parameter in parameters
    )
    names_a_row = "{" in path
    paginated = any(parameter.get("name") == "page" for parameter in parameters)
    codes = []
    if takes_input:
        codes.append("400")
    if not public:
        codes += ["401", "403"]
    if not public and (names_a_row or paginated):
        codes.append("404")
    return codes


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> Any:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for component, fields in _OMITTED.items():
        schema = schemas.get(component)
        if schema is None:
            continue
        for field, when in fields.items():
            if field in schema.get("required", []):
                schema["required"].remove(field)
            if field in schema.get("properties", {}):
                schema["properties"][field]["description"] = when
    schemas.setdefault("ErrorDetail", DETAIL)
    schemas.setdefault("FieldErrors", FIELD_ERRORS)
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code in _error_codes(path, operation):
                responses.setdefault(code, {"description": DESCRIPTIONS[code]})
            for code, response in responses.items():
                # Declared by a view without a body (`OpenApiResponse(description=...)`).
                if code.startswith("4") and "content" not in response:
                    response["content"] = _ref("FieldErrors" if code == "400" else "ErrorDetail")
                    response.setdefault("description", DESCRIPTIONS.get(code, ""))
    return result
