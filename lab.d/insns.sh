# shellcheck shell=bash
# The instruction clock of ./lab bench (LAB_BENCH_CLOCK=insns): the QEMU
# TCG plugin host/lab-insns.c, built against the plugin header of the
# QEMU this machine runs. Debian ships that header in no binary package;
# it is in QEMU's upstream tarball, which the source package of the
# installed version (or any Debian revision of the same upstream
# version) brings. Fetched with an apt setup of the lab's own (deb-src
# lines of this machine's Debian release, under the lab's cache), once
# per QEMU version; the plugin is rebuilt when its source changes.

LAB_INSNS=$LAB_CACHE/insns
# the plugin QEMU loads (lab.d/boot.sh); only ./lab bench sets it
LAB_QEMU_PLUGIN=""

# insns_sources CODENAME: deb-src lines of the release QEMU came from.
insns_sources() {
	local key=/usr/share/keyrings/debian-archive-keyring.gpg
	echo "deb-src [signed-by=$key] $LAB_DEBIAN_MIRROR/debian $1 main"
	echo "deb-src [signed-by=$key] $LAB_DEBIAN_MIRROR/debian $1-updates main"
	echo "deb-src [signed-by=$key] $LAB_DEBIAN_MIRROR/debian-security $1-security main"
}

# insns_header DIR UPSTREAM: DIR/qemu-plugin.h from a Debian source of
# QEMU UPSTREAM (e.g. 7.2+dfsg).
insns_header() {
	local dir=$1 upstream=$2 codename id apt=$LAB_INSNS/apt version
	[ -r /etc/os-release ] || die "no /etc/os-release: the instruction clock needs a Debian host (it fetches QEMU's source from Debian)"
	id=$(. /etc/os-release && echo "${ID:-}")
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[ "$id" = debian ] && [ -n "$codename" ] ||
		die "the instruction clock fetches QEMU's plugin header from Debian's source of the installed QEMU; this host is ${id:-unknown} ${codename}"
	mkdir -p "$apt/state/lists/partial" "$apt/cache/archives/partial" "$dir"
	insns_sources "$codename" >"$apt/sources.list"
	# --error-on=any: an unreachable mirror is an error, not a warning
	LAB_APT=$apt logged "$LAB_CACHE/logs/apt-src-update.log" "apt update (deb-src)" \
		apt_lab apt-get update --error-on=any ||
		die "apt-get update of QEMU's sources failed (log: $LAB_CACHE/logs/apt-src-update.log); check the network and $LAB_DEBIAN_MIRROR"
	version=$({ LAB_APT=$apt apt_lab apt-cache showsrc qemu 2>/dev/null || true; } |
		awk -v u="$upstream" '$1 == "Version:" { v = $2; sub(/^[0-9]+:/, "", v); sub(/-[^-]*$/, "", v); if (v == u && !f) f = $2 } END { print f }')
	[ -n "$version" ] || die "Debian's $codename archive has no source of QEMU $upstream (the instruction clock needs its plugin header)"
	(cd "$dir" && LAB_APT=$apt logged "$LAB_CACHE/logs/apt-src-qemu.log" "qemu $version source" \
		apt_lab apt-get source --download-only "qemu=$version") ||
		die "could not download QEMU's source $version (log: $LAB_CACHE/logs/apt-src-qemu.log)"
	tar -xOf "$dir"/qemu_*.orig.tar.* --wildcards --no-anchored 'include/qemu/qemu-plugin.h' \
		>"$dir/qemu-plugin.h.new" 2>/dev/null || true
	[ -s "$dir/qemu-plugin.h.new" ] ||
		die "QEMU's source $version has no include/qemu/qemu-plugin.h"
	mv "$dir/qemu-plugin.h.new" "$dir/qemu-plugin.h"
	rm -f "$dir"/qemu_*
}

# insns_plugin: set LAB_QEMU_PLUGIN to the plugin, built if needed.
insns_plugin() {
	local src=$LAB_ROOT/host/lab-insns.c version upstream dir
	version=$(dpkg-query -W -f='${source:Version}' qemu-system-x86 2>/dev/null) ||
		die "qemu-system-x86 is not installed"
	upstream=${version#*:}
	upstream=${upstream%-*}
	dir=$LAB_INSNS/qemu-$upstream
	stage bench "instruction clock: host/lab-insns.c for QEMU $upstream"
	[ -s "$dir/qemu-plugin.h" ] || insns_header "$dir" "$upstream"
	LAB_QEMU_PLUGIN=$dir/lab-insns.so
	if [ ! "$LAB_QEMU_PLUGIN" -nt "$src" ]; then
		gcc -O2 -Wall -Wextra -Wno-unused-parameter -shared -fPIC -I"$dir" \
			-o "$LAB_QEMU_PLUGIN" "$src" 2>"$dir/build.log" ||
			die "host/lab-insns.c does not build against QEMU $upstream's plugin header: $dir/build.log"
	fi
}
