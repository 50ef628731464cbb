"""``cwsage check``: the spec loads, every stylesheet compiles, every suite parses and names
only columns of its view; then one line per pipeline. With ``--connect``, one try of everything
a run reaches (``flows.check_connect``). Neither Prefect nor a run's modules are imported, so
the check is quick and says only what is wrong with the spec."""

from __future__ import annotations

import sys

from flows.spec import load_spec
from tasks.held import plural

EXIT_OK = 0


def check_command(spec_path: str, connect: bool = False, out=None) -> int:
    out = out or sys.stdout
    spec = load_spec(spec_path)
    for name, p in spec.pipelines.items():
        off = "" if p.enabled else " (enabled: false — runs only when named)"
        print(f"{name}: {source_of(p.extract)}, stylesheet {p.stylesheet_path.name}, suite "
              f"{p.suite_path.name}, {plural(len(p.mappings.tax_codes), 'tax mapping')}, "
              f"{plural(len(p.mappings.nominal_codes), 'nominal mapping')}{off}", file=out)
    print(f"{spec.path.name}: OK", file=out)
    if not connect:
        return EXIT_OK
    from flows.check_connect import check_connect, print_checks
    return print_checks(check_connect(spec), out)


def source_of(extract) -> str:
    """Where a pipeline's documents come from, in a few words."""
    if extract.entity:
        return f"{extract.entity} (Accounting Interface)"
    if extract.kind is not None:
        return f"{extract.kind.source.endpoint} (a kind declared in YAML)"
    return extract.endpoint
