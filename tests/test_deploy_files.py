"""The operators' files in deploy/ and .env.example, checked as an operator's tools would:
`docker compose config`, `systemd-analyze verify` and `nginx -t` where this machine has
them, and everywhere a reading of their structure (docs/deploy.md walks through them)."""

from __future__ import annotations

import http.client
import os
import pwd
import re
import shutil
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import Settings, secret_weakness
from tests.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
ENV_EXAMPLE = ROOT / ".env.example"
VENV_PYTHON = "/opt/qorgau/venv/bin/python"  # where docs/deploy.md puts the virtual environment
DATA = "/var/lib/qorgau"
ENV_FILE = "/etc/qorgau/env"
TOKEN = "123456789:AAE" + "x" * 32

# Every service key the compose file may use (a typo is not one of them).
COMPOSE_SERVICE_KEYS = {
    "build",
    "command",
    "depends_on",
    "env_file",
    "environment",
    "healthcheck",
    "image",
    "logging",
    "ports",
    "restart",
    "stop_grace_period",
    "volumes",
}
SETTINGS = sorted(name.upper() for name in Settings.model_fields)


# --- .env.example and the README --------------------------------------------------------------


def example_lines() -> dict[str, str]:
    """NAME → value of every `NAME=value` line, commented out or not."""
    found: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"#? ?([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            found.setdefault(match[1], match[2])
    return found


def example_settings() -> dict[str, str]:
    """The lines that are not commented out: what a copy of the file sets."""
    return dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )


def test_env_example_names_every_setting() -> None:
    missing = [name for name in SETTINGS if name not in example_lines()]
    assert not missing, f".env.example does not mention {missing}"


def test_env_example_holds_no_working_secret() -> None:
    values = example_settings()
    assert values["BOT_TOKEN"] == ""  # the bot will not start on a copy left unfilled
    assert secret_weakness(values["WEBHOOK_SECRET"]) is not None
    assert values["POSTGRES_PASSWORD"] == ""  # compose refuses to start without one
    assert values["WEBHOOK_PATH"] == ""


def test_a_filled_in_copy_of_env_example_is_valid(tmp_path: Path) -> None:
    """What an operator gets by filling in the required lines only."""
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    text = text.replace("\nBOT_TOKEN=\n", f"\nBOT_TOKEN={TOKEN}\n")
    text = text.replace("\nADMIN_IDS=\n", "\nADMIN_IDS=111111111,222222222\n")
    env = tmp_path / "env"
    env.write_text(text, encoding="utf-8")
    settings = Settings(_env_file=env)
    assert settings.bot_token.get_secret_value() == TOKEN
    assert settings.admin_ids == [111111111, 222222222]
    assert settings.webhook_url is None  # polling unless WEBHOOK_URL is set
    for name, value in example_lines().items():  # a commented line shows the default
        field = name.lower()
        if field not in Settings.model_fields or f"# {name}=" not in text:
            continue
        if field in {"database_url", "faq_dir", "member_orgs_file", "holidays_file"}:
            continue  # examples of one's own paths, not the defaults
        if field in {"webhook_url", "redis_url", "telegram_api_url"}:
            continue  # examples: empty by default
        default = Settings.model_fields[field].get_default(call_default_factory=True)
        assert str(value).lower() == str(default).lower() or float(value) == default, name


def test_the_readme_table_names_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in SETTINGS if f"`{name}`" not in section]
    assert not missing, f"the README's Configuration table does not mention {missing}"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "python3 -m pip install -e '.[test]' && python3 -m pytest"
    assert f"    {command}\n" in readme
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert command in ci.splitlines()


# --- deploy/compose.yaml ----------------------------------------------------------------------


def compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def listen_port(value: str) -> int:
    return int(value.rsplit(":", 1)[1])


