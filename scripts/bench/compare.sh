#!/usr/bin/env bash
# compare.sh: Manifold against Mosquitto on the rig of PERFORMANCE.md, side by
# side in one run, and one markdown table of medians and ratios.
#
#   scripts/bench/compare.sh                 # every scenario, 3 rounds, 10 s each
#   GEN=both DUR=5s scripts/bench/compare.sh # both generators, shorter runs
#   SCENARIOS="fanin1 lat1" ROUNDS=5 scripts/bench/compare.sh
#
# Rig: the broker is pinned to one core (taskset -c $BROKER_CPU, default 1),
# the load generator to the other (taskset -c $GEN_CPU, default 0). For each
# scenario and round the two brokers run one after the other, A B A B: each
# run starts a fresh broker on a loopback port, runs one bounded generator
# against it, and stops it by PID. The table shows the median of $ROUNDS.
#
# Generator: PERFORMANCE.md names the neutral generator
# /work/shared/tools/mqttload (or ../shared/tools/mqttload next to the
# checkout) as the reference for the targets, and asks for the project's own
# `manifold bench` beside it. GEN=mqttload (the default) uses the neutral
# one, GEN=manifold uses bin/manifold bench with the same scenario, GEN=both
# runs the whole comparison with each; the table names the generator of each
# row. mqttload is built into a temp dir from its source; when it cannot be
# found, GEN falls back to manifold with a warning.
#
# Brokers: Mosquitto from Debian (installed with apt-get when missing) with
# the settings PERFORMANCE.md gives (max_queued_messages 1000000,
# max_inflight_messages 1000, persistence false); Manifold from bin/manifold
# (built when missing) with configs/manifold.yaml's defaults except: one TCP
# listener on loopback, WebSocket listener, gateways and dashboard off, no ACL file,
# log level warning, and the peer's queue settings (mqtt.max_inflight 1000,
# mqtt.max_mqueue_len 1000000) so both brokers queue the same amount.
#
# Scenarios (64-byte payloads, $DUR each, PERFORMANCE.md):
#   fanin0  8 publishers -> 1 subscriber on '#', QoS 0
#   fanin1  the same at QoS 1, window 64
#   fanout0 1 publisher -> 100 subscribers, QoS 0
#   lat0    fanin0 at a fixed 20k msg/s; lat1 the same at QoS 1
#   conn    $CONNS idle connections from 8 source addresses (fd hard limit
#           must exceed it: ulimit -n), CONNACK/s and broker RSS per connection.
#           On this rig the generator's core saturates first (about 70 µs of
#           its CPU per connect against the broker's 30-40; both brokers show
#           the same connect latency), so the CONNACK/s it measures is the
#           generator's. What one broker core can do is read from the
#           broker's CPU per connect: "CONNACK/s per broker core" = 1 s / that.
#
# Every generator run is bounded by a message count ($COUNT, fanout0 a
# hundredth of it: each message makes 100 deliveries), its duration, its
# drain and `timeout`.
# Numbers on a shared machine are noisy: read ratios and CPU per message, not
# absolute rates. This is a benchmark, not a test: nothing here fails on a
# figure. Exit status is non-zero only when the rig cannot be set up.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
DUR=${DUR:-10s}
HOLD=${HOLD:-5s}
CONNS=${CONNS:-19500}
GEN=${GEN:-mqttload}
SCENARIOS=${SCENARIOS:-"fanin0 fanin1 fanout0 lat0 lat1 conn"}
M_PORT=${M_PORT:-18931}
Q_PORT=${Q_PORT:-18932}
BROKER_CPU=${BROKER_CPU:-1}
GEN_CPU=${GEN_CPU:-0}
RUN_TIMEOUT=${RUN_TIMEOUT:-180}
COUNT=${COUNT:-40000000} # most messages published in one run (8 publishers share it)
MQTTLOAD_SRC=${MQTTLOAD_SRC:-}

log() { echo "compare: $*" >&2; }
die() { log "$*"; exit 1; }

