#!/usr/bin/env bash
# Installs the Debian packages that xpusim builds against, if any is missing. Idempotent and
# quiet when everything is there. Sourced by ./run.sh and ./test.sh.
XPUSIM_DEBS=(cmake g++ make pkg-config libsystemc-dev libyaml-cpp-dev libfmt-dev libboost-dev
  libboost-program-options-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
  libopenblas-dev libeigen3-dev libsqlite3-dev
  libboost-mpi-dev openmpi-bin)
# What the `test` and `fuzz` presets add (./test.sh only): clang and its libFuzzer and sanitizer
# runtimes. Debian's unversioned names follow the default clang, so the two always match.
XPUSIM_TEST_DEBS=(clang libclang-rt-dev)

# What ./test.sh adds for the report's browser test (tests/browser/run.sh): a headless browser
# that renders the generated reports, and python3 for its checks.
XPUSIM_BROWSER_DEBS=(chromium python3)

# What ./test.sh adds for the sweep CSV test (tests/pandas/run.sh): Debian's pandas, which loads
# `xpusim sweep export`'s CSV as users do.
XPUSIM_PANDAS_DEBS=(python3-pandas)

# Extra package names given as arguments are installed too (./test.sh passes XPUSIM_TEST_DEBS,
# XPUSIM_BROWSER_DEBS and XPUSIM_PANDAS_DEBS).
xpusim_install_deps() {
  local missing=()
  for p in "${XPUSIM_DEBS[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "xpusim: installing missing Debian packages: ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >&2 || return 1
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || return 1
}

# Configures and builds a CMake preset; quiet unless something fails.
xpusim_build() {
  local preset="$1"; shift
  local log
  log="$(mktemp)"
  if ! { cmake --preset "$preset" >"$log" 2>&1 && cmake --build --preset "$preset" -j "$(nproc)" "$@" >>"$log" 2>&1; }; then
    cat "$log" >&2
    rm -f "$log"
    echo "xpusim: build of preset '$preset' failed" >&2
    return 1
  fi
  rm -f "$log"
}
