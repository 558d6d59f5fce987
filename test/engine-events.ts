/**
 * Engine events as `pulumi preview` emits them, made by hand for the tests of what reads them
 * (the pull-request comment, the drift report).
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";

/** A value the engine marks secret, as it serializes one. */
export const SIG = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "[secret]" };
let seq = 0;

/** A step of the preview: `op` on the object `name` of `type`, its old and new inputs, the fields that differ. */
export function step(op: string, type: string, name: string, old: Record<string, unknown> | undefined, next: Record<string, unknown> | undefined, detailedDiff: Record<string, { diffKind: string; inputDiff: boolean }> = {}): EngineEvent {
    const urn = `urn:pulumi:prod::sample-app::sample-app:index:X$${type}::${name}`;
    const state = (inputs: Record<string, unknown>) => ({ type, urn, custom: true, id: name, parent: "", inputs, outputs: {}, provider: "" });
    return { sequence: seq++, timestamp: 0, resourcePreEvent: { metadata: {
        op, urn, type, provider: "", detailedDiff, diffs: Object.keys(detailedDiff),
        ...(old ? { old: state(old) } : {}), ...(next ? { new: state(next) } : {}),
    } } } as unknown as EngineEvent;
}

/** The preview's summary: how many objects each operation touches. */
export const summary = (resourceChanges: Record<string, number>): EngineEvent => ({ sequence: seq++, timestamp: 0, summaryEvent: { maybeCorrupt: false, durationSeconds: 1, resourceChanges, policyPacks: {} } }) as unknown as EngineEvent;
