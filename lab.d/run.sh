# shellcheck shell=bash
# ./lab run: the pipeline, stage by stage; ./lab export.

# run_paths: the kernel tree and build folder for this tree and variant.
run_paths() {
	local tree=debian-$LAB_BASE variant=normal
	[ -n "$LAB_USER_TREE" ] && tree=tree-$(basename "$LAB_USER_TREE")
	[ -n "$LAB_DEBUG" ] && variant=debug
	[ -n "$LAB_USER_CONFIG" ] &&
		variant+=-cfg$(sha256sum "$LAB_USER_CONFIG" | cut -c1-8)
	[ -n "$LAB_NO_SERIES" ] && variant+=-base
	LAB_OBJ=$LAB_BUILD/obj/$tree-$variant
	LAB_TREE=$LAB_BUILD/linux-$LAB_BASE
	[ -n "$LAB_USER_TREE" ] && LAB_TREE=$LAB_BUILD/trees/$(basename "$LAB_USER_TREE")
	LAB_RUN_NAME=$tree-$variant
	mkdir -p "$LAB_BUILD"
}

# run_dir PREFIX: a new run folder in out/, and out/latest pointing at it.
run_dir() {
	new_dir "$LAB_OUT/$1$(date +%Y%m%d-%H%M%S)-$LAB_RUN_NAME"
	LAB_RUN=$LAB_NEW_DIR
	mkdir -p "$LAB_RUN/logs"
	ln -sfn "$(basename "$LAB_RUN")" "$LAB_OUT/latest"
}

# lab_build: from the base source to a bootable kernel and initramfs.
lab_build() {
	source_tree
	patch_tree
	configure_kernel
	build_kernel
	build_guest_programs
	make_image
}

# lab_reuse: --no-build: the kernel of the last build of this tree and
# variant, as it is; the guest programs and the initramfs are remade (they
# take seconds, and are what one edits between two boots).
lab_reuse() {
	[ -n "$LAB_NO_SERIES" ] && LAB_TREE=$LAB_TREE-base
	[ -f "$LAB_OBJ/arch/x86/boot/bzImage" ] && [ -d "$LAB_OBJ/modroot" ] ||
		die "--no-build: nothing built in ${LAB_OBJ#"$LAB_ROOT"/} yet: run once without it"
	LAB_BASE_VERSION=$(make -s -C "$LAB_TREE" kernelversion 2>/dev/null) ||
		die "$LAB_TREE: 'make kernelversion' failed; is it a kernel tree?"
	LAB_PATCH_COUNT=0
	[ -n "$LAB_NO_SERIES" ] ||
		LAB_PATCH_COUNT=$(git -C "$LAB_TREE" rev-list --count lab-base..HEAD)
	LAB_KERNEL_RELEASE=$(cat "$LAB_OBJ/include/config/kernel.release")
	stage build "--no-build: kernel $LAB_KERNEL_RELEASE as built in ${LAB_OBJ#"$LAB_ROOT"/} ($(date -r "$LAB_OBJ/arch/x86/boot/bzImage" '+%F %T'))"
	build_guest_programs
	make_image
}

lab_prepare() {
	deps_install "${LAB_PACKAGES[@]}"
	lab_lock "$LAB_OBJ"
	if [ -n "$LAB_NO_BUILD" ]; then
		lab_reuse
	else
		lab_build
	fi
}

lab_run() {
	run_paths
	if [ -n "$LAB_DRY_RUN" ]; then
		LAB_RUN=$LAB_OUT/RUN
		boot_dry_run
		return 0
	fi
	run_dir ""
	lab_prepare
	boot_guest
	[ -n "$LAB_SHELL" ] && return 0
	report_run
}

# The posting the series in patches/ is: v2 (v1 is commit cd98390 of this repository).
LAB_SUBJECT_PREFIX="PATCH v2"

# lab_export: the commits on lab-base in the lab's tree become patches/.
# The cover letter's subject and text are kept from the current
# 0000-cover-letter.patch (they are written by hand); its shortlog,
# diffstat, base-commit and To/Cc (scripts/get_maintainer.pl) are redone.
lab_export() {
	local n old=$LAB_ROOT/patches/0000-cover-letter.patch tmp
	run_paths
	[ -d "$LAB_TREE/.git" ] || die "no kernel tree in $LAB_TREE: run ./lab run first"
	tree_clean || die "$LAB_TREE has uncommitted changes: commit them first"
	n=$(git -C "$LAB_TREE" rev-list --count lab-base..HEAD)
	stage export "$n commits of ${LAB_TREE#"$LAB_ROOT"/} -> patches/"
	tmp=$(mktemp -d)
	git -C "$LAB_TREE" format-patch -q --no-signature --zero-commit \
		--subject-prefix="$LAB_SUBJECT_PREFIX" \
		--cover-letter --base=lab-base -o "$tmp" lab-base..HEAD ||
		die "git format-patch failed"
	python3 "$LAB_ROOT/report/cover_letter.py" --old "$old" --new "$tmp/0000-cover-letter.patch" \
		--tree "$LAB_TREE" "$tmp"/0[0-9][0-9][0-9]-*.patch ||
		die "could not write the cover letter"
	find "$LAB_ROOT/patches" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' -delete
	mv "$tmp"/*.patch "$LAB_ROOT/patches/"
	rmdir "$tmp"
	# The tree now matches patches/: remember it, so ./lab run does not re-apply.
	LAB_NO_SERIES=""
	echo "$(series_hash) $(git -C "$LAB_TREE" rev-parse HEAD)" >"$(patch_state_file)"
	git -C "$LAB_ROOT" status --short -- patches | sed 's/^/         /'
}
