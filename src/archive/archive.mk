# Module library; the owner of this fragment fills it in.
noinst_LIBRARIES += libkahu_archive.a
libkahu_archive_a_SOURCES =
