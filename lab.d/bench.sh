# shellcheck shell=bash
# ./lab bench: the base and the patched kernel, built from the same tree
# and config as ./lab run --no-series and ./lab run build them, booted in
# turn under the same QEMU settings to run guest/lab-bench.c;
# report/bench.py turns the figures into ratios. Each round boots three
# guests: the base, the patched kernel and the base again ("control").
# control/base is an A/A comparison: the same kernel in the same
# alternation, so its ratio is the noise floor of each row. The order
# turns round every other round (base, patched, control; then control,
# patched, base), so base and control share the slots around the patched
# kernel and drift of the host shows in the control ratio.
#
# LAB_BENCH_CLOCK=insns measures in guest instructions instead of host
# time: QEMU loads host/lab-insns.c (lab.d/insns.sh), which counts the
# instructions of every region lab-bench measures, and report/insns.py
# turns each figure into operations per million instructions (a time into
# the million instructions it took). The guest gets one vCPU. The work per
# operation moves far less with the host's load than host time under TCG
# does, but it does move: the guest's timer ticks (HZ=250, periodic) come
# in host time, so a slower guest runs more of them per region. With
# LAB_BENCH_PROFILE=1 as well, the plugin records where the instructions
# of each region went, and report/insnprof.py prints per benchmark the
# kernel functions whose instructions per operation differ most between
# base and patched (profile.txt, from the first round).

LAB_BENCH_ROUNDS=${LAB_BENCH_ROUNDS:-5}
LAB_BENCH_REPS=${LAB_BENCH_REPS:-3}
# MiB each hmm benchmark migrates (devdax: 4 times that)
LAB_BENCH_MIB=${LAB_BENCH_MIB:-64}
LAB_BENCH_CLOCK=${LAB_BENCH_CLOCK:-host}
LAB_BENCH_PROFILE=${LAB_BENCH_PROFILE:-}

# bench_prepare KERNEL: build the base or patched kernel and its initramfs
# (in a subshell: the stages set globals), logs in the bench folder.
bench_prepare() {
	local kernel=$1
	(
		LAB_NO_SERIES=""
		[ "$kernel" = patched ] || LAB_NO_SERIES=1
		run_paths
		LAB_RUN=$BENCH_DIR/prepare-$kernel
		mkdir -p "$LAB_RUN/logs"
		lab_build
	) || die "could not build the $kernel kernel for the benchmark"
}

# bench_boot KERNEL ROUND: one guest running the benchmarks.
bench_boot() {
	local kernel=$1 round=$2
	LAB_NO_SERIES=""
	[ "$kernel" = patched ] || LAB_NO_SERIES=1
	run_paths
	LAB_RUN=$BENCH_DIR/$kernel-$round
	mkdir -p "$LAB_RUN/logs"
	LAB_APPEND="lab.bench=1 lab.bench_reps=$LAB_BENCH_REPS lab.bench_mib=$LAB_BENCH_MIB"
	# instructions: one warm-up run, for the kernel's one-time work
	[ "$LAB_BENCH_CLOCK" = host ] || LAB_APPEND+=" lab.bench_warmup=1"
	LAB_APPEND+=${LAB_USER_APPEND:+ $LAB_USER_APPEND}
	cp "$LAB_OBJ/System.map" "$LAB_RUN/"
	# the profile is of round 1 only: it slows the guest
	if [ -n "$LAB_BENCH_PROFILE" ]; then
		LAB_QEMU_PLUGIN=${LAB_QEMU_PLUGIN%,profile=on}
		[ "$round" != 1 ] || LAB_QEMU_PLUGIN+=,profile=on
	fi
	boot_guest
	[ -z "$LAB_BOOT_ERROR" ] || die "$kernel kernel, round $round: $LAB_BOOT_ERROR"
	grep -q '^@@LAB end bench rc=0' "$LAB_RUN/results.log" ||
		die "$kernel kernel, round $round: the benchmarks failed; see $LAB_RUN/results.log"
	if [ "$LAB_BENCH_CLOCK" = insns ]; then
		python3 "$LAB_ROOT/report/insns.py" "$LAB_RUN/results.log" "$LAB_RUN/insns.log" \
			>"$LAB_RUN/insns.txt" 2>"$LAB_RUN/logs/insns.log" ||
			die "$kernel kernel, round $round: $(cat "$LAB_RUN/logs/insns.log")"
		awk -v k="$kernel" -v r="$round" '{ print k, r, $0 }' \
			"$LAB_RUN/insns.txt" >>"$BENCH_DIR/raw.txt"
	else
		awk -v k="$kernel" -v r="$round" '$1 == "bench" { print k, r, $2, $3, $4 }' \
			"$LAB_RUN/results.log" >>"$BENCH_DIR/raw.txt"
	fi
	awk -v k="$kernel" -v r="$round" '$1 == "warmup" { print k, r, $2, $3, $4 }' \
		"$LAB_RUN/results.log" >>"$BENCH_DIR/warmup.txt"
}

