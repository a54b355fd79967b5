noinst_LIBRARIES += libkahu_cmd.a
libkahu_cmd_a_SOURCES = \
	src/cmd/ctx.c src/cmd/ctx.h \
	src/cmd/version.c \
	src/cmd/completion.c \
	src/cmd/cluster.c
libkahu_cmd_a_SOURCES += src/cmd/common.c src/cmd/common_opts.h
libkahu_cmd_a_SOURCES += src/cmd/key.c
libkahu_cmd_a_SOURCES += src/cmd/backup.c src/cmd/backup_multi.c src/cmd/backup_multi.h src/cmd/backup_read.c
libkahu_cmd_a_SOURCES += src/cmd/restore.c
libkahu_cmd_a_SOURCES += src/cmd/location.c
libkahu_cmd_a_SOURCES += src/cmd/mover.c
libkahu_cmd_a_SOURCES += src/cmd/plan.c src/cmd/plan_install.c src/cmd/plan_watch.c
libkahu_cmd_a_SOURCES += src/cmd/provider.c
libkahu_cmd_a_SOURCES += src/cmd/exec.c
