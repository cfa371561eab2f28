"""A real server (streamlit run on a free loopback port) and Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from kongchuo_metrics import programs

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "tests" / "out" / "screenshots"
LAUNCH_ARGS = [*programs.CHROMIUM_FLAGS, "--disable-default-apps"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env_extra: dict | None = None, tmp: Path | None = None):
    port = free_port()
    env = {**os.environ, **(env_extra or {})}
    folder = tmp or ROOT / "tests" / "out"
    folder.mkdir(parents=True, exist_ok=True)
    env.setdefault("KONGCHUO_DB", f"sqlite:///{folder / f'records-{port}.sqlite'}")  # never the repo's var/
    log = open(folder / f"server-{port}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("streamlit did not start; see " + log.name)


def stop_server(proc) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("srv")
    (ROOT / "tests" / "out").mkdir(parents=True, exist_ok=True)
    env = {
        "KONGCHUO_STORE": str(tmp / "store"),
        "KONGCHUO_AUDIT": str(tmp / "audit" / "audit.jsonl"),
        "KONGCHUO_DB": f"sqlite:///{tmp / 'records.sqlite'}",
    }
    proc, url = start_server(env, tmp)
    yield url, tmp
    stop_server(proc)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run ./test.sh, which installs it with apt-get")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


class Page:
    """A browser page that records every request to a host other than 127.0.0.1."""

    def __init__(self, browser, url):
        self.context = browser.new_context(
            viewport={"width": 1440, "height": 1000}, accept_downloads=True, locale="zh-CN"
        )
        self.page = self.context.new_page()
        self.outside: list[str] = []
        self.page.on("request", self._record)
        self.base = url

    def _record(self, request):
        u = urlparse(request.url)
        if u.scheme in ("data", "blob"):
            return
        if u.hostname not in ("127.0.0.1",):
            self.outside.append(request.url)

    def goto(self, path=""):
        self.page.goto(self.base + "/" + path.lstrip("/"))
        self.wait()

    def wait(self):
        self.page.wait_for_selector("[data-testid='stSidebar']", timeout=30000)
        self.page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30000
        )
        self.page.wait_for_timeout(600)

    def shot(self, name):
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def page(browser, server):
    url, _ = server
    p = Page(browser, url)
    yield p
    p.context.close()
    assert p.outside == [], f"requests left the machine: {p.outside}"


def pytest_sessionfinish(session, exitstatus):
    if SHOTS.exists():
        print(f"\nscreenshots: {SHOTS}")


assert shutil  # used by tests that clean folders