def test_compose_services_and_their_order() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "bot1", "bot2", "nginx"}
    for name, service in services.items():
        unknown = set(service) - COMPOSE_SERVICE_KEYS
        assert not unknown, f"{name}: {unknown}"
        assert "image" in service, name
        assert service["restart"] == ("no" if name == "migrate" else "unless-stopped"), name
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name
    # One migration, before the instances: they wait for it to have finished well.
    migrating = [
        name
        for name, service in services.items()
        if "upgrade" in " ".join(service.get("command", []))
    ]
    assert migrating == ["migrate"]
    assert services["migrate"]["command"] == ["python", "-m", "bot", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("bot1", "bot2"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
    for name in ("bot1", "bot2"):
        assert services["nginx"]["depends_on"][name]["condition"] == "service_healthy"


def test_compose_bots_run_in_webhook_mode_on_postgres_with_a_password() -> None:
    services = compose()["services"]
    for name in ("migrate", "bot1", "bot2"):
        service = services[name]
        assert service["env_file"] == ".env", name  # BOT_TOKEN, WEBHOOK_SECRET, ADMIN_IDS, …
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        env = service["environment"]
        assert re.fullmatch(
            r"postgresql://qorgau:\$\{POSTGRES_PASSWORD:\?[^}]+\}@postgres:5432/qorgau",
            env["DATABASE_URL"],
        ), env["DATABASE_URL"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith(
        "${POSTGRES_PASSWORD:?"
    )
    assert services["postgres"]["environment"]["POSTGRES_HOST_AUTH_METHOD"] == "scram-sha-256"
    for name in ("bot1", "bot2"):
        service = services[name]
        env = service["environment"]
        assert env["WEBHOOK_URL"].startswith("https://${SERVER_NAME")
        webhook, metrics = listen_port(env["WEBHOOK_LISTEN"]), listen_port(env["METRICS_LISTEN"])
        assert webhook != metrics
        check = service["healthcheck"]
        probe = " ".join(check["test"])
        assert check["test"][0] == "CMD"
        assert f"http://127.0.0.1:{webhook}/healthz" in probe  # where the updates are taken
        assert "start_period" in check and "interval" in check


def test_compose_variables_are_in_env_example_and_files_exist() -> None:
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([A-Z_]+)", text))
    assert used == {"POSTGRES_PASSWORD", "SERVER_NAME", "WEBHOOK_PATH"}
    assert used <= set(example_settings())
    nginx = compose()["services"]["nginx"]
    assert "./nginx.conf:/etc/nginx/templates/default.conf.template:ro" in nginx["volumes"]
    assert "/etc/letsencrypt:/etc/letsencrypt:ro" in nginx["volumes"]
    assert nginx["ports"] == ["443:443"]
    assert (DEPLOY / "nginx.conf").is_file() and (DEPLOY / "Dockerfile").is_file()


def test_the_image_runs_the_bot_as_its_own_user() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11", dockerfile, re.MULTILINE)
    assert re.search(r"^USER qorgau$", dockerfile, re.MULTILINE)
    assert dockerfile.rstrip().endswith('CMD ["python", "-m", "bot", "run"]')
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    assert {"*", "!pyproject.toml", "!README.md", "!bot/"} <= set(ignore)


def docker_compose() -> list[str] | None:
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) is None:
            continue
        try:
            done = subprocess.run(
                [*command, "version"], capture_output=True, text=True, timeout=30, check=False
            )
        except OSError:
            continue
        if done.returncode == 0 and re.search(r"v?2\.\d+", done.stdout):
            return command
    return None


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    command = docker_compose()
    if command is None:
        pytest.skip("no Docker Compose v2 on this machine (the structure tests above still ran)")
    deploy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, deploy)
    filled = {
        "BOT_TOKEN": TOKEN,
        "POSTGRES_PASSWORD": "0123456789abcdef0123456789abcdef",
        "WEBHOOK_PATH": "/tg/0123456789abcdef",
    }
    lines = [
        f"{line.split('=', 1)[0]}={filled[line.split('=', 1)[0]]}"
        if line.split("=", 1)[0] in filled
        else line
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    ]
    (deploy / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = subprocess.run(
        [*command, "config", "--quiet"],
        cwd=deploy,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (deploy / ".env").write_text("BOT_TOKEN=x\n", encoding="utf-8")  # no password: refused
    done = subprocess.run(
        [*command, "config", "--quiet"], cwd=deploy, capture_output=True, text=True, check=False
    )
    assert done.returncode != 0 and "POSTGRES_PASSWORD" in done.stderr


# --- the systemd units ------------------------------------------------------------------------


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A unit file's sections → key → values (a key may repeat, as Environment= does)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in (DEPLOY / name).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"{name}: {raw!r}"
        assert " #" not in value, f"{name}: systemd has no comments after a value: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


SERVICES = ["qorgau.service", "qorgau@.service", "qorgau-backup.service"]


@pytest.mark.parametrize("name", SERVICES)
def test_the_units_run_the_bot_as_qorgau_with_its_settings(name: str) -> None:
    service = unit(name)["Service"]
    assert service["User"] == ["qorgau"] and service["Group"] == ["qorgau"]
    assert service["EnvironmentFile"] == [ENV_FILE]
    (exec_start,) = service["ExecStart"]
    assert exec_start.startswith(f"{VENV_PYTHON} -m bot ")
    assert service["ProtectSystem"] == ["strict"]  # so ReadWritePaths is all it may write
    # The folders it writes exist: systemd makes the StateDirectory before it starts.
    assert service["StateDirectory"] == ["qorgau"]
    assert service["ReadWritePaths"] == [DATA]
    assert service["WorkingDirectory"] == [DATA]
    for path in re.findall(r"/\S+", exec_start.removeprefix(VENV_PYTHON)):
        assert path.startswith(f"{DATA}/"), f"{name} writes {path} outside ReadWritePaths"


def test_the_embedded_unit_polls_and_the_instances_take_webhooks() -> None:
    embedded = unit("qorgau.service")["Service"]
    assert embedded["ExecStart"] == [f"{VENV_PYTHON} -m bot run"]
    assert "Environment" not in embedded  # polling: no WEBHOOK_LISTEN of its own
    assert unit("qorgau.service")["Install"]["WantedBy"] == ["multi-user.target"]
    instances = unit("qorgau@.service")["Service"]
    assert {"WEBHOOK_LISTEN=127.0.0.1:808%i", "METRICS_LISTEN=127.0.0.1:909%i"} == set(
        instances["Environment"]
    )
    host = (DEPLOY / "nginx-host.conf").read_text(encoding="utf-8")
    assert "server 127.0.0.1:8081" in host and "server 127.0.0.1:8082" in host


def test_the_nightly_backup_keeps_dated_copies_in_the_data_folder() -> None:
    service = unit("qorgau-backup.service")["Service"]
    assert service["Type"] == ["oneshot"]
    assert service["ExecStart"] == [f"{VENV_PYTHON} -m bot db backup {DATA}/backups/"]
    assert service["UMask"] == ["0077"]  # copies hold personal data
    timer = unit("qorgau-backup.timer")
    assert timer["Timer"]["OnCalendar"] == ["*-*-* 03:15:00 Asia/Almaty"]
    assert timer["Timer"]["Persistent"] == ["true"]
    assert timer["Install"]["WantedBy"] == ["timers.target"]
    journal = (DEPLOY / "journald-qorgau.conf").read_text(encoding="utf-8")
    assert "[Journal]" in journal and re.search(r"^SystemMaxUse=\d+[KMG]$", journal, re.M)


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("no systemd-analyze on this machine (the structure tests above still ran)")
    # The virtual environment is not installed here: the Python running the tests stands in.
    for path in DEPLOY.iterdir():
        if path.suffix in (".service", ".timer"):
            text = path.read_text(encoding="utf-8").replace(VENV_PYTHON, sys.executable)
            (tmp_path / path.name).write_text(text, encoding="utf-8")
    units = ["qorgau.service", "qorgau@1.service", "qorgau-backup.service", "qorgau-backup.timer"]
    done = subprocess.run(
        ["systemd-analyze", "verify", *units],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    said = [line for line in (done.stdout + done.stderr).splitlines() if "qorgau" in line]
    assert done.returncode == 0 and not said, done.stdout + done.stderr


# --- deploy/nginx.conf ------------------------------------------------------------------------


def test_nginx_publishes_only_the_webhook_path_to_both_instances() -> None:
    conf = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert set(re.findall(r"\$\{([A-Z_]+)\}", conf)) == {"SERVER_NAME", "WEBHOOK_PATH"}
    services = compose()["services"]
    for name in ("bot1", "bot2"):
        port = listen_port(services[name]["environment"]["WEBHOOK_LISTEN"])
        assert f"server {name}:{port} " in conf
    assert "location = ${WEBHOOK_PATH} {" in conf
    assert "X-Telegram-Bot-Api-Secret-Token $http_x_telegram_bot_api_secret_token" in conf
    assert "/etc/letsencrypt/live/${SERVER_NAME}/fullchain.pem" in conf
    assert "location / {\n        return 404;" in conf


class Upstream(BaseHTTPRequestHandler):
    """One bot instance, as nginx sees it: says who it is and what secret it got."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        assert isinstance(self.server, ThreadingHTTPServer)
        port = self.server.server_port
        body = f"{port} {self.headers.get('X-Telegram-Bot-Api-Secret-Token')}"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_nginx_passes_the_webhook_to_a_live_instance(
    tmp_path: Path, upstream: ThreadingHTTPServer
) -> None:
    """nginx itself, with the template filled in as the nginx image fills it, in front of
    one live instance and one dead one: the update and its secret reach the live one, and
    nothing else is published."""
    nginx = shutil.which("nginx") or shutil.which("/usr/sbin/nginx")
    openssl = shutil.which("openssl")
    if nginx is None or openssl is None:
        pytest.skip("no nginx or openssl on this machine (the structure test above still ran)")
    certs = tmp_path / "live"
    certs.mkdir()
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(certs / "privkey.pem"), "-out", str(certs / "fullchain.pem")),
            *("-subj", "/CN=bot.example.kz"),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    port, dead = free_port(), free_port()
    site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    site = site.replace("${SERVER_NAME}", "bot.example.kz").replace("${WEBHOOK_PATH}", "/tg/x1")
    assert "${" not in site
    site = site.replace("/etc/letsencrypt/live/bot.example.kz", str(certs))
    site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    site = site.replace("bot1:8080", f"127.0.0.1:{dead}")  # an instance that is down
    site = site.replace("bot2:8080", f"127.0.0.1:{upstream.server_port}")
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    temp = " ".join(
        f"{kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'}; error_log stderr; daemon off; events {{}}\n"
        f"http {{ access_log off; {temp} include {tmp_path / 'site.conf'}; }}\n",
        encoding="utf-8",
    )
    base = [nginx, "-e", "stderr", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
    checked = subprocess.run([*base, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(base, stderr=subprocess.PIPE, text=True)
    try:
        context = ssl.create_default_context(cafile=str(certs / "fullchain.pem"))
        context.check_hostname = False

        def request(method: str, path: str) -> tuple[int, str]:
            for _ in range(100):
                try:
                    connection = http.client.HTTPSConnection(
                        "127.0.0.1", port, context=context, timeout=5
                    )
                    headers = {"X-Telegram-Bot-Api-Secret-Token": "s3"}
                    connection.request(method, path, body=b"{}", headers=headers)
                    response = connection.getresponse()
                    return response.status, response.read().decode()
                except ConnectionRefusedError:
                    time.sleep(0.05)
            raise AssertionError("nginx did not start")

        assert request("POST", "/tg/x1") == (200, f"{upstream.server_port} s3")
        assert request("POST", "/tg/x1") == (200, f"{upstream.server_port} s3")
        assert request("GET", "/healthz")[0] == 404
        assert request("GET", "/metrics")[0] == 404
        assert request("POST", "/tg/x2")[0] == 404
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- deploy/qorgau ----------------------------------------------------------------------------


def test_the_qorgau_command_runs_the_bot_as_the_service_would(tmp_path: Path) -> None:
    """`qorgau db upgrade` with the settings file and the data folder of the walkthrough
    (here in a temporary folder, as the user running the tests)."""
    script = DEPLOY / "qorgau"
    assert script.stat().st_mode & 0o111, "deploy/qorgau must be executable"
    assert subprocess.run(["sh", "-n", str(script)], check=False).returncode == 0
    data = tmp_path / "data"
    data.mkdir()
    env_file = tmp_path / "env"
    text = ENV_EXAMPLE.read_text(encoding="utf-8").replace(
        "\n# DATABASE_URL=sqlite+aiosqlite:///data/qorgau.db\n",
        f"\nDATABASE_URL=sqlite:///{data / 'qorgau.db'}\n",
    )
    env_file.write_text(text, encoding="utf-8")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "QORGAU_ENV": str(env_file),
        "QORGAU_DATA": str(data),
        "QORGAU_PYTHON": sys.executable,
        "QORGAU_USER": pwd.getpwuid(os.getuid()).pw_name,
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [str(script), "db", "upgrade"], env=env, capture_output=True, text=True, check=False
    )
    if os.getuid() != 0:
        assert done.returncode == 2 and "run it as root" in done.stderr
        return
    if shutil.which("setpriv") is None:
        pytest.skip("no setpriv (util-linux) on this machine")
    assert done.returncode == 0, done.stderr
    assert (data / "qorgau.db").is_file()
    done = subprocess.run(
        [str(script), "db", "backup", f"{data}/backups/"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(list((data / "backups").glob("qorgau-*.db"))) == 1
