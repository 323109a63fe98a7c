# shellcheck shell=bash
# Stage "patch": put the series from patches/ on top of lab-base with git am,
# as branch "lab". patches/ is the source of truth: the tree is rebuilt from
# it whenever it changes, and the lab refuses to throw away commits made in
# the tree that were never exported (./lab export writes them to patches/).

series_hash() {
	series_patches | xargs -r cat | sha256sum | cut -c1-16
}

patch_state_file() { echo "$(git -C "$LAB_TREE" rev-parse --path-format=absolute --git-common-dir)/lab-series"; }

# patch_tree: leave LAB_TREE at lab-base + the series (or at lab-base alone).
patch_tree() {
	local want head state patches n
	if [ -n "$LAB_NO_SERIES" ]; then
		patch_base_worktree
		return
	fi
	mapfile -t patches < <(series_patches)
	n=${#patches[@]}
	LAB_PATCH_COUNT=$n
	head=$(git -C "$LAB_TREE" rev-parse HEAD)
	if [ -n "$LAB_AS_IS" ]; then
		LAB_PATCH_COUNT=$(git -C "$LAB_TREE" rev-list --count lab-base..HEAD)
		stage patch "building the tree as it is: $LAB_PATCH_COUNT commits on lab-base (--as-is)"
		return 0
	fi
	want=$(series_hash)
	state=$(cat "$(patch_state_file)" 2>/dev/null || true)
	if [ "$state" = "$want $head" ] && tree_clean; then
		stage patch "series unchanged: $n patches applied"
		return 0
	fi
	if [ -z "$LAB_RESET" ] && ! tree_disposable "$state" "$head"; then
		die "$LAB_TREE has changes or commits not exported to patches/: run ./lab export, or pass --as-is to build them, or --reset to discard them"
	fi
	stage patch "applying $n patches with git am onto lab-base"
	git -C "$LAB_TREE" am --abort >/dev/null 2>&1 || true
	git -C "$LAB_TREE" checkout -q -f -B lab lab-base ||
		die "could not check out lab-base in $LAB_TREE"
	if ((n > 0)) && ! logged "$LAB_RUN/logs/git-am.log" "git am" \
		git -C "$LAB_TREE" am -q --whitespace=error-all "${patches[@]}"; then
		git -C "$LAB_TREE" am --abort >/dev/null 2>&1 || true
		die "git am failed: the series does not apply to $LAB_BASE_VERSION ($(git -C "$LAB_TREE" rev-parse --short lab-base)); log: $LAB_RUN/logs/git-am.log"
	fi
	echo "$want $(git -C "$LAB_TREE" rev-parse HEAD)" >"$(patch_state_file)"
}

tree_clean() {
	[ -z "$(git -C "$LAB_TREE" status --porcelain --untracked-files=no)" ]
}

# tree_disposable STATE HEAD: the tree holds nothing that patches/ lacks:
# it is clean and HEAD is the base or what the lab applied last time.
tree_disposable() {
	tree_clean || return 1
	[ "$2" = "$(git -C "$LAB_TREE" rev-parse lab-base)" ] && return 0
	[ "${1#* }" = "$2" ]
}

# patch_base_worktree: --no-series builds lab-base in a worktree of its own
# (build/linux-BASE-base), so the series tree and its build folder stay as they
# are and switching between the two does not rebuild everything.
patch_base_worktree() {
	local base=$LAB_TREE-base
	LAB_PATCH_COUNT=0
	stage patch "the base alone, in ${base#"$LAB_ROOT"/} (--no-series)"
	if [ ! -e "$base/.git" ]; then
		git -C "$LAB_TREE" worktree prune
		git -C "$LAB_TREE" worktree add -q --detach "$base" lab-base ||
			die "could not make a worktree of lab-base in $base"
	elif [ "$(git -C "$base" rev-parse HEAD)" != "$(git -C "$base" rev-parse lab-base)" ] ||
		[ -n "$(git -C "$base" status --porcelain --untracked-files=no)" ]; then
		git -C "$base" checkout -q -f --detach lab-base ||
			die "could not check out lab-base in $base"
	fi
	LAB_TREE=$base
}
