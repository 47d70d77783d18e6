"""`python -m sandbox`: run the provider sandbox until interrupted."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

from sandbox import server
from sandbox.state import Settings


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001, help="http port (0: any free port)")
    parser.add_argument(
        "--https-port", type=int, default=8443, help="https port (0: any free port)"
    )
    parser.add_argument(
        "--state-file",
        type=Path,
        help="load the state from this JSON file and save it after each change",
    )
    parser.add_argument(
        "--ca-dir",
        type=Path,
        default=Path("var/sandbox"),
        help="where the throw-away CA and server certificate are written",
    )
    parser.add_argument(
        "--cert-host",
        action="append",
        default=[],
        help="another name the https certificate is valid for (repeatable)",
    )
    parser.add_argument(
        "--allow-http-push",
        action="store_true",
        help="accept plain-http push addresses (Google and Microsoft insist on https)",
    )
    parser.add_argument(
        "--push-ca-file",
        default="",
        help="CA bundle trusted for https push deliveries (default: the system's)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings(allow_http_push=args.allow_http_push, push_ca_file=args.push_ca_file)
    running = server.start(
        args.host,
        args.port,
        args.https_port,
        args.ca_dir,
        args.state_file,
        settings=settings,
        cert_hosts=tuple(args.cert_host),
    )
    # Lines an app's environment can take as they are.
    print(
        f"CALENDAR_SANDBOX_URL={running.http_url}\n"
        f"CALENDAR_SANDBOX_HTTPS_URL={running.https_url}\n"
        f"CALENDAR_SANDBOX_CA_FILE={running.ca_file.resolve()}",
        flush=True,
    )
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()


if __name__ == "__main__":
    main()
