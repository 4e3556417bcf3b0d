#!/usr/bin/env node
// `npx openr1 …`: runs the TypeScript CLI through tsx, so it never runs a stale build.
import { register } from "tsx/esm/api";
register();
await import("../src/cli.ts");
