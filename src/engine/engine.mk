# Module library; the owner of this fragment fills it in.
noinst_LIBRARIES += libkahu_engine.a
libkahu_engine_a_SOURCES =
