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

# module_dir prints the directory of module@version in the module cache,
# downloading it first.
module_dir() {
	local dir
	dir=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "$1@$2" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [[ -z $dir || ! -d $dir ]]; then
		log "go mod download $1@$2 gave no module directory"
		exit 1
	fi
	printf '%s\n' "$dir"
}

# build_in_copy NAME MODULE VERSION REPLACED REPLACED_VERSION BIN PKG
# [go build flags...] builds PKG of MODULE@VERSION into BIN inside a copy
# of the module, with REPLACED required at REPLACED_VERSION instead of the
# local replace its go.mod names (a directory its module zip lacks, so
# `go install` refuses it). CGO_ENABLED comes from the caller.
build_in_copy() {
	local name=$1 module=$2 version=$3 replaced=$4 replaced_version=$5 bin=$6 pkg=$7
	shift 7
	if [[ -x $bin ]]; then
		log "$name $version already built at $bin"
		return
	fi
	# A directory of its own for each build: cleanup removes only the last.
	cleanup
	work=$(mktemp -d)
	log "go mod download $module@$version"
	local dir
	dir=$(module_dir "$module" "$version")
	log "copy module to $work/$name"
	cp -r "$dir" "$work/$name"
	chmod -R u+w "$work/$name"
	log "go mod edit: $replaced@$replaced_version instead of the local replace"
	mkdir -p "$(dirname "$bin")"
	(
		cd "$work/$name"
		go mod edit -dropreplace="$replaced" -require="$replaced@$replaced_version"
		log "go mod download"
		GOFLAGS=-mod=mod go mod download
		log "go build $pkg (a few minutes on 2 cores when nothing is cached)"
		GOFLAGS=-mod=mod go build -trimpath "$@" -o "$bin.tmp" "$pkg"
	)
	mv "$bin.tmp" "$bin"
	log "built $bin"
}

# go_install NAME PKG VERSION BIN builds PKG@VERSION as released (whatever
# module the current directory is in; the caller's GOFLAGS do not apply)
# into a fresh GOBIN, so that a failed build leaves nothing at BIN.
go_install() {
	local name=$1 pkg=$2 version=$3 bin=$4 gobin
	gobin=$(mktemp -d)
	log "go install $pkg@$version (about a minute on 2 cores when nothing is cached)"
	if ! (cd "$gobin" && GOFLAGS= GOBIN="$gobin" CGO_ENABLED=0 go install -trimpath "$pkg@$version"); then
		rm -rf "$gobin"
		exit 1
	fi
	mkdir -p "$(dirname "$bin")"
	mv "$gobin/$(basename "$pkg")" "$bin"
	rm -rf "$gobin"
	log "built $bin"
}

build_dex() {
	CGO_ENABLED=0 build_in_copy dex "$DEX_MODULE" "$DEX_VERSION" "$DEX_API_MODULE" "$DEX_API_VERSION" "$DEX_BIN" ./cmd/dex
}

build_zitadel() {
	if [[ -x $ZITADEL_BIN ]]; then
		log "zitadel oidc example $ZITADEL_VERSION already built at $ZITADEL_BIN"
		return
	fi
	go_install "zitadel oidc example" "$ZITADEL_MODULE/example/server" "$ZITADEL_VERSION" "$ZITADEL_BIN"
}

build_hydra() {
	# Hydra's SQLite driver is cgo; the version it reports is set as its
	# release builds set it.
	CGO_ENABLED=1 build_in_copy hydra "$HYDRA_MODULE" "$HYDRA_VERSION" "$HYDRA_CLIENT_MODULE" "$HYDRA_CLIENT_VERSION" "$HYDRA_BIN" . \
		-tags sqlite,sqlite_omit_load_extension -ldflags "-X github.com/ory/hydra/v2/driver/config.Version=$HYDRA_VERSION"
}

build_pebble() {
	local dir certs
	certs=$(dirname "$PEBBLE_BIN")/certs
	if [[ -x $PEBBLE_BIN && -f $certs/pebble.minica.pem ]]; then
		log "pebble $PEBBLE_VERSION already built at $PEBBLE_BIN"
		return
	fi
	go_install pebble "$PEBBLE_MODULE/cmd/pebble" "$PEBBLE_VERSION" "$PEBBLE_BIN"
	cleanup
	work=$(mktemp -d)
	dir=$(module_dir "$PEBBLE_MODULE" "$PEBBLE_VERSION")
	mkdir -p "$certs"
	cp "$dir/test/certs/pebble.minica.pem" "$dir/test/certs/localhost/cert.pem" "$dir/test/certs/localhost/key.pem" "$certs/"
	chmod u+w "$certs"/*
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
