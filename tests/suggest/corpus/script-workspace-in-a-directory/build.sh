#!/usr/bin/env bash
# The repository keeps its Rust workspace under rust/; CI calls this from the checkout.
set -euo pipefail
cd rust/plugin-go-cdylib
cargo build --release --locked
cd ../plugin-gha-cdylib
cargo build --release --locked
