#!/usr/bin/env bash
# `finetune validate` of two or more commits side by side, as users install it (published natively for this machine).
# The builds run in interleaved rounds, each once a round in turn, so a shared machine's drift hits them alike; each
# build's time is taken over the first build's in the same round, and the median and quartiles of those ratios are
# printed with the wall times and peak memory. Put FILE on a memory file system (/dev/shm) when the page cache is
# short, so that every round reads it from memory.
#   bash FineTuning.Benchmarks/scripts/compare-builds.sh FILE [--rounds N] [--threads N] BASE_COMMIT COMMIT...
set -euo pipefail
usage="usage: compare-builds.sh FILE.jsonl [--rounds N] [--threads N] BASE_COMMIT COMMIT..."
file=${1:?$usage}
shift
rounds=20
threads=1
commits=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=${2:?$usage}; shift 2 ;;
    --threads) threads=${2:?$usage}; shift 2 ;;
    *) commits+=("$1"); shift ;;
  esac
done
if [ ${#commits[@]} -lt 2 ]; then
  echo "$usage (the first commit is the one the others are measured against)" >&2
  exit 2
fi

root="$(cd "$(dirname "$0")/../.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"; git -C "$root" worktree prune' EXIT
rid=$(dotnet --info | sed -nE 's/^ *RID: *//p' | head -n 1)
for i in "${!commits[@]}"; do
  echo "publishing ${commits[$i]} ..." >&2
  git -C "$root" worktree add --force --detach "$work/src$i" "${commits[$i]}" >/dev/null 2>&1
  dotnet publish "$work/src$i/FineTuning.Local" -c Release -r "$rid" -o "$work/bin$i" -nologo -v:quiet >/dev/null
  git -C "$root" worktree remove --force "$work/src$i"
done

for round in $(seq "$rounds"); do
  for i in "${!commits[@]}"; do
    /usr/bin/time -a -o "$work/times" -f "$round $i %e %M" \
      "$work/bin$i/finetune" validate "$file" --threads "$threads" --json >/dev/null
  done
done

python3 - "$work/times" "${commits[@]}" <<'EOF'
import collections, statistics, sys

names = sys.argv[2:]
times, peak = collections.defaultdict(dict), {}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) == 4 and parts[0].isdigit():
        rnd, build, seconds, kib = parts
        times[int(build)][rnd] = float(seconds)
        peak[int(build)] = max(peak.get(int(build), 0), int(kib))
for build, name in enumerate(names):
    ratios = sorted(times[build][r] / times[0][r] for r in times[build])
    wall = sorted(times[build].values())
    n = len(ratios)
    print(f"{name:>12}: time / {names[0]}: median {statistics.median(ratios):.3f} (quartiles {ratios[n // 4]:.3f} to "
          f"{ratios[(3 * n) // 4]:.3f}); wall {wall[0]:.2f} to {wall[-1]:.2f} s, median {statistics.median(wall):.2f} s; "
          f"peak {peak[build] // 1024} MiB; {n} rounds")
EOF
