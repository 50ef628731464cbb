import pytest

from tasks.errors import ConfigError
from tasks.sage50 import WRITERS, Writer, get_writer
from tasks.sage50.import_csv_writer import CsvImportWriter
from tasks.sage50.outbox import OutboxWriter
from tasks.sage50.protocol import HandoffWriter
from tasks.sage50.replica import ReplicaWriter
from tests.writer_settings import writer_settings


def test_registry_holds_the_three_writers():
    assert WRITERS == {"sage50_replica": ReplicaWriter, "zynk_xml_outbox": OutboxWriter,
                       "sage50_import_csv": CsvImportWriter}


def test_get_writer_builds_writers_that_keep_the_protocol(tmp_path):
    for name, settings in (("sage50_replica", {}), ("zynk_xml_outbox", {"folder": "out"}),
                           ("sage50_import_csv", {"folder": "csv"})):
        writer = get_writer(name, writer_settings(name, settings, tmp_path), tmp_path)
        try:
            assert isinstance(writer, Writer)
            assert writer.name == name
            assert isinstance(writer, HandoffWriter) == (name != "sage50_replica")
        finally:
            writer.close()
    assert (tmp_path / "sage50.db").exists() and (tmp_path / "out").is_dir()
    assert (tmp_path / "csv").is_dir()


def test_unknown_writer_lists_the_known_names(tmp_path):
    with pytest.raises(ConfigError) as err:
        get_writer("sage50", None, tmp_path)
    assert str(err.value) == ("unknown Sage writer 'sage50' (did you mean 'sage50_replica'?) — "
                              "valid values: sage50_replica, zynk_xml_outbox, "
                              "sage50_import_csv")
