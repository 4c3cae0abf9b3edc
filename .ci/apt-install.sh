# Sourced by .ci/redis.sh and e2e/install.sh: apt_install PKG... installs
# Debian packages without their recommends and without starting any system
# service they ship (the tests start their own servers on loopback). It
# needs root, and logs through the caller's log function.

apt_install() {
	if [[ $(id -u) -ne 0 ]]; then
		log "need root to install: $*"
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	log "apt-get update"
	apt-get update -qq >&2
	# policy-rc.d answering 101 forbids starting services during install.
	local policy=/usr/sbin/policy-rc.d created_policy=0 status=0
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		created_policy=1
	fi
	log "apt-get install $*"
	apt-get install -y -qq --no-install-recommends "$@" >&2 || status=$?
	((created_policy)) && rm -f "$policy"
	((status == 0)) || exit 1
}
