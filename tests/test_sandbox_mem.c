/* SPDX-License-Identifier: MIT */
/*
 * Memory hygiene across the processes of a real mount: while a volume is
 * mounted and files are open, the FEKEK bytes are in keyd's memory and in
 * no other process (frontend, cryptod, supervisor), and the passphrase is
 * in none of the four once the mount serves. The test creates the volume with a
 * known passphrase and small Argon2id parameters, unwraps slot 0 itself
 * (docs/VOLUME.md: Argon2id KEK, AES-256-GCM, AD = header[0,48) ||
 * slot[0,60)) to learn the FEKEK, then reads /proc/PID/mem of each process
 * (root). Needs root and /dev/fuse; otherwise exits 77.
 */
#include <argon2.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <mbedtls/gcm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cunit_main.h"
#include "sandbox_testlib.h"

#define PASSPHRASE "sandbox memory test: tangerine 7741 quartz"

static char tdir[64], lower[96], mnt[96], passfile[96];
static uint8_t fekek[32];
static int mounted;

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Runs argv (no shell); returns the exit status or -1. */
static int run(char *const argv[])
{
	fflush(NULL);
	pid_t p = fork();
	if (p < 0)
		return -1;
	if (p == 0) {
		int nul = open("/dev/null", O_WRONLY);
		if (nul >= 0)
			dup2(nul, STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	if (waitpid(p, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Reads the volume config and unwraps slot 0 with the passphrase.
 * Returns 0 or a negative step number. */
static int unwrap_fekek(void)
{
	char path[160];
	uint8_t buf[4096];
	snprintf(path, sizeof(path), "%s/.cryptstack.conf", lower);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 64 + 140 || memcmp(buf, "CSVOLCFG", 8))
		return -2;
	const uint8_t *s = buf + 64;
	if (s[0] != 1 || get32(s + 4) != 140)
		return -3;
	uint32_t t = get32(s + 16), m = get32(s + 20), par = get32(s + 24);
	uint8_t kek[32], ad[48 + 60], out[64];
	if (argon2id_hash_raw(t, m, par, PASSPHRASE, strlen(PASSPHRASE),
			      s + 32, 16, kek, sizeof(kek)) != ARGON2_OK)
		return -4;
	memcpy(ad, buf, 48);
	memcpy(ad + 48, s, 60);
	mbedtls_gcm_context g;
	mbedtls_gcm_init(&g);
	int rc = mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, kek, 256);
	if (rc == 0)
		rc = mbedtls_gcm_auth_decrypt(&g, 64, s + 48, 12, ad, sizeof(ad),
					      s + 124, 16, s + 60, out);
	mbedtls_gcm_free(&g);
	if (rc != 0)
		return -5;
	memcpy(fekek, out, 32);
	return 0;
}

/* Counts occurrences of needle (len bytes) in the readable memory of pid;
 * -1 if its memory cannot be read at all. */
static long count_in_mem(pid_t pid, const void *needle, size_t len)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *maps = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	int mem = open(path, O_RDONLY);
	long hits = 0, regions = 0;
	const size_t chunk = 1u << 20;
	uint8_t *buf = malloc(chunk + len);
	if (!maps || mem < 0 || !buf) {
		hits = -1;
		goto out;
	}
	while (fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;
		char perm[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) != 3 ||
		    perm[0] != 'r' || strstr(line, "[vvar") ||
		    strstr(line, "[vsyscall]"))
			continue;
		size_t carry = 0;
		for (unsigned long a = lo; a < hi;) {
			size_t want = hi - a < chunk ? hi - a : chunk;
			ssize_t got = pread(mem, buf + carry, want, (off_t)a);
			if (got <= 0)
				break;
			regions++;
			size_t have = carry + (size_t)got;
			for (uint8_t *p = buf; (p = memmem(p, have - (size_t)(p - buf),
							     needle, len));
			     p++)
				hits++;
			/* keep the tail so a match across chunks counts */
			carry = have < len - 1 ? have : len - 1;
			memmove(buf, buf + have - carry, carry);
			a += (unsigned long)got;
		}
	}
	if (regions == 0)
		hits = -1;
out:
	free(buf);
	if (mem >= 0)
		close(mem);
	if (maps)
		fclose(maps);
	return hits;
}

/* argv[0] basename of pid into out; 0 or -1. */
static int prog_name(pid_t pid, char *out, size_t cap)
{
	char path[64], cmd[512];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, cmd, sizeof(cmd) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	cmd[n] = '\0';
	const char *b = strrchr(cmd, '/');
	b = b ? b + 1 : cmd;
	if (strlen(b) >= cap)
		return -1;
	memcpy(out, b, strlen(b) + 1);
	return 0;
}

/* The supervisor of the mount at m: a "cryptstack" whose command line
 * names the mountpoint. */
static pid_t find_supervisor_of(const char *m)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;
	while (d && (e = readdir(d))) {
		char path[300], cmd[2048], name[64];
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid <= 0 || prog_name(pid, name, sizeof(name)) < 0 ||
		    strcmp(name, "cryptstack"))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		for (ssize_t i = 0; i < n; i++)
			if (!cmd[i])
				cmd[i] = ' ';
		cmd[n > 0 ? n : 0] = '\0';
		size_t ml = strlen(m);
		for (char *q = strstr(cmd, m); q; q = strstr(q + 1, m))
			if (q[ml] == ' ' || q[ml] == '\0')
				found = pid;
	}
	if (d)
		closedir(d);
	return found;
}

