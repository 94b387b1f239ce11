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
