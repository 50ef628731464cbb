"""Posting: accounting batches, un-batching, master-data PATCH and --state persistence."""

import json

import pytest

from sandbox.server import SandboxServer
from sandbox.state import StateError
from sandbox.testing import SandboxClient, invoice_gl_ids

BATCHES = "/finance/accounting/batches"
UNPOSTED = "/finance/accounting/unpostedinvoices"


@pytest.fixture
def srv():
    with SandboxServer(port=0, invoices=60) as server:
        yield server


@pytest.fixture
def cw(srv):
    return SandboxClient(srv)


def _post(cw, ids, identifier="SAGE-INV-1", **flags):
    body = {"batchIdentifier": identifier, "exportInvoicesFlag": True, **flags,
            "processedRecordIds": ids}
    return cw.post(BATCHES, body)


def _docs(cw, *ids):
    return cw.export(exportInvoicesFlag=True, includedInvoiceIds=list(ids))["transactions"]


def _errors(response):
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "InvalidObject"
    assert body["message"] == "createAccountingBatchRequest object is invalid"
    return body["errors"]


def test_empty_or_missing_ids_are_refused(cw):
    for body in ({"exportInvoicesFlag": True, "processedRecordIds": []},
                 {"exportInvoicesFlag": True}):
        error = _errors(cw.post(BATCHES, body))[0]
        assert error["field"] == "processedRecordIds"
        assert error["message"] == "Cannot find GLEntryRecIDList to update"


def test_a_flag_is_required(cw):
    ids = invoice_gl_ids(_docs(cw, 5001)[0])
    errors = _errors(cw.post(BATCHES, {"processedRecordIds": ids}))
    assert errors[0]["field"] == "exportInvoicesFlag"
    assert errors[0]["message"] == "Batch must export Invoices, Expenses or Products"


def test_the_flag_must_match_the_documents(cw):
    ids = invoice_gl_ids(_docs(cw, 5001)[0])
    errors = _errors(_post(cw, ids, exportInvoicesFlag=False, exportExpensesFlag=True))
    assert errors[0]["field"] == "exportInvoicesFlag" and "invoice 5001" in errors[0]["message"]


def test_unknown_ids_are_refused(cw):
    errors = _errors(_post(cw, [1, 2, 3]))
    assert "no GL entry with id 1, 2, 3" in errors[0]["message"]


def test_partial_id_sets_are_refused_naming_the_document(cw):
    doc = _docs(cw, 5002)[0]
    ids = invoice_gl_ids(doc)
    for missing in (ids[0], ids[-1]):
        errors = _errors(_post(cw, [i for i in ids if i != missing]))
        assert "invoice 5002" in errors[0]["message"] and str(missing) in errors[0]["message"]
        assert doc["documentNumber"] in errors[0]["message"]
    assert cw.get(UNPOSTED + "/count").json() == {"count": 60}


def test_identifier_rules(cw):
    ids = invoice_gl_ids(_docs(cw, 5001)[0])
    errors = _errors(_post(cw, ids, identifier="X" * 51))
    assert errors[0]["field"] == "batchIdentifier"
    assert _post(cw, ids, identifier="ONE").status_code == 201
    other = invoice_gl_ids(_docs(cw, 5002)[0])
    errors = _errors(_post(cw, other, identifier="one"))
    assert errors[0]["code"] == "ObjectExists" and errors[0]["field"] == "batchIdentifier"


def test_a_batch_without_identifier_gets_a_timestamp(cw):
    response = cw.post(BATCHES, {"exportInvoicesFlag": True,
                                 "processedRecordIds": invoice_gl_ids(_docs(cw, 5001)[0])})
    assert response.status_code == 201
    assert response.json()["batchIdentifier"][:14].isdigit()


