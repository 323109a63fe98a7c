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

LAB_BENCH_ROUNDS=${LAB_BENCH_ROUNDS:-5}
LAB_BENCH_REPS=${LAB_BENCH_REPS:-3}
# MiB each hmm benchmark migrates (devdax: 4 times that)
LAB_BENCH_MIB=${LAB_BENCH_MIB:-64}

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
	LAB_APPEND="lab.bench=1 lab.bench_reps=$LAB_BENCH_REPS lab.bench_mib=$LAB_BENCH_MIB${LAB_USER_APPEND:+ $LAB_USER_APPEND}"
	boot_guest
	[ -z "$LAB_BOOT_ERROR" ] || die "$kernel kernel, round $round: $LAB_BOOT_ERROR"
	grep -q '^@@LAB end bench rc=0' "$LAB_RUN/results.log" ||
		die "$kernel kernel, round $round: the benchmarks failed; see $LAB_RUN/results.log"
	awk -v k="$kernel" -v r="$round" '$1 == "bench" { print k, r, $2, $3, $4 }' \
		"$LAB_RUN/results.log" >>"$BENCH_DIR/raw.txt"
	awk -v k="$kernel" -v r="$round" '$1 == "warmup" { print k, r, $2, $3, $4 }' \
		"$LAB_RUN/results.log" >>"$BENCH_DIR/warmup.txt"
}

lab_bench() {
	local round kernel order
	run_paths
	BENCH_DIR=$LAB_OUT/bench/$(date +%Y%m%d-%H%M%S)
	mkdir -p "$BENCH_DIR"
	ln -sfn "$(basename "$BENCH_DIR")" "$LAB_OUT/bench/latest"
	LAB_USER_APPEND=$LAB_APPEND
	deps_install "${LAB_PACKAGES[@]}" "${LAB_BENCH_PACKAGES[@]}"
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
	stage report "${BENCH_DIR#"$LAB_ROOT"/}/bench.json, bench.png"
	python3 "$LAB_ROOT/report/bench.py" --raw "$BENCH_DIR/raw.txt" \
		--out "$BENCH_DIR" --meta "rounds=$LAB_BENCH_ROUNDS" \
		--meta "reps=$LAB_BENCH_REPS" --meta "mib=$LAB_BENCH_MIB" \
		--meta "machine=$(nproc) cores, QEMU TCG" \
		--meta "date=$(date -u +%Y-%m-%dT%H:%MZ)" |
		sed 's/^/         /'
}
