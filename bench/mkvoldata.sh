#!/usr/bin/env bash
# Deterministic mixed data for the volume benchmark (bench/volumes.sh): what a PVC of a
# stateful application holds, in proportions that keep every kind visible in the numbers.
#
#   bench/mkvoldata.sh [--size SIZE] [--files N] [--seed S] DIR
#
#   --size SIZE   total bytes: 1G (default), 4G, 256M, 512K or a number of bytes
#   --files N     small files of 1-16 KiB (default 20000; about 8.5 KiB each)
#   --seed S      another seed gives other contents of the same shape (default 1)
#
# DIR must not exist or be empty.  The same arguments give the same bytes, names and
# mtimes on any machine with the same python3 and zstd major versions (Python's seeded
# Mersenne Twister; `zstd -3`'s output is stable within a version), so two runs compare.
# Layout, after the N small files are counted:
#
#   logs/app-NN.log          45% of the rest: log lines (timestamps, levels, request
#   docs/chapter-NN.txt                       ids, paths, durations) and prose from a
#                                             Zipf-weighted vocabulary
#   media/blob-NN.bin        25%: random bytes (images, video, encrypted files)
#   archive/app-NN.log.zst   10%: logs compressed with `zstd -3` (rotated logs)
#   db/prealloc.img          20%: zeros, written (a preallocated database file, not sparse)
#   small/dNN/fNNNNN.{log,json,txt,bin}   the N small files in 100 directories: text,
#                                         JSON, prose and random bytes
#
# Every file and directory gets a fixed mtime.  Prints one line on stdout at the end:
# "files BYTES_TOTAL FILE_COUNT".  Needs python3 and zstd.

set -euo pipefail

size=1G
files=20000
seed=1
while [ $# -gt 0 ]; do
	case $1 in
	--size) size=${2:?--size needs a value}; shift 2 ;;
	--size=*) size=${1#--size=}; shift ;;
	--files) files=${2:?--files needs a value}; shift 2 ;;
	--files=*) files=${1#--files=}; shift ;;
	--seed) seed=${2:?--seed needs a value}; shift 2 ;;
	--seed=*) seed=${1#--seed=}; shift ;;
	-h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) echo "mkvoldata.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { echo "usage: mkvoldata.sh [--size SIZE] [--files N] [--seed S] DIR" >&2; exit 2; }
dir=$1

case $size in
*[Gg]) bytes=$(( ${size%[Gg]} * 1073741824 )) ;;
*[Mm]) bytes=$(( ${size%[Mm]} * 1048576 )) ;;
*[Kk]) bytes=$(( ${size%[Kk]} * 1024 )) ;;
*) bytes=$size ;;
esac
[[ $bytes =~ ^[0-9]+$ ]] && [ "$bytes" -gt 0 ] || { echo "mkvoldata.sh: bad --size $size" >&2; exit 2; }
[[ $files =~ ^[0-9]+$ ]] || { echo "mkvoldata.sh: bad --files $files" >&2; exit 2; }
[[ $seed =~ ^[0-9]+$ ]] || { echo "mkvoldata.sh: bad --seed $seed" >&2; exit 2; }
if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
	echo "mkvoldata.sh: $dir is not empty" >&2
	exit 2
fi
command -v zstd >/dev/null || { echo "mkvoldata.sh: zstd is missing (apt-get install zstd)" >&2; exit 2; }
mkdir -p "$dir"

exec python3 - "$dir" "$bytes" "$files" "$seed" <<'EOF'
import os, random, subprocess, sys

root, total, nsmall, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
MIB = 1 << 20
MTIME = 1764547200  # 2025-12-01T00:00:00Z; file i gets MTIME + i
rng = random.Random(seed)

# A vocabulary whose word frequencies fall off as in prose (Zipf), built from syllables.
syl = ["ka", "hu", "ro", "ne", "ti", "sa", "lo", "me", "an", "ver", "tal", "us", "ing",
       "str", "pe", "do", "ri", "on", "ex", "qu", "ar", "ble", "ment", "ly", "is", "th"]
vocab = []
while len(vocab) < 4000:
    w = "".join(rng.choice(syl) for _ in range(rng.choice((1, 1, 2, 2, 2, 3, 3, 4))))
    vocab.append(w)
cum, acc = [], 0.0
for i in range(len(vocab)):
    acc += 1.0 / (i + 1)
    cum.append(acc)

levels = ["INFO"] * 12 + ["DEBUG"] * 5 + ["WARN"] * 2 + ["ERROR"]
comps = ["api", "db", "cache", "worker-%d", "scheduler", "auth", "http", "queue"]
paths = ["/api/v1/orders/%d", "/api/v1/users/%d/profile", "/static/img/%d.png",
         "/api/v2/search?q=%s", "/healthz", "/metrics", "/api/v1/carts/%d/items"]
verbs = ["GET"] * 6 + ["POST"] * 2 + ["PUT", "DELETE"]
codes = [200] * 20 + [201, 204, 301, 304, 400, 401, 404, 404, 500, 503]

def words(n):
    return " ".join(rng.choices(vocab, cum_weights=cum, k=n))

