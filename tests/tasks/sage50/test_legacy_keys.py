"""Keys written before document keys were shell-safe are renamed in the replica and in the
outbox manifest when they are opened."""

from __future__ import annotations

import sqlite3

from tasks.sage50.outbox_manifest import Manifest
from tests.writer_settings import make_writer

OLD = "CW-PO-PO #4707, Packing Slip: 4707"
NEW = "CW-PO-4707-4707"


def test_a_replica_and_an_outbox_manifest_with_old_keys_are_renamed(tmp_path, sx):
    xml = sx.company(suppliers=[sx.supplier("ACME01")], transactions=[
        sx.split(1, key=OLD, ref="ACME01", nominal="5000")])
    with make_writer("sage50_replica", {}, tmp_path) as writer:
        writer.load(xml, source="t")
        writer._live().execute("DELETE FROM SCHEMA_VERSION WHERE VERSION = 3")
    with make_writer("sage50_replica", {}, tmp_path) as writer:      # an old replica: migrated on open
        assert writer.present([NEW, OLD]) == {NEW}
    manifest_path = tmp_path / "manifest.sqlite"
    Manifest(manifest_path)
    db = sqlite3.connect(manifest_path)
    db.execute("INSERT INTO DOCUMENTS (KEY, FILE) VALUES (?, 'f.xml')", (OLD,))
    db.execute("INSERT INTO SPLITS VALUES (1, ?)", (OLD,))
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    assert Manifest(manifest_path).present([NEW, OLD]) == {NEW}
