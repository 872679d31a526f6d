#!/bin/sh
set -e
FLAGS="--release --locked"
JOBS=2
cargo build $FLAGS -j $JOBS --bin server
cargo build ${FLAGS} -j $JOBS --bin worker
echo "next"
./scripts/package.sh
cargo build --release --bin admin
PROFILE=--release
cargo build $PROFILE --bin worker
