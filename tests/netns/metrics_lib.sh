# SPDX-License-Identifier: GPL-2.0-only
# Scraping helpers shared by the metrics tests (sourced after agent_lib.sh):
# MPORT is a free loopback port for --metrics-addr; scrape fetches and strictly
# parses n1's /metrics into $M (promcheck.py); m EXPR evaluates a Python
# expression over the last scrape, where v(name, label=value...) sums the
# matching series (None when there is none).
PROMCHECK="python3 $(dirname "${BASH_SOURCE[0]}")/promcheck.py"
MPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
M="$BM_TEST_DIR/metrics.json"

scrape() { $PROMCHECK 127.0.0.1 "$MPORT" "$M" >/dev/null; }

m() {
	python3 - "$M" "$1" <<'PY'
import json, sys
series = json.load(open(sys.argv[1]))
def v(name, **labels):
    total, found = 0, False
    for key, val in series.items():
        n, _, lab = key.partition("{")
        lab = json.loads("{" + lab)
        if n == name and all(lab.get(k) == w for k, w in labels.items()):
            total, found = total + val, True
    return total if found else None
print(eval(sys.argv[2]))
PY
}
