"""The CDS Hooks 2.0 specification's own examples, as contract tests."""
from __future__ import annotations

import pytest

from cds_service.data.prefetch import substitute
from cds_service.hooks.requests import parse_request, user_tokens
from cds_service.web.response import ResponseError, check_response

SPEC_REQUEST = {
    "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
    "fhirServer": "http://hooks.smarthealthit.org:9080",
    "hook": "patient-view",
    "fhirAuthorization": {"access_token": "some-opaque-fhir-access-token", "token_type": "Bearer", "expires_in": 300,
                          "scope": "user/Patient.read user/Observation.read", "subject": "cds-service4"},
    "context": {"userId": "Practitioner/example", "patientId": "1288992", "encounterId": "89284"},
    "prefetch": {"patientToGreet": {"resourceType": "Patient", "gender": "male", "birthDate": "1925-12-23",
                                    "id": "1288992", "active": True}},
}

SPEC_RESPONSE = {"cards": [
    {"uuid": "4e0a3a1e-3283-4575-ab82-028d55fe2719", "summary": "Example Card", "indicator": "info",
     "detail": "This is an example card.",
     "source": {"label": "Static CDS Service Example", "url": "https://example.com",
                "icon": "https://example.com/img/icon-100px.png"},
     "links": [{"label": "Google", "url": "https://google.com", "type": "absolute"},
               {"label": "Github", "url": "https://github.com", "type": "absolute"},
               {"label": "SMART Example App", "url": "https://smart.example.com/launch", "type": "smart",
                "appContext": "{\"session\":3456356,\"settings\":{\"module\":4235}}"}]},
    {"summary": "Another card", "indicator": "warning", "source": {"label": "Static CDS Service Example"},
     "overrideReasons": [
         {"code": "reason-code-provided-by-service", "system": "http://example.org/cds-services/fhir/CodeSystem/override-reasons", "display": "Patient refused"},
         {"code": "12354", "system": "http://example.org/cds-services/fhir/CodeSystem/override-reasons", "display": "Contraindicated"}]},
]}


def test_spec_request_parses_with_its_prefetch_kept_as_sent():
    request, context = parse_request(__import__("json").dumps(SPEC_REQUEST), "patient-view")
    assert request.prefetch["patientToGreet"]["id"] == "1288992"
    assert context.encounterId == "89284" and request.access_token == "some-opaque-fhir-access-token"
    assert "some-opaque" not in repr(request.fhirAuthorization)


def test_spec_prefetch_template_tokens():
    context = SPEC_REQUEST["context"]
    assert substitute("Observation?patient={{context.patientId}}&code=4548-4&_count=1&_sort=-date", context, context["userId"]) == \
        "Observation?patient=1288992&code=4548-4&_count=1&_sort=-date"
    assert substitute("PractitionerRole?practitioner={{userPractitionerId}}", context, context["userId"]) == \
        "PractitionerRole?practitioner=example"
    assert user_tokens("PractitionerRole/r1") == {"userPractitionerRoleId": "r1"}
    with pytest.raises(ValueError):
        substitute("MedicationRequest/{{context.medication.id}}", context, context["userId"])


def test_spec_example_response_first_card_keeps_every_rule():
    check_response({"cards": [SPEC_RESPONSE["cards"][0]]})


def test_spec_example_second_card_lacks_the_uuid_we_always_send():
    """The spec lets uuid be optional; this service always sends one (feedback needs it)."""
    with pytest.raises(ResponseError, match="uuid"):
        check_response(SPEC_RESPONSE)


def test_spec_system_action_example_without_description_is_refused():
    """The spec's systemActions example omits `description`, which its Action table makes REQUIRED."""
    payload = {"cards": [], "systemActions": [{"type": "update", "resource": {"resourceType": "ServiceRequest", "id": "example-MRI-59879846"}}]}
    with pytest.raises(ResponseError, match="description"):
        check_response(payload)
    payload["systemActions"][0]["description"] = "Record the appropriateness rating"
    check_response(payload)


def test_spec_feedback_examples_are_accepted():
    from cds_service.web.feedback import parse_feedback
    accepted = {"feedback": [{"card": "4e0a3a1e-3283-4575-ab82-028d55fe2719", "outcome": "accepted",
                              "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
                              "outcomeTimestamp": "2021-12-11T10:05:31Z"}]}
    overridden = {"feedback": [{"card": "f6b95768-b1c8-40dc-8385-bf3504b82ffb", "outcome": "overridden",
                                "outcomeTimestamp": "2020-12-11T00:00:00Z"}]}
    import json
    assert parse_feedback(json.dumps(accepted).encode(), 100)[0].acceptedSuggestions[0].id.startswith("e56e")
    assert parse_feedback(json.dumps(overridden).encode(), 100)[0].outcome == "overridden"
