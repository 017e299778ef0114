/* SPDX-License-Identifier: MIT */
/*
 * cryptstack mount [--passfile FILE|--extpass CMD|--key PEM] [-f] [-d]
 *                  [-o OPTIONS] [--workers N] LOWER MOUNTPOINT
 *
 * Checks what can be checked before anything starts (clear messages for a
 * missing /dev/fuse, missing FUSE permissions, a mountpoint that is not a
 * directory or already mounted), then hands over to the supervisor
 * (supervisor.c). Options are documented in docs/MOUNT.md.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "supervisor.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: cryptstack mount [--passfile FILE...|--extpass CMD|"
		"--key PEM] [-f] [-d] [-o OPTIONS] [--workers N] LOWER "
		"MOUNTPOINT\n"
		"options (-o): passfile=F extpass=CMD key=PEM workers=N "
		"slots=N log=FILE shared_lower\n"
		"              encrypted_view allow_other ro foreground debug "
		"sandbox=off user=NAME\n"
		"              backend=ipsecmb|mbedtls (cryptod's AES code), scratch\n"
		"              fekcache=SECONDS (keep file keys that long after "
		"their last use; 0: only while open; default 60)\n"
		"              (--scratch: a random key that dies with the "
		"mount; LOWER must be empty and is emptied at unmount),\n"
		"              and FUSE/mount options\n");
	return 2;
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/* Options mount(8) and fstab use that mean nothing to a FUSE mount. */
static int generic_mount_opt(const char *o)
{
	static const char *const drop[] = {
		"defaults", "auto", "noauto", "user", "nouser", "users",
		"owner", "group", "nofail", "_netdev", "rw", NULL,
	};
	for (int i = 0; drop[i]; i++)
		if (!strcmp(o, drop[i]))
			return 1;
	return !strncmp(o, "x-", 2) || !strncmp(o, "comment=", 8);
}

static int append_opt(struct sup_opts *o, const char *opt)
{
	size_t have = strlen(o->fuse_opts), l = strlen(opt);
	if (have + l + 2 > sizeof(o->fuse_opts))
		return -E2BIG;
	if (have)
		o->fuse_opts[have++] = ',';
	memcpy(o->fuse_opts + have, opt, l + 1);
	return 0;
}

/* The first passfile is the unlock source (a passphrase, or the --key's
 * passphrase); each further one adds a passphrase to the mount context.
 * Returns 0 or -E2BIG (printed). */
static int add_passfile(struct sup_opts *o, const char *path)
{
	if (!o->passfile) {
		o->passfile = path;
		return 0;
	}
	if (o->nmore >= sizeof(o->more_pass) / sizeof(o->more_pass[0])) {
		fprintf(stderr, "cryptstack: too many --passfile options\n");
		return -E2BIG;
	}
	o->more_pass[o->nmore++] = path;
	return 0;
}