lab_bench() {
	local round kernel order clock="host time"
	[[ $LAB_BENCH_CLOCK =~ ^(host|insns)$ ]] ||
		usage_error "LAB_BENCH_CLOCK=$LAB_BENCH_CLOCK: use host or insns"
	[[ $LAB_BENCH_PROFILE =~ ^1?$ ]] ||
		usage_error "LAB_BENCH_PROFILE=$LAB_BENCH_PROFILE: use 1, or leave it unset"
	[ -z "$LAB_BENCH_PROFILE" ] || [ "$LAB_BENCH_CLOCK" = insns ] ||
		usage_error "LAB_BENCH_PROFILE needs LAB_BENCH_CLOCK=insns"
	run_paths
	new_dir "$LAB_OUT/bench/$(date +%Y%m%d-%H%M%S)"
	BENCH_DIR=$LAB_NEW_DIR
	ln -sfn "$(basename "$BENCH_DIR")" "$LAB_OUT/bench/latest"
	LAB_USER_APPEND=$LAB_APPEND
	deps_install "${LAB_PACKAGES[@]}" "${LAB_BENCH_PACKAGES[@]}"
	if [ "$LAB_BENCH_CLOCK" = insns ]; then
		insns_plugin
		clock="guest instructions (host/lab-insns.c)"
		# one vCPU: no instructions spent spinning on a vCPU thread the
		# host has not scheduled (IPIs, spinlocks)
		LAB_QEMU_SMP=1
	fi
	# both build folders, for the builds and every boot of them
	LAB_NO_SERIES=1 run_paths
	lab_lock "$LAB_OBJ"
	LAB_NO_SERIES="" run_paths
	lab_lock "$LAB_OBJ"
	bench_prepare base
	bench_prepare patched
	: >"$BENCH_DIR/raw.txt"
	: >"$BENCH_DIR/warmup.txt"
	for round in $(seq 1 "$LAB_BENCH_ROUNDS"); do
		order="base patched control"
		((round % 2)) || order="control patched base"
		for kernel in $order; do
			stage bench "round $round of $LAB_BENCH_ROUNDS: $kernel kernel"
			bench_boot "$kernel" "$round"
		done
	done
	if grep -q ' unsteady$' "$BENCH_DIR/warmup.txt"; then
		note "warm-up never became steady for: $(awk '$5 == "unsteady" { print $1 "-" $2 ":" $3 }' "$BENCH_DIR/warmup.txt" | sort -u | tr '\n' ' ')"
	fi
	if [ -n "$LAB_BENCH_PROFILE" ]; then
		python3 "$LAB_ROOT/report/insnprof.py" "$BENCH_DIR/base-1" "$BENCH_DIR/patched-1" \
			>"$BENCH_DIR/profile.txt" || die "report/insnprof.py failed"
		note "profile: ${BENCH_DIR#"$LAB_ROOT"/}/profile.txt"
	fi
	stage report "${BENCH_DIR#"$LAB_ROOT"/}/bench.json, bench.png"
	python3 "$LAB_ROOT/report/bench.py" --raw "$BENCH_DIR/raw.txt" \
		--out "$BENCH_DIR" --meta "rounds=$LAB_BENCH_ROUNDS" \
		--meta "reps=$LAB_BENCH_REPS" --meta "mib=$LAB_BENCH_MIB" \
		--meta "machine=$(nproc) cores, QEMU TCG, $LAB_QEMU_SMP vCPUs" --meta "clock=$clock" \
		--meta "date=$(date -u +%Y-%m-%dT%H:%MZ)" |
		sed 's/^/         /'
}
