"""``cwsage serve`` watches the spec: a pipeline added or removed, or a schedule changed, is
announced at once with the way to serve it (restart)."""

from __future__ import annotations

import io
import shutil
import threading
import time
from pathlib import Path

from flows.deploy import served_shape, spec_changes, watch_spec
from flows.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
EXTRA = """
  invoices_ie:
    description: the Irish company's invoices
    extract: {entity: invoices}
    transform: {stylesheet: xslt/invoices.xsl}
    validate: {suite: expectations/invoices.json}
    schedule: {cron: "0 7 * * *", timezone: Europe/Dublin}
"""


def project(tmp_path: Path) -> Path:
    for folder in ("xslt", "expectations"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    path = tmp_path / "pipelines.yaml"
    path.write_text((ROOT / "pipelines.yaml").read_text())
    return path


def wait_for(out: io.StringIO, text: str, seconds: float = 10) -> str:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if text in out.getvalue():
            return out.getvalue()
        time.sleep(0.05)
    raise AssertionError(f"not announced: {text!r} in {out.getvalue()!r}")


def test_changes_between_two_specs(tmp_path, cw_env):
    path = project(tmp_path)
    before = served_shape(load_spec(path, need_connection=False, check_files=False))
    path.write_text(path.read_text().replace('cron: "*/30 7-19 * * 1-5"', 'cron: "0 8 * * *"')
                    + EXTRA)
    after = served_shape(load_spec(path, need_connection=False, check_files=False))
    assert spec_changes(before, after) == [
        "new pipeline invoices_ie", "schedule, tags or description of invoices changed"]
    assert spec_changes(after, before) == [
        "pipeline invoices_ie removed", "schedule, tags or description of invoices changed"]
    assert spec_changes(before, before) == []


def test_a_pipeline_added_while_serving_is_announced_once(tmp_path, cw_env):
    path = project(tmp_path)
    spec = load_spec(path, need_connection=False, check_files=False)
    out, stop = io.StringIO(), threading.Event()
    thread = watch_spec(spec, stop, interval=0.05, out=out)
    try:
        path.write_text(path.read_text() + EXTRA)
        text = wait_for(out, "new pipeline invoices_ie")
        assert "restart `cwsage serve`" in text
        time.sleep(0.3)
        assert out.getvalue().count("new pipeline invoices_ie") == 1
        path.write_text(path.read_text().replace("chunk_size: 1000", "chunk_size: 0"))
        assert "no longer loads" in wait_for(out, "chunk_size")
    finally:
        stop.set()
        thread.join(timeout=5)
