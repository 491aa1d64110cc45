#!/usr/bin/env bash
# Feasibility probe for kind on this Docker engine (issue "kind for real", item 5): what a
# kind node container needs, each tried for real, one line per check. Needs the local
# debian:bookworm image (scripts/build-base-images.sh); installs systemd into a probe
# image of its own. Exit 0 whatever it finds: it reports, it does not decide.
set -uo pipefail
img=fo-probe/node-base:bookworm
name="fo-probe-$$"
trap 'docker rm -f "$name" >/dev/null 2>&1; docker rm -f "$name-p" >/dev/null 2>&1' EXIT
say() { printf '%-44s %s\n' "$1" "$2"; }
docker image inspect debian:bookworm >/dev/null 2>&1 || { echo "no debian:bookworm image: run scripts/build-base-images.sh" >&2; exit 2; }
if ! docker image inspect "$img" >/dev/null 2>&1; then
  printf 'FROM debian:bookworm\nRUN apt-get update -qq && apt-get install -y -qq --no-install-recommends systemd systemd-sysv >/dev/null && rm -rf /var/lib/apt/lists/*\n' |
    docker build -q -t "$img" - >/dev/null 2>&1 || { echo "could not build $img" >&2; exit 2; }
fi
say "engine: storage driver" "$(docker info -f '{{.Driver}}')"
say "engine: cgroup version / driver" "$(docker info -f '{{.CgroupVersion}} / {{.CgroupDriver}}')"
say "host: capability bounding set" "$(awk '/CapBnd/ {print $2}' /proc/self/status)"
out="$(docker run --rm --privileged "$img" true 2>&1)" && say "docker run --privileged (kind uses it)" ok ||
  say "docker run --privileged (kind uses it)" "REFUSED: $(grep -m1 -o 'runc create failed.*' <<<"$out" | cut -c1-120)"
docker run -d --name "$name" --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined \
  --security-opt apparmor=unconfined --tmpfs /run --tmpfs /tmp -v /var --cgroupns=private "$img" /sbin/init >/dev/null 2>&1
sleep 5
state="$(docker exec "$name" systemctl is-system-running 2>&1)"
say "systemd as PID 1 (all caps but SYS_RESOURCE)" "$state"
docker exec "$name" sh -c 'mkdir -p /var/l /var/u /var/w /var/m && mount -t overlay overlay -o lowerdir=/var/l,upperdir=/var/u,workdir=/var/w /var/m' >/dev/null 2>&1 &&
  say "overlay mount on a volume (/var)" ok || say "overlay mount on a volume (/var)" FAILED
docker exec "$name" sh -c 'mkdir -p /x/l /x/u /x/w /x/m && mount -t overlay overlay -o lowerdir=/x/l,upperdir=/x/u,workdir=/x/w /x/m' >/dev/null 2>&1 &&
  say "overlay mount on the container root" ok || say "overlay mount on the container root" FAILED
docker exec "$name" sh -c 'mkdir /sys/fs/cgroup/pids/fo-probe' >/dev/null 2>&1 &&
  say "nested cgroup (cgroupns private)" ok || say "nested cgroup (cgroupns private)" "FAILED (cgroup fs read-only)"
docker rm -f "$name" >/dev/null 2>&1
docker run -d --name "$name-p" --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined \
  --tmpfs /run -v /sys/fs/cgroup:/sys/fs/cgroup:rw --cgroupns=host "$img" /sbin/init >/dev/null 2>&1
sleep 3
docker exec "$name-p" sh -c 'mkdir /sys/fs/cgroup/pids/fo-probe-$$ && rmdir /sys/fs/cgroup/pids/fo-probe-$$' >/dev/null 2>&1 &&
  say "nested cgroup (host cgroupns, rw bind)" ok || say "nested cgroup (host cgroupns, rw bind)" FAILED
