"""The OpenAPI schema and its docs page, served without any CDN."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_schema_is_openapi_3_with_the_bearer_scheme():
    schema = Client().get("/api/schema/?format=json").json()
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token from `manage.py issue_token` (clinic or user).",
    }
    steps = schema["paths"]["/api/v1/batches/{din}/steps/"]["post"]
    assert {"bearerAuth": []} in steps["security"]
    assert "application/problem+json" in steps["responses"]["409"]["content"]


def test_docs_load_from_our_own_static_files_only():
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"cdn|unpkg|jsdelivr", html, re.IGNORECASE)
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert any("swagger-ui-bundle" in a for a in assets)
    for asset in assets:
        assert Client().get(asset).status_code == 200, asset
