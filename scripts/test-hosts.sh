#!/usr/bin/env bash
# Real "remote hosts" for tests: each host is a network namespace with its own 127.x address and its
# own sshd, whose data folder is a private tmpfs, so a deployment over ssh meets real separate hosts.
#
#   bash scripts/test-hosts.sh up <stateDir> <N> [<M>]   # N hosts on subnet 1, M on subnet 2 (routed to 1); writes <stateDir>/hosts.json
#   bash scripts/test-hosts.sh down <stateDir>           # removes everything `up` recorded in <stateDir>/state
#
# Every namespace and interface is recorded in <stateDir>/state just before it is made (each sshd just
# after), so `down` removes exactly those, also after a failed `up`, and nothing of another run.
# Never touches iptables.
set -euo pipefail

say() { echo "test-hosts: $*" >&2; }
die() { say "$*"; exit 1; }

DATA_FOLDER=/srv/stagewise-host
LOCK=/run/stagewise-test-hosts.lock

usage() { die "usage: $0 up <stateDir> <N> [<M>] | down <stateDir>"; }

[ "$(id -u)" = 0 ] || die "must run as root (it makes network namespaces, interfaces and sshd servers)"
[ $# -ge 2 ] || usage
cmd="$1"
state_dir="$2"

record() { echo "$*" >>"$state_dir/state"; }

# ---- down -------------------------------------------------------------------------------------------

# Kills one pid and waits up to 5 s for it, then KILL. Only ever called with pids that are ours.
kill_wait() {
    local pids=("$@") i
    [ ${#pids[@]} -gt 0 ] || return 0
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for i in $(seq 50); do
        local alive=0 p
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && return 0
        sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
}

down() {
    local f="$state_dir/state"
    [ -f "$f" ] || { rm -rf "${state_dir:?}/hosts.json" 2>/dev/null || true; return 0; }
    local kind name namespaces=() links=() pids=()
    while read -r kind name; do
        case "$kind" in
            ns) namespaces+=("$name") ;;
            link) links+=("$name") ;;
            pid) pids+=("$name") ;;
        esac
    done <"$f"
    # Everything inside our namespaces is ours: the sshds and whatever was started over ssh (servers...).
    local ns inside=()
    for ns in "${namespaces[@]}"; do
        ip netns list 2>/dev/null | awk '{print $1}' | grep -qxF "$ns" || continue
        while read -r p; do [ -n "$p" ] && inside+=("$p"); done < <(ip netns pids "$ns" 2>/dev/null || true)
    done
    # A recorded sshd pid counts only while it is still an sshd (the pid could have been reused).
    local p ours=()
    for p in "${pids[@]}"; do
        [ "$(cat /proc/"$p"/comm 2>/dev/null || true)" = sshd ] && ours+=("$p")
    done
    kill_wait "${inside[@]}" "${ours[@]}"
    for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    local l
    for l in "${links[@]}"; do
        ip link show "$l" >/dev/null 2>&1 && { ip link del "$l" 2>/dev/null || true; }
    done
    # Only the files this script wrote; the folder itself goes when that leaves it empty.
    rm -rf "${state_dir:?}"/{hosts.json,known_hosts,authorized_keys,client_key,client_key.pub,hosts,hosts.json.tmp} 2>/dev/null || true
    rm -f "$f"
    rmdir "$state_dir" 2>/dev/null || true
}

