#!/usr/bin/env bash
# Installs the npm packages the build and tests need (pinned by the committed package-lock.json) into
# git-ignored node_modules folders. Idempotent: does nothing when the bundle is already there.
# Used by tests/run.sh and usable as the first-run set-up of a deployment.
set -euo pipefail
cd "$(dirname "$0")/.."

wa_dir=src/Messengers.Providers/WhatsAppWeb/js
if [ ! -f "$wa_dir/node_modules/@wppconnect/wa-js/dist/wppconnect-wa.js" ]; then
  command -v npm >/dev/null 2>&1 || { echo "npm is required to install @wppconnect/wa-js"; exit 1; }
  if [ -f "$wa_dir/package-lock.json" ]; then
    (cd "$wa_dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  else
    (cd "$wa_dir" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error)
  fi
fi
test -f "$wa_dir/node_modules/@wppconnect/wa-js/dist/wppconnect-wa.js" || { echo "wa-js bundle missing after npm install"; exit 1; }
