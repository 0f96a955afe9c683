#!/usr/bin/env bash
# Vigil's HTTP benchmark: last detect on 100 hourly points with key auth,
# measured with wrk against Vigil and against a bare Go handler that only
# decodes the same JSON (bench/http/baseline), in the same run, interleaved
# (baseline, Vigil, baseline, Vigil) to average out a shared machine's noise.
# It prints requests/s and p99 latency for each run and the ratios
#   throughput: Vigil / baseline   (higher is better, target >= 0.8)
#   p99:        baseline / Vigil   (higher is better, target >= 0.8)
#
# Usage: bench/http/run.sh            (from anywhere in the repo)
# Environment:
#   DURATION   length of each measured wrk run (default 10s)
#   WARMUP     length of the warm-up run against each server (default 3s)
#   THREADS, CONNECTIONS   wrk -t and -c (default 1 and 16)
#   TIMEOUT    wrk --timeout: a slower response counts as a timeout (10s)
#   VIGIL_LOG_LEVEL, VIGIL_LOG_FORMAT  passed to vigil serve as usual
#                                      (default: info, text, one line a request)
# Needs go, curl and wrk; installs wrk with apt-get when it is missing.
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-16}
TIMEOUT=${TIMEOUT:-10s}
TARGET=0.8
ROUNDS=2

die() { echo "run.sh: $*" >&2; exit 1; }

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
[[ -f go.mod ]] || die "cannot find the module root"

command -v curl >/dev/null || die "curl is required"
if ! command -v wrk >/dev/null; then
	echo "== installing wrk"
	if ! apt-get install -y wrk; then
		apt-get update
		apt-get install -y wrk
	fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-bench-http.XXXXXX")
pids=()
cleanup() {
	local rc=$?
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building vigil and the baseline"
CGO_ENABLED=0 go build -o "$work/vigil" ./cmd/vigil
CGO_ENABLED=0 go build -o "$work/baseline" ./bench/http/baseline

# The request: 100 hourly points from 2026-01-01T00:00:00Z, a daily cycle
# plus noise, and a spike on the last point.
awk 'BEGIN {
	srand(20260101); pi = atan2(0, -1); n = 100
	printf "{\"series\":["
	for (i = 0; i < n; i++) {
		v = 1000 + 250 * sin(2 * pi * (i - 6) / 24) + 60 * sin(4 * pi * i / 24) + (rand() + rand() + rand() - 1.5) * 40
		if (i == n - 1) v += 900
		printf "%s{\"timestamp\":\"2026-01-%02dT%02d:00:00Z\",\"value\":%.2f}", (i ? "," : ""), 1 + int(i / 24), i % 24, v
	}
	printf "],\"granularity\":\"hourly\"}"
}' >"$work/body.json"

key="bench-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
path=/anomalydetector/v1.1/timeseries/last/detect

cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Ocp-Apim-Subscription-Key"] = "$key"
local f = assert(io.open("$work/body.json", "rb"))
wrk.body = f:read("*a")
f:close()

done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("RESULT rps=%.1f p50_us=%d p99_us=%d requests=%d non2xx=%d socket_errors=%d timeouts=%d\n",
		summary.requests / (summary.duration / 1e6),
		latency:percentile(50), latency:percentile(99),
		summary.requests, e.status, e.connect + e.read + e.write, e.timeout))
end
EOF

# free_port prints a loopback port nothing listens on.
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "no free port found"
}

# wait_up URL PID NAME: waits until URL answers 200, or fails when the
# process dies or 30 s pass.
wait_up() {
	local url=$1 pid=$2 name=$3
	for _ in $(seq 300); do
		if curl -fsS -o /dev/null "$url" 2>/dev/null; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	die "$name did not come up at $url"
}

start_vigil() {
	local port
	for _ in 1 2 3; do
		port=$(free_port)
		VIGIL_API_KEY=$key "$work/vigil" serve --addr "127.0.0.1:$port" --data "$work/data" \
			--metrics-addr 127.0.0.1:0 >"$work/vigil.out" 2>"$work/vigil.log" &
		vigil_pid=$!
		pids+=("$vigil_pid")
		if wait_up "http://127.0.0.1:$port/ready" "$vigil_pid" vigil; then
			vigil_url="http://127.0.0.1:$port"
			return
		fi
	done
	tail -20 "$work/vigil.log" >&2
	die "vigil did not start"
}

start_baseline() {
	local port
	for _ in 1 2 3; do
		port=$(free_port)
		"$work/baseline" -addr "127.0.0.1:$port" >"$work/baseline.log" 2>&1 &
		base_pid=$!
		pids+=("$base_pid")
		# The baseline answers GET with 405: wait for the port instead.
		for _ in $(seq 300); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
				base_url="http://127.0.0.1:$port"
				return
			fi
			kill -0 "$base_pid" 2>/dev/null || break
			sleep 0.1
		done
	done
	cat "$work/baseline.log" >&2
	die "the baseline did not start"
}

