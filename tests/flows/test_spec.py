"""The spec: the real pipelines.yaml loads; every kind of mistake gets its exact message."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flows.spec import load_spec
from tasks.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
ENV = {**{k: "x" for k in ("CW_COMPANY", "CW_PUBLIC_KEY", "CW_PRIVATE_KEY", "CW_CLIENT_ID")},
       "CW_BASE_URL": "https://cw.example/v4_6_release/apis/3.0"}
BASE = """\
version: 1
connectwise:
  base_url: ${CW_BASE_URL}
  company: ${CW_COMPANY}
  public_key: ${CW_PUBLIC_KEY}
  private_key: ${CW_PRIVATE_KEY}
  client_id: ${CW_CLIENT_ID}
pipelines:
  invoices:
    extract: {entity: invoices}
    mappings: {tax_codes: {T1: 1}, nominal_codes: {"4000": "4000"}}
"""
EXTRACT = "extract: {entity: invoices}"


@pytest.fixture
def project(tmp_path):
    shutil.copytree(ROOT / "xslt", tmp_path / "xslt")
    shutil.copytree(ROOT / "expectations", tmp_path / "expectations")
    return tmp_path


def write(project: Path, text: str) -> Path:
    path = project / "pipelines.yaml"
    path.write_text(text)
    return path


def test_the_shipped_spec_loads_with_every_file_checked():
    spec = load_spec(ROOT / "pipelines.yaml", env=dict(ENV, CW_PRIVATE_KEY="s3cret-key"))
    invoices = spec.pipeline("invoices")
    assert invoices.extract.entity == "invoices"
    assert invoices.stylesheet_path == ROOT / "xslt" / "invoices.xsl"
    assert invoices.suite_path == ROOT / "expectations" / "invoices.json"
    assert invoices.mappings.tax_codes["T1"] == 1
    assert invoices.retries == 3                      # from defaults:
    assert spec.connectwise.private_key.get_secret_value() == "s3cret-key"
    assert "s3cret-key" not in repr(spec)             # secrets never printed


def test_defaults_are_deep_merged(project):
    text = BASE + "defaults:\n  extract: {chunk_size: 50}\n  retries: 1\n"
    spec = load_spec(write(project, text), env=ENV)
    assert spec.pipeline("invoices").extract.chunk_size == 50
    assert spec.pipeline("invoices").extract.page_size == 1000
    assert spec.pipeline("invoices").retries == 1


CASES = {
    "typo with a close match": (
        BASE.replace(EXTRACT, "extract: {entity: invoices, chunk_sise: 10}"),
        ["pipelines.yaml: pipelines.invoices.extract.chunk_sise: unknown key 'chunk_sise' — "
         "did you mean 'chunk_size'?"]),
    "unknown top-level key": (
        BASE + "sagee: {}\n",
        ["pipelines.yaml: sagee: unknown key 'sagee' — did you mean 'sage'?"]),
    "wrong type": (
        BASE.replace(EXTRACT, "extract: {entity: invoices, chunk_size: lots}"),
        ["pipelines.yaml: pipelines.invoices.extract.chunk_size: got 'lots' — expected a "
         "whole number"]),
    "out of range": (
        BASE.replace(EXTRACT, "extract: {entity: invoices, chunk_size: 5000}"),
        ["pipelines.yaml: pipelines.invoices.extract.chunk_size: got 5000 — must be at most "
         "1000"]),
    "unknown writer": (
        BASE + "sage: {writer: sage}\n",
        ["pipelines.yaml: sage.writer: got 'sage' — valid values: sage50_replica, "
         "zynk_xml_outbox, sage50_import_csv"]),
    "unknown load target": (
        BASE.replace(EXTRACT, EXTRACT + "\n    load: {target: sage}"),
        ["pipelines.yaml: pipelines.invoices.load.target: got 'sage' — valid values: "
         "sage50_replica, zynk_xml_outbox, sage50_import_csv"]),
    "import files without a folder": (
        BASE + "sage: {writer: sage50_import_csv}\n",
        ["pipelines.yaml: sage: sage50_import_csv.folder is required when writer is "
         "sage50_import_csv — set it to the folder the Sage-side import reads"]),
    "a pipeline's file writer without a folder": (
        BASE.replace(EXTRACT, EXTRACT + "\n    load: {target: zynk_xml_outbox}"),
        ["pipelines.yaml: pipelines.invoices.load.target is zynk_xml_outbox, and "
         "sage.zynk_xml_outbox.folder is not set — set it to the folder the Sage-side import "
         "reads"]),
    "confirm_within that is no duration": (
        BASE + "sage: {confirm_within: soon}\n",
        ["pipelines.yaml: sage.confirm_within: got 'soon' — give a duration such as 24h, 90m "
         "or 2d"]),
    "a password written into the YAML": (
        BASE + "sage: {sage50_import_csv: {folder: out, odbc_dsn: SAGE50, odbc_password: pw}}\n",
        ["pipelines.yaml: sage.sage50_import_csv.odbc_password: write an environment reference "
         "such as ${SAGE_ODBC_PASSWORD} — secrets never live in pipelines.yaml"]),
    "a connection string instead of a DSN": (
        BASE + "sage: {sage50_import_csv: {folder: out, odbc_dsn: 'DSN=X;PWD=pw'}}\n",
        ["pipelines.yaml: sage.sage50_import_csv.odbc_dsn: not a DSN name (not shown: it may "
         "hold a password) — give the name of the ODBC data source set up for the Sage "
         "company (such as SAGE50), or sqlite:<path> for a replica file; the Sage user and password go in odbc_user and "
         "odbc_password (${SAGE_ODBC_PASSWORD}), never in the DSN"]),
    "a ConnectWise address without its scheme": (
        BASE.replace("${CW_BASE_URL}", "na.myconnectwise.net/v4_6_release/apis/3.0"),
        ["pipelines.yaml: connectwise.base_url: got 'na.myconnectwise.net/v4_6_release/apis/3.0'"
         " — give the API's address with its scheme, e.g. "
         "https://na.myconnectwise.net/v4_6_release/apis/3.0"]),
    "an ODBC DSN on the outbox": (
        BASE + "sage: {zynk_xml_outbox: {folder: out, odbc_dsn: SAGE}}\n",
        ["pipelines.yaml: sage.zynk_xml_outbox.odbc_dsn: unknown key 'odbc_dsn' — valid "
         "keys: lock_date, currency_rates, folder, tax_rates, success_folder, fail_folder"]),
    "unknown entity": (
        BASE.replace("entity: invoices", "entity: invoice"),
        ["pipelines.yaml: pipelines.invoices.extract.entity: unknown entity 'invoice' — valid "
         "values: invoices, expenses, procurement"]),
    "tax code out of range": (
        BASE.replace("T1: 1", "T1: 100"),
        ["pipelines.yaml: pipelines.invoices.mappings.tax_codes: Sage tax codes are numbers "
         "0-99 (T0-T99); got {'T1': 100}"]),
    "duplicate pipeline name": (
        BASE + "  invoices:\n    extract: {entity: invoices}\n",
        ["pipelines.yaml:12:3: YAML syntax error: duplicate key 'invoices' (first at line 9) "
         "— check the indentation and quoting on that line"]),
    "pipeline name not snake_case": (
        BASE.replace("  invoices:\n", "  Invoices-UK:\n"),
        ["pipelines.yaml: pipelines.Invoices-UK: pipeline names are snake_case (lower-case "
         "letters, digits, underscores) — rename it"]),
    "YAML syntax": (
        BASE.replace(EXTRACT, "extract: {entity: invoices"),
        ["pipelines.yaml:11:13: YAML syntax error: expected ',' or '}', but got ':' — check "
         "the indentation and quoting on that line"]),
    "secret written into the YAML": (
        BASE.replace("${CW_PRIVATE_KEY}", "abc123"),
        ["pipelines.yaml: connectwise.private_key: write an environment reference such as "
         "${CW_PRIVATE_KEY} — secrets never live in pipelines.yaml"]),
    "missing stylesheet": (
        BASE.replace(EXTRACT, EXTRACT + "\n    transform: {stylesheet: xslt/nope.xsl}"),
        ["pipelines.yaml: pipelines.invoices: xslt/nope.xsl: stylesheet not found — create it"
         " or set transform.stylesheet"]),
    "no pipelines": (
        "version: 1\npipelines: {}\n",
        ["pipelines.yaml: pipelines: at least one pipeline is required — add one under "
         "'pipelines:' (see the README)"]),
    "outbox without a folder": (
        BASE + "sage: {writer: zynk_xml_outbox}\n",
        ["pipelines.yaml: sage: zynk_xml_outbox.folder is required when writer is "
         "zynk_xml_outbox — set it to the folder the Sage-side import reads"]),
    "schedule with neither cron nor interval": (
        BASE.replace(EXTRACT, EXTRACT + "\n    schedule: {timezone: Europe/London}"),
        ["pipelines.yaml: pipelines.invoices.schedule: give exactly one of cron or "
         "interval_seconds"]),
    "shared state that is not PostgreSQL": (
        BASE + "state: {url: 'sqlite:///tmp/journal.db'}\n",
        ["pipelines.yaml: state.url: give a PostgreSQL address such as postgresql://cwsage@db."
         "example.internal:5432/cwsage (the database must exist)"]),
    "shared state with the password in its address": (
        BASE + "state: {url: 'postgresql://cwsage:hunter2@db/cwsage'}\n",
        ["pipelines.yaml: state.url: the address carries a password — remove it, and give it "
         "as state.password: ${CWSAGE_STATE_PASSWORD}"]),
    "shared state with its password written into the YAML": (
        BASE + "state: {url: 'postgresql://cwsage@db/cwsage', password: hunter2}\n",
        ["pipelines.yaml: state.password: write an environment reference such as "
         "${CWSAGE_STATE_PASSWORD} — secrets never live in pipelines.yaml"]),
    "a writer setting with a typo": (
        BASE + "sage: {sage50_replica: {lock_dte: 2026-01-01}}\n",
        ["pipelines.yaml: sage.sage50_replica.lock_dte: unknown key 'lock_dte' — did you mean "
         "'lock_date'?"]),
    "a lock date that is no date": (
        BASE + "sage: {sage50_replica: {lock_date: 31/03/2026}}\n",
        ["pipelines.yaml: sage.sage50_replica.lock_date: got '31/03/2026' — expected a date "
         "such as 2026-03-31"]),
    "an exchange rate of nothing": (
        BASE + "sage: {sage50_replica: {currency_rates: {EUR: 0}}}\n",
        ["pipelines.yaml: sage.sage50_replica.currency_rates: got {'EUR': 0} — expected a map "
         "of ISO currency code to a rate above 0, e.g. {EUR: 1.15}"]),
    "a rate for the base currency": (
        BASE + "sage: {zynk_xml_outbox: {folder: o, currency_rates: {GBP: 2}}}\n",
        ["pipelines.yaml: sage.zynk_xml_outbox.currency_rates: got {'GBP': 2} — expected a map "
         "of ISO currency code to a rate above 0, e.g. {EUR: 1.15} (GBP is the base currency, "
         "its rate is 1)"]),
    "a tax code Sage does not have": (
        BASE + "sage: {zynk_xml_outbox: {folder: o, tax_rates: {T100: 20}}}\n",
        ["pipelines.yaml: sage.zynk_xml_outbox.tax_rates: got {'T100': 20} — expected a map of "
         "tax code number 0-99 to a percentage, e.g. {1: 20, 0: 0} ('T100' is not a tax "
         "code)"]),
    "a switch that is neither true nor false": (
        BASE + "sage: {sage50_replica: {auto_create_accounts: maybe}}\n",
        ["pipelines.yaml: sage.sage50_replica.auto_create_accounts: got 'maybe' — expected true "
         "or false"]),
    "a list endpoint's key on an accounting export": (
        BASE.replace(EXTRACT, "extract: {entity: invoices, key_prefix: CW-X-}"),
        ["pipelines.yaml: pipelines.invoices.extract: key_prefix: does not apply with entity — "
         "it is read only with endpoint: remove it"]),
    "an accounting export's key on a list endpoint": (
        BASE.replace(EXTRACT, "extract: {endpoint: /company/companies, thru_date: 2026-10-31}"),
        ["pipelines.yaml: pipelines.invoices.extract: thru_date: does not apply with endpoint —"
         " it is read only with entity: remove it"]),
    "missing required section": (
        BASE.replace("    extract: {entity: invoices}\n", ""),
        ["pipelines.yaml: pipelines.invoices.extract: required key is missing — add it"]),
}


def test_writer_paths_resolve_against_the_spec_folder_once(project):
    """Relative paths of every writer resolve one way: against the spec's folder; Zynk's
    Success and Fail folders default beside the outbox folder. Writers get the result."""
    text = BASE + ("sage:\n  sage50_replica: {path: data/sage.db}\n"
                   "  zynk_xml_outbox: {folder: out, fail_folder: ~/zynk-fail}\n")
    spec = load_spec(write(project, text), env=ENV)
    replica = spec.writer_for_name("sage50_replica")
    outbox = spec.writer_for_name("zynk_xml_outbox")
    assert replica.path == project / "data" / "sage.db"
    assert outbox.folder == project / "out" and outbox.success_folder == project / "out" / "success"
    assert outbox.fail_folder == Path("~/zynk-fail").expanduser()
    assert spec.writer_for_name("sage50_import_csv").folder is None


def test_shared_state_takes_a_schema_per_company(project):
    text = BASE + "state: {url: 'postgresql://cwsage@db:5432/cwsage', password: '${PGPW}'}\n"
    spec = load_spec(write(project, text), env={**ENV, "PGPW": "pw"})
    assert spec.shared_state().schema == "cwsage_default" and spec.shared_state().password == "pw"
    assert "pw" not in repr(spec.shared_state()) and "pw" not in repr(spec.state)
    spec = load_spec(write(project, "company: acme-uk\n" + text), env={**ENV, "PGPW": "pw"})
    assert spec.shared_state().schema == "cwsage_acme_uk"
    spec = load_spec(write(project, text.replace("'${PGPW}'}", "'${PGPW}', schema: books}")),
                     env={**ENV, "PGPW": "pw"})
    assert spec.shared_state().schema == "books"


@pytest.mark.parametrize("text, expected", CASES.values(), ids=CASES.keys())
def test_invalid_spec_messages(project, text, expected):
    with pytest.raises(ConfigError) as caught:
        load_spec(write(project, text), env=ENV)
    assert caught.value.problems == expected


def test_every_problem_is_reported_at_once(project):
    text = BASE.replace(EXTRACT, "extract: {entity: invoices, chunk_size: 0, page_sise: 5}")
    text += "sage: {writer: nope}\n"
    with pytest.raises(ConfigError) as caught:
        load_spec(write(project, text), env=ENV)
    assert len(caught.value.problems) == 3


def test_unset_environment_variables_are_named(project):
    with pytest.raises(ConfigError) as caught:
        load_spec(write(project, BASE), env={"CW_BASE_URL": "http://x"})
    assert caught.value.problems[0] == (
        "pipelines.yaml: connectwise.company: environment variable CW_COMPANY is not set — "
        "export CW_COMPANY=… before running")
    assert len(caught.value.problems) == 4
    # offline commands (transform, status) do not need the connection
    load_spec(write(project, BASE), env={}, need_connection=False)


def test_stylesheet_compile_error_names_file_and_line(project):
    (project / "xslt" / "invoices.xsl").write_text(
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">\n'
        '<xsl:template match="/"><xsl:value-of/></xsl:template>\n</xsl:stylesheet>\n')
    with pytest.raises(ConfigError) as caught:
        load_spec(write(project, BASE), env=ENV)
    [problem] = caught.value.problems
    assert problem.startswith("pipelines.yaml: pipelines.invoices: xslt/invoices.xsl: ")
    assert "invoices.xsl:2:" in problem


def test_broken_suite_is_reported(project):
    (project / "expectations" / "invoices.json").write_text(
        '{"name": "x", "expectations": [{"type": "expect_column_values_to_be_purple", '
        '"kwargs": {"column": "sku"}, "meta": {"reason": "r", "fix": "f"}}]}')
    with pytest.raises(ConfigError) as caught:
        load_spec(write(project, BASE), env=ENV)
    assert "expect_column_values_to_be_purple" in caught.value.problems[0] or \
        "unknown type" in caught.value.problems[0]


def test_a_suite_column_its_view_does_not_have_is_reported_when_the_spec_loads(project):
    """A typo in a suite's column fails ``cwsage check``, not the first run: the money kinds'
    views and a list endpoint's ``fields`` (a nested field by its flattened name) are known."""
    suite = project / "expectations" / "invoices.json"
    suite.write_text(suite.read_text().replace('"column": "tax_code"', '"column": "tax_cod"', 1))
    companies = project / "expectations" / "customers.json"
    companies.write_text(companies.read_text().replace('"column": "accountNumber"',
                                                       '"column": "acountNumber"', 1))
    text = BASE + ("  customers:\n    extract: {endpoint: /company/companies, key_prefix: "
                   "CW-CO-, fields: 'id,accountNumber,name,currency'}\n")
    with pytest.raises(ConfigError) as caught:
        load_spec(write(project, text), env=ENV)
    problems = caught.value.problems
    assert len(problems) == 2, problems
    assert problems[0].startswith("pipelines.yaml: pipelines.invoices: expectations/invoices.json:"
                                  " expectations[") and "column 'tax_cod' is not in the view — "\
        "valid columns: doc_key, document_number" in problems[0]
    assert "column 'acountNumber' is not in the view — valid columns: doc_key, id, " \
        "accountNumber, name, currency" in problems[1]
    companies.write_text(companies.read_text().replace("acountNumber", "currency_name"))
    suite.write_text(suite.read_text().replace("tax_cod", "tax_code"))
    load_spec(write(project, text), env=ENV)          # a nested field's flattened column


def test_cwsage_check_imports_no_prefect(project):
    """``cwsage check`` is the spec and its files only: no orchestrator to start."""
    code = ("import sys; from flows.cli import main; rc = main(['--spec', sys.argv[1], "
            "'check']); print(rc, 'prefect' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(write(project, BASE))], cwd=ROOT,
                         env={**ENV, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "0 False", out.stdout + out.stderr


def test_cli_reports_spec_mistakes_with_exit_2_and_no_traceback(project):
    spec = write(project, BASE.replace(EXTRACT, "extract: {entity: invoices, chunk_sise: 1}"))
    done = subprocess.run([sys.executable, "-m", "flows.cli", "--spec", str(spec), "check"],
                          cwd=ROOT, capture_output=True, text=True, env={**ENV, "PATH": ""})
    assert done.returncode == 2
    assert "did you mean 'chunk_size'?" in done.stderr
    assert "Traceback" not in done.stderr
