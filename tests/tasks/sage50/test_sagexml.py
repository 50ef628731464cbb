import pytest

from tasks.errors import LoadError
from tasks.sage50.sagexml import parse_company


def test_parses_accounts_invoices_and_groups_adjacent_splits(sx):
    xml = sx.company(
        customers=[sx.customer()], suppliers=[sx.supplier()],
        invoices=[sx.invoice(items=[sx.item(), sx.item(sku="M", qty=None, price=None)])],
        transactions=[sx.split(1), sx.split(2, nominal="7402"),
                      sx.split(3, key="CW-EXP-312", reference="EXP312"), sx.split(4)])
    c = parse_company(xml)
    assert [(a.kind, a.key, a.account_ref) for a in c.accounts] == [
        ("customer", "CW-CO-SMITHJ01", "SMITHJ01"), ("supplier", "CW-MEM-JSMITH", "JSMITH")]
    assert c.accounts[0].name == "Smith & Jones Solicitors LLP"
    assert c.accounts[0].address.county == ""                       # empty element: blank
    assert c.invoices[0].items[1].qty is None                       # absent element: not given
    # split 4 repeats CW-EXP-311 after another document: Zynk makes it a separate header
    assert [(g.key, [s.split_id for s in g.splits]) for g in c.transactions] == [
        ("CW-EXP-311", ["1", "2"]), ("CW-EXP-312", ["3"]), ("CW-EXP-311", ["4"])]


def test_missing_id_gets_a_positional_key(sx):
    c = parse_company(sx.company(invoices=[sx.invoice(Id=None)]))
    assert (c.invoices[0].key, c.invoices[0].has_id) == ("Invoice[1]", False)


def test_parser_does_not_expand_entities_or_fetch_files(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    xml = (f'<?xml version="1.0"?><!DOCTYPE Company [<!ENTITY x SYSTEM "file://{secret}">'
           f'<!ENTITY big "AAAA">]><Company><Customers><Customer><Id>&x;</Id>'
           f'<CompanyName>&big;</CompanyName></Customer></Customers></Company>').encode()
    c = parse_company(xml)
    assert "TOPSECRET" not in (c.accounts[0].key or "")
    assert c.accounts[0].name != "AAAA"


@pytest.mark.parametrize("xml, words", [
    (b"<Company><Invoices>", "not well-formed"),
    (b"<Invoices/>", "expected <Company>"),
    (b"<Company><Products/></Company>", "Company/Products"),
])
def test_unreadable_xml_is_a_load_error(xml, words):
    with pytest.raises(LoadError, match=words):
        parse_company(xml)


def test_text_input_is_accepted(sx):
    xml = sx.company(invoices=[sx.invoice()]).decode("utf-8")
    assert parse_company(xml).invoices[0].key == "CW-INV-5120"
