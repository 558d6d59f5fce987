/**
 * The workflows cannot run here, so everything they name in this repository is
 * checked to exist: a rename breaks this test instead of the next pull request.
 *
 *  - npm scripts (`npm run X`, `npm test`, with `--prefix DIR`) in DIR's package.json;
 *  - repository paths in `run:` scripts and `with:` inputs (scripts/…, app/…,
 *    policy/config/${{ matrix.profile }}.json for every profile the matrix or
 *    the callers pass, local reusable workflows, cache-dependency-path lists);
 *  - stack config keys (`sample-app:<key>`) in Pulumi.yaml's config schema, and
 *    each `pulumi config get/set` key in the stack files or the schema;
 *  - the e2e switches they set (E2E_*) in e2e/;
 *  - every repository variable and secret they read in the table of docs/ci-cd.md.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { ROOT, projectConfigSchema } from "./harness";

/* eslint-disable @typescript-eslint/no-explicit-any -- parsed workflow YAML. */
type Workflow = { jobs: Record<string, any> };

const DIR = path.join(ROOT, ".github", "workflows");
const FILES = fs.readdirSync(DIR).filter(f => /\.ya?ml$/.test(f)).sort();
const text = (f: string) => fs.readFileSync(path.join(DIR, f), "utf8");
const parsed = (f: string) => yaml.load(text(f)) as Workflow;

/** Top-level entries of the repository that a path in a workflow may start with. */
const TOP = fs.readdirSync(ROOT).filter(e => !["node_modules", ".git"].includes(e));

/** Every step of every job of every workflow, with the job and its file. */
function steps(): { file: string; job: any; step: any }[] {
    return FILES.flatMap(file => Object.values(parsed(file).jobs).flatMap(job => (job.steps ?? []).map((step: any) => ({ file, job, step }))));
}

/** Values an expression can take: matrix values of the job, or what the callers pass to a reusable workflow's input. */
function expand(value: string, file: string, job: any): string[] {
    const m = /\$\{\{\s*(matrix|inputs)\.([\w-]+)\s*\}\}/.exec(value);
    if (!m) {
        return [value];
    }
    const values: string[] = m[1] === "matrix"
        ? (job.strategy?.matrix?.include ?? []).map((i: any) => i[m[2]])
        : FILES.flatMap(f => Object.values(parsed(f).jobs).filter((j: any) => j.uses === `./.github/workflows/${file}`).map((j: any) => j.with?.[m[2]]));
    assert.ok(values.length > 0 && values.every(v => typeof v === "string"), `${file}: no values for ${m[0]}`);
    return [...new Set(values)].flatMap(v => expand(value.replace(m[0], v), file, job));
}

/** Repository paths a piece of workflow text names. */
function pathsIn(s: string): string[] {
    const segment = String.raw`(?:[\w.-]|\$\{\{[^}]*\}\})+`;
    const re = new RegExp(String.raw`(?<![\w./$-])((?:${TOP.map(t => t.replace(/\./g, "\\.")).join("|")})(?:/${segment})*)`, "g");
    return [...s.matchAll(re)].map(m => m[1].replace(/[.]+$/, ""));
}

