from config.huey import SqliteHuey


def test_sqlite_queue_creates_its_directory_on_first_use_not_before(tmp_path):
    path = tmp_path / "var" / "queue" / "huey.sqlite3"

    queue = SqliteHuey("seatlock-test", filename=str(path))
    assert not (tmp_path / "var").exists()

    queue.storage.enqueue(b"job")
    assert path.is_file()
    assert queue.pending_count() == 1
    assert queue.storage.dequeue() == b"job"
    assert queue.pending_count() == 0