/* One -o list. The strings kept in o point into list (never freed). */
static int take_opts(struct sup_opts *o, char *list)
{
	char *save = NULL;
	for (char *t = strtok_r(list, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		if (!strncmp(t, "passfile=", 9)) {
			if (add_passfile(o, t + 9) < 0)
				return -EINVAL;
		} else if (!strncmp(t, "extpass=", 8)) {
			o->extpass = t + 8;
		} else if (!strncmp(t, "key=", 4)) {
			o->keyfile = t + 4;
		} else if (!strncmp(t, "log=", 4)) {
			o->logfile = t + 4;
		} else if (!strncmp(t, "workers=", 8) ||
			   !strncmp(t, "threads=", 8)) {
			if (parse_uint(t + 8, 64, &o->workers) < 0) {
				fprintf(stderr, "cryptstack: bad %s\n", t);
				return -EINVAL;
			}
		} else if (!strncmp(t, "slots=", 6)) {
			if (parse_uint(t + 6, 1024, &o->slots) < 0) {
				fprintf(stderr, "cryptstack: bad %s\n", t);
				return -EINVAL;
			}
		} else if (!strcmp(t, "foreground")) {
			o->foreground = 1;
		} else if (!strcmp(t, "debug")) {
			o->debug = 1;
		} else if (!strcmp(t, "shared_lower")) {
			o->shared_lower = 1;
		} else if (!strcmp(t, "encrypted_view")) {
			o->encrypted_view = 1;
		} else if (!strcmp(t, "scratch")) {
			o->scratch = 1;
		} else if (!strncmp(t, "backend=", 8)) {
			/* cryptod's AES code (docs/MOUNT.md) */
			if (strcmp(t + 8, "ipsecmb") && strcmp(t + 8, "mbedtls")) {
				fprintf(stderr, "cryptstack: %s: backends are "
					"ipsecmb and mbedtls\n", t);
				return -EINVAL;
			}
			o->backend = t + 8;
		} else if (!strncmp(t, "fekcache=", 9)) {
			/* cryptod's FEK cache (docs/CRYPTOD.md) */
			char *end;
			unsigned long v = strtoul(t + 9, &end, 10);
			if (!t[9] || *end || t[9] == '-' || v > 86400) {
				fprintf(stderr, "cryptstack: %s: seconds, 0 to "
					"86400\n", t);
				return -EINVAL;
			}
			o->fekcache = t + 9;
		} else if (!strncmp(t, "user=", 5)) {
			/* cryptod drops to this user (docs/SANDBOX.md) */
			struct passwd *pw = getpwnam(t + 5);
			if (!pw) {
				fprintf(stderr, "cryptstack: %s: no such "
					"user\n", t);
				return -EINVAL;
			}
			o->run_as_set = 1; /* user=root: no drop */
			o->run_as = pw->pw_uid != 0;
			o->run_uid = pw->pw_uid;
			o->run_gid = pw->pw_gid;
		} else if (!strcmp(t, "sandbox=off")) {
			o->sandbox_off = 1;
		} else if (!strcmp(t, "sandbox=on")) {
			o->sandbox_off = 0;
		} else if (generic_mount_opt(t)) {
			/* mount(8)/fstab only */
		} else if (append_opt(o, t) < 0) {
			fprintf(stderr, "cryptstack: too many options\n");
			return -E2BIG;
		}
	}
	return 0;
}

static int fuse_conf_allows_other(void)
{
	FILE *f = fopen("/etc/fuse.conf", "re");
	char line[256];
	int ok = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "user_allow_other", 16))
			ok = 1;
	fclose(f);
	return ok;
}

/* Everything we can say before starting processes; 0 or prints and -1. */
static int prechecks(const struct sup_opts *o, const char *mnt_arg)
{
	struct stat st;
	char fstype[64];

	if (stat(o->lower, &st) < 0) {
		fprintf(stderr, "cryptstack: lower directory %s: %s\n",
			o->lower, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "cryptstack: lower %s is not a directory\n",
			o->lower);
		return -1;
	}
	if (stat(mnt_arg, &st) < 0) {
		fprintf(stderr, "cryptstack: mountpoint %s: %s\n", mnt_arg,
			strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "cryptstack: mountpoint %s is not a "
				"directory\n", mnt_arg);
		return -1;
	}
	if (sup_is_mountpoint(o->mnt, fstype, sizeof(fstype)) == 1 &&
	    !strncmp(fstype, "fuse", 4)) {
		fprintf(stderr, "cryptstack: %s is busy: a FUSE file system "
				"(%s) is already mounted there\n", o->mnt,
			fstype);
		return -1;
	}
	if (stat("/dev/fuse", &st) < 0 || !S_ISCHR(st.st_mode)) {
		fprintf(stderr, "cryptstack: /dev/fuse is missing: load the "
				"fuse module (modprobe fuse) or give the "
				"container the device\n");
		return -1;
	}
	if (geteuid() != 0) {
		if (access("/dev/fuse", R_OK | W_OK) < 0) {
			fprintf(stderr, "cryptstack: no permission to use "
					"/dev/fuse (%s)\n", strerror(errno));
			return -1;
		}
		const char *fm[] = { "/usr/bin/fusermount3",
				     "/bin/fusermount3", NULL };
		int ok = 0;
		for (int i = 0; fm[i]; i++)
			if (stat(fm[i], &st) == 0 && (st.st_mode & S_ISUID) &&
			    st.st_uid == 0)
				ok = 1;
		if (!ok) {
			fprintf(stderr, "cryptstack: unprivileged FUSE mounts "
					"need a setuid-root fusermount3 "
					"(Debian package fuse3)\n");
			return -1;
		}
		if (strstr(o->fuse_opts, "allow_other") &&
		    !fuse_conf_allows_other()) {
			fprintf(stderr, "cryptstack: -o allow_other needs "
					"'user_allow_other' in /etc/fuse.conf "
					"for non-root users\n");
			return -1;
		}
	}
	return 0;
}

