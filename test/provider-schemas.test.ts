// Renders firewalls, translates the Pulumi inputs into the providers' API request
// bodies (camelCase -> snake_case, as the providers send them) and validates them
// against the providers' own request schemas.
import Ajv2020 from "ajv/dist/2020";
import * as fs from "fs";
import * as path from "path";
import * as fc from "fast-check";
import { CF_SOURCES, hosts, SAMPLE_RANGES } from "./helpers/fixtures";
import { policyArb } from "./helpers/policy-arb";
import { renderPolicy, validatePolicy, OriginPolicyArgs } from "../components";
import { toDigitalOceanRules, validateEgress, DigitalOceanInboundRule, DigitalOceanOutboundRule } from "../components/digitalocean-rules";
import { toHetznerApplyTos, toHetznerRules, HetznerRule } from "../components/hetzner-rules";

const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false }); // formats are annotations here;
const schema = (file: string) => ajv.compile(JSON.parse(fs.readFileSync(path.join(__dirname, "provider-schemas", file), "utf8")));
const hcloudCreate = schema("hcloud-firewall.schema.json");
const hcloudSetRules = schema("hcloud-firewall-set-rules.schema.json");
const doCreate = schema("do-firewall.schema.json");
const doUpdate = schema("do-firewall-update.schema.json");

function hetznerBody(name: string, rules: HetznerRule[], applyTos: { labelSelector?: unknown; server?: unknown }[], labels?: Record<string, string>) {
    return {
        name,
        ...(labels ? { labels } : {}),
        rules: rules.map((r) => ({
            direction: r.direction,
            protocol: r.protocol,
            ...(r.port === undefined ? {} : { port: r.port }),
            source_ips: r.sourceIps,
            destination_ips: [],
            description: r.description,
        })),
        apply_to: applyTos.map((a) => (a.labelSelector !== undefined ? { type: "label_selector", label_selector: { selector: a.labelSelector } } : { type: "server", server: { id: a.server } })),
    };
}

function digitalOceanBody(name: string, inbound: DigitalOceanInboundRule[], outbound: DigitalOceanOutboundRule[], tags?: string[], dropletIds?: number[]) {
    return {
        name,
        ...(tags ? { tags } : {}),
        ...(dropletIds ? { droplet_ids: dropletIds } : {}),
        inbound_rules: inbound.map((r) => ({ protocol: r.protocol, ...(r.portRange ? { ports: r.portRange } : {}), sources: { addresses: r.sourceAddresses } })),
        outbound_rules: outbound.map((r) => ({ protocol: r.protocol, ...(r.portRange ? { ports: r.portRange } : {}), destinations: { addresses: r.destinationAddresses } })),
    };
}

/**
 * Schema errors, less the one documented disagreement: DigitalOcean's spec requires
 * `ports` on ICMP rules, which its own Terraform provider and Go SDK omit.
 */
function errorsOf(validate: ReturnType<typeof ajv.compile>, body: unknown): string[] {
    validate(body);
    return (validate.errors ?? [])
        .filter((e) => !(e.keyword === "required" && e.params.missingProperty === "ports" && /_rules\/\d+$/.test(e.instancePath) && /icmp/.test(JSON.stringify(at(body, e.instancePath)))))
        .map((e) => `${e.instancePath} ${e.message}`);
}
function at(body: any, pointer: string): unknown {
    return pointer
        .split("/")
        .slice(1)
        .reduce((o, k) => o?.[k], body);
}

const dashboard: OriginPolicyArgs = {
    ssh: { sources: ["203.0.113.10", "198.51.100.20"] },
    rules: [{ description: "Trading dashboard", port: 9000, sources: ["203.0.113.10", "198.51.100.20"] }],
    allowPing: true,
};

describe("Hetzner request schema", () => {
    test("the dashboard firewall is a valid create and set_rules body", () => {
        const rules = toHetznerRules(renderPolicy(validatePolicy(dashboard), SAMPLE_RANGES));
        const body = hetznerBody("dashboard", rules, toHetznerApplyTos({ labelSelectors: ["app=dashboard"] }), { app: "dashboard" });
        expect(errorsOf(hcloudCreate, body)).toEqual([]);
        expect(errorsOf(hcloudSetRules, { rules: body.rules })).toEqual([]);
        expect(body.rules[1].source_ips).toEqual(CF_SOURCES);
    });

    test("the schema really checks: an unsplit 150-source rule and a port on icmp are refused", () => {
        const rules: HetznerRule[] = [
            { direction: "in", protocol: "tcp", port: "22", sourceIps: hosts(150), description: "too many" },
            { direction: "in", protocol: "icmp", port: "8", sourceIps: ["0.0.0.0/0"], description: "icmp with port" },
        ];
        expect(errorsOf(hcloudCreate, hetznerBody("x", rules, []))).toEqual(["/rules/0/source_ips must NOT have more than 100 items", "/rules/1 must NOT be valid", '/rules/1 must match "then" schema']);
    });

    test("property: every random valid policy renders to a valid Hetzner body", () => {
        fc.assert(
            fc.property(policyArb, (args) => {
                const rules = toHetznerRules(renderPolicy(validatePolicy(args), SAMPLE_RANGES));
                expect(errorsOf(hcloudCreate, hetznerBody("fw", rules, []))).toEqual([]);
            }),
            { numRuns: 100 },
        );
    });
});

describe("DigitalOcean request schema", () => {
    test("the dashboard firewall is a valid create and update body", () => {
        const { inboundRules, outboundRules } = toDigitalOceanRules(renderPolicy(validatePolicy(dashboard), SAMPLE_RANGES), validateEgress(undefined));
        const body = digitalOceanBody("dashboard", inboundRules, outboundRules, ["dashboard"], [101]);
        expect(errorsOf(doCreate, body)).toEqual([]);
        expect(errorsOf(doUpdate, body)).toEqual([]);
    });

    test("the schema really checks: a bad tag and a missing tcp port are refused", () => {
        const body = digitalOceanBody("fw", [{ protocol: "tcp", sourceAddresses: ["0.0.0.0/0"] }], [], ["bad tag"]);
        expect(errorsOf(doCreate, body)).toEqual(['/tags/0 must match pattern "^[a-zA-Z0-9_\\-:]+$"', "/inbound_rules/0 must have required property 'ports'"]);
    });

    test("property: every random valid policy renders to a valid DigitalOcean body", () => {
        fc.assert(
            fc.property(policyArb, (args) => {
                const { inboundRules, outboundRules } = toDigitalOceanRules(renderPolicy(validatePolicy(args), SAMPLE_RANGES), validateEgress(undefined));
                expect(errorsOf(doCreate, digitalOceanBody("fw", inboundRules, outboundRules))).toEqual([]);
            }),
            { numRuns: 100 },
        );
    });
});
