#!/bin/sh
# include/kahu/backend.h compiles as C++ (extern "C", no C-only constructs) with
# -pedantic.  Skipped when no C++ compiler is installed.
src=${top_srcdir:-$(dirname "$0")/../..}
cxx=${CXX:-c++}
echo "1..2"
n=0
if ! command -v "$cxx" >/dev/null 2>&1; then
	echo "ok 1 # SKIP no C++ compiler ($cxx)"
	echo "ok 2 # SKIP no C++ compiler ($cxx)"
	exit 0
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/t.cc" <<'CC'
#include <kahu/backend.h>
static int my_init(const struct kahu_host *, const struct kahu_backend **out)
{
	*out = 0;
	return KAHU_BACKEND_OK;
}
int main()
{
	kahu_backend_init_fn f = my_init;
	const struct kahu_backend *be;
	return f(0, &be) == KAHU_BACKEND_OK && sizeof(struct kahu_backend) > 0 ? 0 : 1;
}
CC
for std in c++11 c++17; do
	n=$((n + 1))
	if "$cxx" -std=$std -Wall -Wextra -pedantic -Werror -I"$src/include" \
		-o "$tmp/t" "$tmp/t.cc" 2>"$tmp/err" && "$tmp/t"; then
		echo "ok $n - backend.h compiles and links as $std"
	else
		echo "not ok $n - backend.h as $std"
		sed 's/^/# /' "$tmp/err"
	fi
done