tmp=$(mktemp -d)
broker_pid=""
stop_broker() {
  if [ -n "$broker_pid" ]; then
    kill "$broker_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$broker_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
    broker_pid=""
  fi
}
cleanup() { stop_broker; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools -------------------------------------------------------------------
command -v taskset >/dev/null || die "taskset missing (util-linux)"
[ -x bin/manifold ] || { log "building bin/manifold"; make build >/dev/null; }
MOSQUITTO=$(command -v mosquitto || true)
[ -z "$MOSQUITTO" ] && [ -x /usr/sbin/mosquitto ] && MOSQUITTO=/usr/sbin/mosquitto
if [ -z "$MOSQUITTO" ]; then
  log "mosquitto not found: installing the Debian package (apt-get install -y mosquitto)"
  apt-get install -y mosquitto >/dev/null 2>&1 || die "could not install mosquitto; install it (Debian: apt-get install mosquitto) and rerun"
  MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
fi
[ -x "$MOSQUITTO" ] || die "mosquitto not executable at $MOSQUITTO"

gens=$GEN
[ "$GEN" = both ] && gens="mqttload manifold"
if [[ " $gens " == *" mqttload "* ]]; then
  src=$MQTTLOAD_SRC
  for d in /work/shared/tools/mqttload ../shared/tools/mqttload; do [ -z "$src" ] && [ -f "$d/main.go" ] && src=$d; done
  if [ -n "$src" ] && (cd "$src" && go build -o "$tmp/mqttload" .) 2>"$tmp/mqttload.build"; then
    MQTTLOAD=$tmp/mqttload
  else
    log "warning: mqttload not found or not buildable (set MQTTLOAD_SRC); using manifold bench only"
    gens=manifold
  fi
fi

if [[ " $SCENARIOS " == *" conn "* ]]; then
  hard=$(ulimit -Hn)
  if [ "$hard" != unlimited ] && [ "$hard" -le "$CONNS" ]; then
    die "conn needs more than $CONNS file descriptors per process; ulimit -Hn is $hard (lower CONNS or raise the limit)"
  fi
  ulimit -n "$hard"
fi

# --- broker configurations ---------------------------------------------------
cat >"$tmp/mosquitto.conf" <<CONF
listener $Q_PORT 127.0.0.1
allow_anonymous true
max_queued_messages 1000000
max_inflight_messages 1000
persistence false
log_dest stderr
log_type error
CONF
cat >"$tmp/manifold.yaml" <<CONF
log: {level: warning}
node: {data_dir: $tmp/data}
listeners:
  tcp: {default: {bind: "127.0.0.1:$M_PORT"}}
  ws: {default: {enable: false}}
dashboard: {listeners: {http: {enable: false}}}
authorization: {sources: []}
mqtt: {max_inflight: 1000, max_mqueue_len: 1000000}
gateway: {stomp: {enable: false}, coap: {enable: false}, lwm2m: {enable: false}, mqttsn: {enable: false}, raw: {enable: false}}
CONF

start_broker() { # $1 = manifold | mosquitto; sets broker_pid and port
  case $1 in
    manifold) port=$M_PORT; taskset -c "$BROKER_CPU" bin/manifold start -c "$tmp/manifold.yaml" >>"$tmp/manifold.log" 2>&1 &;;
    mosquitto) port=$Q_PORT; taskset -c "$BROKER_CPU" "$MOSQUITTO" -c "$tmp/mosquitto.conf" >>"$tmp/mosquitto.log" 2>&1 &;;
  esac
  broker_pid=$!
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then sleep 0.2; return 0; fi
    kill -0 "$broker_pid" 2>/dev/null || break
    sleep 0.1
  done
  log "$1 did not start; its log:"; tail -5 "$tmp/$1.log" >&2
  return 1
}

# --- generators --------------------------------------------------------------
ifaddrs_manifold=127.0.0.10,127.0.0.11,127.0.0.12,127.0.0.13,127.0.0.14,127.0.0.15,127.0.0.16,127.0.0.17