echo "== starting the servers"
start_vigil
start_baseline
echo "vigil    $vigil_url (pid $vigil_pid)"
echo "baseline $base_url (pid $base_pid)"

# check NAME URL: one request with curl, which must answer 200.
check() {
	local name=$1 url=$2 code
	code=$(curl -sS -o "$work/answer.json" -w '%{http_code}' -X POST "$url$path" \
		-H 'Content-Type: application/json' -H "Ocp-Apim-Subscription-Key: $key" \
		--data-binary "@$work/body.json")
	echo "$name answered $code: $(cat "$work/answer.json")"
	[[ $code == 200 ]] || die "$name answered $code, not 200"
}
check vigil "$vigil_url"
check baseline "$base_url"

# cpu_ticks PID: the user+system CPU time the process has used, in ticks.
cpu_ticks() {
	sed -E 's/^.*\) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
hz=$(getconf CLK_TCK)

# bench NAME URL DURATION PID: one wrk run; prints "req/s p99_us cpu_us"
# where cpu_us is the server's CPU time per request (user + system, from
# /proc): unlike req/s it hardly moves when other work shares the machine.
bench() {
	local name=$1 url=$2 dur=$3 pid=$4 out line t0 t1
	t0=$(cpu_ticks "$pid")
	if ! out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$dur" --timeout "$TIMEOUT" --latency -s "$work/post.lua" "$url$path" 2>&1); then
		echo "$out" >&2
		die "wrk failed against $name"
	fi
	t1=$(cpu_ticks "$pid")
	line=$(grep '^RESULT ' <<<"$out") || { echo "$out" >&2; die "no result from wrk against $name"; }
	local non2xx socket timeouts
	non2xx=$(sed -E 's/.* non2xx=([0-9]+).*/\1/' <<<"$line")
	socket=$(sed -E 's/.* socket_errors=([0-9]+).*/\1/' <<<"$line")
	timeouts=$(sed -E 's/.* timeouts=([0-9]+).*/\1/' <<<"$line")
	if ((non2xx > 0 || socket > 0)); then
		echo "$out" >&2
		die "FAILED: $name gave $non2xx non-2xx responses and $socket socket errors under load"
	fi
	if ((timeouts > 0)); then
		# Not a wrong answer, but the p99 leaves these requests out.
		echo "run.sh: WARNING: $timeouts requests to $name took longer than $TIMEOUT; its p99 is understated" >&2
	fi
	sed -E 's/.* rps=([0-9.]+) .* p99_us=([0-9]+) requests=([0-9]+) .*/\1 \2 \3/' <<<"$line" |
		awk -v t="$((t1 - t0))" -v hz="$hz" '{ printf "%s %s %.1f\n", $1, $2, t / hz * 1e6 / $3 }'
}

echo "== warming up ($WARMUP each)"
bench baseline "$base_url" "$WARMUP" "$base_pid" >/dev/null
bench vigil "$vigil_url" "$WARMUP" "$vigil_pid" >/dev/null

echo "== machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== measuring: wrk -t$THREADS -c$CONNECTIONS -d$DURATION, POST $path, $(wc -c <"$work/body.json") bytes, key auth"
results=()
for round in $(seq "$ROUNDS"); do
	for name in baseline vigil; do
		url=$base_url pid=$base_pid
		[[ $name == vigil ]] && url=$vigil_url pid=$vigil_pid
		r=$(bench "$name" "$url" "$DURATION" "$pid")
		results+=("$round $name $r")
		echo "   round $round $name: $r (req/s, p99 us, server CPU us/request)" >&2
	done
done

echo
printf '%s\n' "${results[@]}" | awk -v target="$TARGET" '
	BEGIN { printf "%-6s %-9s %12s %10s %16s\n", "round", "server", "requests/s", "p99 ms", "CPU us/request" }
	{ printf "%-6s %-9s %12.0f %10.2f %16.1f\n", $1, $2, $3, $4 / 1000, $5
	  rps[$2] += $3; p99[$2] += $4; cpu[$2] += $5; n[$2]++ }
	END {
		for (s in n) { rps[s] /= n[s]; p99[s] /= n[s]; cpu[s] /= n[s] }
		for (i = 1; i <= 2; i++) {
			s = i == 1 ? "baseline" : "vigil"
			printf "%-6s %-9s %12.0f %10.2f %16.1f\n", "mean", s, rps[s], p99[s] / 1000, cpu[s]
		}
		tr = rps["vigil"] / rps["baseline"]; lr = p99["baseline"] / p99["vigil"]
		printf "\nthroughput ratio %.2f (vigil/baseline req/s, target >= %s)%s\n", tr, target, tr < target ? "  BELOW TARGET" : ""
		printf "p99 ratio        %.2f (baseline/vigil p99, target >= %s)%s\n", lr, target, lr < target ? "  BELOW TARGET" : ""
		printf "CPU ratio        %.2f (baseline/vigil server CPU per request; the throughput ratio a CPU-bound server would reach, steadier on a busy machine)\n", cpu["baseline"] / cpu["vigil"]
	}'
echo "(load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
