#!/usr/bin/env bash
# Starts a throwaway redis-server for the sessions tests, installing Debian's
# redis-server package first when it is missing (without starting the system
# service). It binds to 127.0.0.1 on a free port, requires a random password,
# keeps nothing on disk and runs daemonized with a pidfile in a temporary
# directory. On success it prints two lines for the caller to eval:
#
#   export REZIGATE_TEST_REDIS_URL=redis://:PASSWORD@127.0.0.1:PORT/0
#   export REZIGATE_TEST_REDIS_PID=PID
#
# Usage:
#   eval "$(bash .ci/redis.sh)"          # install if needed, start
#   bash .ci/redis.sh stop "$REZIGATE_TEST_REDIS_PID"
#
# Everything else it says goes to standard error.
set -euo pipefail

log() { printf 'redis.sh: %s\n' "$*" >&2; }
# shellcheck source=apt-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh"

stop() {
	local pid=${1:-${REZIGATE_TEST_REDIS_PID:-}}
	if [[ ! $pid =~ ^[0-9]+$ ]]; then
		log "stop: no PID given (argument or REZIGATE_TEST_REDIS_PID)"
		exit 1
	fi
	# Only a redis-server is ever signalled: a stale PID may belong to
	# another process by now.
	if [[ $(cat "/proc/$pid/comm" 2>/dev/null || true) != redis-server* ]]; then
		log "stop: PID $pid is not a running redis-server; nothing to do"
		return 0
	fi
	# The server runs in the temporary directory start made (--dir): remove
	# it once the server is gone.
	local dir
	dir=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
	kill "$pid"
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "stop: PID $pid did not exit after SIGTERM; sending SIGKILL"
		kill -9 "$pid" 2>/dev/null || true
	fi
	if [[ $dir == */rezigate-redis.* && -d $dir ]]; then
		rm -rf "$dir"
	fi
	log "stopped PID $pid"
}

install() {
	command -v redis-server >/dev/null 2>&1 || apt_install redis-server
}

free_port() {
	# Ask the kernel for a free loopback port.
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null && return
	# Without python3: pick from the ephemeral range until nothing listens.
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	log "found no free port"
	exit 1
}

start() {
	install
	local dir port pass pid
	dir=$(mktemp -d "${TMPDIR:-/tmp}/rezigate-redis.XXXXXX")
	pass=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
	for attempt in 1 2 3; do
		mkdir -p "$dir"
		rm -f "$dir/redis.pid"
		port=$(free_port)
		# The password goes through a config file read from standard input,
		# so it never shows in the process list.
		if printf 'requirepass %s\n' "$pass" | redis-server - \
			--port "$port" --bind 127.0.0.1 --protected-mode yes \
			--save '' --appendonly no \
			--daemonize yes --pidfile "$dir/redis.pid" --dir "$dir" \
			--logfile "$dir/redis.log" >&2; then
			for _ in $(seq 50); do
				[[ -s $dir/redis.pid ]] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
				sleep 0.1
			done
			if [[ -s $dir/redis.pid ]] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
				pid=$(cat "$dir/redis.pid")
				log "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') PID $pid on 127.0.0.1:$port (log $dir/redis.log)"
				echo "export REZIGATE_TEST_REDIS_URL=redis://:$pass@127.0.0.1:$port/0"
				echo "export REZIGATE_TEST_REDIS_PID=$pid"
				return
			fi
		fi
		log "attempt $attempt: redis-server did not come up on port $port"
		tail -n 5 "$dir/redis.log" >&2 2>/dev/null || true
		if [[ -s $dir/redis.pid ]]; then
			stop "$(cat "$dir/redis.pid")"
		fi
	done
	rm -rf "$dir"
	exit 1
}

case "${1:-start}" in
start) start ;;
stop) stop "${2:-}" ;;
install) install ;;
*)
	log "usage: redis.sh [start|stop PID|install]"
	exit 2
	;;
esac
