/**
 * What the real providers accept, fact by fact, each with its source (repository,
 * path and the line or schema path), read with the search tool. The mock engine
 * accepts anything; `checkRegistration` holds every registration made anywhere in
 * the suite to these facts (see ./hook.ts), so a wrong value fails the suite
 * however it got there.
 */
import * as ipaddr from "ipaddr.js";

/** One enforced fact about one resource type. */
export interface Fact {
    /** The Pulumi type token. */
    type: string;
    /** The input it constrains. */
    field: string;
    /** The rule in words. */
    rule: string;
    /** Where the provider (or its API) enforces it. */
    source: string;
    /** Returns a description of the violation, or undefined. */
    check(inputs: Record<string, any>): string | undefined;
}

const HCLOUD = "hcloud:index/firewall:Firewall";
const DO = "digitalocean:index/firewall:Firewall";
const DNS = "cloudflare:index/dnsRecord:DnsRecord";
const ACCESS = "cloudflare:index/accessRule:AccessRule";
const ZONE_SETTING = "cloudflare:index/zoneSetting:ZoneSetting";
const AOP_SETTINGS = "cloudflare:index/authenticatedOriginPullsSettings:AuthenticatedOriginPullsSettings";
const AOP_CERT = "cloudflare:index/authenticatedOriginPullsCertificate:AuthenticatedOriginPullsCertificate";
const TLS_KEY = "tls:index/privateKey:PrivateKey";
const TLS_SELF = "tls:index/selfSignedCert:SelfSignedCert";
const TLS_CSR = "tls:index/certRequest:CertRequest";
const TLS_SIGNED = "tls:index/locallySignedCert:LocallySignedCert";
const COMMAND = "command:remote:Command";

const TF_HCLOUD = "hetznercloud/terraform-provider-hcloud";
const TF_CF = "cloudflare/terraform-provider-cloudflare";
const TF_DO = "digitalocean/terraform-provider-digitalocean";
const TF_TLS = "hashicorp/terraform-provider-tls";
// Hetzner's official cloud.spec.json as vendored (see test/provider-schemas/README.md).
const HETZNER_SPEC = "Hetzner cloud.spec.json (vendored in devrim-1283/hetzner-mcp scripts/hetzner-cloud.openapi.json)";

const bad = (cond: boolean, message: string) => (cond ? message : undefined);
const oneOf = (allowed: readonly string[], v: unknown, what: string) => bad(typeof v !== "string" || !allowed.includes(v), `${what} ${JSON.stringify(v)} is not one of ${allowed.join(", ")}`);
const each = <T>(list: T[] | undefined, f: (x: T, i: number) => string | undefined) => {
    for (const [i, x] of (list ?? []).entries()) {
        const m = f(x, i);
        if (m) return m;
    }
    return undefined;
};

/** A network address in CIDR notation with no host bits, as Go's net.ParseCIDR then IPNet.String() gives it back. */
function canonicalCidrProblem(s: unknown): string | undefined {
    if (typeof s !== "string" || !s.includes("/")) return `${JSON.stringify(s)} is not in CIDR notation`;
    if (/\d+\.\d+\.\d+\.\d+/.test(s) && s.includes(":")) return `${s} embeds IPv4 in IPv6 notation (Go reads it as IPv4)`;
    try {
        const [addr, len] = ipaddr.parseCIDR(s);
        const net = (addr.kind() === "ipv4" ? ipaddr.IPv4 : ipaddr.IPv6).networkAddressFromCIDR(s).toString();
        const text = addr.kind() === "ipv6" ? `${ipaddr.IPv6.parse(net).toRFC5952String()}/${len}` : `${net}/${len}`;
        return bad(text !== s, `${s} is not canonical (the API returns ${text})`);
    } catch {
        return `${s} is not a CIDR block`;
    }
}

