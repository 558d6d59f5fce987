/**
 * Which policy config a stack is checked with: its cluster profile (from
 * Pulumi.<stack>.yaml over Pulumi.yaml's default) names policy/config/<profile>.json,
 * the file the workflows pass with --policy-pack-config.
 */
import * as fs from "fs";
import * as path from "path";
import { stackConfig } from "../../test/harness";
import type { PackConfig } from "./helpers";

/** The policy config CI passes for a cluster profile. */
export function profileConfig(profile: string): PackConfig {
    return JSON.parse(fs.readFileSync(path.join(__dirname, "..", "config", `${profile}.json`), "utf8")) as PackConfig;
}

/** The cluster profile of a stack. */
export function stackProfile(stack: string): string {
    return stackConfig(stack)["sample-app:clusterProfile"];
}
