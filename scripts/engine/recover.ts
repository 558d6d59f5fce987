/**
 * Recovery from a run that was killed (a CI cancel, an OOM kill, Ctrl-C twice): before the next
 * operation on a stack of a file backend, a lock held by a process of this machine that no longer
 * runs is named and removed, and the operations it left pending are resolved the way Pulumi
 * documents (`pulumi refresh`, with each pending create imported when its object exists and cleared
 * when it does not), so the next `up` converges with no duplicate and no orphan.
 *
 * A lock of another machine, or of a process that still runs, is left alone: the engine then stops
 * with its own message naming the holder.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";

/** What the file backend writes into a lock (pkg/backend/diy/lock.go). */
export interface LockContent { readonly pid: number; readonly username: string; readonly hostname: string; readonly timestamp: string }

/** A lock file and what it says. */
export interface Lock { readonly file: string; readonly content: LockContent }

/** The lock files of a stack in a file backend: `.pulumi/locks/<org>/<project>/<stack>/*.json`. */
export function stackLocks(backendDir: string, fullyQualifiedStack: string): Lock[] {
    const dir = path.join(backendDir, ".pulumi", "locks", ...fullyQualifiedStack.split("/"));
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).filter(f => f.endsWith(".json")).map(f => {
        const file = path.join(dir, f);
        return { file, content: JSON.parse(fs.readFileSync(file, "utf8")) as LockContent };
    });
}

/** Whether process `pid` of this machine runs a Pulumi CLI (a pid reused by another program does not count). */
export function pulumiRuns(pid: number): boolean {
    try {
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
        return /(^|\/)pulumi(-[0-9.]+)?\0/.test(cmdline);
    } catch {
        return false;
    }
}

/** Why a lock is stale, or undefined when it may be live (another machine's, or a CLI that still runs). */
export function staleReason(l: LockContent, host = os.hostname(), runs: (pid: number) => boolean = pulumiRuns): string | undefined {
    if (l.hostname !== host) return undefined;
    if (runs(l.pid)) return undefined;
    return `the lock of ${l.username}'s pulumi (pid ${l.pid} on ${l.hostname}, since ${l.timestamp}), a process that no longer runs`;
}

/** A pending operation as the checkpoint records it. */
interface PendingOperation { readonly type: string; readonly resource: { readonly urn: string; readonly type: string; readonly inputs?: Record<string, unknown> } }

/** The Kubernetes object a pending create names (its inputs hold its apiVersion, kind and name). */
export interface PendingObject { readonly apiVersion: string; readonly kind: string; readonly name: string; readonly namespace?: string }

export function pendingObject(op: PendingOperation): PendingObject | undefined {
    const i = op.resource.inputs as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } } | undefined;
    if (!op.resource.type.startsWith("kubernetes:") || typeof i?.apiVersion !== "string" || typeof i.kind !== "string" || typeof i.metadata?.name !== "string") {
        return undefined;
    }
    return { apiVersion: i.apiVersion, kind: i.kind, name: i.metadata.name, ...(typeof i.metadata.namespace === "string" ? { namespace: i.metadata.namespace } : {}) };
}

/** A field manager entry of an object's metadata.managedFields. */
export interface ManagedFieldsEntry { readonly manager?: string; readonly operation?: string; readonly [k: string]: unknown }

/**
 * The managedFields of an object a killed run created, without what that run's kubernetes provider
 * owned (its `pulumi-kubernetes-<random>` field manager, named by the run that never recorded it).
 * Left there, that manager would keep co-owning every field it set: the next change of such a field
 * by the stack's own manager would stop with a server-side apply conflict.
 */
export function withoutOrphanedManagers(entries: readonly ManagedFieldsEntry[]): ManagedFieldsEntry[] {
    return entries.filter(e => !/^pulumi-kubernetes(-|$)/.test(e.manager ?? ""));
}

export interface RecoverOptions {
    /** The file backend's directory (PULUMI_BACKEND_URL without file://). */
    readonly backendDir: string;
    /**
     * Called for each Kubernetes object a pending create names, before the refresh: releases what
     * the killed run's field manager owns of it, if the object exists (withoutOrphanedManagers);
     * returns what it did, or undefined when there was nothing to release.
     */
    readonly releaseOrphan?: (o: PendingObject) => string | undefined;
    readonly log: (message: string) => void;
}

/**
 * Clears a stale lock of the stack and resolves the operations a killed run left pending; returns
 * what it did. Pending updates and deletes are settled by `pulumi refresh`, which reads each object
 * back; pending creates are dropped from the state (`--clear-pending-creates`), and the next `up`
 * creates them again. The kubernetes provider creates by server-side apply, which adopts an object
 * that the killed run did make (an upsert), and every object this program makes has a fixed name
 * (test/invariants.spec.ts), so nothing is made twice and nothing is left behind. What the killed
 * run's field manager owned of such an object is released first (releaseOrphan), so that the next
 * run's manager owns the object alone.
 */
export async function recoverStack(s: Stack, o: RecoverOptions): Promise<string[]> {
    const done: string[] = [];
    const project = (await s.workspace.projectSettings()).name;
    for (const l of stackLocks(o.backendDir, `organization/${project}/${s.name}`)) {
        const why = staleReason(l.content);
        if (why !== undefined) {
            fs.rmSync(l.file);
            done.push(`removed ${why}`);
            o.log(`recover ${s.name}: removed ${why}`);
        }
    }
    const state = await s.exportStack();
    const pending = (state.deployment as { pending_operations?: PendingOperation[] }).pending_operations ?? [];
    if (pending.length === 0) {
        return done;
    }
    o.log(`recover ${s.name}: ${pending.length} operation(s) left pending by an interrupted run (${pending.map(p => `${p.type} ${p.resource.urn.split("::").pop()}`).join(", ")}): pulumi refresh --clear-pending-creates`);
    for (const op of pending.filter(p => p.type === "creating")) {
        const obj = pendingObject(op);
        const released = obj && o.releaseOrphan?.(obj);
        if (released) {
            done.push(released);
            o.log(`recover ${s.name}: ${released}`);
        }
    }
    await s.refresh({ clearPendingCreates: true, onOutput: () => undefined, color: "never" });
    done.push(`refreshed ${pending.length} pending operation(s)`);
    return done;
}
