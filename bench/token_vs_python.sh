#!/usr/bin/env bash
# Times building one ConvoAI agent token with this SDK and with the Python SDK
# (agent-server-sdk==1.0.3, installed into a throwaway venv), same inputs, same run.
# Usage: bench/token_vs_python.sh [N] [REPEATS]    (defaults: 100000 tokens, best of 5)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100000}"
REPEATS="${2:-5}"
VENV="bench/.venv"

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import shengwang_agent' 2>/dev/null; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'agent-server-sdk==1.0.3'
fi

cargo build --quiet --release -p shengwang-agent --example token_timing
rust_us=$(target/release/examples/token_timing "$N" "$REPEATS")

py_us=$("$VENV/bin/python" - "$N" "$REPEATS" <<'PY'
import sys, timeit
from shengwang_agent.agentkit.token import generate_convo_ai_token
n, repeats = int(sys.argv[1]), int(sys.argv[2])
args = ("970CA35de60c44645bbae8a215061b33", "5CFd2fd1755d40ecb72977518be15d3b",
        "7d72365eb983485397e3e3f9d460bdda", "2882341273")
best = min(timeit.repeat(lambda: generate_convo_ai_token(*args), number=n, repeat=repeats))
print(f"{best * 1e6 / n:.3f}")
PY
)

ratio=$(python3 -c "print(f'{$rust_us / $py_us:.3f}')")
speedup=$(python3 -c "print(f'{$py_us / $rust_us:.1f}')")
printf 'convo_ai token, best of %s x %s tokens (nproc %s)\n' "$REPEATS" "$N" "$(nproc)"
printf '  rust   (shengwang-agent)         %8s us/token\n' "$rust_us"
printf '  python (agent-server-sdk 1.0.3)  %8s us/token\n' "$py_us"
printf '  ratio rust/python                %8s  (rust is %sx faster; target <= 0.100)\n' "$ratio" "$speedup"