static pid_t find_supervisor(void)
{
	return find_supervisor_of(mnt);
}

/* The child of sup whose program is name, or 0. */
static pid_t find_child(pid_t sup, const char *name)
{
	char path[320], list[1024], nm[64];
	DIR *d;
	struct dirent *e;
	pid_t found = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)sup);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/children",
			 (int)sup, e->d_name);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, list, sizeof(list) - 1);
		close(fd);
		list[n > 0 ? n : 0] = '\0';
		for (char *tok = strtok(list, " \n"); tok;
		     tok = strtok(NULL, " \n")) {
			pid_t c = (pid_t)atoi(tok);
			if (c > 0 && prog_name(c, nm, sizeof(nm)) == 0 &&
			    !strcmp(nm, name))
				found = c;
		}
	}
	if (d)
		closedir(d);
	return found;
}

static void test_fekek_only_in_keyd(void)
{
	char p[160];
	int fds[3] = { -1, -1, -1 };
	static char data[65536];

	/* Files open through the mount: cryptod holds their FEKs and has
	 * asked keyd to unwrap them. */
	memset(data, 'q', sizeof(data));
	snprintf(p, sizeof(p), "%s/open-for-write", mnt);
	fds[0] = open(p, O_CREAT | O_RDWR, 0600);
	CU_ASSERT_FATAL(fds[0] >= 0);
	CU_ASSERT(write(fds[0], data, sizeof(data)) == (ssize_t)sizeof(data));
	CU_ASSERT(fsync(fds[0]) == 0);
	snprintf(p, sizeof(p), "%s/dir", mnt);
	CU_ASSERT(mkdir(p, 0700) == 0);
	snprintf(p, sizeof(p), "%s/dir/second", mnt);
	fds[1] = open(p, O_CREAT | O_RDWR, 0600);
	CU_ASSERT(fds[1] >= 0 && write(fds[1], "x", 1) == 1);
	snprintf(p, sizeof(p), "%s/open-for-write", mnt);
	fds[2] = open(p, O_RDONLY);
	CU_ASSERT(fds[2] >= 0 && pread(fds[2], data, 100, 4000) == 100);

	pid_t sup = find_supervisor();
	CU_ASSERT_FATAL(sup > 0);
	struct {
		const char *name;
		pid_t pid;
	} procs[4] = {
		{ "cryptstack-keyd", find_child(sup, "cryptstack-keyd") },
		{ "cryptstack-cryptod", find_child(sup, "cryptstack-cryptod") },
		{ "cryptstack-frontend",
		  find_child(sup, "cryptstack-frontend") },
		{ "cryptstack (supervisor)", sup },
	};
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_FATAL(procs[i].pid > 0);
		long f = count_in_mem(procs[i].pid, fekek, sizeof(fekek));
		long pw = count_in_mem(procs[i].pid, PASSPHRASE,
				       strlen(PASSPHRASE));
		printf("\n  %-24s pid %-7d FEKEK copies %ld, passphrase "
		       "copies %ld", procs[i].name, (int)procs[i].pid, f, pw);
		CU_ASSERT(f >= 0); /* memory was readable */
		if (i == 0) {
			CU_ASSERT(f > 0); /* the scan finds what is there */
		} else {
			CU_ASSERT_EQUAL(f, 0);
		}
		/* keyd wipes the unlock material once unlocked, the
		 * supervisor after handing it over */
		CU_ASSERT_EQUAL(pw, 0);
	}
	printf("\n");
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Value of "Field:" in a /proc status-like file, or -1. */
static long status_field(const char *path, const char *field)
{
	return (long)sbt_status_field(path, field, 10, (unsigned long long)-1);
}

