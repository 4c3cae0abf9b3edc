#!/usr/bin/env bash
# Installs what the end-to-end tests need: Debian's chromium and nginx, and a
# Dex binary built from the Go module proxy at a pinned version. Safe to run
# again: each part is skipped when it is already there. The last line printed
# is the path of the Dex binary; it is also written to $CACHE/dex-path.
set -euo pipefail

DEX_MODULE=github.com/dexidp/dex
# The v2.45.1 release commit. Dex's v2.x tags are not valid Go module versions
# (its module path has no /v2), so the pseudo-version is the pin.
DEX_VERSION=v0.0.0-20260303133905-11d2eeb52b42
# Dex's go.mod replaces its api/v2 module with a directory that the module zip
# lacks; the released api module takes its place.
DEX_API_MODULE=github.com/dexidp/dex/api/v2
DEX_API_VERSION=v2.4.0

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/rezigate-e2e"
DEX_BIN="$CACHE/dex-$DEX_VERSION/dex"

log() { printf 'install.sh: %s\n' "$*" >&2; }

work=""
cleanup() {
	if [[ -n $work ]]; then
		chmod -R u+w "$work" 2>/dev/null || true
		rm -rf "$work"
	fi
}
trap cleanup EXIT

install_debs() {
	local missing=()
	[[ -x /usr/bin/chromium ]] || missing+=(chromium)
	[[ -x /usr/sbin/nginx ]] || missing+=(nginx)
	if ((${#missing[@]} == 0)); then
		log "chromium and nginx already installed"
		return
	fi
	if [[ $(id -u) -ne 0 ]]; then
		log "need root to install: ${missing[*]}"
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	log "apt-get update"
	apt-get update -qq >&2
	# policy-rc.d keeps the nginx package from starting a system service:
	# the tests start their own nginx on loopback.
	local policy=/usr/sbin/policy-rc.d created_policy=0
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		created_policy=1
	fi
	log "apt-get install ${missing[*]}"
	if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
		((created_policy)) && rm -f "$policy"
		exit 1
	fi
	((created_policy)) && rm -f "$policy"
	return 0
}

build_dex() {
	if [[ -x $DEX_BIN ]]; then
		log "dex $DEX_VERSION already built at $DEX_BIN"
		return
	fi
	work=$(mktemp -d)
	log "go mod download $DEX_MODULE@$DEX_VERSION"
	local dir
	dir=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "$DEX_MODULE@$DEX_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [[ -z $dir || ! -d $dir ]]; then
		log "go mod download gave no module directory"
		exit 1
	fi
	log "copy module to $work/dex"
	cp -r "$dir" "$work/dex"
	chmod -R u+w "$work/dex"
	log "go mod edit: $DEX_API_MODULE@$DEX_API_VERSION instead of the local replace"
	mkdir -p "$(dirname "$DEX_BIN")"
	(
		cd "$work/dex"
		go mod edit -dropreplace="$DEX_API_MODULE" -require="$DEX_API_MODULE@$DEX_API_VERSION"
		log "go mod download"
		GOFLAGS=-mod=mod go mod download
		log "go build ./cmd/dex (a few minutes on 2 cores when nothing is cached)"
		CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$DEX_BIN.tmp" ./cmd/dex
	)
	mv "$DEX_BIN.tmp" "$DEX_BIN"
	log "built $DEX_BIN"
}

install_debs
build_dex
mkdir -p "$CACHE"
printf '%s\n' "$DEX_BIN" >"$CACHE/dex-path"
echo "$DEX_BIN"
