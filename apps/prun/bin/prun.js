#!/bin/sh
// 2>/dev/null; [ -z "${NODE_EXTRA_CA_CERTS-}" ] || { PANDA_SECRETS_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS; export PANDA_SECRETS_EXTRA_CA_CERTS; unset NODE_EXTRA_CA_CERTS; }; exec node "$0" "$@"
// Run by sh, the line above starts Node.js on this file (for Node.js it is a comment).
// Node.js reads NODE_EXTRA_CA_CERTS at start-up, before any code runs, which costs every process
// tens of milliseconds with a large CA file; the line above hands it over in another variable, and
// bundle/start.cjs adds those certificates when this process first opens a TLS connection.
// The launcher: bundle/start.cjs runs this CLI's bundle with its code cache (scripts/bundle-start.cjs).
require('../bundle/start.cjs');