class Logs:
    """Log lines: a clock that moves forward, request ids and sizes that vary, messages
    drawn from a pool of 65,536 (as a program logs the same few thousand statements)."""
    def __init__(self):
        self.t = 1764547200.0
        ri = rng.randrange
        self.pool = []
        for _ in range(65536):
            comp = rng.choice(comps)
            if "%d" in comp:
                comp = comp % ri(16)
            lvl = rng.choice(levels)
            if rng.random() < 0.6:
                p = rng.choice(paths)
                p = p % (vocab[ri(200)] if "%s" in p else ri(100000)) if "%" in p else p
                self.pool.append("%s [%s] %s %s %d " % (lvl, comp, rng.choice(verbs), p, rng.choice(codes)))
            else:
                self.pool.append("%s [%s] %s " % (lvl, comp, words(4 + ri(14))))
    def chunk(self, size):
        out, n = [], 0
        pool, r, bits, vocab_ = self.pool, rng.random, rng.getrandbits, vocab
        t = self.t
        while n < size:
            t += r() * 0.05
            s = int(t)
            x = bits(64)
            line = "2025-12-%02dT%02d:%02d:%02d.%03dZ %s%dms req=%08x user=%s\n" % (
                1 + (s - 1764547200) // 86400 % 28, (s // 3600) % 24, (s // 60) % 60, s % 60,
                int((t - s) * 1000), pool[x & 0xffff], (x >> 16) & 0x7ff, x >> 32,
                vocab_[(x >> 27) & 0x1ff])
            out.append(line)
            n += len(line)
        self.t = t
        return "".join(out).encode()

def prose(size):
    out, n = [], 0
    while n < size:
        para = words(40 + rng.randrange(160)).capitalize().replace(" ka ", ". Ka ") + ".\n\n"
        out.append(para)
        n += len(para)
    return "".join(out).encode()

count = 0
written = 0

nfiles = 0

def mark(path):
    global count, nfiles
    os.utime(path, (MTIME + count, MTIME + count))
    count += 1
    nfiles += os.path.isfile(path)

def write_file(path, gen, size):
    global written
    with open(path, "wb") as f:
        left = size
        while left > 0:
            b = gen(min(left, 4 * MIB))[: left]
            f.write(b)
            left -= len(b)
    written += size
    mark(path)

# Sizes: the small files first (as drawn), the rest shared out.
small = [1024 + rng.randrange(15 * 1024 + 1) for _ in range(nsmall)]
rest = max(total - sum(small), 0)
text_b, rand_b, zst_b = rest * 45 // 100, rest * 25 // 100, rest * 10 // 100
zero_b = rest - text_b - rand_b - zst_b

def split(n, piece):
    """n bytes as files of about `piece` bytes (at least one file when n > 0)."""
    if n <= 0:
        return []
    k = max(1, round(n / piece))
    sizes = [n // k] * k
    sizes[-1] += n - sum(sizes)
    return sizes

for d in ("logs", "docs", "media", "archive", "db", "small"):
    os.makedirs(os.path.join(root, d), exist_ok=True)

logs = Logs()
for i, s in enumerate(split(text_b * 2 // 3, 64 * MIB)):
    write_file(os.path.join(root, "logs", "app-%02d.log" % i), logs.chunk, s)
for i, s in enumerate(split(text_b - text_b * 2 // 3, 16 * MIB)):
    write_file(os.path.join(root, "docs", "chapter-%02d.txt" % i), prose, s)
for i, s in enumerate(split(rand_b, 32 * MIB)):
    write_file(os.path.join(root, "media", "blob-%02d.bin" % i), rng.randbytes, s)
# Rotated logs: generated log text through `zstd -3`, as much as gives each file its
# share at the ratio measured on a sample first.
sample = Logs().chunk(8 * MIB)
ratio = len(sample) / len(subprocess.run(["zstd", "-3", "-q", "-c"], input=sample,
                                          stdout=subprocess.PIPE, check=True).stdout)
for i, s in enumerate(split(zst_b, 16 * MIB)):
    path = os.path.join(root, "archive", "app-%02d.log.zst" % i)
    with open(path, "wb") as f:
        z = subprocess.Popen(["zstd", "-3", "-q", "-c"], stdin=subprocess.PIPE, stdout=f)
        left = int(s * ratio)
        while left > 0:
            b = logs.chunk(min(left, 4 * MIB))[:left]
            z.stdin.write(b)
            left -= len(b)
        z.stdin.close()
        if z.wait() != 0:
            sys.exit("mkvoldata.sh: zstd failed")
    written += os.path.getsize(path)
    mark(path)
if zero_b:
    write_file(os.path.join(root, "db", "prealloc.img"), lambda n: bytes(n), zero_b)

kinds = ("log", "json", "txt", "bin")
for i, s in enumerate(small):
    d = os.path.join(root, "small", "d%02d" % (i % 100))
    if i < 100:
        os.makedirs(d, exist_ok=True)
    k = kinds[rng.randrange(10) % 4] if rng.randrange(10) < 8 else "bin"
    if k == "log":
        b = logs.chunk(s)[:s]
    elif k == "json":
        head = '{"id": %d, "name": "%s", "tags": [%s], "note": "' % (
            i, vocab[rng.randrange(4000)], ", ".join('"%s"' % w for w in words(8).split()))
        b = (head + words(s // 3)[: max(0, s - len(head) - 3)] + '"}\n').encode()
    elif k == "txt":
        b = prose(s)[:s]
    else:
        b = rng.randbytes(s)
    p = os.path.join(d, "f%05d.%s" % (i, k))
    with open(p, "wb") as f:
        f.write(b)
    written += len(b)
    mark(p)

for dp, dn, fn in os.walk(root, topdown=False):
    for name in dn:
        mark(os.path.join(dp, name))
mark(root)
print("files %d %d" % (written, nfiles))
EOF
