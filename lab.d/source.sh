# shellcheck shell=bash
# Stage "source": the kernel tree the series is applied to, as a git tree
# whose tag lab-base marks the unpatched base.
#
# Default: the Debian base of config/bases (--base NAME), its package
# (lab.d/fetch.sh) unpacked once into build/linux-NAME and committed with a
# fixed identity and date, so the base commit id is the same on every
# machine for the same package version. With --tree PATH: a shared clone of
# PATH's HEAD in build/trees/NAME (the user's checkout is not touched).

git_fixed() {
	GIT_AUTHOR_NAME="pgmap-folio lab" GIT_AUTHOR_EMAIL="lab@pgmap-folio.invalid" \
	GIT_COMMITTER_NAME="pgmap-folio lab" GIT_COMMITTER_EMAIL="lab@pgmap-folio.invalid" \
	GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z" \
		git "$@"
}

# tree_identity TREE: commits made in the lab's trees, and the cover letter
# export writes from them, carry the project's identity, whatever identity
# the machine's git has; a tree's own local setting is kept.
tree_identity() {
	git -C "$1" config --local user.email >/dev/null ||
		git -C "$1" config --local user.email pgmap-folio@lists.example.org
	git -C "$1" config --local user.name >/dev/null ||
		git -C "$1" config --local user.name "pgmap-folio developers"
}

# ref_safe TEXT: TEXT usable in a git tag name (Debian versions have ~ and :).
ref_safe() {
	printf '%s' "$1" | tr '~:^ ' '____'
}

# source_import DEB PACKAGE VERSION: the source tarball in Debian's package
# DEB (/usr/src/PACKAGE.tar.xz, top folder PACKAGE) becomes the commit
# tagged lab-base of LAB_TREE, a root commit made with a fixed
# identity and date, so its id is the same on every machine. An existing
# repository is kept (its worktrees and history too): the old base stays
# as tag lab-base-OLDVERSION and the work tree moves to the new base.
source_import() {
	local deb=$1 top=$2 pkgver=$3 tmp=$LAB_TREE.unpack src tree commit
	local git_dir=$LAB_TREE/.git index="" old
	rm -rf "$tmp"
	mkdir -p "$tmp"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$top.tar.xz" | tar -C "$tmp" -xJ ||
		die "could not unpack /usr/src/$top.tar.xz of $deb (disk full? df -h $LAB_BUILD)"
	[ -d "$tmp/$top" ] || die "$deb has no folder $top in /usr/src/$top.tar.xz"
	if [ -d "$git_dir" ]; then
		src=$tmp/$top
		index=$tmp/index
	else
		rm -rf "$LAB_TREE"
		mv "$tmp/$top" "$LAB_TREE"
		git init -q -b lab "$LAB_TREE" || die "git init failed in $LAB_TREE"
		src=$LAB_TREE
	fi
	# Debian's .gitignore ends with "/*": add with -f, or nothing is added.
	tree=$(
		export GIT_DIR=$git_dir GIT_WORK_TREE=$src
		[ -z "$index" ] || export GIT_INDEX_FILE=$index
		git -C "$src" add -f -A . && git write-tree
	) && commit=$(git_fixed --git-dir="$git_dir" commit-tree "$tree" \
			-m "Debian $top $pkgver") ||
		die "could not make a git commit of the base in $LAB_TREE"
	old=$(cat "$git_dir/lab-base-version" 2>/dev/null || true)
	if [ -n "$old" ]; then
		git -C "$LAB_TREE" tag -f "lab-base-$(ref_safe "$old")" lab-base >/dev/null
		git -C "$LAB_TREE" tag -f lab-base "$commit" >/dev/null &&
			git -C "$LAB_TREE" checkout -q -f -B lab lab-base ||
			die "could not check out the new base in $LAB_TREE"
		note "the previous base stays as tag lab-base-$(ref_safe "$old")"
	else
		git -C "$LAB_TREE" update-ref refs/heads/lab "$commit" &&
			git -C "$LAB_TREE" tag -f lab-base "$commit" >/dev/null ||
			die "could not tag the base in $LAB_TREE"
	fi
	rm -rf "$tmp"
	tree_identity "$LAB_TREE"
	printf '%s\n' "$pkgver" >"$git_dir/lab-base-version"
	note "base commit $(git -C "$LAB_TREE" rev-parse --short lab-base)"
}

