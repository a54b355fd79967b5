# Module library; the owner of this fragment fills it in.
noinst_LIBRARIES += libkahu_cmd.a
libkahu_cmd_a_SOURCES =
