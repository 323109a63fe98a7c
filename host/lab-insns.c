// SPDX-License-Identifier: GPL-2.0
/*
 * lab-insns: a QEMU TCG plugin that counts the guest instructions of the
 * regions guest/lab-bench.c marks, for ./lab bench with
 * LAB_BENCH_CLOCK=insns (lab.d/bench.sh builds and loads it).
 *
 * Host time under TCG moves with everything else the host does; the
 * number of instructions the guest executes for an operation does not.
 * lab-bench brackets each measured region with two marker instructions
 * that do nothing on a CPU:
 *
 *	xchg %bx,%bx	(66 87 db)	begin: note the count so far
 *	xchg %dx,%dx	(66 87 d2)	end: print the count since the begin
 *
 * and this plugin prints one line "lab-insns COUNT" per end marker to the
 * QEMU log (-d plugin -D FILE), in the order the regions ran. COUNT is
 * the instructions of every vCPU between the two markers: the kernel work
 * of the operation wherever it ran (a kworker on the other vCPU
 * included), plus the timer ticks and whatever else ran meanwhile.
 *
 * Instructions are counted per translated block when it starts, so a
 * block left early (a page fault, an interrupt) counts whole: a fixed
 * overcount per fault, the same for every kernel running the same
 * user code.
 *
 * With the argument "profile=on" it also prints, after each region's
 * count, where the region's instructions went: "lab-prof ADDR COUNT" per
 * guest address of a block that ran in it (report/insnprof.py names the
 * kernel functions). That is the lab's profiler: perf cannot sample
 * under TCG, but the plugin sees every block.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

/* one counter per vCPU, each written only by its vCPU's thread */
struct vcpu_count {
	uint64_t insns;
	char pad[56];
};

static struct vcpu_count *counts;
static int nr_vcpus;
static uint64_t begin_total;

/*
 * profile=on: every translated block, and how often it ran in a region.
 * One entry per translation, kept for the life of QEMU: meant for the
 * short runs of a profile (./lab bench profiles its first round only).
 */
struct block {
	uint64_t vaddr;
	uint64_t insns;
	uint64_t runs;
	struct block *next;
};

static int profile;
static int in_region;
static struct block *blocks;
static pthread_mutex_t blocks_lock = PTHREAD_MUTEX_INITIALIZER;

static const uint8_t marker_begin[] = { 0x66, 0x87, 0xdb };
static const uint8_t marker_end[] = { 0x66, 0x87, 0xd2 };

static uint64_t total(void)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < nr_vcpus; i++)
		sum += __atomic_load_n(&counts[i].insns, __ATOMIC_RELAXED);
	return sum;
}

static void tb_exec(unsigned int vcpu, void *udata)
{
	/* relaxed: only this vCPU's thread writes its counter */
	__atomic_store_n(&counts[vcpu].insns,
			 counts[vcpu].insns + (uintptr_t)udata, __ATOMIC_RELAXED);
}

static void tb_exec_profiled(unsigned int vcpu, void *udata)
{
	struct block *b = udata;

	tb_exec(vcpu, (void *)(uintptr_t)b->insns);
	if (__atomic_load_n(&in_region, __ATOMIC_RELAXED))
		__atomic_add_fetch(&b->runs, 1, __ATOMIC_RELAXED);
}

/*
 * Regions do not nest: a begin inside a region or an end outside one
 * would pair counts with the wrong figures, so it is reported instead
 * ("lab-insns-error", which report/insns.py refuses).
 */
static void region_begin(unsigned int vcpu, void *udata)
{
	if (__atomic_exchange_n(&in_region, 1, __ATOMIC_RELAXED))
		qemu_plugin_outs("lab-insns-error begin inside a region\n");
	__atomic_store_n(&begin_total, total(), __ATOMIC_RELAXED);
}

/* print the blocks that ran in the region, and zero their runs */
static void profile_dump(void)
{
	char line[64];
	struct block *b;

	pthread_mutex_lock(&blocks_lock);
	for (b = blocks; b; b = b->next) {
		uint64_t runs = __atomic_exchange_n(&b->runs, 0, __ATOMIC_RELAXED);

		if (!runs)
			continue;
		snprintf(line, sizeof(line), "lab-prof %llx %llu\n",
			 (unsigned long long)b->vaddr,
			 (unsigned long long)(runs * b->insns));
		qemu_plugin_outs(line);
	}
	pthread_mutex_unlock(&blocks_lock);
}

static void region_end(unsigned int vcpu, void *udata)
{
	char line[48];

	if (!__atomic_exchange_n(&in_region, 0, __ATOMIC_RELAXED)) {
		qemu_plugin_outs("lab-insns-error end outside a region\n");
		return;
	}
	snprintf(line, sizeof(line), "lab-insns %llu\n",
		 (unsigned long long)(total() -
				      __atomic_load_n(&begin_total, __ATOMIC_RELAXED)));
	qemu_plugin_outs(line);
	if (profile)
		profile_dump();
}

static int is_marker(struct qemu_plugin_insn *insn, const uint8_t *marker)
{
	return qemu_plugin_insn_size(insn) == sizeof(marker_begin) &&
	       !memcmp(qemu_plugin_insn_data(insn), marker, sizeof(marker_begin));
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);

	if (profile) {
		struct block *b = calloc(1, sizeof(*b));

		if (!b)
			abort();
		b->vaddr = qemu_plugin_tb_vaddr(tb);
		b->insns = n;
		pthread_mutex_lock(&blocks_lock);
		b->next = blocks;
		blocks = b;
		pthread_mutex_unlock(&blocks_lock);
		qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec_profiled,
						     QEMU_PLUGIN_CB_NO_REGS, b);
	} else {
		qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec,
						     QEMU_PLUGIN_CB_NO_REGS,
						     (void *)(uintptr_t)n);
	}
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);

		if (is_marker(insn, marker_begin))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, region_begin,
							       QEMU_PLUGIN_CB_NO_REGS, NULL);
		else if (is_marker(insn, marker_end))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, region_end,
							       QEMU_PLUGIN_CB_NO_REGS, NULL);
	}
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info,
					   int argc, char **argv)
{
	if (argc == 1 && !strcmp(argv[0], "profile=on"))
		profile = 1;
	else if (argc) {
		fprintf(stderr, "lab-insns: the only argument is profile=on\n");
		return -1;
	}
	if (!info->system_emulation) {
		fprintf(stderr, "lab-insns: system emulation only\n");
		return -1;
	}
	nr_vcpus = info->system.max_vcpus;
	counts = calloc(nr_vcpus, sizeof(*counts));
	if (!counts)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	return 0;
}