# source_debian: LAB_TREE at the selected base (config/bases), imported
# when it is not yet, or when its pinned version changed.
source_debian() {
	local pkg=$LAB_BASE_PKG pkgver=$LAB_BASE_PKGVER old state
	# before bases, the one tree was build/linux: its work must not be lost
	[ ! -d "$LAB_BUILD/linux/.git" ] ||
		die "build/linux is the lab's old layout (one base): move it with 'mv build/linux build/linux-6.12 && mv build/linux-base build/linux-6.12-base && git -C build/linux-6.12 worktree repair build/linux-6.12-base' (or delete it if it holds nothing unexported)"
	old=$(cat "$LAB_TREE/.git/lab-base-version" 2>/dev/null || true)
	if [ "$old" = "$pkgver" ]; then
		stage source "Debian $pkg $pkgver (cached in ${LAB_TREE#"$LAB_ROOT"/})"
		tree_identity "$LAB_TREE"
		return 0
	fi
	base_fetch
	if [ -n "$old" ] && [ -z "$LAB_RESET" ]; then
		state=$(cat "$(patch_state_file)" 2>/dev/null || true)
		tree_disposable "$state" "$(git -C "$LAB_TREE" rev-parse HEAD)" ||
			die "base $LAB_BASE is now $pkg $pkgver, and $LAB_TREE has work on $old not exported to patches/: run ./lab export first (or --reset to move to the new base anyway; the old branch stays as tag lab-work-$(ref_safe "$old"))"
	fi
	if [ -n "$old" ]; then
		git -C "$LAB_TREE" tag -f "lab-work-$(ref_safe "$old")" HEAD >/dev/null
		stage source "base $LAB_BASE is now $pkg $pkgver (was $old): importing it into ${LAB_TREE#"$LAB_ROOT"/}"
	else
		stage source "unpacking Debian $pkg $pkgver into a git tree (${LAB_TREE#"$LAB_ROOT"/})"
	fi
	source_import "$(base_deb)" "$pkg" "$pkgver"
}

source_user_tree() {
	local src head
	src=$(git -C "$LAB_USER_TREE" rev-parse --show-toplevel 2>/dev/null) ||
		die "--tree $LAB_USER_TREE: not a git work tree; pass the top of a kernel checkout"
	head=$(git -C "$src" rev-parse --verify -q HEAD) ||
		die "--tree $src: has no commit to build on"
	if [ ! -f "$src/mm/memremap.c" ] || [ ! -f "$src/Makefile" ]; then
		die "--tree $src: not a Linux kernel tree (no mm/memremap.c)"
	fi
	LAB_TREE=$LAB_BUILD/trees/$(basename "$src")
	stage source "your tree $src at ${head:0:12} (cloned into ${LAB_TREE#"$LAB_ROOT"/})"
	if [ -n "$(git -C "$src" status --porcelain --untracked-files=no)" ]; then
		note "warning: $src has uncommitted changes; the lab builds its HEAD only"
	fi
	if [ ! -d "$LAB_TREE/.git" ]; then
		git clone -q --shared --no-checkout "$src" "$LAB_TREE" ||
			die "could not clone $src into $LAB_TREE"
	fi
	if ! git -C "$LAB_TREE" fetch -q "$src" HEAD ||
		! git -C "$LAB_TREE" tag -f lab-base FETCH_HEAD >/dev/null; then
		die "could not fetch HEAD of $src into $LAB_TREE"
	fi
	tree_identity "$LAB_TREE"
	# a new clone has no work tree yet
	if [ ! -f "$LAB_TREE/Makefile" ]; then
		git -C "$LAB_TREE" checkout -q -f -B lab lab-base ||
			die "could not check out $head in $LAB_TREE"
	fi
}

# source_tree: set LAB_TREE and make sure its lab-base tag exists.
source_tree() {
	if [ -n "$LAB_USER_TREE" ]; then
		source_user_tree
	else
		source_debian
	fi
	LAB_BASE_VERSION=$(make -s -C "$LAB_TREE" kernelversion 2>/dev/null) ||
		die "$LAB_TREE: 'make kernelversion' failed; is it a kernel tree?"
}
