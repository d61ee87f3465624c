"""`scim-facade serve`: the SCIM 2.0 facade in front of identity_service."""

import argparse
import gc
import logging
import sys

import uvicorn
from pydantic import ValidationError

from scim_facade.app import create_app
from scim_facade.settings import Settings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


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
    logging.basicConfig(level=settings.log_level.upper(), format=LOG_FORMAT)
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
        # uvicorn builds every response's access line before its logger drops
        # it: below INFO, log no access at all.
        access_log=logging.getLevelNamesMapping()[settings.log_level.upper()] <= logging.INFO,
        proxy_headers=False,
        ssl_certfile=settings.tls_cert_file,
        ssl_keyfile=settings.tls_key_file,
        # The C event loop and HTTP parser: the pure-Python ones cost more
        # per request than the facade's own work.
        loop="uvloop",
        http="httptools",
    )
