"""Transport rules over real HTTP: auth, errors, paging, Link headers, count, projection."""

import re

import pytest
import requests

from sandbox.server import DEFAULT_CREDENTIALS, SandboxServer
from sandbox.testing import SandboxClient, authorization

UNPOSTED = "/finance/accounting/unpostedinvoices"


@pytest.fixture(scope="module")
def srv():
    with SandboxServer(port=0) as server:
        yield server


@pytest.fixture(scope="module")
def cw(srv):
    return SandboxClient(srv)


def _raw(srv, headers, path=UNPOSTED):
    return requests.get(srv.base_url + path, headers=headers, timeout=10)


def test_missing_or_wrong_authorization_is_401_with_the_error_body(srv):
    good = {"clientId": DEFAULT_CREDENTIALS["client_id"]}
    wrong = dict(DEFAULT_CREDENTIALS, private_key="nope")
    for headers in (good, {**good, "Authorization": authorization(wrong)},
                    {**good, "Authorization": "Basic !!!"}, {**good, "Authorization": "Bearer x"}):
        response = _raw(srv, headers)
        assert response.status_code == 401
        body = response.json()
        assert body["code"] == "Unauthorized" and body["errors"] == []
        assert body["message"]


def test_missing_or_wrong_client_id_is_403(srv):
    auth = {"Authorization": authorization(DEFAULT_CREDENTIALS)}
    for headers in (auth, {**auth, "clientId": "someone-else"}):
        response = _raw(srv, headers)
        assert response.status_code == 403
        body = response.json()
        assert body["code"] == "ConnectWiseApi"
        assert body["message"].startswith("clientId header is required")


def test_the_company_part_of_the_login_is_case_insensitive(srv):
    creds = dict(DEFAULT_CREDENTIALS, company="SANDBOX")
    headers = {"Authorization": authorization(creds), "clientId": creds["client_id"]}
    assert _raw(srv, headers).status_code == 200


def test_auth_is_checked_before_routing(srv):
    assert _raw(srv, {}, "/no/such/route").status_code == 401
    root = srv.base_url.split("/v4_6")[0]
    assert requests.get(root + "/elsewhere", timeout=10).status_code == 401


def test_unknown_route_is_404_with_an_error_body(cw):
    response = cw.get("/finance/nothing")
    assert response.status_code == 404
    assert response.json()["code"] == "NotFound"
    assert cw.get(UNPOSTED + "/999999").status_code == 404


def test_wrong_method_is_405(cw):
    assert cw.delete(UNPOSTED).status_code == 405


