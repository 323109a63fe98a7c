# shellcheck shell=bash
# Stage "boot": the QEMU command line, and the guest run under a time limit.
# This file is the one place the guest machine is described.

# The guest: a q35 PC with 3G of RAM (2G below 4G, 1G above: q35 keeps
# 2G..4G for PCI), a CPU with 1G pages (QEMU's default qemu64 plus
# pdpe1gb, for 1G device-dax), an emulated NVDIMM (4G, sparse on the
# host, for device-dax: guest/init carves it), an Intel IOMMU
# with interrupt remapping (VFIO type1 insists on it) and QEMU's "edu" PCI
# device, which the guest binds to vfio-pci to DMA
# into device memory through VFIO type1.
#
# Guest RAM the kernel must not use, reserved with memmap= in the RAM
# above 4G: 512M at 4G for test_hmm's two DEVICE_COHERENT devices (256M
# each, section-aligned), and 4M at 4.5G for the KUnit cases of
# MEMORY_DEVICE_GENERIC pgmaps. 8 huge pages are set aside for the
# hugetlbfs cases of hmm-tests. A task blocked for 20 s (the hung-task
# timeout of config/base.config) or a soft lockup panics the guest, so a
# stuck case ends the run at once with its stack in serial.log.
# vCPUs of the guest (./lab bench's instruction clock boots one)
LAB_QEMU_SMP=2
# the emulated NVDIMM, a sparse file made afresh for every boot
LAB_PMEM_SIZE=4G
# shellcheck disable=SC2016 # the $ in memmap= is the kernel's syntax
LAB_GUEST_CMDLINE='console=ttyS0 panic=-1 hung_task_panic=1 softlockup_panic=1 intel_iommu=on hugepages=8 memmap=512M$0x100000000 test_hmm.spm_addr_dev0=0x100000000 test_hmm.spm_addr_dev1=0x110000000 memmap=4M$0x120000000 memremap_test.generic_phys=0x120000000'

# guest_only: the kernel command line for --only: the suites for
# guest/init, and KUnit's own switches (off, or one filter glob).
guest_only() {
	local item items kunit=""
	# --exec runs instead of the suites, KUnit's included
	[ -z "$LAB_EXEC" ] || { printf ' kunit.enable=0'; return 0; }
	[ -n "$LAB_ONLY" ] || return 0
	IFS=, read -ra items <<<"$LAB_ONLY"
	for item in "${items[@]}"; do
		case $item in
		kunit) kunit=all ;;
		kunit:*) kunit=${item#kunit:} ;;
		esac
	done
	printf ' lab.only=%s' "$LAB_ONLY"
	case $kunit in
	"") printf ' kunit.enable=0' ;;
	all) ;;
	*) printf ' kunit.filter_glob=%s' "$kunit" ;;
	esac
}

guest_cmdline() {
	local c="$LAB_GUEST_CMDLINE transparent_hugepage=$LAB_THP"
	[ -n "$LAB_SHELL" ] && c+=" lab.shell=1"
	[ -n "$LAB_EXEC" ] && c+=" lab.exec=$(printf '%s' "$LAB_EXEC" | base64 -w0)"
	c+=$(guest_only)
	[ -n "$LAB_APPEND" ] && c+=" $LAB_APPEND"
	echo "$c"
}

# qemu_cmd: the QEMU command line, one argument per array element.
qemu_cmd() {
	# shellcheck disable=SC2054 # QEMU options are comma-separated
	QEMU=(
		qemu-system-x86_64
		-machine q35,nvdimm=on -smp "$LAB_QEMU_SMP"
		-cpu qemu64,+pdpe1gb
		-m 3G,slots=4,maxmem=8G
		-device intel-iommu,intremap=on
		-device edu
		-nic none
		-object "memory-backend-file,id=nv0m,share=on,mem-path=$LAB_RUN/pmem.img,size=$LAB_PMEM_SIZE"
		-device nvdimm,memdev=nv0m,id=nv0,label-size=128K
		-kernel "$LAB_OBJ/arch/x86/boot/bzImage"
		-initrd "$LAB_OBJ/initramfs.cpio.gz"
		-append "$(guest_cmdline)"
		-display none -monitor none -no-reboot
	)
	# ./lab bench's instruction clock (lab.d/insns.sh): the plugin counts
	# the guest's instructions of each region lab-bench marks
	[ -z "${LAB_QEMU_PLUGIN:-}" ] ||
		QEMU+=(-plugin "$LAB_QEMU_PLUGIN" -d plugin -D "$LAB_RUN/insns.log")
	if [ -n "$LAB_SHELL" ]; then
		QEMU+=(-serial mon:stdio -serial "file:$LAB_RUN/results.log")
	else
		QEMU+=(-serial "file:$LAB_RUN/serial.log" -serial "file:$LAB_RUN/results.log")
	fi
}

