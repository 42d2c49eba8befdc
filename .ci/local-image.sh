#!/usr/bin/env bash
# Builds a Docker image from this machine's own executables, for machines that cannot pull images
# (CI reaches npm's and Debian's registries, no image registry). Each image is FROM scratch: the
# executables, the shared libraries `ldd` lists for them, and the few files they expect.
#
#   .ci/local-image.sh redis TAG   Debian's redis-server and redis-cli, plus the shell tools the test
#                                  harness runs inside its containers (sh, sleep, mkdir, tail, grep, awk, cat)
#   .ci/local-image.sh node TAG    this machine's node and npm, a shell, its CA certificates, and a `node`
#                                  user (uid 1000) as in the official node images: a stand-in for the
#                                  Dockerfile's base
set -euo pipefail

kind=${1:?usage: local-image.sh redis|node TAG}
tag=${2:?usage: local-image.sh redis|node TAG}

context=$(mktemp -d "${TMPDIR:-/tmp}/kbc-image-XXXXXX")
trap 'rm -rf "$context"' EXIT
root=$context/rootfs
mkdir -p "$root"/{etc,tmp,bin,usr/bin}
chmod 1777 "$root/tmp"

# Copies an executable (symlinks followed) to the same path in the image, with every library ldd
# names, each at the path the dynamic loader will look for it.
add_executable() {
  local path
  path=$(command -v "$1") || { echo "local-image.sh: $1 is not installed" >&2; exit 1; }
  install -D -m 0755 "$(readlink -f "$path")" "$root$path"
  ldd "$path" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
    while read -r lib; do
      [ -e "$root$lib" ] || cp --parents -L "$lib" "$root"
    done
}

# Same place in /bin and /usr/bin, so #! lines and PATH lookups work whichever they name.
add_shell() {
  add_executable sh
  cp -L "$(command -v sh)" "$root/bin/sh"
  ln -sf /bin/sh "$root/usr/bin/sh"
  add_executable env
}

write_passwd() {
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' "$@" >"$root/etc/passwd"
  mkdir -p "$root/root"
}

case "$kind" in
  redis)
    add_shell
    for tool in redis-server redis-cli sleep mkdir tail grep awk cat; do add_executable "$tool"; done
    write_passwd 'redis:x:999:999:redis:/data:/bin/sh'
    printf '%s\n' 'root:x:0:' 'redis:x:999:' >"$root/etc/group"
    mkdir -p "$root/data"
    cat >"$context/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin
WORKDIR /data
EXPOSE 6379
CMD ["redis-server"]
EOF
    ;;
  node)
    add_shell
    add_executable node
    npm_root=$(npm root -g)/npm
    mkdir -p "$root$(dirname "$npm_root")" "$root/usr/local/bin"
    cp -a "$npm_root" "$root$npm_root"
    ln -s "$npm_root/bin/npm-cli.js" "$root/usr/local/bin/npm"
    ln -s "$npm_root/bin/npx-cli.js" "$root/usr/local/bin/npx"
    write_passwd 'node:x:1000:1000:node:/home/node:/bin/sh'
    printf '%s\n' 'root:x:0:' 'node:x:1000:' >"$root/etc/group"
    mkdir -p "$context/home/node"
    # This machine's trust store: npm ci inside the image build reaches the registry as this machine does.
    cp --parents -L /etc/ssl/certs/ca-certificates.crt "$root"
    cat >"$context/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
COPY --chown=1000:1000 home/ /home/
ENV PATH=/usr/local/bin:/usr/bin:/bin \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
EOF
    ;;
  *)
    echo "local-image.sh: unknown image kind '$kind' (redis or node)" >&2
    exit 2
    ;;
esac

# Quiet unless it fails: the legacy builder warns on every build that it is deprecated.
docker build --quiet --tag "$tag" "$context" >"$context/build.log" 2>&1 || { cat "$context/build.log" >&2; exit 1; }
echo "built $tag from this machine's $kind"
