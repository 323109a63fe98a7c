// SPDX-License-Identifier: GPL-2.0
/*
 * dax-tests: device-dax on emulated pmem, as the pgmap-folio lab runs it.
 *
 * The guest's init creates a 2M-aligned and a 4K-aligned devdax namespace
 * and a raw pmem block device, and passes them as DAX_2M, DAX_4K and
 * PMEM_BLK. Each test runs on both devdax devices (the fixture variants).
 *
 * The "dax" fixture checks that mappings work: shared read/write, private
 * mappings refused, O_DIRECT through the mapping (GUP) in both directions,
 * fork, the live-folio count, and bind/unbind cycles. The "dax_unbind"
 * fixture holds pages in a pipe across unbind: the unbind must wait for the
 * pipe. It runs last because the unpatched base oopses there.
 *
 * Before each test a "@@LAB case NAME" line goes to the kernel log, so the
 * lab can tell which test was running when the kernel complained.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define SZ_4K		4096UL
#define SZ_2M		(2UL << 20)
#define MAP_LEN		(4 * SZ_2M)
#define DIO_LEN		(1UL << 20)
#define SPLICE_LEN	(16 * 1024UL)
#define NR_CYCLES	50
#define DAX_DRIVER	"/sys/bus/dax/drivers/device_dax"

struct dax_dev {
	char name[64];		/* dax0.0 */
	char path[PATH_MAX];	/* /dev/dax0.0 */
	unsigned long align;
	unsigned long size;
};

static int read_ulong(const char *path, unsigned long *val)
{
	char buf[64];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	*val = strtoul(buf, NULL, 0);
	return 0;
}

static int write_str(const char *path, const char *str)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, str, strlen(str));
	close(fd);
	return n == (ssize_t)strlen(str) ? 0 : -errno;
}

/* dax_lookup: the devdax device named by environment variable @env. */
static int dax_lookup(const char *env, struct dax_dev *d)
{
	const char *path = getenv(env);
	char attr[PATH_MAX];

	if (!path || strncmp(path, "/dev/dax", 8))
		return -ENODEV;
	snprintf(d->path, sizeof(d->path), "%s", path);
	snprintf(d->name, sizeof(d->name), "%s", path + 5);
	snprintf(attr, sizeof(attr), "/sys/bus/dax/devices/%s/align", d->name);
	if (read_ulong(attr, &d->align))
		return -ENODEV;
	snprintf(attr, sizeof(attr), "/sys/bus/dax/devices/%s/size", d->name);
	return read_ulong(attr, &d->size);
}

static int dax_unbind(const struct dax_dev *d)
{
	return write_str(DAX_DRIVER "/unbind", d->name);
}

static int dax_bind(const struct dax_dev *d)
{
	return write_str(DAX_DRIVER "/bind", d->name);
}

/*
 * live_folios: how many folios the device-dax instance holds, from the
 * debugfs file the series adds; -1 when this kernel does not have it.
 */
static long live_folios(const struct dax_dev *d)
{
	char path[PATH_MAX];
	unsigned long val;

	snprintf(path, sizeof(path), "/sys/kernel/debug/dax/%s/live_folios",
		 d->name);
	return read_ulong(path, &val) ? -1 : (long)val;
}

static void kmsg_mark(const char *fixture, const char *variant,
		      const char *test)
{
	char buf[256];
	int fd = open("/dev/kmsg", O_WRONLY);

	if (fd < 0)
		return;
	snprintf(buf, sizeof(buf), "@@LAB case %s.%s.%s\n", fixture, variant,
		 test);
	if (write(fd, buf, strlen(buf)) < 0)
		perror("/dev/kmsg");
	close(fd);
}

static uint64_t pattern(unsigned int seed, size_t i)
{
	return (seed + 1) * 0x9E3779B97F4A7C15ULL + i;
}

static void fill(void *p, size_t len, unsigned int seed)
{
	uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / sizeof(*w); i++)
		w[i] = pattern(seed, i);
}

/* check: the byte offset of the first word that differs, or -1. */
static long check(const void *p, size_t len, unsigned int seed)
{
	const uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / sizeof(*w); i++)
		if (w[i] != pattern(seed, i))
			return i * sizeof(*w);
	return -1;
}

static void *dax_map(int fd, size_t len, int flags)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);
}

