/**
 * A real DNS server on 127.0.0.1 (UDP, port 0) built with dns2, answering from a
 * zone the test controls: A and AAAA records, NXDOMAIN, SERVFAIL, an empty answer,
 * or a reply slower than any resolver timeout.
 */
import * as dns2 from "dns2";

export type Answer = { a?: string[]; aaaa?: string[] } | "nxdomain" | "servfail" | "slow";

export interface TestDns {
    /** "127.0.0.1:<port>" for dnsServers. */
    server: string;
    zone: Map<string, Answer>;
    /** Questions received, "<name> <type>". */
    questions: string[];
    close(): Promise<void>;
}

export async function startDns(zone: Record<string, Answer> = {}): Promise<TestDns> {
    const { Packet } = dns2 as any;
    const entries = new Map<string, Answer>(Object.entries(zone));
    const questions: string[] = [];
    const timers = new Set<NodeJS.Timeout>();
    const server = (dns2 as any).createServer({
        udp: true,
        tcp: true, // answers too big for UDP (truncated) are asked again over TCP, on the same port
        handle: (request: any, send: (r: any) => void) => {
            const response = Packet.createResponseFromRequest(request);
            const [q] = request.questions;
            const type = q.type === Packet.TYPE.AAAA ? "AAAA" : q.type === Packet.TYPE.A ? "A" : String(q.type);
            questions.push(`${q.name} ${type}`);
            const answer = entries.get(q.name.toLowerCase());
            if (answer === undefined || answer === "nxdomain") {
                response.header.rcode = Packet.RCODE.NXDOMAIN;
                return send(response);
            }
            if (answer === "servfail") {
                response.header.rcode = Packet.RCODE.SERVFAIL;
                return send(response);
            }
            if (answer === "slow") {
                const t = setTimeout(() => (timers.delete(t), send(response)), 20_000);
                timers.add(t);
                return;
            }
            const list = type === "A" ? (answer.a ?? []) : type === "AAAA" ? (answer.aaaa ?? []) : [];
            for (const address of list) response.answers.push({ name: q.name, type: type === "A" ? Packet.TYPE.A : Packet.TYPE.AAAA, class: Packet.CLASS.IN, ttl: 60, address });
            send(response);
        },
    });
    // UDP on a free port, then TCP on the same port.
    const { udp, tcp } = server.servers;
    await new Promise<void>((resolve, reject) => (udp.once("listening", resolve), udp.once("error", reject), udp.listen(0, "127.0.0.1")));
    const port: number = udp.address().port;
    await new Promise<void>((resolve, reject) => (tcp.once("listening", resolve), tcp.once("error", reject), tcp.listen(port, "127.0.0.1")));
    await server.listening;
    return {
        server: `127.0.0.1:${port}`,
        zone: entries,
        questions,
        close: async () => {
            for (const t of timers) clearTimeout(t);
            await server.close();
        },
    };
}