describe("the workflows name only things the repository has", () => {
    it("run npm scripts that exist, in the root or the --prefix package", () => {
        const seen: string[] = [];
        for (const { file, step } of steps().filter(s => typeof s.step.run === "string")) {
            for (const m of (step.run as string).matchAll(/npm (run [\w:-]+|test|ci)([^\n;&|]*)/g)) {
                const prefix = /--prefix (\S+)/.exec(m[2])?.[1] ?? ".";
                const manifest = path.join(ROOT, prefix, "package.json");
                assert.ok(fs.existsSync(manifest), `${file}: npm ${m[1]} --prefix ${prefix}: no ${path.relative(ROOT, manifest)}`);
                const scripts = JSON.parse(fs.readFileSync(manifest, "utf8")).scripts ?? {};
                const script = m[1] === "test" ? "test" : m[1].startsWith("run ") ? m[1].slice(4) : undefined;
                if (script) {
                    assert.ok(script in scripts, `${file}: npm ${m[1]} in ${prefix}, whose package.json has no script ${script}`);
                    seen.push(`${prefix}:${script}`);
                } else {
                    assert.ok(fs.existsSync(path.join(ROOT, prefix, "package-lock.json")), `${file}: npm ci in ${prefix} without a package-lock.json`);
                }
            }
        }
        for (const expectedSeen of [".:test", ".:test:package", ".:e2e", "examples/reuse:install:package", "policy:test"]) {
            assert.ok(seen.includes(expectedSeen), `no workflow runs ${expectedSeen} (did the pattern stop matching?)`);
        }
    });

    it("name repository files and directories that exist, for every value of the matrix or the callers' inputs", () => {
        const checked = new Set<string>();
        for (const { file, job, step } of steps()) {
            const inputs = Object.values<unknown>(step.with ?? {}).filter((v): v is string => typeof v === "string");
            for (const raw of [...pathsIn(typeof step.run === "string" ? step.run : ""), ...inputs.flatMap(v => v.split("\n")).map(v => v.trim()).flatMap(pathsIn)]) {
                for (const p of expand(raw, file, job)) {
                    assert.ok(fs.existsSync(path.join(ROOT, p)), `${file}: ${p} does not exist in the repository`);
                    checked.add(p);
                }
            }
        }
        for (const file of FILES) {
            for (const job of Object.values(parsed(file).jobs)) {
                if (typeof job.uses === "string" && job.uses.startsWith("./")) {
                    assert.ok(fs.existsSync(path.join(ROOT, job.uses)), `${file}: ${job.uses} does not exist`);
                    checked.add(job.uses);
                }
            }
        }
        for (const p of ["policy/config/ack.json", "policy/config/minikube.json", "scripts/actionlint.sh", "app/api/ci.sh", "scripts/gateway-api-crds.sh", "scripts/image-refs.ts", "./.github/workflows/deploy-stack.yml"]) {
            assert.ok(checked.has(p), `${p} was not among the paths found (did the pattern stop matching?)`);
        }
    });

    it("use stack config keys that Pulumi.yaml declares", () => {
        const schema = projectConfigSchema();
        const keys = FILES.flatMap(f => [...text(f).matchAll(/sample-app:([A-Za-z][\w]*)/g)].map(m => [f, m[1]]));
        assert.ok(keys.some(([, k]) => k === "imageTag"), "the review workflow sets imageTag");
        for (const [file, key] of keys) {
            assert.ok(key in schema, `${file}: sample-app:${key} is not a config key in Pulumi.yaml`);
        }
    });

    it("set only e2e switches that e2e/ reads", () => {
        const e2e = fs.readdirSync(path.join(ROOT, "e2e")).map(f => fs.readFileSync(path.join(ROOT, "e2e", f), "utf8")).join("\n");
        const names = new Set(FILES.flatMap(f => [...text(f).matchAll(/\b(E2E_[A-Z_]+)\b/g)].map(m => m[1])));
        assert.ok(names.has("E2E_BASE_URL"));
        for (const name of names) {
            assert.ok(e2e.includes(`process.env.${name}`), `the workflows set ${name}, which e2e/ never reads`);
        }
    });

    it("read only repository variables and secrets that the CI/CD page (docs/ci-cd.md) lists", () => {
        const section = fs.readFileSync(path.join(ROOT, "docs", "ci-cd.md"), "utf8");
        const names = new Set(FILES.flatMap(f => [...text(f).matchAll(/\b(?:vars|secrets)\.([A-Z][A-Z0-9_]+)/g)].map(m => m[1])));
        names.delete("GITHUB_TOKEN");
        assert.ok(names.has("PULUMI_CONFIG_PASSPHRASE") && names.has("DEV_CLUSTER_RUNNER"));
        for (const name of names) {
            assert.ok(section.includes(`\`${name}\``), `the workflows read ${name}, which docs/ci-cd.md does not list`);
        }
    });
});

