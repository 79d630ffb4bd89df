/**
 * The command table. Adding a command is one file exporting a {@linkcode Command} and one entry
 * here; help, flag parsing and Debian-package installation follow from the entry.
 * @module
 */
import { apiserverCommand } from "./apiserver.ts";
import type { Command } from "./args.ts";
import { benchCommand } from "./bench.ts";
import { controllerManagerCommand } from "./controller_manager.ts";
import { helpCommand } from "./help.ts";
import { nodeCommand } from "./node.ts";
import { nodeJoinCommand } from "./node_join.ts";
import { pluginCommand } from "./plugin.ts";
import { pluginHostCommand } from "./plugin_host.ts";
import { secretsCommand } from "./secrets.ts";
import { schedulerCommand } from "./scheduler.ts";
import { simulateNodesCommand } from "./simulate_nodes.ts";
import { testCommand } from "./test.ts";
import { upCommand } from "./up.ts";
import { versionCommand } from "./version.ts";

/** Every command, in help order. */
export const COMMANDS: readonly Command[] = [
  upCommand,
  testCommand,
  apiserverCommand,
  schedulerCommand,
  controllerManagerCommand,
  simulateNodesCommand,
  nodeCommand,
  nodeJoinCommand,
  pluginCommand,
  pluginHostCommand,
  secretsCommand,
  benchCommand,
  helpCommand,
  versionCommand,
];
