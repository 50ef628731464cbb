"""Benchmarks: the full ``invoices`` pipeline against a bare baseline doing the same work.

    python -m bench --invoices 25000 --lines 4 --chunk-size 500

Each measured part runs in its own child process (so peak RSS and CPU are its own) against a
ConnectWise sandbox that runs in another process, started fresh for every part. The full
pipeline is the real Prefect flow (``flows.pipeline.run_pipeline``) with a fresh
``$CWSAGE_HOME``; the baseline does the same extract → XSLT → SQLite → batch work with requests,
lxml and sqlite3 only. See ``bench.cli`` for the options and ``bench.report`` for what is
reported.
"""
