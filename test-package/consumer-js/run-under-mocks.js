// Runs index.js under Pulumi mocks and prints what it registered and its outputs as JSON on stdout.
"use strict";
const pulumi = require("@pulumi/pulumi");
const { build } = require("./index");

const registered = [];
const outputs = {};

pulumi.runtime.setMocks({
    newResource(args) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state = args.type === "random:index/randomPassword:RandomPassword" ? { ...args.inputs, result: "mock-password" } : args.inputs;
        return { id: `${args.name}-id`, state };
    },
    call: (args) => args.inputs,
}, "consumer-js", "dev", false);

for (const [key, output] of Object.entries(build())) {
    output.apply((v) => { outputs[key] = v; return v; });
}
// Every ComponentResource class the package exports: the program above must build each of them.
const exported = Object.entries(require("sample-app"))
    .filter(([, v]) => typeof v === "function" && v.prototype instanceof pulumi.ComponentResource).map(([k]) => k).sort();
process.once("beforeExit", () => { process.stdout.write(JSON.stringify({ registered, outputs, exported })); });