int cmd_mount(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "passfile", required_argument, NULL, 'p' },
		{ "extpass", required_argument, NULL, 'e' },
		{ "key", required_argument, NULL, 'k' },
		{ "workers", required_argument, NULL, 'w' },
		{ "threads", required_argument, NULL, 'w' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "sandbox", required_argument, NULL, 'S' },
		{ "scratch", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	static struct sup_opts o; /* large; strings point into argv */
	int c, r;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "fdo:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (add_passfile(&o, optarg) < 0)
				return 2;
			break;
		case 'e': o.extpass = optarg; break;
		case 'k': o.keyfile = optarg; break;
		case 'w':
			if (parse_uint(optarg, 64, &o.workers) < 0) {
				fprintf(stderr, "cryptstack: bad --workers\n");
				return 2;
			}
			break;
		case 'f': o.foreground = 1; break;
		case 's': o.scratch = 1; break;
		case 'd': o.debug = 1; break;
		case 'o':
			if (take_opts(&o, optarg) < 0)
				return 2;
			break;
		case 'h': usage(); return 0;
		case 'S': /* --sandbox=off: same as -o sandbox=off */
			if (strcmp(optarg, "off") && strcmp(optarg, "on"))
				return usage();
			o.sandbox_off = !strcmp(optarg, "off");
			break;
		default: return usage();
		}
	}
	if (argc - optind != 2)
		return usage();
	if (o.scratch && (o.passfile || o.extpass || o.keyfile || o.nmore)) {
		fprintf(stderr, "cryptstack: --scratch makes its own random key: "
				"no --passfile, --extpass or --key\n");
		return 2;
	}
	if (o.scratch && mkdir(argv[optind], 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "cryptstack: cannot create %s: %s\n",
			argv[optind], strerror(errno));
		return 1;
	}
	if (o.sandbox_off)
		fprintf(stderr,
			"cryptstack: WARNING: sandbox=off is for debugging "
			"only: cryptod and the frontend run without seccomp "
			"and Landlock (docs/SANDBOX.md)\n");
	/* mount.fuse-style "-o" after the paths is handled by getopt's
	 * permutation; nothing else may follow. */
	r = sup_canon(argv[optind], o.lower, sizeof(o.lower));
	if (r == 0)
		r = sup_canon(argv[optind + 1], o.mnt, sizeof(o.mnt));
	if (r < 0) {
		fprintf(stderr, "cryptstack: %s\n", strerror(-r));
		return 1;
	}
	if (prechecks(&o, argv[optind + 1]) < 0)
		return 1;

	/* Root mounting a user's lower directory: cryptod and keyd run as
	 * its owner (docs/SANDBOX.md); -o user=root keeps them root. */
	struct stat lst;
	if (!o.run_as_set && geteuid() == 0 && stat(o.lower, &lst) == 0 &&
	    lst.st_uid != 0) {
		o.run_as = 1;
		o.run_uid = lst.st_uid;
		o.run_gid = lst.st_gid;
	}
	return sup_run(&o);
}
