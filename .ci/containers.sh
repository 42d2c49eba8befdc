#!/usr/bin/env bash
# The container side of CI, also for a developer: run the Redis tests through testcontainers and the
# compose stack (the API image against Redis containers), then stop what this script started.
#
# - Docker: installs Debian's docker.io when there is no engine (root, apt-get), starts dockerd when
#   none answers (publishing ports on 127.0.0.1 by default), and stops that dockerd at the end.
#   An engine that already runs is used as it is, and left running.
# - Images: TEST_REDIS_IMAGE and NODE_IMAGE when given (e.g. redis:7.2-alpine, node:20-bookworm-slim
#   with a registry); otherwise built from this machine's packages by .ci/local-image.sh.
# - Compose: `docker compose` (v2) or `docker-compose` (1.29, installed from Debian when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
state=$(mktemp -d "${TMPDIR:-/tmp}/kbc-containers-XXXXXX")
dockerd_pid=

say() { echo "containers.sh: $*"; }

finish() {
  local status=$?
  # Without Ryuk, a test process killed outright (a tap timeout) leaves its containers behind.
  if [ -n "${TEST_REDIS_IMAGE:-}" ] && engine_answers; then
    docker ps -aq --filter label=org.testcontainers=true --filter "ancestor=$TEST_REDIS_IMAGE" | xargs -r docker rm -f >/dev/null
  fi
  if [ -n "$dockerd_pid" ]; then
    say "stopping the dockerd it started (pid $dockerd_pid)"
    kill "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -rf "$state"
  say "finished in $(($(date +%s) - started)) s with status $status"
  exit "$status"
}
trap finish EXIT

apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "$1 is missing: install it (Debian: apt-get install $1), or run this as root on Debian"
    exit 1
  fi
  say "installing Debian's $1"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

engine_answers() { docker info >/dev/null 2>&1; }

start_engine() {
  command -v dockerd >/dev/null || apt_install docker.io
  engine_answers && return # the package's own service may have started one
  [ "$(id -u)" = 0 ] || { say "no Docker engine answers and starting one needs root"; exit 1; }
  local driver
  for driver in overlay2 vfs; do
    say "starting dockerd (storage driver $driver; published ports on 127.0.0.1)"
    dockerd --ip 127.0.0.1 --storage-driver "$driver" --pidfile "$state/dockerd.pid" >"$state/dockerd.log" 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 1 60); do
      engine_answers && return
      kill -0 "$dockerd_pid" 2>/dev/null || break
      sleep 1
    done
    kill "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
    dockerd_pid=
    tail -n 5 "$state/dockerd.log" >&2
  done
  say "dockerd did not start"
  exit 1
}

command -v docker >/dev/null || apt_install docker.io
engine_answers || start_engine

if docker compose version >/dev/null 2>&1; then
  compose='docker compose'
else
  command -v docker-compose >/dev/null || apt_install docker-compose
  compose='docker-compose'
fi

# Debian's engine comes without the BuildKit plugin: ask for the legacy builder rather than fall back to it.
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0
if [ -z "${TEST_REDIS_IMAGE:-}" ]; then
  TEST_REDIS_IMAGE=kbc-redis:local
  .ci/local-image.sh redis "$TEST_REDIS_IMAGE"
fi
if [ -z "${NODE_IMAGE:-}" ]; then
  NODE_IMAGE=kbc-node:local
  .ci/local-image.sh node "$NODE_IMAGE"
fi

# Ryuk (testcontainers' reaper) is an image to pull; the harness removes its containers itself.
export TEST_REDIS_BACKEND=docker TEST_REDIS_IMAGE NODE_IMAGE REDIS_IMAGE="$TEST_REDIS_IMAGE"
export TESTCONTAINERS_RYUK_DISABLED=${TESTCONTAINERS_RYUK_DISABLED:-true}
# The launcher's own tests, then the adapter and cache suites through it (standalone, replica pair,
# Cluster, Sentinel: issue 18); npm test's binary-backed run covers distributed and reliability.
mapfile -t redis_tests < <(grep -lE "support/redis\.js|/harness\.js" test/{adapters,cache}/*.test.ts)
say "Redis tests through testcontainers ($TEST_REDIS_IMAGE): ${#redis_tests[@]} files"
failed=0
npx tap test/support/redis.test.ts "${redis_tests[@]}" || failed=1

say "the compose stack ($compose, base image $NODE_IMAGE)"
KBC_COMPOSE=$compose npx tap --timeout 600 test/containers/compose-stack.test.ts || failed=1
exit "$failed"
