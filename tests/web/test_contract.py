"""The API keeps its OpenAPI contract (schemathesis, bounded examples, fixed seed): no 5xx, every status code and
body as documented, CSV and GeoJSON under their own media types, 405 with ``Allow``."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from crimeplan.web import create_app


EXAMPLES = 10  # per operation and generation mode: bounded, and the same every run (derandomize)


def test_the_api_keeps_its_contract(service) -> None:
    """Schema-valid and schema-invalid requests to every operation; any failure of any check is reported with the
    request that caused it. (Driven here rather than by schemathesis' pytest plugin, which pytest 9 breaks.)"""
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(service=service))
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:
        for mode in GenerationMode:
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case) -> None:
                # Every check but "schema-valid data is accepted": areas, measures and periods are strings checked
                # against the loaded data and the period grammar, which a schema cannot list ('0' is no area: 404).
                case.call_and_validate(excluded_checks=[positive_data_acceptance])

            try:
                run()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label  # no parameter a request could get wrong
            except Exception as exc:  # noqa: BLE001 - every operation is tried; the failures are listed together
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)


def test_the_contract_documents_real_errors_and_media_types(service) -> None:
    contract = create_app(service=service).openapi()
    paths = contract["paths"]
    assert "HTTPValidationError" not in contract["components"]["schemas"]  # not the body the API sends
    assert paths["/api/scorecard.csv"]["get"]["responses"]["200"]["content"] == {"text/csv": {"schema": {"type": "string"}}}
    assert "application/geo+json" in paths["/api/areas/{key}/children.geojson"]["get"]["responses"]["200"]["content"]
    for status in ("404", "414", "422", "503"):
        assert paths["/api/scorecard"]["get"]["responses"][status]["content"]["application/json"]["schema"] == \
            {"$ref": "#/components/schemas/Problem"}
    assert "413" in paths["/api/claims/check"]["post"]["responses"]


def test_a_method_not_allowed_lists_every_method_of_the_path(client) -> None:
    r = client.request("TRACE", "/api/claims/check")
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
    r = client.request("DELETE", "/api/plan")
    assert r.status_code == 405 and r.headers["allow"] == "GET"
