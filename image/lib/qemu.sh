# Shared helpers for the scripts that boot the built image in
# qemu-system-aarch64 -M virt (image/powercut-test, image/sdwear). Sourced, not
# run. The caller sets RUN (its work folder) and OUT (the image's folder) and
# calls qemu_stop from its EXIT trap. The image itself is never written: every
# run boots a sparse copy.

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*"; }

# Installs the host tools when missing (as root) or says which are missing.
qemu_need_tools() { # tool...
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null && continue
    [ "$(id -u)" = 0 ] || { echo "missing $tool (apt-get install qemu-system-arm qemu-utils mtools curl socat e2fsprogs jq)" >&2; exit 2; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      qemu-system-arm qemu-utils mtools curl socat ipxe-qemu e2fsprogs jq >/dev/null
    return
  done
}

qemu_need_image() {
  IMG=$OUT/smsbox.img
  [ -f "$IMG" ] && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initrd.img" ] || {
    echo "no built image in $OUT: run image/build first (npm run image)" >&2; exit 2; }
}

# Start or size (in 512-byte sectors) of partition N of a disk file, from its MBR.
part_start() { sfdisk --dump "$1" | awk -F'[=,]' -v n="$2" '$1 ~ ("[^0-9]" n " *:") { gsub(/ /, "", $2); print $2 }'; }
part_size() { sfdisk --dump "$1" | awk -F'[=,]' -v n="$2" '$1 ~ ("[^0-9]" n " *:") { gsub(/ /, "", $4); print $4 }'; }

# A sparse copy of the image with room to grow (the first boot grows the data
# partition to the end of the card), its boot partition's smsbox.toml edited
# by the sed script given (the shipped file with the virtual HAT, as
# image/smoke does), and checked with the grep patterns given after --.
qemu_make_disk() { # dest extra-size sed-script [-- required-line-pattern...]
  local dest=$1 extra=$2 script=$3 boot_start toml pattern; shift 3
  boot_start=$(part_start "$IMG" 1)
  [ -n "$boot_start" ] || { echo "cannot read the image's partition table" >&2; exit 1; }
  local stamp; stamp=$(stat -c %Y:%s "$IMG")
  cp --sparse=always "$IMG" "$dest"
  [ "$(stat -c %Y:%s "$IMG")" = "$stamp" ] || { echo "$IMG changed while it was copied (a build running?): try again" >&2; exit 1; }
  # The kernel and initrd too: a rebuild may replace them in $OUT mid-run.
  cp "$OUT/vmlinuz" "$OUT/initrd.img" "$RUN/"
  truncate -s "+$extra" "$dest"
  toml=$RUN/smsbox.toml
  mcopy -n -i "$dest@@$((boot_start * 512))" ::smsbox.toml "$toml"
  sed -i "$script" "$toml"
  [ "${1:-}" = -- ] && shift
  for pattern in "$@"; do
    grep -q "$pattern" "$toml" || { echo "could not set '$pattern' in smsbox.toml" >&2; exit 1; }
  done
  mcopy -o -i "$dest@@$((boot_start * 512))" "$toml" ::smsbox.toml
}

# Boots a disk file in the background: QEMU_PID, the console in the file
# given (QEMU_CONSOLE), QMP on $RUN/qmp.sock, the box's port 80 on
# 127.0.0.1:port. The drive is called "sd" (query-blockstats names it so).
qemu_boot() { # disk port console-file
  local disk=$1 port=$2 accel=tcg cpu=cortex-a72
  QEMU_CONSOLE=$3
  if [ -e /dev/kvm ] && [ "$(uname -m)" = aarch64 ]; then accel=kvm; cpu=host; fi
  rm -f "$RUN/qmp.sock"
  QEMU_STARTED=$(date +%s)
  qemu-system-aarch64 -M virt -accel "$accel" -cpu "$cpu" -smp "$(nproc)" -m 1024 \
    -kernel "$RUN/vmlinuz" -initrd "$RUN/initrd.img" \
    -append "console=ttyAMA0 root=LABEL=RASPIROOT ro rootwait net.ifnames=0 systemd.show_status=1 systemd.journald.forward_to_console=1" \
    -drive "if=none,id=sd,file=$disk,format=raw" -device virtio-blk-pci,drive=sd \
    -netdev "user,id=net0,hostfwd=tcp:127.0.0.1:$port-:80" -device virtio-net-pci,netdev=net0 \
    -display none -serial "file:$QEMU_CONSOLE" -qmp "unix:$RUN/qmp.sock,server=on,wait=off" -no-reboot "${QEMU_EXTRA[@]}" &
  QEMU_PID=$!
  # Not a job of this shell: its SIGKILL is the point, not news ("Killed" on stderr).
  disown "$QEMU_PID"
}

# Waits until the box answers smsAU with 1 on the port (seconds, port).
qemu_wait_http() { # timeout port
  local limit=$1 port=$2 t0; t0=$(date +%s)
  while [ "$(curl -s --max-time 10 "http://127.0.0.1:$port/sms?Msg=smsAU&User=aaaa&PWD=bbbb" 2>/dev/null)" != 1 ]; do
    kill -0 "$QEMU_PID" 2>/dev/null || { log "qemu exited"; tail -40 "$QEMU_CONSOLE"; return 1; }
    [ $(( $(date +%s) - t0 )) -lt "$limit" ] || { log "no smsAU answer within ${limit}s"; tail -60 "$QEMU_CONSOLE"; return 1; }
    sleep 3
  done
}

# One QMP command (JSON), its "return" printed as JSON.
qmp() { node "$QEMU_LIB/qmp.mjs" "$RUN/qmp.sock" "$1"; }
# Bytes qemu wrote to the SD drive since it started (exact: counted by qemu's block layer).
qemu_wr_bytes() { qmp '{"execute":"query-blockstats"}' | jq -r '.[] | select(.device == "sd") | .stats.wr_bytes'; }

# SIGKILL to qemu (the power cut: nothing of the guest runs after it), or
# after someone else sent it, waits until qemu is gone (it holds the disk's lock).
qemu_kill() {
  [ -n "${QEMU_PID:-}" ] || return 0
  kill -KILL "$QEMU_PID" 2>/dev/null || true
  qemu_gone
}
qemu_gone() {
  local i
  for i in $(seq 100); do kill -0 "$QEMU_PID" 2>/dev/null || break; sleep 0.1; done
  QEMU_PID=""
}

# The power button (KEY_POWER through gpio-keys), then waits for the guest to power off.
qemu_powerdown() { # timeout
  local t0; t0=$(date +%s)
  qmp '{"execute":"system_powerdown"}' >/dev/null
  while kill -0 "$QEMU_PID" 2>/dev/null && [ $(( $(date +%s) - t0 )) -lt "$1" ]; do sleep 2; done
  if kill -0 "$QEMU_PID" 2>/dev/null; then return 1; fi
  QEMU_PID=""
}

qemu_stop() { qemu_kill; }

QEMU_EXTRA=()
QEMU_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
