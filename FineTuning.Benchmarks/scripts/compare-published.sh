#!/usr/bin/env bash
# Side-by-side figures for finetune as users install it: published for this machine, natively compiled.
#   bash FineTuning.Benchmarks/scripts/compare-published.sh FILE
set -euo pipefail
file=${1:?usage: compare-published.sh FILE.jsonl}
root="$(cd "$(dirname "$0")/../.." && pwd)"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
rid=$(dotnet --info | sed -nE 's/^ *RID: *//p' | head -n 1)
dotnet publish "$root/FineTuning.Local" -c Release -r "$rid" -o "$out" -nologo -v:quiet
dotnet run --project "$root/FineTuning.Benchmarks" -c Release -- compare "$file" --finetune "$out/finetune"
