"""What a user has, for the benchmarks: rolecall installed (not editable), a HOME with the
default layout, an environment with nothing rolecall-specific set, and the floors.

The default layout: ``~/.aws/config``, ``~/.aws/credentials``,
``~/.config/rolecall/config.toml`` and ``~/.local/state/rolecall``, found by rolecall
itself; the environment holds HOME, ``AWS_ENDPOINT_URL`` and the session bus address (what
the keyring needs), and nothing else that moves a file (no ``ROLECALL_*``, ``AWS_*`` or
``XDG_*_HOME``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.benchmarks import ROOT

# The least a Python process can do to read one secret: jeepney alone (what secretstorage
# and keyring sit on), one plain session, one SearchItems and one GetSecrets, printed.
JEEPNEY_FLOOR = """
import sys
from jeepney import DBusAddress, new_method_call
from jeepney.io.blocking import open_dbus_connection
service = DBusAddress("/org/freedesktop/secrets", bus_name="org.freedesktop.secrets",
                      interface="org.freedesktop.Secret.Service")
with open_dbus_connection(bus="SESSION") as bus:
    def call(method, signature, *args):
        return bus.send_and_get_reply(new_method_call(service, method, signature, args)).body
    unlocked, _ = call("SearchItems", "a{ss}", {"service": sys.argv[1], "username": sys.argv[2]})
    _, session = call("OpenSession", "sv", "plain", ("s", ""))
    (secrets,) = call("GetSecrets", "aoo", unlocked[:1], session)
    for _session, _params, value, _type in secrets.values():
        print(bytes(value).decode())
"""
SECRETSTORAGE_FLOOR = """
import sys, secretstorage
conn = secretstorage.dbus_init()
collection = secretstorage.get_default_collection(conn)
for item in collection.search_items({"service": sys.argv[1], "username": sys.argv[2]}):
    print(item.get_secret().decode())
    break
"""
KEYRING_FLOOR = "import keyring, sys; print(keyring.get_password(sys.argv[1], sys.argv[2]))"

MOVES_FILES = ("AWS_", "ROLECALL_", "PYTHON_KEYRING", "XDG_CONFIG_HOME", "XDG_STATE_HOME",
               "XDG_DATA_HOME", "XDG_CACHE_HOME", "DBUS_SESSION_BUS_ADDRESS")


def user_env(home: Path, endpoint: str, bus: str) -> dict[str, str]:
    """This process's environment minus anything that moves a file, plus HOME, the
    endpoint and the bus: a user's shell with the defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(MOVES_FILES)}
    env.update(HOME=str(home), AWS_ENDPOINT_URL=endpoint, DBUS_SESSION_BUS_ADDRESS=bus)
    return env


def default_layout(home: Path, config: str, credentials: str, catalog: str) -> dict[str, Path]:
    """Write the AWS files and the catalog where a user has them; returns their paths and
    the state dir rolecall should pick (asserted by the callers after the first run)."""
    files = {"config": home / ".aws" / "config", "credentials": home / ".aws" / "credentials",
             "catalog": home / ".config" / "rolecall" / "config.toml",
             "state": home / ".local" / "state" / "rolecall"}
    for key, text in (("config", config), ("credentials", credentials), ("catalog", catalog)):
        files[key].parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        files[key].write_text(text)
    files["credentials"].chmod(0o600)
    return files


def install(where: Path, *peers: str) -> Path:
    """rolecall from this checkout installed into a throwaway venv as ``pip install`` does
    (a wheel, bytecode compiled, the console script pip writes). With ``peers`` (e.g.
    ``awscli``), those and every dependency come from the package index; without, the
    dependencies come from this environment through a ``.pth`` line and nothing is
    downloaded. Not editable: an editable install puts its import finder (pathlib, re,
    fnmatch: ~18 ms) into every process of the venv, the floors' too. Returns the bin dir."""
    source = where.with_name(where.name + "-src")  # a clean copy: no stale build/ dir
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for package in ("profiles", "tui"):
        shutil.copytree(ROOT / package, source / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-qq"]
    if peers:
        subprocess.run([*pip, *peers, str(source)], check=True)
        return where / "bin"
    subprocess.run([*pip, "--no-deps", str(source)], check=True, stderr=subprocess.DEVNULL)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print("
                              "sysconfig.get_paths()['purelib'])"], check=True,
                             capture_output=True, text=True).stdout.strip()
    (Path(purelib) / "rolecall-bench-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return where / "bin"
