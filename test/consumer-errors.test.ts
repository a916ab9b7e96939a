// Issue 13: errors a consumer of the components sees, in our words, tied to the
// component; ranges handed in as data (or as a saved answer) for offline programs.
import { execFile } from "child_process";
import * as path from "path";
import { promisify } from "util";
import { installMocks, valueOf } from "../scripts/mock-runtime";
import { SAMPLE_RANGES } from "./helpers/fixtures";
import { sampleAnswer, startServer } from "./helpers/server";

const resources = installMocks();
import * as pulumi from "@pulumi/pulumi";
import { HetznerOriginFirewall } from "../components";
import { compiled } from "./helpers/compiled";

test("bad ranges handed in as data: a synchronous error of the component, naming the user's field, no Pulumi wrapper", () => {
    const before = resources.length;
    let err: unknown;
    try {
        new HetznerOriginFirewall("bad-ranges", { ssh: { sources: ["203.0.113.7"] }, cloudflare: { ranges: { ipv4: ["173.245.48.0/20", "10.0.0.0/8"], ipv6: SAMPLE_RANGES.ipv6 } } });
    } catch (e) {
        err = e;
    }
    expect(pulumi.ResourceError.isInstance(err)).toBe(true);
    expect((err as pulumi.ResourceError).hideStack).toBe(true);
    expect((err as Error).message).toBe(
        "Cloudflare IP ranges from cloudflare.ranges rejected: cloudflare.ranges.ipv4[1]: \"10.0.0.0/8\" is broader than /12, too broad to be a Cloudflare range (if Cloudflare's network genuinely grew, the package's answerLimits must be raised). Nothing was changed; fix cloudflare.ranges.",
    );
    expect((err as Error).message).not.toContain("error serializing");
    expect(resources.slice(before).filter((r) => r.custom)).toEqual([]);
});

test("a saved Cloudflare answer is accepted as it is, and errors in it name its fields", async () => {
    const fw = new HetznerOriginFirewall("saved", { ssh: { sources: ["203.0.113.7"] }, cloudflare: { ranges: sampleAnswer() } });
    await valueOf(fw.firewall.urn);
    expect(await valueOf(fw.cloudflareRanges)).toEqual(SAMPLE_RANGES);
    const broken = sampleAnswer();
    broken.result.ipv6_cidrs[2] = "2001:db8::/32";
    expect(() => new HetznerOriginFirewall("saved-bad", { ssh: { sources: ["203.0.113.7"] }, cloudflare: { ranges: broken } })).toThrow('cloudflare.ranges.result.ipv6_cidrs[2]: "2001:db8::/32" overlaps the documentation range 2001:db8::/32');
});

test("a failed live fetch is one error of the component, without a stack (Pulumi reports each error object once)", async () => {
    const server = await startServer({ status: 500, body: "down" });
    try {
        // The fixture exits on its own after collecting (Pulumi then notes the still-pending program promises).
        const stdout = await promisify(execFile)(process.execPath, [compiled("test/fixtures/offline-consumer.ts"), server.url], { cwd: path.join(__dirname, "..") }).then(
            (r) => r.stdout,
            (e) => e.stdout as string,
        );
        const { distinct } = JSON.parse(stdout);
        expect(distinct).toHaveLength(1);
        expect(distinct[0]).toMatchObject({ resourceError: true, hideStack: true });
        expect(distinct[0].message).toContain(`Cloudflare IP ranges from ${server.url} rejected: HTTP 500 Internal Server Error after retries`);
    } finally {
        await server.close();
    }
}, 30_000);
