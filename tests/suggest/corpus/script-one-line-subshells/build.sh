#!/bin/sh
set -e
# Each plugin built from its own directory, in a subshell so the script stays where it is.
(cd plugin-go-cdylib && cargo build --release)
( cd plugin-gha-cdylib; cargo build --release )
./run-checks
# What a subshell exports ends at its `)`: the next build runs without it.
(export RUSTFLAGS="-C debuginfo=0"; cargo build -p heph)
cargo build -p plugin-go-cdylib
./run-checks
# Run in the background, piped, or joined to another command: one command, not read.
(cd plugin-go-cdylib && cargo build) &
wait
(cd plugin-gha-cdylib && cargo build) | tee build.log
(cd plugin-go-cdylib && cargo build) || true
