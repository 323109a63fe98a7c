# shellcheck shell=bash
# ./lab check: the project's tests, each gate a step that passes or fails;
# all gates run, and the check fails if any did. ./lab build-steps: build every
# step of the series. Logs go to the run folder's logs/check-*.log.

CHECK_FAILED=()
CHECK_SUMMARY=()
CHECK_SKIPPED=()

# gate NAME CMD...: run one gate, record PASS or FAIL with its time. With
# --gates, a gate not named there is recorded as not run.
gate() {
	local name=$1 t0=$SECONDS rc=0
	shift
	if [ -n "$LAB_GATES" ] && [[ ",$LAB_GATES," != *",$name,"* ]]; then
		CHECK_SKIPPED+=("$name")
		CHECK_SUMMARY+=("$(printf 'NOT RUN  %-15s (--gates)' "$name")")
		return 0
	fi
	stage check "$name"
	"$@" || rc=$?
	if ((rc == 0)); then
		CHECK_SUMMARY+=("$(printf 'PASS  %-18s %4ds' "$name" $((SECONDS - t0)))")
	else
		CHECK_FAILED+=("$name")
		CHECK_SUMMARY+=("$(printf 'FAIL  %-18s %4ds  (log: %s)' "$name" $((SECONDS - t0)) \
			"${LAB_RUN#"$LAB_ROOT"/}/logs/check-$name.log")")
		note "FAIL: $name"
	fi
}

# check_log NAME CMD...: CMD with its output in the gate's log.
check_log() {
	local name=$1
	shift
	logged "$LAB_RUN/logs/check-$name.log" "$name" "$@"
}

gate_shellcheck() {
	(cd "$LAB_ROOT" && shellcheck -x lab .ci/run && shellcheck -s sh guest/init)
}

gate_parser_tests() {
	LAB_TREE=$LAB_TREE python3 -m unittest discover -s "$LAB_ROOT/tests" -v \
		>"$LAB_RUN/logs/check-parser-tests.log" 2>&1 ||
		{ tail -n 20 "$LAB_RUN/logs/check-parser-tests.log"; return 1; }
}

# A scratch worktree of the lab's tree, for gates that move between commits.
check_worktree() {
	CHECK_TREE=$LAB_TREE-check
	lab_lock "$CHECK_TREE"
	if [ ! -d "$CHECK_TREE" ]; then
		git -C "$LAB_TREE" worktree prune
		git -C "$LAB_TREE" worktree add -q --detach "$CHECK_TREE" lab-base || return 1
	fi
	git -C "$CHECK_TREE" am --abort >/dev/null 2>&1 || true
	git -C "$CHECK_TREE" checkout -q -f --detach lab-base
}

# The series applies with git am onto a fresh checkout of the base.
gate_git_am() {
	local patches
	mapfile -t patches < <(series_patches)
	check_worktree || return 1
	check_log git-am git -C "$CHECK_TREE" am -q --whitespace=error-all "${patches[@]}" || {
		git -C "$CHECK_TREE" am --abort >/dev/null 2>&1
		return 1
	}
	CHECK_HEAD=$(git -C "$CHECK_TREE" rev-parse HEAD)
}

# checkpatch.pl --strict on every patch; config/checkpatch.exceptions may
# ignore a message type for a patch, with the reason written there.
gate_checkpatch() {
	local p ignore bad=0
	for p in $(series_patches); do
		ignore=$(awk -v f="$(basename "$p")" '!/^#/ && NF >= 3 && f ~ $1 { printf "%s,", $2 }' \
			"$LAB_ROOT/config/checkpatch.exceptions")
		# PATH: spdxcheck.py runs with Debian's python3, which has ply and git
		if ! (cd "$LAB_TREE" && PATH=/usr/bin:$PATH perl scripts/checkpatch.pl --strict -q --no-summary \
			${ignore:+--ignore "${ignore%,}"} "$p") >>"$LAB_RUN/logs/check-checkpatch.log" 2>&1; then
			note "checkpatch: $(basename "$p")"
			bad=1
		fi
	done
	((bad == 0)) || { tail -n 30 "$LAB_RUN/logs/check-checkpatch.log"; return 1; }
}

# The files the series touches, by kind.
series_files() {
	git -C "$CHECK_TREE" diff --name-only --diff-filter=AM lab-base "$CHECK_HEAD" -- "$@"
}

# kernel-doc -Wall on the .c and .h files the series touches: no warning
# that the base did not have, and none at all in mm/memremap.c and
# include/linux/memremap.h.
gate_kernel_doc() {
	local files f log=$LAB_RUN/logs/check-kernel-doc.log new
	mapfile -t files < <(series_files '*.c' '*.h')
	: >"$log"
	for f in "${files[@]}"; do
		git -C "$CHECK_TREE" checkout -q -f --detach "$CHECK_HEAD"
		(cd "$CHECK_TREE" && scripts/kernel-doc -none -Wall "$f" 2>&1) |
			sed -E 's/:[0-9]+([: ])/\1/' | sort >"$log.head"
		git -C "$CHECK_TREE" checkout -q -f --detach lab-base
		if [ -f "$CHECK_TREE/$f" ]; then
			(cd "$CHECK_TREE" && scripts/kernel-doc -none -Wall "$f" 2>&1) |
				sed -E 's/:[0-9]+([: ])/\1/' | sort >"$log.base"
		else
			: >"$log.base"
		fi
		case $f in
		mm/memremap.c | include/linux/memremap.h) new=$(cat "$log.head") ;;
		*) new=$(comm -23 "$log.head" "$log.base") ;;
		esac
		[ -z "$new" ] || printf '%s\n' "$new" >>"$log"
	done
	rm -f "$log.head" "$log.base"
	git -C "$CHECK_TREE" checkout -q -f --detach "$CHECK_HEAD"
	[ ! -s "$log" ] || { cat "$log"; return 1; }
}

