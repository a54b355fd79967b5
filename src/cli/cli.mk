# Module library; the owner of this fragment fills it in.
noinst_LIBRARIES += libkahu_cli.a
libkahu_cli_a_SOURCES =
