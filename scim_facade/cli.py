"""`scim-facade serve`: the SCIM 2.0 facade in front of identity_service."""

import argparse
import gc
import logging
import sys

import uvicorn
from pydantic import ValidationError

from roster_telemetry import logs
from scim_facade.app import create_app
from scim_facade.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scim-facade",
        description="Roster's SCIM 2.0 service provider, in front of identity_service.",
        epilog="Environment: ROSTER_FACADE_LISTEN, ROSTER_FACADE_IDENTITY_TARGET, ... set what "
        "the flags of the same name set; a flag wins over its variable.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve SCIM over HTTP until SIGTERM or Ctrl-C")
    serve.add_argument("--listen", help="HOST:PORT to listen on (default 127.0.0.1:4100)")
    serve.add_argument(
        "--identity-target", help="identity_service's HOST:PORT (default 127.0.0.1:50051)"
    )
    serve.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (chain)")
    serve.add_argument("--tls-key", help="the certificate's PEM private key")
    serve.add_argument("--log-level", help="DEBUG, INFO, WARNING, ERROR")
    serve.add_argument("--log-format", choices=("text", "json"), help="text or JSON lines")
    serve.add_argument(
        "--metrics-listen", help="HOST:PORT to serve Prometheus metrics at /metrics (default: off)"
    )
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    flags = {
        key: value
        for key, value in (
            ("listen", args.listen),
            ("identity_target", args.identity_target),
            ("tls_cert_file", args.tls_cert),
            ("tls_key_file", args.tls_key),
            ("log_level", args.log_level),
            ("log_format", args.log_format),
            ("metrics_listen", args.metrics_listen),
        )
        if value is not None
    }
    return Settings(**flags)


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
    except ValidationError as exc:
        print(f"error: {exc.errors()[0]['msg']}", file=sys.stderr)
        sys.exit(2)
    logs.configure(settings.log_level.upper(), settings.log_format)
    logging.getLogger("scim_facade").info(
        "SCIM base URL: %s://%s:%d/scim/v2 (identity_service at %s)",
        settings.scheme,
        settings.host,
        settings.port,
        settings.identity_target,
    )
    app = create_app(settings)
    # The modules and models loaded so far live as long as the process: out
    # of the collector's sight, a full collection walks only what serving
    # allocates (identity_service does the same; decision 0014).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # Logging is configured above (text or JSON), and the facade writes
        # each request's line itself (observe.py), with its request id.
        log_config=None,
        access_log=False,
        proxy_headers=False,
        ssl_certfile=settings.tls_cert_file,
        ssl_keyfile=settings.tls_key_file,
        # The C event loop and HTTP parser: the pure-Python ones cost more
        # per request than the facade's own work.
        loop="uvloop",
        http="httptools",
    )
