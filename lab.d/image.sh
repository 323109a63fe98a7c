# shellcheck shell=bash
# Stage "image": the guest's initramfs: busybox, the init in guest/init, the
# test programs built for this tree, ndctl/daxctl with their libraries, and
# the kernel's modules.

# image_copy_elf ROOT FILE...: FILE and the shared libraries it needs.
image_copy_elf() {
	local root=$1 f lib
	shift
	for f in "$@"; do
		install -D -m 0755 "$f" "$root$f"
		for lib in $(ldd "$f" | grep -o '/[^ ]*'); do
			[ -e "$root$lib" ] || install -D -m 0755 "$lib" "$root$lib"
		done
	done
}

make_image() {
	local root=$LAB_OBJ/initramfs
	LAB_INITRD=$LAB_OBJ/initramfs.cpio.gz
	stage image "initramfs: busybox, ndctl, daxctl, hmm-tests, guest/*.c, modules"
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,lab/bin,etc}
	install -m 0755 /bin/busybox "$root/bin/busybox"
	install -m 0755 "$LAB_ROOT/guest/init" "$root/init"
	install -m 0755 "$LAB_OBJ"/guest-bin/* "$root/lab/bin/"
	lab_suites >"$root/lab/suites"
	image_copy_elf "$root" "$(command -v ndctl)" "$(command -v daxctl)"
	cp -a "$LAB_OBJ/modroot/lib" "$root/" 2>/dev/null || true
	(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) \
		>"$LAB_INITRD" || die "could not write $LAB_INITRD"
	note "$(du -h "$LAB_INITRD" | cut -f1) ${LAB_INITRD#"$LAB_ROOT"/}"
}
