#!/usr/bin/env bash
# `make run`: identity_service and the SCIM facade in the foreground; Ctrl-C
# (or SIGTERM) stops both gracefully, and so does either one exiting.
set -uo pipefail
bin=.venv/bin
database_url=${1:?usage: run-all.sh DATABASE_URL}

"$bin/identity-service" serve --database-url "$database_url" &
identity=$!
"$bin/scim-facade" serve --identity-target 127.0.0.1:50051 &
facade=$!

stop() { kill -TERM "$identity" "$facade" 2>/dev/null; wait; }
trap stop INT TERM
echo "SCIM base URL: http://127.0.0.1:4100/scim/v2   (identity.v1 gRPC: 127.0.0.1:50051)"
wait -n
stop