gen_cmd() { # $1 gen $2 scenario $3 port $4 pid -> argv on stdout, one per line
  local g=$1 s=$2 port=$3 pid=$4
  if [ "$g" = mqttload ]; then
    local c=("$MQTTLOAD" -addr "127.0.0.1:$port" -pid "$pid" -size 64 -dur "$DUR" -drain 15s)
    case $s in
      fanin0) c+=(-scenario fanin -qos 0 -pubs 8 -subs 1 -count $((COUNT / 8)));;
      fanin1) c+=(-scenario fanin -qos 1 -inflight 64 -pubs 8 -subs 1 -count $((COUNT / 8)));;
      fanout0) c+=(-scenario fanout -qos 0 -subs 100 -count $((COUNT / 100)));;
      lat0) c+=(-scenario fanin -qos 0 -pubs 8 -subs 1 -rate 20000 -count $((COUNT / 8)));;
      lat1) c+=(-scenario fanin -qos 1 -inflight 64 -pubs 8 -subs 1 -rate 20000 -count $((COUNT / 8)));;
      conn) c=("$MQTTLOAD" -addr "127.0.0.1:$port" -pid "$pid" -scenario conn -conns "$CONNS" -srcips 8 -hold "$HOLD" -dur 60s);;
    esac
  else
    local c=(bin/manifold bench)
    case $s in
      fanin0) c+=(pubsub -c 8 --subs 1 -t 'load/%i' --sub-topic '#' -q 0);;
      fanin1) c+=(pubsub -c 8 --subs 1 -t 'load/%i' --sub-topic '#' -q 1 --inflight 64);;
      fanout0) c+=(pubsub -c 1 --subs 100 -t load/0 -q 0 -L $((COUNT / 100)));;
      lat0) c+=(pubsub -c 8 --subs 1 -t 'load/%i' --sub-topic '#' -q 0 --rate 20000);;
      lat1) c+=(pubsub -c 8 --subs 1 -t 'load/%i' --sub-topic '#' -q 1 --inflight 64 --rate 20000);;
      conn) c+=(conn -c "$CONNS" --ifaddr "$ifaddrs_manifold" --duration "$HOLD");;
    esac
    c+=(-p "$port" --pid "$pid" --format kv --quiet)
    case $s in
      conn | fanout0) ;;
      *) c+=(-L "$COUNT");;
    esac
    [ "$s" != conn ] && c+=(-s 64 --duration "$DUR" --drain 15s)
  fi
  printf '%s\n' "${c[@]}"
}

# normalize: the generator's key=value line -> common keys, one per line.
normalize() { # $1 gen, stdin = output
  awk -v g="$1" '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
    END {
      if (g == "mqttload") {
        out("rate", v["deliv_rate"]); out("lost", v["lost"]); out("dup", v["dup"])
        out("p50", v["lat_p50_us"] / 1000); out("p99", v["lat_p99_us"] / 1000); out("p999", v["lat_p999_us"] / 1000)
        out("cpu", v["broker_cpu_us_per_msg"]); out("connack", v["connack_rate"]); out("bpc", v["bytes_per_conn"])
        if (v["broker_cpu_s_connect"] != "" && v["connected"] > 0) conncpu(v["broker_cpu_s_connect"] * 1e6 / v["connected"])
      } else {
        out("rate", v["recv_rate"]); out("lost", v["lost"]); out("dup", v["duplicated"])
        out("p50", v["lat_p50_ms"]); out("p99", v["lat_p99_ms"]); out("p999", v["lat_p999_ms"])
        out("cpu", v["broker_cpu_us_per_msg"]); out("connack", v["connack_rate"]); out("bpc", v["bytes_per_conn"])
        if (v["broker_cpu_us_per_conn"] != "") conncpu(v["broker_cpu_us_per_conn"])
      }
    }
    function out(k, x) { if (x != "") print k, x }
    # Broker CPU per connect, and the CONNACK/s one broker core could give at that cost.
    function conncpu(us) { out("cpc", us); if (us > 0) out("percore", 1e6 / us) }'
}

metrics() { # scenario -> "key|label" lines
  case $1 in
    fanin0) printf '%s\n' "rate|delivered msg/s" "cpu|broker µs/msg" "lost|lost";;
    fanin1) printf '%s\n' "rate|delivered msg/s" "cpu|broker µs/msg" "lost|lost" "dup|duplicated";;
    fanout0) printf '%s\n' "rate|deliveries/s" "cpu|broker µs/delivery" "lost|lost";;
    lat0 | lat1) printf '%s\n' "p50|latency p50 ms" "p99|latency p99 ms" "p999|latency p99.9 ms" "lost|lost";;
    conn) printf '%s\n' "connack|CONNACK/s (generator-bound, see above)" "cpc|broker µs/connect" "percore|CONNACK/s per broker core" "bpc|RSS bytes/connection";;
  esac
}

