#!/usr/bin/env bash
# Opt-in: the native TensorFlow backend for TensorFlow.js (@tensorflow/tfjs-node), built from registry
# packages only.
#
# tfjs-node's own installer downloads a libtensorflow tarball from a Google bucket, which fails on a
# machine that reaches only package registries; npm then drops the optional dependency and trainyard
# trains on WebAssembly. This script does what that installer would, from registries:
#
#   1. the TensorFlow C library (TF 2.10.1: libtensorflow_cc.so.2 + libtensorflow_framework.so.2) from
#      Maven Central, in the linux-x86_64 native jar of org.tensorflow:tensorflow-core-api 0.5.0;
#   2. the C API headers (tensorflow/c/c_api.h, eager/c_api.h, …) from the PyPI tensorflow-cpu 2.9.1
#      wheel — 2.9.1 is the C API tfjs-node 4.22 was written against; the C API is stable across 2.x,
#      and every symbol the addon uses is exported by the 2.10.1 library (checked below);
#   3. @tensorflow/tfjs-node itself from npm, installed with --no-save --ignore-scripts (package.json
#      and package-lock.json are untouched), the libraries staged where its binding.gyp looks
#      (node_modules/@tensorflow/tfjs-node/deps/{include,lib}), and its addon compiled from source
#      against the local Node headers.
#
# After it, lib/tfjs-backend.ts picks the "tensorflow" backend. `npm install` / `npm ci` re-run
# tfjs-node's failing installer and remove it again: run this script again afterwards.
# Undo with: scripts/native-tfjs.sh --remove
#
# Needs: linux x86_64, mvn (Maven), python3 with pip, a C++ toolchain (g++, make), Node headers
# (e.g. /usr/include/node from Debian's libnode-dev / nodejs packages). Cache: ~/.cache/trainyard/native.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${TRAINYARD_CACHE_DIR:-$HOME/.cache/trainyard}/native"
TF_JAVA_VERSION=0.5.0          # tensorflow-core-api 0.5.0 carries TensorFlow 2.10.1
TF_HEADERS_VERSION=2.9.1       # the libtensorflow version tfjs-node 4.22 expects
PACKAGE_DIR="$ROOT/node_modules/@tensorflow/tfjs-node"

say() { printf '[native-tfjs] %s\n' "$*"; }
die() { printf '[native-tfjs] error: %s\n' "$*" >&2; exit 1; }

if [[ "${1:-}" == "--remove" ]]; then
  rm -rf "$PACKAGE_DIR"
  say "removed $PACKAGE_DIR; trainyard falls back to the wasm backend"
  exit 0
fi

[[ "$(uname -s)-$(uname -m)" == "Linux-x86_64" ]] || die "only linux x86_64 is supported (the Maven native jar is linux-x86_64)"
for tool in mvn python3 g++ make node npm; do command -v "$tool" >/dev/null || die "$tool is required"; done
TFJS_NODE_VERSION="$(node -p "require('$ROOT/package.json').optionalDependencies['@tensorflow/tfjs-node']")"

NODE_PREFIX="$(cd "$(dirname "$(command -v node)")/.." && pwd)"
if [[ -f "$NODE_PREFIX/include/node/node_api.h" ]]; then NODEDIR="$NODE_PREFIX"
elif [[ -f /usr/include/node/node_api.h ]]; then NODEDIR=/usr
else die "Node headers not found (looked in $NODE_PREFIX/include/node and /usr/include/node); install them (Debian: apt-get install libnode-dev)"
fi

mkdir -p "$CACHE/jars" "$CACHE/wheels"
JAR="$CACHE/jars/tensorflow-core-api-$TF_JAVA_VERSION-linux-x86_64.jar"
if [[ ! -f "$JAR" ]]; then
  say "fetching org.tensorflow:tensorflow-core-api:$TF_JAVA_VERSION:linux-x86_64 from Maven Central"
  mvn -q dependency:copy -Dartifact="org.tensorflow:tensorflow-core-api:$TF_JAVA_VERSION:jar:linux-x86_64" -DoutputDirectory="$CACHE/jars"
