/**
 * The validators of settings/validate.ts on their own: what each pattern
 * accepts and rejects, and what the parsers make of good and bad input.
 */
import * as assert from "assert";
import {
    cronProblem, DIGEST, DNS_LABEL, DNS_SUBDOMAIN, HEADER, HOST, IMAGE_REF, IMAGE_TAG, LABEL_VALUE, NETWORK_HOST, parseLabel, parseQuantity, PASSWORD, REGISTRY,
    STACK_REF, validCidr,
} from "../settings/validate";

const HEX64 = "0123456789abcdef".repeat(4);

/** Each pattern with values it must accept and values it must reject. */
const PATTERNS: { name: string; pattern: RegExp; accepts: string[]; rejects: string[] }[] = [
    { name: "DNS_LABEL", pattern: DNS_LABEL, accepts: ["a", "sample-app-dev", "x1", "a".repeat(63)], rejects: ["", "-a", "a-", "A", "a_b", "a.b", "a".repeat(64)] },
    { name: "DNS_SUBDOMAIN", pattern: DNS_SUBDOMAIN, accepts: ["public-alb", "alicloud-disk-snapshot", "a.b.c", "csi-hostpath-snapclass"], rejects: ["", "Data_Redis", "a..b", ".a", "a.", `${"a".repeat(250)}.com`] },
    { name: "HOST", pattern: HOST, accepts: ["sample-app.dev.local", "shop.example.com", "a.b"], rejects: ["localhost", "Sample_App!", "UPPER.example.com", "a..b", "-a.b"] },
    { name: "NETWORK_HOST", pattern: NETWORK_HOST, accepts: ["r-bp1xxxx.redis.rds.aliyuncs.com", "10.0.8.5", "Redis-Host", "a"], rejects: ["", "-a", "a-", "a_b", "a:6379"] },
    { name: "IMAGE_TAG", pattern: IMAGE_TAG, accepts: ["0.1.0", "review-abc123", "v1_2", "a".repeat(128)], rejects: ["", ".hidden", "-x", "a/b", "a:b", "a".repeat(129)] },
    { name: "DIGEST", pattern: DIGEST, accepts: [`sha256:${HEX64}`], rejects: [HEX64, `sha256:${HEX64.toUpperCase()}`, "sha256:abc", `sha512:${HEX64}`] },
    {
        name: "IMAGE_REF", pattern: IMAGE_REF,
        accepts: ["redis", "redis:7.4.2-alpine", `redis@sha256:${HEX64}`, `redis:7.4.2-alpine@sha256:${HEX64}`, "registry.k8s.io/kubectl:v1.33.3", "localhost:5000/team/redis:7"],
        rejects: ["", "Redis:7", "redis:", "redis@sha256:abc", "/redis:7", "redis:7 "],
    },
    { name: "REGISTRY", pattern: REGISTRY, accepts: ["registry.cn-hangzhou.aliyuncs.com/my-team", "localhost:5000", "reg.example.com/a/b_c"], rejects: ["", "https://reg.example.com", "Reg.example.com", "reg.example.com/"] },
    { name: "HEADER", pattern: HEADER, accepts: ["X-Canary", "x_canary", "A1", "A".repeat(256)], rejects: ["", "X Canary", "X:Canary", "X-Canäry", "A".repeat(257)] },
    { name: "STACK_REF", pattern: STACK_REF, accepts: ["prod", "sample-app/prod", "organization/sample-app/prod"], rejects: ["", "a/b/c/d", "/prod", "prod/", "my stack"] },
    { name: "LABEL_VALUE", pattern: LABEL_VALUE, accepts: ["", "prod", "my_stack.v2", "a".repeat(63)], rejects: ["_a", "a.", "a b", "a".repeat(64), "ünicode"] },
    {
        name: "PASSWORD", pattern: PASSWORD,
        accepts: ["a".repeat(16), " leading and trailing ", "q\"u'o`t\\e#$%; and more", "~".repeat(512)],
        rejects: ["a".repeat(15), "a".repeat(513), "tab\there-sixteen-chars", "new\nline-sixteen-chars", "ünicode-sixteen-chars"],
    },
];

