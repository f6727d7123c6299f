#!/bin/sh
# Install the Debian 12 packages rayfish needs to build, test and run its demo.
# Does nothing when they are all present.
set -eu

PACKAGES="
build-essential pkg-config clang libclang-rt-14-dev
libsodium-dev libb2-dev libjansson-dev libssl-dev libcmocka-dev
iproute2 iputils-ping procps util-linux jq python3 nftables
iperf3 wireguard-tools wireguard-go curl stun-client conntrack
libminiupnpc-dev libnatpmp-dev miniupnpd-nftables
libldns-dev dnsutils dnsmasq-base netcat-openbsd
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
