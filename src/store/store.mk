# Module library; the owner of this fragment fills it in.
noinst_LIBRARIES += libkahu_store.a
libkahu_store_a_SOURCES =
