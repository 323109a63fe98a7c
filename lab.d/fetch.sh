# shellcheck shell=bash
# Stage "fetch": the base's Debian package at its pinned version
# (config/bases), downloaded once into the lab's cache with an apt setup of
# the lab's own (its sources list, lists and state under the cache folder):
# the machine's sources, pinning and lists are not used or changed (apt
# still reads its general settings, a proxy say), and no root is needed.

LAB_BASES=$LAB_ROOT/config/bases
LAB_DEBIAN_MIRROR=${LAB_DEBIAN_MIRROR:-http://deb.debian.org}
LAB_APT=$LAB_CACHE/apt
LAB_DEBS=$LAB_CACHE/debs

# bases_names: the names of the bases, in the order config/bases lists them.
bases_names() {
	awk '!/^#/ && NF == 4 { print $1 }' "$LAB_BASES"
}

# base_select NAME: set LAB_BASE and its package, pinned version and suite.
base_select() {
	local line
	line=$(awk -v b="$1" '!/^#/ && NF == 4 && $1 == b' "$LAB_BASES")
	[ -n "$line" ] ||
		usage_error "--base $1: no such base (config/bases has: $(bases_names | paste -sd " "))"
	read -r LAB_BASE LAB_BASE_PKG LAB_BASE_PKGVER LAB_BASE_SUITE <<<"$line"
}

base_default() {
	awk '$1 == "default" { print $2 }' "$LAB_BASES"
}

# apt_lab TOOL ARGS...: apt-get or apt-cache with the lab's own setup.
apt_lab() {
	local tool=$1
	shift
	"$tool" -q -o Dir::Etc::SourceList="$LAB_APT/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null -o Dir::Etc::Preferences=/dev/null \
		-o Dir::Etc::PreferencesParts=/dev/null \
		-o Dir::State="$LAB_APT/state" -o Dir::State::status=/var/lib/dpkg/status \
		-o Dir::Cache="$LAB_APT/cache" -o Debug::NoLocking=1 \
		-o APT::Architecture=amd64 "$@"
}

# apt_sources: one line per suite of config/bases (the security suites
# live in their own archive).
apt_sources() {
	local suite
	mkdir -p "$LAB_APT/state/lists/partial" "$LAB_APT/cache/archives/partial"
	for suite in $(awk '!/^#/ && NF == 4 { print $4 }' "$LAB_BASES" | sort -u); do
		case $suite in
		*-security) echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $LAB_DEBIAN_MIRROR/debian-security $suite main" ;;
		*) echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $LAB_DEBIAN_MIRROR/debian $suite main" ;;
		esac
	done >"$LAB_APT/sources.list"
}

# apt_update [force]: the archive's package lists, at most a day old (or
# fetched now), and again whenever the sources list changed.
apt_update() {
	local sum
	apt_sources
	sum=$(sha256sum <"$LAB_APT/sources.list")
	if [ -n "${1:-}" ] || [ "$sum" != "$(cat "$LAB_APT/sources.sum" 2>/dev/null)" ] ||
		[ -z "$(find "$LAB_APT/state/lists" -maxdepth 1 -name '*_Packages*' -mtime -1 2>/dev/null)" ]; then
		logged "$LAB_CACHE/logs/apt-update.log" "apt update" apt_lab apt-get update ||
			die "apt-get update with the lab's sources failed (log: $LAB_CACHE/logs/apt-update.log); check the network and $LAB_DEBIAN_MIRROR"
		printf '%s\n' "$sum" >"$LAB_APT/sources.sum"
	fi
}

# base_deb: the path of the cached package of the selected base.
base_deb() {
	local ver=${LAB_BASE_PKGVER//:/%3a}
	echo "$LAB_DEBS/${LAB_BASE_PKG}_${ver}_all.deb"
}

# base_versions: the versions of the base's package the archive has.
base_versions() {
	apt_lab apt-cache madison "$LAB_BASE_PKG" | awk -F' *[|] *' '{ print $2 }'
}

# base_fetch: download the base's package unless it is cached. Every clone
# on the machine shares the cache: one lab at a time changes it.
base_fetch() {
	local deb have lock
	deb=$(base_deb)
	[ -s "$deb" ] && return 0
	need apt-get apt
	need flock util-linux
	[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] ||
		die "/usr/share/keyrings/debian-archive-keyring.gpg is missing: install debian-archive-keyring"
	mkdir -p "$LAB_APT" "$LAB_DEBS"
	exec {lock}>"$LAB_APT/lock"
	flock "$lock"
	stage fetch "$LAB_BASE_PKG $LAB_BASE_PKGVER from Debian $LAB_BASE_SUITE (into ${LAB_DEBS/#$HOME/\~})"
	apt_update
	# lists a day old may predate the pinned version: look once more
	base_versions | grep -qxF "$LAB_BASE_PKGVER" || apt_update force
	if ! base_versions | grep -qxF "$LAB_BASE_PKGVER"; then
		have=$(base_versions | paste -sd ' ')
		die "$LAB_BASE_PKG $LAB_BASE_PKGVER is not in Debian's archive (it has: ${have:-none}); put one of those in config/bases for base $LAB_BASE"
	fi
	(cd "$LAB_DEBS" && logged "$LAB_CACHE/logs/apt-download.log" "download" \
		apt_lab apt-get download "$LAB_BASE_PKG=$LAB_BASE_PKGVER") ||
		die "could not download $LAB_BASE_PKG $LAB_BASE_PKGVER (log: $LAB_CACHE/logs/apt-download.log)"
	exec {lock}>&-
	[ -s "$deb" ] || die "apt-get download left no $deb"
}
