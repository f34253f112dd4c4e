#!/usr/bin/env bash
# Validates openapi/user-access-tokens.yaml with the Python `openapi-spec-validator`, an
# implementation independent of our own lint (openapi/src/lint.rs). It installs the validator
# into a virtualenv under the target directory, so the only thing it needs from the network is
# the Python package registry; a second run reuses the venv.
#
# Usage: scripts/validate-spec.sh [SPEC]   (default: openapi/user-access-tokens.yaml)
# Environment: CARGO_TARGET_DIR (default: <repo>/target) decides where the venv lives;
#              PYTHON (default: python3) is the interpreter that creates it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

spec="${1:-openapi/user-access-tokens.yaml}"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/ci-venv"
python="${PYTHON:-python3}"
# Pinned so that a new release cannot change the verdict under us; bump it deliberately.
validator_version="0.9.0"

if [[ ! -x "$venv/bin/openapi-spec-validator" ]] \
    || ! "$venv/bin/python" -m pip show --quiet "openapi-spec-validator" 2>/dev/null \
    || [[ "$("$venv/bin/python" -m pip show openapi-spec-validator 2>/dev/null | sed -n 's/^Version: //p')" != "$validator_version" ]]; then
    echo "installing openapi-spec-validator $validator_version into $venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "openapi-spec-validator==$validator_version"
fi

"$venv/bin/openapi-spec-validator" "$spec"