/* The real helpers of the mount entered their sandboxes: every thread
 * runs under a seccomp filter (mode 2) with no_new_privs, core dumps are
 * off. (Each policy's forbidden actions: test_sandbox_procs.) */
static void test_helpers_confined(void)
{
	static const char *const names[] = { "cryptstack-keyd",
					     "cryptstack-cryptod",
					     "cryptstack-frontend" };
	pid_t sup = find_supervisor();
	CU_ASSERT_FATAL(sup > 0);
	for (int i = 0; i < 3; i++) {
		pid_t pid = find_child(sup, names[i]);
		char path[320];
		CU_ASSERT_FATAL(pid > 0);
		snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
		DIR *d = opendir(path);
		struct dirent *e;
		int threads = 0;
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/task/%s/status",
				 (int)pid, e->d_name);
			long sc = status_field(path, "Seccomp:");
			long nnp = status_field(path, "NoNewPrivs:");
			if (sc != 2 || nnp != 1)
				printf("\n  %s thread %s: Seccomp %ld "
				       "NoNewPrivs %ld", names[i], e->d_name,
				       sc, nnp);
			CU_ASSERT_EQUAL(sc, 2);
			CU_ASSERT_EQUAL(nnp, 1);
			threads++;
		}
		if (d)
			closedir(d);
		CU_ASSERT(threads > 0);
		snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
		FILE *f = fopen(path, "r");
		char line[256];
		int core0 = 0;
		while (f && fgets(line, sizeof(line), f)) {
			char soft[32], hard[32];
			if (!strncmp(line, "Max core file size", 18) &&
			    sscanf(line + 18, "%31s %31s", soft, hard) == 2)
				core0 = !strcmp(soft, "0") && !strcmp(hard, "0");
		}
		if (f)
			fclose(f);
		CU_ASSERT(core0);
	}
}

static const char *cs_bin = CS_CLI_BIN;

/* ---- -o user=NAME: cryptod as an unprivileged user ------------------ */

static char lower2[96], mnt2[96];
static int mounted2;
static unsigned nobody_uid, nobody_gid;

static unsigned long long status_hex(const char *path, const char *field)
{
	char line[256];
	unsigned long long v = ~0ULL;
	FILE *f = fopen(path, "r");
	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			v = strtoull(line + strlen(field), NULL, 16);
	fclose(f);
	return v;
}

