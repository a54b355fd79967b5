# Module library; the owner of this fragment fills it in.
noinst_LIBRARIES += libkahu_kubeclient.a
libkahu_kubeclient_a_SOURCES =