# issue: scenario key manifold mosquitto -> yes / no / –, by the targets of
# issue 5 (ratios against Mosquitto in the same run).
issue() {
  awk -v s="$1" -v k="$2" -v m="$3" -v q="$4" 'BEGIN {
    if (m == "NA") { print "–"; exit }
    t = ""
    if ((s == "fanin0" || s == "fanout0") && k == "cpu" && q != "NA") t = (m <= q / 3)
    else if ((s == "fanin0" || s == "fanin1") && (k == "lost" || k == "dup")) t = (m == 0)
    else if (s == "fanin1" && k == "rate" && q != "NA" && q > 0) t = (m >= 2 * q)
    else if ((s == "lat0" || s == "lat1") && k == "p99" && q != "NA") t = (m <= q)
    else if (s == "conn" && k == "bpc") t = (m <= 2048)
    else if (s == "conn" && k == "percore" && q != "NA") t = (m >= q)
    if (t == "") print "–"; else print (t ? "yes" : "**no**")
  }'
}

# target: scenario key manifold mosquitto -> yes / no / –, by the targets of
# PERFORMANCE.md (stricter, some absolute).
target() {
  awk -v s="$1" -v k="$2" -v m="$3" -v q="$4" 'BEGIN {
    if (m == "NA") { print "–"; exit }
    t = ""
    if (s == "fanin0" && k == "cpu") t = (m <= 1.0)
    else if ((s == "fanin0" || s == "fanin1") && (k == "lost" || k == "dup")) t = (m == 0)
    else if (s == "fanin1" && k == "rate" && q != "NA" && q > 0) t = (m >= 3 * q)
    else if (s == "fanout0" && k == "cpu") t = (m <= 0.5)
    else if ((s == "lat0" || s == "lat1") && k == "p99" && q != "NA") t = (m <= q)
    else if (s == "conn" && k == "bpc") t = (m <= 1024)
    else if (s == "conn" && k == "percore" && q != "NA" && q > 0) t = (m >= 2 * q)
    if (t == "") print "–"; else print (t ? "yes" : "**no**")
  }'
}

median() { # file of numbers -> median or NA
  [ -s "$1" ] || { echo NA; return; }
  sort -g "$1" | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# --- runs --------------------------------------------------------------------
res=$tmp/res
for g in $gens; do
  for s in $SCENARIOS; do
    for r in $(seq "$ROUNDS"); do
      for b in manifold mosquitto; do
        mkdir -p "$res/$g/$s/$b"
        if ! start_broker "$b"; then stop_broker; continue; fi
        mapfile -t cmd < <(gen_cmd "$g" "$s" "$port" "$broker_pid")
        log "$g $s round $r/$ROUNDS: $b (pid $broker_pid)"
        if out=$(timeout "$RUN_TIMEOUT" taskset -c "$GEN_CPU" "${cmd[@]}" 2>"$tmp/gen.err"); then
          line=$(printf '%s\n' "$out" | grep '=' | head -1)
          echo "$g $s $r $b $line" >>"$tmp/raw.txt"
          printf '%s\n' "$line" | normalize "$g" | while read -r k v; do echo "$v" >>"$res/$g/$s/$b/$k"; done
        else
          log "warning: $g $s on $b failed: $(tail -2 "$tmp/gen.err" | tr '\n' ' ')"
        fi
        stop_broker
      done
    done
  done
done

# --- table -------------------------------------------------------------------
echo
echo "Manifold vs Mosquitto $("$MOSQUITTO" -h 2>/dev/null | awk 'NR==1 {print $3}'), median of $ROUNDS rounds A B A B, $DUR per run, broker on CPU $BROKER_CPU, generator on CPU $GEN_CPU, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| generator | scenario | metric | manifold | mosquitto | ratio | issue 5 target | PERFORMANCE.md target |"
echo "|---|---|---|---|---|---|---|---|"
for g in $gens; do
  for s in $SCENARIOS; do
    while IFS='|' read -r k label; do
      m=$(median "$res/$g/$s/manifold/$k")
      q=$(median "$res/$g/$s/mosquitto/$k")
      ratio=$(awk -v m="$m" -v q="$q" 'BEGIN { if (m == "NA" || q == "NA" || q == 0) print "–"; else printf "%.2f", m / q }')
      echo "| $g | $s | $label | $m | $q | $ratio | $(issue "$s" "$k" "$m" "$q") | $(target "$s" "$k" "$m" "$q") |"
    done < <(metrics "$s")
  done
done
echo
echo "ratio = manifold / mosquitto. Raw lines: set KEEP_RAW=1 to print them."
if [ "${KEEP_RAW:-0}" = 1 ] && [ -f "$tmp/raw.txt" ]; then echo; sed 's/^/    /' "$tmp/raw.txt"; fi