describe("settings validators", () => {
    for (const { name, pattern, accepts, rejects } of PATTERNS) {
        it(`${name} accepts ${accepts.length} well-formed values and rejects ${rejects.length} malformed ones`, () => {
            for (const v of accepts) {
                assert.ok(pattern.test(v), `${name} rejects ${JSON.stringify(v)}`);
            }
            for (const v of rejects) {
                assert.ok(!pattern.test(v), `${name} accepts ${JSON.stringify(v)}`);
            }
        });
    }

    it("takes a cron schedule the API server takes (robfig/cron's rules) and refuses one it refuses, saying why", () => {
        for (const ok of ["0 3 * * *", "*/15 * * * *", "0 0-6/2 1,15 * 1-5", "59 23 31 12 6", "0 3 * * 0", "5/10 * * * *", "1,,2 * * * *", "0\t3 * * *"]) {
            assert.strictEqual(cronProblem(ok), undefined, ok);
        }
        const refused: [string, RegExp][] = [
            ["daily", /only digits/], ["@daily", /only digits/], ["0 3 * *", /4 fields/], ["0 3 * * MON", /only digits/], ["0 3 * * 7", /day of week "7": above the maximum 6/],
            ["60 * * * *", /minute "60": above the maximum 59/], ["0 24 * * *", /hour/], ["0 0 0 * *", /day of month "0": below the minimum 1/],
            ["*/0 * * * *", /a step of 0/], ["5-1 * * * *", /starts after it ends/], ["1-2-3 * * * *", /too many hyphens/], ["*/2/3 * * * *", /too many slashes/],
            ["- * * * *", /not a number/],
        ];
        for (const [schedule, why] of refused) {
            assert.match(cronProblem(schedule) ?? "accepted", why, schedule);
        }
    });

    it("parseQuantity reads every suffix, decimal and binary, and nothing else", () => {
        const cases: [string, number][] = [
            ["2", 2], ["500m", 0.5], ["1.5G", 1.5e9], ["4k", 4e3], ["20Gi", 20 * 2 ** 30], ["64Mi", 64 * 2 ** 20], ["1Ki", 1024],
            ["1T", 1e12], ["1Ti", 2 ** 40], ["1P", 1e15], ["1Pi", 2 ** 50], ["1E", 1e18], ["1Ei", 2 ** 60], ["3M", 3e6],
        ];
        for (const [q, n] of cases) {
            assert.strictEqual(parseQuantity(q), n, q);
        }
        for (const q of ["", "twenty", "-1Gi", "1gi", "1 Gi", "1e3", ".5", "1.", "Gi"]) {
            assert.strictEqual(parseQuantity(q), undefined, q);
        }
    });

    it("validCidr takes IPv4 CIDRs with octets up to 255 and a prefix up to 32", () => {
        for (const c of ["10.0.0.0/8", "192.168.0.10/32", "0.0.0.0/0", "255.255.255.255/32"]) {
            assert.ok(validCidr(c), c);
        }
        for (const c of ["10.0.0.0/33", "256.0.0.0/8", "10.0.0.0", "10.0.0/8", "fd00::/8", "10.0.0.0/8 ", ""]) {
            assert.ok(!validCidr(c), c);
        }
    });

    it("parseLabel splits key=value (a prefixed key, an empty value) and refuses anything else", () => {
        assert.deepStrictEqual(parseLabel("app.kubernetes.io/name=traefik"), { key: "app.kubernetes.io/name", value: "traefik" });
        assert.deepStrictEqual(parseLabel("app=ingress-nginx"), { key: "app", value: "ingress-nginx" });
        assert.deepStrictEqual(parseLabel("canary="), { key: "canary", value: "" });
        for (const l of ["traefik", "=x", "a=b=c", "a b=c", "-a=b", `a=${"v".repeat(64)}`, "Example.com/a=b"]) {
            assert.strictEqual(parseLabel(l), undefined, l);
        }
    });
});