if [ "$cmd" = down ]; then
    [ $# -eq 2 ] || usage
    down
    exit 0
fi

# ---- up ---------------------------------------------------------------------------------------------

[ "$cmd" = up ] || usage
[ $# -ge 3 ] && [ $# -le 4 ] || usage
n1="$3"
n2="${4:-0}"
[[ "$n1" =~ ^[0-9]+$ && "$n2" =~ ^[0-9]+$ ]] || usage
[ $((n1 + n2)) -ge 1 ] && [ $((n1 + n2)) -le 26 ] || die "between 1 and 26 hosts in all"
[ $n1 -le 250 ] && [ $n2 -le 250 ] || die "at most 250 hosts on a subnet"

command -v ip >/dev/null 2>&1 || die "needs ip (iproute2)"
command -v unshare >/dev/null 2>&1 || die "needs unshare (util-linux)"
if [ ! -x /usr/sbin/sshd ]; then
    say "installing openssh-server (first run only)..."
    # The package lists may be missing or stale on a fresh machine: refresh them once when an install fails.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null 2>&1 || {
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null
    }
fi
[ -x /usr/sbin/sshd ] || die "no /usr/sbin/sshd after installing openssh-server"

mkdir -p "$state_dir"
state_dir="$(cd "$state_dir" && pwd)"
[ ! -s "$state_dir/state" ] || die "$state_dir already holds hosts: run down first"
: >"$state_dir/state"
# A failed up leaves nothing behind.
trap 'rc=$?; if [ $rc != 0 ]; then say "up failed, removing what it made"; down; fi; exit $rc' EXIT

# Run-unique names (≤ 15 chars for interfaces): swh-<hex>-a is host a's root-side veth, swh-<hex>-b1 a bridge.
run="swh-$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')"
mkdir -p /run/sshd "$state_dir/hosts"
[ -d "$DATA_FOLDER" ] || install -d -m 0755 "$DATA_FOLDER"

ssh-keygen -q -t ed25519 -N '' -C stagewise-test-client -f "$state_dir/client_key"
cp "$state_dir/client_key.pub" "$state_dir/authorized_keys"
: >"$state_dir/known_hosts"

# Two runs at once must not pick the same subnets: choose free third octets under a lock.
exec 9>"$LOCK"
flock 9
addr_used() { ip -o -4 addr show 2>/dev/null | grep -qF " $1/"; }
k=0
while addr_used "127.77.$((2 * k + 1)).1" || addr_used "127.77.$((2 * k + 2)).1"; do
    k=$((k + 1))
    [ $k -lt 120 ] || die "no free 127.77.x subnets"
done
subnets=("127.77.$((2 * k + 1))" "127.77.$((2 * k + 2))")

make_bridge() { # <name> <prefix>
    record link "$1"
    ip link add "$1" type bridge
    ip addr add "$2.1/24" dev "$1"
    sysctl -qw "net.ipv4.conf.$1.route_localnet=1"
    ip link set "$1" up
    # Without it the built-in `local 127.0.0.0/8 dev lo` route keeps this subnet's traffic on lo.
    ip route add "$2.0/24" dev "$1" table local
}
[ "$n1" -gt 0 ] && make_bridge "$run-b1" "${subnets[0]}"
[ "$n2" -gt 0 ] && make_bridge "$run-b2" "${subnets[1]}"
flock -u 9
exec 9>&-

# Two subnets route to each other through a router of their own: a namespace with a leg on each
# bridge at .254, forwarding (only inside it: this machine's own forwarding is left as it is).
ROUTER_OCTET=254
if [ "$n1" -gt 0 ] && [ "$n2" -gt 0 ]; then
    router="$run-r"
    record ns "$router"
    ip netns add "$router"
    in_router() { ip netns exec "$router" "$@"; }
    in_router sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.route_localnet=1
    for subnet in 1 2; do
        leg="$run-r$subnet"
        record link "$leg"
        ip link add "$leg" type veth peer name "$leg-p"
        ip link set "$leg" master "$run-b$subnet"
        sysctl -qw "net.ipv4.conf.$leg.route_localnet=1"
        ip link set "$leg" up
        ip link set "$leg-p" netns "$router"
        in_router ip link set "$leg-p" name "eth$subnet"
        in_router sysctl -qw "net.ipv4.conf.eth$subnet.route_localnet=1"
        in_router ip addr add "${subnets[$((subnet - 1))]}.$ROUTER_OCTET/24" dev "eth$subnet"
        in_router ip link set "eth$subnet" up
    done
fi

names=(a b c d e f g h i j k l m n o p q r s t u v w x y z)
hosts_json=()
addrs=()
idx=0
for subnet in 1 2; do
    count=$n1; [ $subnet = 2 ] && count=$n2
    prefix="${subnets[$((subnet - 1))]}"
    for i in $(seq 1 "$count"); do
        name="${names[$idx]}"; idx=$((idx + 1))
        ns="$run-$name"
        link="$run-$name"
        addr="$prefix.$((i + 1))"
        dir="$state_dir/hosts/$name"
        mkdir -p "$dir"

        record ns "$ns"
        ip netns add "$ns"
        record link "$link"
        ip link add "$link" type veth peer name "$link-p"
        ip link set "$link" master "$run-b$subnet"
        sysctl -qw "net.ipv4.conf.$link.route_localnet=1"
        ip link set "$link" up
        ip link set "$link-p" netns "$ns"
        in_ns() { ip netns exec "$ns" "$@"; }
        in_ns ip link set lo up
        in_ns ip link set "$link-p" name eth0
        in_ns sysctl -qw net.ipv4.conf.eth0.route_localnet=1
        in_ns ip addr add "$addr/24" dev eth0
        in_ns ip link set eth0 up
        in_ns ip route add "$prefix.0/24" dev eth0 table local
        if [ -n "${router:-}" ]; then
            other="${subnets[$((2 - subnet))]}"
            # A 127.x address has host scope: without `src` the kernel picks 0.0.0.0, a martian to the router.
            in_ns ip route add "$other.0/24" via "$prefix.$ROUTER_OCTET" dev eth0 src "$addr" table local
        fi

        ssh-keygen -q -t ed25519 -N '' -C "stagewise-test-host-$name" -f "$dir/host_key"
        cat >"$dir/sshd_config" <<EOF
ListenAddress $addr:22
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $state_dir/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
UseDNS no
Subsystem sftp internal-sftp
EOF
        # sshd daemonizes inside a private mount namespace holding the host's own tmpfs data folder; the
        # daemon (and everything started over ssh) keeps that namespace after unshare's sh has exited.
        # There, the login user's shell start-up files are empty, as on a fresh host: this machine's own
        # (bash runs ~/.bashrc for every ssh command) must not time every remote operation.
        in_ns unshare --mount --propagation private sh -c \
            'mount -t tmpfs -o mode=0755,size=2g tmpfs "$1" &&
             for f in "$HOME/.bashrc" "$HOME/.bash_profile" "$HOME/.profile"; do [ ! -f "$f" ] || mount --bind /dev/null "$f"; done &&
             exec /usr/sbin/sshd -f "$2" -E "$3"' \
            sh "$DATA_FOLDER" "$dir/sshd_config" "$dir/sshd.log"
        for _ in $(seq 50); do [ -s "$dir/sshd.pid" ] && break; sleep 0.1; done
        [ -s "$dir/sshd.pid" ] || die "host $name: sshd wrote no pid file (see $dir/sshd.log)"
        pid="$(cat "$dir/sshd.pid")"
        record pid "$pid"

        host_key="$(cut -d' ' -f1-2 "$dir/host_key.pub")"
        addrs+=("$addr")
        echo "$addr $host_key" >>"$state_dir/known_hosts"
        hosts_json+=("$(printf '{ "name": "%s", "namespace": "%s", "link": "%s", "address": "%s", "port": 22, "subnet": %d, "user": "root", "hostKey": "%s", "dataFolder": "%s", "sshdPid": %d }' \
            "$name" "$ns" "$link" "$addr" "$subnet" "$host_key" "$DATA_FOLDER" "$pid")")
        printf '%s\t%s\tsubnet %d\t%s\tsshd %d\n' "$name" "$addr" "$subnet" "$ns" "$pid"
    done
done

# Each sshd must accept the client key with its pinned host key before the hosts count as up.
for addr in "${addrs[@]}"; do
    deadline=$((SECONDS + 10))
    until ssh -F /dev/null -i "$state_dir/client_key" -o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=2 \
        -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$state_dir/known_hosts" -o LogLevel=ERROR \
        "root@$addr" true 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || die "sshd at $addr accepts no connection after 10 s"
        sleep 0.2
    done
done
{
    printf '{\n  "clientKey": "%s",\n  "clientPublicKey": "%s",\n  "hosts": [\n' \
        "$state_dir/client_key" "$(cut -d' ' -f1-2 "$state_dir/client_key.pub")"
    for i in "${!hosts_json[@]}"; do
        sep=","; [ "$i" = $((${#hosts_json[@]} - 1)) ] && sep=""
        printf '    %s%s\n' "${hosts_json[$i]}" "$sep"
    done
    printf '  ]\n}\n'
} >"$state_dir/hosts.json.tmp"
mv "$state_dir/hosts.json.tmp" "$state_dir/hosts.json"
