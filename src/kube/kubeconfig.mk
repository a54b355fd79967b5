# Module library; the owner of this fragment fills it in.
noinst_LIBRARIES += libkahu_kubeconfig.a
libkahu_kubeconfig_a_SOURCES =
