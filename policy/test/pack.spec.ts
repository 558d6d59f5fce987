/**
 * The pack's shape and its configuration: every policy mandatory and
 * described, the defaults equal to the cluster profiles of settings/profiles.ts, one config
 * file per profile that matches the policies' schemas, and the preview
 * workflow passing each stack the config of its own profile.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import { parseSettings, PROFILES } from "../../settings";
import { programConfig, STACKS } from "../../test/harness";
import { DEFAULT_ALLOWED_STORAGE_CLASSES, policies } from "../policies";
import { profileConfig } from "./profiles";

const ROOT = path.join(__dirname, "..", "..");

describe("the policy pack", () => {
    it("has uniquely named, described, mandatory policies", () => {
        const names = policies.map(p => p.name);
        assert.strictEqual(new Set(names).size, names.length, `duplicate names in ${names}`);
        for (const p of policies) {
            assert.match(p.name, /^[a-z0-9-]+$/, p.name);
            assert.strictEqual(p.enforcementLevel, "mandatory", p.name);
            assert.ok(p.description.length > 20, `${p.name} needs a description`);
            assert.ok(p.remediationSteps, `${p.name} needs remediation steps`);
        }
    });

    it("serves every policy (index.ts) and declares a nodejs PulumiPolicy.yaml and a version", () => {
        const index = fs.readFileSync(path.join(__dirname, "..", "index.ts"), "utf8");
        assert.match(index, /new PolicyPack\("sample-app", \{[\s\S]*policies: \[\.\.\.policies\]/);
        assert.match(fs.readFileSync(path.join(__dirname, "..", "PulumiPolicy.yaml"), "utf8"), /^runtime: nodejs$/m);
        assert.match(JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8")).version, /^\d+\.\d+\.\d+$/);
    });

    it("defaults allowedStorageClasses to the union of the cluster profiles in settings/profiles.ts", () => {
        const union = [...new Set(Object.values(PROFILES).flatMap(p => p.storageClasses))];
        assert.deepStrictEqual([...DEFAULT_ALLOWED_STORAGE_CLASSES], union);
        const schema = policies.find(p => p.name === "allowed-storage-classes")!.configSchema!.properties.allowedStorageClasses;
        assert.deepStrictEqual(schema.default, union);
    });
});

/** Checks a value against the subset of JSON schema the policies use. */
function conforms(value: unknown, schema: PolicyConfigJSONSchema, where: string): void {
    if (schema.type === "array") {
        assert.ok(Array.isArray(value), `${where} must be an array`);
        if (schema.minItems !== undefined) {
            assert.ok(value.length >= schema.minItems, `${where} needs ${schema.minItems} items`);
        }
        value.forEach((v, i) => conforms(v, schema.items as PolicyConfigJSONSchema, `${where}[${i}]`));
    } else if (schema.type === "boolean") {
        assert.strictEqual(typeof value, "boolean", `${where} must be a boolean`);
    } else if (schema.type === "string") {
        assert.strictEqual(typeof value, "string", `${where} must be a string`);
        if (schema.enum) {
            assert.ok(schema.enum.includes(value as string), `${where} = ${value} is not one of ${schema.enum}`);
        }
    }
}

describe("policy config files (policy/config/<profile>.json)", () => {
    it("exist for every cluster profile and no other", () => {
        const files = fs.readdirSync(path.join(__dirname, "..", "config")).filter(f => f.endsWith(".json")).map(f => f.replace(/\.json$/, ""));
        assert.deepStrictEqual(files.sort(), Object.keys(PROFILES).sort());
    });

    for (const profile of Object.keys(PROFILES)) {
        it(`${profile}: allows exactly the profile's storage classes and conforms to the policies' config schemas`, () => {
            const config = profileConfig(profile);
            assert.deepStrictEqual(config["allowed-storage-classes"].allowedStorageClasses, PROFILES[profile].storageClasses);
            assert.strictEqual(config["image-digests"]?.requireDigest, PROFILES[profile].registryRequired, `${profile}: images from a registry run by digest only`);
            for (const [policyName, props] of Object.entries(config)) {
                const policy = policies.find(p => p.name === policyName);
                assert.ok(policy, `${profile}.json configures unknown policy ${policyName}`);
                for (const [key, value] of Object.entries(props)) {
                    const schema = policy.configSchema?.properties[key];
                    assert.ok(schema, `${profile}.json: ${policyName} has no config key ${key}`);
                    conforms(value, schema, `${profile}.json ${policyName}.${key}`);
                }
            }
        });
    }
});

