"""SQLite writers of one process queue on a lock (store.db.WriterQueue) instead of napping in
SQLite's busy handler; reads, writes outside a transaction and nested transactions never wait."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from troupe.store import repo
from troupe.store.db import Database, WriterQueue, upgrade_database


def test_a_second_writer_waits_until_the_first_has_finished() -> None:
    queue = WriterQueue()
    events: list[str] = []
    first_wrote = threading.Event()

    def second() -> None:
        first_wrote.wait()
        with queue.scope():
            queue.before_statement("SELECT 1")  # reads pass
            events.append("second read")
            queue.before_statement("  insert into tasks values (1)")
            events.append("second wrote")

    thread = threading.Thread(target=second)
    thread.start()
    with queue.scope():
        queue.before_statement("UPDATE accounts SET owner = owner WHERE 0")
        first_wrote.set()
        # The second thread reads while this one holds the lock; its write cannot start.
        while "second read" not in events:
            threading.Event().wait(0.01)
        assert "second wrote" not in events
        events.append("first done")
    thread.join(10)
    assert events == ["second read", "first done", "second wrote"]


def test_nested_and_unscoped_statements_never_wait() -> None:
    queue = WriterQueue()
    with queue.scope():
        queue.before_statement("DELETE FROM tasks")
        with queue.scope():  # a transaction opened inside one that writes
            queue.before_statement("INSERT INTO tasks VALUES (1)")
        queue.before_statement("UPDATE tasks SET status = 'x'")
        # Another thread writing outside any transaction scope does not take the lock.
        outside = threading.Thread(target=queue.before_statement, args=("INSERT INTO x",))
        outside.start()
        outside.join(5)
        assert not outside.is_alive()
    # Released: a new scope in another thread writes at once.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: _write_in_scope(queue)).result(timeout=5)


def _write_in_scope(queue: WriterQueue) -> None:
    with queue.scope():
        queue.before_statement("INSERT INTO tasks VALUES (2)")


def test_a_burst_of_threads_all_commit_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'troupe.db'}"
    upgrade_database(url)
    db = Database(url)

    def submit(index: int) -> str:
        with db.transaction() as session:
            task = repo.create_task(
                session,
                task_id=f"video_{index:024x}",
                owner="burst",
                kind="video",
                model="sora-2",
                request={"prompt": str(index)},
            )
        return task.id

    with ThreadPoolExecutor(16) as pool:
        made = list(pool.map(submit, range(64)))
    with db.transaction() as session:
        assert all(repo.get_task(session, "burst", task_id) is not None for task_id in made)
    db.dispose()