def test_malformed_json_is_400_invalid_object(cw):
    response = cw.request("POST", "/finance/accounting/export", data=b"{not json",
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "InvalidObject"
    assert body["message"] == "exportAccountingBatchRequest object is invalid"
    assert body["errors"][0]["code"] == "InvalidField"
    assert {"message", "resource", "field"} <= body["errors"][0].keys()


def test_default_page_is_25_rows_in_id_order_with_links(cw):
    response = cw.get(UNPOSTED)
    rows = response.json()
    assert [r["id"] for r in rows] == list(range(5001, 5026))
    links = response.links
    assert set(links) == {"first", "next", "last"}
    assert links["next"]["url"].startswith("http://") and "page=2" in links["next"]["url"]
    assert "page=5" in links["last"]["url"]


def test_middle_page_has_all_four_rels_and_keeps_the_query(cw):
    response = cw.get(UNPOSTED, page=2, pageSize=10, fields="id")
    assert set(response.links) == {"first", "prev", "next", "last"}
    for link in response.links.values():
        assert "pageSize=10" in link["url"] and "fields=id" in link["url"]
    assert "page=1" in response.links["prev"]["url"]
    assert "page=12" in response.links["last"]["url"]
    assert response.json() == [{"id": i} for i in range(5011, 5021)]


def test_last_page_has_no_next_and_page_past_the_end_is_empty(cw):
    last = cw.get(UNPOSTED, page=12, pageSize=10)
    assert "next" not in last.links and len(last.json()) == 10
    past = cw.get(UNPOSTED, page=40, pageSize=10)
    assert past.status_code == 200 and past.json() == []
    assert "next" not in past.links and "last" in past.links


def test_page_size_above_1000_is_clamped(srv):
    with SandboxServer(port=0, invoices=1500) as big:
        response = SandboxClient(big).get(UNPOSTED, pageSize=5000, fields="id")
        assert len(response.json()) == 1000
        assert "page=2" in response.links["last"]["url"]


def test_bad_paging_values_are_400(cw):
    for params in ({"page": "x"}, {"pageSize": 0}, {"page": 0}):
        response = cw.get(UNPOSTED, **params)
        assert response.status_code == 400 and response.json()["code"] == "InvalidObject"


def test_all_pages_can_be_followed(cw):
    ids = [row["id"] for row in cw.all_pages(UNPOSTED, pageSize=7, fields="id")]
    assert ids == list(range(5001, 5121))


def test_count_matches_the_list_under_conditions(cw):
    for conditions in ("total > 1000", 'currency/currencyCode = "EUR"', "locationId = 2",
                       'invoiceType = "CreditMemo"', 'company/name like "*&*"',
                       "invoiceDate >= [2026-10-15T00:00:00Z]", "id in (5001,5002,9999)"):
        listed = list(cw.all_pages(UNPOSTED, conditions=conditions, pageSize=50))
        counted = cw.get(UNPOSTED + "/count", conditions=conditions).json()
        assert counted == {"count": len(listed)}, conditions
        assert 0 < len(listed) < 120, conditions
    assert cw.get(UNPOSTED + "/count").json() == {"count": 120}


def test_conditions_syntax_error_is_400_naming_the_position(cw):
    response = cw.get(UNPOSTED, conditions="total >")
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "conditions" and "position 8" in error["message"]
    assert cw.get(UNPOSTED + "/count", conditions="colour = 1").status_code == 400


def test_projection_tree():
    from sandbox.listing import _projection
    assert _projection("id,company/identifier,company/name") == \
        {"id": True, "company": {"identifier": True, "name": True}}
    assert _projection("company,company/identifier") == {"company": True}
    assert _projection(" ") is None


def test_fields_projection_is_nested(cw):
    rows = cw.get(UNPOSTED, pageSize=3, fields="id,company/identifier,currency/currencyCode").json()
    assert all(set(r) == {"id", "company", "currency"} for r in rows)
    assert all(set(r["company"]) == {"identifier"} for r in rows)
    assert all(set(r["currency"]) == {"currencyCode"} for r in rows)


def test_order_by_another_field(cw):
    rows = cw.get(UNPOSTED, pageSize=1000, orderBy="total desc", fields="id,total").json()
    totals = [r["total"] for r in rows]
    assert totals == sorted(totals, reverse=True) and len(rows) == 120
    rows = cw.get(UNPOSTED, pageSize=5, orderBy="id desc", fields="id").json()
    assert [r["id"] for r in rows] == [5120, 5119, 5118, 5117, 5116]
    assert cw.get(UNPOSTED, orderBy="colour asc").status_code == 400


def test_unposted_invoice_fields(cw):
    row = cw.get(UNPOSTED + "/5001").json()
    for name in ("id", "billingLogId", "locationId", "company", "accountNumber", "billToCompany",
                 "invoiceNumber", "invoiceDate", "invoiceType", "description", "billingTerms",
                 "dueDays", "dueDate", "currency", "subTotal", "total", "invoiceTaxableFlag",
                 "taxCode", "salesTaxAmount", "stateTaxFlag", "stateTaxXref", "stateTaxAmount",
                 "dateClosed", "_info"):
        assert name in row, name
    assert isinstance(row["dueDays"], str)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["invoiceDate"])
    assert row["currency"]["currencyCode"] in ("GBP", "EUR", "USD")
    assert "lastUpdated" in row["_info"]


def test_companies_list_get_and_conditions(cw):
    companies = list(cw.all_pages("/company/companies", pageSize=100))
    assert len(companies) == cw.get("/company/companies/count").json()["count"]
    picked = cw.get("/company/companies", conditions="id in (1001,1003,201)").json()
    assert [c["id"] for c in picked] == [201, 1001, 1003]
    one = cw.get("/company/companies/1001").json()
    assert one["name"] == "Smith & Jones Solicitors LLP" and one["accountNumber"] == "SMITHJ01"
    assert one["country"] == {"id": 1, "identifier": "GB", "name": "United Kingdom"}
    recent = cw.get("/company/companies/count",
                    conditions="lastUpdated > [2026-06-01T00:00:00Z]").json()["count"]
    assert 0 < recent < len(companies)
    vendors = cw.get("/company/companies/count", conditions="isVendorFlag = true").json()
    assert vendors["count"] >= 5
    assert cw.get("/company/companies/4242").status_code == 404


def test_responses_say_json_and_api_version(cw):
    response = cw.get(UNPOSTED + "/count")
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["api-current-version"]


def test_forward_only_paging_follows_page_id(cw):
    headers = {"pagination-type": "forward-only"}
    response = cw.request("GET", UNPOSTED, params={"pageSize": 50, "fields": "id"},
                          headers=headers)
    ids = [r["id"] for r in response.json()]
    while "next" in response.links:
        assert set(response.links) == {"next"} and "pageId=" in response.links["next"]["url"]
        response = cw.session.get(response.links["next"]["url"], headers=headers, timeout=10)
        ids += [r["id"] for r in response.json()]
    assert ids == list(range(5001, 5121))
    assert "Link" not in response.headers


def test_empty_collections_list_and_count():
    with SandboxServer(port=0, invoices=5, expenses=0, procurement=0) as server:
        cw = SandboxClient(server)
        path = "/finance/accounting/unpostedexpenses"
        assert cw.get(path, conditions="total > 0").json() == []
        assert cw.get(path + "/count").json() == {"count": 0}
        assert cw.export(exportExpensesFlag=True)["expenseBills"] == []