describe("the preview and deploy workflows", () => {
    /* eslint-disable @typescript-eslint/no-explicit-any -- parsed workflow YAML. */
    const workflow = (name: string) => yaml.load(fs.readFileSync(path.join(ROOT, ".github", "workflows", name), "utf8")) as any;
    const pulumiStep = (steps: any[]) => steps.find(s => String(s.uses ?? "").startsWith("pulumi/actions@"));

    /** Stacks whose cluster a GitHub-hosted runner reaches (ACK): previewed on pull requests, deployed with a kubeconfig secret. */
    const reachable = (stack: string) => expected(stack).profile === "ack";
    /**
     * What each stack must be run with: its profile's policy config, its kube context, and the kubeconfig
     * secret of that profile (ACK) or, for the minikube stacks, the self-hosted runner's own kubeconfig.
     */
    function expected(stack: string): Record<string, string> {
        const raw = programConfig(stack);
        const settings = parseSettings(raw, stack);
        const base = { profile: settings.profile.name, context: settings.kubeContext };
        return settings.profile.name === "ack"
            ? { ...base, kubeconfig: `KUBECONFIG_${settings.profile.name.toUpperCase()}` }
            : { ...base, runner: '["self-hosted", "${{ vars.DEV_CLUSTER_RUNNER }}"]' };
    }

    /** Inputs of pulumi/actions (action.yml, v6 and v7): actionlint does not know this action, so check the names here. */
    const PULUMI_ACTION_INPUTS = new Set([
        "command", "stack-name", "pulumi-version", "pulumi-version-file", "work-dir", "comment-on-pr", "comment-on-pr-number",
        "comment-on-summary", "github-token", "cloud-url", "secrets-provider", "parallel", "message", "config-map",
        "expect-no-changes", "diff", "replace", "target", "target-dependents", "policyPacks", "policyPackConfigs", "refresh",
        "upsert", "remove", "edit-pr-comment", "color", "exclude-protected", "plan", "suppress-outputs", "suppress-progress",
        "always-include-summary",
    ]);

    it("preview the stacks a hosted runner reaches (gray, prod) with their own profile's policy config, kube context and kubeconfig", () => {
        const job = workflow("preview.yml").jobs.preview;
        const include = job.strategy.matrix.include as { stack: string }[];
        assert.deepStrictEqual(include.map(i => i.stack), STACKS.filter(reachable));
        for (const { stack, ...rest } of include) {
            assert.deepStrictEqual(rest, expected(stack), `preview.yml matrix entry for ${stack}`);
        }
        // pulumi/actions installs the CLI; the preview runs through scripts/engine/stack.ts, the same path as the local cluster.
        const install = pulumiStep(job.steps);
        assert.match(install.uses, /^pulumi\/actions@[0-9a-f]{40}$/);
        assert.strictEqual(install.with.command, undefined, "the action only installs the CLI");
        for (const key of Object.keys(install.with)) {
            assert.ok(PULUMI_ACTION_INPUTS.has(key), `pulumi/actions has no input ${key}`);
        }
        const step = job.steps.find((x: any) => /scripts\/engine\/stack\.ts preview "\$STACK"/.test(String(x.run ?? "")));
        assert.ok(step, "no step runs scripts/engine/stack.ts preview");
        assert.strictEqual(step.env.STACK, "${{ matrix.stack }}");
        assert.strictEqual(step.env.PROFILE, "${{ matrix.profile }}");
        assert.match(step.run, /--policy-pack=policy /);
        assert.match(step.run, /--policy-pack-config="policy\/config\/\$PROFILE\.json"/);
        assert.match(step.run, /--event-log="\$RUNNER_TEMP\/events\.jsonl"/);
        const comment = job.steps.find((x: any) => /scripts\/preview-comment\.ts "\$RUNNER_TEMP\/events\.jsonl" --stack "\$STACK"/.test(String(x.run ?? "")));
        assert.ok(comment, "no step turns the preview's events into the PR comment");
        assert.match(String(comment.if), /always\(\)/, "the comment is posted also when the preview failed");
    });

    it("deploy dev then test on push (on the self-hosted runner DEV_CLUSTER_RUNNER names), gray then prod on dispatch, each with its own settings and environment", () => {
        const jobs = workflow("deploy.yml").jobs as Record<string, any>;
        assert.deepStrictEqual(Object.keys(jobs), ["images", ...STACKS]);
        const digests = { "api-digest": "${{ needs.images.outputs.api-digest }}", "web-digest": "${{ needs.images.outputs.web-digest }}" };
        for (const stack of STACKS) {
            assert.strictEqual(jobs[stack].uses, "./.github/workflows/deploy-stack.yml", stack);
            // The registry stacks run the images the images job built, by digest.
            const pinned = expected(stack).profile === "ack" ? digests : {};
            // prod is released through gray (npm run release), judged on Prometheus, instead of one pulumi up.
            const release = stack === "prod" ? { release: true } : {};
            assert.deepStrictEqual(jobs[stack].with, { stack, ...expected(stack), ...pinned, ...release }, `deploy.yml job ${stack}`);
        }
        assert.deepStrictEqual(jobs.images.outputs, { "api-digest": "${{ steps.api.outputs.digest }}", "web-digest": "${{ steps.web.outputs.digest }}" });
        assert.strictEqual(jobs.test.needs, "dev");
        assert.strictEqual(jobs.gray.needs, "images");
        assert.deepStrictEqual(jobs.prod.needs, ["images", "gray"]);
        assert.strictEqual(jobs.dev.if, "github.event_name == 'push' && vars.DEV_CLUSTER_RUNNER != ''");
        assert.match(jobs.gray.if, /github\.event_name == 'workflow_dispatch' && github\.ref == 'refs\/heads\/main'/);

        const up = workflow("deploy-stack.yml").jobs.up;
        assert.strictEqual(up.environment, "${{ inputs.stack }}");
        const step = pulumiStep(up.steps);
        assert.strictEqual(step.with.command, "up");
        assert.strictEqual(step.with["stack-name"], "${{ inputs.stack }}");
        assert.strictEqual(step.with.policyPacks, "policy");
        assert.strictEqual(step.with.policyPackConfigs, "policy/config/${{ inputs.profile }}.json");
        assert.strictEqual(step.with["config-map"], "${{ steps.digests.outputs.config-map }}");
        const pin = up.steps.find((s: any) => s.id === "digests");
        assert.deepStrictEqual(pin.env, { API_DIGEST: "${{ inputs.api-digest }}", WEB_DIGEST: "${{ inputs.web-digest }}" });
        assert.match(pin.run, /sample-app:apiImageDigest.*\$API_DIGEST.*sample-app:webImageDigest.*\$WEB_DIGEST/);
        for (const key of Object.keys(step.with)) {
            assert.ok(PULUMI_ACTION_INPUTS.has(key), `pulumi/actions has no input ${key}`);
        }
        // A release runs the same policy pack and profile config on every update, with the pinned digests.
        assert.strictEqual(step.if, "${{ !inputs.release }}");
        const rel = up.steps.find((s: any) => typeof s.run === "string" && s.run.includes("npm run release"));
        assert.strictEqual(rel.if, "inputs.release");
        assert.match(rel.run, /--policy-pack policy --policy-pack-config "policy\/config\/\$PROFILE\.json"/);
        assert.deepStrictEqual([rel.env.API_DIGEST, rel.env.WEB_DIGEST, rel.env.PROFILE], ["${{ inputs.api-digest }}", "${{ inputs.web-digest }}", "${{ inputs.profile }}"]);
    });
});

describe("the pack's own description", () => {
    it("cites only documents the repository has", () => {
        for (const file of ["index.ts", "PulumiPolicy.yaml", "README.md", "package.json", "policies.ts"]) {
            const text = fs.readFileSync(path.join(ROOT, "policy", file), "utf8");
            for (const doc of text.match(/[\w./-]+\.md\b/g) ?? []) {
                const where = [path.join(ROOT, "policy", doc), path.join(ROOT, doc)];
                assert.ok(where.some(p => fs.existsSync(p)), `policy/${file} cites ${doc}, which is not in the repository`);
            }
        }
    });
});