/* wait_exit: the child's wait status, or -1 if it runs past @ms. */
static int wait_exit(pid_t pid, int ms)
{
	int status, i;

	for (i = 0; i < ms / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(10000);
	}
	return -1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

FIXTURE(dax) {
	struct dax_dev dev;
	int fd;
	int pmem;
};

FIXTURE_VARIANT(dax) {
	const char *name;
	const char *env;
	unsigned long align;
};

FIXTURE_VARIANT_ADD(dax, align_2m) {
	.name = "align_2m",
	.env = "DAX_2M",
	.align = SZ_2M,
};

FIXTURE_VARIANT_ADD(dax, align_4k) {
	.name = "align_4k",
	.env = "DAX_4K",
	.align = SZ_4K,
};

FIXTURE_SETUP(dax)
{
	const char *blk = getenv("PMEM_BLK");

	kmsg_mark("dax", variant->name, _metadata->name);
	ASSERT_EQ(0, dax_lookup(variant->env, &self->dev))
		TH_LOG("no devdax device in $%s", variant->env);
	ASSERT_EQ(variant->align, self->dev.align);
	ASSERT_LE(MAP_LEN, self->dev.size);
	self->fd = open(self->dev.path, O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", self->dev.path,
				      strerror(errno));
	self->pmem = blk ? open(blk, O_RDWR | O_DIRECT) : -1;
}

FIXTURE_TEARDOWN(dax)
{
	if (self->pmem >= 0)
		close(self->pmem);
	if (self->fd >= 0)
		close(self->fd);
}

/* A shared mapping keeps what was written, across munmap and a new mmap. */
TEST_F(dax, mmap_shared_write_read)
{
	void *p = dax_map(self->fd, MAP_LEN, MAP_SHARED);

	ASSERT_NE(MAP_FAILED, p);
	fill(p, MAP_LEN, 1);
	ASSERT_EQ(-1, check(p, MAP_LEN, 1));
	ASSERT_EQ(0, munmap(p, MAP_LEN));

	p = dax_map(self->fd, MAP_LEN, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(-1, check(p, MAP_LEN, 1));
	ASSERT_EQ(0, munmap(p, MAP_LEN));
}

TEST_F(dax, mmap_private_refused)
{
	void *p = dax_map(self->fd, MAP_LEN, MAP_PRIVATE);

	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EINVAL, errno);
}

/*
 * O_DIRECT between the pmem block device and the devdax mapping: the block
 * layer pins the mapping's pages with GUP. @prefault: touch the mapping
 * first, or leave GUP to fault it in.
 */
static void dio_write_from_mapping(struct __test_metadata *_metadata,
				   FIXTURE_DATA(dax) *self, int prefault)
{
	void *p, *back;

	ASSERT_LE(0, self->pmem) TH_LOG("no pmem block device in $PMEM_BLK");
	p = dax_map(self->fd, MAP_LEN, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	fill(p, DIO_LEN, 2);
	if (!prefault) {
		ASSERT_EQ(0, munmap(p, MAP_LEN));
		p = dax_map(self->fd, MAP_LEN, MAP_SHARED);
		ASSERT_NE(MAP_FAILED, p);
	}
	ASSERT_EQ((ssize_t)DIO_LEN, pwrite(self->pmem, p, DIO_LEN, 0));
	ASSERT_EQ(0, posix_memalign(&back, SZ_4K, DIO_LEN));
	ASSERT_EQ((ssize_t)DIO_LEN, pread(self->pmem, back, DIO_LEN, 0));
	ASSERT_EQ(-1, check(back, DIO_LEN, 2));
	free(back);
	ASSERT_EQ(0, munmap(p, MAP_LEN));
}

static void dio_read_into_mapping(struct __test_metadata *_metadata,
				  FIXTURE_DATA(dax) *self, int prefault)
{
	void *p, *src;

	ASSERT_LE(0, self->pmem) TH_LOG("no pmem block device in $PMEM_BLK");
	ASSERT_EQ(0, posix_memalign(&src, SZ_4K, DIO_LEN));
	fill(src, DIO_LEN, 3);
	ASSERT_EQ((ssize_t)DIO_LEN, pwrite(self->pmem, src, DIO_LEN, 0));
	free(src);
	p = dax_map(self->fd, MAP_LEN, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	if (prefault)
		memset(p, 0, DIO_LEN);
	ASSERT_EQ((ssize_t)DIO_LEN, pread(self->pmem, p, DIO_LEN, 0));
	ASSERT_EQ(-1, check(p, DIO_LEN, 3));
	ASSERT_EQ(0, munmap(p, MAP_LEN));
}

TEST_F(dax, odirect_write_from_prefaulted_mapping)
{
	dio_write_from_mapping(_metadata, self, 1);
}

TEST_F(dax, odirect_write_from_unfaulted_mapping)
{
	dio_write_from_mapping(_metadata, self, 0);
}

TEST_F(dax, odirect_read_into_prefaulted_mapping)
{
	dio_read_into_mapping(_metadata, self, 1);
}

TEST_F(dax, odirect_read_into_unfaulted_mapping)
{
	dio_read_into_mapping(_metadata, self, 0);
}

/* A forked child sees the parent's data and the parent sees the child's. */
TEST_F(dax, fork_child_shares_mapping)
{
	void *p = dax_map(self->fd, MAP_LEN, MAP_SHARED);
	int status;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, p);
	fill(p, MAP_LEN / 2, 4);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (check(p, MAP_LEN / 2, 4) != -1)
			_exit(1);
		fill((char *)p + MAP_LEN / 2, MAP_LEN / 2, 5);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("the child read other data");
	ASSERT_EQ(-1, check((char *)p + MAP_LEN / 2, MAP_LEN / 2, 5));
	ASSERT_EQ(0, munmap(p, MAP_LEN));
}

/*
 * A mapping whose file offset is one page: on a 4K-aligned device it sees
 * the device from that page on; on a 2M-aligned device its PMD fault has
 * no aligned folio to map and must get SIGBUS (with no kernel warning)
 * rather than map misaligned memory.
 */
TEST_F(dax, mmap_offset_one_page)
{
	char *whole = dax_map(self->fd, MAP_LEN, MAP_SHARED), *hole, *p;
	int status;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, whole);
	fill(whole, 2 * SZ_2M, 6);
	/* an aligned address, so that only the offset is unaligned */
	hole = mmap(NULL, 2 * SZ_2M, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	ASSERT_NE(MAP_FAILED, hole);
	p = (char *)(((uintptr_t)hole + SZ_2M - 1) & ~(SZ_2M - 1));
	p = mmap(p, SZ_2M, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 self->fd, getpagesize());
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap at offset 4K: %s", strerror(errno));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(memcmp(p, whole + getpagesize(), SZ_2M) ? 1 : 0);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	if (variant->align > (unsigned long)getpagesize()) {
		ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS)
			TH_LOG("a misaligned PMD fault did not get SIGBUS (status %#x)",
			       status);
	} else {
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
			TH_LOG("the mapping at offset 4K read other data (status %#x)",
			       status);
	}
	ASSERT_EQ(0, munmap(hole, 2 * SZ_2M));
	ASSERT_EQ(0, munmap(whole, MAP_LEN));
}

