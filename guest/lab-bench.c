// SPDX-License-Identifier: GPL-2.0
/*
 * lab-bench: the guest half of ./lab bench. Each benchmark prints lines
 *
 *	bench NAME VALUE UNIT OPS
 *
 * on stdout, one per repetition (OPS: the operations the figure counts,
 * 1 for a time); the host compares base and patched kernels on them.
 * Each measured region is bracketed by two marker instructions that do
 * nothing on a CPU; under ./lab bench with LAB_BENCH_CLOCK=insns the
 * host's QEMU plugin (host/lab-insns.c) counts the guest's instructions
 * between them, one count per "bench" line, in the same order.
 *
 * Before the reported repetitions each benchmark warms up, unreported:
 * the first runs pay for the host backing the guest's and the emulated
 * NVDIMM's memory for the first time and run several times slower than
 * the rest. It repeats until every figure of a warm-up run is within
 * WARM_STEADY of the run before (at least 2, at most WARM_MAX runs) and
 * prints how many it took and whether the last run was steady
 * ("warmup NAME RUNS steady|unsteady"); with LAB_BENCH_WARMUP=N in the
 * environment it runs exactly N ("warmup NAME N fixed"). The hmm
 * benchmarks need test_hmm loaded (with the coherent devices for the
 * *-coherent ones); the dax ones take the devdax devices in $DAX_4K and
 * $DAX_2M, as the lab's init sets them up.
 *
 *   lab-bench hmm-migrate DEVICE MIB REPS    migrate to the device and back
 *   lab-bench hmm-migrate-thp DEVICE MIB REPS
 *                                            the same with THPs (order-9
 *                                            folios on the device)
 *   lab-bench hmm-fault DEVICE MIB REPS      CPU faults on device-private memory
 *   lab-bench dax-fault MIB REPS             devdax first touch, second pass,
 *                                            fault after munmap, unbind of
 *                                            the faulted device
 *   lab-bench hmm-teardown                   rmmod test_hmm
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <lib/test_hmm_uapi.h>

#define DAX_DRIVER	"/sys/bus/dax/drivers/device_dax"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * A measured region: region_begin() and region_end() return the time;
 * outside warm-up they also run the markers host/lab-insns.c counts
 * between, so each reported figure has exactly one region.
 */
static int warming_up;

static double region_begin(void)
{
	double t = now();

	/* the clock is read outside the markers: not counted */
	if (!warming_up)
		asm volatile("xchgw %%bx, %%bx" ::: "memory");
	return t;
}

static double region_end(void)
{
	if (!warming_up)
		asm volatile("xchgw %%dx, %%dx" ::: "memory");
	return now();
}

#define WARM_STEADY	0.10
#define WARM_MAX	6
#define FIGURES		16

static struct {
	char name[48];
	double last;
} warm[FIGURES];
static double warm_change;	/* largest relative change in this run */

/* During warm-up: how far @value moved since the last run of @name. */
static void warm_note(const char *name, const char *variant, double value)
{
	char key[48];
	int i;

	snprintf(key, sizeof(key), "%s-%s", name, variant);
	for (i = 0; i < FIGURES && warm[i].name[0]; i++)
		if (!strcmp(warm[i].name, key))
			break;
	if (i == FIGURES)
		return;
	if (!warm[i].name[0]) {
		strcpy(warm[i].name, key);
		warm_change = 1;	/* a first figure is never steady */
	} else if (warm[i].last > 0) {
		double d = (value - warm[i].last) / warm[i].last;

		if (d < 0)
			d = -d;
		if (d > warm_change)
			warm_change = d;
	}
	warm[i].last = value;
}

/* @ops operations in @secs seconds: a rate, higher is better */
static void report_rate(const char *name, const char *variant, double ops,
			double secs, const char *unit)
{
	if (warming_up) {
		warm_note(name, variant, ops / secs);
		return;
	}
	printf("bench %s%s%s %.1f %s %.0f\n", name, *variant ? "-" : "",
	       variant, ops / secs, unit, ops);
	fflush(stdout);
}

/* one operation that took @secs seconds: in ms, lower is better */
static void report_time(const char *name, const char *variant, double secs)
{
	if (warming_up) {
		warm_note(name, variant, secs);
		return;
	}
	printf("bench %s%s%s %.1f ms 1\n", name, *variant ? "-" : "",
	       variant, secs * 1000);
	fflush(stdout);
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static const char *hmm_kind(int device)
{
	return device >= 2 ? "coherent" : "private";
}

static int hmm_open(int device)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/hmm_dmirror%d", device);
	fd = open(path, O_RDWR);
	if (fd < 0)
		die(path);
	return fd;
}

