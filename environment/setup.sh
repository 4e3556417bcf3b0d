#!/usr/bin/env bash
# One-time machine set-up beyond `npm ci`, idempotent: safe to run again.
#   bash environment/setup.sh            Jupyter and Chromium from Debian, Mesa's software Vulkan driver (for the webgpu
#                                        backend's tests), `npm ci`, the tslab kernel (per user, naming no checkout)
#                                        and the build
#   bash environment/setup.sh --gpu      also the CUDA TF.js backend (@tensorflow/tfjs-node-gpu; needs CUDA 11.2 + cuDNN 8.1)
#   bash environment/setup.sh --native   also the native CPU TF.js backend (@tensorflow/tfjs-node)
# The native backends download libtensorflow at install time, so they are opt-in: without them the
# project runs on the wasm backend (or pure-JS cpu).
set -euo pipefail
cd "$(dirname "$0")/.."

extra=""
for arg in "$@"; do
  case "$arg" in
    --gpu) extra="@tensorflow/tfjs-node-gpu@4.22.0" ;;
    --native) extra="@tensorflow/tfjs-node@4.22.0" ;;
    *) echo "unknown option: $arg (use --gpu or --native)" >&2; exit 2 ;;
  esac
done

need_apt=0
for bin in /usr/bin/jupyter-nbconvert /usr/bin/python3; do [ -x "$bin" ] || need_apt=1; done
/usr/bin/python3 -c "import ipykernel, jupyter_client, nbclient" 2>/dev/null || need_apt=1
# Chromium checks the notebooks' HTML exports in a real browser (npm run notebooks).
[ -x /usr/bin/chromium ] || need_apt=1
if [ "$need_apt" = 1 ]; then
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  echo "== installing Jupyter and Chromium from Debian packages"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
    python3 jupyter-nbconvert jupyter-client python3-ipykernel python3-nbclient chromium >/dev/null
fi

# The webgpu backend's tests run on Mesa's software Vulkan driver (lavapipe) where no GPU is present. Dawn needs
# Mesa >= 25 (22.3, bookworm's own, gives no adapter): on bookworm it comes from bookworm-backports.
if command -v dpkg-query >/dev/null; then
  mesa=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  if [ -z "$mesa" ] || dpkg --compare-versions "$mesa" lt 25; then
    sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    suite=()
    if grep -q '^VERSION_CODENAME=bookworm' /etc/os-release; then
      if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
        echo "deb http://deb.debian.org/debian bookworm-backports main" | $sudo_cmd tee -a /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
      fi
      suite=(-t bookworm-backports)
    fi
    echo "== installing Mesa's Vulkan drivers (the software GPU the webgpu tests run on)"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${suite[@]}" mesa-vulkan-drivers libvulkan1 >/dev/null
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== npm ci"
  # onnxruntime-node's install script would download its CUDA provider libraries from NuGet (npm >= 11 skips it:
  # package.json's allowScripts denies it; older npm runs it, and reads this variable).
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
fi

if [ -n "$extra" ]; then
  echo "== installing $extra (downloads libtensorflow)"
  npm install --no-save --no-audit --no-fund "$extra"
fi

echo "== registering the TypeScript (tslab) kernel for this user (it runs each notebook on its own checkout)"
bash environment/register-kernel.sh >/dev/null

echo "== building the library the notebooks import (src -> lib/dist)"
npm run build --silent
echo "environment ready"
