"""``/api/v1/openapi.json``: the API described for client generators and fuzzers."""

from __future__ import annotations

from typing import Any

from nutpy import __version__

__all__ = ["document"]

_ERROR = {"$ref": "#/components/schemas/Error"}
_RESULT = {"$ref": "#/components/schemas/Result"}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "Invalid argument or value", 401: "Credentials missing or wrong",
            403: "Not allowed (NUT's rights), or credentials over plain HTTP from another host",
            404: "Unknown UPS, variable or command", 409: "The variable is read-only",
            413: "Body too large", 415: "Not a JSON body",
            502: "The driver or the UPS refused or failed", 503: "Data stale or driver "
            "not connected", 504: "No answer from the driver in time"}
    return {str(code): {"description": text[code],
                        "content": {"application/json": {"schema": _ERROR}}}
            for code in codes}


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "minLength": 1}}


_UPS = _path_param("ups", "UPS name, as in ups.conf (case-insensitive)")
_BASIC: list[dict[str, list[str]]] = [{"basic": []}]


def _write(summary: str, body: dict[str, Any], extra_params: list[dict[str, Any]]
           ) -> dict[str, Any]:
    return {
        "summary": summary,
        "security": _BASIC,
        "parameters": [_UPS, *extra_params],
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {"200": {"description": "Carried out",
                              "content": {"application/json": {"schema": _RESULT}}},
                      **_errors(400, 401, 403, 404, 413, 415, 502, 503, 504)},
    }


def document() -> dict[str, Any]:
    json_ok = {"application/json": {"schema": {"type": "object"}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "nutpy", "version": __version__,
                 "description": "The UPSes of a nutpy server: NUT's variables, commands and "
                 "rights (upsd.users), over HTTP."},
        "paths": {
            "/api/v1/ups": {"get": {
                "summary": "Every UPS with its status and the age of its data",
                "responses": {"200": {"description": "The UPSes", "content": json_ok}}}},
            "/api/v1/ups/{ups}": {"get": {
                "summary": "One UPS: variables (value, type, writable, enum, range), "
                "commands, availability, data age, clients",
                "parameters": [_UPS],
                "responses": {"200": {"description": "The UPS", "content": json_ok},
                              **_errors(404)}}},
            "/api/v1/ups/{ups}/commands/{command}": {"post": _write(
                "Run an instant command (NUT's INSTCMD; needs the user's instcmds right)",
                {"type": "object", "properties": {"param": {"type": "string"}}},
                [_path_param("command", "Instant command, e.g. test.battery.start")])},
            "/api/v1/ups/{ups}/variables/{variable}": {"put": _write(
                "Set a writable variable (NUT's SET VAR; needs the SET action)",
                {"type": "object", "required": ["value"],
                 "properties": {"value": {"type": "string"}}},
                [_path_param("variable", "Variable, e.g. input.transfer.low")])},
            "/api/v1/ups/{ups}/fsd": {"post": _write(
                "Set the forced-shutdown latch (NUT's FSD; needs FSD or upsmon primary)",
                {"type": "object"}, [])},
            "/api/v1/history": {"get": {
                "summary": "Charted series of one UPS over an hour, day, week or month",
                "parameters": [
                    {"name": "ups", "in": "query", "required": True,
                     "schema": {"type": "string"}},
                    {"name": "range", "in": "query",
                     "schema": {"type": "string", "enum": ["hour", "day", "week", "month"]}},
                    {"name": "series", "in": "query", "schema": {"type": "string"}},
                    {"name": "format", "in": "query",
                     "schema": {"type": "string", "enum": ["json", "csv"]}}],
                "responses": {"200": {"description": "Samples: [time, value or null]",
                                      "content": {**json_ok, "text/csv": {}}},
                              **_errors(400, 404)}}},
            "/api/v1/log": {"get": {
                "summary": "The event log, oldest first (from the history file with range)",
                "parameters": [
                    {"name": "range", "in": "query",
                     "schema": {"type": "string", "enum": ["hour", "day", "week", "month"]}},
                    {"name": "format", "in": "query",
                     "schema": {"type": "string", "enum": ["json", "csv"]}},
                    {"name": "ups", "in": "query", "schema": {"type": "string"}},
                    {"name": "limit", "in": "query",
                     "schema": {"type": "integer", "minimum": 1, "maximum": 10000}},
                    {"name": "after", "in": "query",
                     "description": "only recent entries after this id (not with range)",
                     "schema": {"type": "integer", "minimum": 0}}],
                "responses": {"200": {"description": "Entries", "content": json_ok},
                              **_errors(400, 404)}}},
            "/api/v1/events": {"get": {
                "summary": "Server-Sent Events: a snapshot, then every change",
                "parameters": [
                    {"name": "ups", "in": "query", "schema": {"type": "string"}},
                    {"name": "variable", "in": "query", "schema": {"type": "string"}},
                    {"name": "type", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "An endless event stream",
                                      "content": {"text/event-stream": {}}},
                              **_errors(400, 404)}}},
            "/metrics": {"get": {"summary": "Prometheus metrics of every UPS",
                                 "parameters": [{"name": "ups", "in": "query",
                                                 "schema": {"type": "string"}}],
                                 "responses": {"200": {"description": "Exposition format"},
                                               **_errors(404)}}},
        },
        "components": {
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "message"],
                          "properties": {"error": {"type": "string"},
                                         "message": {"type": "string"}}},
                "Result": {"type": "object", "required": ["result"],
                           "properties": {"result": {"type": "string", "enum": [
                               "SUCCESS", "FAILED", "INVALID", "UNKNOWN", "PENDING"]}}},
            },
        },
    }
