#!/usr/bin/env bash
set -euo pipefail
# Tool managers that run the command after `--` (or `-c`) in their environment.
mise exec -- cargo build --release --bin server
mise exec -- cargo build --release --bin worker
cargo build --release --bin admin
nix develop --command cargo build --locked --bin server
nix develop --command cargo build --locked --bin worker
rustup run nightly cargo build --bin admin
rustup run nightly cargo build --bin worker
mise exec rust@1.80 cargo build --bin admin
