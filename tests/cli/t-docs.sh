#!/usr/bin/env bash
# The option tables, the man pages and the completions must agree (one source of truth
# for the CLI).  Every command and flag kahu accepts is documented in man/, every flag
# documented exists, every exit status is documented, the committed completion scripts
# are what `kahu completion` prints, and every CLI test is in the test list.
. "$(dirname "$0")/lib.sh"

dump=$T_DIR/dump
"$KAHU" __dump-cli >"$dump" 2>"$T_ERR"
t_result $? "kahu __dump-cli prints the tables"

page_for() { # command words → man page
	local noun=${1%% *}
	if [ "$noun" != "$1" ] && [ -f "$top_srcdir/man/kahu-$noun.1" ]; then
		echo "$top_srcdir/man/kahu-$noun.1"
	elif [ -f "$top_srcdir/man/kahu-$noun.1" ]; then
		echo "$top_srcdir/man/kahu-$noun.1"
	else
		echo "$top_srcdir/man/kahu.1"
	fi
}

# Commands and their flags are in their page.
missing=$T_DIR/missing
: >"$missing"
while IFS=$'\t' read -r kind a b c; do
	case $kind in
	command)
		page=$(page_for "$a")
		grep -q -- "$a" "$page" || echo "command \"$a\" not in $(basename "$page")" >>"$missing"
		;;
	option)
		if [ "$a" = "(global)" ]; then page=$top_srcdir/man/kahu.1; else page=$(page_for "$a"); fi
		flag=${b#--}
		grep -q -- "\\\\-\\\\-$flag\\b" "$page" || echo "flag --$flag of \"$a\" not in $(basename "$page")" >>"$missing"
		if [ -n "${c:-}" ]; then
			short=${c#-}
			grep -q -- "\\\\-$short\\b" "$page" || echo "flag -$short of \"$a\" not in $(basename "$page")" >>"$missing"
		fi
		;;
	exit)
		grep -A1 -- "^\\.B $a\$" "$top_srcdir/man/kahu.1" | grep -q "^$b:" ||
			echo "exit status $a ($b) not documented in kahu.1 EXIT STATUS" >>"$missing"
		;;
	esac
done <"$dump"
cp "$missing" "$T_OUT"
[ ! -s "$missing" ]
t_result $? "every command, flag and exit status is in the man pages"

# Every flag a page documents exists in the tables (for its noun, or globally).
: >"$missing"
for page in "$top_srcdir"/man/*.1; do
	base=$(basename "$page" .1)
	noun=${base#kahu}
	noun=${noun#-}
	grep -oE '\\-\\-[a-z][a-z0-9-]*' "$page" | sed 's/\\-/-/g' | sort -u | while read -r flag; do
		if [ -z "$noun" ]; then
			awk -F'\t' -v f="$flag" '$1=="option" && $3==f && ($2=="(global)" || $2 !~ / /) {found=1} END {exit !found}' "$dump"
		else
			awk -F'\t' -v f="$flag" -v n="$noun" '$1=="option" && $3==f && ($2=="(global)" || index($2, n" ")==1 || $2==n) {found=1} END {exit !found}' "$dump"
		fi || echo "$(basename "$page") documents $flag, which no command of its own accepts" >>"$missing"
	done
done
cp "$missing" "$T_OUT"
[ ! -s "$missing" ]
t_result $? "every flag in the man pages exists in the option tables"

# Every exit status in kahu.1 is in the table.
: >"$missing"
sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' "$top_srcdir/man/kahu.1" | grep -E '^\.B [0-9]+$' | awk '{print $2}' |
	while read -r code; do
		awk -F'\t' -v c="$code" '$1=="exit" && $2==c {found=1} END {exit !found}' "$dump" ||
			echo "kahu.1 documents exit status $code, which the table lacks" >>"$missing"
	done
cp "$missing" "$T_OUT"
[ ! -s "$missing" ]
t_result $? "every documented exit status exists in the table"

# Committed completion scripts are what kahu generates.
for pair in bash:kahu zsh:_kahu fish:kahu.fish; do
	shell=${pair%%:*}
	file=$top_srcdir/completions/${pair#*:}
	"$KAHU" completion "$shell" >"$T_DIR/gen.$shell" 2>"$T_ERR"
	diff -u "$file" "$T_DIR/gen.$shell" >"$T_OUT"
	t_result $? "completions/${pair#*:} is up to date with 'kahu completion $shell'"
done

# The bash completion really completes.
if command -v bash >/dev/null; then
	out=$(bash -c '
		source "$1"
		kahu() { "$KAHU" "$@"; }
		COMP_WORDS=(kahu clus); COMP_CWORD=1; _kahu; echo "${COMPREPLY[*]}"
		COMP_WORDS=(kahu cluster ""); COMP_CWORD=2; _kahu; echo "${COMPREPLY[*]}"
		COMP_WORDS=(kahu version -o ""); COMP_CWORD=3; _kahu; echo "${COMPREPLY[*]}"
		COMP_WORDS=(kahu --context x cluster check --max); COMP_CWORD=5; _kahu; echo "${COMPREPLY[*]}"
	' _ "$top_srcdir/completions/kahu" 2>&1)
	printf '%s\n' "$out" >"$T_OUT"
	[ "$out" = "$(printf 'cluster\ncheck\ntable json yaml name\n--max-requests')" ]
	t_result $? "bash completion completes commands, verbs, flag values and flags"
fi

# Every man page is installed, every CLI test is run.
: >"$missing"
for page in "$top_srcdir"/man/*.1; do
	grep -q "man/$(basename "$page")" "$top_srcdir/man/man.mk" || echo "$page not in man/man.mk" >>"$missing"
done
for t in "$top_srcdir"/tests/cli/t-*.sh; do
	grep -q "tests/cli/$(basename "$t")" "$top_srcdir/tests/cli/tests.mk" || echo "$t not in tests/cli/tests.mk" >>"$missing"
done
cp "$missing" "$T_OUT"
[ ! -s "$missing" ]
t_result $? "every man page is installed and every CLI test is listed"

t_done
