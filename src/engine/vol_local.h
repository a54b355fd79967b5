/* kahu — vol_exec_ops on this machine: each command forked and executed as given
 * (argv[0] looked up in PATH), stdout and stdin through pipes, stderr's last bytes kept
 * for messages.  For tests and local tools; the fault knob cuts stdout after a number
 * of bytes (the read then fails as a broken pods/exec stream does: KAHU_EIO "exec
 * stream broken after N bytes"), once or on every command. */
#ifndef KAHU_ENGINE_VOL_LOCAL_H
#define KAHU_ENGINE_VOL_LOCAL_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/voldata.h"

struct vol_local {
	uint64_t cut_after;   /* 0: never; else break stdout after this many bytes */
	bool cut_every;       /* false: only the first command whose stdout reaches it */
	const char *only_argv0_containing; /* cut only commands whose argv joined holds this
					      (NULL: any) */
	unsigned cuts;        /* how many streams were cut (out) */
	const char *path_env; /* NULL: inherit PATH; else PATH for the commands */
	bool no_half_close;   /* as pods/exec v4: close_stdin does nothing, stdin stays open
				 until the command has exited */
};

extern const struct vol_exec_ops vol_local_ops;

#endif
