/**
 * The rehearsal's zone loss tells the write failures the loss makes (scripts/cluster/suite/failures.ts)
 * from those it must not make.
 */
import * as assert from "assert";
import { nginxReadTimeoutMs, zoneLossCause, ZoneLossWindows } from "../scripts/cluster/suite/failures";

const T = 1_000_000;
const windows: ZoneLossWindows = { alone: { from: T + 20_000, to: T + 30_000 }, lost: { from: T, to: T + 60_000 }, nginxReadTimeoutMs: 12_000 };
const storage = '{"error":"storage unavailable; retry later"}';
const nginx = '{"error":"api unavailable"}';

describe("the write failures a zone loss may make", () => {
    it("counts a write refused (503) while the primary had no replica, or up to 5 s after one came back, and no other refusal", () => {
        assert.strictEqual(zoneLossCause({ at: T + 25_000, status: 503, ms: 40, body: storage }, windows), "refused while the primary had no replica");
        assert.strictEqual(zoneLossCause({ at: T + 34_000, status: 503, ms: 600, body: storage }, windows), "refused while the primary had no replica");
        assert.strictEqual(zoneLossCause({ at: T + 19_000, status: 503, ms: 40, body: storage }, windows), undefined);
        assert.strictEqual(zoneLossCause({ at: T + 36_000, status: 503, ms: 40, body: storage }, windows), undefined);
    });

    it("counts nginx's 503 after its whole read timeout for a write outstanding while the zone was lost (in flight at the loss too), and not a quicker one, nor one over before the loss or sent after the zone came back", () => {
        assert.strictEqual(zoneLossCause({ at: T + 12_100, status: 503, ms: 12_001, body: nginx }, windows), "sent to an API pod of the lost zone");
        assert.strictEqual(zoneLossCause({ at: T + 11_800, status: 503, ms: 12_263, body: nginx }, windows), "sent to an API pod of the lost zone");
        assert.strictEqual(zoneLossCause({ at: T + 13_000, status: 503, ms: 3_000, body: nginx }, windows), undefined);
        assert.strictEqual(zoneLossCause({ at: T - 100, status: 503, ms: 12_000, body: nginx }, windows), undefined);
        assert.strictEqual(zoneLossCause({ at: T + 75_000, status: 503, ms: 12_000, body: nginx }, windows), undefined);
    });

    it("never counts another status, or a request that got no answer", () => {
        for (const status of [0, 500, 502, 504]) {
            assert.strictEqual(zoneLossCause({ at: T + 25_000, status, ms: 12_000, body: nginx }, windows), undefined);
        }
    });

    it("takes nginx's read timeout from the frontend's nginx.conf, and refuses a conf that sets none", () => {
        assert.strictEqual(nginxReadTimeoutMs(), 12_000);
        assert.strictEqual(nginxReadTimeoutMs("  proxy_read_timeout 1500ms;\n"), 1500);
        assert.throws(() => nginxReadTimeoutMs("proxy_send_timeout 12s;\n"), /sets no proxy_read_timeout/);
    });
});
