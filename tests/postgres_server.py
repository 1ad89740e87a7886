"""A throwaway PostgreSQL server on loopback, for tests and benchmarks: real, started here, gone after.

Why our own and not pytest-postgresql or a PyPI wheel of binaries: the machine's
PostgreSQL (Debian's ``postgresql`` package, which ``.ci/run`` installs when it is
missing) is all this needs, and two details matter that those do not handle:
CI runs as root, which ``initdb`` and ``postgres`` refuse, so the server runs as
the unprivileged ``postgres`` system user; and every run gets its own data
folder, socket folder and free port, so parallel runs and a developer's own
server never meet.

Where the binaries come from, first found wins: ``PMBOT_TEST_POSTGRES_BIN`` (a
folder holding initdb and postgres), ``pg_config --bindir``, the newest
``/usr/lib/postgresql/*/bin``, then ``PATH``. ``PMBOT_TEST_DATABASE_URL`` instead
names a server someone else runs (each test still gets its own database on it).
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

START_TIMEOUT = 60.0
SUPERUSER = "pmbot"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be had here; the message says how to get one."""


def find_binaries() -> Path:
    """The folder holding ``initdb`` and ``postgres``; PostgresUnavailable if there is none."""
    candidates: list[Path] = []
    if os.environ.get("PMBOT_TEST_POSTGRES_BIN"):
        candidates.append(Path(os.environ["PMBOT_TEST_POSTGRES_BIN"]))
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version(p.parent.name), reverse=True)
    candidates.extend(versions)
    if shutil.which("initdb"):
        candidates.append(Path(shutil.which("initdb") or "").resolve().parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    raise PostgresUnavailable(
        "no PostgreSQL server binaries (initdb, postgres) found: install Debian's `postgresql` package "
        "(`apt-get install postgresql`, as .ci/run does), set PMBOT_TEST_POSTGRES_BIN to their folder, "
        "or set PMBOT_TEST_DATABASE_URL to a server you run"
    )


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as() -> dict[str, Any]:
    """Popen arguments that drop root to the ``postgres`` user, whom the server accepts as its owner."""
    if os.geteuid() != 0:
        return {}
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable(
            "running as root, which PostgreSQL refuses, and there is no `postgres` user to run it as "
            "(Debian's postgresql package creates one)"
        ) from None
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


@dataclass
class ThrowawayPostgres:
    """One server: ``url`` reaches its ``postgres`` database as superuser; :meth:`new_database` gives a fresh one."""

    url: str
    process: subprocess.Popen[bytes] | None = None
    folder: Path | None = None
    _names = itertools.count(1)

    @classmethod
    def start(cls) -> ThrowawayPostgres:
        """Starts a server (or adopts PMBOT_TEST_DATABASE_URL); PostgresUnavailable says why not."""
        if os.environ.get("PMBOT_TEST_DATABASE_URL"):
            return cls(os.environ["PMBOT_TEST_DATABASE_URL"])
        binaries = find_binaries()
        run_as = _run_as()
        folder = Path(tempfile.mkdtemp(prefix="pmbot-postgres-"))
        if run_as:
            os.chown(folder, run_as["user"], run_as["group"])
        data = folder / "data"
        init = subprocess.run(
            [str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync"],
            capture_output=True, text=True, **run_as,
        )
        if init.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            raise PostgresUnavailable(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
        for attempt in range(5):  # another process may take the free port before the server binds it
            port = _free_port()
            log = (folder / "server.log").open("ab")
            process = subprocess.Popen(
                [
                    str(binaries / "postgres"), "-D", str(data), "-c", "listen_addresses=127.0.0.1",
                    "-c", f"port={port}", "-c", f"unix_socket_directories={folder}",
                    # A throwaway server: durability is not what is under test, speed is welcome.
                    "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                    "-c", "max_connections=200",
                ],
                stdout=log, stderr=subprocess.STDOUT, **run_as,
            )
            log.close()
            server = cls(f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres", process, folder)
            if server._wait_ready(binaries, port):
                return server
            server.stop(remove=False)
        text = (folder / "server.log").read_text(errors="replace")[-2000:]
        shutil.rmtree(folder, ignore_errors=True)
        raise PostgresUnavailable(f"the PostgreSQL server did not start; its log ends:\n{text}")

    def _wait_ready(self, binaries: Path, port: int) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                return False
            ready = subprocess.run(
                [str(binaries / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER, "-d", "postgres"],
                capture_output=True,
            )
            if ready.returncode == 0:
                return True
            time.sleep(0.1)
        return False

    def database_url(self, name: str) -> str:
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path=f"/{name}"))

    def new_database(self, prefix: str = "pmbot_test") -> str:
        """Creates an empty database and returns its URL: every test starts from nothing."""
        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        self.sql(f'CREATE DATABASE "{name}"')
        return self.database_url(name)

    def sql(self, statement: str, url: str | None = None) -> str:
        """Runs SQL through psql (independent of the code under test) and returns its unaligned output."""
        out = subprocess.run(
            [shutil.which("psql") or "psql", url or self.url, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", statement],
            capture_output=True, text=True, timeout=60,
        )
        if out.returncode != 0:
            raise RuntimeError(f"psql failed on {statement!r}: {out.stderr.strip()}")
        return out.stdout.strip()

    def stop(self, *, remove: bool = True) -> None:
        """Fast shutdown (disconnects clients), then removes the data folder."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(2)  # SIGINT: PostgreSQL's "fast" shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if remove and self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