/*
 * The device holds one folio per faulted folio until it is unbound: the
 * count follows the faults, survives munmap, and is zero after unbind.
 * Touches are 2M apart, so that they land in different folios on a
 * 4K-aligned device too (which may use PMD-sized folios).
 */
TEST_F(dax, live_folios_follow_faults_and_unbind)
{
	unsigned long nr = 3, i;
	void *p;

	if (live_folios(&self->dev) < 0)
		SKIP(return, "no live_folios in debugfs: the kernel lacks the series");
	/* device-dax does not support unbind under an open file */
	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(0, dax_unbind(&self->dev));
	ASSERT_EQ(0, live_folios(&self->dev));
	ASSERT_EQ(0, dax_bind(&self->dev));
	ASSERT_EQ(0, live_folios(&self->dev));

	self->fd = open(self->dev.path, O_RDWR);
	ASSERT_LE(0, self->fd);
	p = dax_map(self->fd, MAP_LEN, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < nr; i++)
		((volatile char *)p)[i * SZ_2M] = 1;
	ASSERT_EQ(nr, live_folios(&self->dev));
	for (i = 0; i < nr; i++)
		((volatile char *)p)[i * SZ_2M + 8] = 2;
	ASSERT_EQ(nr, live_folios(&self->dev));
	ASSERT_EQ(0, munmap(p, MAP_LEN));
	ASSERT_EQ(nr, live_folios(&self->dev));

	close(self->fd);
	ASSERT_EQ(0, dax_unbind(&self->dev));
	ASSERT_EQ(0, live_folios(&self->dev));
	ASSERT_EQ(0, dax_bind(&self->dev));
	self->fd = open(self->dev.path, O_RDWR);
	ASSERT_LE(0, self->fd);
}

