/**
 * The components as another repository gets them: `npm pack` of this
 * repository, installed into two scratch Pulumi programs in a temporary
 * directory outside the repository tree (one TypeScript compiled with tsc,
 * one plain JavaScript), each run under Pulumi mocks.
 *
 * Run with `npm run test:package`. scripts/pack-package.mjs runs `npm run
 * build` before `npm pack` (the repository's .npmrc sets ignore-scripts, so
 * `npm pack` never runs prepack).
 * Installs are offline from the npm cache when it holds everything
 * (`npm install --offline`), else `--prefer-offline`. KEEP_PACKAGE_TEST=1
 * keeps the scratch directory for a look.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/* eslint-disable @typescript-eslint/no-explicit-any -- registered Kubernetes objects are checked structurally. */
type Obj = Record<string, any>;

const ROOT = path.resolve(__dirname, "..");
const FIXTURES = __dirname;
const rootPackage = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
const pin = (name: string): string => rootPackage.devDependencies[name];

/** The component classes the consumer programs build (the JavaScript one checks these are all the package exports). */
const COMPONENTS = ["AccessControl", "AppNamespace", "ExternalRedis", "Frontend", "GatewayRoute", "NetworkPolicies", "PublicIngress", "Redis", "RedisBackup", "UserApi"];
const DEV_TOOLING = ["typescript", "ts-node", "mocha", "eslint", "typescript-eslint", "playwright-core"];

interface Run { registered: { type: string; name: string; inputs: Obj }[]; outputs: Obj; exported?: string[] }

function run(cmd: string, args: string[], cwd: string): string {
    try {
        return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
    } catch (e) {
        const err = e as { stdout?: string; stderr?: string; message: string };
        throw new Error(`${cmd} ${args.join(" ")} (in ${cwd}) failed:\n${err.stdout ?? ""}\n${err.stderr ?? err.message}`, { cause: e });
    }
}

/** Copies a fixture program into `dir` with a package.json that depends on the tarball, and installs it. */
function makeConsumer(fixture: string, dir: string, tarball: string, devDependencies: Record<string, string>): void {
    fs.cpSync(path.join(FIXTURES, fixture), dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({
        name: fixture,
        version: "1.0.0",
        private: true,
        dependencies: {
            "sample-app": `file:${path.relative(dir, tarball)}`,
            "@pulumi/pulumi": pin("@pulumi/pulumi"),
            "@pulumi/kubernetes": pin("@pulumi/kubernetes"),
            "@pulumi/random": pin("@pulumi/random"),
        },
        devDependencies,
    }, null, 2));
    // As in this repository: never run install scripts (@pulumi/kubernetes would download its plugin).
    fs.writeFileSync(path.join(dir, ".npmrc"), "ignore-scripts=true\n");
    const flags = ["--no-audit", "--no-fund", "--loglevel=error"];
    try {
        run("npm", ["install", "--offline", ...flags], dir);
    } catch (e) {
        if (!/ENOTCACHED|ETARGET|ERESOLVE|ENOTFOUND/.test((e as Error).message)) {
            throw e;
        }
        console.log(`      (${fixture}: the npm cache lacks something; installing with --prefer-offline)`);
        run("npm", ["install", "--prefer-offline", ...flags], dir);
    }
}

const byType = (r: Run, type: string) => r.registered.filter(x => x.type === type);
function one(r: Run, kind: string, name: string): Obj {
    // ConfigMaps carry their content's hash after the name (components/workload.ts contentName).
    const named = (n: unknown) => n === name || (kind === "ConfigMap" && typeof n === "string" && new RegExp(`^${name}-[0-9a-f]{10}$`).test(n));
    const found = r.registered.filter(x => x.type.startsWith("kubernetes:") && x.type.endsWith(`:${kind}`) && named(x.inputs.metadata?.name));
    assert.strictEqual(found.length, 1, `expected one ${kind} ${name}, found ${found.length}`);
    return found[0].inputs;
}

