#!/usr/bin/env bash
# Property-based API testing of the reference server with Schemathesis (PyPI).
#
# Usage: scripts/schemathesis.sh            (from anywhere; needs python3 and cargo)
#   MAX_EXAMPLES=N  test cases per operation and phase (default 100; about 15 s)
#   SEED=N          Schemathesis seed (default fixed, so runs are reproducible)
#
# What it does: creates a Python venv in target/schemathesis-venv (once), installs a pinned
# Schemathesis, builds and starts the reference server on a free port with the built-in
# development fixture, and runs every Schemathesis check (`--checks all`) against
# openapi/user-access-tokens.yaml with a valid bearer. Any failure fails the script.
#
# Excluded checks, with the reason (each is a documented project decision, not a bug):
#   (none: the server passes all of them, including negative_data_rejection,
#   ignored_auth, unsupported_method and use_after_free)
set -euo pipefail

cd "$(dirname "$0")/.."
TARGET_DIR="$(realpath --relative-to=. "${CARGO_TARGET_DIR:-target}")"
VENV="$TARGET_DIR/schemathesis-venv"
SCHEMATHESIS_VERSION="4.32.5"

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

cargo build --quiet -p reference-server
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT/api/v1"
LOG="$TARGET_DIR/schemathesis-server.log"
"$TARGET_DIR/debug/reference-server" --listen "127.0.0.1:$PORT" >"$LOG" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true' EXIT

# Wait until the server answers (any HTTP status will do).
for _ in $(seq 1 100); do
    curl --silent --output /dev/null "$BASE/me/tokens" && break
    sleep 0.1
done

# Schemathesis keeps a cache in its working directory; keep it out of the work tree.
ROOT="$(pwd)"
WORK="$TARGET_DIR/schemathesis-work"
mkdir -p "$WORK"
cd "$WORK"
"$ROOT/$VENV/bin/schemathesis" run "$ROOT/openapi/user-access-tokens.yaml" \
    --url "$BASE" \
    -H "Authorization: Bearer dev-alice-token" \
    --checks all \
    --max-examples "${MAX_EXAMPLES:-100}" \
    --seed "${SEED:-20251206}" \
    --generation-database none \
    --no-color \
    --report-dir "$ROOT/$TARGET_DIR/schemathesis-report"
