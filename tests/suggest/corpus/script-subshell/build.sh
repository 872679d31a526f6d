#!/bin/sh
set -e
# A subshell on lines of its own: its builds run one after another in its own
# environment, which ends at its `)`.
(
    export RUSTFLAGS="-C debuginfo=0"
    cargo build --release --bin server
    cargo build --release --bin worker
)
cargo build --release --bin admin
RUSTFLAGS="-C debuginfo=0" cargo build --release --bin worker
# In the background: not one after another.
(
    cargo build --bin server
    cargo build --bin worker
) &
wait