/** Each fact, grouped by resource type. */
export const FACTS: Fact[] = [
    // --- Hetzner Cloud firewall ---
    { type: HCLOUD, field: "name", rule: "1 to 128 characters", source: `${HETZNER_SPEC}: POST /firewalls requestBody name (minLength 1, maxLength 128)`,
        check: (i) => bad(typeof i.name !== "string" || i.name.length < 1 || i.name.length > 128, `name ${JSON.stringify(i.name)} is not 1-128 characters`) },
    { type: HCLOUD, field: "rules[].direction", rule: 'one of "in", "out"', source: `${TF_HCLOUD} internal/firewall/resource.go, rule.direction ValidateDiagFunc (FirewallRuleDirectionIn/Out)`,
        check: (i) => each(i.rules, (r: any) => oneOf(["in", "out"], r.direction, "direction")) },
    { type: HCLOUD, field: "rules[].protocol", rule: "one of tcp, udp, icmp, esp, gre", source: `${TF_HCLOUD} internal/firewall/resource.go, rule.protocol ValidateDiagFunc`,
        check: (i) => each(i.rules, (r: any) => oneOf(["tcp", "udp", "icmp", "esp", "gre"], r.protocol, "protocol")) },
    { type: HCLOUD, field: "rules[].port", rule: 'required for tcp/udp as "N" or "N-M" (1-65535); absent for other protocols', source: `${HETZNER_SPEC}: FirewallRule.port ("Only applicable for protocols tcp and udp"); hetznercloud/cli internal/cmd/firewall/add_rule.go ("port is required", "port is not allowed for this protocol")`,
        check: (i) => each(i.rules, (r: any) => {
            if (r.protocol !== "tcp" && r.protocol !== "udp") return bad(r.port !== undefined, `port ${r.port} on ${r.protocol}`);
            const m = typeof r.port === "string" ? /^(\d+)(?:-(\d+))?$/.exec(r.port) : null;
            if (!m) return `port ${JSON.stringify(r.port)} is not "N" or "N-M"`;
            const [lo, hi] = [Number(m[1]), Number(m[2] ?? m[1])];
            return bad(lo < 1 || hi > 65535 || lo > hi, `port ${r.port} out of range`);
        }) },
    { type: HCLOUD, field: "rules[].sourceIps", rule: "non-empty for direction in; each a network in CIDR notation (host bits clear), canonical as the API returns it", source: `${TF_HCLOUD} internal/firewall/validation.go (validateIPDiag: CIDR, network address) and resource.go (net.ParseCIDR / IPNet.String on read)`,
        check: (i) => each(i.rules, (r: any) => (r.direction === "in" && !(r.sourceIps?.length > 0) ? "an inbound rule without sourceIps" : each(r.sourceIps, canonicalCidrProblem))) },
    { type: HCLOUD, field: "rules[].sourceIps", rule: "at most 100 per rule", source: `${HETZNER_SPEC}: FirewallRule.source_ips description ("You can specify 100 CIDR blocks at most")`,
        check: (i) => each(i.rules, (r: any) => bad((r.sourceIps?.length ?? 0) > 100, `${r.sourceIps.length} sourceIps in one rule`)) },
    { type: HCLOUD, field: "rules", rule: "at most 50 rules and 500 effective rules", source: `${HETZNER_SPEC}: POST /firewalls/{id}/actions/set_rules rules maxItems 50, description "limited to 50 entries per Firewall and 500 effective rules"`,
        check: (i) => bad((i.rules?.length ?? 0) > 50 || (i.rules ?? []).reduce((n: number, r: any) => n + (r.sourceIps?.length ?? 0), 0) > 500, "more than 50 rules or 500 effective rules") },
    { type: HCLOUD, field: "rules[].description", rule: "at most 255 characters", source: `${HETZNER_SPEC}: FirewallRule.description maxLength 255`,
        check: (i) => each(i.rules, (r: any) => bad(r.description !== undefined && String(r.description).length > 255, "description over 255 characters")) },
    { type: HCLOUD, field: "applyTos[]", rule: "each block exactly one of server or labelSelector; never both kinds in one firewall", source: `${TF_HCLOUD} internal/firewall/resource.go apply_to ValidateDiagFunc ("not allowed to combine 'server' and 'label_selector'"); Hetzner API error firewall_managed_by_label_selector`,
        check: (i) => {
            const blocks: any[] = i.applyTos ?? [];
            const one = each(blocks, (a) => bad((a.server === undefined) === (a.labelSelector === undefined), "an applyTos block needs exactly one of server, labelSelector"));
            return one ?? bad(blocks.some((a) => a.server !== undefined) && blocks.some((a) => a.labelSelector !== undefined), "servers attached both by id and by label selector");
        } },
    { type: HCLOUD, field: "labels", rule: "keys and values match Hetzner's label patterns", source: "hetznercloud/hcloud-go hcloud/labels.go (keyRegexp, valueRegexp)",
        check: (i) => each(Object.entries(i.labels ?? {}), ([k, v]: [string, any]) =>
            bad(!/^([a-z0-9A-Z]((?:[\-_.]|[a-z0-9A-Z]){0,253}[a-z0-9A-Z])?\/)?[a-z0-9A-Z]((?:[\-_.]|[a-z0-9A-Z]|){0,61}[a-z0-9A-Z])?$/.test(k) || !/^(([a-z0-9A-Z](?:[\-_.]|[a-z0-9A-Z]){0,61})?[a-z0-9A-Z]$|$)/.test(v), `label ${k}=${v}`)) },

    // --- DigitalOcean firewall ---
    { type: DO, field: "name", rule: "^[a-zA-Z0-9][a-zA-Z0-9.-]+$", source: "digitalocean/openapi specification/resources/firewalls/models/firewall.yml l.66 (name pattern)",
        check: (i) => bad(!/^[a-zA-Z0-9][a-zA-Z0-9.-]+$/.test(i.name ?? ""), `name ${JSON.stringify(i.name)}`) },
    { type: DO, field: "inboundRules[].protocol, outboundRules[].protocol", rule: "one of tcp, udp, icmp", source: `${TF_DO} digitalocean/firewall/firewalls.go firewallRuleSchema protocol StringInSlice`,
        check: (i) => each([...(i.inboundRules ?? []), ...(i.outboundRules ?? [])], (r: any) => oneOf(["tcp", "udp", "icmp"], r.protocol, "protocol")) },
    { type: DO, field: "…Rules[].portRange", rule: 'tcp/udp: "N" or "N-M", never "0" or "all" (the API answers "0", a perpetual diff); icmp: none', source: `${TF_DO} digitalocean/firewall/firewalls.go flattenFirewallInboundRules ("The API returns 0 when the port range was specified as all") and port_range NoZeroValues`,
        check: (i) => each([...(i.inboundRules ?? []), ...(i.outboundRules ?? [])], (r: any) =>
            r.protocol === "icmp" ? bad(r.portRange !== undefined, "portRange on icmp") : bad(typeof r.portRange !== "string" || !/^\d+(-\d+)?$/.test(r.portRange) || r.portRange === "0", `portRange ${JSON.stringify(r.portRange)}`)) },
    { type: DO, field: "…Rules[].sourceAddresses / destinationAddresses", rule: "non-empty strings, at most 1000 per rule, canonical CIDR", source: "docs.digitalocean.com/products/networking/firewalls/details/limits (1000 entries); firewalls.go addresses NoZeroValues",
        check: (i) => each([...(i.inboundRules ?? []).map((r: any) => r.sourceAddresses), ...(i.outboundRules ?? []).map((r: any) => r.destinationAddresses)], (a: any) =>
            bad(!Array.isArray(a) || a.length === 0 || a.length > 1000, "address list empty or over 1000") ?? each(a, canonicalCidrProblem)) },
    { type: DO, field: "inboundRules + outboundRules", rule: "at most 50 in total; rules are a set, so no two identical", source: `docs.digitalocean.com firewalls limits (50 rules); ${TF_DO} firewalls.go inbound_rule/outbound_rule schema.TypeSet`,
        check: (i) => {
            const all = [...(i.inboundRules ?? []).map((r: any) => ["in", r]), ...(i.outboundRules ?? []).map((r: any) => ["out", r])];
            return bad(all.length > 50, `${all.length} rules`) ?? bad(new Set(all.map((x) => JSON.stringify(x))).size !== all.length, "two identical rules");
        } },
    { type: DO, field: "dropletIds, tags", rule: "at most 10 Droplets; at most 5 tags matching ^[a-zA-Z0-9_\\-:]+$", source: "docs.digitalocean.com firewalls limits; digitalocean/openapi specification/resources/tags/models/tags.yml l.22-23",
        check: (i) => bad((i.dropletIds?.length ?? 0) > 10 || (i.tags?.length ?? 0) > 5 || (i.tags ?? []).some((t: string) => !/^[a-zA-Z0-9_\-:]{1,255}$/.test(t)), "droplets/tags over the limits or a bad tag") },

    // --- Cloudflare ---
    { type: DNS, field: "type", rule: "one of Cloudflare's record types (we send A and AAAA)", source: `${TF_CF} internal/services/dns_record/schema.go, type OneOfCaseInsensitive("A", "AAAA", "CAA", …)`,
        check: (i) => oneOf(["A", "AAAA"], i.type, "type") },
    { type: DNS, field: "ttl", rule: "1 (automatic) or 60-86400; proxied records keep only 1", source: `${TF_CF} internal/services/dns_record/schema.go, ttl description ("Setting to 1 means 'automatic'. Value must be between 60 and 86400")`,
        check: (i) => bad(!(i.ttl === 1 || (i.ttl >= 60 && i.ttl <= 86400)) || (i.proxied === true && i.ttl !== 1), `ttl ${i.ttl}`) },
    { type: DNS, field: "content", rule: "A: an IPv4 address; AAAA: an IPv6 address in RFC 5952 form (what Cloudflare returns)", source: `${TF_CF} internal/services/dns_record/schema.go, content ("A valid IPv4 address"); Cloudflare normalises AAAA content`,
        check: (i) => {
            if (typeof i.content !== "string") return undefined; // an unresolved Output
            const ok = i.type === "A" ? ipaddr.IPv4.isValidFourPartDecimal(i.content) : ipaddr.IPv6.isValid(i.content) && ipaddr.IPv6.parse(i.content).toRFC5952String() === i.content && !i.content.includes(".");
            return bad(!ok, `${i.type} content ${i.content} is not canonical`);
        } },
    { type: DNS, field: "zoneId", rule: "a zone identifier: 32 lower-case hex digits", source: `${TF_CF} internal/services/dns_record/schema.go zone_id ("Identifier", RequiresReplace); Cloudflare API identifier (maxLength 32)`,
        check: (i) => bad(typeof i.zoneId === "string" && !/^[0-9a-f]{32}$/.test(i.zoneId), `zoneId ${i.zoneId}`) },
    { type: ACCESS, field: "mode", rule: "one of block, challenge, whitelist, js_challenge, managed_challenge", source: `${TF_CF} internal/services/access_rule/schema.go, mode OneOfCaseInsensitive(...)`,
        check: (i) => oneOf(["block", "challenge", "whitelist", "js_challenge", "managed_challenge"], i.mode, "mode") },
    { type: ACCESS, field: "configuration.target", rule: 'one of ip, ip6, ip_range, asn, country ("ipRange" is a docstring\'s spelling, refused)', source: `${TF_CF} internal/services/access_rule/schema.go, configuration.target OneOfCaseInsensitive("ip", "ip6", "ip_range", "asn", "country")`,
        check: (i) => oneOf(["ip", "ip6", "ip_range", "asn", "country"], i.configuration?.target, "target") },
    { type: ACCESS, field: "configuration.value", rule: "ip_range: IPv4 /16 or /24, IPv6 /32, /48 or /64", source: `${TF_CF} internal/services/access_rule/cidr_validator.go (validIPv4Prefixes {16, 24}, validIPv6Prefixes {32, 48, 64})`,
        check: (i) => {
            if (i.configuration?.target !== "ip_range") return undefined;
            const [, len] = String(i.configuration.value).split("/");
            const v6 = String(i.configuration.value).includes(":");
            return bad(!(v6 ? ["32", "48", "64"] : ["16", "24"]).includes(len), `ip_range ${i.configuration.value}`);
        } },
    { type: ACCESS, field: "zoneId / accountId", rule: "exactly one", source: `${TF_CF} internal/services/access_rule/schema.go (account_id: "Mutually exclusive with the Zone ID")`,
        check: (i) => bad((i.zoneId === undefined) === (i.accountId === undefined), "needs exactly one of zoneId, accountId") },
    { type: ZONE_SETTING, field: "settingId, value", rule: 'settingId "ssl" with value off, flexible, full or strict', source: "cloudflare/cloudflare-python src/cloudflare/types/zones/setting_edit_params.py (ZonesSchemasSSL: id Literal['ssl'], value Literal['off', 'flexible', 'full', 'strict'])",
        check: (i) => bad(i.settingId !== "ssl", `settingId ${i.settingId}`) ?? oneOf(["off", "flexible", "full", "strict"], i.value, "ssl value") },
    { type: AOP_SETTINGS, field: "zoneId, enabled", rule: "both required; enabled a boolean", source: `${TF_CF} internal/services/authenticated_origin_pulls_settings/schema.go (zone_id, enabled required)`,
        check: (i) => bad(typeof i.enabled !== "boolean" || i.zoneId === undefined, "enabled and zoneId are required") },
    { type: AOP_CERT, field: "zoneId, certificate, privateKey", rule: "all three required", source: `${TF_CF} internal/services/authenticated_origin_pulls_certificate/schema.go (zone_id, certificate, private_key Required; private_key Sensitive)`,
        check: (i) => bad(i.zoneId === undefined || i.certificate === undefined || i.privateKey === undefined, "zoneId, certificate and privateKey are required") },

    // --- TLS (the generated origin-pull certificate) ---
    { type: TLS_KEY, field: "algorithm, ecdsaCurve", rule: "algorithm RSA, ECDSA or ED25519; curve P224, P256, P384 or P521", source: `${TF_TLS} internal/provider/types.go (SupportedAlgorithms, SupportedECDSACurves)`,
        check: (i) => oneOf(["RSA", "ECDSA", "ED25519"], i.algorithm, "algorithm") ?? (i.ecdsaCurve === undefined ? undefined : oneOf(["P224", "P256", "P384", "P521"], i.ecdsaCurve, "curve")) },
    ...[TLS_SELF, TLS_SIGNED].map((type): Fact => ({
        type, field: "allowedUses, validityPeriodHours", rule: "uses from the provider's key usages and extended key usages; a positive validity", source: `${TF_TLS} internal/provider/common_cert.go (keyUsages, extendedKeyUsages)`,
        check: (i) => {
            const known = ["digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement", "cert_signing", "crl_signing", "encipher_only", "decipher_only",
                "any_extended", "server_auth", "client_auth", "code_signing", "email_protection", "ipsec_end_system", "ipsec_tunnel", "ipsec_user", "timestamping", "ocsp_signing",
                "microsoft_server_gated_crypto", "netscape_server_gated_crypto", "microsoft_commercial_code_signing", "microsoft_kernel_code_signing"];
            return each(i.allowedUses, (u: string) => oneOf(known, u, "allowed use")) ?? bad(!(Number.isInteger(i.validityPeriodHours) && i.validityPeriodHours > 0), "validityPeriodHours");
        },
    })),
    { type: TLS_SELF, field: "subject", rule: "a CA certificate needs at least one distinguished name", source: `${TF_TLS} internal/provider/common_cert.go createCertificate ("Must contain at least one Distinguished Name when creating Certificate Authority")`,
        check: (i) => bad(i.isCaCertificate === true && !(i.subject && Object.values(i.subject).some((v) => v)), "CA without a subject") },
    { type: COMMAND, field: "connection", rule: "host required; dialErrorLimit and perDialTimeout positive integers", source: "pulumi/pulumi-command provider/pkg/provider/remote/connection.go (Connection: host required, dialErrorLimit default 10, perDialTimeout default 15)",
        check: (i) => {
            const c = i.connection?.value ?? i.connection;
            return bad(!c?.host, "no host") ?? bad(!(Number.isInteger(c.dialErrorLimit) && c.dialErrorLimit > 0 && Number.isInteger(c.perDialTimeout) && c.perDialTimeout > 0), "unbounded dials");
        } },
    { type: COMMAND, field: "logging", rule: "one of stdout, stderr, stdoutAndStderr, none", source: "pulumi/pulumi-command provider/pkg/provider/remote/logging.go (Logging: stdout, stderr, stdoutAndStderr, none)",
        check: (i) => (i.logging === undefined ? undefined : oneOf(["stdout", "stderr", "stdoutAndStderr", "none"], i.logging, "logging")) },
    { type: TLS_CSR, field: "privateKeyPem", rule: "required (or its write-only twin)", source: `${TF_TLS} internal/provider/resource_cert_request.go`,
        check: (i) => bad(i.privateKeyPem === undefined && i.privateKeyPemWo === undefined, "no private key") },
];

/** The violations of one registration (empty when it is fine). */
export function checkRegistration(type: string, inputs: Record<string, any>): string[] {
    return FACTS.filter((f) => f.type === type)
        .map((f) => {
            const problem = f.check(inputs);
            return problem && `${type} ${f.field}: ${problem} (${f.rule}; source: ${f.source})`;
        })
        .filter((m): m is string => Boolean(m));
}

/** Resource types this package registers; each must have facts. */
export const REGISTERED_TYPES = [HCLOUD, DO, DNS, ACCESS, ZONE_SETTING, AOP_SETTINGS, AOP_CERT, TLS_KEY, TLS_SELF, TLS_CSR, TLS_SIGNED, COMMAND];
