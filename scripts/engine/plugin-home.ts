/**
 * A plugin home (PULUMI_HOME) in which the CLI built here can install this repository as a
 * source-based component package without downloading anything.
 *
 * Before it runs a source-based plugin (`pulumi package get-schema|gen-sdk|add <dir>`, or a
 * program's `packages:` entry), the CLI asks the plugin's language host which resource plugins the
 * plugin needs (every installed npm package with `pulumi.resource: true`: kubernetes 4.34.2 and
 * random 4.21.2 here) and downloads each one its plugin home does not hold. A user's CLI does that;
 * these machines download no plugin. So the home gets the directories the CLI looks for:
 *
 *   - kubernetes: a link to the provider built here (build.sh). It is the binary the engine runs
 *     for every kubernetes request anyway, found first on PATH, whatever version is asked for.
 *   - any other (random): an empty directory with a note. The CLI counts it as installed; if
 *     anything ever started it, that would fail, as it should here: the components run without the
 *     random provider when their passwords are given.
 *
 * Never for a user's PULUMI_HOME: only for the throwaway homes of scripts/engine's checks.
 */
import * as fs from "fs";
import * as path from "path";
import { builtBinaries } from "./toolchain";

/** A resource plugin a package needs: `pulumi.name`/`pulumi.version` of an installed npm package (as the language host reports them). */
export interface PluginNeed {
    readonly name: string;
    readonly version: string;
}

/** The resource plugins the npm packages installed in `dir/node_modules` declare (top level and scoped, as the language host reads them). */
export function requiredPlugins(dir: string): PluginNeed[] {
    const nm = path.join(dir, "node_modules");
    const dirs = fs.readdirSync(nm).flatMap(e => (e.startsWith("@") ? fs.readdirSync(path.join(nm, e)).map(s => path.join(nm, e, s)) : [path.join(nm, e)]));
    const needs: PluginNeed[] = [];
    for (const d of dirs) {
        const file = path.join(d, "package.json");
        if (!fs.existsSync(file)) {
            continue;
        }
        const p = JSON.parse(fs.readFileSync(file, "utf8")) as { name: string; version: string; pulumi?: { resource?: boolean; name?: string; version?: string } };
        if (p.pulumi?.resource) {
            needs.push({ name: p.pulumi.name ?? p.name.replace(/^@pulumi\//, ""), version: (p.pulumi.version ?? p.version).replace(/^v/, "") });
        }
    }
    return needs.sort((a, b) => a.name.localeCompare(b.name));
}

/** Fills `pulumiHome/plugins` with what the plugin in `pluginDir` needs (see the file's comment); returns what it made. */
export function standInPlugins(pulumiHome: string, pluginDir: string): string[] {
    const made: string[] = [];
    for (const need of requiredPlugins(pluginDir)) {
        const dir = path.join(pulumiHome, "plugins", `resource-${need.name}-v${need.version}`);
        fs.mkdirSync(dir, { recursive: true });
        if (need.name === "kubernetes") {
            const link = path.join(dir, "pulumi-resource-kubernetes");
            fs.rmSync(link, { force: true });
            fs.symlinkSync(builtBinaries().provider, link);
            made.push(`${need.name} ${need.version}: the provider built here`);
        } else {
            fs.writeFileSync(path.join(dir, "STAND-IN.txt"),
                `Not ${need.name} ${need.version}: an empty directory, so that the CLI installs ${pluginDir} as a plugin without downloading this one (scripts/engine/plugin-home.ts).\n`);
            made.push(`${need.name} ${need.version}: an empty stand-in (never run)`);
        }
    }
    return made;
}
