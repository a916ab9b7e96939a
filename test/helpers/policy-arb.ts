import * as fc from "fast-check";
import * as ipaddr from "ipaddr.js";
import { canonicalCidr, OriginPolicyArgs } from "../../components";
import { ipv4TransitionProblem, toCidr } from "../../components/cidr";
import { CF_SOURCES } from "./fixtures";

// Random valid policies: every rule fits Hetzner, sources are canonical and
// sorted, and the admitted (protocol, port, source) triples are the policy's.
// Blocks are /16 or narrower and lists at most 250 long, so no source set is broad
// (broad sets are covered by the exposure properties).
const v4Block = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.nat(255), fc.integer({ min: 16, max: 32 })).map(([a, b, c, d, prefix]) => {
    const n = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
    const masked = prefix === 0 ? 0 : (n & (~0 << (32 - prefix))) >>> 0;
    return `${masked >>> 24}.${(masked >>> 16) & 255}.${(masked >>> 8) & 255}.${masked & 255}/${prefix}`;
});
// IPv6 forms that embed IPv4 (::/96, ::ffff:0:0/96) are refused by design.
const embedsV4 = (a: string) => {
    const b = ipaddr.IPv6.parse(a).toByteArray();
    return b.slice(0, 10).every((x) => x === 0) && ((b[10] === 0 && b[11] === 0) || (b[10] === 0xff && b[11] === 0xff));
};
// So are 6to4, Teredo and NAT64 (ipv4TransitionProblem).
const v6Host = fc.ipV6().filter((a) => !a.includes(".") && !embedsV4(a) && !ipv4TransitionProblem(toCidr(a)));
const source = fc.oneof(v4Block, v6Host);
const portSpec = fc.oneof(
    fc.integer({ min: 1, max: 65535 }),
    fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 500 })).map(([p, w]) => `${p}-${Math.min(65535, p + w)}`),
);
const shortDescription = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim() === s && s !== "");

// What breaks a description as text (control, format and separator characters, lone
// surrogates); issue 19's validator refuses them. nft takes 128 bytes of comment.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;
function cutToBytes(text: string, max: number): string {
    let out = "";
    for (const ch of text) {
        if (Buffer.byteLength(out + ch) > max) break;
        out += ch;
    }
    return out;
}

/**
 * Descriptions as users may write them: up to 200 characters of any Unicode, made
 * printable and cut to 128 bytes (what the validator of issue 19 accepts), and the
 * texts the policy's own rules carry, which the host renderer once read meaning from.
 */
export const descriptionArb: fc.Arbitrary<string> = fc.oneof(
    { arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 200 }).map((s) => cutToBytes(s.replace(UNPRINTABLE, ""), 128).trim() || "x"), weight: 3 },
    { arbitrary: fc.constantFrom("HTTPS (443) from Cloudflare only", "TCP 8443 from Cloudflare only", "ICMP (ping) from anywhere", "SSH (22) from trusted sources"), weight: 1 },
);

/** Random valid policies (see above) whose extra rules carry descriptions from `description`. */
export function policyArbWith(description: fc.Arbitrary<string>): fc.Arbitrary<OriginPolicyArgs> {
    return fc
        .record({
            sshSources: fc.array(source, { minLength: 1, maxLength: 250 }),
            sshPort: fc.integer({ min: 1, max: 1024 }),
            cfPorts: fc.uniqueArray(fc.integer({ min: 1025, max: 65535 }), { minLength: 1, maxLength: 3 }),
            rules: fc.array(
                fc.record({
                    description,
                    protocol: fc.constantFrom<"tcp" | "udp" | "icmp">("tcp", "udp", "icmp"),
                    port: portSpec,
                    sources: fc.array(source, { minLength: 1, maxLength: 120 }),
                }),
                { maxLength: 5 },
            ),
            allowPing: fc.boolean(),
        })
        .map((r) => ({
            ssh: { sources: r.sshSources, port: r.sshPort },
            cloudflare: { ports: r.cfPorts },
            rules: r.rules.map((x) => (x.protocol === "icmp" ? { description: x.description, protocol: x.protocol, sources: x.sources } : x)),
            allowPing: r.allowPing,
        }));
}

export const policyArb: fc.Arbitrary<OriginPolicyArgs> = policyArbWith(shortDescription);

/** The triples a policy admits, computed straight from its arguments. */
export function expectedTriples(args: OriginPolicyArgs): Set<string> {
    const out = new Set<string>();
    const add = (proto: string, port: string, sources: string[]) => sources.forEach((s) => out.add(`${proto} ${port} ${canonicalCidr(s)}`));
    add("tcp", String(args.ssh.port ?? 22), args.ssh.sources);
    for (const p of args.cloudflare?.ports ?? [443]) add("tcp", String(p), CF_SOURCES);
    for (const r of args.rules ?? []) {
        const port = r.port === undefined ? "-" : String(r.port).replace(/^(\d+)-\1$/, "$1");
        add(r.protocol ?? "tcp", port, r.sources);
    }
    if (args.allowPing) add("icmp", "-", ["0.0.0.0/0", "::/0"]);
    return out;
}
