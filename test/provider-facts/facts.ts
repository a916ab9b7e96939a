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
const DO_TAG = "digitalocean:index/tag:Tag";

// Release tags: the newest release of each provider when read (the Terraform providers
// behind @pulumi/hcloud 1.x, @pulumi/digitalocean 4.x, @pulumi/cloudflare 6.x, @pulumi/tls 5.x).
const TF_HCLOUD = "hetznercloud/terraform-provider-hcloud@v1.68.0";
const TF_CF = "cloudflare/terraform-provider-cloudflare@v5.22.0";
const TF_DO = "digitalocean/terraform-provider-digitalocean@v2.99.1";
const TF_TLS = "hashicorp/terraform-provider-tls@v4.2.1";
const HCLOUD_GO = "hetznercloud/hcloud-go@v2.47.0";
// API specifications have no release tags: backed by the spec text at a commit.
// Hetzner's official cloud.spec.json as vendored (see test/provider-schemas/README.md).
const HETZNER_SPEC = "Hetzner cloud.spec.json (API documentation, no release tags; vendored in devrim-1283/hetzner-mcp@7e80587c scripts/hetzner-cloud.openapi.json)";
const DO_OPENAPI = "digitalocean/openapi@7c1300c4 (API specification, no release tags)";

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

const LABEL_KEY_RE = /^([a-z0-9A-Z]((?:[\-_.]|[a-z0-9A-Z]){0,253}[a-z0-9A-Z])?\/)?[a-z0-9A-Z]((?:[\-_.]|[a-z0-9A-Z]|){0,61}[a-z0-9A-Z])?$/;
const LABEL_VALUE_RE = /^(([a-z0-9A-Z](?:[\-_.]|[a-z0-9A-Z]){0,61})?[a-z0-9A-Z]$|$)/;

