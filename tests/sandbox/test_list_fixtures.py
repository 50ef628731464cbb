"""A list endpoint served from a JSON fixture (``--fixture PATH=FILE``), over real HTTP: paging,
conditions, orderBy, fields, count, one record; bad files and colliding paths refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.list_fixtures import ListFixtureError
from sandbox.server import SandboxServer, main
from sandbox.testing import SandboxClient

ROOT = Path(__file__).resolve().parents[2]
ADDITIONS = "/finance/agreements/additions"


def _addition(ident: int, product: str, quantity: float, price: float, billable: str) -> dict:
    return {"id": ident, "product": {"id": ident % 7 + 1, "identifier": product},
            "quantity": quantity, "unitPrice": price, "billCustomer": billable,
            "agreementId": 300 + ident % 3,
            "effectiveDate": f"2026-0{ident % 3 + 1}-01T00:00:00Z",
            "_info": {"lastUpdated": f"2026-03-{ident % 28 + 1:02d}T08:00:00Z"}}


RECORDS = [_addition(i, p, q, u, b) for i, p, q, u, b in [
    (907, "M365-BP", 12, 16.4, "Billable"), (901, "AV-ENDPOINT", 30, 2.1, "Billable"),
    (915, "BACKUP-500", 1, 45.0, "DoNotBill"), (903, "M365-E3", 4, 30.2, "Billable"),
    (911, "FIREWALL-MGD", 1, 85.0, "NoCharge"), (905, "SEAT-SUPPORT", 22, 18.5, "Billable"),
    (909, "AV-ENDPOINT", 8, 2.1, "Billable")]]


@pytest.fixture(scope="module")
def fixture_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fixtures") / "additions.json"
    path.write_text(json.dumps(RECORDS))
    return path


@pytest.fixture(scope="module")
def cw(fixture_file):
    with SandboxServer(port=0, invoices=5, expenses=2, procurement=2,
                       fixtures={ADDITIONS: fixture_file}) as server:
        yield SandboxClient(server)


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()]


def test_pages_in_id_order_with_a_link_header(cw):
    first = cw.get(ADDITIONS, pageSize=3)
    assert _ids(first) == [901, 903, 905]
    assert 'rel="next"' in first.headers["Link"] and 'rel="last"' in first.headers["Link"]
    assert _ids(cw.get(ADDITIONS, pageSize=3, page=3)) == [915]
    assert 'rel="next"' not in cw.get(ADDITIONS, pageSize=3, page=3).headers["Link"]
    assert [r["id"] for r in cw.all_pages(ADDITIONS, pageSize=2)] == \
        sorted(r["id"] for r in RECORDS)
    assert len(_ids(cw.get(ADDITIONS))) == 7                      # default page size 25
    assert len(_ids(cw.get(ADDITIONS, pageSize=5000))) == 7       # capped at 1000, not refused


def test_forward_only_paging_follows_page_id(cw):
    forward = {"pagination-type": "forward-only"}
    response = cw.session.get(cw.base_url + ADDITIONS, params={"pageSize": 4},
                              headers=forward, timeout=10)
    assert _ids(response) == [901, 903, 905, 907]
    following = cw.session.get(response.links["next"]["url"], headers=forward, timeout=10)
    assert _ids(following) == [909, 911, 915] and "Link" not in following.headers


def test_conditions_order_and_fields(cw):
    billable = cw.get(ADDITIONS, conditions='billCustomer="Billable" and quantity >= 8',
                      orderBy="quantity desc", fields="id,quantity,product/identifier")
    assert billable.json() == [
        {"id": 901, "quantity": 30, "product": {"identifier": "AV-ENDPOINT"}},
        {"id": 905, "quantity": 22, "product": {"identifier": "SEAT-SUPPORT"}},
        {"id": 907, "quantity": 12, "product": {"identifier": "M365-BP"}},
        {"id": 909, "quantity": 8, "product": {"identifier": "AV-ENDPOINT"}}]
    assert _ids(cw.get(ADDITIONS, conditions="id in (903,915) or product/identifier "
                       'like "FIRE*"', orderBy="id desc")) == [915, 911, 903]
    dated = cw.get(ADDITIONS, conditions="lastUpdated > [2026-03-20T00:00:00Z]")
    assert dated.status_code == 400                  # not a field of these records


def test_count_and_one_record(cw):
    assert cw.get(f"{ADDITIONS}/count").json() == {"count": 7}
    assert cw.get(f"{ADDITIONS}/count", conditions='billCustomer != "Billable"').json() == \
        {"count": 2}
    assert cw.get(f"{ADDITIONS}/905").json() == next(r for r in RECORDS if r["id"] == 905)
    assert cw.get(f"{ADDITIONS}/906").status_code == 404


def test_bad_queries_answer_as_connectwise_does(cw):
    for params in ({"conditions": "nosuchfield = 1"}, {"conditions": "quantity >"},
                   {"orderBy": "quantity sideways"}, {"page": "0"}, {"pageSize": "many"}):
        response = cw.get(ADDITIONS, **params)
        assert response.status_code == 400, params
        assert response.json()["code"] == "InvalidObject"
    assert cw.request("POST", ADDITIONS, json={}).status_code == 405


def test_the_seeded_endpoints_are_still_served(cw):
    assert cw.get("/finance/accounting/unpostedinvoices/count").json() == {"count": 5}


@pytest.mark.parametrize("text, problem", [
    ("{not json", "not valid JSON"),
    ('{"id": 1}', "expected a JSON array of records"),
    ('{"records": [], "companies": []}', "got a JSON object with keys records, companies"),
    ('{"records": {"id": 1}}', "got a JSON object with keys records"),
    ('[{"id": 1}, 7]', "record [1] is a JSON number — each record is a JSON object"),
    ('[{"id": 1}, {"name": "x"}]',
     "record [1] has id None — give every record a whole-number id"),
    ('[{"id": 1}, {"id": "2"}]', "record [1] has id '2'"),
    ('[{"id": 4}, {"id": 4}]', "record [1] has id 4, as record [0] does — ids must be unique"),
])
def test_a_bad_fixture_file_is_one_clear_error_naming_it(tmp_path, text, problem):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ListFixtureError) as caught:
        SandboxServer(port=0, invoices=1, fixtures={ADDITIONS: path})
    assert str(caught.value).startswith(f"{path}: ") and problem in str(caught.value)


def test_a_saved_export_of_a_list_pipeline_is_served_as_it_is(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"records": RECORDS[:3]}))
    with SandboxServer(port=0, invoices=1, fixtures={"/time/entries": path}) as server:
        cw = SandboxClient(server)
        assert _ids(cw.get("/time/entries")) == [901, 907, 915]
        assert cw.get("/time/entries/count", conditions="quantity > 1").json() == {"count": 2}


def test_every_problem_is_reported_at_once(tmp_path):
    path = tmp_path / "two.json"
    path.write_text('[{"id": "a"}, []]')
    with pytest.raises(ListFixtureError) as caught:
        SandboxServer(port=0, invoices=1, fixtures={ADDITIONS: path,
                                                    "/missing/file": tmp_path / "none.json"})
    lines = str(caught.value).splitlines()
    assert lines[0] == "3 problems in the list fixtures:"
    assert [line.split(": ", 1)[0].strip() for line in lines[1:]] == [
        str(path), str(path), str(tmp_path / "none.json")]
    assert "cannot read the fixture" in lines[3]


@pytest.mark.parametrize("path", ["/finance/accounting/unpostedinvoices", "/company/companies",
                                  "/COMPANY/companies/", "/system/members",
                                  "/finance/accounting/batches", "/finance/accounting/export",
                                  "/finance/invoices/count"])
def test_a_path_the_sandbox_serves_is_refused(fixture_file, path):
    with pytest.raises(ListFixtureError, match="already served by the sandbox's own data"):
        SandboxServer(port=0, invoices=1, fixtures={path: fixture_file})


def test_a_path_that_is_not_a_list_path_is_refused(fixture_file):
    for path in ("finance/additions", "/finance//additions", "/finance/additions?x=1"):
        with pytest.raises(ListFixtureError, match="is not a list endpoint path"):
            SandboxServer(port=0, invoices=1, fixtures={path: fixture_file})


def test_the_command_line_takes_repeatable_fixtures(fixture_file, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[1]")
    assert main(["--port", "0", "--fixture", f"{ADDITIONS}={bad}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"cwsage sandbox: {bad}: record [0]") and "Traceback" not in err
    assert main(["--port", "0", "--fixture", ADDITIONS]) == 2
    assert "write PATH=FILE" in capsys.readouterr().err
    assert main(["--port", "0", "--fixture", f"{ADDITIONS}={fixture_file}",
                 "--fixture", f"{ADDITIONS}/={fixture_file}"]) == 2
    assert "is given twice" in capsys.readouterr().err


def test_the_banner_names_each_fixture(fixture_file):
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--invoices", "2", "--fixture",
         f"{ADDITIONS}={fixture_file}", "--fixture", f"/time/entries={fixture_file}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = ""
        for line in process.stdout:
            banner += line
            if "Ctrl-C" in line:
                break
        assert f"7 records at {ADDITIONS} from {fixture_file}" in banner, banner
        assert f"7 records at /time/entries from {fixture_file}" in banner
    finally:
        process.terminate()
        process.wait(timeout=10)
