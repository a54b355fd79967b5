# The tar bundle and the manifest: appended to libkahu_archive.a (see archive.mk).
