// `cloudflare-origin-firewall/cloudflare`: the Cloudflare side (proxied DNS,
// Authenticated Origin Pulls, SSL mode, edge blocks) and the provider-free core;
// needs @pulumi/cloudflare and @pulumi/tls.
export * from "../core";
export { CloudflareOriginEdge, fetchZoneOriginPullCertificates } from "../cloudflare-edge";
export { checkOneEdgePerZone, checkOriginPullRotation, originPullGenerations } from "../cloudflare-edge-rules";
export type { CloudflareOriginEdgeArgs, EdgeRecord, EdgeZoneClaim, GeneratedOriginPullCertificates, OwnOriginPullCertificate, ZoneOriginPullCertificate } from "../cloudflare-edge-rules";
