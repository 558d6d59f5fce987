/**
 * The sample app's components, for this program and for any other that reuses them.
 */
export * from "./typeToken";
export * from "./labels";
export * from "./security";
export * from "./scaling";
export { CONFIG_HASH_ANNOTATION, configHash, ServiceType } from "./workload";
export * from "./appNamespace";
export * from "./redis";
export * from "./redisBackup";
export * from "./externalRedis";
export * from "./userApi";
export { validScrapeInterval } from "./podMonitor";
export type { PodMonitorArgs } from "./podMonitor";
export * from "./frontend";
export * from "./publicIngress";
export * from "./gatewayApi";
export * from "./gatewayRoute";
export * from "./networkPolicies";
export * from "./accessControl";
