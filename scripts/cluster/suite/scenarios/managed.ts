/**
 * A managed Redis outside the cluster, over TLS with a CA of its own, as ApsaraDB for Redis / Tair is
 * on ACK: a redis-server that this check starts on the cluster's bridge (10.77.0.1, outside every
 * pod network), its certificate signed by a CA made here. dev runs with `redisMode: managed` and
 * `redisTlsCa`, and test follows it as gray (prodStack dev): both APIs reach the same Redis through
 * their NetworkPolicies, verifying its certificate against that CA only.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CANARY_OF_DEV } from "../../../../test/flows";
import { deploy } from "../../deploy";
import { request, target } from "../http";
import { assert, check, line, phase, waitUntil } from "../runner";
import { quiet, World } from "../world";
import { removeStack } from "./canary";

/** The cluster's bridge address on this machine (lib.sh CP_IP): outside the pods' networks, as a VPC endpoint is. */
const ENDPOINT_IP = "10.77.0.1";
const ENDPOINT_PORT = 6390;

/** A CA, and a server certificate it signs for the endpoint's address, as PEM files in `dir`. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
    const f = (name: string) => path.join(dir, name);
    const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f("ca.key"), "-out", f("ca.crt"),
        "-subj", "/CN=sample-app managed Redis test CA", "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign");
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f("redis.key"), "-out", f("redis.csr"), "-subj", "/CN=r-local.redis.test");
    fs.writeFileSync(f("ext.cnf"), `subjectAltName=IP:${ENDPOINT_IP},DNS:r-local.redis.test\nextendedKeyUsage=serverAuth\n`);
    openssl("x509", "-req", "-in", f("redis.csr"), "-CA", f("ca.crt"), "-CAkey", f("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", f("ext.cnf"), "-out", f("redis.crt"));
    return { ca: f("ca.crt"), cert: f("redis.crt"), key: f("redis.key") };
}

/** redis-server with TLS only, on the endpoint's address, with a password; resolves once it answers. */
async function startManagedRedis(dir: string, certs: { ca: string; cert: string; key: string }, password: string): Promise<ChildProcess> {
    fs.writeFileSync(path.join(dir, "redis.conf"), [
        "port 0", `bind ${ENDPOINT_IP}`, `tls-port ${ENDPOINT_PORT}`, `tls-cert-file ${certs.cert}`, `tls-key-file ${certs.key}`,
        `tls-ca-cert-file ${certs.ca}`, "tls-auth-clients no", `requirepass "${password}"`, 'save ""', "appendonly no", `dir ${dir}`, "protected-mode no", "",
    ].join("\n"));
    const server = spawn("redis-server", [path.join(dir, "redis.conf")], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    server.stderr?.on("data", d => { stderr += String(d); });
    await waitUntil(`the managed Redis stand-in on ${ENDPOINT_IP}:${ENDPOINT_PORT}`, 30, () => {
        assert(server.exitCode === null, `redis-server exited: ${stderr}`);
        return cli(certs, password, "PING").trim() === "PONG";
    }, 500);
    return server;
}

function cli(certs: { ca: string }, password: string, ...command: string[]): string {
    try {
        return execFileSync("redis-cli", ["-h", ENDPOINT_IP, "-p", String(ENDPOINT_PORT), "--tls", "--cacert", certs.ca, "--no-auth-warning", ...command], {
            encoding: "utf8", env: { ...process.env, REDISCLI_AUTH: password }, stdio: ["ignore", "pipe", "ignore"], timeout: 5000,
        });
    } catch {
        return "";
    }
}

export async function managedRedis(w: World): Promise<void> {
    await phase("a managed Redis outside the cluster, over TLS with a CA of its own: dev on it, test as its gray", async () => {
        await check("dev with redisMode managed and redisTlsCa, and test as its canary, write and read the same users through it, each verifying its certificate against that CA", async () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sample-app-managed-redis-"));
            fs.chmodSync(dir, 0o700);
            const password = crypto.randomBytes(24).toString("base64url");
            const certs = makeCertificates(dir);
            const server = await startManagedRedis(dir, certs, password);
            const managed: Record<string, string | undefined> = {
                redisMode: "managed", redisHost: ENDPOINT_IP, redisPort: String(ENDPOINT_PORT), redisTls: "true",
                redisTlsCa: fs.readFileSync(certs.ca, "utf8"), redisCidrs: JSON.stringify([`${ENDPOINT_IP}/32`]), redisPassword: password,
            };
            try {
                w.dev = await deploy("dev", managed, quiet);
                w.test = await deploy("test", CANARY_OF_DEV, quiet);
                const t = target("dev");
                const email = `managed-${Date.now()}@example.com`;
                let id = "";
                await waitUntil("a user written through the canary (X-Canary: always)", 60, async () => {
                    const r = await request(t, "/api/users", { method: "POST", headers: { "X-Canary": "always" }, body: JSON.stringify({ name: "On the managed Redis", email }) });
                    if (r.status === 201) id = (JSON.parse(r.body) as { id: string }).id;
                    return r.status === 201;
                }, 1000);
                const read = await request(t, `/api/users/${id}`);
                assert(read.status === 200 && read.body.includes(email), `dev reads the canary's user: ${read.status} ${read.body}`);
                const keys = Number(cli(certs, password, "DBSIZE").trim());
                assert(keys > 0, "the managed Redis holds no key: the APIs did not write to it");
                line(`       the user written through test (gray) read back through dev; the managed Redis holds ${keys} keys`);
            } finally {
                await removeStack("test", CANARY_OF_DEV).catch(e => line(`       removing test: ${String(e)}`));
                w.test = undefined;
                await removeStack("dev", managed).catch(e => line(`       removing dev: ${String(e)}`));
                w.dev = undefined;
                server.kill("SIGTERM");
                await new Promise(resolve => (server.exitCode !== null ? resolve(undefined) : server.once("exit", resolve)));
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });
}
