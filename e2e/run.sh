#!/usr/bin/env bash
# Runs the end-to-end tests: installs Dex, the zitadel oidc example, Ory
# Hydra, Pebble, Chromium and nginx if needed (e2e/install.sh), then the tests, and lists
# the browser screenshots.
# Extra arguments go to `go test`, e.g. e2e/run.sh -v -run TestNginx.
set -euo pipefail
cd "$(dirname "$0")/.."

REZIGATE_E2E_DEX=$(bash e2e/install.sh | tail -n 1)
export REZIGATE_E2E_DEX
# install.sh leaves the zitadel example's and Hydra's paths in its cache
# directory.
REZIGATE_E2E_ZITADEL=$(cat "${XDG_CACHE_HOME:-$HOME/.cache}/rezigate-e2e/zitadel-path")
export REZIGATE_E2E_ZITADEL
REZIGATE_E2E_HYDRA=$(cat "${XDG_CACHE_HOME:-$HOME/.cache}/rezigate-e2e/hydra-path")
export REZIGATE_E2E_HYDRA
REZIGATE_E2E_PEBBLE=$(cat "${XDG_CACHE_HOME:-$HOME/.cache}/rezigate-e2e/pebble-path")
export REZIGATE_E2E_PEBBLE
export REZIGATE_E2E_SHOTS="${REZIGATE_E2E_SHOTS:-${TMPDIR:-/tmp}/rezigate-e2e-shots}"
mkdir -p "$REZIGATE_E2E_SHOTS"
rm -f "$REZIGATE_E2E_SHOTS"/*.png

# The failover stage (TestRedisFailover) appends its measurements here.
export REZIGATE_E2E_FIGURES="${REZIGATE_E2E_FIGURES:-${TMPDIR:-/tmp}/rezigate-e2e-figures.txt}"
rm -f "$REZIGATE_E2E_FIGURES"

status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# e2e/ is its own module (e2e/go.mod), so its tests run from inside it.
(cd e2e && go test -tags e2e -count=1 -timeout 8m "$@" ./...) 2>&1 | tee "$log" || status=$?

if [[ -s $REZIGATE_E2E_FIGURES ]]; then
	echo "measured ($REZIGATE_E2E_FIGURES):"
	sed 's/^/  /' "$REZIGATE_E2E_FIGURES"
fi
echo "screenshots in $REZIGATE_E2E_SHOTS:"
shopt -s nullglob
shots=("$REZIGATE_E2E_SHOTS"/*.png)
if ((${#shots[@]} == 0)); then
	echo "  (none)"
fi
for f in "${shots[@]}"; do
	echo "  $f"
done
if ((status != 0)); then
	# A failing test dumps the output of every process it started, which
	# can bury its own messages: repeat them, and which tests failed, last.
	echo "== e2e failures (each test's own messages, without the dumped process output):"
	awk '/^[[:space:]]*--- FAIL/ { print; next }
		/_test\.go:[0-9]+: / && !/---- .* output ----/ { print substr($0, 1, 600) }' "$log"
fi
exit "$status"
