"""kahu test Kubernetes API server (see tests/cluster/README.md)."""
