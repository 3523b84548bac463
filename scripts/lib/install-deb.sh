#!/bin/sh
# install-deb.sh DEB: installs a herald .deb and the Debian packages it depends on, as
# a user (or deploy/Dockerfile) does on Debian 12. scripts/package --check runs this
# same file inside a fresh root, so the Dockerfile's install step is tested here.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "$1" >/dev/null
rm -rf /var/lib/apt/lists/*
