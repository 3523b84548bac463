#!/usr/bin/env bash
# check-package.sh DEB: installs a herald .deb into a fresh Debian 12 root and checks it
# as a user would meet it (see scripts/package --check, which runs this). Needs root.
set -euo pipefail
source "$(dirname "$0")/common.sh"

deb=$(realpath "$1")
[ "$(id -u)" = 0 ] || { echo "package check: needs root (chroot, mounts)" >&2; exit 2; }
cache=${HERALD_PACKAGE_CACHE:-/var/tmp/herald-package}
mkdir -p "$cache"
started=$(date +%s)

fail() {
  echo "package check: FAILED: $*" >&2
  exit 1
}
pass() { printf '    ok  %s\n' "$*"; }

# The base root: Debian 12 with apt and systemd (as on a server; it is not running in
# the root) and nothing else, made once a week as ../shared/tools/fresh-check does,
# from this machine's apt sources.
base=$cache/bookworm-systemd.tar
if [ ! -s "$base" ] || [ -n "$(find "$base" -mtime +7)" ]; then
  sources=()
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do [ -s "$f" ] && sources+=("$f"); done
  log "making a Debian 12 base root with mmdebstrap (about a minute, cached in $cache)"
  mmdebstrap --quiet --format=tar --variant=apt --include=systemd bookworm "$base.tmp" "${sources[@]}"
  mv "$base.tmp" "$base"
fi

root=$(mktemp -d "$cache/root.XXXXXX")
mounted=()
herald_pid=
cleanup() {
  [ -n "$herald_pid" ] && kill -9 "$herald_pid" 2>/dev/null || true
  # End what still runs inside the root (and only that), then undo the mounts.
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -9 "${p#/proc/}" 2>/dev/null || true
  done
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -R -l "${mounted[$i]}" 2>/dev/null || true; done
  if [ "${HERALD_PACKAGE_KEEP:-0}" = 1 ]; then
    echo "package check: root kept at $root"
  else
    rm -rf --one-file-system "$root"
  fi
}
trap cleanup EXIT

tar -C "$root" -xf "$base"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
mount -t proc proc "$root/proc"; mounted+=("$root/proc")
mount --rbind /dev "$root/dev"; mount --make-rslave "$root/dev"; mounted+=("$root/dev")
inside() {
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

log "installing $(basename "$deb") into a fresh Debian 12 root ($root)"
cp "$deb" "$root/tmp/"
cp "$HERALD_ROOT/scripts/lib/install-deb.sh" "$root/tmp/install-deb.sh"
inside sh /tmp/install-deb.sh "/tmp/$(basename "$deb")" || fail "the package does not install"
pass "installs with its dependencies (apt-get install ./$(basename "$deb"))"

version=$(dpkg-deb --field "$deb" Version)
answer=$(inside herald --version)
[ "$answer" = "herald $version" ] || fail "herald --version says '$answer', the package is $version"
pass "herald --version: $answer"

unit=/lib/systemd/system/herald.service
for f in /usr/bin/herald "$unit" /etc/default/herald /usr/share/doc/herald/README.md \
  /usr/share/doc/herald/docs/api.md /usr/share/doc/herald/docs/operations.md /usr/share/doc/herald/api/openapi.yaml; do
  [ -e "$root$f" ] || fail "$f is missing"
done
pass "files: /usr/bin/herald, $unit, /etc/default/herald, /usr/share/doc/herald/"

user=$(sed -n 's/^User=//p' "$root$unit")
entry=$(inside getent passwd "$user") || fail "the unit's User=$user does not exist"
uid=$(echo "$entry" | cut -d: -f3)
gid=$(echo "$entry" | cut -d: -f4)
shell=$(echo "$entry" | cut -d: -f7)
[ "$uid" -lt 1000 ] || fail "$user is not a system user (uid $uid)"
case $shell in */nologin | */false) ;; *) fail "$user has a login shell ($shell)" ;; esac
pass "system user $user (uid $uid, shell $shell)"
perms=$(inside stat -c %U:%G:%a /etc/default/herald /etc/herald | tr '\n' ' ')
[ "$perms" = "root:$user:640 root:$user:750 " ] || fail "/etc/default/herald, /etc/herald are $perms"
pass "/etc/default/herald root:$user 0640, /etc/herald root:$user 0750"