static int as_nobody(const char *create, const char *deny)
{
	fflush(NULL);
	pid_t p = fork();
	if (p == 0) {
		if (setgroups(0, NULL) || setresgid(nobody_gid, nobody_gid,
						    nobody_gid) ||
		    setresuid(nobody_uid, nobody_uid, nobody_uid))
			_exit(10);
		int fd = open(create, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0 || write(fd, "n", 1) != 1)
			_exit(11);
		close(fd);
		fd = open(deny, O_RDONLY);
		_exit(fd < 0 && errno == EACCES ? 0 : 12);
	}
	int st;
	waitpid(p, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

static void test_cryptod_runs_as_user(void)
{
	char path[320], own[160], pub[160], theirs[160];
	struct stat st;
	pid_t sup = find_supervisor_of(mnt2);
	CU_ASSERT_FATAL(sup > 0);
	pid_t cd = find_child(sup, "cryptstack-cryptod");
	CU_ASSERT_FATAL(cd > 0);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)cd);
	CU_ASSERT_EQUAL(status_field(path, "Uid:"), (long)nobody_uid);
	CU_ASSERT_EQUAL(status_field(path, "Gid:"), (long)nobody_gid);
	/* CAP_CHOWN | CAP_DAC_OVERRIDE | CAP_FOWNER | CAP_FSETID */
	CU_ASSERT_EQUAL(status_hex(path, "CapEff:"), 0x1bULL);
	CU_ASSERT_EQUAL(status_hex(path, "CapPrm:"), 0x1bULL);
	CU_ASSERT_EQUAL(status_hex(path, "CapBnd:"), 0x1bULL);
	CU_ASSERT_EQUAL(status_hex(path, "CapAmb:"), 0ULL);
	CU_ASSERT_EQUAL(status_field(path, "Seccomp:"), 2);
	/* keyd: the same user, CAP_IPC_LOCK only */
	pid_t kd = find_child(sup, "cryptstack-keyd");
	CU_ASSERT_FATAL(kd > 0);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)kd);
	CU_ASSERT_EQUAL(status_field(path, "Uid:"), (long)nobody_uid);
	CU_ASSERT_EQUAL(status_hex(path, "CapEff:"), 1ULL << 14);
	CU_ASSERT_EQUAL(status_hex(path, "CapBnd:"), 1ULL << 14);
	CU_ASSERT_EQUAL(status_field(path, "Seccomp:"), 2);

	/* root's private file stays root's; the user's file is the user's */
	snprintf(own, sizeof(own), "%s/rootfile", mnt2);
	int fd = open(own, O_CREAT | O_WRONLY, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, "r", 1) == 1);
	close(fd);
	CU_ASSERT(stat(own, &st) == 0 && st.st_uid == 0 && st.st_gid == 0 &&
		  (st.st_mode & 07777) == 0600);
	snprintf(pub, sizeof(pub), "%s/pub", mnt2);
	CU_ASSERT_FATAL(mkdir(pub, 0777) == 0 && chmod(pub, 01777) == 0);
	snprintf(theirs, sizeof(theirs), "%s/pub/theirs", mnt2);
	CU_ASSERT_EQUAL(as_nobody(theirs, own), 0);
	CU_ASSERT(stat(theirs, &st) == 0 && st.st_uid == nobody_uid &&
		  st.st_gid == nobody_gid);
	/* root can still chown and chmod anything through the mount */
	CU_ASSERT(chown(theirs, 1234, 1234) == 0 &&
		  stat(theirs, &st) == 0 && st.st_uid == 1234);
	CU_ASSERT(chmod(theirs, 0400) == 0 && stat(theirs, &st) == 0 &&
		  (st.st_mode & 07777) == 0400);
}

/* Mounts lower at m with extra (-o value or NULL), returns cryptod's uid
 * (-1 on failure) and unmounts again. */
static long cryptod_uid_of_mount(const char *lower_dir, const char *m,
				 const char *extra)
{
	char *mount[] = { (char *)cs_bin, "mount", "--passfile", passfile,
			  (char *)lower_dir, (char *)m, NULL, NULL, NULL };
	if (extra) {
		mount[4] = "-o";
		mount[5] = (char *)extra;
		mount[6] = (char *)lower_dir;
		mount[7] = (char *)m;
	}
	if (run(mount) != 0)
		return -1;
	long uid = -1;
	pid_t sup = find_supervisor_of(m);
	pid_t cd = sup > 0 ? find_child(sup, "cryptstack-cryptod") : 0;
	if (cd > 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/status", (int)cd);
		uid = status_field(path, "Uid:");
	}
	char *umount[] = { (char *)cs_bin, "umount", (char *)m, NULL };
	if (run(umount) != 0) {
		char *lazy[] = { "/bin/umount", "-l", (char *)m, NULL };
		run(lazy);
	}
	return uid;
}

/* Root mounting a lower directory owned by a user: cryptod runs as the
 * owner by default; -o user=root keeps it root. */
static void test_lower_owner_is_default(void)
{
	char l3[128], m3[128];
	snprintf(l3, sizeof(l3), "%s/lower3", tdir);
	snprintf(m3, sizeof(m3), "%s/mnt3", tdir);
	CU_ASSERT_FATAL(mkdir(l3, 0755) == 0 && mkdir(m3, 0755) == 0);
	char *init[] = { (char *)cs_bin, "init", "--passfile", passfile,
			 "--kdf-memory", "1M", "--kdf-time", "1",
			 "--kdf-parallelism", "1", l3, NULL };
	CU_ASSERT_FATAL(run(init) == 0);
	char *own[] = { "/bin/chown", "-R", "nobody:", l3, NULL };
	CU_ASSERT_FATAL(run(own) == 0);
	CU_ASSERT_EQUAL(cryptod_uid_of_mount(l3, m3, NULL), (long)nobody_uid);
	CU_ASSERT_EQUAL(cryptod_uid_of_mount(l3, m3, "user=root"), 0);
}