# Build folders for the objects the gates compile: the guest's config, and
# the two compile-coverage configs for drivers the guest cannot run.
CHECK_CONFIGS=(normal cover-x86 cover-ppc)

check_make() {
	local cfg=$1
	shift
	case $cfg in
	cover-ppc) make -C "$CHECK_TREE" O="$LAB_BUILD/obj/check-$LAB_BASE-$cfg" -j"$LAB_JOBS" \
			ARCH=powerpc CROSS_COMPILE=powerpc64le-linux-gnu- CC="ccache powerpc64le-linux-gnu-gcc" "$@" ;;
	*) make -C "$CHECK_TREE" O="$LAB_BUILD/obj/check-$LAB_BASE-$cfg" -j"$LAB_JOBS" \
			CC="ccache gcc" "$@" ;;
	esac
}

check_configure() {
	local cfg=$1 obj=$LAB_BUILD/obj/check-$LAB_BASE-$1 frags
	mkdir -p "$obj"
	case $cfg in
	normal)
		frags=("$LAB_ROOT/config/base.config" "$(config_version_fragment)" "$LAB_ROOT/config/series.config")
		env -C "$CHECK_TREE" ARCH=x86_64 scripts/kconfig/merge_config.sh -n -O "$obj" "${frags[@]}" ;;
	cover-x86)
		frags=("$LAB_ROOT/config/$cfg.config")
		env -C "$CHECK_TREE" ARCH=x86_64 scripts/kconfig/merge_config.sh -n -O "$obj" "${frags[@]}" ;;
	cover-ppc)
		frags=("$LAB_ROOT/config/$cfg.config")
		check_make "$cfg" powernv_defconfig &&
		env -C "$CHECK_TREE" ARCH=powerpc CROSS_COMPILE=powerpc64le-linux-gnu- \
			scripts/kconfig/merge_config.sh -m -O "$obj" "$obj/.config" "${frags[@]}" &&
		check_make "$cfg" olddefconfig ;;
	esac >"$LAB_RUN/logs/check-config-$cfg.log" 2>&1 || return 1
	(config_verify "$obj/.config" "${frags[@]}") 2>&1
}

# The objects a config compiles: the series' .c files that it builds.
check_objects() {
	local cfg=$1 f
	while read -r f; do
		[ -f "$CHECK_TREE/$f" ] || continue
		case $cfg:$f in
		normal:mm/* | normal:lib/* | normal:drivers/dax/* | normal:drivers/vfio/*) ;;
		cover-x86:mm/memremap.c | cover-x86:drivers/gpu/* | cover-x86:drivers/xen/* | cover-x86:drivers/hv/*) ;;
		cover-ppc:mm/memremap.c | cover-ppc:arch/powerpc/*) ;;
		*) continue ;;
		esac
		case $f in
		# amdkfd is built by the amdgpu Makefile, with its include paths
		drivers/gpu/drm/amd/amdkfd/*) f=drivers/gpu/drm/amd/amdgpu/../amdkfd/${f##*/} ;;
		esac
		echo "${f%.c}.o"
	done < <(series_files '*.c')
}