/* Bind, map, fault, unmap, unbind, many times: nothing is left behind. */
TEST_F_TIMEOUT(dax, bind_map_unbind_cycles, 600)
{
	int counted = live_folios(&self->dev) >= 0;
	double t0, slowest = 0;
	void *p;
	int i;

	close(self->fd);
	for (i = 0; i < NR_CYCLES; i++) {
		self->fd = open(self->dev.path, O_RDWR);
		ASSERT_LE(0, self->fd) TH_LOG("cycle %d: open", i);
		p = dax_map(self->fd, MAP_LEN, MAP_SHARED);
		ASSERT_NE(MAP_FAILED, p) TH_LOG("cycle %d: mmap", i);
		fill(p, SZ_4K, 100 + i);
		fill((char *)p + MAP_LEN - SZ_2M, SZ_4K, 200 + i);
		ASSERT_EQ(-1, check(p, SZ_4K, 100 + i));
		ASSERT_EQ(-1, check((char *)p + MAP_LEN - SZ_2M, SZ_4K, 200 + i));
		ASSERT_EQ(0, munmap(p, MAP_LEN));
		close(self->fd);

		t0 = now();
		ASSERT_EQ(0, dax_unbind(&self->dev)) TH_LOG("cycle %d: unbind", i);
		if (now() - t0 > slowest)
			slowest = now() - t0;
		if (counted)
			ASSERT_EQ(0, live_folios(&self->dev)) TH_LOG("cycle %d", i);
		ASSERT_EQ(0, dax_bind(&self->dev)) TH_LOG("cycle %d: bind", i);
	}
	/* nothing pinned the pages: no unbind may have waited */
	ASSERT_GT(5.0, slowest) TH_LOG("an unbind took %.1fs", slowest);
	self->fd = open(self->dev.path, O_RDWR);
	ASSERT_LE(0, self->fd);
}

FIXTURE(dax_unbind) {
	struct dax_dev dev;
	int fd;
};

FIXTURE_VARIANT(dax_unbind) {
	const char *name;
	const char *env;
};

FIXTURE_VARIANT_ADD(dax_unbind, align_2m) {
	.name = "align_2m",
	.env = "DAX_2M",
};

FIXTURE_VARIANT_ADD(dax_unbind, align_4k) {
	.name = "align_4k",
	.env = "DAX_4K",
};

FIXTURE_SETUP(dax_unbind)
{
	kmsg_mark("dax_unbind", variant->name, _metadata->name);
	ASSERT_EQ(0, dax_lookup(variant->env, &self->dev))
		TH_LOG("no devdax device in $%s", variant->env);
	self->fd = open(self->dev.path, O_RDWR);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(dax_unbind)
{
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * Pages spliced into a pipe hold references on the device's folios. Unbind
 * must wait until the pipe lets go of them, then finish; the device binds
 * and works again afterwards.
 */
TEST_F_TIMEOUT(dax_unbind, pin_across_unbind, 30)
{
	struct iovec iov;
	int pipefd[2], status;
	void *p;
	pid_t pid;

	p = dax_map(self->fd, MAP_LEN, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	fill(p, SPLICE_LEN, 6);
	ASSERT_EQ(0, pipe(pipefd));
	iov.iov_base = p;
	iov.iov_len = SPLICE_LEN;
	ASSERT_EQ((ssize_t)SPLICE_LEN, vmsplice(pipefd[1], &iov, 1, 0));
	ASSERT_EQ(0, munmap(p, MAP_LEN));
	close(self->fd);
	self->fd = -1;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* the pipe must not outlive the parent's close through us */
		close(pipefd[0]);
		close(pipefd[1]);
		_exit(dax_unbind(&self->dev) ? 1 : 0);
	}

	/* the pipe still holds the pages: unbind must not complete */
	status = wait_exit(pid, 2000);
	EXPECT_EQ(-1, status) TH_LOG("unbind completed with pages in the pipe");
	if (status != -1)
		return;	/* closing the pipe now touches freed struct pages */

	close(pipefd[0]);
	close(pipefd[1]);
	status = wait_exit(pid, 10000);
	ASSERT_NE(-1, status) TH_LOG("unbind still waits after the pipe closed");
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("unbind failed");

	ASSERT_EQ(0, dax_bind(&self->dev));
	self->fd = open(self->dev.path, O_RDWR);
	ASSERT_LE(0, self->fd);
	p = dax_map(self->fd, MAP_LEN, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	fill(p, SZ_2M, 7);
	ASSERT_EQ(-1, check(p, SZ_2M, 7));
	ASSERT_EQ(0, munmap(p, MAP_LEN));
}

TEST_HARNESS_MAIN
