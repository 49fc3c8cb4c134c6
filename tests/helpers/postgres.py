"""A throw-away PostgreSQL server for the tests: a new cluster in a temporary folder.

`start_cluster()` runs Debian's `initdb` and `pg_ctl` (the binaries of the newest
/usr/lib/postgresql/N/bin, or of $HEALTHDESK_PG_BIN) on a free local port, with its unix
socket in the same temporary folder, and trusts local connections (nothing else can reach
it). PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres`
user that Debian's package creates (or $HEALTHDESK_PG_USER), through `runuser`.

`Cluster.create_database()` gives each test a fresh database: a copy of a template that
already holds the migrated schema (CREATE DATABASE ... TEMPLATE is a file copy, far faster
than migrating every time). `Cluster.stop()` stops the server and removes the folder.

The same from a shell (packaging/test-postgres.sh; .ci/run does this):

    python -m tests.helpers.postgres start     # prints HEALTHDESK_TEST_POSTGRES=<url>
    python -m tests.helpers.postgres start --durable   # with fsync (for benchmarks)
    python -m tests.helpers.postgres stop URL  # stops it and removes its folder

With HEALTHDESK_TEST_POSTGRES set to such a URL (of a superuser, through a socket folder
made by `start`), the tests use that server instead of starting their own.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

SUPERUSER = "postgres"
TEMPLATE_DB = "healthdesk_template"


class PostgresMissing(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: $HEALTHDESK_PG_BIN, Debian's newest, or the PATH."""
    given = os.environ.get("HEALTHDESK_PG_BIN")
    if given:
        return Path(given) if (Path(given) / "initdb").is_file() else None
    versions = sorted(
        (path for path in Path("/usr/lib/postgresql").glob("*/bin") if (path / "initdb").is_file()),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1]
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    bin_dir: Path
    folder: Path
    port: int
    #: The OS user that runs the server ("" when it is ours).
    run_as: str
    _numbers: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def socket_dir(self) -> Path:
        return self.folder / "socket"

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    def url(self, database: str, user: str = SUPERUSER) -> str:
        """The URL of `database` as Health Desk's --db takes it (through the socket)."""
        return f"postgresql://{user}@/{database}?host={self.socket_dir}&port={self.port}"

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user=SUPERUSER,
            dbname=database,
            autocommit=True,
        )

    def _command(self, *argv: str) -> list[str]:
        return ["runuser", "-u", self.run_as, "--", *argv] if self.run_as else list(argv)

    def run(self, *argv: str) -> None:
        done = subprocess.run(
            self._command(*argv), capture_output=True, text=True, check=False, cwd=self.folder
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()}")

    def create_database(self, template: str = TEMPLATE_DB) -> str:
        """A new database copied from `template`; its name."""
        name = f"hd_{os.getpid()}_{next(self._numbers)}"
        with self.connect() as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def drop_database(self, name: str) -> None:
        with self.connect() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def save(self) -> None:
        """Write what `load` needs to find this cluster again (to stop it)."""
        facts = {"bin_dir": str(self.bin_dir), "port": self.port, "run_as": self.run_as}
        (self.folder / "cluster.json").write_text(json.dumps(facts))
        os.chmod(self.folder / "cluster.json", 0o644)

    @classmethod
    def load(cls, url: str) -> Cluster:
        """The cluster `start` made, from the URL it printed."""
        socket_dir = Path(url.split("host=", 1)[1].split("&", 1)[0])
        folder = socket_dir.parent
        facts = json.loads((folder / "cluster.json").read_text())
        return cls(Path(facts["bin_dir"]), folder, int(facts["port"]), str(facts["run_as"]))

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.run(
                str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop"
            )
        shutil.rmtree(self.folder, ignore_errors=True)


def start_cluster(*, durable: bool = False) -> Cluster:
    """A new running cluster (see the module's docstring); PostgresMissing without binaries.

    Not `durable` (the tests): no fsync, nothing a crash could need is written twice. A
    `durable` one keeps PostgreSQL's defaults (what a benchmark must measure)."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise PostgresMissing(
            "PostgreSQL server binaries not found (apt-get install postgresql, or set "
            "HEALTHDESK_PG_BIN to the folder of initdb and pg_ctl)"
        )
    run_as = ""
    folder = Path(tempfile.mkdtemp(prefix="healthdesk-pg-"))
    if os.getuid() == 0:
        run_as = os.environ.get("HEALTHDESK_PG_USER", "postgres")
        owner = pwd.getpwnam(run_as)
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    cluster = Cluster(bin_dir=bin_dir, folder=folder, port=_free_port(), run_as=run_as)
    try:
        cluster.run("mkdir", "-m", "0700", str(cluster.socket_dir))
        cluster.run(
            str(bin_dir / "initdb"),
            "-D",
            str(cluster.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        options = (
            f"-p {cluster.port} -k {cluster.socket_dir} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200"
        )
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        cluster.run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(cluster.data_dir),
            "-l",
            str(cluster.folder / "server.log"),
            "-o",
            options,
            "-w",
            "start",
        )
        cluster.save()
    except BaseException:
        cluster.stop()
        raise
    return cluster


def main(argv: list[str]) -> int:
    if argv[:1] == ["start"] and argv[1:] in ([], ["--durable"]):
        cluster = start_cluster(durable=argv[1:] == ["--durable"])
        print(f"HEALTHDESK_TEST_POSTGRES={shlex.quote(cluster.url('postgres'))}")
        return 0
    if argv[:1] == ["stop"] and len(argv) == 2:
        Cluster.load(argv[1]).stop()
        return 0
    print("usage: python -m tests.helpers.postgres start [--durable] | stop URL", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
