# shellcheck shell=bash
# Shared helpers for the lab stages: paths, messages, timing, logged steps.
# Sourced by ./lab; every stage file assumes these are defined.

LAB_BUILD=${LAB_BUILD:-$LAB_ROOT/build}
LAB_OUT=${LAB_OUT:-$LAB_ROOT/out}
# Outside the clone, so that every clone on this machine (CI's included)
# shares one compiler cache: a kernel built once is a cache hit after.
LAB_CACHE=${LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pgmap-folio}
export CCACHE_DIR=${CCACHE_DIR:-$LAB_CACHE/ccache}

LAB_T0=$(date +%s)

# elapsed: seconds since the lab started, as M:SS.
elapsed() {
	local s=$(( $(date +%s) - LAB_T0 ))
	printf '%d:%02d' $((s / 60)) $((s % 60))
}

# stage NAME TEXT: announce a pipeline stage on the terminal.
stage() {
	printf '[%6s] %-7s %s\n' "$(elapsed)" "$1" "$2"
}

# note TEXT: a detail line under the current stage.
note() {
	printf '         %s\n' "$*"
}

# Exit status (./lab --help): 1 a test failed, 2 a bad command line, 125
# the lab could not build or test the tree (git bisect run: skip it).

# die TEXT: one clear line saying what failed and what to do; exit 125.
die() {
	printf 'lab: error: %s\n' "$*" >&2
	exit 125
}

# fail TEXT: the tests ran and something failed; exit 1.
fail() {
	printf 'lab: FAIL: %s\n' "$*" >&2
	exit 1
}

# usage_error TEXT: a bad command line; exit 2.
usage_error() {
	printf 'lab: usage: %s\n' "$*" >&2
	exit 2
}

# lab_suites: the suites the guest runs, as report/manifest lists them.
lab_suites() {
	awk '!/^#/ && NF { print $1 }' "$LAB_ROOT/report/manifest" | awk '!seen[$0]++'
}

# only_check LIST: every suite named by --only is one the lab runs.
only_check() {
	local item items suites
	[ -n "$1" ] || return 0
	suites=" $(lab_suites | tr '\n' ' ')"
	IFS=, read -ra items <<<"$1"
	for item in "${items[@]}"; do
		[[ $suites == *" ${item%%:*} "* ]] ||
			usage_error "--only ${item}: no suite '${item%%:*}' (suites:$suites)"
	done
	(($(grep -o 'kunit:' <<<"$1" | wc -l) <= 1)) ||
		usage_error "--only kunit:GLOB: KUnit takes one filter glob (kunit.filter_glob)"
}

# need CMD PACKAGE: fail clearly when a host tool is missing.
need() {
	command -v "$1" >/dev/null 2>&1 ||
		die "'$1' is missing: install the Debian package $2 (./lab run installs it when run as root)"
}

# logged LOG TEXT CMD...: run CMD with its output in LOG, printing a progress
# line every 30 s (the last line of the log) so long steps show they move.
# On failure the last lines of the log are shown and the caller decides.
logged() {
	local log=$1 text=$2 pid rc=0 n=0
	shift 2
	mkdir -p "$(dirname "$log")"
	"$@" >"$log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		n=$((n + 1))
		if ((n % 30 == 0)); then
			note "$text: $(tail -n 1 "$log" | cut -c1-70) ($(elapsed))"
		fi
	done
	wait "$pid" || rc=$?
	if ((rc != 0)); then
		tail -n 20 "$log" | sed 's/^/         | /' >&2
	fi
	return "$rc"
}

# new_dir PATH: make a folder that no other run has, PATH or PATH.N (two
# runs started in the same second), in LAB_NEW_DIR.
new_dir() {
	local n=1
	LAB_NEW_DIR=$1
	mkdir -p "$(dirname "$1")"
	until mkdir "$LAB_NEW_DIR" 2>/dev/null; do
		((++n <= 100)) || die "cannot make a folder $1 (last tried: $LAB_NEW_DIR)"
		LAB_NEW_DIR=$1.$n
	done
}

# lab_lock PATH: hold PATH.lock until this process ends. Two lab processes
# building in one folder, or moving the check tree between commits under
# each other, break each other's builds: the second waits for the first,
# and says whom it waits for.
LAB_LOCKED=()
lab_lock() {
	local lock=$1.lock fd holder
	[[ " ${LAB_LOCKED[*]} " == *" $lock "* ]] && return 0
	need flock util-linux
	{ mkdir -p "$(dirname "$lock")" && exec {fd}>>"$lock"; } 2>/dev/null ||
		die "cannot open $lock"
	if ! flock -n "$fd"; then
		holder=$(tail -n 1 "$lock" 2>/dev/null) || true
		note "waiting for ${1#"$LAB_ROOT"/}, in use by another ./lab process (${holder:-starting})"
		flock "$fd" || die "cannot lock $lock"
	fi
	: >"$lock"
	echo "pid $$, ./lab $LAB_CMD, since $(date +%T)" >&"$fd"
	LAB_LOCKED+=("$lock")
}

# kmake ARGS...: make in the kernel tree with the lab's build folder, ccache
# and job count. KBUILD_BUILD_* are fixed so that rebuilds hit the cache.
kmake() {
	make -C "$LAB_TREE" O="$LAB_OBJ" CC="ccache gcc" -j"$LAB_JOBS" \
		KBUILD_BUILD_USER=lab KBUILD_BUILD_HOST=lab \
		KBUILD_BUILD_TIMESTAMP="$LAB_BUILD_TIMESTAMP" "$@"
}
LAB_BUILD_TIMESTAMP="Thu Jan  1 00:00:00 UTC 2026"

# series_patches: the patch files of the series, cover letter excluded.
series_patches() {
	find "$LAB_ROOT/patches" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' \
		! -name '0000-cover-letter.patch' | sort
}
