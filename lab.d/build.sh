# shellcheck shell=bash
# Stage "build": the kernel (bzImage + modules) in the build folder, its uapi
# headers, and the static guest test programs built against them.

build_kernel() {
	stage build "bzImage + modules, -j$LAB_JOBS (log: ${LAB_RUN#"$LAB_ROOT"/}/logs/build.log)"
	logged "$LAB_RUN/logs/build.log" "build" kmake bzImage modules ||
		die "kernel build failed; log: $LAB_RUN/logs/build.log"
	rm -rf "$LAB_OBJ/modroot" "$LAB_OBJ/hdr"
	logged "$LAB_RUN/logs/build-install.log" "install" \
		kmake INSTALL_MOD_PATH="$LAB_OBJ/modroot" INSTALL_MOD_STRIP=1 \
		INSTALL_HDR_PATH="$LAB_OBJ/hdr" modules_install headers_install ||
		die "modules_install/headers_install failed; log: $LAB_RUN/logs/build-install.log"
	LAB_KERNEL_RELEASE=$(cat "$LAB_OBJ/include/config/kernel.release")
	note "kernel $LAB_KERNEL_RELEASE, ccache: $(ccache -s 2>/dev/null | grep -m1 -i 'hits:' | tr -s ' ' || echo n/a)"
}

# guest_cc OUT SRC...: a static guest program against this tree's headers.
guest_cc() {
	local out=$1
	shift
	gcc -static -O2 -Wall -Werror -U_FORTIFY_SOURCE -D_GNU_SOURCE \
		-isystem "$LAB_OBJ/hdr/include" -I "$LAB_TREE" \
		-I "$LAB_TREE/tools/include" -I "$LAB_TREE/tools/testing/selftests" \
		-o "$out" "$@" -lrt -lpthread -lm
}

# selftest_build NAME: the mm selftest NAME, static, with the tree's own
# selftests rules (tools/testing/selftests/mm/Makefile: its flags and the
# helper objects each version links in), against this build's uapi headers.
selftest_build() {
	make -C "$LAB_TREE/tools/testing/selftests/mm" OUTPUT="$LAB_OBJ/guest-bin" \
		KHDR_INCLUDES="-isystem $LAB_OBJ/hdr/include" EXTRA_CFLAGS=-static \
		"$LAB_OBJ/guest-bin/$1"
}

build_guest_programs() {
	local bin=$LAB_OBJ/guest-bin src
	stage build "guest programs: hmm-tests (selftests build) and the lab's tests in guest/"
	rm -rf "$bin"
	mkdir -p "$bin"
	(
		selftest_build hmm-tests &&
		for src in "$LAB_ROOT"/guest/*.c; do
			guest_cc "$bin/$(basename "$src" .c)" "$src" || exit 1
		done
	) >"$LAB_RUN/logs/guest-programs.log" 2>&1 ||
		die "a guest program did not compile against this tree; log: $LAB_RUN/logs/guest-programs.log"
}
