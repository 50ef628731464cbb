"""Injected faults: rate limits, server errors, timeouts, cut replies and lost answers."""

import time

import pytest
import requests

from sandbox.faults import FaultPlan, FaultSpecError, parse_rule, route_name
from sandbox.server import SandboxServer
from sandbox.testing import SandboxClient, invoice_gl_ids

UNPOSTED = "/finance/accounting/unpostedinvoices"


@pytest.fixture
def srv():
    with SandboxServer(port=0, invoices=20, expenses=5, procurement=5) as server:
        yield server


def test_rule_grammar():
    fault = parse_rule("429=3@unpostedinvoices:2")
    assert (fault.kind, fault.route, fault.remaining, fault.seconds) == \
        ("429", "unpostedinvoices", 2, 3.0)
    assert parse_rule("lose@POST:batches").method == "POST"
    assert parse_rule("timeout@export").seconds == 30
    for bad in ("418@export", "500", "500@", "cut@export:x", "@export"):
        with pytest.raises(FaultSpecError, match="fault\\[=seconds\\]@"):
            parse_rule(bad)
    with pytest.raises(FaultSpecError, match="unknown route 'exprot'"):
        parse_rule("500@exprot")
    assert route_name("finance/accounting/unpostedinvoices/count") == "unpostedinvoices"
    assert route_name("/finance/accounting/batches/7/export") == "export"
    assert route_name("finance/accounting/batches/7") == "batches"


def test_plan_consumes_matching_requests_only():
    plan = FaultPlan("500@export:2,lose@POST:batches")
    assert plan.take("GET", "finance/accounting/batches") is None
    assert plan.take("POST", "finance/accounting/export").kind == "500"
    assert plan.describe()["spec"] == "500@export:1,lose@POST:batches:1"
    assert plan.take("POST", "finance/accounting/batches").kind == "lose"
    assert plan.take("POST", "finance/accounting/export").kind == "500"
    assert plan.take("POST", "finance/accounting/export") is None


def test_rate_limit_then_success(srv):
    srv.faults.add("429@unpostedinvoices:2")
    cw = SandboxClient(srv)
    for _ in range(2):
        response = cw.get(UNPOSTED)
        assert response.status_code == 429 and response.headers["Retry-After"] == "1"
        assert response.json()["code"]
    assert cw.get(UNPOSTED).status_code == 200


def test_server_error_on_export(srv):
    srv.faults.add("500@export")
    cw = SandboxClient(srv)
    assert cw.post("/finance/accounting/export", {"exportInvoicesFlag": True}).status_code == 500
    assert cw.post("/finance/accounting/export", {"exportInvoicesFlag": True}).status_code == 200


def test_faults_wait_for_authentication(srv):
    srv.faults.add("500@unpostedinvoices")
    assert requests.get(srv.base_url + UNPOSTED, timeout=5).status_code == 401
    assert SandboxClient(srv).get(UNPOSTED).status_code == 500


def test_timeout(srv):
    srv.faults.add("timeout=1@export")
    cw = SandboxClient(srv, timeout=0.2)
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        cw.post("/finance/accounting/export", {"exportInvoicesFlag": True})
    assert time.monotonic() - started < 1
    assert SandboxClient(srv).export(exportInvoicesFlag=True)["transactions"]


def test_cut_reply(srv):
    srv.faults.add("cut@export")
    cw = SandboxClient(srv)
    with pytest.raises(requests.RequestException):
        cw.post("/finance/accounting/export", {"exportInvoicesFlag": True}).json()
    assert len(cw.export(exportInvoicesFlag=True)["transactions"]) == 20


def test_lost_answer_after_the_batch_was_created(srv):
    cw = SandboxClient(srv)
    ids = invoice_gl_ids(cw.export(exportInvoicesFlag=True,
                                   includedInvoiceIds=[5001])["transactions"][0])
    srv.faults.add("lose@POST:batches")
    with pytest.raises(requests.ConnectionError):
        cw.post("/finance/accounting/batches", {"batchIdentifier": "LOST-1",
                                                "exportInvoicesFlag": True,
                                                "processedRecordIds": ids})
    found = cw.get("/finance/accounting/batches", conditions='batchIdentifier="LOST-1"').json()
    assert len(found) == 1
    assert cw.get(UNPOSTED + "/count").json() == {"count": 19}


def test_admin_endpoint(srv):
    cw = SandboxClient(srv)
    assert requests.get(srv.base_url + "/admin/faults", timeout=5).status_code == 401
    response = cw.post("/admin/faults", {"spec": "503@companies:2"})
    assert response.status_code == 200 and response.json()["spec"] == "503@companies:2"
    assert cw.get("/admin/faults").json()["faults"][0]["remaining"] == 2
    assert cw.get("/company/companies").status_code == 503
    assert cw.delete("/admin/faults").status_code == 204
    assert cw.get("/company/companies").status_code == 200
    bad = cw.post("/admin/faults", {"spec": "teapot@export"})
    assert bad.status_code == 400 and "fault[=seconds]@" in bad.json()["errors"][0]["message"]
    root = srv.base_url.split("/v4_6_release")[0]
    plain = cw.session.get(root + "/admin/faults", timeout=5)
    assert plain.status_code == 200


def test_constructor_option():
    with SandboxServer(port=0, invoices=5, expenses=0, procurement=0,
                       faults="502@unpostedinvoices") as server:
        cw = SandboxClient(server)
        assert cw.get(UNPOSTED + "/count").status_code == 502
        assert cw.get(UNPOSTED + "/count").status_code == 200
    with pytest.raises(FaultSpecError):
        SandboxServer(port=0, invoices=5, faults="nonsense")