describe("the packed package, installed outside the repository", function () {
    let scratch: string;
    let tarball: string;
    let packed: string[];
    let manifest: Obj;
    let ts: Run;
    let js: Run;

    before(function () {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "sample-app-package-"));
        assert.ok(path.relative(ROOT, scratch).startsWith(".."), `scratch dir ${scratch} must be outside ${ROOT}`);
        tarball = run(process.execPath, [path.join(ROOT, "scripts", "pack-package.mjs"), scratch], ROOT).trim();
        packed = run("tar", ["-tzf", tarball], scratch).split("\n").filter(f => f && !f.endsWith("/")).map(f => f.replace(/^package\//, "")).sort();
        manifest = JSON.parse(run("tar", ["-xzOf", tarball, "package/package.json"], scratch));

        makeConsumer("consumer-ts", path.join(scratch, "consumer-ts"), tarball, { typescript: pin("typescript"), "@types/node": pin("@types/node") });
        makeConsumer("consumer-js", path.join(scratch, "consumer-js"), tarball, {});
    });

    after(() => {
        if (scratch && !process.env.KEEP_PACKAGE_TEST) {
            fs.rmSync(scratch, { recursive: true, force: true });
        } else if (scratch) {
            console.log(`      scratch programs kept in ${scratch}`);
        }
    });

    describe("the tarball", () => {
        it("holds the compiled components with their types and maps, their sources, the Redis scripts, nginx.conf and the changelog, and nothing else", () => {
            const sources = fs.readdirSync(path.join(ROOT, "components")).filter(f => f.endsWith(".ts")).sort();
            const scripts = fs.readdirSync(path.join(ROOT, "components", "scripts")).filter(f => f.endsWith(".sh")).sort();
            const expected = [
                "CHANGELOG.md", "README.md", "app/web/nginx.conf", "package.json",
                ...scripts.map(f => `components/scripts/${f}`),
                // npm always packs package.json's `main`: the component-package entry (source-based route),
                // and with it the provider it serves (`files`), so its imports resolve.
                "provider.ts", "componentProvider.ts",
                ...sources.map(f => `components/${f}`),
                ...sources.flatMap(f => [".js", ".js.map", ".d.ts", ".d.ts.map"].map(ext => `dist/${f.replace(/\.ts$/, ext)}`)),
            ].sort();
            assert.deepStrictEqual(packed, expected);
        });

        it("points exports and types at files it holds, and only the peers a program already has are needed", () => {
            const targets = [manifest.types, ...Object.values<any>(manifest.exports).flatMap(e => (typeof e === "string" ? [e] : Object.values(e)))];
            for (const t of targets) {
                assert.ok(packed.includes(path.posix.normalize(t)), `${t} (package.json) is not in the tarball`);
            }
            assert.deepStrictEqual(Object.keys(manifest.peerDependencies).sort(), ["@pulumi/kubernetes", "@pulumi/pulumi", "@pulumi/random"]);
            for (const [name, range] of Object.entries<string>(manifest.peerDependencies)) {
                assert.match(range, /^\^\d+\.\d+\.\d+$/, `${name}: a caret range from the version the tests run`);
                assert.strictEqual(range, `^${pin(name)}`, `${name}: the range starts at the version the tests run`);
            }
            assert.strictEqual(manifest.dependencies, undefined, "no runtime dependencies beyond the peers");
            for (const hook of ["preinstall", "install", "postinstall", "prepare"]) {
                assert.strictEqual(manifest.scripts?.[hook], undefined, `no ${hook} script runs in a consumer's install`);
            }
        });

        it("resolves every relative require and every declaration map inside itself", () => {
            const unpacked = path.join(scratch, "consumer-js", "node_modules", "sample-app");
            for (const f of packed.filter(p => p.startsWith("dist/"))) {
                const text = fs.readFileSync(path.join(unpacked, f), "utf8");
                if (f.endsWith(".js")) {
                    for (const [, rel] of text.matchAll(/require\("(\.[^"]+)"\)/g)) {
                        assert.ok(packed.includes(path.posix.join(path.posix.dirname(f), `${rel}.js`)), `${f} requires ${rel}, not in the tarball`);
                    }
                }
                if (f.endsWith(".map")) {
                    for (const src of JSON.parse(text).sources as string[]) {
                        assert.ok(packed.includes(path.posix.join(path.posix.dirname(f), src)), `${f} maps to ${src}, not in the tarball`);
                    }
                }
            }
        });
    });

    describe("a TypeScript program", () => {
        before(() => {
            const dir = path.join(scratch, "consumer-ts");
            const tsc = path.join(dir, "node_modules", "typescript", "bin", "tsc");
            run(process.execPath, [tsc, "-p", "tsconfig.node10.json"], dir);
            run(process.execPath, [tsc, "-p", "tsconfig.json"], dir);
            ts = JSON.parse(run(process.execPath, ["bin/run-under-mocks.js"], dir));
        });

        it("compiles with tsc --strict against the package's declarations (node10 and nodenext resolution)", () => {
            assert.ok(fs.existsSync(path.join(scratch, "consumer-ts", "bin", "index.js")));
        });

        it("registers every component under its sample-app:index token (the component package's too), with the program's own names", () => {
            const components = ts.registered.filter(r => r.type.startsWith("sample-app:")).map(r => r.type).sort();
            assert.deepStrictEqual(components, COMPONENTS.map(c => `sample-app:index:${c}`));
            assert.deepStrictEqual(ts.outputs, {
                namespace: "shop",
                cacheHost: "cache.shop.svc.cluster.local",
                sharedHost: "redis.shared.svc.cluster.local",
                apiUrl: "http://orders.shop.svc.cluster.local:8080",
                publicUrl: "http://shop.example.com/",
            });
        });

        it("gets the Frontend's nginx.conf from the packaged app/web/nginx.conf, with the API upstream filled in", () => {
            const template = fs.readFileSync(path.join(ROOT, "app", "web", "nginx.conf"), "utf8");
            const conf = one(ts, "ConfigMap", "web-nginx").data["nginx.conf"];
            assert.strictEqual(conf, template.replaceAll("__API_UPSTREAM__", "orders.shop.svc.cluster.local:8080"));
        });

        it("gets the Redis start scripts from the packaged components/scripts/, byte for byte", () => {
            const data = one(ts, "ConfigMap", "cache-config").data;
            for (const f of ["common.sh", "start-redis.sh", "ready.sh"]) {
                assert.strictEqual(data[f], fs.readFileSync(path.join(ROOT, "components", "scripts", f), "utf8"), f);
            }
        });

        it("wires the generated Redis password into the API from the cache's Secret only, never in plain text", () => {
            assert.strictEqual(byType(ts, "random:index/randomPassword:RandomPassword").length, 1);
            const pod = one(ts, "Deployment", "orders").spec.template.spec;
            assert.deepStrictEqual(pod.volumes.filter((v: Obj) => v.secret).map((v: Obj) => v.secret.secretName), ["cache-auth"]);
            assert.ok(!JSON.stringify(one(ts, "Deployment", "orders")).includes("mock-password"));
        });
    });

    describe("a plain JavaScript program", () => {
        before(() => {
            js = JSON.parse(run(process.execPath, ["run-under-mocks.js"], path.join(scratch, "consumer-js")));
        });

        it("finds exactly the component classes the programs build exported by the package", () => {
            assert.deepStrictEqual(js.exported, COMPONENTS);
        });

        it("registers exactly what the TypeScript program registers with the same arguments", () => {
            assert.ok(js.registered.length > 20, `only ${js.registered.length} resources`);
            assert.deepStrictEqual({ ...js, exported: undefined }, { ...ts, exported: undefined });
        });

        it("can import the components by name from an ES module", () => {
            const out = JSON.parse(run(process.execPath, ["esm-import.mjs"], path.join(scratch, "consumer-js")));
            assert.deepStrictEqual(out, { missing: [], token: "sample-app:index:Redis" });
        });

        it("gets no TypeScript or test tooling installed by the package", () => {
            const modules = path.join(scratch, "consumer-js", "node_modules");
            assert.deepStrictEqual(DEV_TOOLING.filter(t => fs.existsSync(path.join(modules, t))), []);
        });
    });
});
