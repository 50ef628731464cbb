"""Confirm: the journal's handed-off documents, moved on by what the Sage side says."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tasks.confirm import age_text, confirm_file, settle_handoffs, waiting_documents
from tasks.journal import DocRecord, IllegalTransition, Journal
from tasks.sage50.protocol import (DIFFERS, FAILED, IMPORTED, Confirmation, ConfirmationRead,
                                   HandoffWriter)


def record(key: str, content: str = "abc") -> DocRecord:
    return DocRecord(key=key, cw_id=key[-1], doc_number=f"N{key}", doc_type="SI",
                     account_ref="ACME01", currency="GBP", net=Decimal("100.00"),
                     tax=Decimal("20.00"), gross=Decimal("120.00"), gl_ids=(1,),
                     content_hash=content)


class SageSide:
    """A handoff writer whose Sage side says what the test tells it."""

    name = "fake_file_writer"
    target = None

    def __init__(self):
        self.said: dict[str, Confirmation] = {}
        self.files = {"set-1-transactions.csv": ["A", "B"]}
        self.recorded = []

    def confirmations(self, keys):
        return ConfirmationRead({k: c for k, c in self.said.items() if k in set(keys)},
                                strays=["Invoice Id X in s.xml"])

    def handoff_of(self, given):
        return self.files[given]

    def file_name(self, given):
        return given

    def record_confirmation(self, keys, evidence, failed=None):
        self.recorded.append((tuple(keys), evidence, failed))
        for k in keys:
            self.said[k] = Confirmation(k, FAILED if failed else IMPORTED, evidence, failed,
                                        "fix it" if failed else None)

    def load(self, *a, **k): ...
    def facts(self): ...
    def present(self, keys): ...
    def totals(self, keys): ...
    def close(self): ...


@pytest.fixture
def journal(tmp_path):
    j = Journal(tmp_path / "journal.db")
    j.record_extracted("inv", "r1", [record("A"), record("B"), record("C")])
    j.mark("inv", "r1", ["A", "B", "C"], "loading")
    j.hand_off("inv", "r1", {"A": "outbox f1.xml", "B": "outbox f1.xml", "C": "outbox f2.xml"})
    yield j
    j.close()


def test_the_fake_keeps_the_protocol():
    assert isinstance(SageSide(), HandoffWriter)


def test_handed_off_is_never_batched_and_survives_a_new_extraction(journal):
    with pytest.raises(IllegalTransition):
        journal.mark("inv", "r2", ["A"], "posting")
    journal.record_extracted("inv", "r2", [record("A", "changed"), record("D")])
    assert journal.keys_in("inv", "handed_off") == ["A", "B", "C"]
    assert journal.keys_in("inv", "extracted") == ["D"]
    assert [w.key for w in journal.waiting("inv")] == ["A", "B", "C"]


def test_settle_moves_each_document_by_what_sage_says(journal):
    sage = SageSide()
    sage.said = {"A": Confirmation("A", IMPORTED, "Zynk success file s.xml"),
                 "B": Confirmation("B", FAILED, "Zynk fail file f.xml", "period locked", "fix"),
                 "C": Confirmation("C", DIFFERS, "Zynk success file s.xml", "other money", "x"),
                 "Z": Confirmation("Z", IMPORTED, "not ours")}
    done = settle_handoffs(journal, "inv", "r2", sage)
    assert (done.imported, done.failed, done.differs) == (["A"], ["B"], ["C"])
    assert done.strays == ["Invoice Id X in s.xml"]
    states = {d.key: d.state for d in journal.documents("inv")}
    assert states == {"A": "loaded", "B": "quarantined", "C": "unreconciled"}
    [a] = journal.documents("inv", ["A"])
    assert a.sage_ref == "in Sage: Zynk success file s.xml"
    [b] = journal.documents("inv", ["B"])
    assert [(r.stage, r.reason) for r in b.reasons] == [("sage import", "period locked")]
    assert settle_handoffs(journal, "inv", "r3", sage).imported == []     # nothing left to move


def test_refused_by_sage_waits_for_a_person_then_is_written_again(journal):
    sage = SageSide()
    sage.said = {"B": Confirmation("B", FAILED, "Zynk fail file f.xml", "period locked", "x")}
    settle_handoffs(journal, "inv", "r2", sage)
    journal.record_extracted("inv", "r3", [record("B")])          # unchanged: still held
    assert journal.keys_in("inv", "quarantined") == ["B"]
    assert journal.release("inv", "r4", ["A", "B"], "released by ann") == ["B"]
    assert journal.keys_in("inv", "extracted") == ["B"]
    assert journal.documents("inv", ["B"])[0].reasons == ()
    assert journal.history("inv", "B")[-1].detail == "released by ann"


def test_refused_then_changed_in_connectwise_flows_by_itself(journal):
    sage = SageSide()
    sage.said = {"B": Confirmation("B", FAILED, "Zynk fail file f.xml", "bad nominal", "x")}
    settle_handoffs(journal, "inv", "r2", sage)
    journal.record_extracted("inv", "r3", [record("B", "corrected")])
    assert journal.keys_in("inv", "extracted") == ["B"]


def test_a_persons_word_is_recorded_with_who_and_when(journal):
    sage = SageSide()
    moved = confirm_file(journal, "inv", "c1", sage, "set-1-transactions.csv", by="ann")
    assert moved == ["A", "B"]
    [(keys, evidence, failed)] = sage.recorded
    assert keys == ("A", "B") and failed is None
    assert evidence.startswith("confirmed by ann at ") and \
        evidence.endswith(": set-1-transactions.csv")
    assert journal.keys_in("inv", "loaded") == ["A", "B"]
    assert journal.keys_in("inv", "handed_off") == ["C"]


def test_a_persons_word_that_the_import_failed(journal):
    sage = SageSide()
    moved = confirm_file(journal, "inv", "c1", sage, "set-1-transactions.csv",
                         failed="Sage said: date out of range", by="ann")
    assert moved == ["A", "B"] and journal.keys_in("inv", "quarantined") == ["A", "B"]
    [reason] = journal.documents("inv", ["A"])[0].reasons
    assert reason.reason == "Sage said: date out of range"


def test_waiting_documents_age_and_overdue(journal):
    later = datetime.now(timezone.utc) + timedelta(hours=30)
    waiting = waiting_documents(journal, "inv", timedelta(hours=24), now=later)
    assert [w.key for w in waiting] == ["A", "B", "C"]
    assert all(w.overdue for w in waiting) and waiting[0].file == "outbox f1.xml"
    assert waiting[0].number == "NA" and waiting[0].age_text == "30 h"
    soon = waiting_documents(journal, "inv", timedelta(hours=24))
    assert not any(w.overdue for w in soon)


@pytest.mark.parametrize("minutes, text", [(0, "0 min"), (119, "119 min"), (120, "2 h"),
                                           (47 * 60, "47 h"), (72 * 60, "3 days")])
def test_age_text(minutes, text):
    assert age_text(timedelta(minutes=minutes)) == text
