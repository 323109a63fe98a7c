# shellcheck shell=bash
# Stage "config": make allnoconfig + the fragments in config/ (and --config
# FILE), merged with the kernel's own scripts/kconfig/merge_config.sh, then
# every symbol the fragments ask for is checked in the final .config.

# config_version_fragment: config/base-VERSION.config for this tree, the
# one of the newest VERSION that is not newer than the tree's.
config_version_fragment() {
	local f v pick="" tree=${LAB_BASE_VERSION%%-*}
	for f in $(find "$LAB_ROOT/config" -name 'base-[0-9]*.config' | sort -V); do
		v=${f##*/base-}
		v=${v%.config}
		[ "$(printf '%s\n' "$v" "$tree" | sort -V | head -n1)" = "$v" ] && pick=$f
	done
	[ -n "$pick" ] || die "no config/base-VERSION.config for kernel $LAB_BASE_VERSION (the oldest is $(find "$LAB_ROOT/config" -name 'base-[0-9]*.config' -printf '%f\n' | sort -V | head -n1))"
	echo "$pick"
}

config_fragments() {
	echo "$LAB_ROOT/config/base.config"
	echo "$LAB_VERSION_FRAGMENT"
	[ -z "$LAB_NO_SERIES" ] && echo "$LAB_ROOT/config/series.config"
	[ -n "$LAB_DEBUG" ] && echo "$LAB_ROOT/config/debug.config"
	[ -n "$LAB_USER_CONFIG" ] && echo "$LAB_USER_CONFIG"
	return 0
}

# config_verify CONFIG FRAGMENT...: every CONFIG_X=v and "# CONFIG_X is not
# set" of the fragments must be in CONFIG as asked.
config_verify() {
	local config=$1 line sym want got bad=()
	shift
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*) sym=${line%%=*}; want=${line#*=} ;;
		"# CONFIG_"*" is not set") sym=${line#\# }; sym=${sym%% *}; want=n ;;
		*) continue ;;
		esac
		got=$(grep -E "^$sym=" "$config" | cut -d= -f2- || true)
		[ -n "$got" ] || got=n
		[ "$got" = "$want" ] || bad+=("$sym=$want (got $got)")
	done < <(cat "$@")
	if ((${#bad[@]})); then
		die "Kconfig: ${bad[*]} did not survive olddefconfig: a dependency is missing; add it to the fragment (see 'make menuconfig', search the symbol)"
	fi
}

configure_kernel() {
	local frags f
	LAB_VERSION_FRAGMENT=$(config_version_fragment) || exit
	mapfile -t frags < <(config_fragments)
	for f in "${frags[@]}"; do
		[ -r "$f" ] || die "config fragment $f not found"
	done
	stage config "allnoconfig + $(printf '%s ' "${frags[@]##*/}")-> ${LAB_OBJ#"$LAB_ROOT"/}"
	mkdir -p "$LAB_OBJ"
	# -n: merge onto allnoconfig; make runs in the tree with O= the build folder.
	logged "$LAB_RUN/logs/config.log" "config" \
		env -C "$LAB_TREE" ARCH=x86_64 scripts/kconfig/merge_config.sh -n -O "$LAB_OBJ" \
		"${frags[@]}" ||
		die "merge_config.sh failed; log: $LAB_RUN/logs/config.log"
	config_verify "$LAB_OBJ/.config" "${frags[@]}"
}
