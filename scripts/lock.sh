#!/usr/bin/env bash
# Pin every dependency, with hashes, from pyproject.toml:
#   requirements.lock       what the bot runs on (the deploy installs it)
#   requirements-test.lock  the same and the test tools (CI installs it)
# The versions already pinned are kept while they still fit; to move them, pass uv's
# options through, e.g. scripts/lock.sh --upgrade or scripts/lock.sh --upgrade-package aiohttp.
# Needs uv (pip install uv). Install from a lock:
#   pip install --require-hashes -r requirements-test.lock && pip install --no-deps -e .
set -euo pipefail
cd "$(dirname "$0")/.."
common=(--quiet --universal --python-version 3.11 --generate-hashes --custom-compile-command "scripts/lock.sh")
uv pip compile "${common[@]}" "$@" pyproject.toml -o requirements.lock
uv pip compile "${common[@]}" "$@" --extra test pyproject.toml -o requirements-test.lock
