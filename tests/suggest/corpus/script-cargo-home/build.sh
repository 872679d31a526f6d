#!/usr/bin/env bash
set -euo pipefail
# the toolchain is installed by rustup, not on PATH
$HOME/.cargo/bin/cargo build --release --bin server
$HOME/.cargo/bin/cargo build --release --bin worker
time ~/.cargo/bin/cargo build --release --bin admin
sudo -E env RUSTFLAGS=-g cargo build --bin server
sudo -E env RUSTFLAGS=-g cargo build --bin worker
