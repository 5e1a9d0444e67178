// The library's first import (index.ts): on a Node.js older than MIN_NODE_VERSION, importing
// @clusterize/core throws the coded error the CLI prints, before code that needs a newer
// one can fail on its own (Node.js 20: "Promise.withResolvers is not a function").
import { assertSupportedNode } from './node-version.js';

assertSupportedNode();