# shell_words ARGS...: the arguments as one command line, quoted only where
# the shell needs it.
shell_words() {
	local a out=()
	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]]; then
			out+=("$a")
		else
			out+=("'${a//\'/\'\\\'\'}'")
		fi
	done
	echo "${out[*]}"
}

boot_dry_run() {
	qemu_cmd
	shell_words "${QEMU[@]}"
}

# boot_guest: run the guest; sets LAB_BOOT_ERROR to one line if it failed.
boot_guest() {
	boot_qemu
	trap - INT TERM HUP
	rm -f "$LAB_RUN/pmem.img"
}

boot_qemu() {
	local limit=${LAB_TIMEOUT:-$([ -n "$LAB_DEBUG" ] && echo 2400 || echo 900)} rc=0
	need qemu-system-x86_64 qemu-system-x86
	qemu_cmd
	LAB_BOOT_ERROR=""
	# the run's own NVDIMM (two guests must not share one); sparse, and
	# removed after the guest by boot_guest()
	truncate -s "$LAB_PMEM_SIZE" "$LAB_RUN/pmem.img"
	shell_words "${QEMU[@]}" >"$LAB_RUN/qemu.cmdline"
	if [ -n "$LAB_SHELL" ]; then
		stage boot "interactive guest: 'poweroff -f' (or Ctrl-A X) ends it"
		"${QEMU[@]}" || true
		return 0
	fi
	stage boot "QEMU (TCG, vCPUs: $LAB_QEMU_SMP), limit ${limit}s; serial: ${LAB_RUN#"$LAB_ROOT"/}/serial.log"
	: >"$LAB_RUN/serial.log"
	timeout "$limit" "${QEMU[@]}" 2>"$LAB_RUN/logs/qemu.log" &
	local pid=$! n=0 last="" done_at=""
	# timeout runs in a process group of its own: stopping the lab (^C)
	# stops the guest too, and with it the locks it inherited
	trap 'kill "${pid:-}" 2>/dev/null; rm -f "$LAB_RUN/pmem.img"; exit 130' INT TERM HUP
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		n=$((n + 1))
		if ((n % 15 == 0)); then
			# no match yet is not an error (set -e, pipefail)
			last=$(grep -a -o '@@LAB begin [a-z0-9-]*' "$LAB_RUN/serial.log" | tail -n1 || true)
			note "guest: ${last:-booting} ($(elapsed))"
		fi
		# the suites are done: give power-off 30 s, then stop the guest
		if [ -z "$done_at" ] && grep -aq '^@@LAB done' "$LAB_RUN/results.log" 2>/dev/null; then
			done_at=$n
		elif [ -n "$done_at" ] && ((n - done_at > 30)); then
			kill "$pid" 2>/dev/null
			wait "$pid" || true
			LAB_BOOT_ERROR="the guest hung at power-off after the suites (stopped by the lab); see the end of $LAB_RUN/serial.log"
			return 0
		fi
	done
	wait "$pid" || rc=$?
	if grep -aq '^@@LAB done' "$LAB_RUN/results.log" 2>/dev/null; then
		return 0
	fi
	if ((rc == 124)); then
		LAB_BOOT_ERROR="the guest did not finish within ${limit}s (hung in: ${last:-boot}); raise --timeout or read $LAB_RUN/serial.log"
	elif grep -aq 'Kernel panic' "$LAB_RUN/serial.log"; then
		LAB_BOOT_ERROR="the guest kernel panicked: '$(grep -a -m1 'Kernel panic' "$LAB_RUN/serial.log" | cut -c1-100)'; see $LAB_RUN/serial.log"
	elif [ -s "$LAB_RUN/logs/qemu.log" ]; then
		LAB_BOOT_ERROR="QEMU stopped (rc=$rc): '$(grep -v -m1 -i 'warning' "$LAB_RUN/logs/qemu.log" | cut -c1-120)'; see $LAB_RUN/logs/qemu.log"
	else
		LAB_BOOT_ERROR="the guest stopped before the suites finished (qemu rc=$rc); see $LAB_RUN/serial.log"
	fi
}
