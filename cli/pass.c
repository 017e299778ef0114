/* SPDX-License-Identifier: MIT */
/* Passphrase input: passfile, extpass command, options file, terminal. */
#include "pass.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "secmem.h"
#include "util.h"

#define RC_MAX 64

static struct {
	int loaded;
	unsigned n;
	char *key[RC_MAX];
	char *val[RC_MAX];
} rc;

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
			 s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static void rc_load(void)
{
	char path[PATH_MAX], line[1024];
	const char *p = getenv("CRYPTSTACKRC");
	rc.loaded = 1;
	if (!p || !*p) {
		const char *home = getenv("HOME");
		if (!home)
			return;
		snprintf(path, sizeof(path), "%s/.cryptstackrc", home);
		p = path;
	}
	FILE *f = fopen(p, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && rc.n < RC_MAX) {
		char *s = trim(line);
		if (*s == '#' || *s == '\0')
			continue;
		char *eq = strchr(s, '=');
		if (!eq)
			continue;
		*eq = '\0';
		char *k = strdup(trim(s)), *v = strdup(trim(eq + 1));
		if (!k || !v) {
			free(k);
			free(v);
			break;
		}
		rc.key[rc.n] = k;
		rc.val[rc.n] = v;
		rc.n++;
	}
	fclose(f);
}

const char *cli_rc_get(const char *key)
{
	if (!rc.loaded)
		rc_load();
	/* The last occurrence wins, as in shell-style config files. */
	for (unsigned i = rc.n; i-- > 0;)
		if (!strcmp(rc.key[i], key))
			return rc.val[i];
	return NULL;
}

void cli_pass_free(char *pass, size_t len)
{
	(void)len;
	if (pass)
		secmem_free(pass, CLI_PASS_MAX + 2);
}

/* Reads all of fd (at most CLI_PASS_MAX + 1 bytes kept) into buf; strips
 * one trailing newline. Returns the length or -errno. */
static ssize_t read_secret(int fd, char *buf)
{
	size_t n = 0;
	char sink[256];
	int toolong = 0;
	for (;;) {
		ssize_t r;
		if (n <= CLI_PASS_MAX)
			r = read(fd, buf + n, CLI_PASS_MAX + 1 - n);
		else
			r = read(fd, sink, sizeof(sink));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		if (n <= CLI_PASS_MAX)
			n += (size_t)r;
		else
			toolong = 1;
		if (n > CLI_PASS_MAX && toolong)
			break;
	}
	secmem_wipe(sink, sizeof(sink));
	if (n > 0 && buf[n - 1] == '\n') {
		n--;
		if (n > 0 && buf[n - 1] == '\r')
			n--;
	}
	if (n > CLI_PASS_MAX || toolong)
		return -E2BIG;
	buf[n] = '\0';
	return (ssize_t)n;
}

static ssize_t from_file(const char *path, char *buf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		fprintf(stderr, "cryptstack: passfile %s: %s\n", path,
			strerror(e));
		return -e;
	}
	ssize_t n = read_secret(fd, buf);
	close(fd);
	if (n == -E2BIG)
		fprintf(stderr, "cryptstack: passfile %s: passphrase longer "
			"than %u bytes\n", path, CLI_PASS_MAX);
	else if (n < 0)
		fprintf(stderr, "cryptstack: passfile %s: %s\n", path,
			strerror((int)-n));
	return n;
}

static ssize_t from_cmd(const char *cmd, char *buf)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (pid == 0) {
		dup2(p[1], 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	ssize_t n = read_secret(p[0], buf);
	close(p[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "cryptstack: extpass command failed\n");
		return -EIO;
	}
	if (n == -E2BIG)
		fprintf(stderr, "cryptstack: extpass: passphrase longer than "
			"%u bytes\n", CLI_PASS_MAX);
	return n;
}

/* Prompts on the terminal with echo off; returns the length or -errno. */
static ssize_t from_tty(int tty, const char *prompt, char *buf)
{
	struct termios old, noecho;
	size_t n = 0;
	int r = 0;
	if (tcgetattr(tty, &old) < 0)
		return -errno;
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	noecho.c_lflag |= ICANON;
	/* Echo off before the prompt: input typed after the prompt is never
	 * flushed away nor echoed. */
	if (tcsetattr(tty, TCSAFLUSH, &noecho) < 0)
		return -errno;
	if (write_full(tty, prompt, strlen(prompt)) < 0) {
		tcsetattr(tty, TCSANOW, &old);
		return -EIO;
	}
	for (;;) {
		char c;
		ssize_t k = read(tty, &c, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0 || c == '\n' || c == '\r')
			break;
		if (n >= CLI_PASS_MAX) {
			r = -E2BIG;
			continue;
		}
		buf[n++] = c;
	}
	tcsetattr(tty, TCSANOW, &old);
	(void)!write(tty, "\n", 1);
	buf[n] = '\0';
	if (r)
		fprintf(stderr, "cryptstack: passphrase longer than %u bytes\n",
			CLI_PASS_MAX);
	return r ? r : (ssize_t)n;
}

int cli_pass_read(const struct cli_pass_src *src, const char *prompt,
		  int confirm, char **pass, size_t *len)
{
	const char *file = src ? src->passfile : NULL;
	const char *cmd = src ? src->extpass : NULL;
	char *buf = secmem_alloc(CLI_PASS_MAX + 2), *again = NULL;
	ssize_t n;
	int tty = -1, r;
	*pass = NULL;
	*len = 0;
	if (!buf)
		return -ENOMEM;
	if (!file && !cmd) {
		file = cli_rc_get("passfile");
		cmd = file ? NULL : cli_rc_get("extpass");
	}
	if (file) {
		n = from_file(file, buf);
	} else if (cmd) {
		n = from_cmd(cmd, buf);
	} else {
		tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (tty < 0) {
			fprintf(stderr, "cryptstack: no terminal to ask for "
				"the passphrase: use --passfile FILE or "
				"--extpass CMD\n");
			r = -ENOTTY;
			goto fail;
		}
		n = from_tty(tty, prompt ? prompt : "Passphrase: ", buf);
		if (n > 0 && confirm) {
			again = secmem_alloc(CLI_PASS_MAX + 2);
			if (!again) {
				r = -ENOMEM;
				goto fail;
			}
			ssize_t m = from_tty(tty, "Repeat: ", again);
			if (m != n || memcmp(buf, again, (size_t)n)) {
				fprintf(stderr, "cryptstack: the passphrases "
					"do not match\n");
				r = -EINVAL;
				goto fail;
			}
		}
	}
	if (n < 0) {
		r = n == -E2BIG ? -EINVAL : (int)n;
		goto fail;
	}
	if (n == 0) {
		fprintf(stderr, "cryptstack: empty passphrase\n");
		r = -EINVAL;
		goto fail;
	}
	if (tty >= 0)
		close(tty);
	secmem_free(again, CLI_PASS_MAX + 2);
	*pass = buf;
	*len = (size_t)n;
	return 0;
fail:
	if (tty >= 0)
		close(tty);
	secmem_free(again, CLI_PASS_MAX + 2);
	secmem_free(buf, CLI_PASS_MAX + 2);
	return r;
}

int cli_pass_read_new(const struct cli_pass_src *src, char **pass,
		      size_t *len)
{
	if (!src->passfile && !src->extpass &&
	    (cli_rc_get("passfile") || cli_rc_get("extpass"))) {
		fprintf(stderr, "cryptstack: give the new passphrase with "
			"--new-passfile or --new-extpass\n");
		return -EINVAL;
	}
	return cli_pass_read(src, "New passphrase: ", 1, pass, len);
}
