"""The OpenAPI 3 document of the REST API (served at /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

from dis_core.vocabulary import AlertEvent, SampleState, SampleStatus
from quarantine_server.tokens import MAX_DAYS

ERROR = {"$ref": "#/components/schemas/Error"}
NULLABLE_STR = {"type": ["string", "null"]}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Bad input",
        401: "Not authenticated",
        403: "Needs the admin role",
        404: "Not found",
        409: "Not allowed now",
        500: "Internal error",
    }
    return {str(c): _json(ERROR, text[c]) for c in (401, *codes)}


def _csv(values: list[str]) -> dict[str, Any]:
    """A comma-separated list of known values, as a string schema with a pattern."""
    one = "|".join(sorted(values, key=len, reverse=True))
    return {"type": "string", "pattern": f"^({one})(,({one}))*$"}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


SAMPLE_ID = {
    "name": "sample_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
}
TAB = {
    "name": "tab",
    "in": "path",
    "required": True,
    "schema": {
        "type": "string",
        "enum": [
            "general",
            "web_communication",
            "firewall",
            "sample_policy",
            "definition_policy",
            "customer",
            "alerting",
            "general_errors",
        ],
    },
}
TAB_NAMES: list[str] = TAB["schema"]["enum"]  # type: ignore[index]  # TAB is the literal above
WRITABLE_TAB = {**TAB, "schema": {"type": "string", "enum": TAB_NAMES[:-1]}}


def _schemas() -> dict[str, Any]:
    sample = {
        "type": "object",
        "required": [
            "id",
            "file_name",
            "user",
            "computer",
            "analyzed",
            "age",
            "sample_state",
            "definitions_needed",
            "status",
            "virus",
            "errors",
        ],
        "properties": {
            "id": {"type": "integer"},
            "file_name": {"type": "string", "description": "Name of the quarantined item"},
            "user": {"type": "string", "description": "User whose file it was"},
            "computer": {"type": "string", "description": "Computer where it was found"},
            "analyzed": {
                "type": "boolean",
                "description": "Whether the vendor finished analysing it",
            },
            "age": {
                "type": "string",
                "format": "date-time",
                "description": "When it was quarantined here",
            },
            "age_seconds": {"type": "integer"},
            "sample_state": {
                "type": ["string", "null"],
                "enum": [*[s.value for s in SampleState], None],
            },
            "definitions_needed": {"type": ["integer", "null"]},
            "status": {
                "type": ["string", "null"],
                "enum": [*[s.value for s in SampleStatus], None],
            },
            "status_meaning": NULLABLE_STR,
            "virus": NULLABLE_STR,
            "errors": {"type": "array", "items": {"type": "string"}},
            "priority": {"type": "integer"},
        },
    }
    return {
        "Error": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
        },
        "Sample": sample,
        "Token": {
            "type": "object",
            "required": ["id", "name", "user", "scope", "created_at", "expires_at", "live"],
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "user": {"type": "string"},
                "scope": {"type": "string", "enum": ["admin", "viewer"]},
                "created_at": {"type": "string"},
                "expires_at": NULLABLE_STR,
                "last_used_at": NULLABLE_STR,
                "revoked_at": NULLABLE_STR,
                "live": {"type": "boolean"},
            },
        },
        "SamplePage": {
            "type": "object",
            "required": ["items", "total", "page", "per_page", "next"],
            "properties": {
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/Sample"}},
                "total": {"type": "integer"},
                "page": {"type": ["integer", "null"]},
                "per_page": {"type": "integer"},
                "next": {"type": ["integer", "null"]},
            },
        },
        "SampleDetail": {
            "allOf": [
                {"$ref": "#/components/schemas/Sample"},
                {
                    "type": "object",
                    "required": ["attributes", "history", "error_details"],
                    "properties": {
                        "attributes": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["name", "value", "meaning"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "value": {"type": "string"},
                                    "meaning": {"type": "string"},
                                    "owner": {"type": "string"},
                                },
                            },
                        },
                        "history": {"type": "array", "items": {"type": "object"}},
                        "error_details": {"type": "array", "items": {"type": "object"}},
                        "manual_submission": {"type": "object"},
                    },
                },
            ]
        },
        "Event": {
            "type": "object",
            "required": ["id", "at", "event", "title", "message"],
            "properties": {
                "id": {"type": "integer"},
                "at": {"type": "string"},
                "event": {"type": "string", "enum": [e.value for e in AlertEvent]},
                "title": {"type": "string"},
                "meaning": {"type": "string"},
                "sample_id": {"type": ["integer", "null"]},
                "message": {"type": "string"},
            },
        },
        "Tab": {
            "type": "object",
            "required": ["tab"],
            "properties": {
                "tab": {"type": "string"},
                "properties": {"type": "object"},
                "errors": {"type": "array"},
                "needs_restart": {"type": "array", "items": {"type": "string"}},
            },
        },
    }


def _sample_paths() -> dict[str, Any]:
    list_params = [
        _query("status", _csv([v.value for v in SampleStatus]), "Comma-separated statuses"),
        _query("state", _csv([v.value for v in SampleState]), "Comma-separated analysis states"),
        _query("computer", {"type": "string"}, "Substring of the computer name"),
        _query("user", {"type": "string"}, "Substring of the user name"),
        _query("file_name", {"type": "string"}, "Substring of the file name"),
        _query("virus", {"type": "string"}, "Substring of the virus name"),
        _query("analyzed", {"type": "string", "enum": ["true", "false"]}, "Analysed or not"),
        _query(
            "has_errors", {"type": "string", "enum": ["true", "false"]}, "With or without errors"
        ),
        _query(
            "sort",
            {
                "type": "string",
                "enum": [
                    "id",
                    "file_name",
                    "user",
                    "computer",
                    "age",
                    "analyzed",
                    "sample_state",
                    "definitions_needed",
                    "status",
                    "virus",
                    "priority",
                ],
            },
            "Sort column",
        ),
        _query("order", {"type": "string", "enum": ["asc", "desc"]}, "Sort order"),
        _query("page", {"type": "integer", "minimum": 1, "maximum": 1000000}, "Page number"),
        _query("per_page", {"type": "integer", "minimum": 1, "maximum": 500}, "Rows per page"),
        _query(
            "after",
            {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
            "Keyset paging: the `next` of the previous page (then `page` is ignored); 404 when "
            "that sample is gone",
        ),
        _query(
            "sha256",
            {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
            "Exact SHA-256 of the original file",
        ),
    ]
    body = lambda schema: {"required": True, "content": {"application/json": {"schema": schema}}}  # noqa: E731
    return {
        "/samples": {
            "get": {
                "summary": "List samples with the console columns",
                "parameters": list_params,
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/SamplePage"}),
                    **_errors(400, 404),
                },
            }
        },
        "/samples/{sample_id}": {
            "parameters": [SAMPLE_ID],
            "get": {
                "summary": "One sample with attributes, history and errors",
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/SampleDetail"}),
                    **_errors(404),
                },
            },
            "delete": {
                "summary": "Delete a sample and its quarantine file",
                "responses": {"204": {"description": "Deleted"}, **_errors(403, 404)},
            },
        },
        "/samples/{sample_id}/restore": {
            "parameters": [SAMPLE_ID],
            "post": {
                "summary": "Copy the unrepaired file into a configured restore folder",
                "requestBody": body(
                    {
                        "type": "object",
                        "required": ["folder"],
                        # a path with a NUL byte names no folder: the schema says so, and the server
                        # refuses one with 400
                        "properties": {
                            "folder": {"type": "string", "minLength": 1, "pattern": "^[^\\x00]+$"}
                        },
                    }
                ),
                "responses": {"200": _json({"type": "object"}), **_errors(400, 403, 404, 409, 500)},
            },
        },
        "/samples/{sample_id}/priority": {
            "parameters": [SAMPLE_ID],
            "put": {
                "summary": "Set the submission priority (0 holds)",
                "requestBody": body(
                    {
                        "type": "object",
                        "required": ["priority"],
                        "properties": {
                            "priority": {"type": "integer", "minimum": 0, "maximum": 1000}
                        },
                    }
                ),
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/Sample"}),
                    **_errors(400, 403, 404),
                },
            },
        },
        "/samples/{sample_id}/restart": {
            "parameters": [SAMPLE_ID],
            "post": {
                "summary": "Start processing again from the first scan",
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/Sample"}),
                    **_errors(403, 404, 409),
                },
            },
        },
        "/samples/queue": {
            "post": {
                "summary": "Queue samples for automatic analysis (manual submission rules)",
                "requestBody": body(
                    {
                        "type": "object",
                        "required": ["ids"],
                        "properties": {
                            "ids": {
                                "type": "array",
                                "items": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                                "minItems": 1,
                                "maxItems": 1000,
                            },
                            "priority": {"type": "integer", "minimum": 1, "maximum": 1000},
                        },
                    }
                ),
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["results"],
                            "properties": {"results": {"type": "array"}},
                        }
                    ),
                    **_errors(400, 403),
                },
            }
        },
    }


def _other_paths() -> dict[str, Any]:
    obj = {"type": "object"}
    return {
        "/properties": {"get": {"summary": "Every property tab", "responses": {"200": _json(obj)}}},
        "/properties/{tab}": {
            "parameters": [TAB],
            "get": {
                "summary": "One property tab",
                "responses": {"200": _json({"$ref": "#/components/schemas/Tab"}), **_errors(404)},
            },
        },
        "/events": {
            "get": {
                "summary": "The event log",
                "parameters": [
                    _query(
                        "event", _csv([e.value for e in AlertEvent]), "Comma-separated event kinds"
                    ),
                    _query(
                        "sample_id",
                        {"type": "integer", "minimum": 0, "maximum": 2**31},
                        "Only this sample's events",
                    ),
                    _query(
                        "page", {"type": "integer", "minimum": 1, "maximum": 1000000}, "Page number"
                    ),
                    _query(
                        "per_page",
                        {"type": "integer", "minimum": 1, "maximum": 500},
                        "Rows per page",
                    ),
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["items", "total"],
                            "properties": {
                                "items": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Event"},
                                },
                                "total": {"type": "integer"},
                                "page": {"type": "integer"},
                                "per_page": {"type": "integer"},
                            },
                        }
                    ),
                    **_errors(400),
                },
            }
        },
        "/event-types": {
            "get": {
                "summary": "Every alert event with its meaning and whether it is enabled",
                "responses": {"200": _json(obj)},
            }
        },
        "/general-errors": {
            "get": {"summary": "The General Errors history", "responses": {"200": _json(obj)}}
        },
        "/definitions": {
            "get": {
                "summary": "Active definitions and install history",
                "responses": {"200": _json(obj)},
            }
        },
        "/vocabulary": {
            "get": {
                "summary": "Statuses, states and errors with their meanings",
                "responses": {"200": _json(obj)},
            }
        },
        "/health": {
            "get": {"summary": "Heartbeats and quarantine usage", "responses": {"200": _json(obj)}}
        },
        "/tokens": {
            "post": {
                "summary": "Create a bearer token for the calling user (shown once)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "name": {"type": "string", "maxLength": 80},
                                    "scope": {"type": "string", "enum": ["admin", "viewer"]},
                                    "days": {
                                        "type": ["integer", "null"],
                                        "minimum": 1,
                                        "maximum": MAX_DAYS,
                                    },
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": _json(
                        {
                            "allOf": [
                                {"$ref": "#/components/schemas/Token"},
                                {
                                    "type": "object",
                                    "required": ["token"],
                                    "properties": {"token": {"type": "string"}},
                                },
                            ]
                        },
                        "Created",
                    ),
                    **_errors(400),
                },
            },
            "get": {
                "summary": "The caller's tokens (an admin: everyone's), without their secrets",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["tokens"],
                            "properties": {
                                "tokens": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Token"},
                                }
                            },
                        }
                    )
                },
            },
        },
        "/tokens/{token_id}": {
            "parameters": [
                {
                    "name": "token_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                }
            ],
            "delete": {
                "summary": "Revoke a token at once (idempotent)",
                "responses": {"204": {"description": "Revoked"}, **_errors(404)},
            },
        },
        "/openapi.json": {"get": {"summary": "This document", "responses": {"200": _json(obj)}}},
    }


def document() -> dict[str, Any]:
    paths = {**_sample_paths(), **_other_paths()}
    paths["/properties/{tab}"]["patch"] = {
        "summary": "Change properties of one tab (validated; stored over the file configuration)",
        "parameters": [WRITABLE_TAB],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        "responses": {"200": _json({"$ref": "#/components/schemas/Tab"}), **_errors(400, 403, 404)},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Digital Immune System - Quarantine Server API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"basic": []}, {"bearer": []}],
        "components": {
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
            "schemas": _schemas(),
        },
        "paths": paths,
    }
