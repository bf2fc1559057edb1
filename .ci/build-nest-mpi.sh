#!/usr/bin/env bash
# Build NEST 3.10.0 with MPI (OpenMPI from Debian) as a wheel, from the sdist on the package index.
# About 12 minutes on 2 cores; the wheel lands in OUT_DIR (built this way on Debian 12, Python 3.11).
# Install it after hippocam's extras: pip install --force-reinstall --no-deps OUT_DIR/nest_simulator-3.10.0-*.whl
# (same name and version as the pip NEST, which it replaces).
# Usage: build-nest-mpi.sh OUT_DIR
set -euo pipefail
out=${1:?give an output folder}
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake libboost-dev libgsl-dev libopenmpi-dev openmpi-bin libltdl-dev
work=$(mktemp -d)
python3 -m venv "$work/v"
"$work/v/bin/pip" download -q --no-deps --no-binary :all: nest-simulator==3.10.0 -d "$work"
tar xzf "$work"/nest_simulator-3.10.0.tar.gz -C "$work"
( cd "$work/nest_simulator-3.10.0" && CMAKE_BUILD_PARALLEL_LEVEL=2 "$work/v/bin/pip" wheel . --no-deps -w "$out" \
    --config-settings=cmake.define.with-mpi=ON )
echo "built: $(ls "$out"/nest_simulator-*.whl)"
