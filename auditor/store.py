"""The run store: every page result is saved in SQLite the moment it is measured.

An interrupted run (Ctrl-C, a crash, a reboot) loses nothing that was finished, and `--resume` picks up
where it stopped. One file in the output folder; the stdlib's sqlite3, in WAL mode so a reader can look
while the audit writes.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; two runs into one folder are the user's to avoid
    fcntl = None  # type: ignore[assignment]

from auditor.facts import PageResult

STORE_NAME = "run.sqlite"
LOCK_NAME = ".cro-audit.lock"
SCREENSHOT_NAME = re.compile(r"\d{4,}-(desktop|mobile)\.jpg")  # what the crawl names its screenshots


class RunStore:
    def __init__(self, folder: Path, start_urls: list[str], resume: bool) -> None:
        _check_batch_above(folder)  # before anything is made: a run turned away leaves the folder as it was
        self.created_folder = not folder.exists()
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.path = folder, folder / STORE_NAME
        self._made_lock = not (folder / LOCK_NAME).exists()
        self._lock = lock_folder(folder)
        try:
            self._open(resume, start_urls)
        except BaseException:
            self.release()
            raise

    def _open(self, resume: bool, start_urls: list[str]) -> None:
        if not resume:  # a fresh run starts clean: no pages of an earlier run stay behind (its screenshots go
            for suffix in ("", "-wal", "-shm"):  # when this run's report is written: see audit.sweep_screenshots)
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS pages (position INTEGER PRIMARY KEY, url TEXT UNIQUE, result TEXT NOT NULL)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS merged (url TEXT PRIMARY KEY, reason TEXT NOT NULL)")
        stored = self._db.execute("SELECT value FROM meta WHERE key = 'start_urls'").fetchone()
        if stored and json.loads(stored[0]) != start_urls:
            raise ValueError(
                f"{self.path} belongs to a run of other start URLs ({', '.join(json.loads(stored[0]))}); "
                "use another --out folder or drop --resume"
            )
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('start_urls', ?)", (json.dumps(start_urls),))

    def save(self, position: int, page: PageResult) -> None:
        data = page.to_dict()
        data["links"], data["canonical"], data["fingerprint"] = page.links, page.canonical, page.fingerprint
        data["server_error"] = page.server_error
        self._db.execute(
            "INSERT OR REPLACE INTO pages VALUES (?, ?, ?)", (position, page.url, json.dumps(data, ensure_ascii=False))
        )

    def merge(self, position: int, url: str, reason: str) -> None:
        """The page at `position` was a copy of another (a redirect, a canonical, the same text): it leaves
        the pages, and a resumed run does not visit its URL again."""
        self._db.execute("DELETE FROM pages WHERE position = ?", (position,))
        self._db.execute("INSERT OR REPLACE INTO merged VALUES (?, ?)", (url, reason))

    def merged(self) -> list[tuple[str, str]]:
        return list(self._db.execute("SELECT url, reason FROM merged ORDER BY url"))

    def load(self) -> dict[str, tuple[int, PageResult]]:
        """Finished pages by URL, with the position they had in the crawl."""
        rows = self._db.execute("SELECT position, result FROM pages ORDER BY position")
        out = {}
        for position, text in rows:
            page = PageResult.from_dict(json.loads(text))
            out[page.url] = (position, page)
        return out

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def close(self) -> None:
        self._db.close()

    def release(self) -> None:
        """Let the next run into the folder: once the report is written, not when the pages are."""
        unlock_folder(self._lock)
        self._lock = None

    def discard_if_empty(self) -> None:
        """After a run that failed before finishing a page (no browser, an unreachable endpoint): leave no
        store behind, nor the output folder if this run made it, so a retry starts where the user began."""
        if self._db.execute("SELECT COUNT(*) FROM pages").fetchone()[0]:
            return
        self.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        if self._made_lock:  # a run that never started leaves the folder as it found it
            (self.folder / LOCK_NAME).unlink(missing_ok=True)
        self.release()
        if self.created_folder:
            for empty in (self.folder / "screenshots", self.folder):
                try:
                    empty.rmdir()
                except OSError:  # not empty, or not there: leave it
                    pass


def lock_folder(folder: Path, holder: str = "run") -> int | None:
    """Hold the folder for this run: a second run into it (a nightly job overlapping the last) would share
    its run store and screenshots and write one report over the other. The lock goes with the process, so
    a killed run never leaves the folder locked."""
    if fcntl is None:
        return None
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = os.read(fd, 32).decode("ascii", "replace").strip()
        os.close(fd)
        by = f" (process {pid})" if pid.isdigit() else ""
        raise FolderBusy(f"another cro-audit {holder} is writing to {folder}{by}: wait for it to finish, or use another --out")
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def _check_batch_above(folder: Path) -> None:
    """A batch locks its whole folder, and each site folder only while it audits that site: a run into
    `batch/<site>` must ask the folder above, or it would share a site folder with the batch's turn at it."""
    above = folder.resolve().parent / LOCK_NAME
    if fcntl is None or not above.is_file():
        return
    try:
        fd = os.open(above, os.O_RDONLY)
    except OSError:
        return  # not ours to read: not a batch of this user's
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = os.read(fd, 32).decode("ascii", "replace").strip()
        if pid != str(os.getpid()):  # this process's own batch is the one auditing into it
            by = f" (process {pid})" if pid.isdigit() else ""
            raise FolderBusy(f"a cro-audit batch is writing to {above.parent}{by}, which holds {folder}: wait for "
                             "it to finish, or use another --out") from None
    finally:
        os.close(fd)


def unlock_folder(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)


class FolderBusy(ValueError):
    pass
