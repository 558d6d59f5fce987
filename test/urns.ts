/**
 * URNs and aliases as the Pulumi engine computes them, from the requests the
 * mock monitor receives. The mock monitor names resources its own way (only
 * the parent's last type, and the root stack's type as a prefix), so these
 * follow the engine instead (`resource.NewURN`, and the step generator's
 * `generateAliases`/`inheritedChildAlias`, which Node's `createUrn` and
 * `allAliases` mirror): a URN's type is its ancestors' types joined by `$`,
 * the root stack's left out; a child inherits an alias from every alias of
 * its parent.
 */

/** An alias as a RegisterResource request carries it: a URN, or a spec whose unset parts default to the resource's own. */
export interface AliasSpec {
    readonly urn?: string;
    readonly name?: string;
    readonly type?: string;
    readonly stack?: string;
    readonly project?: string;
    /** The parent's URN as the mock monitor named it. */
    readonly parentUrn?: string;
    readonly noParent?: boolean;
}

/** One RegisterResource request, in the order the program made them (a parent before its children). */
export interface Registration {
    readonly type: string;
    readonly name: string;
    /** The parent's URN as the mock monitor named it; "" for none. */
    readonly parent: string;
    /** The URN the mock monitor gave the resource. */
    readonly mockUrn: string;
    readonly aliases: readonly AliasSpec[];
    /** Mock URNs of the resources it depends on (its inputs' resources and dependsOn). */
    readonly dependencies: readonly string[];
}

/** A resource as the engine names it. */
export interface EngineResource {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    /** Every URN the engine accepts for it: its own aliases and those inherited from its ancestors'. */
    readonly aliases: readonly string[];
    /** Engine URNs of the resources it depends on. */
    readonly dependencies: readonly string[];
}

const ROOT_TYPE = "pulumi:pulumi:Stack";

/** The parts of a URN. */
function parse(urn: string): { stack: string; project: string; qualifiedType: string; name: string } {
    const m = /^urn:pulumi:(.*?)::(.*?)::(.*?)::(.*)$/.exec(urn);
    if (!m) {
        throw new Error(`not a URN: ${urn}`);
    }
    return { stack: m[1], project: m[2], qualifiedType: m[3], name: m[4] };
}

/** The type chain a parent passes on to its children ("" for none, or the root stack). */
function typePrefix(parent: string | undefined): string {
    if (!parent) {
        return "";
    }
    const qualified = parse(parent).qualifiedType;
    return qualified === ROOT_TYPE ? "" : `${qualified}$`;
}

/** `resource.NewURN`: stack, project, the parent's type chain, the type, the name. */
export function engineUrn(stack: string, project: string, parent: string | undefined, type: string, name: string): string {
    return `urn:pulumi:${stack}::${project}::${typePrefix(parent)}${type}::${name}`;
}

/** The alias a child inherits from one alias of its parent (the child's name keeps the parent's as a prefix if it had it). */
function inheritedChildAlias(childType: string, childName: string, parentName: string, parentAlias: string): string {
    const alias = parse(parentAlias);
    const name = childName.startsWith(parentName) ? alias.name + childName.slice(parentName.length) : childName;
    return `urn:pulumi:${alias.stack}::${alias.project}::${alias.qualifiedType}$${childType}::${name}`;
}

/** The engine's view of every registration: URNs, alias URNs and dependencies. */
export function engineResources(stack: string, project: string, registrations: readonly Registration[]): EngineResource[] {
    const byMock = new Map<string, EngineResource>();
    const out: EngineResource[] = [];
    for (const r of registrations) {
        const parent = r.parent ? byMock.get(r.parent) : undefined;
        if (r.parent && !parent) {
            throw new Error(`${r.type}::${r.name}: its parent ${r.parent} registered later or never`);
        }
        const urn = engineUrn(stack, project, parent?.urn, r.type, r.name);
        const own = r.aliases.map(a => {
            if (a.urn) {
                return a.urn;
            }
            const aliasParent = a.noParent ? undefined : a.parentUrn ? byMock.get(a.parentUrn)?.urn : parent?.urn;
            return engineUrn(a.stack || stack, a.project || project, aliasParent, a.type || r.type, a.name || r.name);
        });
        const inherited = parent
            ? parent.aliases.flatMap(pa => [inheritedChildAlias(r.type, r.name, parent.name, pa), ...own.map(o => inheritedChildAlias(parse(o).qualifiedType.split("$").pop()!, parse(o).name, parent.name, pa))])
            : [];
        const resource: EngineResource = {
            type: r.type,
            name: r.name,
            urn,
            aliases: [...new Set([...own, ...inherited])].filter(a => a !== urn),
            dependencies: r.dependencies.map(d => byMock.get(d)?.urn ?? d),
        };
        byMock.set(r.mockUrn, resource);
        out.push(resource);
    }
    return out;
}

/**
 * How the URNs `before` map onto `now`: each old URN is matched by the one resource whose URN or
 * alias it is (`matched`), by none (`deleted`: an update would delete it), or by several (`ambiguous`).
 */
export function mapUrns(before: readonly string[], now: readonly EngineResource[]): { matched: string[]; deleted: string[]; ambiguous: string[] } {
    const matched: string[] = [];
    const deleted: string[] = [];
    const ambiguous: string[] = [];
    for (const old of before) {
        const hits = now.filter(r => r.urn === old || r.aliases.includes(old));
        (hits.length === 1 ? matched : hits.length === 0 ? deleted : ambiguous).push(old);
    }
    return { matched, deleted, ambiguous };
}