fi
WHEEL="$(ls "$CACHE"/wheels/tensorflow_cpu-"$TF_HEADERS_VERSION"-*.whl 2>/dev/null | head -1 || true)"
if [[ -z "$WHEEL" ]]; then
  say "fetching tensorflow-cpu==$TF_HEADERS_VERSION from PyPI (for the C headers only)"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.10 \
    --platform manylinux_2_17_x86_64 "tensorflow-cpu==$TF_HEADERS_VERSION" -d "$CACHE/wheels"
  WHEEL="$(ls "$CACHE"/wheels/tensorflow_cpu-"$TF_HEADERS_VERSION"-*.whl | head -1)"
fi

say "installing @tensorflow/tfjs-node@$TFJS_NODE_VERSION (no save, no install scripts)"
(cd "$ROOT" && npm install --no-save --ignore-scripts --no-audit --no-fund "@tensorflow/tfjs-node@$TFJS_NODE_VERSION" >/dev/null)
[[ -d "$PACKAGE_DIR" ]] || die "npm did not install $PACKAGE_DIR"

say "staging the C library and headers in $PACKAGE_DIR/deps"
rm -rf "$PACKAGE_DIR/deps" && mkdir -p "$PACKAGE_DIR/deps/include" "$PACKAGE_DIR/deps/lib"
python3 - "$JAR" "$WHEEL" "$PACKAGE_DIR/deps" <<'PY'
import os, sys, zipfile
jar, wheel, deps = sys.argv[1:4]
with zipfile.ZipFile(jar) as z:
    for name in ("libtensorflow_cc.so.2", "libtensorflow_framework.so.2"):
        member = f"org/tensorflow/internal/c_api/linux-x86_64/{name}"
        target = os.path.join(deps, "lib", name)
        with z.open(member) as src, open(target, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        os.chmod(target, 0o755)
prefix = "tensorflow/include/"
with zipfile.ZipFile(wheel) as z:
    for member in z.namelist():
        if member.endswith("/"):
            continue
        if member.startswith(prefix + "tensorflow/c/") or member.startswith(prefix + "tensorflow/core/platform/ctstring"):
            target = os.path.join(deps, "include", member[len(prefix):])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(member) as src, open(target, "wb") as dst:
                dst.write(src.read())
PY
# binding.gyp links -ltensorflow -ltensorflow_framework; the addon then records libtensorflow_cc.so.2
# (the library's soname) and finds it through its rpath, $ORIGIN/../../deps/lib.
(cd "$PACKAGE_DIR/deps/lib" && ln -sf libtensorflow_cc.so.2 libtensorflow.so && ln -sf libtensorflow_cc.so.2 libtensorflow.so.2 \
  && ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so)

missing="$(grep -ohE '\bTFE?_[A-Za-z0-9_]+\(' "$PACKAGE_DIR"/binding/*.cc "$PACKAGE_DIR"/binding/*.h | tr -d '(' | sort -u \
  | grep -vE '^(TF_AutoStatus|TF_AutoTensor|TFE_AutoOp|TF_TString_.*)$' \
  | comm -23 - <(nm -D --defined-only "$PACKAGE_DIR"/deps/lib/libtensorflow_cc.so.2 "$PACKAGE_DIR"/deps/lib/libtensorflow_framework.so.2 \
      | awk 'NF==3{sub(/@.*/,"",$3); print $3}' | sort -u) || true)"
[[ -z "$missing" ]] || die "the TensorFlow library lacks C API symbols the addon uses: $missing"

say "compiling the addon from source (node headers: $NODEDIR/include/node)"
NODE_GYP="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
[[ -f "$NODE_GYP" ]] || die "node-gyp not found at $NODE_GYP (it ships inside npm)"
(cd "$PACKAGE_DIR" && "$ROOT/node_modules/.bin/node-pre-gyp" install --build-from-source --nodedir="$NODEDIR" --node_gyp="$NODE_GYP" >"$CACHE/build.log" 2>&1) \
  || die "the addon did not build; see $CACHE/build.log"

say "checking that TensorFlow.js runs on it"
(cd "$ROOT" && TF_CPP_MIN_LOG_LEVEL=2 node -e "
  const tf = require('@tensorflow/tfjs-node');
  tf.ready().then(() => {
    if (tf.getBackend() !== 'tensorflow') throw new Error('backend is ' + tf.getBackend());
    const sum = tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).dataSync();
    if (sum[0] !== 4 || sum[1] !== 6) throw new Error('wrong arithmetic');
    console.log('[native-tfjs] ok: backend tensorflow, TensorFlow ' + (tf.version['tfjs-node'] ? 'C library from tensorflow-core-api $TF_JAVA_VERSION' : ''));
  });
")
