"""Run the fake TWS as its own process: `python -m tests.fakes.tws --port N --state FILE`.

FILE (JSON) is read at start when it exists and written after every order event (booked,
filled, cancelled) and at exit, so the server side outlives the process, as a real TWS keeps
its orders while clients come and go. A new FILE starts from `two_accounts()`. The address is
printed on stdout (`127.0.0.1:PORT`); SIGTERM or SIGINT stops it.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from tests.fakes.tws.model import TwsState
from tests.fakes.tws.server import FakeTws
from tests.fakes.tws.states import two_accounts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.tws", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--state", type=Path, required=True, help="JSON file of the server side")
    parser.add_argument("--server-version", type=int, default=176)
    args = parser.parse_args(argv)
    path: Path = args.state
    state = TwsState.load(path) if path.exists() else two_accounts()
    state.save(path)
    tws = FakeTws(state, server_version=args.server_version, port=args.port)
    tws.on_change = lambda: state.save(path)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    tws.start()
    print(f"{tws.host}:{tws.port}", flush=True)
    stop.wait()
    tws.stop()
    state.save(path)


if __name__ == "__main__":
    main()
