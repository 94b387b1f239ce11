/*
 * nkcommon.c - what nkernel and nkctl share: the default control socket
 * and the configuration file reader.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nkernel.h"

const struct nk_command nk_commands[] = {
	{ "list", 0, 0, "", "modules: state, isolation, calls, faults, restarts" },
	{ "stats", 0, 0, "", "what the kernel holds: sockets, files, threads, descriptors, "
	  "mappings, resident memory" },
	{ "inject", 2, 2, "MODULE FAULT", "make MODULE's own code fail, then wait for its "
	  "recovery; FAULT: null wild stack loop abort ill fpe exit (the module must "
	  "have nk_fault_inject)" },
	{ "patch", 3, 3, "MODULE ADDRESS HEXBYTES", "write bytes into MODULE's loaded code at "
	  "ADDRESS (its ELF virtual address, as objdump shows it): a transient fault; a "
	  "restart maps the clean code again" },
	{ "net", 0, 3, "[mtu DEV N | mac DEV XX:XX:XX:XX:XX:XX]", "network devices (with their "
	  "driver's counters) and emulated cards; or set a device's MTU or MAC address "
	  "through its driver" },
	{ "load", 1, -1, "[--isolation=KIND] PATH [NAME=VALUE]...", "load a module" },
	{ "unload", 1, 1, "MODULE", "run its cleanup_module and unload it" },
	{ "reload", 1, 1, "MODULE", "unload, then load the same file and parameters" },
	{ "mount", 3, 4, "TYPE DEVICE DIR [OPTIONS]", "mount the image file DEVICE with the "
	  "registered file system TYPE at DIR, through FUSE; OPTIONS: ro, and the file "
	  "system's, comma-separated" },
	{ "umount", 1, 2, "[-l] DIR", "unmount DIR (-l: even if busy, detached)" },
	{ "mounts", 0, 0, "", "mounts: directory, type, device, state, instance" },
	{ "shutdown", 0, 0, "", "unload everything and stop nkernel" },
	{ "help", 0, 0, "", "this list" },
	{ NULL, 0, 0, NULL, NULL },
};

int nk_command_check(int argc, char **argv, char *err, size_t errlen)
{
	const struct nk_command *c = nk_commands;

	if (argc < 1 || !argv[0][0]) {
		snprintf(err, errlen, "empty command (try: help)");
		return -1;
	}
	while (c->name && strcmp(c->name, argv[0]))
		c++;
	if (!c->name) {
		snprintf(err, errlen, "unknown command '%.100s' (try: help)", argv[0]);
		return -1;
	}
	if (c->max_args >= 0 && argc - 1 > c->max_args) {
		if (c->max_args == 0)
			snprintf(err, errlen, "%s takes no arguments: unexpected '%.100s'",
				 c->name, argv[1]);
		else
			snprintf(err, errlen, "%s: unexpected argument '%.100s' (usage: %s %s)",
				 c->name, argv[c->max_args + 1], c->name, c->args);
		return -1;
	}
	if (argc - 1 < c->min_args) {
		snprintf(err, errlen, "%s: missing arguments (usage: %s %s)", c->name,
			 c->name, c->args);
		return -1;
	}
	return 0;
}

const char *nk_default_control(void)
{
	static char path[108];
	const char *env = getenv("NKERNEL_CONTROL");

	if (env && *env)
		return env;
	snprintf(path, sizeof(path), "/tmp/nkernel-%u.sock", (unsigned)getuid());
	return path;
}

int nk_read_config(const char *path,
		   int (*words)(int argc, char **argv, int allow_global, const char *where))
{
	FILE *f = fopen(path, "re");
	char *line = NULL, where[512];
	size_t cap = 0;
	int lineno = 0, r = 0;

	if (!f) {
		fprintf(stderr, "nkernel: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (!r && getline(&line, &cap, f) > 0) {
		char *argv[64];
		int argc = 0;

		lineno++;
		line[strcspn(line, "#")] = 0;
		for (char *w = strtok(line, " \t\r\n"); w; w = strtok(NULL, " \t\r\n")) {
			if (argc == 64) {
				fprintf(stderr, "nkernel: %s:%d: too many words\n", path, lineno);
				r = -1;
				break;
			}
			if (!(argv[argc++] = strdup(w))) {
				r = -1;
				break;
			}
		}
		snprintf(where, sizeof(where), "%s:%d: ", path, lineno);
		if (!r && argc)
			r = words(argc, argv, 0, where);
		while (argc > 0)
			free(argv[--argc]);
	}
	free(line);
	fclose(f);
	return r;
}
