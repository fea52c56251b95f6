"""Open a local HTML file in headless Chromium and report what happened: errors, every network
request, and a full-page screenshot. Driven over the DevTools protocol on loopback.

Belt and braces against network use: the browser's proxy points at a loopback port whose
listener counts connections, and every request the page makes is recorded from the protocol.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageVisit:
    requests: list[str] = field(default_factory=list)
    """URLs the page asked for (the page itself included)."""
    errors: list[str] = field(default_factory=list)
    """Exceptions, console errors and error log entries."""
    proxy_connections: int = 0
    proxied: list[str] = field(default_factory=list)
    """The first line of each connection the proxy saw (what was asked for); empty when the
    connection closed without asking for anything."""
    result: dict[str, Any] = field(default_factory=dict)
    """What `probe` evaluated to in the page."""


class _ProxyTrap:
    """A listener on loopback that counts connections and answers none of them."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.port = self._socket.getsockname()[1]
        self.connections = 0
        self.seen: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.settimeout(1)
            try:
                self.seen.append(connection.recv(200).decode(errors="replace").split("\r\n")[0])
            except OSError:
                self.seen.append("?")
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()


class _DevTools:
    def __init__(self, websocket: Any) -> None:
        self._ws = websocket
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self._ws.send(json.dumps(message))
        while True:
            reply = json.loads(self._ws.recv(timeout=30))
            if reply.get("id") == ident:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while time.monotonic() < deadline:
            received: dict[str, Any] = json.loads(
                self._ws.recv(timeout=max(0.1, deadline - time.monotonic()))
            )
            self.events.append(received)
            if received.get("method") == method:
                return received
        raise AssertionError(f"no {method} within {timeout} s")


def visit(
    chromium: str, page: Path, screenshot: Path, *, probe: str, width: int = 1200
) -> PageVisit:
    """Load `page`, wait for it, run the JavaScript expression `probe`, save a screenshot."""
    trap = _ProxyTrap()
    profile = Path(tempfile.mkdtemp(prefix="trimtab-chromium-"))
    process = subprocess.Popen(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--hide-scrollbars",
            "--no-pings",
            "--no-default-browser-check",
            "--disable-breakpad",
            "--disable-domain-reliability",
            "--disable-client-side-phishing-detection",
            "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,"
            "Translate,AutofillServerCommunication,CertificateTransparencyComponentUpdater,"
            "DialMediaRouteProvider,InterestFeedContentSuggestions",
            "--safebrowsing-disable-auto-update",
            "--metrics-recording-only",
            "--allow-pre-commit-input",
            f"--proxy-server=http://127.0.0.1:{trap.port}",
            "--proxy-bypass-list=<-loopback>",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "--remote-debugging-address=127.0.0.1",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    from websockets.sync.client import connect

    try:
        with connect(_browser_url(profile, process), max_size=None, open_timeout=10) as ws:
            result = _drive(_DevTools(ws), page, screenshot, probe, width)
        result.proxy_connections = trap.connections
        result.proxied = list(trap.seen)
        return result
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        trap.close()
        shutil.rmtree(profile, ignore_errors=True)


def _browser_url(profile: Path, process: subprocess.Popen[bytes]) -> str:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"chromium exited with {process.returncode} before listening")
        lines = marker.read_text().splitlines() if marker.exists() else []
        if len(lines) >= 2:
            return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.05)
    raise AssertionError("chromium did not open its DevTools port within 30 s")


def _drive(tools: _DevTools, page: Path, screenshot: Path, probe: str, width: int) -> PageVisit:
    target = tools.call("Target.createTarget", url="about:blank")["targetId"]
    session = tools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    for domain in ("Page", "Network", "Runtime", "Log"):
        tools.call(f"{domain}.enable", session)
    tools.call(
        "Emulation.setDeviceMetricsOverride",
        session,
        width=width,
        height=900,
        deviceScaleFactor=1,
        mobile=False,
    )
    tools.call("Page.navigate", session, url=page.resolve().as_uri())
    tools.wait_for("Page.loadEventFired")
    evaluated = tools.call(
        "Runtime.evaluate", session, expression=f"JSON.stringify({probe})", returnByValue=True
    )
    size = tools.call("Page.getLayoutMetrics", session)["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": width, "height": size["height"], "scale": 1}
    shot = tools.call(
        "Page.captureScreenshot", session, format="png", captureBeyondViewport=True, clip=clip
    )
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    visit = PageVisit(result=json.loads(evaluated["result"]["value"]))
    for event in tools.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            visit.requests.append(params["request"]["url"])
        elif method == "Runtime.exceptionThrown":
            visit.errors.append(str(params["exceptionDetails"].get("text")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            visit.errors.append(str(params.get("args")))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            visit.errors.append(str(params["entry"].get("text")))
    return visit
