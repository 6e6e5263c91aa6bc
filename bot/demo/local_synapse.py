"""A throwaway Synapse homeserver on loopback, in a folder of ours: for the demo and the tests.

It is configured for a single machine: SQLite, no federation, registration by shared secret only,
rate limits raised (the tests and the demo send quickly), and no sync response cache so a test sees
each answer as soon as it exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import importlib.util
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import yaml

log = logging.getLogger(__name__)

SERVER_NAME = "localhost"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SynapseNotInstalled(RuntimeError):
    pass


class LocalSynapse:
    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder.resolve()
        self._port = port
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def config_path(self) -> Path:
        return self.folder / "homeserver.yaml"

    @property
    def port(self) -> int:
        if self._port is None:
            self._port = int(yaml.safe_load(self.config_path.read_text())["listeners"][0]["port"])
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def shared_secret(self) -> str:
        return yaml.safe_load(self.config_path.read_text())["registration_shared_secret"]

    def prepare(self) -> None:
        """Write the configuration and keys once; later calls reuse what exists."""
        if self.config_path.exists():
            return
        if importlib.util.find_spec("synapse") is None:
            raise SynapseNotInstalled("matrix-synapse is not installed; install the extra: pip install '.[synapse]'")
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._port is None:
            self._port = free_port()
        self.config_path.write_text(yaml.safe_dump(self._homeserver_config()))
        (self.folder / "log.yaml").write_text(yaml.safe_dump(self._log_config()))
        subprocess.run(
            [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path), "--generate-keys"],
            check=True, cwd=self.folder, stdout=subprocess.DEVNULL,
        )

    def _homeserver_config(self) -> dict:
        unlimited = {"per_second": 10000, "burst_count": 100000}
        return {
            "server_name": SERVER_NAME,
            "public_baseurl": f"http://127.0.0.1:{self._port}/",
            "pid_file": str(self.folder / "homeserver.pid"),
            "listeners": [{
                "port": self._port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
                "x_forwarded": False, "resources": [{"names": ["client"], "compress": False}],
            }],
            "database": {"name": "sqlite3", "args": {"database": str(self.folder / "homeserver.db")}},
            "log_config": str(self.folder / "log.yaml"),
            "media_store_path": str(self.folder / "media_store"),
            "signing_key_path": str(self.folder / "signing.key"),
            "registration_shared_secret": secrets.token_hex(32),
            "macaroon_secret_key": secrets.token_hex(32),
            "form_secret": secrets.token_hex(32),
            "report_stats": False,
            "enable_registration": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "presence": {"enabled": False},
            "caches": {"sync_response_cache_duration": 0},
            "rc_message": unlimited,
            "rc_registration": unlimited,
            "rc_login": {"address": unlimited, "account": unlimited, "failed_attempts": unlimited},
            "rc_joins": {"local": unlimited, "remote": unlimited},
            "rc_joins_per_room": unlimited,
            "rc_invites": {"per_room": unlimited, "per_user": unlimited, "per_issuer": unlimited},
            "rc_admin_redaction": unlimited,
            "rc_3pid_validation": unlimited,
            "rc_presence": {"per_user": unlimited},
            "rc_delayed_event_mgmt": unlimited,
            "rc_room_creation": unlimited,
            "rc_third_party_invite": unlimited,
            "rc_media_create": unlimited,
            "rc_profile": unlimited,
            "rc_user_directory": unlimited,
            "enable_metrics": False,
        }

    def _log_config(self) -> dict:
        return {
            "version": 1,
            "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
            "handlers": {"file": {
                "class": "logging.FileHandler", "formatter": "plain",
                "filename": str(self.folder / "homeserver.log"),
            }},
            "root": {"level": "WARNING", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }

    async def start(self, timeout: float = 60) -> None:
        self.prepare()
        if self._process and self._process.poll() is None:
            return
        stderr = open(self.folder / "homeserver.stderr", "ab")  # noqa: SIM115 - owned by the child
        self._process = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path)],
            cwd=self.folder, stdout=stderr, stderr=stderr, start_new_session=True,
        )
        stderr.close()
        await self.wait_until_up(timeout)

    async def wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self._process is not None and self._process.poll() is not None:
                    raise RuntimeError(
                        f"Synapse exited with {self._process.returncode}; see {self.folder}/homeserver.stderr"
                    )
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(f"{self.url}/_matrix/client/versions") as resp:
                        if resp.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise TimeoutError(f"Synapse did not answer on {self.url} within {timeout} s")

    def stop(self, timeout: float = 20) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    async def register(self, localpart: str, password: str, admin: bool = False) -> str:
        """Register a user by shared secret (idempotent: an existing user is fine); returns its ID."""
        user_id = f"@{localpart}:{SERVER_NAME}"
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        async with aiohttp.ClientSession() as session:
            async with session.get(endpoint) as resp:
                nonce = (await resp.json())["nonce"]
            # The MAC covers the four fields joined by NUL bytes (Synapse's admin register API).
            fields = (nonce, localpart, password, "admin" if admin else "notadmin")
            mac = hmac.new(self.shared_secret.encode(), b"\x00".join(f.encode() for f in fields), hashlib.sha1)
            body = {
                "nonce": nonce, "username": localpart, "password": password, "admin": admin,
                "mac": mac.hexdigest(),
            }
            async with session.post(endpoint, json=body) as resp:
                if resp.status == 400 and (await resp.json()).get("errcode") == "M_USER_IN_USE":
                    return user_id
                if resp.status != 200:
                    raise RuntimeError(f"registering {localpart} failed: {resp.status} {await resp.text()}")
        return user_id
