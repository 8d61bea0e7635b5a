"""The OpenAPI 3.1 document, generated from the code: each view of the API says what it
answers with `@documented(...)`, apispec turns the marshmallow schemas into JSON Schema."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import Schema

from .schemas import ErrorSchema
from .services import LICENCE

F = TypeVar("F", bound=Callable[..., Any])

#: refusals any operation may answer, with the reason
ERRORS = {
    "400": "Requête illisible (caractères de contrôle dans l’adresse)",
    "404": "Rien à cette adresse (épisode inconnu, programme absent)",
    "429": "Trop de requêtes : patientez le temps indiqué par Retry-After",
    "503": "Base de données momentanément indisponible",
}
#: path parameters, by their name in the URL rule
PARAMETERS = {
    "slug": {
        "name": "slug",
        "in": "path",
        "required": True,
        "description": "l’identifiant lisible de l’épisode (voir /api/v1/episodes)",
        "schema": {"type": "string", "pattern": "^[a-z0-9-]{1,80}$"},
        "example": "budget-participatif",
    }
}


def documented(summary: str, schema: type[Schema], description: str = "") -> Callable[[F], F]:
    """Describe a view of the API for the OpenAPI document: what it answers on success."""

    def decorate(view: F) -> F:
        view.openapi = {  # type: ignore[attr-defined]
            "summary": summary,
            "description": description or (view.__doc__ or "").strip(),
            "schema": schema,
        }
        return view

    return decorate


def build_spec(app: Flask, site_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every documented view of the API blueprint."""
    spec = APISpec(
        title="Cycle de webinaires sur la participation : données ouvertes",
        version="1.0.0",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Le programme du cycle, ses épisodes et les questions publiées, "
            "en lecture seule. Heures en ISO 8601, en UTC (+00:00).",
            "license": {"name": LICENCE["name"], "identifier": LICENCE["identifier"]},
        },
        servers=[{"url": site_url.rstrip("/")}],
    )
    spec.components.schema("Error", schema=ErrorSchema)
    error = {"content": {"application/json": {"schema": "Error"}}}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        described = getattr(view, "openapi", None)
        if not rule.endpoint.startswith("api.") or described is None:
            continue
        responses: dict[str, Any] = {
            "200": {
                "description": "OK",
                "headers": {"ETag": {"schema": {"type": "string"}}},
                "content": {"application/json": {"schema": described["schema"]}},
            },
            "304": {"description": "Inchangé depuis l’ETag envoyé (If-None-Match)"},
        }
        responses.update({code: {"description": text, **error} for code, text in ERRORS.items()})
        operation = {
            "operationId": rule.endpoint.removeprefix("api."),
            "summary": described["summary"],
            "description": described["description"],
            "parameters": [PARAMETERS[name] for name in sorted(rule.arguments)],
            "responses": responses,
        }
        spec.path(path=_openapi_path(rule.rule), operations={"get": operation})
    return spec.to_dict()


def _openapi_path(rule: str) -> str:
    """/api/v1/episodes/<slug> → /api/v1/episodes/{slug}"""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)
