"""Benchmarks: the full ``invoices`` pipeline against a bare baseline doing the same work.

    python -m bench --invoices 25000 --lines 4 --chunk-size 500 1000 --repeat 3

Each measured part runs in its own child process (so its peak RSS and CPU are its own) against
a ConnectWise sandbox started fresh for it in another process. The full pipeline
(``bench.full``) is the real Prefect flow ``flows.pipeline.run_pipeline`` with a fresh
``$CWSAGE_HOME``; the baseline (``bench.baseline``) does the same extract → XSLT → SQLite →
batch work with requests, lxml and sqlite3 only. ``bench.cli`` has the options,
``bench.report`` the definitions of what is reported, ``bench.procs`` the processes.
"""
