#!/usr/bin/env node
// The launcher: bundle/start.cjs runs this CLI's bundle with its code cache (scripts/bundle-start.cjs).
require('../bundle/start.cjs');
