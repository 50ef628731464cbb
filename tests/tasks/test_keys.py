"""Document keys a person can type, and keys of earlier versions renamed where they are kept."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest

from tasks.journal import Journal
from tasks.keys import document_key, legacy_key

OLD = "CW-PO-PO #4707, Packing Slip: 4707"
NEW = "CW-PO-4707-4707"


@pytest.mark.parametrize("label, key", [
    ("PO #4707, Packing Slip: 4707", "CW-PO-4707-4707"),
    ("PO #12, Packing Slip: 12-B", "CW-PO-12-12-B"),
    (4707, "CW-PO-4707"),
    ("ABC-1", "CW-PO-ABC-1"),
])
def test_keys_are_short_and_shell_safe(label, key):
    assert document_key("CW-PO-", label) == key


def test_labels_of_no_known_shape_keep_their_words_and_never_share_a_key():
    one, two = document_key("CW-PO-", "PO 4707 (rev)"), document_key("CW-PO-", "PO-4707 rev")
    assert re.fullmatch(r"[A-Za-z0-9-]+", one) and re.fullmatch(r"[A-Za-z0-9-]+", two)
    assert one.startswith("CW-PO-PO-4707-REV-") and one != two


def test_legacy_keys_map_to_the_new_form_and_others_are_left_alone():
    assert legacy_key(OLD) == NEW
    assert legacy_key("CW-INV-5001") is None and legacy_key(NEW) is None


def test_a_journal_written_with_old_keys_is_renamed_once_on_open(tmp_path):
    path = tmp_path / "journal.db"
    Journal(path).close()
    db = sqlite3.connect(path)
    db.execute("DELETE FROM meta")                    # as an earlier version left it
    db.execute("INSERT INTO documents (pipeline, key, cw_id, state, first_seen, updated_at) "
               "VALUES ('procurement', ?, 'PO #4707, Packing Slip: 4707', 'posted', 'x', 'x')",
               (OLD,))
    db.execute("INSERT INTO events (pipeline, key, to_state) VALUES ('procurement', ?, 'posted')",
               (OLD,))
    db.execute("INSERT INTO batches VALUES ('B1', 'procurement', 'created', 1, '[1]', ?, 'r', "
               "'x', 'x')", (json.dumps([OLD]),))
    db.commit()
    db.close()
    journal = Journal(path)
    assert journal.keys_in("procurement", "posted") == [NEW]
    assert [e.key for e in journal.history("procurement", NEW)] == [NEW]
    assert journal.batch("B1").keys == (NEW,)
    journal.close()
