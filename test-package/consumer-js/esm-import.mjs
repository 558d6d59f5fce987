// An ES module consumer: named imports from the CommonJS package must resolve to the components.
import { AppNamespace, Frontend, Redis, UserApi, componentType } from "sample-app";

const missing = Object.entries({ AppNamespace, Frontend, Redis, UserApi, componentType })
    .filter(([, v]) => typeof v !== "function").map(([k]) => k);
process.stdout.write(JSON.stringify({ missing, token: componentType("Redis") }));