describe("the workflows' actions", () => {
    it("are pinned by full commit SHA with the version in a comment, or are local", () => {
        for (const file of FILES) {
            for (const line of text(file).split("\n").filter(l => /^\s*-?\s*uses:/.test(l))) {
                assert.match(line.trim(), /^(?:- )?uses: (?:\.\/\S+|[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+)$/, `${file}: ${line.trim()}`);
            }
        }
    });

    it("use one SHA per action across all workflows", () => {
        const pins = new Map<string, Set<string>>();
        for (const file of FILES) {
            for (const m of text(file).matchAll(/uses: ([\w.-]+\/[\w./-]+)@([0-9a-f]{40}) # (v[\d.]+)/g)) {
                pins.set(m[1], (pins.get(m[1]) ?? new Set()).add(`${m[2]} ${m[3]}`));
            }
        }
        for (const [action, versions] of pins) {
            assert.strictEqual(versions.size, 1, `${action} is pinned to ${[...versions].join(" and ")}`);
        }
    });
});

describe("the deploy workflow on ACK", () => {
    const deploy = () => parsed("deploy-stack.yml").jobs.up.steps as any[];
    const CHECK = "scripts/check-netpol-enforcement.sh";

    it("checks, for an ack stack and before pulumi up, that the cluster enforces NetworkPolicies", () => {
        const { step, at, up } = stepBeforeUp(CHECK);
        assert.ok(at >= 0 && at < up, "the check runs before pulumi up");
        assert.strictEqual(step.if, "inputs.profile == 'ack'");
        assert.strictEqual(step.env.CONTEXT, "${{ inputs.context }}");
    });

    /**
     * Runs `script ...args` with a kubectl stand-in first on PATH: a shell script whose `case "$*"` has
     * `cases` (each `  *"<args>"*) <commands> ;;`) and exits 2 on anything else.
     */
    function withKubectl(cases: string[], script: string, args: string[]): { status: number | null; output: string } {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sample-app-kubectl-"));
        try {
            fs.writeFileSync(path.join(dir, "kubectl"), ["#!/bin/sh", 'case "$*" in', ...cases, "esac", "exit 2", ""].join("\n"), { mode: 0o755 });
            const r = spawnSync("bash", [path.join(ROOT, script), ...args], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, encoding: "utf8" });
            return { status: r.status, output: `${r.stdout}${r.stderr}` };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    /** The deploy job's steps, the index of the one that runs `script`, and that of pulumi up. */
    function stepBeforeUp(script: string): { step: any; at: number; up: number } {
        const steps = deploy();
        const at = steps.findIndex(s => typeof s.run === "string" && s.run.includes(script));
        const up = steps.findIndex(s => String(s.uses ?? "").startsWith("pulumi/actions@"));
        return { step: steps[at], at, up };
    }

    /** Runs the check against a kubectl stand-in that answers as a cluster with `terway` DaemonSets and `disabled` would. */
    function check(daemonsets: string[], disabled: string | undefined): { status: number | null; output: string } {
        return withKubectl([
            ...daemonsets.map(d => `  *"get daemonset ${d} "*) echo daemonset.apps/${d}; exit 0 ;;`),
            '  *"get daemonset "*) echo "Error from server (NotFound)" >&2; exit 1 ;;',
            `  *"get daemonsets"*) ${daemonsets.map(d => `echo daemonset.apps/${d}`).join("; ") || "true"}; exit 0 ;;`,
            `  *"get configmap eni-config"*) ${disabled === undefined ? 'echo "Error from server (NotFound)" >&2; exit 1' : `printf %s '${disabled}'; exit 0`} ;;`,
        ], CHECK, ["ack-prod"]);
    }

    it("passes a cluster with Terway in shared-ENI mode and NetworkPolicy support on", () => {
        const ok = check(["terway-eniip"], "false");
        assert.strictEqual(ok.status, 0, ok.output);
        assert.match(ok.output, /NetworkPolicies are enforced on ack-prod/);
    });

    it("refuses a cluster whose Terway has NetworkPolicy support off", () => {
        const off = check(["terway-eniip"], "true");
        assert.strictEqual(off.status, 1);
        assert.match(off.output, /^::error::Cluster ack-prod has NetworkPolicy support off \(kube-system\/eni-config disable_network_policy: "true"\)/m);
    });

    it("refuses a Flannel cluster and a Terway in exclusive-ENI mode", () => {
        for (const daemonsets of [["kube-flannel-ds"], ["terway-eni"]]) {
            const r = check(daemonsets, "false");
            assert.strictEqual(r.status, 1, r.output);
            assert.match(r.output, new RegExp(`^::error::Cluster ack-prod has no Terway in shared-ENI mode .*found: daemonset.apps/${daemonsets[0]}`, "m"));
        }
    });

    const CRD_CHECK = "scripts/check-podmonitor-crd.sh";

    it("checks, for every stack and before pulumi up, that a cluster has the PodMonitor CRD the stack file asks for", () => {
        const { step, at, up } = stepBeforeUp(CRD_CHECK);
        assert.ok(at >= 0 && at < up, "the check runs before pulumi up");
        assert.strictEqual(step.if, undefined, "minikube stacks can find the API by PodMonitor too");
        assert.match(step.run, /"Pulumi\.\$STACK\.yaml"/);
    });

    /** Runs the CRD check for `stackFile` against a kubectl stand-in whose cluster has the CRD or not. */
    function crdCheck(stackFile: string, hasCrd: boolean): { status: number | null; output: string } {
        return withKubectl([
            `  *"get crd podmonitors.monitoring.coreos.com"*) ${hasCrd ? "echo customresourcedefinition.apiextensions.k8s.io/podmonitors.monitoring.coreos.com; exit 0" : 'echo "Error from server (NotFound)" >&2; exit 1'} ;;`,
        ], CRD_CHECK, ["ack-prod", path.join(ROOT, stackFile)]);
    }

    it("refuses prod and gray, which find the API by PodMonitor, on a cluster without the CRD, and passes them on one with it", () => {
        for (const file of ["Pulumi.prod.yaml", "Pulumi.gray.yaml"]) {
            const without = crdCheck(file, false);
            assert.strictEqual(without.status, 1, without.output);
            assert.match(without.output, /^::error::Cluster ack-prod has no CRD podmonitors\.monitoring\.coreos\.com, and .* sets metricsDiscovery: podMonitor/m);
            const withCrd = crdCheck(file, true);
            assert.strictEqual(withCrd.status, 0, withCrd.output);
        }
    });

    it("passes dev and test, which make no PodMonitor, without asking the cluster", () => {
        for (const file of ["Pulumi.dev.yaml", "Pulumi.test.yaml"]) {
            const r = crdCheck(file, false);
            assert.strictEqual(r.status, 0, r.output);
            assert.match(r.output, /no PodMonitor CRD needed/);
        }
    });
});
