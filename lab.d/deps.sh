# shellcheck shell=bash
# Stage "deps": install the host packages the lab needs, with apt-get.

# Debian packages the lab uses, each for a reason:
LAB_PACKAGES=(
	debian-archive-keyring         # lab.d/fetch.sh checks the base's package
	build-essential bc bison flex  # kernel build
	libelf-dev libssl-dev dwarves
	ccache rsync cpio xz-utils git kmod  # cache, headers_install, initramfs, tree
	qemu-system-x86                # the guest
	busybox-static ndctl daxctl    # guest userspace
	shellcheck python3             # ./lab check
)
# Extra packages only ./lab check needs (compile coverage, static checks).
LAB_CHECK_PACKAGES=(
	sparse python3-docutils python3-ply python3-git  # sparse, rst, checkpatch
	gcc-powerpc64le-linux-gnu                        # book3s_hv_uvmem.o
)
LAB_BENCH_PACKAGES=(gnuplot-nox)

# deps_missing PKG...: print the packages that are not installed.
deps_missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed$' || printf '%s\n' "$p"
	done
}

# deps_install PKG...: install what is missing, or say how to.
deps_install() {
	local missing
	mapfile -t missing < <(deps_missing "$@")
	if ((${#missing[@]} == 0)); then
		stage deps "host packages present"
		return 0
	fi
	stage deps "installing ${missing[*]}"
	if ((EUID != 0)); then
		die "missing packages: ${missing[*]}; run: sudo apt-get install ${missing[*]}"
	fi
	logged "$LAB_BUILD/logs/apt.log" apt-get \
		sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends "$@"' \
			sh "${missing[@]}" ||
		die "apt-get install failed (log: $LAB_BUILD/logs/apt.log); check the network and the Debian mirror"
}
