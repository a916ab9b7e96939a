// Issue 21: origin-pull certificate rotation without a window. A new generation is
// uploaded beside the old one; the old one is deleted only by a later run that sees
// the new one "active" at Cloudflare. The gate runs before anything is registered.
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { checkOriginPullRotation, ZoneOriginPullCertificate } from "../components";
import { originPullGenerationOf } from "../components/cloudflare-edge-rules";
import { startServer } from "./helpers/server";
import { compiled } from "./helpers/compiled";

const ROOT = path.join(__dirname, "..");
const pem = (file: string) => fs.readFileSync(path.join(__dirname, "fixtures", "aop", file), "utf8");
const G1 = pem("web-edge-generation-1.pem");
const G2 = pem("web-edge-generation-2.pem");
const G3 = pem("web-edge-generation-3.pem");
const OTHER = pem("other-zone-tool.pem");

describe("which generation a certificate is", () => {
    test("read from the subject this package writes; anything else is not ours", () => {
        expect(originPullGenerationOf(G1, "web-edge")).toBe(1);
        expect(originPullGenerationOf(G2, "web-edge")).toBe(2);
        expect(originPullGenerationOf(G3, "web-edge")).toBe(3);
        expect(originPullGenerationOf(G2, "api-edge")).toBeUndefined(); // another component's name
        expect(originPullGenerationOf(OTHER, "web-edge")).toBeUndefined();
        expect(originPullGenerationOf("-----BEGIN CERTIFICATE-----\nmock\n-----END CERTIFICATE-----\n", "web-edge")).toBeUndefined();
    });
});

describe("the rotation gate", () => {
    const zone = (...certs: [string, string][]): ZoneOriginPullCertificate[] => certs.map(([certificate, status]) => ({ certificate, status }));

    test.each<[string, number[], ZoneOriginPullCertificate[]]>([
        ["while rotating both stay", [1, 2], zone([G1, "active"], [G2, "pending_deployment"])],
        ["first deployment of a later generation (nothing to delete)", [2], zone()],
        ["retiring once the new one is active", [2], zone([G1, "active"], [G2, "active"])],
        ["someone else's certificate is not ours to judge", [2], zone([OTHER, "pending_deployment"], [G2, "active"])],
        ["a generation already being deleted is not counted", [2], zone([G1, "pending_deletion"], [G2, "active"])],
    ])("allowed: %s", (_name, generations, certs) => {
        expect(() => checkOriginPullRotation("web-edge", generations, certs)).not.toThrow();
    });

    test.each<[string, number[], ZoneOriginPullCertificate[], string]>([
        [
            "jumping from [1] to [2] (the window this prevents)",
            [2],
            zone([G1, "active"]),
            'authenticatedOriginPulls.generations: [2] would delete generation 1 while generation 2 is not uploaded at Cloudflare, and origins would reject Cloudflare until it is deployed. Keep [1, 2] and run again once generation 2 is "active"',
        ],
        ["retiring while the new one is still pending", [2], zone([G1, "active"], [G2, "pending_deployment"]), 'while generation 2 is "pending_deployment"'],
        ["a deployment that timed out", [3], zone([G2, "active"], [G3, "deployment_timed_out"]), 'would delete generation 2 while generation 3 is "deployment_timed_out"'],
    ])("refused: %s", (_name, generations, certs, message) => {
        expect(() => checkOriginPullRotation("web-edge", generations, certs)).toThrow(message);
    });
});

describe("the program asks Cloudflare before registering anything", () => {
    const run = async (generations: number[], certs: ZoneOriginPullCertificate[] | undefined) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cof-rotation-"));
        const cf = await startServer();
        try {
            const config = path.join(dir, "config.json");
            fs.writeFileSync(
                config,
                JSON.stringify({
                    lockoutGuard: "off",
                    firewalls: {
                        web: {
                            provider: "hetzner",
                            ssh: { sources: ["203.0.113.7"] },
                            applyTo: { labelSelectors: ["role=web"] },
                            edge: { zoneId: "0123456789abcdef0123456789abcdef", authenticatedOriginPulls: { generations } },
                        },
                    },
                }),
            );
            const env: NodeJS.ProcessEnv = { ...process.env };
            if (certs) {
                fs.writeFileSync(path.join(dir, "zone.json"), JSON.stringify(certs));
                env.COF_TEST_ZONE_CERTIFICATES = path.join(dir, "zone.json");
            } else delete env.COF_TEST_ZONE_CERTIFICATES;
            return await promisify(execFile)(process.execPath, [compiled("test/fixtures/run-program.ts"), config, cf.url], { cwd: ROOT, env }).then(
                (r) => ({ code: 0, report: JSON.parse(r.stdout) }),
                (e) => ({ code: e.code as number, report: JSON.parse(e.stdout) }),
            );
        } finally {
            await cf.close();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    };

    test("[1] -> [2] directly is refused with nothing registered", async () => {
        const out = await run([2], [{ certificate: G1, status: "active" }]);
        expect(out.code).toBe(1);
        expect(out.report.error).toContain("firewalls.web.edge.authenticatedOriginPulls.generations: [2] would delete generation 1 while generation 2 is not uploaded");
        expect(out.report.types.filter((t: string) => t !== "pulumi:pulumi:Stack")).toEqual([]);
    });

    test("an unreadable answer fails closed (the mock's echo has no list)", async () => {
        const out = await run([2], undefined);
        expect(out.code).toBe(1);
        expect(out.report.error).toContain("firewalls.web.edge.zone 0123456789abcdef0123456789abcdef: Cloudflare's list of origin-pull certificates could not be read");
        expect(out.report.types.filter((t: string) => t !== "pulumi:pulumi:Stack")).toEqual([]);
    });

    test("once generation 2 is active, [2] deploys with generation 2 only", async () => {
        const out = await run(
            [2],
            [
                { certificate: G1, status: "active" },
                { certificate: G2, status: "active" },
            ],
        );
        expect(out.code).toBe(0);
        const uploads = out.report.resources.filter((r: any) => r.type === "cloudflare:index/authenticatedOriginPullsCertificate:AuthenticatedOriginPullsCertificate").map((r: any) => r.name);
        expect(uploads).toEqual(["web-edge-aop-cert-g2"]);
    });
});