static int setup_user(void)
{
	struct passwd *pw = getpwnam("nobody");
	if (!pw || pw->pw_uid == 0) {
		printf("no user \"nobody\": suite skipped\n");
		return -1;
	}
	nobody_uid = pw->pw_uid;
	nobody_gid = pw->pw_gid;
	snprintf(lower2, sizeof(lower2), "%s/lower2", tdir);
	snprintf(mnt2, sizeof(mnt2), "%s/mnt2", tdir);
	if (mkdir(lower2, 0755) < 0 || mkdir(mnt2, 0755) < 0 ||
	    chmod(tdir, 0755) < 0)
		return -1;
	char *init[] = { (char *)cs_bin, "init", "--passfile", passfile,
			 "--kdf-memory", "1M", "--kdf-time", "1",
			 "--kdf-parallelism", "1", lower2, NULL };
	char *mount[] = { (char *)cs_bin, "mount", "--passfile", passfile,
			  "-o", "user=nobody,allow_other", lower2, mnt2, NULL };
	if (run(init) != 0 || run(mount) != 0) {
		printf("init/mount -o user=nobody failed\n");
		return -1;
	}
	mounted2 = 1;
	return 0;
}

static int teardown_user(void)
{
	if (mounted2) {
		char *umount[] = { (char *)cs_bin, "umount", mnt2, NULL };
		if (run(umount) != 0) {
			char *lazy[] = { "/bin/umount", "-l", mnt2, NULL };
			run(lazy);
		}
		mounted2 = 0;
	}
	return 0;
}

/* The temporary directory and the pass file, for both suites; removed at
 * exit (after both suites' teardowns unmounted). */
static int make_tdir(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/cs-sbmem.XXXXXX");
	if (!mkdtemp(tdir))
		return -1;
	snprintf(passfile, sizeof(passfile), "%s/pass", tdir);
	FILE *f = fopen(passfile, "w");
	if (!f)
		return -1;
	fprintf(f, "%s\n", PASSPHRASE);
	fclose(f);
	return 0;
}

static void remove_tdir(void)
{
	teardown_user();
	char *rm[] = { "/bin/rm", "-rf", tdir, NULL };
	if (tdir[0])
		run(rm);
	explicit_bzero(fekek, sizeof(fekek));
}

static int setup(void)
{
	snprintf(lower, sizeof(lower), "%s/lower", tdir);
	snprintf(mnt, sizeof(mnt), "%s/mnt", tdir);
	if (mkdir(lower, 0700) < 0 || mkdir(mnt, 0700) < 0)
		return -1;
	char *init[] = { (char *)cs_bin, "init", "--passfile", passfile,
			 "--kdf-memory", "1M", "--kdf-time", "1",
			 "--kdf-parallelism", "1", lower, NULL };
	if (run(init) != 0) {
		printf("cryptstack init failed\n");
		return -1;
	}
	int rc = unwrap_fekek();
	if (rc < 0) {
		printf("cannot unwrap slot 0 (step %d)\n", -rc);
		return -1;
	}
	char *mount[] = { (char *)cs_bin, "mount", "--passfile", passfile,
			  lower, mnt, NULL };
	if (run(mount) != 0) {
		printf("cryptstack mount failed\n");
		return -1;
	}
	mounted = 1;
	return 0;
}

static int teardown(void)
{
	if (mounted) {
		char *umount[] = { (char *)cs_bin, "umount", mnt, NULL };
		if (run(umount) != 0) {
			char *lazy[] = { "/bin/umount", "-l", mnt, NULL };
			run(lazy);
		}
		mounted = 0;
	}
	return 0;
}

int cs_register_suites(void)
{
	static const struct cs_test tests[] = {
		{ "fekek_only_in_keyd", test_fekek_only_in_keyd },
		{ "helpers_confined", test_helpers_confined },
		{ NULL, NULL },
	};
	if (geteuid() != 0) {
		printf("needs root (reads /proc/PID/mem, mounts): skipped\n");
		return CS_TEST_SKIP;
	}
	if (access("/dev/fuse", R_OK | W_OK) != 0) {
		printf("/dev/fuse is missing: skipped\n");
		return CS_TEST_SKIP;
	}
	static const struct cs_test user_tests[] = {
		{ "cryptod_and_keyd_run_as_user",
		  test_cryptod_runs_as_user },
		{ "lower_owner_is_default", test_lower_owner_is_default },
		{ NULL, NULL },
	};
	if (make_tdir() < 0)
		return -1;
	atexit(remove_tdir);
	if (cs_add_suite("sandbox_memory", setup, teardown, tests) < 0)
		return -1;
	return cs_add_suite("run_as_user", setup_user, teardown_user,
			    user_tests);
}
