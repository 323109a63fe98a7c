// SPDX-License-Identifier: GPL-2.0
/*
 * lab-bench: the guest half of ./lab bench. Each benchmark prints lines
 *
 *	bench NAME VALUE UNIT
 *
 * on stdout, one per repetition; the host compares base and patched
 * kernels on them. Each benchmark runs once more than asked, first, and
 * does not report that run: it pays for the host backing the guest's and
 * the emulated NVDIMM's memory for the first time. The hmm benchmarks need test_hmm loaded (with the
 * coherent devices for the *-coherent ones); the dax ones take the devdax
 * devices in $DAX_4K and $DAX_2M, as the lab's init sets them up.
 *
 *   lab-bench hmm-migrate DEVICE MIB REPS    migrate to the device and back
 *   lab-bench hmm-fault DEVICE MIB REPS      CPU faults on device-private memory
 *   lab-bench dax-fault MIB REPS             devdax first touch, second pass,
 *                                            unbind of the faulted device
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

static int warming_up;

static void report(const char *name, const char *variant, double value,
		   const char *unit)
{
	if (warming_up)
		return;
	printf("bench %s%s%s %.1f %s\n", name, *variant ? "-" : "", variant,
	       value, unit);
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

static void hmm_cmd(int fd, unsigned long request, void *addr, void *mirror,
		    unsigned long npages)
{
	struct hmm_dmirror_cmd cmd = {
		.addr = (uintptr_t)addr,
		.ptr = (uintptr_t)mirror,
		.npages = npages,
	};

	if (ioctl(fd, request, &cmd))
		die("test_hmm ioctl");
	if (cmd.cpages != npages) {
		fprintf(stderr, "test_hmm moved %llu of %lu pages\n",
			(unsigned long long)cmd.cpages, npages);
		exit(1);
	}
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
		double t0 = now(), t1, t2;

		hmm_cmd(fd, HMM_DMIRROR_MIGRATE_TO_DEV, buf, mirror, npages);
		t1 = now();
		hmm_cmd(fd, HMM_DMIRROR_MIGRATE_TO_SYS, buf, mirror, npages);
		t2 = now();
		report("hmm-migrate-to-dev", hmm_kind(device), npages / (t1 - t0),
		       "pages/s");
		report("hmm-migrate-to-sys", hmm_kind(device), npages / (t2 - t1),
		       "pages/s");
		munmap(buf, size);
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
		t0 = now();
		for (i = 0; i < size; i += getpagesize())
			sink = buf[i];
		report("hmm-device-fault", hmm_kind(device), npages / (now() - t0),
		       "pages/s");
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
 * fresh binding, the second pass over the faulted range, and the time to
 * unbind it with the range faulted and unmapped.
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

static void dax_fault(const char *env, size_t mib, int reps)
{
	const char *path = getenv(env), *name;
	size_t size = mib << 20, align, i, n;
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

	for (r = 0; r < reps; r++) {
		volatile char *p;
		double t0, t1, t2;

		fd = open(path, O_RDWR);
		if (fd < 0)
			die(path);
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			die("mmap devdax");
		t0 = now();
		for (i = 0; i < size; i += align)
			p[i] = 1;
		t1 = now();
		for (i = 0; i < size; i += align)
			p[i] = 2;
		t2 = now();
		report("dax-first-touch", align == 4096 ? "4k" : "2m",
		       n / (t1 - t0), "faults/s");
		report("dax-second-pass", align == 4096 ? "4k" : "2m",
		       n / (t2 - t1), "touches/s");
		munmap((void *)p, size);
		close(fd);

		t0 = now();
		write_str(DAX_DRIVER "/unbind", name);
		report("dax-unbind", align == 4096 ? "4k" : "2m",
		       (now() - t0) * 1000, "ms");
		write_str(DAX_DRIVER "/bind", name);
	}
}

/* Time to remove test_hmm, its devices and all their device memory. */
static void hmm_teardown(void)
{
	double t0 = now();

	if (syscall(SYS_delete_module, "test_hmm", O_NONBLOCK))
		die("delete_module test_hmm");
	report("hmm-teardown", "", (now() - t0) * 1000, "ms");
}

/* Run the benchmark named by the arguments @reps times; -1 if none is. */
static int run(int argc, char **argv, int reps)
{
	if (argc == 5 && !strcmp(argv[1], "hmm-migrate"))
		hmm_migrate(atoi(argv[2]), atol(argv[3]), reps);
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
	/* a warm-up run, not reported, then the reported ones */
	warming_up = 1;
	if (run(argc, argv, 1)) {
		fprintf(stderr, "usage: see the comment at the top of lab-bench.c\n");
		return 2;
	}
	warming_up = 0;
	run(argc, argv, atoi(argv[argc - 1]));
	return 0;
}
