"""A quick scale smoke test: 20,000 invoices listed, exported and posted in 1,000-id chunks."""

from sandbox.server import SandboxServer
from sandbox.testing import SandboxClient, invoice_gl_ids

UNPOSTED = "/finance/accounting/unpostedinvoices"


def test_twenty_thousand_invoices_page_export_and_post():
    with SandboxServer(port=0, invoices=20_000, expenses=0, procurement=0) as srv:
        cw = SandboxClient(srv)
        ids = [row["id"] for row in cw.all_pages(UNPOSTED, pageSize=1000, fields="id",
                                                  orderBy="id asc")]
        assert len(ids) == len(set(ids)) == 20_000
        assert cw.get(UNPOSTED + "/count").json() == {"count": 20_000}
        chunk = ids[7000:8000]
        export = cw.export(exportInvoicesFlag=True, includedInvoiceIds=chunk)
        assert [t["id"] for t in export["transactions"]] == chunk
        gl_ids = [i for t in export["transactions"] for i in invoice_gl_ids(t)]
        response = cw.post("/finance/accounting/batches", {
            "batchIdentifier": "SCALE-1", "exportInvoicesFlag": True,
            "processedRecordIds": gl_ids})
        assert response.status_code == 201
        assert cw.get(UNPOSTED + "/count").json() == {"count": 19_000}
        filtered = cw.get(UNPOSTED + "/count", conditions="locationId = 2").json()["count"]
        assert 0 < filtered < 19_000