/** Hetzner's selector grammar, written independently of the component's parser (a second reading of the same table). */
function labelSelectorProblem(selector: string): string | undefined {
    // Split on commas outside parentheses.
    const parts: string[] = [];
    let depth = 0,
        cur = "";
    for (const ch of selector) {
        if (ch === "(") depth++;
        if (ch === ")") depth--;
        if (ch === "," && depth === 0) {
            parts.push(cur);
            cur = "";
        } else cur += ch;
    }
    parts.push(cur);
    for (const raw of parts) {
        const p = raw.trim();
        let m: RegExpExecArray | null;
        if ((m = /^(\S+?)\s*(==|!=|=)\s*(\S*)$/.exec(p))) {
            if (!LABEL_KEY_RE.test(m[1]) || !LABEL_VALUE_RE.test(m[3])) return `label selector ${JSON.stringify(selector)}: ${JSON.stringify(p)}`;
        } else if ((m = /^(\S+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(p))) {
            if (!LABEL_KEY_RE.test(m[1]) || !m[3].split(",").every((v) => LABEL_VALUE_RE.test(v.trim()) && v.trim() !== "")) return `label selector ${JSON.stringify(selector)}: ${JSON.stringify(p)}`;
        } else if ((m = /^!?\s*(\S+)$/.exec(p))) {
            if (!LABEL_KEY_RE.test(m[1])) return `label selector ${JSON.stringify(selector)}: ${JSON.stringify(p)}`;
        } else return `label selector ${JSON.stringify(selector)}: ${JSON.stringify(p)}`;
    }
    return undefined;
}

// Tags registered so far in this process (DigitalOcean tags ignore case). A firewall
// may name only these: its registration waits for its dependencies' registrations.
const registeredTags = new Set<string>();

/** Each fact, grouped by resource type. */
export const FACTS: Fact[] = [
    // --- Hetzner Cloud firewall ---
    {
        type: HCLOUD,
        field: "name",
        rule: "1 to 128 characters",
        source: `${HETZNER_SPEC}: POST /firewalls requestBody name (minLength 1, maxLength 128)`,
        check: (i) => bad(typeof i.name !== "string" || i.name.length < 1 || i.name.length > 128, `name ${JSON.stringify(i.name)} is not 1-128 characters`),
    },
    {
        type: HCLOUD,
        field: "rules[].direction",
        rule: 'one of "in", "out"',
        source: `${TF_HCLOUD} internal/firewall/resource.go l.79-91 (rule.direction ValidateDiagFunc: FirewallRuleDirectionIn/Out)`,
        check: (i) => each(i.rules, (r: any) => oneOf(["in", "out"], r.direction, "direction")),
    },
    {
        type: HCLOUD,
        field: "rules[].protocol",
        rule: "one of tcp, udp, icmp, esp, gre",
        source: `${TF_HCLOUD} internal/firewall/resource.go l.93-108 (rule.protocol ValidateDiagFunc: tcp, udp, icmp, esp, gre)`,
        check: (i) => each(i.rules, (r: any) => oneOf(["tcp", "udp", "icmp", "esp", "gre"], r.protocol, "protocol")),
    },
    {
        type: HCLOUD,
        field: "rules[].port",
        rule: 'required for tcp/udp as "N" or "N-M" (1-65535); absent for other protocols',
        source: `${HETZNER_SPEC}: FirewallRule.port ("Only applicable for protocols tcp and udp"); hetznercloud/cli@v1.67.0 internal/cmd/firewall/add_rule.go l.114, l.118 ("port is required", "port is not allowed for this protocol")`,
        check: (i) =>
            each(i.rules, (r: any) => {
                if (r.protocol !== "tcp" && r.protocol !== "udp") return bad(r.port !== undefined, `port ${r.port} on ${r.protocol}`);
                const m = typeof r.port === "string" ? /^(\d+)(?:-(\d+))?$/.exec(r.port) : null;
                if (!m) return `port ${JSON.stringify(r.port)} is not "N" or "N-M"`;
                const [lo, hi] = [Number(m[1]), Number(m[2] ?? m[1])];
                return bad(lo < 1 || hi > 65535 || lo > hi, `port ${r.port} out of range`);
            }),
    },
    {
        type: HCLOUD,
        field: "rules[].sourceIps",
        rule: "non-empty for direction in; each a network in CIDR notation (host bits clear), canonical as the API returns it",
        source: `${TF_HCLOUD} internal/firewall/validation.go l.18-30 (validateIPDiag: CIDR, network address) and resource.go l.217, l.241 (net.ParseCIDR / IPNet.String on read)`,
        check: (i) => each(i.rules, (r: any) => (r.direction === "in" && !(r.sourceIps?.length > 0) ? "an inbound rule without sourceIps" : each(r.sourceIps, canonicalCidrProblem))),
    },
    {
        type: HCLOUD,
        field: "rules[].sourceIps",
        rule: "at most 100 per rule",
        source: `${HETZNER_SPEC}: FirewallRule.source_ips description ("You can specify 100 CIDR blocks at most")`,
        check: (i) => each(i.rules, (r: any) => bad((r.sourceIps?.length ?? 0) > 100, `${r.sourceIps.length} sourceIps in one rule`)),
    },
    {
        type: HCLOUD,
        field: "rules",
        rule: "at most 50 rules and 500 effective rules",
        source: `${HETZNER_SPEC}: POST /firewalls/{id}/actions/set_rules rules maxItems 50, description "limited to 50 entries per Firewall and 500 effective rules"`,
        check: (i) => bad((i.rules?.length ?? 0) > 50 || (i.rules ?? []).reduce((n: number, r: any) => n + (r.sourceIps?.length ?? 0), 0) > 500, "more than 50 rules or 500 effective rules"),
    },
    {
        type: HCLOUD,
        field: "rules[].description",
        rule: "at most 255 characters",
        source: `${HETZNER_SPEC}: FirewallRule.description maxLength 255`,
        check: (i) => each(i.rules, (r: any) => bad(r.description !== undefined && String(r.description).length > 255, "description over 255 characters")),
    },
    {
        type: HCLOUD,
        field: "applyTos[]",
        rule: "each block exactly one of server or labelSelector; never both kinds in one firewall",
        source: `${TF_HCLOUD} internal/firewall/resource.go l.403-410 (toHcloudFirewallResource: a block with label_selector silently drops its server; a block with neither fails "unknown apply to resource"). Never both kinds: no provider code refuses it on a release (the validator quoted before is in an unmerged commit only); backed by the API: ${HCLOUD_GO} hcloud/error.go l.87 firewall_managed_by_label_selector ("applied via a Label Selector and cannot be removed manually") and ${HETZNER_SPEC} POST /firewalls/{id}/actions/remove_from_resources errors`,
        check: (i) => {
            const blocks: any[] = i.applyTos ?? [];
            const one = each(blocks, (a) => bad((a.server === undefined) === (a.labelSelector === undefined), "an applyTos block needs exactly one of server, labelSelector"));
            return one ?? bad(blocks.some((a) => a.server !== undefined) && blocks.some((a) => a.labelSelector !== undefined), "servers attached both by id and by label selector");
        },
    },
    {
        type: HCLOUD,
        field: "labels",
        rule: "keys and values match Hetzner's label patterns",
        source: `${HCLOUD_GO} hcloud/labels.go l.8-10 (keyRegexp, valueRegexp)`,
        check: (i) =>
            each(Object.entries(i.labels ?? {}), ([k, v]: [string, any]) =>
                bad(!/^([a-z0-9A-Z]((?:[\-_.]|[a-z0-9A-Z]){0,253}[a-z0-9A-Z])?\/)?[a-z0-9A-Z]((?:[\-_.]|[a-z0-9A-Z]|){0,61}[a-z0-9A-Z])?$/.test(k) || !/^(([a-z0-9A-Z](?:[\-_.]|[a-z0-9A-Z]){0,61})?[a-z0-9A-Z]$|$)/.test(v), `label ${k}=${v}`),
            ),
    },

    {
        type: HCLOUD,
        field: "applyTos[].labelSelector",
        rule: "Hetzner's label selector language: comma-joined k=v, k==v, k!=v, k, !k, k in (v1,v2), k notin (v1,v2), with label-pattern keys and values",
        source: `backed by the API documentation, not provider code (${TF_HCLOUD} internal/firewall/resource.go l.61-65 takes any string): ${HETZNER_SPEC} info.description "## Label Selector" (expression table)`,
        check: (i) => each(i.applyTos, (a: any) => (typeof a.labelSelector === "string" ? labelSelectorProblem(a.labelSelector) : undefined)),
    },

    // --- DigitalOcean firewall ---
    {
        type: DO,
        field: "name",
        rule: "^[a-zA-Z0-9][a-zA-Z0-9.-]+$",
        source: `${DO_OPENAPI} specification/resources/firewalls/models/firewall.yml l.66 (name pattern)`,
        check: (i) => bad(!/^[a-zA-Z0-9][a-zA-Z0-9.-]+$/.test(i.name ?? ""), `name ${JSON.stringify(i.name)}`),
    },
    {
        type: DO,
        field: "inboundRules[].protocol, outboundRules[].protocol",
        rule: "one of tcp, udp, icmp",
        source: `${TF_DO} digitalocean/firewall/firewalls.go l.78-86 (firewallRuleSchema protocol StringInSlice)`,
        check: (i) => each([...(i.inboundRules ?? []), ...(i.outboundRules ?? [])], (r: any) => oneOf(["tcp", "udp", "icmp"], r.protocol, "protocol")),
    },
    {
        type: DO,
        field: "…Rules[].portRange",
        rule: 'tcp/udp: "N", "N-M" or "all", never "0" (read back as "all": a perpetual diff); icmp: none',
        source: `${TF_DO} digitalocean/firewall/firewalls.go l.87-91 (port_range NoZeroValues) and l.250-256 (flattenFirewallInboundRules: "The API returns 0 when the port range was specified as all", read back as "all"; icmp without a port)`,
        check: (i) =>
            each([...(i.inboundRules ?? []), ...(i.outboundRules ?? [])], (r: any) =>
                r.protocol === "icmp" ? bad(r.portRange !== undefined, "portRange on icmp") : bad(typeof r.portRange !== "string" || !/^(\d+(-\d+)?|all)$/.test(r.portRange) || /^0+$/.test(r.portRange), `portRange ${JSON.stringify(r.portRange)}`),
            ),
    },
    {
        type: DO,
        field: "…Rules[].sourceAddresses / destinationAddresses",
        rule: "non-empty strings, at most 1000 per rule, canonical CIDR",
        source: `docs.digitalocean.com/products/networking/firewalls/details/limits (1000 entries; documentation, no code); ${TF_DO} digitalocean/firewall/firewalls.go l.92-99 (addresses NoZeroValues)`,
        check: (i) =>
            each(
                [...(i.inboundRules ?? []).map((r: any) => r.sourceAddresses), ...(i.outboundRules ?? []).map((r: any) => r.destinationAddresses)],
                (a: any) => bad(!Array.isArray(a) || a.length === 0 || a.length > 1000, "address list empty or over 1000") ?? each(a, canonicalCidrProblem),
            ),
    },
    {
        type: DO,
        field: "inboundRules + outboundRules",
        rule: "at most 50 in total; rules are a set, so no two identical",
        source: `docs.digitalocean.com firewalls limits (50 rules; documentation, no code); ${TF_DO} digitalocean/firewall/firewalls.go l.24-34 (inbound_rule/outbound_rule schema.TypeSet; #52, order diffs, is still open)`,
        check: (i) => {
            const all = [...(i.inboundRules ?? []).map((r: any) => ["in", r]), ...(i.outboundRules ?? []).map((r: any) => ["out", r])];
            return bad(all.length > 50, `${all.length} rules`) ?? bad(new Set(all.map((x) => JSON.stringify(x))).size !== all.length, "two identical rules");
        },
    },
    {
        type: DO,
        field: "dropletIds, tags",
        rule: "at most 10 Droplets; at most 5 tags matching ^[a-zA-Z0-9_\\-:]+$",
        source: `docs.digitalocean.com firewalls limits (10 Droplets, 5 tags; documentation, no code); ${TF_DO} digitalocean/tag/tags.go l.14, l.36-42 (tagNameRe, ValidateTag) and l.24 (tags compared ignoring case)`,
        check: (i) => bad((i.dropletIds?.length ?? 0) > 10 || (i.tags?.length ?? 0) > 5 || (i.tags ?? []).some((t: string) => !/^[a-zA-Z0-9_\-:]{1,255}$/.test(t)), "droplets/tags over the limits or a bad tag"),
    },

    {
        type: DO_TAG,
        field: "name",
        rule: '1 to 255 of letters, digits, ":", "-" and "_"',
        source: `${TF_DO} digitalocean/tag/resource_tag.go l.23-28 (name Required, ForceNew, ValidateTag) and digitalocean/tag/tags.go l.14, l.36-42 (tagNameRe)`,
        check: (i) => bad(typeof i.name !== "string" || !/^[a-zA-Z0-9:\-_]{1,255}$/.test(i.name), `tag name ${JSON.stringify(i.name)}`),
    },
    {
        type: DO,
        field: "tags",
        rule: "each tag must already exist: registered as a digitalocean.Tag before the firewall (the engine registers a dependency first)",
        source: `backed by the API specification, not provider code: ${DO_OPENAPI} specification/shared/attributes/existing_tags_array.yml l.5-7 ("Tag names must exist in order to be referenced in a request")`,
        check: (i) => each(i.tags, (t: string) => bad(!registeredTags.has(String(t).toLowerCase()), `tag ${JSON.stringify(t)} was not registered as a digitalocean.Tag before the firewall`)),
    },

    // --- Cloudflare ---
    {
        type: DNS,
        field: "type",
        rule: "one of Cloudflare's record types (we send A and AAAA)",
        source: `${TF_CF} internal/services/dns_record/schema.go l.70-74 (type OneOfCaseInsensitive("A", "AAAA", "CAA", …))`,
        check: (i) => oneOf(["A", "AAAA"], i.type, "type"),
    },
    {
        type: DNS,
        field: "ttl",
        rule: "1 (automatic) or 60-86400; proxied records keep only 1",
        source: `${TF_CF} internal/services/dns_record/schema.go l.345-346 (ttl: "Setting to 1 means 'automatic'. Value must be between 60 and 86400")`,
        check: (i) => bad(!(i.ttl === 1 || (i.ttl >= 60 && i.ttl <= 86400)) || (i.proxied === true && i.ttl !== 1), `ttl ${i.ttl}`),
    },
    {
        type: DNS,
        field: "content",
        rule: "A: an IPv4 address; AAAA: an IPv6 address in RFC 5952 form (what Cloudflare returns)",
        source: `${TF_CF} internal/services/dns_record/schema.go l.53-54 (content: "A valid IPv4 address"); the AAAA form is backed by what Cloudflare returns (RFC 5952), not by provider code`,
        check: (i) => {
            if (typeof i.content !== "string") return undefined; // an unresolved Output
            const ok = i.type === "A" ? ipaddr.IPv4.isValidFourPartDecimal(i.content) : ipaddr.IPv6.isValid(i.content) && ipaddr.IPv6.parse(i.content).toRFC5952String() === i.content && !i.content.includes(".");
            return bad(!ok, `${i.type} content ${i.content} is not canonical`);
        },
    },
    {
        type: DNS,
        field: "zoneId",
        rule: "a zone identifier: 32 lower-case hex digits",
        source: `${TF_CF} internal/services/dns_record/schema.go l.44 (zone_id, RequiresReplace); the 32-hex form is backed by Cloudflare's API identifiers (maxLength 32), not by provider code`,
        check: (i) => bad(typeof i.zoneId === "string" && !/^[0-9a-f]{32}$/.test(i.zoneId), `zoneId ${i.zoneId}`),
    },
    {
        type: ACCESS,
        field: "mode",
        rule: "one of block, challenge, whitelist, js_challenge, managed_challenge",
        source: `${TF_CF} internal/services/access_rule/schema.go l.49-60 (mode OneOfCaseInsensitive(...))`,
        check: (i) => oneOf(["block", "challenge", "whitelist", "js_challenge", "managed_challenge"], i.mode, "mode"),
    },
    {
        type: ACCESS,
        field: "configuration.target",
        rule: 'one of ip, ip6, ip_range, asn, country ("ipRange" is a docstring\'s spelling, refused)',
        source: `${TF_CF} internal/services/access_rule/schema.go l.66-77 (configuration.target OneOfCaseInsensitive("ip", "ip6", "ip_range", "asn", "country"))`,
        check: (i) => oneOf(["ip", "ip6", "ip_range", "asn", "country"], i.configuration?.target, "target"),
    },
    {
        type: ACCESS,
        field: "configuration.value",
        rule: "ip_range: IPv4 /16 or /24, IPv6 /32, /48 or /64",
        source: `${TF_CF} internal/services/access_rule/cidr_validator.go l.14-17, l.37-60 (validIPv4Prefixes {16, 24}, validIPv6Prefixes {32, 48, 64}); schema.go l.79-84 (value Validators)`,
        check: (i) => {
            if (i.configuration?.target !== "ip_range") return undefined;
            const [, len] = String(i.configuration.value).split("/");
            const v6 = String(i.configuration.value).includes(":");
            return bad(!(v6 ? ["32", "48", "64"] : ["16", "24"]).includes(len), `ip_range ${i.configuration.value}`);
        },
    },
    {
        type: ACCESS,
        field: "configuration.value (ip6)",
        rule: "an IPv6 address in the full long form, eight groups of four lower-case hex digits (2001:0db8:0000:0000:0000:0000:0000:0001)",
        source: `${TF_CF} internal/services/access_rule/ipv6_validator.go l.25-59 (accessRuleIPv6Validator: net.ParseIP, then value must equal ipv6ToLong, "%02x%02x:…"; "IPv6 address must be in long form"), wired in schema.go l.79-84; first released in v5.15.0`,
        check: (i) => {
            const v = i.configuration?.value;
            if (typeof v !== "string" || v.includes("/") || !v.includes(":")) return undefined; // the validator only judges single IPv6 addresses
            return bad(!/^[0-9a-f]{4}(:[0-9a-f]{4}){7}$/.test(v), `IPv6 value ${v} is not in the long form`);
        },
    },
    {
        type: ACCESS,
        field: "configuration.value (IPv6 ip_range)",
        rule: "an IPv6 block in the long form too, the form Cloudflare returns (no perpetual diff)",
        source: `backed by Cloudflare's API, not by provider code on a release: it returns IPv6 values expanded to the long form, as cloudflare/terraform-provider-cloudflare commit 2d6c0df ("fix(access_rule): suppress diff for canonical IPv6 values", on no release tag as of v5.22.0) internal/services/access_rule/ipv6_plan_modifier.go l.13-15 describes; ${TF_CF} internal/services/access_rule/resource_test.go l.287-303 shows the long form read back for ip6`,
        check: (i) => {
            const v = i.configuration?.value;
            if (i.configuration?.target !== "ip_range" || typeof v !== "string" || !v.includes(":")) return undefined;
            return bad(!/^[0-9a-f]{4}(:[0-9a-f]{4}){7}\/\d+$/.test(v), `IPv6 ip_range ${v} is not in the long form`);
        },
    },
    {
        type: ACCESS,
        field: "zoneId / accountId",
        rule: "exactly one",
        source: `${TF_CF} internal/services/access_rule/schema.go l.39-45 (account_id / zone_id: "Mutually exclusive")`,
        check: (i) => bad((i.zoneId === undefined) === (i.accountId === undefined), "needs exactly one of zoneId, accountId"),
    },
    {
        type: ZONE_SETTING,
        field: "settingId, value",
        rule: 'settingId "ssl" with value off, flexible, full or strict',
        source: "cloudflare/cloudflare-python@v4.3.1 src/cloudflare/types/zones/setting_edit_response.py l.562-566 (ZonesSchemasSSL: id Literal['ssl'], value Literal['off', 'flexible', 'full', 'strict'])",
        check: (i) => bad(i.settingId !== "ssl", `settingId ${i.settingId}`) ?? oneOf(["off", "flexible", "full", "strict"], i.value, "ssl value"),
    },
    {
        type: AOP_SETTINGS,
        field: "zoneId, enabled",
        rule: "both required; enabled a boolean",
        source: `${TF_CF} internal/services/authenticated_origin_pulls_settings/schema.go l.32-39 (zone_id, enabled Required)`,
        check: (i) => bad(typeof i.enabled !== "boolean" || i.zoneId === undefined, "enabled and zoneId are required"),
    },
    {
        type: AOP_CERT,
        field: "zoneId, certificate, privateKey",
        rule: "all three required",
        source: `${TF_CF} internal/services/authenticated_origin_pulls_certificate/schema.go l.24-42 (zone_id, certificate, private_key Required; private_key Sensitive)`,
        check: (i) => bad(i.zoneId === undefined || i.certificate === undefined || i.privateKey === undefined, "zoneId, certificate and privateKey are required"),
    },

    // --- TLS (the generated origin-pull certificate) ---
    {
        type: TLS_KEY,
        field: "algorithm, ecdsaCurve",
        rule: "algorithm RSA, ECDSA or ED25519; curve P224, P256, P384 or P521",
        source: `${TF_TLS} internal/provider/types.go l.15-17, l.47-50 (SupportedAlgorithms, SupportedECDSACurves)`,
        check: (i) => oneOf(["RSA", "ECDSA", "ED25519"], i.algorithm, "algorithm") ?? (i.ecdsaCurve === undefined ? undefined : oneOf(["P224", "P256", "P384", "P521"], i.ecdsaCurve, "curve")),
    },
    ...[TLS_SELF, TLS_SIGNED].map((type): Fact => ({
        type,
        field: "allowedUses, validityPeriodHours",
        rule: "uses from the provider's key usages and extended key usages; a positive validity",
        source: `${TF_TLS} internal/provider/common_cert.go l.33, l.45 (keyUsages, extendedKeyUsages)`,
        check: (i) => {
            const known = [
                "digital_signature",
                "content_commitment",
                "key_encipherment",
                "data_encipherment",
                "key_agreement",
                "cert_signing",
                "crl_signing",
                "encipher_only",
                "decipher_only",
                "any_extended",
                "server_auth",
                "client_auth",
                "code_signing",
                "email_protection",
                "ipsec_end_system",
                "ipsec_tunnel",
                "ipsec_user",
                "timestamping",
                "ocsp_signing",
                "microsoft_server_gated_crypto",
                "netscape_server_gated_crypto",
                "microsoft_commercial_code_signing",
                "microsoft_kernel_code_signing",
            ];
            return each(i.allowedUses, (u: string) => oneOf(known, u, "allowed use")) ?? bad(!(Number.isInteger(i.validityPeriodHours) && i.validityPeriodHours > 0), "validityPeriodHours");
        },
    })),
    {
        type: TLS_SELF,
        field: "subject",
        rule: "a CA certificate needs at least one distinguished name",
        source: `${TF_TLS} internal/provider/common_cert.go l.168 ("Must contain at least one Distinguished Name when creating Certificate Authority")`,
        check: (i) => bad(i.isCaCertificate === true && !(i.subject && Object.values(i.subject).some((v) => v)), "CA without a subject"),
    },
    {
        type: COMMAND,
        field: "connection",
        rule: "host required; dialErrorLimit and perDialTimeout positive integers",
        source: "pulumi/pulumi-command@v1.2.1 provider/pkg/provider/remote/connection.go l.44-50, l.69-75 (Connection: host required, dialErrorLimit default 10, perDialTimeout default 15)",
        check: (i) => {
            const c = i.connection?.value ?? i.connection;
            return bad(!c?.host, "no host") ?? bad(!(Number.isInteger(c.dialErrorLimit) && c.dialErrorLimit > 0 && Number.isInteger(c.perDialTimeout) && c.perDialTimeout > 0), "unbounded dials");
        },
    },
    {
        type: COMMAND,
        field: "logging",
        rule: "one of stdout, stderr, stdoutAndStderr, none",
        source: "pulumi/pulumi-command@v1.2.1 provider/pkg/provider/remote/logging.go l.12-15 (Logging: stdout, stderr, stdoutAndStderr, none)",
        check: (i) => (i.logging === undefined ? undefined : oneOf(["stdout", "stderr", "stdoutAndStderr", "none"], i.logging, "logging")),
    },
    {
        type: TLS_CSR,
        field: "privateKeyPem",
        rule: "required (or its write-only twin)",
        source: `${TF_TLS} internal/provider/resource_cert_request.go l.43 (private_key_pem)`,
        check: (i) => bad(i.privateKeyPem === undefined && i.privateKeyPemWo === undefined, "no private key"),
    },
];

/** The violations of one registration (empty when it is fine). */
export function checkRegistration(type: string, inputs: Record<string, any>): string[] {
    if (type === DO_TAG && typeof inputs.name === "string") registeredTags.add(inputs.name.toLowerCase());
    return FACTS.filter((f) => f.type === type)
        .map((f) => {
            const problem = f.check(inputs);
            return problem && `${type} ${f.field}: ${problem} (${f.rule}; source: ${f.source})`;
        })
        .filter((m): m is string => Boolean(m));
}

/** Resource types this package registers; each must have facts. */
export const REGISTERED_TYPES = [HCLOUD, DO, DO_TAG, DNS, ACCESS, ZONE_SETTING, AOP_SETTINGS, AOP_CERT, TLS_KEY, TLS_SELF, TLS_CSR, TLS_SIGNED, COMMAND];
