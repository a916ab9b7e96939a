/**
 * The loopback test server (loopback-server.js) standing in for Cloudflare's API,
 * and the saved sample answer it serves by default.
 */
import * as fs from "fs";
import * as path from "path";
import { type Reply, startLoopbackServer, type TestServer } from "./loopback-server";

export type { Reply, TestServer } from "./loopback-server";
export { traceReply } from "./loopback-server";

export const SAMPLE_ANSWER_PATH = path.join(__dirname, "..", "..", "samples", "cloudflare-ips-2026-11.json");
export const sampleAnswer = (): any => JSON.parse(fs.readFileSync(SAMPLE_ANSWER_PATH, "utf8"));

/** A Cloudflare API stand-in: each request gets the next reply (the last repeats); none given, the sample answer. */
export function startServer(...replies: Reply[]): Promise<TestServer> {
    return startLoopbackServer(replies, { path: "/client/v4/ips", fallback: { status: 200, json: sampleAnswer() } });
}

/** The sample answer with its result replaced by `result` fields. */
export function answerWith(result: Record<string, unknown>, top: Record<string, unknown> = {}): unknown {
    const a = sampleAnswer();
    return { ...a, ...top, result: { ...a.result, ...result } };
}
