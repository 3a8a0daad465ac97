"""OpenAPI 3.1 specs: valid documents, every catalog endpoint present, and a bounded schemathesis run
against the simulator finds no response that breaks the spec."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from airflow_provider_mediagen.catalog import SERVICES

from .conftest import CONNECTORS

SPECS = {name: CONNECTORS / "openapi" / f"{name}.openapi.json" for name in SERVICES}

#: Checks about what the server answers (the spec's promise). Checks about what it should have refused
#: or accepted (negative_data_rejection, positive_data_acceptance) judge the simulator's validation,
#: which is not what this spec test is about.
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


@pytest.mark.parametrize("service", sorted(SPECS))
def test_spec_is_valid_openapi_31(service: str) -> None:
    doc = json.loads(SPECS[service].read_text())
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_validator_rejects_a_broken_spec() -> None:
    doc = json.loads(SPECS["apex"].read_text())
    doc["paths"]["/api/usage"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] = {"type": 5}
    with pytest.raises(OpenAPIValidationError):
        validate(doc)


@pytest.mark.parametrize("service", sorted(SPECS))
def test_every_endpoint_and_webhook_is_in_the_spec(service: str) -> None:
    doc = json.loads(SPECS[service].read_text())
    svc = SERVICES[service]
    for ep in svc.endpoints.values():
        operation = doc["paths"][ep.path_template][ep.method.lower()]
        assert str(ep.success_status) in operation["responses"]
        for code in svc.error_codes:
            assert str(code) in operation["responses"], (ep.key, code)
    assert set(doc.get("webhooks", {})) == set(svc.webhook.events if svc.webhook else ())
    assert doc["servers"][0]["url"] == svc.base_url


@pytest.mark.parametrize("service", sorted(SPECS))
def test_schemathesis_finds_no_nonconforming_response(service: str, sim, tmp_path: Path) -> None:
    """A bounded property-based run (a few examples per operation) against the simulator."""
    sim.reset()
    cmd = [
        sys.executable, "-m", "schemathesis.cli", "run", str(SPECS[service]),
        "--url", sim.urls[service],
        "--header", f"Authorization: Bearer {sim.keys[service]}",
        "--checks", CHECKS,
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", "8",
        "--seed", "20260101",
        "--workers", "1",
        "--request-timeout", "20",
        "--no-shrink",
        "--suppress-health-check", "all",
        "--report", "junit", "--report-dir", str(tmp_path),
    ]
    result = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=540, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "passed" in output.lower(), output[-3000:]


@pytest.mark.parametrize("service", sorted(SPECS))
def test_the_key_is_declared_for_the_service_origin_only(service: str) -> None:
    """The bearer key is declared once, for the one server, which is the service's documented https
    origin: no path or operation names another server (a client would send the document-wide key
    there), no scheme puts the key in a query string, and the webhooks the service sends carry none."""
    doc = json.loads(SPECS[service].read_text())
    [server] = doc["servers"]
    assert server["url"] == SERVICES[service].base_url and server["url"].startswith("https://")
    assert doc["security"] == [{"bearerAuth": []}]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert all(s.get("in") != "query" or "not the API key" in s.get("description", "") for s in schemes.values())
    for path, item in doc["paths"].items():
        assert "servers" not in item, path
        for method, op in item.items():
            if isinstance(op, dict):
                assert "servers" not in op, (path, method)
                assert op.get("security", doc["security"]) in (doc["security"], [{"streamToken": []}]), (path, method)
    for name, item in doc.get("webhooks", {}).items():
        assert all(op.get("security") == [] for op in item.values()), name