/* Run a test_hmm command over @npages pages; it must report @expect. */
static void hmm_cmd_n(int fd, unsigned long request, void *addr, void *mirror,
		      unsigned long npages, unsigned long expect)
{
	struct hmm_dmirror_cmd cmd = {
		.addr = (uintptr_t)addr,
		.ptr = (uintptr_t)mirror,
		.npages = npages,
	};

	if (ioctl(fd, request, &cmd))
		die("test_hmm ioctl");
	if (cmd.cpages != expect) {
		fprintf(stderr, "test_hmm reported %llu for %lu pages, not %lu\n",
			(unsigned long long)cmd.cpages, npages, expect);
		exit(1);
	}
}

static void hmm_cmd(int fd, unsigned long request, void *addr, void *mirror,
		    unsigned long npages)
{
	hmm_cmd_n(fd, request, addr, mirror, npages, npages);
}

static void *anon_buffer(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	memset(p, 0x5a, size);
	return p;
}

/* Pages per second migrated to device memory, and back. */
static void hmm_migrate(int device, size_t mib, int reps)
{
	size_t size = mib << 20, npages = size / getpagesize();
	void *mirror = malloc(size);
	int fd = hmm_open(device), r;

	if (!mirror)
		die("malloc");
	for (r = 0; r < reps; r++) {
		void *buf = anon_buffer(size);
		double t0, t1, t2, t3;

		t0 = region_begin();
		hmm_cmd(fd, HMM_DMIRROR_MIGRATE_TO_DEV, buf, mirror, npages);
		t1 = region_end();
		t2 = region_begin();
		hmm_cmd(fd, HMM_DMIRROR_MIGRATE_TO_SYS, buf, mirror, npages);
		t3 = region_end();
		report_rate("hmm-migrate-to-dev", hmm_kind(device), npages,
			    t1 - t0, "pages/s");
		report_rate("hmm-migrate-to-sys", hmm_kind(device), npages,
			    t3 - t2, "pages/s");
		munmap(buf, size);
	}
	free(mirror);
	close(fd);
}

/*
 * The same with THPs: a 2M-aligned, MADV_HUGEPAGE buffer, so the device
 * gets order-9 folios (7.3's test_hmm migrates a THP as one). On the way
 * back test_hmm counts one per folio it migrated, so that count also
 * checks that every folio stayed whole on the device.
 */
static void hmm_migrate_thp(int device, size_t mib, int reps)
{
	size_t size = mib << 20, npages = size / getpagesize(), huge = 2 << 20;
	void *mirror = malloc(size);
	int fd = hmm_open(device), r;

	if (!mirror)
		die("malloc");
	for (r = 0; r < reps; r++) {
		char *raw = mmap(NULL, size + huge, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *buf;
		double t0, t1, t2, t3;

		if (raw == MAP_FAILED)
			die("mmap");
		buf = (char *)(((uintptr_t)raw + huge - 1) & ~(huge - 1));
		if (madvise(buf, size, MADV_HUGEPAGE))
			die("madvise");
		memset(buf, 0x5a, size);
		t0 = region_begin();
		hmm_cmd(fd, HMM_DMIRROR_MIGRATE_TO_DEV, buf, mirror, npages);
		t1 = region_end();
		t2 = region_begin();
		hmm_cmd_n(fd, HMM_DMIRROR_MIGRATE_TO_SYS, buf, mirror, npages,
			  size / huge);
		t3 = region_end();
		report_rate("hmm-migrate-thp-to-dev", hmm_kind(device), npages,
			    t1 - t0, "pages/s");
		report_rate("hmm-migrate-thp-to-sys", hmm_kind(device), npages,
			    t3 - t2, "pages/s");
		munmap(raw, size + huge);
	}
	free(mirror);
	close(fd);
}

/* Pages per second that CPU faults bring back from device memory. */
static void hmm_fault(int device, size_t mib, int reps)
{
	size_t size = mib << 20, npages = size / getpagesize(), i;
	void *mirror = malloc(size);
	int fd = hmm_open(device), r;
	volatile char sink;

	if (!mirror)
		die("malloc");
	for (r = 0; r < reps; r++) {
		char *buf = anon_buffer(size);
		double t0;

		hmm_cmd(fd, HMM_DMIRROR_MIGRATE_TO_DEV, buf, mirror, npages);
		t0 = region_begin();
		for (i = 0; i < size; i += getpagesize())
			sink = buf[i];
		report_rate("hmm-device-fault", hmm_kind(device), npages,
			    region_end() - t0, "pages/s");
		munmap(buf, size);
	}
	(void)sink;
	free(mirror);
	close(fd);
}

static void write_str(const char *path, const char *str)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, str, strlen(str)) != (ssize_t)strlen(str))
		die(path);
	close(fd);
}

