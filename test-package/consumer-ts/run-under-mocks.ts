/**
 * Runs index.ts under Pulumi mocks, as this program's own unit tests would, and
 * prints what it registered and its outputs as JSON on stdout.
 */
import * as pulumi from "@pulumi/pulumi";
import { build } from "./index";

interface Registered { type: string; name: string; inputs: Record<string, unknown> }

const registered: Registered[] = [];
const outputs: Record<string, unknown> = {};

pulumi.runtime.setMocks({
    newResource(args: pulumi.runtime.MockResourceArgs) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state = args.type === "random:index/randomPassword:RandomPassword" ? { ...args.inputs, result: "mock-password" } : args.inputs;
        return { id: `${args.name}-id`, state };
    },
    call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
}, "consumer-ts", "dev", false);

for (const [key, output] of Object.entries(build())) {
    output.apply(v => { outputs[key] = v; return v; });
}
// Every registration is a pending promise: once the event loop drains, all of them are in.
process.once("beforeExit", () => { process.stdout.write(JSON.stringify({ registered, outputs })); });