# Compile the series' objects of every config at one commit.
check_compile_at() {
	local rev=$1 cfg objs
	shift
	git -C "$CHECK_TREE" checkout -q -f --detach "$rev" || return 1
	for cfg in "${CHECK_CONFIGS[@]}"; do
		mapfile -t objs < <(check_objects "$cfg")
		((${#objs[@]})) || continue
		check_make "$cfg" "$@" "${objs[@]}" || return 1
	done
	# the selftest, by the tree's selftests rules (its flags and the
	# helper objects it links), against this commit's test_hmm uapi
	rm -rf "$LAB_RUN/hmm-tests-step" && mkdir -p "$LAB_RUN/hmm-tests-step" &&
	make -C "$CHECK_TREE/tools/testing/selftests/mm" OUTPUT="$LAB_RUN/hmm-tests-step" \
		KHDR_INCLUDES="-isystem $LAB_OBJ/hdr/include" "$LAB_RUN/hmm-tests-step/hmm-tests"
}

# Every patch compiles: the series' objects, at every step, in every config.
gate_compile_steps() {
	local rev n=0 log=$LAB_RUN/logs/check-compile-steps.log cfg
	: >"$log"
	# hmm-tests builds against the uapi headers of the run's build folder;
	# after the run gates, whose ./lab run children took it in turn
	lab_lock "$LAB_OBJ"
	git -C "$CHECK_TREE" checkout -q -f --detach "$CHECK_HEAD"
	for cfg in "${CHECK_CONFIGS[@]}"; do
		check_configure "$cfg" >>"$log" 2>&1 || { tail -n 5 "$log"; return 1; }
	done
	for rev in $(git -C "$CHECK_TREE" rev-list --reverse lab-base.."$CHECK_HEAD"); do
		n=$((n + 1))
		note "step $n: $(git -C "$CHECK_TREE" log -1 --format=%s "$rev" | cut -c1-60)"
		if ! check_compile_at "$rev" >>"$log" 2>&1; then
			note "step $n does not compile: $(git -C "$CHECK_TREE" log -1 --format='%h %s' "$rev")"
			tail -n 15 "$log"
			return 1
		fi
	done
}

# W=1 and sparse (C=1): no warning in the series' files that the base does
# not have. Both sides are compiled from scratch (the files are touched).
check_warnings_at() {
	local rev=$1 out=$2 cfg objs
	git -C "$CHECK_TREE" checkout -q -f --detach "$rev"
	: >"$out"
	for cfg in "${CHECK_CONFIGS[@]}"; do
		mapfile -t objs < <(check_objects "$cfg")
		((${#objs[@]})) || continue
		(cd "$CHECK_TREE" && touch "${objs[@]/%.o/.c}")
		# Debian 12's sparse (0.6.4) predates __typeof_unqual__, which
		# 7.x uses: Kbuild would drop C=1 with a mere message. Read it
		# as __typeof__ (what older kernels used there); base and series
		# are checked alike, so only new warnings count.
		if ! check_make "$cfg" W=1 C=1 CF=-D__typeof_unqual__=__typeof__ \
			"${objs[@]}" >"$out.log" 2>&1; then
			tail -n 20 "$out.log"
			return 1
		fi
		if grep -q 'specified, but .* is not available or not up to date' "$out.log"; then
			echo "sparse did not run at $rev ($cfg): $(grep -m1 'specified, but' "$out.log")"
			return 1
		fi
		# Debian 12's sparse also fails to read 7.x's MODULE_*() macros
		# ("bad constant expression" at each, in lib/test_hmm.c as well):
		# a limit of that sparse, not a finding
		grep -E '(warning|error):' "$out.log" |
			grep -v 'error: bad constant expression$' |
			sed -E "s|$LAB_BUILD/[^ ]*/||; s/:[0-9]+:[0-9]+:/:/" >>"$out"
	done
	rm -f "$out.log"
	sort -u -o "$out" "$out"
}

gate_warnings() {
	local log=$LAB_RUN/logs/check-warnings.log
	check_warnings_at lab-base "$log.base" &&
	check_warnings_at "$CHECK_HEAD" "$log.head" || return 1
	comm -13 "$log.base" "$log.head" >"$log"
	[ ! -s "$log" ] || { cat "$log"; return 1; }
}

# Documentation/mm/pgmap.rst: valid reStructuredText (docutils, with the
# kernel's Sphinx directives stubbed), and its kernel-doc directives resolve.
gate_docs() {
	local rst=Documentation/mm/pgmap.rst
	git -C "$CHECK_TREE" checkout -q -f --detach "$CHECK_HEAD"
	[ -f "$CHECK_TREE/$rst" ] || { echo "$rst is missing"; return 1; }
	grep -q '^   pgmap$' "$CHECK_TREE/Documentation/mm/index.rst" ||
		{ echo "$rst is not in Documentation/mm/index.rst"; return 1; }
	/usr/bin/python3 "$LAB_ROOT/report/check_rst.py" --tree "$CHECK_TREE" "$rst"
}

# gate_run NAME [OPTION...]: a full ./lab run, as a user would do it.
gate_run() {
	local name=$1
	shift
	"$LAB_ROOT/lab" run -j "$LAB_JOBS" "$@" 2>&1 |
		tee "$LAB_RUN/logs/check-$name.log" | sed 's/^/  /'
	return "${PIPESTATUS[0]}"
}

check_summary() {
	local line
	echo
	echo "lab check: $(elapsed)"
	for line in "${CHECK_SUMMARY[@]}"; do
		echo "  $line"
	done
	if ((${#CHECK_FAILED[@]})); then
		fail "check failed: ${CHECK_FAILED[*]}"
	fi
	if ((${#CHECK_SKIPPED[@]})); then
		echo "  the gates run passed; a partial check: ${#CHECK_SKIPPED[@]} gates not run"
		return 0
	fi
	echo "  all gates passed"
}

# The gates, in the order lab_check runs them (for --gates).
CHECK_GATES="shellcheck parser-tests git-am checkpatch kernel-doc docs run run-debug run-base compile-steps warnings"

# The gates that work on the series as git-am applied it.
CHECK_NEED_AM="checkpatch kernel-doc docs compile-steps warnings"

# check_gates_parse: refuse a --gates list with an unknown or empty name;
# add git-am where a named gate needs the tree it applies.
check_gates_parse() {
	local g items
	[ -n "$LAB_GATES" ] || return 0
	IFS=, read -ra items <<<"$LAB_GATES"
	((${#items[@]})) || usage_error "--gates: no gate named (gates: $CHECK_GATES)"
	for g in "${items[@]}"; do
		[[ -n "$g" && " $CHECK_GATES " == *" $g "* ]] ||
			usage_error "--gates: no gate '$g' (gates, comma-separated without spaces: $CHECK_GATES)"
		if [[ " $CHECK_NEED_AM " == *" $g "* && ",$LAB_GATES," != *",git-am,"* ]]; then
			LAB_GATES+=",git-am"
			note "--gates: $g needs git-am: running it too"
		fi
	done
}

lab_check() {
	check_gates_parse
	run_paths
	run_dir check-
	deps_install "${LAB_PACKAGES[@]}" "${LAB_CHECK_PACKAGES[@]}"
	source_tree
	gate shellcheck gate_shellcheck
	gate parser-tests gate_parser_tests
	gate git-am gate_git_am
	# the series does not apply: the gates after it have nothing to check
	if [[ " ${CHECK_FAILED[*]} " == *" git-am "* ]]; then
		check_summary
	fi
	gate checkpatch gate_checkpatch
	gate kernel-doc gate_kernel_doc
	gate docs gate_docs
	gate run gate_run run
	gate run-debug gate_run run-debug --debug
	# the base alone: the suites pass there too, with the base's bugs
	# (the known failures) showing, so the tests can see what the series fixes
	gate run-base gate_run run-base --no-series
	gate compile-steps gate_compile_steps
	gate warnings gate_warnings
	check_summary
}

# ./lab build-steps: every step of the series builds the whole guest
# kernel. A compile check, not a bisection (for that: git bisect run
# ./lab run --tree ., which exits 125 where a commit cannot be tested).
lab_build_steps() {
	local rev n=0
	run_paths
	run_dir build-steps-
	deps_install "${LAB_PACKAGES[@]}"
	source_tree
	gate_git_am || fail "the series does not apply; see $LAB_RUN/logs/check-git-am.log"
	LAB_OBJ=$LAB_BUILD/obj/build-steps-$LAB_BASE
	for rev in $(git -C "$CHECK_TREE" rev-list --reverse lab-base.."$CHECK_HEAD"); do
		n=$((n + 1))
		git -C "$CHECK_TREE" checkout -q -f --detach "$rev"
		stage steps "step $n: $(git -C "$CHECK_TREE" log -1 --format=%s "$rev")"
		# series.config names symbols that only exist once their patch is in
		LAB_NO_SERIES=$([ -f "$CHECK_TREE/mm/memremap_test.c" ] || echo 1)
		LAB_TREE=$CHECK_TREE configure_kernel
		LAB_TREE=$CHECK_TREE logged "$LAB_RUN/logs/step-$n.log" "step $n" kmake bzImage modules ||
			fail "step $n does not build: $(git -C "$CHECK_TREE" log -1 --format='%h %s' "$rev"); log: $LAB_RUN/logs/step-$n.log"
	done
	stage steps "all $n steps build bzImage and modules"
}