def test_success_posts_the_documents(cw):
    docs = _docs(cw, 5001, 5002, 5003)
    ids = sorted(i for d in docs for i in invoice_gl_ids(d))
    response = _post(cw, ids)
    assert response.status_code == 201
    batch = response.json()
    assert batch == {"id": batch["id"], "batchIdentifier": "SAGE-INV-1",
                     "exportInvoicesFlag": True, "exportExpensesFlag": False,
                     "exportProductsFlag": False, "closedFlag": False, "_info": batch["_info"]}
    assert cw.get(UNPOSTED + "/count").json() == {"count": 57}
    listed = [r["id"] for r in cw.all_pages(UNPOSTED, pageSize=100, fields="id")]
    assert not {5001, 5002, 5003} & set(listed)
    assert cw.get(UNPOSTED + "/5002").status_code == 404
    assert len(cw.export(exportInvoicesFlag=True)["transactions"]) == 57
    assert _docs(cw, 5001) == []
    found = cw.get(BATCHES, conditions='batchIdentifier="SAGE-INV-1"').json()
    assert [b["id"] for b in found] == [batch["id"]]
    assert cw.get(f"{BATCHES}/{batch['id']}").json()["batchIdentifier"] == "SAGE-INV-1"
    assert cw.get(BATCHES + "/count").json() == {"count": 1}


def test_already_batched_ids_are_object_exists(cw):
    ids = invoice_gl_ids(_docs(cw, 5004)[0])
    assert _post(cw, ids, identifier="FIRST").status_code == 201
    errors = _errors(_post(cw, ids, identifier="SECOND"))
    assert errors[0]["code"] == "ObjectExists"
    assert "invoice 5004" in errors[0]["message"] and "FIRST" in errors[0]["message"]


def test_every_problem_is_reported_at_once(cw):
    first, second = _docs(cw, 5005, 5006)
    errors = _errors(_post(cw, invoice_gl_ids(first)[1:] + invoice_gl_ids(second)[1:] + [7]))
    messages = " | ".join(e["message"] for e in errors)
    assert "invoice 5005" in messages and "invoice 5006" in messages and "id 7" in messages


def test_deleting_a_batch_returns_its_documents(cw):
    doc = _docs(cw, 5007)[0]
    batch = _post(cw, invoice_gl_ids(doc)).json()
    assert cw.get(UNPOSTED + "/count").json() == {"count": 59}
    assert cw.delete(f"{BATCHES}/{batch['id']}").status_code == 204
    assert cw.get(UNPOSTED + "/count").json() == {"count": 60}
    assert _docs(cw, 5007) == [doc]
    assert cw.get(f"{BATCHES}/{batch['id']}").status_code == 404
    assert cw.delete(f"{BATCHES}/{batch['id']}").status_code == 404
    assert _post(cw, invoice_gl_ids(doc), identifier="AGAIN").status_code == 201


def test_batch_entries_balance(cw):
    docs = _docs(cw, 5008, 5009)
    batch = _post(cw, [i for d in docs for i in invoice_gl_ids(d)]).json()
    entries = cw.get(f"{BATCHES}/{batch['id']}/entries", pageSize=100).json()
    assert sorted(e["id"] for e in entries) == sorted(i for d in docs for i in invoice_gl_ids(d))
    assert round(sum(e["debit"] - e["credit"] for e in entries), 2) == 0
    assert {e["invoice"]["id"] for e in entries} == {5008, 5009}
    count = cw.get(f"{BATCHES}/{batch['id']}/entries/count").json()
    assert count == {"count": len(entries)}


def test_a_posted_batch_can_be_exported_again(cw):
    doc = _docs(cw, 5010)[0]
    batch = _post(cw, invoice_gl_ids(doc)).json()
    again = cw.post(f"{BATCHES}/{batch['id']}/export", {"exportInvoicesFlag": True})
    assert again.json()["transactions"] == [doc]