for p in /proc/[0-9]*; do
  if [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && [ "$(cat "$p/comm" 2>/dev/null)" = herald ]; then
    fail "installing started herald"
  fi
done
[ ! -e "$root/etc/systemd/system/multi-user.target.wants/herald.service" ] || fail "installing enabled the service"
pass "installing neither started nor enabled the service"

if command -v systemd-analyze >/dev/null; then
  # --root: ExecStart's binary and the unit are looked up in the root, not on this machine.
  out=$(systemd-analyze verify --root="$root" "$unit" 2>&1) || fail "systemd-analyze verify: $out"
  [ -z "$out" ] || fail "systemd-analyze verify warns: $out"
  pass "systemd-analyze verify $unit"
else
  echo "    --  systemd-analyze is not on this machine: unit not verified"
fi

# The unit's ExecStart, run as its User= with its EnvironmentFile=, as systemd would.
# An operator edits the file: here every setting is uncommented (so every default the
# file shows must be one herald accepts) and the listeners move to free loopback ports.
exec_start=$(sed -n 's/^ExecStart=//p' "$root$unit")
env_file=$(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$root$unit")
[ "$env_file" = /etc/default/herald ] || fail "EnvironmentFile= is '$env_file', not /etc/default/herald"
stream_port=$(free_port)
api_port=$(free_port)
while [ "$api_port" = "$stream_port" ]; do api_port=$(free_port); done
sed -i -e 's/^#\(HERALD_[A-Z_]*=\)/\1/' \
  -e "s/^HERALD_STREAM_LISTEN=.*/HERALD_STREAM_LISTEN=127.0.0.1:$stream_port/" \
  -e "s/^HERALD_API_LISTEN=.*/HERALD_API_LISTEN=127.0.0.1:$api_port/" "$root$env_file"
settings=$(grep -c '^HERALD_' "$root$env_file")
[ "$settings" -ge 30 ] || fail "$env_file holds only $settings settings"
herald_log=$root/tmp/herald.log
# systemd reads KEY=VALUE lines, # comments; the file uses no quoting, so sh reads it alike.
chroot --userspec="$uid:$gid" "$root" /usr/bin/env -i PATH=/usr/bin:/bin \
  sh -c "set -a; . $env_file; set +a; exec $exec_start" >"$herald_log" 2>&1 &
herald_pid=$!
deadline=$(($(date +%s) + 20))
until curl -fsS -o /dev/null "http://127.0.0.1:$api_port/healthz" 2>/dev/null; do
  kill -0 "$herald_pid" 2>/dev/null || { cat "$herald_log" >&2; fail "ExecStart exited before /healthz answered"; }
  [ "$(date +%s)" -lt "$deadline" ] || { cat "$herald_log" >&2; fail "no /healthz within 20 s"; }
  sleep 0.2
done
pass "ExecStart=$exec_start as $user with $env_file ($settings settings): /healthz answers"
# deploy/Dockerfile's HEALTHCHECK command, run in the root against this port.
probe=$(sed -n 's/^ *CMD \["bash", "-c", "\(.*\)"\]$/\1/p' "$HERALD_ROOT/deploy/Dockerfile" | sed -e 's/\\\\/\\/g' -e "s/8081/$api_port/")
[ -n "$probe" ] || fail "no HEALTHCHECK CMD in deploy/Dockerfile"
chroot --userspec="$uid:$gid" "$root" /usr/bin/env -i PATH=/usr/bin:/bin bash -c "$probe" ||
  fail "the Dockerfile's HEALTHCHECK fails: $probe"
pass "deploy/Dockerfile's HEALTHCHECK command passes"
events=$(mktemp)
curl -sN --max-time 3 "http://127.0.0.1:$stream_port/v1/events?channel=package-check" >"$events" &
reader=$!
until grep -q '^retry:' "$events" 2>/dev/null; do
  kill -0 "$reader" 2>/dev/null || break
  sleep 0.1
done
curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \
  -d '{"channel":"package-check","data":{"from":"package-check"}}' "http://127.0.0.1:$api_port/v1/notifications" ||
  fail "publish failed"
wait "$reader" || true
grep -q '"from":"package-check"' "$events" || { cat "$events" >&2; rm -f "$events"; fail "the published event did not arrive"; }
rm -f "$events"
pass "a publish arrives on a stream"
kill -TERM "$herald_pid"
status=0
wait "$herald_pid" || status=$?
herald_pid=
[ "$status" = 0 ] || { cat "$herald_log" >&2; fail "SIGTERM: herald exited $status"; }
pass "SIGTERM: drained and exited 0"

inside apt-get remove -y -qq herald >/dev/null || fail "apt-get remove failed"
for f in /usr/bin/herald "$unit" /usr/share/doc/herald; do [ ! -e "$root$f" ] || fail "remove left $f"; done
[ -e "$root$env_file" ] || fail "remove deleted the conffile $env_file (only purge should)"
pass "remove: binary, unit and docs gone, $env_file kept"
inside apt-get purge -y -qq herald >/dev/null || fail "apt-get purge failed"
for f in "$env_file" /etc/herald; do [ ! -e "$root$f" ] || fail "purge left $f"; done
! inside getent passwd "$user" >/dev/null || fail "purge left the user $user"
state=$(inside dpkg-query -W -f='${Status}' herald 2>/dev/null || true)
[ -z "$state" ] || [[ $state == *not-installed* ]] || fail "dpkg says herald is '$state' after purge"
pass "purge: $env_file, /etc/herald and the user gone"

log "package check passed in $(($(date +%s) - started)) s"
