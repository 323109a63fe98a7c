# shellcheck shell=bash
# Stage "report": parse the run's logs into results.json, print the summary
# table and the verdict. The parsing is report/results.py (python3, stdlib).

# The generation of guest/dax-tests.c: v1's (10 cases a variant, recorded
# runs on 6.12), v2's (16), or v3's (v2's and the 1G device). The
# manifest's dax counts are per generation.
LAB_DAX_SUITE=v3

report_run() {
	local series=applied variant=normal base=$LAB_BASE_VERSION rc=0 meta
	local base_name=$LAB_BASE package="$LAB_BASE_PKG $LAB_BASE_PKGVER"
	[ -z "$LAB_USER_TREE" ] || { base_name=tree; package=""; }
	[ -n "$LAB_NO_SERIES" ] && series=none
	[ -n "$LAB_AS_IS" ] && series=as-is
	[ -n "$LAB_DEBUG" ] && variant=debug
	meta=$(git -C "$LAB_TREE" rev-parse --path-format=absolute --git-common-dir)/lab-base-version
	[ -f "$meta" ] && base+=" (Debian $(cat "$meta"))"
	stage report "results: ${LAB_RUN#"$LAB_ROOT"/}/results.json"
	[ -n "$LAB_BOOT_ERROR" ] && printf 'lab: guest: %s\n' "$LAB_BOOT_ERROR" >&2
	python3 "$LAB_ROOT/report/results.py" --run "$LAB_RUN" --tree "$LAB_TREE" \
		--known "$LAB_ROOT/report/known-failures" \
		--expected-warnings "$LAB_ROOT/report/expected-warnings" \
		--known-skips "$LAB_ROOT/report/known-skips" \
		--manifest "$LAB_ROOT/report/manifest" \
		--meta "base=$base" \
		--meta "base_name=$base_name" --meta "base_package=$package" \
		--meta "base_commit=$(git -C "$LAB_TREE" rev-parse lab-base)" \
		--meta "tree=${LAB_USER_TREE:-debian}" \
		--meta "patches=$LAB_PATCH_COUNT" --meta "series=$series" \
		--meta "variant=$variant" --meta "thp=$LAB_THP" \
		--meta "base_series=$(grep -Eo '^[0-9]+\.[0-9]+' <<<"$LAB_BASE_VERSION")" \
		--meta "dax_suite=$LAB_DAX_SUITE" \
		--meta "only=$LAB_ONLY$([ -n "$LAB_EXEC" ] && echo exec)" \
		--meta "kernel=$LAB_KERNEL_RELEASE" \
		--meta "boot_error=$LAB_BOOT_ERROR" \
		--meta "elapsed_s=$(( $(date +%s) - LAB_T0 ))" >"$LAB_RUN/summary.txt" || rc=$?
	sed 's/^/         /' "$LAB_RUN/summary.txt"
	[ -s "$LAB_RUN/results.json" ] || die "report/results.py wrote no results.json; see the message above"
	return "$rc"
}
