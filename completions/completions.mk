# The completion scripts are the output of `kahu completion SHELL`, committed so
# they install without running kahu; tests/cli/t-docs.sh fails when they drift.
bashcomp_DATA += completions/kahu
zshcomp_DATA += completions/_kahu
fishcomp_DATA += completions/kahu.fish
