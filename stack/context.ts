/**
 * What every piece of the stack is built with: the component names other
 * objects refer to, and the settings, namespace, labels, provider and (gray)
 * prod's StackReference that index.ts hands each choice.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ManagedRedisSettings, OwnRedisSettings, Settings } from "../settings";
import type { ProdRedis } from "./prod";

/** Component names: they name the Kubernetes objects, and other stacks select pods by them. */
export const REDIS = "redis";
export const API = "user-api";
export const FRONTEND = "frontend";
export const BACKUP = "redis-backup";
/** The ServiceAccount the deploy workflow runs `pulumi up` as (see docs/access-control.md). */
export const DEPLOY_ACCOUNT = "sample-app-deploy";

/** The settings and resources every component of the stack is made with. */
export interface StackContext {
    readonly s: Settings;
    /** The namespace every component goes into. */
    readonly namespace: pulumi.Output<string>;
    /** The `app.kubernetes.io/instance` and `env` labels. */
    readonly identity: { readonly instance: string; readonly env: string };
    /** The stack's provider, pinned to its kube context, as components take it. */
    readonly opts: pulumi.ComponentResourceOptions;
    /** The provider itself, for what the stack reads or creates outside a component. */
    readonly provider: k8s.Provider;
    /** Gray: prod's stack, whose Redis, host and namespace a canary uses; undefined elsewhere. */
    readonly prod?: pulumi.StackReference;
    /** Gray: prod's Redis as prod's outputs describe it (stack/prod.ts); undefined elsewhere. */
    readonly prodRedis?: ProdRedis;
}

/** The Redis the stack runs itself (statefulset or sentinel mode), if it does. */
export function ownRedis(s: Settings): OwnRedisSettings | undefined {
    return s.kind === "own" && s.redis.mode !== "managed" ? s.redis : undefined;
}

/** The managed Redis the stack uses, if it does. */
export function managedRedis(s: Settings): ManagedRedisSettings | undefined {
    return s.kind === "own" && s.redis.mode === "managed" ? s.redis : undefined;
}