def test_patching_a_company_fixes_its_documents(srv, cw):
    broken = [b for b in srv.data.broken_documents() if b.reason == "missing_account_number"]
    doc = _docs(cw, broken[0].id)[0]
    company_id = doc["company"]["id"]
    before = cw.get(f"/company/companies/{company_id}").json()
    response = cw.patch(f"/company/companies/{company_id}",
                        [{"op": "replace", "path": "accountNumber", "value": "ANGRYF01"}])
    assert response.status_code == 200 and response.json()["accountNumber"] == "ANGRYF01"
    after = cw.get(f"/company/companies/{company_id}").json()
    assert after["_info"]["lastUpdated"] > before["_info"]["lastUpdated"]
    fixed = _docs(cw, broken[0].id)[0]
    assert fixed["companyAccountNumber"] == "ANGRYF01"
    customers = cw.export(exportInvoicesFlag=True, includedInvoiceIds=[broken[0].id])["customers"]
    assert customers[0]["accountNumber"] == "ANGRYF01"
    row = cw.get(f"{UNPOSTED}/{broken[0].id}").json()
    assert row["accountNumber"] == "ANGRYF01"
    recent = cw.get("/company/companies", conditions=f"lastUpdated >= "
                    f"[{after['_info']['lastUpdated']}]", fields="id").json()
    assert recent == [{"id": company_id}]


def test_bad_patches_are_400(cw):
    for body in ({"accountNumber": "X"}, [{"op": "replace", "path": "id", "value": 5}],
                 [{"op": "replace", "path": "accountNumber", "value": 5}],
                 [{"op": "move", "path": "accountNumber"}]):
        response = cw.patch("/company/companies/1001", body)
        assert response.status_code == 400 and response.json()["code"] == "InvalidObject"
    assert cw.patch("/company/companies/4242", [{"op": "replace", "path": "name",
                                                "value": "X"}]).status_code == 404


def test_state_survives_a_restart(tmp_path):
    state = tmp_path / "sandbox-state.json"
    with SandboxServer(port=0, invoices=60, state_file=state) as first:
        cw = SandboxClient(first)
        ids = [i for d in _docs(cw, 5001, 5002, 5005) for i in invoice_gl_ids(d)]
        batch = _post(cw, ids, identifier="KEEP").json()
        cw.patch("/company/companies/1013", [{"op": "replace", "path": "accountNumber",
                                              "value": "ANGRYF01"}])
    saved = json.loads(state.read_text())
    assert saved["batches"][0]["documents"] == {"invoice": [[0, 1], [4, 4]]}
    with SandboxServer(port=0, invoices=60, state_file=state) as second:
        cw = SandboxClient(second)
        assert cw.get(UNPOSTED + "/count").json() == {"count": 57}
        assert cw.get(f"{BATCHES}/{batch['id']}").json()["batchIdentifier"] == "KEEP"
        assert cw.get("/company/companies/1013").json()["accountNumber"] == "ANGRYF01"
        assert cw.delete(f"{BATCHES}/{batch['id']}").status_code == 204
        assert _post(cw, invoice_gl_ids(_docs(cw, 5003)[0]), identifier="NEXT").json()["id"] \
            == batch["id"] + 1
    with SandboxServer(port=0, invoices=60, state_file=state) as third:
        assert SandboxClient(third).get(UNPOSTED + "/count").json() == {"count": 59}
    assert not list(tmp_path.glob("*.tmp"))


def test_a_state_file_from_other_options_is_refused(tmp_path):
    state = tmp_path / "state.json"
    SandboxServer(port=0, invoices=60, state_file=state).stop()
    with SandboxServer(port=0, invoices=60, state_file=state) as srv:
        SandboxClient(srv).patch("/company/companies/1001", [{"op": "replace",
                                  "path": "name", "value": "Renamed Ltd"}])
    with pytest.raises(StateError, match="invoices"):
        SandboxServer(port=0, invoices=61, state_file=state)
    state.write_text("{broken")
    with pytest.raises(StateError, match="cannot read"):
        SandboxServer(port=0, invoices=60, state_file=state)


def test_last_updated_always_moves_forward():
    from sandbox.state import _later
    assert _later("2026-11-25T10:00:00Z", "2026-08-01T09:00:00Z") == "2026-11-25T10:00:00Z"
    assert _later("2025-01-01T10:00:00Z", "2026-08-01T09:00:00Z") == "2026-08-01T09:00:01Z"
