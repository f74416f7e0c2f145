# Shared by scripts/*: install what the project needs on Debian / Ubuntu.
# shellcheck shell=bash

# ensure_system_packages: Dovecot (IMAP + POP3), openssl (test certificates), the
# OpenSSL headers + pkg-config that native-tls builds against, and as root nftables (for
# tests/keepalive.rs). Installs what is missing when run as root; otherwise says what to
# install.
ensure_system_packages() {
  local need=()
  command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd dovecot-pop3d)
  [ -x /usr/lib/dovecot/imap ] || need+=(dovecot-imapd)
  [ -x /usr/lib/dovecot/pop3 ] || need+=(dovecot-pop3d)
  command -v openssl >/dev/null 2>&1 || need+=(openssl)
  command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
  dpkg -s libssl-dev >/dev/null 2>&1 || need+=(libssl-dev)
  command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
  # tests/keepalive.rs drops packets on loopback with nft, which needs root anyway.
  if [ "$(id -u)" = 0 ]; then command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || need+=(nftables); fi
  [ ${#need[@]} -eq 0 ] && return 0
  # unique
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "!! missing packages: ${need[*]}" >&2
    echo "!! run as root, or: sudo apt-get install -y ${need[*]}" >&2
    return 1
  fi
}

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "!! cargo not found: install Rust (https://rustup.rs) first" >&2
    return 1
  fi
  local missing=()
  cargo fmt --version >/dev/null 2>&1 || missing+=(rustfmt)
  cargo clippy --version >/dev/null 2>&1 || missing+=(clippy)
  if [ ${#missing[@]} -gt 0 ]; then
    rustup component add "${missing[@]}"
  fi
}
