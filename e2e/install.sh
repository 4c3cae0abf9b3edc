#!/usr/bin/env bash
# Installs what the end-to-end tests need: Debian's chromium, nginx,
# python3-jwt and python3-cryptography (PyJWT, as an upstream verifies
# rezigate's assertions), redis-server (the replica tests start their own),
# tomcat10 (the policy's servlet-container upstream; the tests start it), and
# three OpenID providers built from the Go module proxy at pinned versions:
# Dex, the example provider of github.com/zitadel/oidc and Ory Hydra, and
# Pebble, an ACME CA. Safe to
# run again: each part is skipped when it is already there. The last line
# printed is the path of the Dex binary; it is also written to
# $CACHE/dex-path, the zitadel example's path to $CACHE/zitadel-path and
# Hydra's to $CACHE/hydra-path, and Pebble's (its certs/ beside it) to
# $CACHE/pebble-path.
set -euo pipefail

DEX_MODULE=github.com/dexidp/dex
# The v2.45.1 release commit. Dex's v2.x tags are not valid Go module versions
# (its module path has no /v2), so the pseudo-version is the pin.
DEX_VERSION=v0.0.0-20260303133905-11d2eeb52b42
# Dex's go.mod replaces its api/v2 module with a directory that the module zip
# lacks; the released api module takes its place.
DEX_API_MODULE=github.com/dexidp/dex/api/v2
DEX_API_VERSION=v2.4.0
# The example OpenID provider of zitadel/oidc (example/server): in-memory
# storage, a login form, users from a JSON file.
ZITADEL_MODULE=github.com/zitadel/oidc/v3
ZITADEL_VERSION=v3.51.17
# Ory Hydra, with its SQLite driver so that DSN=memory works. Its go.mod
# replaces hydra-client-go/v2 with a nested module (internal/httpclient) the
# module zip lacks, so `go install` refuses it; it is built inside a copy of
# the module, with the released client in place of that replace. The replace
# of gobuffalo/pop/v6 by Ory's fork stays: Hydra needs the fork.
HYDRA_MODULE=github.com/ory/hydra/v2
HYDRA_VERSION=v2.3.0
HYDRA_CLIENT_MODULE=github.com/ory/hydra-client-go/v2
HYDRA_CLIENT_VERSION=v2.2.1
# Pebble, Let's Encrypt's small ACME test CA, for the ACME journey. Its
# module ships the certificate of its own HTTPS directory (test/certs),
# copied beside the binary.
PEBBLE_MODULE=github.com/letsencrypt/pebble/v2
PEBBLE_VERSION=v2.10.3

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/rezigate-e2e"
DEX_BIN="$CACHE/dex-$DEX_VERSION/dex"
ZITADEL_BIN="$CACHE/zitadel-oidc-$ZITADEL_VERSION/server"
HYDRA_BIN="$CACHE/hydra-$HYDRA_VERSION/hydra"
PEBBLE_BIN="$CACHE/pebble-$PEBBLE_VERSION/pebble"

