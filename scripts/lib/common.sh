# Shared by scripts/run and scripts/test: package installation and the build.
# Sourced, not run. Quiet when everything is already there.

HERALD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Debian 12 packages Herald builds and tests with (see docs/contributing.md).
HERALD_BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config ca-certificates curl
  libboost1.81-dev libcpp-httplib-dev libhiredis-dev nlohmann-json3-dev
  prometheus-cpp-dev libcli11-dev libspdlog-dev googletest libgtest-dev libcpp-jwt-dev libssl-dev
)
# The fuzz build (scripts/fuzz): clang with libFuzzer.
HERALD_FUZZ_PACKAGES=(clang-14 libclang-rt-14-dev)
# prometheus brings promtool, which checks the /metrics exposition (api_Metrics_test);
# openssl makes the throwaway CA and certificates of the Redis TLS tests.
HERALD_TEST_PACKAGES=(redis-server procps haproxy prometheus openssl)
# ./scripts/package: CPack's DEB generator runs dpkg-shlibdeps (dpkg-dev) and file.
HERALD_PACKAGE_PACKAGES=(dpkg-dev file)
# ./scripts/package --check: a fresh Debian 12 root, and curl to talk to the installed herald.
HERALD_PACKAGE_CHECK_PACKAGES=(mmdebstrap curl)
# The browser test (tests/e2e): Debian's chromium, driven from node by playwright-core.
HERALD_E2E_PACKAGES=(chromium)

# install_node: node and npm from Debian, unless some node is already there
# (a NodeSource node ships its own npm).
install_node() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    install_packages nodejs npm
  fi
}

# install_e2e_modules: playwright-core into tests/e2e/node_modules, pinned by its
# package-lock.json (npm ci), when missing or older than the lock file.
install_e2e_modules() {
  local dir="$HERALD_ROOT/tests/e2e"
  local marker="$dir/node_modules/.package-lock.json"
  if [ ! -f "$marker" ] || [ "$dir/package-lock.json" -nt "$marker" ]; then
    log "installing playwright-core (npm ci in tests/e2e)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# install_packages PKG...: apt-get installs those not installed yet.
install_packages() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # Wait for another apt (e.g. a parallel install) instead of failing on its lock.
  local lock=(-o DPkg::Lock::Timeout=600)
  $sudo apt-get "${lock[@]}" update -qq >/dev/null
  $sudo apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# build PRESET [TARGET...]: configures (once) and builds with CMake presets.
build() {
  local preset=$1
  shift
  local dir="$HERALD_ROOT/build/$preset"
  if [ ! -f "$dir/build.ninja" ]; then
    log "configuring ($preset)"
    cmake --preset "$preset" -S "$HERALD_ROOT" >/dev/null
  fi
  log "building ($preset)"
  cmake --build "$dir" -j"$(nproc)" ${1:+--target "$@"} | grep -vE '^\[[0-9]+/[0-9]+\] ' || true
  test "${PIPESTATUS[0]}" -eq 0
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  python3 "$HERALD_ROOT/scripts/lib/free_port.py"
}