/*
 * For one devdax device: faults per second touching every folio of a
 * fresh binding, the second pass over the faulted range, faults per
 * second touching it again through a new mapping after munmap (with the
 * series the folios were freed by munmap and are requested again), and
 * the time to unbind it with the range faulted and unmapped.
 */
static unsigned long dax_attr(const char *name, const char *attr)
{
	char path[128], buf[32];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/%s", name, attr);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path);
	len = read(fd, buf, sizeof(buf) - 1);
	if (len <= 0)
		die(path);
	buf[len] = '\0';
	close(fd);
	return strtoul(buf, NULL, 0);
}

static volatile char *dax_mmap(int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		die("mmap devdax");
	return p;
}

/* Seconds to write one byte of every folio of @p. */
static double touch_pass(volatile char *p, size_t size, size_t align)
{
	double t0 = region_begin();
	size_t i;

	for (i = 0; i < size; i += align)
		p[i] = 1;
	return region_end() - t0;
}

static void dax_fault(const char *env, size_t mib, int reps)
{
	const char *path = getenv(env), *name, *kind;
	size_t size = mib << 20, align, n;
	volatile char *p;
	int r, fd;

	if (!path)
		die(env);
	name = path + strlen("/dev/");
	align = dax_attr(name, "align");
	/* the device is a little smaller than its namespace */
	if (size > dax_attr(name, "size"))
		size = dax_attr(name, "size");
	size -= size % align;
	n = size / align;
	kind = align == 4096 ? "4k" : "2m";

	for (r = 0; r < reps; r++) {
		double t;

		fd = open(path, O_RDWR);
		if (fd < 0)
			die(path);
		/* one mapping: first touch, then a second pass over it */
		p = dax_mmap(fd, size);
		t = touch_pass(p, size, align);
		report_rate("dax-first-touch", kind, n, t, "faults/s");
		t = touch_pass(p, size, align);
		report_rate("dax-second-pass", kind, n, t, "touches/s");
		munmap((void *)p, size);
		/* a new mapping of the same range */
		p = dax_mmap(fd, size);
		t = touch_pass(p, size, align);
		report_rate("dax-refault", kind, n, t, "faults/s");
		munmap((void *)p, size);
		close(fd);

		t = region_begin();
		write_str(DAX_DRIVER "/unbind", name);
		report_time("dax-unbind", kind, region_end() - t);
		write_str(DAX_DRIVER "/bind", name);
	}
}

/* Time to remove test_hmm, its devices and all their device memory. */
static void hmm_teardown(void)
{
	double t0 = region_begin();

	if (syscall(SYS_delete_module, "test_hmm", O_NONBLOCK))
		die("delete_module test_hmm");
	report_time("hmm-teardown", "", region_end() - t0);
}

/* Run the benchmark named by the arguments @reps times; -1 if none is. */
static int run(int argc, char **argv, int reps)
{
	if (argc == 5 && !strcmp(argv[1], "hmm-migrate"))
		hmm_migrate(atoi(argv[2]), atol(argv[3]), reps);
	else if (argc == 5 && !strcmp(argv[1], "hmm-migrate-thp"))
		hmm_migrate_thp(atoi(argv[2]), atol(argv[3]), reps);
	else if (argc == 5 && !strcmp(argv[1], "hmm-fault"))
		hmm_fault(atoi(argv[2]), atol(argv[3]), reps);
	else if (argc == 4 && !strcmp(argv[1], "dax-fault")) {
		dax_fault("DAX_4K", atol(argv[2]), reps);
		dax_fault("DAX_2M", atol(argv[2]), reps);
	} else
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "hmm-teardown")) {
		hmm_teardown();
		return 0;
	}
	const char *fixed = getenv("LAB_BENCH_WARMUP");
	int runs = 0, want = fixed ? atoi(fixed) : 0;

	/*
	 * Warm-up runs, not reported, until steady; then the reported ones.
	 * With LAB_BENCH_WARMUP=N exactly N: the instruction clock does not
	 * see the host's warm-up, only the kernel's one-time work of a first
	 * run (test_hmm allocating its chunks, say), which one run absorbs.
	 */
	warming_up = 1;
	do {
		warm_change = 0;
		if (run(argc, argv, 1)) {
			fprintf(stderr, "usage: see the comment at the top of lab-bench.c\n");
			return 2;
		}
		++runs;
	} while (fixed ? runs < want :
		 runs < WARM_MAX && (runs < 2 || warm_change > WARM_STEADY));
	/* e.g. "warmup hmm-migrate-2 3 steady": never steady is worth knowing */
	printf("warmup %s%s%s %d %s\n", argv[1], argc == 5 ? "-" : "",
	       argc == 5 ? argv[2] : "", runs, fixed ? "fixed" :
	       warm_change > WARM_STEADY ? "unsteady" : "steady");
	warming_up = 0;
	run(argc, argv, atoi(argv[argc - 1]));
	return 0;
}