log() { printf 'install.sh: %s\n' "$*" >&2; }
# shellcheck source=../.ci/apt-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/../.ci/apt-install.sh"

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
	# PyJWT verifies rezigate's ES256 assertions; without recommends,
	# python3-jwt would come without the cryptography backend ES256 needs.
	/usr/bin/python3 -c 'import jwt, cryptography' 2>/dev/null || missing+=(python3-jwt python3-cryptography)
	# The replica tests run their own redis-server on loopback.
	[[ -x /usr/bin/redis-server ]] || missing+=(redis-server)
	# The servlet-container upstream of the policy tests; they run their own.
	[[ -x /usr/share/tomcat10/bin/catalina.sh ]] || missing+=(tomcat10)
	# Hydra's SQLite driver is cgo.
	[[ -x /usr/bin/gcc && -e /usr/include/stdio.h ]] || missing+=(gcc libc6-dev)
	if ((${#missing[@]} == 0)); then
		log "chromium, nginx, python3-jwt, python3-cryptography, redis-server, tomcat10 and gcc already installed"
		return
	fi
	apt_install "${missing[@]}"
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

build_zitadel() {
	if [[ -x $ZITADEL_BIN ]]; then
		log "zitadel oidc example $ZITADEL_VERSION already built at $ZITADEL_BIN"
		return
	fi
	local gobin
	gobin=$(mktemp -d)
	log "go install $ZITADEL_MODULE/example/server@$ZITADEL_VERSION (about a minute on 2 cores when nothing is cached)"
	# pkg@version builds the module as released, whatever module the
	# current directory is in; the caller's GOFLAGS do not apply. GOBIN is
	# a fresh directory, so a failed build leaves nothing at $ZITADEL_BIN.
	if ! (cd "$gobin" && GOFLAGS= GOBIN="$gobin" CGO_ENABLED=0 go install -trimpath "$ZITADEL_MODULE/example/server@$ZITADEL_VERSION"); then
		rm -rf "$gobin"
		exit 1
	fi
	mkdir -p "$(dirname "$ZITADEL_BIN")"
	mv "$gobin/server" "$ZITADEL_BIN"
	rm -rf "$gobin"
	log "built $ZITADEL_BIN"
}

build_hydra() {
	if [[ -x $HYDRA_BIN ]]; then
		log "hydra $HYDRA_VERSION already built at $HYDRA_BIN"
		return
	fi
	# A directory of its own: build_dex may have used $work already, and
	# cleanup removes only the last one.
	cleanup
	work=$(mktemp -d)
	log "go mod download $HYDRA_MODULE@$HYDRA_VERSION"
	local dir
	dir=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "$HYDRA_MODULE@$HYDRA_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [[ -z $dir || ! -d $dir ]]; then
		log "go mod download gave no module directory"
		exit 1
	fi
	log "copy module to $work/hydra"
	cp -r "$dir" "$work/hydra"
	chmod -R u+w "$work/hydra"
	log "go mod edit: $HYDRA_CLIENT_MODULE@$HYDRA_CLIENT_VERSION instead of the local replace"
	mkdir -p "$(dirname "$HYDRA_BIN")"
	(
		cd "$work/hydra"
		go mod edit -dropreplace="$HYDRA_CLIENT_MODULE" -require="$HYDRA_CLIENT_MODULE@$HYDRA_CLIENT_VERSION"
		log "go mod download"
		GOFLAGS=-mod=mod go mod download
		log "go build (cgo, sqlite; about 2 minutes on 2 cores when nothing is cached)"
		# The version Hydra reports, as its release builds set it.
		CGO_ENABLED=1 GOFLAGS=-mod=mod go build -trimpath -tags sqlite,sqlite_omit_load_extension \
			-ldflags "-X github.com/ory/hydra/v2/driver/config.Version=$HYDRA_VERSION" -o "$HYDRA_BIN.tmp" .
	)
	mv "$HYDRA_BIN.tmp" "$HYDRA_BIN"
	log "built $HYDRA_BIN"
}

build_pebble() {
	if [[ -x $PEBBLE_BIN && -f $(dirname "$PEBBLE_BIN")/certs/pebble.minica.pem ]]; then
		log "pebble $PEBBLE_VERSION already built at $PEBBLE_BIN"
		return
	fi
	local gobin dir
	gobin=$(mktemp -d)
	log "go install $PEBBLE_MODULE/cmd/pebble@$PEBBLE_VERSION"
	if ! (cd "$gobin" && GOFLAGS= GOBIN="$gobin" CGO_ENABLED=0 go install -trimpath "$PEBBLE_MODULE/cmd/pebble@$PEBBLE_VERSION"); then
		rm -rf "$gobin"
		exit 1
	fi
	dir=$(cd "$gobin" && GOFLAGS= go mod download -json "$PEBBLE_MODULE@$PEBBLE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	mkdir -p "$(dirname "$PEBBLE_BIN")/certs"
	cp "$dir/test/certs/pebble.minica.pem" "$dir/test/certs/localhost/cert.pem" "$dir/test/certs/localhost/key.pem" "$(dirname "$PEBBLE_BIN")/certs/"
	chmod u+w "$(dirname "$PEBBLE_BIN")"/certs/*
	mv "$gobin/pebble" "$PEBBLE_BIN"
	rm -rf "$gobin"
	log "built $PEBBLE_BIN"
}

install_debs
build_dex
build_zitadel
build_hydra
build_pebble
mkdir -p "$CACHE"
printf '%s\n' "$DEX_BIN" >"$CACHE/dex-path"
printf '%s\n' "$ZITADEL_BIN" >"$CACHE/zitadel-path"
printf '%s\n' "$HYDRA_BIN" >"$CACHE/hydra-path"
printf '%s\n' "$PEBBLE_BIN" >"$CACHE/pebble-path"
echo "$DEX_BIN"
